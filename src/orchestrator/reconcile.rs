//! Reconciliation at engine start: tasks the log says are running (their engine is gone: this one
//! holds the store), the stale git locks their runs left, and the worktrees the store knows
//! versus git and the disk.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{Engine, EngineError};
use crate::protocol::{Actor, Event, EventKind, NewEvent, TaskId, TaskStatus};
use crate::store::StoreError;
use crate::workspace::{Worktree, WorktreeIssue, clear_stale_locks, git_locks, reconcile};

impl Engine {
    /// What an engine does when it takes the store. Holding the store proves no other engine runs
    /// this state directory, so every task the log says is `running` was stopped with its engine:
    /// it becomes `interrupted` (resumable), and the git locks its refs and worktrees hold (a kill
    /// while a branch, an index or a worktree's `HEAD` was written) are removed, each reported as
    /// a `stale_lock` worktree issue. Locks that are not this store's tasks' are left alone.
    ///
    /// The repositories searched are those of the unfinished tasks and the engine's own: a run
    /// that stopped leaves its task unfinished. Unfinished tasks come from an index, and every
    /// task's id is read only when a repository has a lock, so the start costs the same on a
    /// long history.
    pub(super) fn recover_at_start(&self) -> Result<Vec<Arc<Event>>, StoreError> {
        let reader = self.store.reader();
        let unfinished = reader.unfinished_tasks()?;
        let mut events = Vec::new();
        // A shared store's running tasks may be another process's, alive.
        let shared = self.store.is_shared();
        for task in unfinished.iter().filter(|t| t.status == TaskStatus::Running && !shared) {
            let reason = "the engine stopped while it ran".to_owned();
            let kind = EventKind::StatusChanged { from: TaskStatus::Running, to: TaskStatus::Interrupted, reason };
            events.push(NewEvent::for_task(task.id, Actor::Orchestrator, kind));
        }
        let mut repos: BTreeSet<PathBuf> =
            unfinished.iter().filter_map(|t| self.local_repo(t.spec.repo.as_deref())).collect();
        repos.extend(self.setup.as_ref().map(|setup| setup.repo_root.clone()));
        // Most starts find no lock at all: the task ids are read only when one is there.
        repos.retain(|repo| git_locks(repo, &[]).is_ok_and(|locks| !locks.is_empty()));
        if repos.is_empty() {
            return self.append_recovered(events);
        }
        // On a shared store a task another worker holds is alive: its locks are its own.
        let alive: BTreeSet<TaskId> = match self.store.leases() {
            Some(leases) => leases.holders()?.into_iter().map(|(id, _)| id).collect(),
            None => BTreeSet::new(),
        };
        let shorts: Vec<(TaskId, String)> =
            reader.task_ids()?.into_iter().filter(|id| !alive.contains(id)).map(|id| (id, id.short())).collect();
        let names: Vec<String> = shorts.iter().map(|(_, short)| short.clone()).collect();
        for repo in repos {
            // A repository that is gone or unreadable is reconciliation's to report.
            let Ok((removed, _)) = clear_stale_locks(&repo, &names) else {
                continue;
            };
            for lock in removed {
                let path = lock.path.display().to_string();
                let owner = shorts
                    .iter()
                    .find(|(_, short)| path.contains(&format!("/{short}/")) || path.contains(&format!("-{short}-")))
                    .map(|(id, _)| *id);
                let detail = "a git lock left by a run that stopped; removed".to_owned();
                let kind = EventKind::WorktreeIssue { issue: "stale_lock".to_owned(), path, detail };
                events.push(NewEvent { task: owner, actor: Actor::Orchestrator, kind });
            }
        }
        self.append_recovered(events)
    }

    fn append_recovered(&self, events: Vec<NewEvent>) -> Result<Vec<Arc<Event>>, StoreError> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        self.store.append(events)
    }

    /// Compares the worktrees the store knows with git and the disk, and records every
    /// disagreement as a `worktree_issue` event. Nothing is deleted.
    pub fn reconcile_worktrees(&self) -> Result<Vec<Arc<Event>>, EngineError> {
        let tasks = self.store.reader().task_worktrees()?;
        let mut by_repo: BTreeMap<String, Vec<(TaskId, Worktree)>> = BTreeMap::new();
        for task in &tasks {
            let Some(repo) = self.local_repo(task.spec.repo.as_deref()) else {
                continue;
            };
            let repo = repo.display().to_string();
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
