//! Which gates policy requires and where they stand, by stage kind and risk. The driver asks
//! here before each stage and before the PR; a playbook names and orders stages but has no say in
//! their gates, so no playbook edit can remove a gate that policy or the task requires.
//!
//! A plan that deletes tests or CI files needs a human's approval whatever the task's risk: the
//! planner's summary, steps and expected files are read for a deletion of a test file
//! ([`is_test_path`]) or a CI file ([`is_ci_path`]), and for the policy's destructive intent
//! (`[[risk.destructive]]`: "delete all the tests", "remove the CI"); either opens the plan gate,
//! naming what it found.

use std::collections::BTreeSet;

use super::autonomy;
use super::breakers::is_test_path;
use super::flow::GateRequest;
use crate::context::is_ci_path;
use crate::domain::Task;
use crate::playbooks::{Policy, Text};
use crate::protocol::{GateKind, GatePlan, Plan, Risk, StageKind};

/// The gates the task must pass: those triage planned, and those today's policy requires for
/// its risk (a policy made stricter since triage applies; a laxer one removes nothing).
/// The autonomy a person granted the task's class removes the plan gate, or the plan and PR
/// gates, below high risk; a sensitive area or a destructive plan still opens the plan gate.
pub(crate) fn required(task: &Task, policy: &Policy) -> BTreeSet<GatePlan> {
    let mut gates: BTreeSet<GatePlan> = task.triage.iter().flat_map(|t| t.gates.iter().cloned()).collect();
    let risk = task.risk().unwrap_or(Risk::Medium);
    if risk >= policy.gates.plan_at_or_above {
        gates.insert(GatePlan::Plan);
    }
    if policy.gates.pr {
        gates.insert(GatePlan::PullRequest);
    }
    let level = task.triage.as_ref().map(|t| t.autonomy).unwrap_or_default();
    if autonomy::skips_plan(level, risk) {
        gates.remove(&GatePlan::Plan);
    }
    if autonomy::skips_pr(level, risk) {
        gates.remove(&GatePlan::PullRequest);
    }
    gates
}

/// Whether a human (or the run's approval policy) approved a gate of `kind` on this task.
pub(crate) fn approved(task: &Task, kind: GateKind) -> bool {
    approved_count(task, kind) > 0
}

/// How many gates of `kind` were approved on this task.
pub(crate) fn approved_count(task: &Task, kind: GateKind) -> usize {
    task.decided_gates.iter().filter(|g| g.kind == kind && g.decision.approves() && !g.superseded).count()
}

/// The gate that must be decided before a stage of `kind` starts, if any. The plan gate (which
/// also carries the sensitive areas the task touches) stands before the first stage that changes
/// files, whatever the playbook calls it or where it puts it.
pub(crate) fn before_stage(task: &Task, policy: &Policy, kind: StageKind) -> Option<GateRequest> {
    if !kind.changes_files() || approved(task, GateKind::Plan) {
        return None;
    }
    let required = required(task, policy);
    let areas: Vec<&str> = required
        .iter()
        .filter_map(|gate| match gate {
            GatePlan::Sensitive { area } => Some(area.as_str()),
            _ => None,
        })
        .collect();
    let deletions = task.plan.as_ref().map(|plan| deletions(plan, policy)).unwrap_or_default();
    if !required.contains(&GatePlan::Plan) && areas.is_empty() && deletions.is_empty() {
        return None;
    }
    let risk = task.risk().unwrap_or(Risk::Medium);
    let plan = task.plan.as_ref().map(|p| p.summary.as_str()).unwrap_or("(no plan was submitted)");
    let touches = if areas.is_empty() { String::new() } else { format!("; it touches {}", areas.join(", ")) };
    let deletes = if deletions.is_empty() {
        String::new()
    } else {
        let what = deletions.join(", ");
        format!(
            "; the plan deletes tests or CI files or is destructive ({what}), which needs approval whatever the risk"
        )
    };
    let request = GateRequest::new(
        GateKind::Plan,
        format!(
            "risk is {risk}{touches}{deletes}: approve the plan before any file changes (send back with a note to \
             have the planner plan again). {plan}"
        ),
    );
    Some(request.human_only(human_only(task, policy, GateKind::Plan)))
}

