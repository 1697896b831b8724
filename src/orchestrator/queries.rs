//! The engine's side of the clients' read port ([`Queries`]): a task's past events from the store,
//! and a candidate's diff from its worktree (or, once the worktree is gone, from its branch).

use std::path::Path;
use std::sync::Arc;

use super::Engine;
use crate::domain::WorktreeRef;
use crate::protocol::{CandidateDiff, Event, Queries, TaskId};
use crate::workspace;

impl Queries for Engine {
    fn task_events(&self, task: TaskId) -> Result<Vec<Arc<Event>>, String> {
        let events = self.reader().task_events(task).map_err(|err| err.to_string())?;
        Ok(events.into_iter().map(Arc::new).collect())
    }

    fn diff(&self, task: TaskId, candidate: &str) -> Result<CandidateDiff, String> {
        let projection = self.task(task).map_err(|err| err.to_string())?;
        let known = projection.worktrees.iter().rev().chain(projection.removed_worktrees.iter().rev());
        let worktree = known.clone().find(|w| w.candidate == candidate).ok_or_else(|| {
            let known: Vec<&str> = known.map(|w| w.candidate.as_str()).collect();
            if known.is_empty() {
                format!("task {} has no worktree yet", task.short())
            } else {
                format!("task {} has no candidate `{candidate}` (it has: {})", task.short(), known.join(", "))
            }
        })?;
        let patch = if Path::new(&worktree.path).is_dir() {
            workspace::diff_against(Path::new(&worktree.path), &worktree.base).map_err(|err| err.to_string())?.patch
        } else {
            let repo_dir = projection.spec.repo.clone().unwrap_or_else(|| ".".to_owned());
            branch_patch(Path::new(&repo_dir), worktree)?
        };
        Ok(CandidateDiff {
            candidate: candidate.to_owned(),
            base: worktree.base.clone(),
            branch: worktree.branch.clone(),
            patch,
        })
    }
}

/// The committed change of a worktree's branch against its base, for a worktree already removed.
fn branch_patch(repo_dir: &Path, worktree: &WorktreeRef) -> Result<String, String> {
    workspace::branch_patch(repo_dir, &worktree.base, &worktree.branch)
        .map_err(|err| format!("cannot diff branch `{}`: {err}", worktree.branch))
}
