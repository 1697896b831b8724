//! When the Left Hand starts: triage routed the task to both hands (it starts once production's
//! change has been validated, so that change competes too), or a trigger fired mid-run — repeated
//! test failures, a planner with low confidence, circular edits, contradictory conclusions, a
//! diff far beyond its plan, or a change that touches a sensitive area. The trigger and its
//! evidence go into the `exploration_started` event with each challenger's strategy.

use crate::config::Challengers;
use crate::domain::Task;
use crate::playbooks::Policy;
use crate::playbooks::left_hand::LeftHand;
use crate::protocol::{CandidatePlan, EventKind, Route, StageKind};

/// How the validation stage's summary of a command that ran no test begins.
pub(crate) const NO_TESTS_SUMMARY: &str = "FAILED: ran no test";

/// A planner confidence below this starts exploration.
pub(crate) const LOW_CONFIDENCE: u8 = 40;
/// This many failed implementation attempts start exploration.
pub(crate) const FAILED_ATTEMPTS: usize = 2;

/// Why exploration should start now, from the task's projection: the trigger and its evidence.
pub(crate) fn due(task: &Task, challengers: u32) -> Option<(String, String)> {
    if challengers == 0 || task.exploration.is_some() || task.stage.is_some() {
        return None;
    }
    // Production's own validation must have run: a run of no test (a filter that matched nothing,
    // a stale test binary) validated nothing, and exploration does not start from it.
    let latest = task.validation.iter().map(|v| v.attempt).max();
    let ran_nothing =
        task.validation.iter().any(|v| Some(v.attempt) == latest && v.result.summary.starts_with(NO_TESTS_SUMMARY));
    let validated =
        (task.completed(StageKind::Validate) > 0 || task.last_finished(StageKind::Validate).is_some()) && !ran_nothing;
    if let Some(triage) = task.triage.as_ref().filter(|t| t.route == Route::RightAndLeft)
        && validated
    {
        let reasons: Vec<&str> =
            triage.reasons.iter().filter(|r| r.contains("explor") || r.contains("route")).map(String::as_str).collect();
        let evidence = if reasons.is_empty() { triage.reasons.join("; ") } else { reasons.join("; ") };
        return Some(("route".into(), evidence));
    }
    if let Some(plan) = &task.plan
        && let Some(confidence) = plan.confidence.filter(|c| *c < LOW_CONFIDENCE)
        && task.completed(StageKind::Implement) == 0
    {
        return Some((
            "low_confidence".into(),
            format!("the planner's confidence is {confidence} (below {LOW_CONFIDENCE})"),
        ));
    }
    let attempts = task.completed(StageKind::Implement);
    if attempts >= FAILED_ATTEMPTS && task.last_finished(StageKind::Validate) == Some(false) {
        let failing: Vec<String> =
            task.validation.iter().filter(|v| !v.result.ok).map(|v| format!("`{}`", v.result.command)).collect();
        return Some((
            "repeated_test_failures".into(),
            format!("validation failed after {attempts} implementation attempts: {}", failing.join(", ")),
        ));
    }
    None
}

/// The trigger a tripped circuit breaker turns into, when exploration can take over from it.
pub(crate) fn breaker_trigger(breaker: &str) -> Option<&'static str> {
    match breaker {
        "repeated_edits" => Some("circular_edits"),
        "contradiction" => Some("contradiction"),
        "scope" => Some("large_diff"),
        _ => None,
    }
}

/// The sensitive policy areas that changed `files` touch, as evidence for the trigger.
pub(crate) fn sensitive_files(policy: &Policy, files: &[String]) -> Option<String> {
    let hits: Vec<String> = policy
        .risk
        .areas
        .iter()
        .filter(|area| area.sensitive)
        .flat_map(|area| {
            files.iter().filter_map(move |file| {
                area.matching_glob(file).map(|glob| format!("{file} is in `{}` ({glob})", area.name))
            })
        })
        .collect();
    (!hits.is_empty()).then(|| hits.join("; "))
}

