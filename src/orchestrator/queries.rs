//! The engine's side of the clients' read port ([`Queries`]): the snapshot and the log from the
//! store, a task's past events, a candidate's diff from its worktree (or, once the worktree is
//! gone, from its branch), the metrics report, and the playbook registry with every class's
//! autonomy. Also the task reads the HTTP API answers with full projections
//! ([`Engine::tasks`], [`Engine::find_task`]), so the API never opens the store itself.

use std::path::Path;
use std::sync::Arc;

use super::{Engine, EngineError};
use crate::domain::{Task, WorktreeRef};
use crate::protocol::{CandidateDiff, Event, MetricsFilter, MetricsReport, PlaybookList, Queries, Snapshot, TaskId};
use crate::store::StoreError;
use crate::workspace;

/// Finished tasks a client's snapshot holds besides those under way (the newest): older ones are
/// a `task list --all` away, and a control room opening on a long history stays fast.
pub const SNAPSHOT_FINISHED: usize = 200;

impl Queries for Engine {
    fn snapshot(&self) -> Result<Snapshot, String> {
        self.current_snapshot().map_err(|err| err.to_string())
    }

    fn events_after(&self, after: u64, limit: usize) -> Result<Vec<Arc<Event>>, String> {
        let events = self.reader().events_after(after, limit).map_err(|err| err.to_string())?;
        Ok(events.into_iter().map(Arc::new).collect())
    }

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
            branch_patch(&self.repo_dir(projection.spec.repo.as_deref()), worktree)?
        };
        Ok(CandidateDiff {
            candidate: candidate.to_owned(),
            base: worktree.base.clone(),
            branch: worktree.branch.clone(),
            patch,
        })
    }

    fn metrics(&self, filter: &MetricsFilter) -> Result<MetricsReport, String> {
        Engine::metrics(self, filter).map_err(|err| err.to_string())
    }

    fn playbooks(&self) -> Result<PlaybookList, String> {
        self.playbook_list().map_err(|err| err.to_string())
    }
}

impl Engine {
    /// Every registry version and every class's autonomy: what the Playbooks tab and
    /// `GET /v1/playbooks` show.
    pub fn playbook_list(&self) -> Result<PlaybookList, StoreError> {
        Ok(PlaybookList { versions: self.reader().playbooks()?, autonomy: self.autonomy_of_every_class()? })
    }

    /// The current projection of every task, oldest first. Reads the store: call it off the
    /// async threads.
    pub fn tasks(&self) -> Result<Vec<Task>, EngineError> {
        Ok(self.reader().tasks()?)
    }

    /// The task whose id is, or ends with, `reference` (any case). Reads the store: call it off
    /// the async threads.
    pub fn find_task(&self, reference: &str) -> Result<Task, EngineError> {
        Ok(self.reader().find_task(reference)?)
    }
}

/// The committed change of a worktree's branch against its base, for a worktree already removed.
fn branch_patch(repo_dir: &Path, worktree: &WorktreeRef) -> Result<String, String> {
    workspace::branch_patch(repo_dir, &worktree.base, &worktree.branch)
        .map_err(|err| format!("cannot diff branch `{}`: {err}", worktree.branch))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{Actor, Command, TaskSpec};

    #[test]
    fn the_read_port_serves_the_snapshot_the_log_and_tasks_by_reference() {
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::open(&dir.path().join("state.redb")).unwrap();
        let add = |title: &str| {
            let events = engine
                .execute_blocking(Command::AddTask { spec: TaskSpec::titled(title) }, Actor::local_human())
                .unwrap();
            events[0].task.unwrap()
        };
        let (first, second) = (add("First task"), add("Second task"));

        let snapshot = Queries::snapshot(&engine).unwrap();
        let ids: Vec<TaskId> = snapshot.tasks.iter().map(|t| t.id).collect();
        assert_eq!(ids, vec![first, second]);
        let log = engine.events_after(0, 1000).unwrap();
        assert_eq!(log.last().unwrap().seq, snapshot.head_seq);
        let tail = engine.events_after(log[0].seq, 1).unwrap();
        assert_eq!(tail.len(), 1);
        assert_eq!(tail[0].seq, log[1].seq);
        assert!(engine.events_after(snapshot.head_seq, 10).unwrap().is_empty());

        assert_eq!(engine.tasks().unwrap().len(), 2);
        let full = second.to_string();
        assert_eq!(engine.find_task(&full[full.len() - 8..]).unwrap().id, second);
        assert!(matches!(engine.find_task("zzzzzzzz"), Err(EngineError::Lookup(_))));

        let port: &dyn Queries = &engine;
        let report = port.metrics(&crate::protocol::MetricsFilter::default()).unwrap();
        assert_eq!(report.overall.delivery.tasks, 2);
        let playbooks = port.playbooks().unwrap();
        assert_eq!(playbooks.autonomy.len(), crate::protocol::TaskKind::ALL.len(), "every class, supervised or not");
    }
}
