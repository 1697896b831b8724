//! Queries over one consistent snapshot of the store. Readers never block the writer.

use std::collections::BTreeMap;

use redb::{ReadTransaction, ReadableTable, ReadableTableMetadata, TableError};
use serde::de::DeserializeOwned;

use super::record::{self, RecordError};
use super::tables::{
    ACTIVE, AUTONOMY, EVENTS, MEMORY, META, META_HEAD, META_MEMORY_VERSION, MUSEUM, PLAYBOOKS, SETUP_NETWORK,
    TASK_EVENTS, TASKS, TITLE_WORDS, WITH_WORKTREES,
};
use super::writer::Head;
use crate::domain::{Task, TaskBrief, TaskWorktrees, is_settled, title_words};
use crate::protocol::{AutonomyState, Event, Exhibit, MemoryEntry, PlaybookVersion, TaskId};

/// An error while reading, before it is given a path and a story.
#[derive(Debug)]
pub(crate) enum ReadError {
    Db(redb::Error),
    Record { seq: u64, error: RecordError },
    Projection { id: u128, detail: String },
}

macro_rules! from_redb {
    ($($error:ty),+) => {$(
        impl From<$error> for ReadError {
            fn from(err: $error) -> Self {
                ReadError::Db(err.into())
            }
        }
    )+};
}

from_redb!(redb::Error, redb::TableError, redb::StorageError, redb::TransactionError);

/// Opens a table, treating a table that was never created as empty.
macro_rules! open_or_empty {
    ($txn:expr, $table:expr, $empty:expr) => {
        match $txn.open_table($table) {
            Ok(table) => table,
            Err(TableError::TableDoesNotExist(_)) => return Ok($empty),
            Err(err) => return Err(err.into()),
        }
    };
}

/// The last event's seq and hash, as recorded with it.
pub(crate) fn head(txn: &ReadTransaction) -> Result<Head, ReadError> {
    let meta = open_or_empty!(txn, META, Head::EMPTY);
    let head = meta.get(META_HEAD)?.and_then(|v| Head::from_bytes(v.value()));
    Ok(head.unwrap_or(Head::EMPTY))
}

/// Every task projection, oldest first.
pub(crate) fn tasks(txn: &ReadTransaction) -> Result<Vec<Task>, ReadError> {
    projections(txn)
}

/// The worktrees of every task that has some, oldest first, found through [`WITH_WORKTREES`];
/// the rest of each projection is skipped, not decoded.
pub(crate) fn task_worktrees(txn: &ReadTransaction) -> Result<Vec<TaskWorktrees>, ReadError> {
    let index = open_or_empty!(txn, WITH_WORKTREES, Vec::new());
    let table = open_or_empty!(txn, TASKS, Vec::new());
    let mut out = Vec::new();
    for entry in index.iter()? {
        let id = entry?.0.value();
        if let Some(value) = table.get(id)? {
            let decode_error = |err: serde_json::Error| ReadError::Projection { id, detail: err.to_string() };
            out.push(serde_json::from_slice(value.value()).map_err(decode_error)?);
        }
    }
    Ok(out)
}

/// Every task's id, oldest first, read from the keys alone.
pub(crate) fn task_ids(txn: &ReadTransaction) -> Result<Vec<TaskId>, ReadError> {
    let table = open_or_empty!(txn, TASKS, Vec::new());
    let mut ids = Vec::with_capacity(table.len()? as usize);
    for entry in table.iter()? {
        ids.push(TaskId::from_u128(entry?.0.value()));
    }
    Ok(ids)
}

/// The projections of the tasks not in a final state, oldest first, found through [`ACTIVE`]
/// without reading the others.
pub(crate) fn unfinished_tasks(txn: &ReadTransaction) -> Result<Vec<Task>, ReadError> {
    let active = open_or_empty!(txn, ACTIVE, Vec::new());
    let mut out = Vec::new();
    for entry in active.iter()? {
        let id = TaskId::from_u128(entry?.0.value());
        out.extend(task(txn, id)?);
    }
    Ok(out)
}

