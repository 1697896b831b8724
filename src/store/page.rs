//! One page of the task list, newest first: what every list read (the API, `task list`, the
//! control room's first paint) asks for, so that its cost follows the page, not the history.

use redb::{ReadTransaction, ReadableTableMetadata, TableError};
use serde::{Deserialize, Serialize};

use super::read::ReadError;
use super::tables::TASKS;
use crate::domain::{Task, TaskBrief};
use crate::protocol::{TaskId, TaskStatus};

/// The most tasks one page holds.
pub const MAX_PAGE: usize = 1000;

/// Which tasks a page holds: the newest `limit` older than `before` that pass the filters.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TaskQuery {
    /// Only tasks created before this one (the cursor a previous page returned).
    pub before: Option<TaskId>,
    /// At most this many (0 or more than [`MAX_PAGE`] means [`MAX_PAGE`]).
    pub limit: usize,
    /// Only tasks in one of these states (empty: any).
    pub statuses: Vec<TaskStatus>,
    /// Only tasks of this repository.
    pub repo: Option<String>,
}

impl TaskQuery {
    fn passes(&self, brief: &TaskBrief) -> bool {
        (self.statuses.is_empty() || self.statuses.contains(&brief.status))
            && self.repo.as_ref().is_none_or(|repo| brief.spec.repo.as_ref() == Some(repo))
    }

    fn filtered(&self) -> bool {
        !self.statuses.is_empty() || self.repo.is_some()
    }
}

/// A page of tasks, newest first.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TaskPage {
    /// The tasks.
    pub tasks: Vec<Task>,
    /// Every task in the store, whatever the filters.
    pub total: u64,
    /// Pass this as `before` for the next (older) page; `None` when this page is the last.
    pub next: Option<TaskId>,
}

/// Reads one page. Only the tasks shown are decoded whole; with filters, each task passed over
/// is read only for its status and repository.
pub(crate) fn task_page(txn: &ReadTransaction, query: &TaskQuery) -> Result<TaskPage, ReadError> {
    let table = match txn.open_table(TASKS) {
        Ok(table) => table,
        Err(TableError::TableDoesNotExist(_)) => return Ok(TaskPage::default()),
        Err(err) => return Err(err.into()),
    };
    let limit = if query.limit == 0 { MAX_PAGE } else { query.limit.min(MAX_PAGE) };
    let total = table.len()?;
    let range = match query.before {
        Some(before) => table.range(..before.as_u128())?,
        None => table.range::<u128>(..)?,
    };
    let mut page = TaskPage { total, ..TaskPage::default() };
    for entry in range.rev() {
        let (key, value) = entry?;
        let bytes = value.value();
        let decode_error = |err: serde_json::Error| ReadError::Projection { id: key.value(), detail: err.to_string() };
        if query.filtered() && !query.passes(&serde_json::from_slice::<TaskBrief>(bytes).map_err(decode_error)?) {
            continue;
        }
        if page.tasks.len() == limit {
            page.next = page.tasks.last().map(|task| task.id);
            break;
        }
        page.tasks.push(serde_json::from_slice(bytes).map_err(decode_error)?);
    }
    Ok(page)
}
