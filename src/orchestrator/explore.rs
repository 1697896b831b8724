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
//! - `promote`: the synthesis recommendation (a recommended combination measured as its own
//!   candidate by `combination`), the promotion gate and the adoption.

mod agents;
mod combination;
mod evaluate;
mod museum_checks;
mod production_files;
mod promote;
pub(crate) mod start;
mod synthesis_brief;

use super::EngineError;
use super::flow::Flow;
use super::task_run::TaskRun;

/// Runs (or resumes) the task's exploration until the production track adopted its outcome, or
/// a step needs the driver (a gate, or the end of the run).
pub(crate) async fn explore(run: &mut TaskRun) -> Result<Flow, EngineError> {
    let exploration = run
        .task()?
        .exploration
        .ok_or_else(|| EngineError::Refused("exploration has not started for this task".into()))?;
    if exploration.acceptance.is_none() {
        let flow = agents::design_tests(run).await?;
        if flow != Flow::Next {
            return Ok(flow);
        }
    }
    let flow = agents::confirm_weak_tests(run).await?;
    if flow != Flow::Next {
        return Ok(flow);
    }
    let flow = agents::challenge(run).await?;
    if flow != Flow::Next {
        return Ok(flow);
    }
    let flow = agents::analyze(run).await?;
    if flow != Flow::Next {
        return Ok(flow);
    }
    let exploration = run.task()?.exploration.unwrap_or(exploration);
    let matrix = match exploration.matrix {
        Some(recorded) => (recorded.matrix, recorded.hash),
        None => evaluate::evaluate(run).await?,
    };
    let synthesis = match exploration.synthesis.filter(|s| s.matrix_hash == matrix.1) {
        Some(synthesis) => synthesis,
        None => promote::synthesize(run, &matrix.0, matrix.1).await?,
    };
    let (matrix, synthesis) = combination::with_combination(run, matrix, synthesis).await?;
    promote::promote(run, &matrix.0, matrix.1, &synthesis).await
}

/// Runs blocking work (git, the disk) off the async threads.
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T, EngineError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|err| EngineError::Refused(format!("background work stopped: {err}")))
}