/// The tasks under way and the newest `finished` others, oldest first: what a client shows
/// when it connects, at a cost that follows the work in hand, not the history.
pub(crate) fn current_tasks(txn: &ReadTransaction, finished: usize) -> Result<Vec<Task>, ReadError> {
    let mut tasks = unfinished_tasks(txn)?;
    let table = open_or_empty!(txn, TASKS, tasks);
    let mut recent = Vec::new();
    // The newest entries hold the tasks under way too; looking further than this finds nothing
    // a client would scroll to.
    let examined = 2 * finished + tasks.len();
    for entry in table.iter()?.rev().take(examined) {
        if recent.len() == finished {
            break;
        }
        let (key, value) = entry?;
        let decode_error = |err: serde_json::Error| ReadError::Projection { id: key.value(), detail: err.to_string() };
        let brief: TaskBrief = serde_json::from_slice(value.value()).map_err(decode_error)?;
        if is_settled(brief.status) {
            recent.push(serde_json::from_slice::<Task>(value.value()).map_err(decode_error)?);
        }
    }
    tasks.extend(recent);
    tasks.sort_by_key(|task| task.id);
    Ok(tasks)
}

/// Of the tasks sharing a significant word with `title`, the most recent
/// [`SIMILAR_PER_WORD`] of each word, those sharing at least half of its words (at most
/// [`SIMILAR_MAX`], newest first): what admission's similar-task signals weigh. The work follows
/// the title's words, not the number of tasks.
pub(crate) fn similar_tasks(txn: &ReadTransaction, title: &str) -> Result<Vec<TaskBrief>, ReadError> {
    let words = title_words(title);
    if words.is_empty() {
        return Ok(Vec::new());
    }
    let index = open_or_empty!(txn, TITLE_WORDS, Vec::new());
    let mut shared: BTreeMap<u128, usize> = BTreeMap::new();
    for word in &words {
        let postings = index.range((word.as_str(), 0)..=(word.as_str(), u128::MAX))?;
        for entry in postings.rev().take(SIMILAR_PER_WORD) {
            *shared.entry(entry?.0.value().1).or_default() += 1;
        }
    }
    let table = open_or_empty!(txn, TASKS, Vec::new());
    let mut out = Vec::new();
    for (&id, _) in shared.iter().rev().filter(|(_, count)| 2 * **count >= words.len()).take(SIMILAR_MAX) {
        if let Some(value) = table.get(id)? {
            let brief = serde_json::from_slice(value.value())
                .map_err(|err| ReadError::Projection { id, detail: err.to_string() })?;
            out.push(brief);
        }
    }
    Ok(out)
}

/// The setup commands of `repo` a human allowed the network to, if any.
pub(crate) fn setup_network(txn: &ReadTransaction, repo: &str) -> Result<Option<Vec<String>>, ReadError> {
    let table = open_or_empty!(txn, SETUP_NETWORK, None);
    let Some(value) = table.get(repo)? else { return Ok(None) };
    // An allowance that does not read is no allowance: the gate asks again.
    Ok(serde_json::from_slice(value.value()).ok())
}

/// Every memory entry, in the order they were made.
pub(crate) fn memory(txn: &ReadTransaction) -> Result<Vec<MemoryEntry>, ReadError> {
    let table = open_or_empty!(txn, MEMORY, Vec::new());
    let mut entries = Vec::new();
    for row in table.iter()? {
        let (id, value) = row?;
        let entry = serde_json::from_slice(value.value())
            .map_err(|err| ReadError::Projection { id: id.value(), detail: err.to_string() })?;
        entries.push(entry);
    }
    Ok(entries)
}

/// Every exhibit of the bug museum, in the order they were made.
pub(crate) fn museum(txn: &ReadTransaction) -> Result<Vec<Exhibit>, ReadError> {
    let table = open_or_empty!(txn, MUSEUM, Vec::new());
    let mut exhibits = Vec::new();
    for row in table.iter()? {
        let (id, value) = row?;
        let exhibit = serde_json::from_slice(value.value())
            .map_err(|err| ReadError::Projection { id: id.value(), detail: err.to_string() })?;
        exhibits.push(exhibit);
    }
    Ok(exhibits)
}

/// Every playbook and policy version in the registry, oldest first.
pub(crate) fn playbooks(txn: &ReadTransaction) -> Result<Vec<PlaybookVersion>, ReadError> {
    let table = open_or_empty!(txn, PLAYBOOKS, Vec::new());
    let mut versions = Vec::new();
    for row in table.iter()? {
        let (_, value) = row?;
        let version: PlaybookVersion = serde_json::from_slice(value.value())
            .map_err(|err| ReadError::Projection { id: 0, detail: format!("a playbook version: {err}") })?;
        versions.push(version);
    }
    versions.sort_by(|a, b| a.created.cmp(&b.created).then_with(|| a.hash.cmp(&b.hash)));
    Ok(versions)
}

