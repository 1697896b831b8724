//! Cleaning a finished task: its worktrees (a checkout each, plus whatever their builds left)
//! are removed and the disk comes back. The branches with the work stay (the PR's, the
//! candidates' that the PR document names); the evaluation's scratch branches, which only ever
//! pointed at the base commit, go with their worktrees.

use std::path::Path;

use super::task_run::candidate_worktree;
use super::{Engine, EngineError};
use crate::domain::{Task, WorktreeRef, is_settled};
use crate::protocol::{Actor, EventKind, NewEvent, TaskId};
use crate::workspace::{delete_branch, disk_usage, remove, uncommitted};

/// The label prefix of the evaluation's scratch worktrees (`eval-production`, `eval-c1`, …).
const SCRATCH_PREFIX: &str = "eval-";

/// What cleaning did before it stopped: the events to record, and the error that stopped it.
pub(super) struct Cleaned {
    pub events: Vec<NewEvent>,
    pub error: Option<EngineError>,
}

impl Engine {
    /// Removes the worktrees of `task`, which must be finished; refused, with nothing removed,
    /// when one holds uncommitted changes and `force` is not set. Blocking: disk and git work.
    pub(super) fn clean_worktrees(&self, task: TaskId, force: bool, actor: &Actor) -> Result<Cleaned, EngineError> {
        let task = self.task(task)?;
        if !is_settled(task.status) {
            return Err(EngineError::Refused(format!(
                "task {} is {}; only a finished task (pr_ready, cancelled or rejected) can be cleaned — cancel it first",
                task.id.short(),
                task.status
            )));
        }
        let repo = self.repo_dir(task.spec.repo.as_deref());
        if !force {
            refuse_uncommitted(&task)?;
        }
        let root = self.worktrees_root();
        let mut cleaned = Cleaned { events: Vec::new(), error: None };
        for known in &task.worktrees {
            match remove_one(&task, &repo, known) {
                Ok(kind) => cleaned.events.push(NewEvent::for_task(task.id, actor.clone(), kind)),
                Err(err) => {
                    cleaned.error = Some(err);
                    break;
                }
            }
            // The task's folder and the repository's, once nothing else is in them.
            for folder in Path::new(&known.path).ancestors().skip(1).take(2).filter(|f| f.starts_with(&root)) {
                let _ = std::fs::remove_dir(folder);
            }
        }
        Ok(cleaned)
    }
}

/// Refuses when a worktree that holds the work (not a scratch one) has uncommitted changes.
fn refuse_uncommitted(task: &Task) -> Result<(), EngineError> {
    for known in task.worktrees.iter().filter(|w| !is_scratch(w)) {
        let path = Path::new(&known.path);
        if !path.exists() {
            continue;
        }
        let dirty = uncommitted(path).map_err(|err| EngineError::Refused(err.to_string()))?;
        if !dirty.is_empty() {
            return Err(EngineError::Refused(format!(
                "the {} worktree of task {} ({}) has uncommitted changes: {}; commit or copy them, or clean with --force to discard them",
                known.candidate,
                task.id.short(),
                known.path,
                dirty.join(", ")
            )));
        }
    }
    Ok(())
}

fn is_scratch(known: &WorktreeRef) -> bool {
    known.candidate.starts_with(SCRATCH_PREFIX)
}

/// Removes one worktree (and a scratch worktree's branch) and says so as an event.
fn remove_one(task: &Task, repo: &Path, known: &WorktreeRef) -> Result<EventKind, EngineError> {
    let Some(worktree) = candidate_worktree(task, repo, &known.candidate) else {
        return Err(EngineError::Refused(format!("task {} has no {} worktree", task.id.short(), known.candidate)));
    };
    let refused = |err: crate::workspace::WorkspaceError| EngineError::Refused(err.to_string());
    let bytes = disk_usage(&worktree.path);
    remove(&worktree, true).map_err(refused)?;
    let branch_deleted = if is_scratch(known) {
        delete_branch(repo, &known.branch).map_err(refused)?;
        Some(known.branch.clone())
    } else {
        None
    };
    Ok(EventKind::WorktreeRemoved {
        candidate: known.candidate.clone(),
        path: known.path.clone(),
        branch_deleted,
        bytes,
    })
}
