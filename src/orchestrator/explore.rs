//! The Left Hand: a task explored by competing candidates and judged by evidence. Its output is
//! advisory: nothing reaches the PR until a human (or policy, for low risk) promotes it and the
//! production track adopts it, re-running validation and review on the production worktree.
//!
//! Every step is read back from the task's projection, so a run killed at any point resumes at
//! the first step without its event:
//! - `start`: when exploration begins (the route, or a trigger mid-run) and each challenger's
//!   strategy;
//! - `agents`: the eval designer's acceptance tests (checked against the base commit), the
//!   challengers (concurrently, each in its own worktree and under its own budget) and the
//!   failure analyst;
//! - `evaluate`: every candidate measured against the baseline into the evidence matrix;
//! - `promote`: the synthesis recommendation, the promotion gate and the adoption.

mod agents;
mod evaluate;
mod promote;
pub(crate) mod start;

pub(crate) use promote::{acceptable, shortcomings};

use std::path::{Path, PathBuf};

use super::EngineError;
use super::pipeline::Ending;
use super::stages::Runner;
use crate::domain::Task;
use crate::workspace::Worktree;

/// Runs (or resumes) the task's exploration until the production track adopted its outcome, or
/// a gate stops the run.
pub(crate) async fn explore(runner: &mut Runner) -> Result<Option<Ending>, EngineError> {
    let engine = runner.engine().clone();
    let id = runner.task_id();
    let exploration = engine
        .task(id)?
        .exploration
        .ok_or_else(|| EngineError::Refused("exploration has not started for this task".into()))?;
    if exploration.acceptance.is_none()
        && let Some(ending) = agents::design_tests(runner).await?
    {
        return Ok(Some(ending));
    }
    if let Some(ending) = agents::confirm_weak_tests(runner).await? {
        return Ok(Some(ending));
    }
    if let Some(ending) = agents::challenge(runner).await? {
        return Ok(Some(ending));
    }
    if let Some(ending) = agents::analyze(runner).await? {
        return Ok(Some(ending));
    }
    let exploration = engine.task(id)?.exploration.unwrap_or(exploration);
    let matrix = match exploration.matrix {
        Some(recorded) => (recorded.matrix, recorded.hash),
        None => evaluate::evaluate(runner).await?,
    };
    let synthesis = match exploration.synthesis.filter(|s| s.matrix_hash == matrix.1) {
        Some(synthesis) => synthesis,
        None => promote::synthesize(runner, &matrix.0, matrix.1).await?,
    };
    promote::promote(runner, &matrix.0, matrix.1, &synthesis).await
}

/// Runs blocking work (git, the disk) off the async threads.
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T, EngineError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|err| EngineError::Refused(format!("background work stopped: {err}")))
}

/// The worktree of candidate `label`, as the task's projection knows it.
pub(super) fn candidate_worktree(task: &Task, repo: &Path, label: &str) -> Option<Worktree> {
    task.worktrees.iter().find(|w| w.candidate == label).map(|known| Worktree {
        repo: repo.to_owned(),
        path: PathBuf::from(&known.path),
        branch: known.branch.clone(),
        name: format!("ambidex-{}-{label}", task.id.short()),
        base: known.base.clone(),
    })
}