/// Words that delete what follows them (`git rm` is `rm`).
const DELETE: [&str; 22] = [
    "delete", "deletes", "deleting", "deleted", "remove", "removes", "removing", "removed", "rm", "drop", "drops",
    "dropping", "erase", "erases", "erasing", "wipe", "wipes", "wiping", "purge", "purges", "purging", "unlink",
];

/// Words that put a path after a deletion verb as the place of the deletion, not its object
/// ("remove the assertion in tests/x.rs").
const PLACE: [&str; 9] = ["in", "from", "inside", "within", "into", "of", "at", "on", "under"];

/// Words that, between the verb and a place, say the deleted thing is a file or a test itself
/// ("delete the old tests in tests/legacy/").
const OBJECT: [&str; 16] = [
    "test",
    "tests",
    "file",
    "files",
    "suite",
    "suites",
    "spec",
    "specs",
    "module",
    "modules",
    "workflow",
    "workflows",
    "directory",
    "folder",
    "dir",
    "pipeline",
];

/// The words and paths of a clause of the plan: each token lowercased without the punctuation
/// around it, and whether it was followed by `:` (`tests/old.rs: delete it`).
fn tokens(clause: &str) -> Vec<(String, bool)> {
    clause
        .split_whitespace()
        .map(|raw| {
            let colon = raw.trim_end_matches(['`', '"', '\'', ')']).ends_with(':');
            let word = raw.trim_matches(|c: char| "`\"'()[]{}<>,;:!?*“”‘’".contains(c)).trim_end_matches('.');
            (word.trim_start_matches("./").to_owned(), colon)
        })
        .filter(|(word, _)| !word.is_empty())
        .collect()
}

/// Whether a token is a path to a test or CI file.
fn test_or_ci(token: &str) -> bool {
    let path_like = token.contains('/') || token.contains('.') || token == "Jenkinsfile";
    path_like && (is_test_path(token) || is_ci_path(token))
}

/// The test and CI files one clause of the plan deletes.
fn deleted_paths(clause: &str, negations: &[String], window: usize) -> Vec<String> {
    let tokens = tokens(clause);
    let lower: Vec<String> = tokens.iter().map(|(t, _)| Text::new(t).as_str().to_owned()).collect();
    let mut found = Vec::new();
    for (verb, word) in lower.iter().enumerate() {
        if !DELETE.contains(&word.as_str()) {
            continue;
        }
        let negated = lower[verb.saturating_sub(window)..verb].iter().any(|w| negations.contains(w));
        if negated {
            continue;
        }
        // The object after the verb: a path not behind a place word, unless a test or file word
        // says the tests themselves go.
        for at in verb + 1..tokens.len().min(verb + 8) {
            if !test_or_ci(&tokens[at].0) {
                continue;
            }
            let between = &lower[verb + 1..at];
            let place = between.iter().any(|w| PLACE.contains(&w.as_str()));
            if !place || between.iter().any(|w| OBJECT.contains(&w.as_str())) {
                found.push(tokens[at].0.clone());
            }
        }
        // `tests/old.rs: delete it`, `tests/old.rs (delete)`: the path leads the clause.
        if verb <= 2 && verb > 0 && test_or_ci(&tokens[0].0) && (tokens[0].1 || clause.contains('(')) {
            found.push(tokens[0].0.clone());
        }
    }
    found
}