/// Every class's autonomy that ever changed, in the classes' order.
pub(crate) fn autonomy(txn: &ReadTransaction) -> Result<Vec<AutonomyState>, ReadError> {
    let table = open_or_empty!(txn, AUTONOMY, Vec::new());
    let mut states = Vec::new();
    for row in table.iter()? {
        let (_, value) = row?;
        let state: AutonomyState = serde_json::from_slice(value.value())
            .map_err(|err| ReadError::Projection { id: 0, detail: format!("a class's autonomy: {err}") })?;
        states.push(state);
    }
    states.sort_by_key(|s| s.class);
    Ok(states)
}

/// The memory's version: the seq of its last change (0: never changed).
pub(crate) fn memory_version(txn: &ReadTransaction) -> Result<u64, ReadError> {
    let meta = open_or_empty!(txn, META, 0);
    Ok(meta
        .get(META_MEMORY_VERSION)?
        .and_then(|value| value.value().try_into().ok().map(u64::from_be_bytes))
        .unwrap_or(0))
}

/// Tasks read per title word for [`similar_tasks`].
pub(crate) const SIMILAR_PER_WORD: usize = 500;
/// Similar tasks read at most.
pub(crate) const SIMILAR_MAX: usize = 100;

/// Every stored task projection, oldest first, read as `T` (the whole task or a part of it).
fn projections<T: DeserializeOwned>(txn: &ReadTransaction) -> Result<Vec<T>, ReadError> {
    let table = open_or_empty!(txn, TASKS, Vec::new());
    let mut out = Vec::with_capacity(table.len()? as usize);
    for entry in table.iter()? {
        let (key, value) = entry?;
        let projection = serde_json::from_slice(value.value())
            .map_err(|err| ReadError::Projection { id: key.value(), detail: err.to_string() })?;
        out.push(projection);
    }
    Ok(out)
}

/// One task projection.
pub(crate) fn task(txn: &ReadTransaction, id: TaskId) -> Result<Option<Task>, ReadError> {
    let table = open_or_empty!(txn, TASKS, None);
    let Some(value) = table.get(id.as_u128())? else {
        return Ok(None);
    };
    serde_json::from_slice(value.value())
        .map(Some)
        .map_err(|err| ReadError::Projection { id: id.as_u128(), detail: err.to_string() })
}

/// The ids of the tasks whose id ends with `fragment` (any case).
pub(crate) fn task_ids_matching(txn: &ReadTransaction, fragment: &str) -> Result<Vec<TaskId>, ReadError> {
    let table = open_or_empty!(txn, TASKS, Vec::new());
    let mut out = Vec::new();
    for entry in table.iter()? {
        let id = TaskId::from_u128(entry?.0.value());
        if id.matches_suffix(fragment) {
            out.push(id);
        }
    }
    Ok(out)
}

/// The events of one task, in log order.
pub(crate) fn task_events(txn: &ReadTransaction, id: TaskId) -> Result<Vec<Event>, ReadError> {
    let index = open_or_empty!(txn, TASK_EVENTS, Vec::new());
    let events = open_or_empty!(txn, EVENTS, Vec::new());
    let key = id.as_u128();
    let mut out = Vec::new();
    for entry in index.range((key, 0)..=(key, u64::MAX))? {
        let seq = entry?.0.value().1;
        if let Some(bytes) = events.get(seq)? {
            out.push(decode(seq, bytes.value())?);
        }
    }
    Ok(out)
}

/// Up to `limit` events with a sequence number above `after`, in order.
pub(crate) fn events_after(txn: &ReadTransaction, after: u64, limit: usize) -> Result<Vec<Event>, ReadError> {
    let events = open_or_empty!(txn, EVENTS, Vec::new());
    let mut out = Vec::new();
    for entry in events.range(after.saturating_add(1)..)?.take(limit) {
        let (seq, bytes) = entry?;
        out.push(decode(seq.value(), bytes.value())?);
    }
    Ok(out)
}

fn decode(seq: u64, bytes: &[u8]) -> Result<Event, ReadError> {
    record::decode(bytes).map_err(|error| ReadError::Record { seq, error })
}
