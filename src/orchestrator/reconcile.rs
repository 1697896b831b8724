//! Reconciliation at engine start: the worktrees the store knows versus git and the disk.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{Engine, EngineError};
use crate::protocol::{Actor, Event, EventKind, NewEvent, TaskId};
use crate::workspace::{Worktree, WorktreeIssue, reconcile};

impl Engine {
    /// Compares the worktrees the store knows with git and the disk, and records every
    /// disagreement as a `worktree_issue` event. Nothing is deleted.
    pub fn reconcile_worktrees(&self) -> Result<Vec<Arc<Event>>, EngineError> {
        let tasks = self.store.reader().tasks()?;
        let mut by_repo: BTreeMap<String, Vec<(TaskId, Worktree)>> = BTreeMap::new();
        for task in &tasks {
            let Some(repo) = task.spec.repo.clone() else {
                continue;
            };
            for known in &task.worktrees {
                let worktree = Worktree {
                    repo: PathBuf::from(&repo),
                    path: PathBuf::from(&known.path),
                    branch: known.branch.clone(),
                    name: String::new(),
                    base: known.base.clone(),
                };
                by_repo.entry(repo.clone()).or_default().push((task.id, worktree));
            }
        }
        let mut events = Vec::new();
        for (repo, known) in by_repo {
            let worktrees: Vec<Worktree> = known.iter().map(|(_, w)| w.clone()).collect();
            let issues = match reconcile(Path::new(&repo), &self.worktrees_root(), &worktrees) {
                Ok(issues) => issues,
                Err(err) => vec![WorktreeIssue::Missing { path: PathBuf::from(format!("{repo} ({err})")) }],
            };
            for issue in issues {
                let (name, path, detail) = match &issue {
                    WorktreeIssue::Missing { path } => ("missing", path, "its directory is gone".to_owned()),
                    WorktreeIssue::Orphaned { path } => ("orphaned", path, "no task knows it; it was kept".to_owned()),
                    WorktreeIssue::Dirty { path, files } => {
                        ("dirty", path, format!("uncommitted: {}", files.join(", ")))
                    }
                };
                let owner = known.iter().find(|(_, w)| &w.path == path).map(|(task, _)| *task);
                let kind =
                    EventKind::WorktreeIssue { issue: name.to_owned(), path: path.display().to_string(), detail };
                events.push(NewEvent { task: owner, actor: Actor::Orchestrator, kind });
            }
        }
        if events.is_empty() {
            return Ok(Vec::new());
        }
        Ok(self.store.append(events)?)
    }
}