/// What in a plan deletes tests or CI files or is otherwise destructive: the test and CI paths it
/// deletes (in its summary, steps and expected files), and its phrases that match the policy's
/// destructive rules ("delete all the tests", "remove the CI"), with the rule; each once,
/// negations respected.
pub(crate) fn deletions(plan: &Plan, policy: &Policy) -> Vec<String> {
    let rules = &policy.intake;
    let negations: Vec<String> = rules.negations.iter().flat_map(|w| Text::new(w).words().to_vec()).collect();
    // The summary's sentences (a path's dot ends none), each step, each expected file.
    let sentences = plan.summary.replace(". ", ".\n");
    let mut clauses: Vec<&str> = sentences.lines().filter(|c| !c.trim().is_empty()).collect();
    clauses.extend(plan.steps.iter().map(String::as_str));
    clauses.extend(plan.expected_files.iter().map(String::as_str));
    let mut found: Vec<String> = Vec::new();
    let mut add = |item: String| {
        if !found.contains(&item) {
            found.push(item);
        }
    };
    for clause in &clauses {
        let paths = deleted_paths(clause, &negations, rules.negation_window);
        if !paths.is_empty() {
            paths.into_iter().for_each(|path| add(format!("`{path}`")));
            continue;
        }
        // No path named: the clause's words ("delete all the tests") against the policy's rules.
        let text = Text::new(clause);
        for rule in &policy.risk.destructive {
            if let Some(hit) = rule.phrases().find(&text).into_iter().find(|hit| !rules.negated(&text, hit)) {
                add(format!("\"{}\" (risk.destructive `{}`)", hit.matched, rule.name));
            }
        }
    }
    found
}

/// Whether only a human may decide a gate of `kind` on this task: deleting tests or CI files is a
/// human's call, whatever a run may approve on its own. Read from the plan each time, so a gate
/// left open by an earlier run keeps the rule.
pub(crate) fn human_only(task: &Task, policy: &Policy, kind: GateKind) -> bool {
    // Approving an environment gate runs the same commands in the same environment again: only a
    // human who changed something can say that is worth it (automatic approval would loop).
    // Opening the network to a repository's setup is what the sandbox exists to refuse: a run's
    // `--approve` never covers it.
    matches!(kind, GateKind::Environment | GateKind::Network)
        || kind == GateKind::Plan && task.plan.as_ref().is_some_and(|plan| !deletions(plan, policy).is_empty())
}

