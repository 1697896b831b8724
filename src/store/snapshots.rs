//! What every store backend answers: the queries over one consistent state of the log and its
//! projections. redb answers each from a snapshot of its file, PostgreSQL from a read-only
//! transaction; [`super::StoreReader`] hands them out whatever the backend.

use super::error::StoreError;
use super::migrate::StoreMigration;
use super::page::{TaskPage, TaskQuery};
use super::verify::Verification;
use super::writer::Head;
use crate::domain::{Task, TaskBrief, TaskWorktrees};
use crate::protocol::{AutonomyState, Event, Exhibit, MemoryEntry, PlaybookVersion, TaskId};

/// The read side of a backend. Each call sees one committed state; see [`super::StoreReader`]
/// for what each query means.
pub(crate) trait Snapshots: Send + Sync {
    fn migrations(&self) -> Result<Vec<StoreMigration>, StoreError>;
    fn head(&self) -> Result<Head, StoreError>;
    fn tasks(&self) -> Result<Vec<Task>, StoreError>;
    fn unfinished_tasks(&self) -> Result<Vec<Task>, StoreError>;
    fn task_ids(&self) -> Result<Vec<TaskId>, StoreError>;
    fn task_worktrees(&self) -> Result<Vec<TaskWorktrees>, StoreError>;
    fn current_tasks(&self, finished: usize) -> Result<Vec<Task>, StoreError>;
    fn task_page(&self, query: &TaskQuery) -> Result<TaskPage, StoreError>;
    fn similar_tasks(&self, title: &str) -> Result<Vec<TaskBrief>, StoreError>;
    fn setup_network(&self, repo: &str) -> Result<Option<Vec<String>>, StoreError>;
    fn memory(&self) -> Result<Vec<MemoryEntry>, StoreError>;
    fn museum(&self) -> Result<Vec<Exhibit>, StoreError>;
    fn playbooks(&self) -> Result<Vec<PlaybookVersion>, StoreError>;
    fn autonomy(&self) -> Result<Vec<AutonomyState>, StoreError>;
    fn memory_version(&self) -> Result<u64, StoreError>;
    fn task(&self, id: TaskId) -> Result<Option<Task>, StoreError>;
    /// The ids of the tasks whose id ends with `fragment` (any case), oldest first.
    fn task_ids_matching(&self, fragment: &str) -> Result<Vec<TaskId>, StoreError>;
    fn task_events(&self, id: TaskId) -> Result<Vec<Event>, StoreError>;
    fn events_after(&self, after: u64, limit: usize) -> Result<Vec<Event>, StoreError>;
    fn verify(&self) -> Result<Verification, StoreError>;
}