/// The event that starts exploration with the configured challengers: each with the strategy
/// configured for it (when the playbook has it) or the next one the playbook picks for the task,
/// and its own provider and model when it has them.
pub(crate) fn started(
    task: &Task,
    left: &LeftHand,
    challengers: &Challengers,
    trigger: &str,
    evidence: String,
) -> EventKind {
    let text = format!("{}\n{}", task.spec.title, task.spec.description);
    let count = challengers.count() as usize;
    let picked = left.pick(count, task.kind(), trigger, &text);
    let known = |name: &String| left.strategies.iter().any(|s| &s.name == name);
    let candidates = (0..count)
        .filter_map(|n| {
            let own = challengers.get(n);
            let strategy =
                own.and_then(|o| o.strategy.clone()).filter(known).or_else(|| picked.get(n).map(|s| s.name.clone()))?;
            Some(CandidatePlan {
                label: format!("c{}", n + 1),
                strategy,
                provider: own.and_then(|o| o.provider.clone()),
                model: own.and_then(|o| o.model.clone()),
                agent: own.and_then(|o| o.agent.clone()),
            })
        })
        .collect();
    EventKind::ExplorationStarted { trigger: trigger.to_owned(), evidence, candidates }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{Plan, TaskSpec, ValidationResult};

    fn task() -> Task {
        crate::domain::task::fresh(TaskSpec::titled("Fix rounding"))
    }

    #[test]
    fn low_confidence_and_repeated_failures_trigger_exploration_once() {
        let mut low = task();
        low.plan = Some(Plan { summary: "guess".into(), confidence: Some(20), ..Plan::default() });
        assert_eq!(due(&low, 2).unwrap().0, "low_confidence");
        assert_eq!(due(&low, 0), None, "no challengers, no exploration");

        let mut failing = task();
        // Stages are known by kind: a playbook that calls them something else triggers the same.
        let stage = |name: &str, kind| crate::domain::StageRun { name: name.into(), kind: Some(kind) };
        let code = stage("code", StageKind::Implement);
        failing.completed_stages = vec![stage("think", StageKind::Plan), code.clone(), code];
        failing.last_stage =
            Some(crate::domain::FinishedStage { stage: stage("check", StageKind::Validate), ok: false });
        let result = ValidationResult {
            command: "cargo test".into(),
            ok: false,
            exit_code: Some(101),
            duration_ms: 5,
            summary: String::new(),
        };
        failing.validation = vec![crate::domain::ValidationRun { attempt: 2, result }];
        let (trigger, evidence) = due(&failing, 2).unwrap();
        assert_eq!(trigger, "repeated_test_failures");
        assert!(evidence.contains("`cargo test`"), "{evidence}");
        failing.exploration = Some(crate::domain::Exploration::default());
        assert_eq!(due(&failing, 2), None, "exploration runs once");

        // Routed to both hands, but production's validation ran no test: no exploration from it.
        let mut routed = task();
        routed.triage = Some(crate::protocol::Triage {
            kind: crate::protocol::TaskKind::BugFix,
            risk: crate::protocol::Risk::High,
            novelty: 0,
            route: Route::RightAndLeft,
            reasons: vec!["route: both hands".into()],
            budgets: None,
            gates: Vec::new(),
            areas: Vec::new(),
            policy_version: String::new(),
            autonomy: Default::default(),
        });
        routed.last_stage = Some(crate::domain::FinishedStage { stage: stage("check", StageKind::Validate), ok: true });
        let ran = |summary: &str| ValidationResult {
            command: "cargo test --exact t".into(),
            ok: true,
            exit_code: Some(0),
            duration_ms: 5,
            summary: summary.into(),
        };
        routed.validation = vec![crate::domain::ValidationRun { attempt: 1, result: ran("FAILED: ran no test: …") }];
        assert_eq!(due(&routed, 2), None);
        routed.validation.push(crate::domain::ValidationRun { attempt: 2, result: ran("test result: ok. 1 passed") });
        assert_eq!(due(&routed, 2).map(|d| d.0).as_deref(), Some("route"));
        routed.exploration = Some(crate::domain::Exploration::default());
        assert_eq!(due(&failing, 2), None, "exploration runs once");
    }

    #[test]
    fn breakers_that_exploration_can_answer_map_to_triggers() {
        assert_eq!(breaker_trigger("repeated_edits"), Some("circular_edits"));
        assert_eq!(breaker_trigger("scope"), Some("large_diff"));
        assert_eq!(breaker_trigger("weak_tests"), None);
    }

    #[test]
    fn a_change_in_a_sensitive_area_is_named_with_its_glob() {
        let policy = Policy::built_in().unwrap();
        let hit = sensitive_files(&policy, &["src/auth/login.rs".into(), "README.md".into()]);
        assert!(hit.as_deref().is_some_and(|h| h.contains("src/auth/login.rs")), "{hit:?}");
        assert_eq!(sensitive_files(&policy, &["README.md".into()]), None);
    }
}