/// Whether the PR gate still stands before the PR is created.
pub(crate) fn pr_gate_due(task: &Task, policy: &Policy) -> bool {
    required(task, policy).contains(&GatePlan::PullRequest) && !approved(task, GateKind::PullRequest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{Decision, TaskSpec, Triage};

    fn task(risk: Risk, gates: Vec<GatePlan>) -> Task {
        let mut task = crate::domain::task::fresh(TaskSpec::titled("Harden the session tokens"));
        task.triage = Some(Triage {
            kind: crate::protocol::TaskKind::Feature,
            risk,
            novelty: 0,
            route: crate::protocol::Route::RightOnly,
            reasons: Vec::new(),
            budgets: None,
            gates,
            areas: Vec::new(),
            policy_version: String::new(),
            autonomy: Default::default(),
        });
        task
    }

    #[test]
    fn the_plan_gate_stands_before_any_stage_that_changes_files_and_only_there() {
        let policy = Policy::built_in().unwrap();
        let high = task(Risk::High, Vec::new());
        for kind in StageKind::ALL {
            assert_eq!(before_stage(&high, &policy, kind).is_some(), kind.changes_files(), "{kind}");
        }
        let low = task(Risk::Low, Vec::new());
        assert_eq!(before_stage(&low, &policy, StageKind::Implement), None);
        let requested = task(Risk::Low, vec![GatePlan::Plan]);
        assert!(before_stage(&requested, &policy, StageKind::Implement).is_some(), "a requested gate holds");
        let sensitive = task(Risk::Low, vec![GatePlan::Sensitive { area: "auth".into() }]);
        let gate = before_stage(&sensitive, &policy, StageKind::Test).unwrap();
        assert!(gate.reason.contains("touches auth"), "{}", gate.reason);
        assert!(!gate.human_only, "`--approve` may decide an ordinary plan gate");
    }

    fn plan(summary: &str, steps: &[&str], expected_files: &[&str]) -> Plan {
        Plan {
            summary: summary.into(),
            steps: steps.iter().map(|s| s.to_string()).collect(),
            expected_files: expected_files.iter().map(|s| s.to_string()).collect(),
            validation: vec!["cargo test".into()],
            rollback: "revert".into(),
            confidence: Some(90),
        }
    }

    fn low_with(plan: Plan) -> Task {
        let mut task = task(Risk::Low, Vec::new());
        task.plan = Some(plan);
        task
    }

    #[test]
    fn a_plan_that_deletes_tests_or_ci_files_opens_the_plan_gate_whatever_the_risk() {
        let policy = Policy::built_in().unwrap();
        let cases = [
            (
                plan("Drop the old suite.", &["Delete tests/legacy.rs", "src/lib.rs: fix"], &["src/lib.rs"]),
                "`tests/legacy.rs`",
            ),
            (
                plan("Stop the nightly job.", &["Edit the README"], &[".github/workflows/nightly.yml (deleted)"]),
                "`.github/workflows/nightly.yml`",
            ),
            (plan("Simplify.", &["git rm src/parser_test.go"], &["src/parser_test.go"]), "`src/parser_test.go`"),
            (plan("Remove the stale tests in tests/old/ and fix the bug.", &[], &["src/lib.rs"]), "`tests/old/`"),
            (plan("Start over.", &["tests/api.rs: delete it"], &[]), "`tests/api.rs`"),
            (
                plan("Fix the rounding.", &["Delete all the tests, they are slow"], &["src/lib.rs"]),
                "\"delete all the tests\" (risk.destructive `delete_tests`)",
            ),
            (
                plan("Fix the rounding.", &["Remove the CI, it is flaky"], &["src/lib.rs"]),
                "\"remove the ci\" (risk.destructive `remove_ci`)",
            ),
        ];
        for (plan, named) in cases {
            let task = low_with(plan.clone());
            let Some(gate) = before_stage(&task, &policy, StageKind::Implement) else {
                panic!("no gate for {plan:?}");
            };
            assert!(
                gate.reason.starts_with("risk is low; the plan deletes tests or CI files or is destructive ("),
                "{}",
                gate.reason
            );
            assert!(gate.reason.contains(named), "{named} in {}", gate.reason);
            assert!(gate.reason.contains("which needs approval whatever the risk"), "{}", gate.reason);
            assert!(gate.human_only, "automatic approval does not decide it");
        }
    }

    #[test]
    fn a_plan_that_only_edits_tests_or_keeps_them_opens_no_gate() {
        let policy = Policy::built_in().unwrap();
        for plan in [
            plan("page_count rounds down; it must round up.", &["src/lib.rs: use div_ceil"], &["src/lib.rs"]),
            plan(
                "Fix it.",
                &["Remove the unused import in tests/helpers.rs", "Add a test to tests/pages.rs"],
                &["tests/helpers.rs"],
            ),
            plan("Fix it. Do not delete tests/legacy.rs.", &["Don't remove .github/workflows/ci.yml"], &["src/lib.rs"]),
            plan("Fix it.", &["Delete the dead branch in src/lib.rs", "Keep every test"], &["src/lib.rs"]),
        ] {
            let task = low_with(plan.clone());
            assert_eq!(before_stage(&task, &policy, StageKind::Implement), None, "{plan:?}");
            assert!(deletions(&plan, &policy).is_empty(), "{plan:?}: {:?}", deletions(&plan, &policy));
        }
        // Once the plan is approved, it is not asked again.
        let mut task = low_with(plan("Drop it.", &["Delete tests/legacy.rs"], &[]));
        task.decided_gates.push(crate::domain::DecidedGate {
            id: crate::protocol::GateId::new(),
            kind: GateKind::Plan,
            reason: String::new(),
            decision: Decision::Approve,
            note: None,
            choice: None,
            evidence_hash: None,
            superseded: false,
        });
        assert_eq!(before_stage(&task, &policy, StageKind::Implement), None);
    }
}
