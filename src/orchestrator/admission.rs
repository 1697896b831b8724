//! Admission: how a task gets into the system. Intake checks that it is clear, safe and bounded;
//! the similar-task signals and the repository's signals feed triage, which classifies and
//! routes it and picks its playbook. All of it is recorded as events before the task is queued.
//!
//! - `intake`: deterministic checks from policy (vague, unsafe, too broad) with questions;
//! - `signals`: what the repository says about the task (files, churn, tests);
//! - `triage`: kind, risk, novelty, route, budgets and gates from policy.

pub mod intake;
pub mod signals;
pub mod triage;

use std::path::PathBuf;

use super::EngineSetup;
use crate::domain::{TaskBrief, title_words};
use crate::playbooks::playbook::Playbooks;
use crate::protocol::{Actor, AutonomyState, EventKind, IntakeVerdict, NewEvent, TaskId, TaskSpec, TaskStatus};
use signals::{SignalOptions, Signals};

/// What the engine has learned that admission applies: the playbooks new tasks run with (the
/// registry's active versions) and each class's autonomy.
pub(crate) struct Learned {
    /// The playbooks.
    pub playbooks: Playbooks,
    /// Every class's autonomy that ever changed.
    pub autonomy: Vec<AutonomyState>,
}

/// The events that take a task through intake and, when it is accepted, triage and the choice of
/// its playbook (`history` holds the earlier tasks whose titles resemble this one's, as the
/// store's title-word index finds them, for the similar-task signals).
pub(crate) fn events(
    setup: &EngineSetup,
    learned: &Learned,
    id: TaskId,
    spec: &TaskSpec,
    from: TaskStatus,
    history: &[TaskBrief],
) -> Vec<NewEvent> {
    let assessment = intake::assess(spec, &setup.policy);
    let event = |kind| NewEvent::for_task(id, Actor::Orchestrator, kind);
    let mut events = vec![event(assessment.to_event())];
    let to = match assessment.verdict {
        IntakeVerdict::Accepted => TaskStatus::Queued,
        IntakeVerdict::NeedsClarification => TaskStatus::NeedsClarification,
        IntakeVerdict::Rejected => TaskStatus::Rejected,
        IntakeVerdict::Escalated => TaskStatus::Escalated,
    };
    if assessment.verdict == IntakeVerdict::Accepted {
        let repo = spec.repo.as_deref().map(PathBuf::from).unwrap_or_else(|| PathBuf::from("."));
        let mut signals = Signals::gather(&repo, spec, &SignalOptions::default());
        (signals.similar_tasks, signals.similar_failures) = similar(id, spec, history);
        signals.playbook_exists = true;
        let mut triaged = triage::triage(spec, &setup.policy, &signals);
        if learned.playbooks.for_kind(triaged.kind).is_none() {
            signals.playbook_exists = false;
            triaged = triage::triage(spec, &setup.policy, &signals);
        }
        triaged.autonomy = super::autonomy::state_of(&learned.autonomy, triaged.kind).level;
        if !triaged.autonomy.is_supervised() {
            triaged.reasons.push(format!(
                "autonomy: {} tasks are {} ({}) below high risk",
                triaged.kind,
                triaged.autonomy,
                triaged.autonomy.describe()
            ));
        }
        let playbook = learned.playbooks.for_kind(triaged.kind).map(|playbook| EventKind::PlaybookSelected {
            playbook: playbook.name.clone(),
            playbook_version: playbook.version.clone(),
            policy_version: setup.policy.version.clone(),
            exploration_version: learned.playbooks.left_hand.version.clone(),
        });
        events.push(event(EventKind::TaskTriaged(triaged)));
        events.extend(playbook.map(event));
    }
    let reason = match assessment.verdict {
        IntakeVerdict::Accepted => "accepted by intake".to_owned(),
        _ => {
            let details: Vec<String> = assessment.reasons.iter().chain(&assessment.questions).cloned().collect();
            format!("intake: {}", details.join("; "))
        }
    };
    events.push(event(EventKind::StatusChanged { from, to, reason }));
    events
}

/// How many tasks other than `id` resemble this one (half or more of the title's significant
/// words, same repository), and how many of those failed.
fn similar(id: TaskId, spec: &TaskSpec, history: &[TaskBrief]) -> (u32, u32) {
    let words = title_words(&spec.title);
    if words.is_empty() {
        return (0, 0);
    }
    let alike: Vec<&TaskBrief> = history
        .iter()
        .filter(|t| t.id != id && t.spec.repo == spec.repo)
        .filter(|t| 2 * title_words(&t.spec.title).intersection(&words).count() >= words.len())
        .collect();
    let failed = alike.iter().filter(|t| matches!(t.status, TaskStatus::Failed | TaskStatus::Cancelled)).count();
    (alike.len() as u32, failed as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(title: &str, status: TaskStatus) -> TaskBrief {
        let mut task = crate::domain::task::fresh(TaskSpec::titled(title));
        task.status = status;
        TaskBrief::from(&task)
    }

    #[test]
    fn similar_tasks_share_most_significant_title_words_and_failures_are_counted() {
        let history = [
            task("Fix pagination rounding in page_count", TaskStatus::Failed),
            task("Fix pagination rounding for the last page", TaskStatus::PrReady),
            task("Document the retry policy", TaskStatus::PrReady),
        ];
        let new = TaskId::new();
        assert_eq!(similar(new, &TaskSpec::titled("Fix the pagination rounding bug"), &history), (2, 1));
        assert_eq!(similar(new, &TaskSpec::titled("Speed up the build"), &history), (0, 0));
        assert_eq!(similar(history[0].id, &TaskSpec::titled("Fix the pagination rounding bug"), &history), (1, 0));
    }
}
