//! Feedback on a delivered PR sends its task back. `serve --watch` reads the reviews of every
//! recent PR-ready task whose PR lives in the watched project (conditionally: an unchanged list
//! costs GitHub's rate limit nothing) and, when a review no earlier round acted on is there, or
//! the PR's head commit failed CI (`forges.rework_on_ci_failure`), records a `pr_feedback` event
//! and queues the task again. The implementation stage works from the feedback as its note; the
//! task then runs the rest of its playbook, commits on the same branch, pushes, updates the PR
//! and answers on it (`deliver`). Only people who may push to the project are heard, and a task
//! is sent back at most `forges.max_reworks` times.

use std::collections::{HashMap, HashSet};

use super::{Engine, EngineError};
use crate::domain::{Task, ci_feedback_id};
use crate::forge::{Forge, ReviewListing};
use crate::protocol::{
    Actor, CiCheck, CiState, EventKind, ForgeReview, NewEvent, StageKind, TaskId, TaskStatus, feedback_from,
};

/// How long after a task's last event its PR's reviews are still read.
const FEEDBACK_FOR: jiff::SignedDuration = jiff::SignedDuration::from_hours(24 * 14);

/// A round of feedback no earlier round acted on.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Feedback {
    /// New reviews.
    pub reviews: Vec<ForgeReview>,
    /// The failed checks of the PR's head commit, when that failure is new and acted on.
    pub failed_checks: Vec<CiCheck>,
}

impl Feedback {
    /// Whether there is nothing to act on.
    pub fn is_empty(&self) -> bool {
        self.reviews.is_empty() && self.failed_checks.is_empty()
    }
}

/// What of `reviews` (the PR's reviews now, `None` when unchanged) and of the task's recorded CI
/// is new feedback on `task`'s PR.
pub fn new_feedback(task: &Task, reviews: Option<&[ForgeReview]>, rework_on_ci_failure: bool) -> Feedback {
    let reviews = reviews
        .unwrap_or_default()
        .iter()
        .filter(|review| !task.reviews_acted_on.contains(&review.id))
        .cloned()
        .collect();
    let failed_checks = match (&task.pr, &task.ci) {
        (Some(pr), Some(ci))
            if rework_on_ci_failure
                && ci.commit == pr.commit
                && ci.settled()
                && !task.reviews_acted_on.contains(&ci_feedback_id(&pr.commit)) =>
        {
            ci.checks.iter().filter(|check| check.state == CiState::Failed).cloned().collect()
        }
        _ => Vec::new(),
    };
    Feedback { reviews, failed_checks }
}

/// What one look at the feedback of the watched PRs found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedbackOutcome {
    /// The task was sent back to rework its PR, on the word of these reviewers (`CI` for checks).
    SentBack(TaskId, String),
    /// The task has new feedback, but was sent back `forges.max_reworks` times already.
    Capped(TaskId, String),
}

/// The watcher's memory between looks: the version of each PR's reviews it last read, and the
/// tasks whose cap it reported.
#[derive(Debug, Default)]
pub struct FeedbackWatch {
    etags: HashMap<TaskId, String>,
    capped: HashSet<TaskId>,
}

impl FeedbackWatch {
    /// Reads the reviews of each recent PR-ready task whose PR lives in `project` of `forge`, and
    /// sends back each task with new feedback.
    pub async fn poll(
        &mut self,
        engine: &Engine,
        forge: &dyn Forge,
        project: &str,
    ) -> Result<Vec<FeedbackOutcome>, String> {
        let setup = engine.setup().map_err(|err| err.to_string())?;
        let (max_reworks, on_ci) = (setup.config.forges.max_reworks, setup.config.forges.rework_on_ci_failure);
        let kind = forge.kind();
        let since = jiff::Timestamp::now() - FEEDBACK_FOR;
        let tasks = engine.reader().current_tasks(super::queries::SNAPSHOT_FINISHED).map_err(|err| err.to_string())?;
        let mut outcomes = Vec::new();
        for task in tasks.iter().filter(|t| t.status == TaskStatus::PrReady && t.updated_at >= since) {
            let Some(number) = task.pr.as_ref().and_then(|pr| kind.pr_number(project, &pr.location)) else {
                continue;
            };
            let etag = self.etags.get(&task.id).map(String::as_str);
            let listing = forge.pr_reviews(project, number, etag).await.map_err(|err| err.to_string())?;
            let (reviews, latest) = match listing {
                ReviewListing::Unchanged => (None, None),
                ReviewListing::Changed { reviews, etag } => (Some(reviews), etag),
            };
            let feedback = new_feedback(task, reviews.as_deref(), on_ci);
            if !feedback.is_empty() {
                let from = feedback_from(&feedback.reviews);
                if task.reworks >= max_reworks {
                    if self.capped.insert(task.id) {
                        outcomes.push(FeedbackOutcome::Capped(task.id, from));
                    }
                } else {
                    send_back(engine, task, feedback).await.map_err(|err| err.to_string())?;
                    outcomes.push(FeedbackOutcome::SentBack(task.id, from));
                }
            }
            // Only once acted on: a failure above reads the same reviews again next time.
            if let Some(latest) = latest {
                self.etags.insert(task.id, latest);
            }
        }
        Ok(outcomes)
    }
}

/// Records the feedback and queues the task again; the scheduler picks it up.
async fn send_back(engine: &Engine, task: &Task, feedback: Feedback) -> Result<(), EngineError> {
    let from = feedback_from(&feedback.reviews);
    let reason = format!("feedback on its PR from {from}: reworking it");
    let events = vec![
        NewEvent::for_task(
            task.id,
            Actor::Orchestrator,
            EventKind::PrFeedback {
                reviews: feedback.reviews,
                failed_checks: feedback.failed_checks,
                to: StageKind::Implement,
            },
        ),
        NewEvent::for_task(
            task.id,
            Actor::Orchestrator,
            EventKind::StatusChanged { from: TaskStatus::PrReady, to: TaskStatus::Queued, reason },
        ),
    ];
    engine.append(events).await?;
    Ok(())
}

#[cfg(test)]
#[path = "feedback_tests.rs"]
mod tests;
