//! Upgrades a store written by an older build, so that a new ambidex opens every old store
//! instead of failing to read it.
//!
//! The event log never changes: its records keep the bytes they were hashed with. What a new
//! store schema changes is derived data (the task projections), so the upgrade rebuilds it by
//! folding the whole log again with today's rules, inside the same write transaction that records
//! the new schema version: a crash leaves either the old store or the upgraded one. Each upgrade
//! is recorded in `meta` (`migrations`) and shown by `ambidex doctor`.

use std::collections::BTreeMap;

use jiff::Timestamp;
use redb::{ReadableTable, WriteTransaction};
use serde::{Deserialize, Serialize};

use super::record;
use super::tables::{
    ACTIVE, AUTONOMY, EVENTS, MEMORY, META, META_MEMORY_VERSION, META_MIGRATIONS, META_SCHEMA, MUSEUM, PLAYBOOKS,
    SCHEMA_VERSION, SETUP_NETWORK, TASKS, TITLE_WORDS, WITH_WORKTREES,
};
use super::writer::index_title;
use crate::domain::{Task, is_settled};
use crate::protocol::{AutonomyState, EventKind, Exhibit, MemoryEntry, PlaybookVersion, TaskId};

/// One upgrade of a store to a newer schema, as recorded in its `meta` table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreMigration {
    /// The schema the store had.
    pub from: u64,
    /// The schema it has since.
    pub to: u64,
    /// When the upgrade was committed.
    pub at: Timestamp,
    /// How many events were folded again.
    pub events: u64,
    /// How many task projections were rebuilt.
    pub tasks: u64,
}

/// Why an upgrade could not be done (nothing was changed then).
#[derive(Debug)]
pub(crate) enum MigrateError {
    Db(redb::Error),
    /// An event that does not decode or does not apply to its task under today's rules.
    Event {
        seq: u64,
        detail: String,
    },
}

macro_rules! from_redb {
    ($($error:ty),+) => {$(
        impl From<$error> for MigrateError {
            fn from(err: $error) -> Self {
                MigrateError::Db(err.into())
            }
        }
    )+};
}

from_redb!(redb::Error, redb::TableError, redb::StorageError);

/// Rebuilds every task projection from the log and records schema [`SCHEMA_VERSION`], in `txn`
/// (which the caller commits). `from` is the schema the store has.
pub(crate) fn upgrade(txn: &WriteTransaction, from: u64) -> Result<StoreMigration, MigrateError> {
    let (tasks, events) = rebuild_projections(txn)?;
    let migration = StoreMigration { from, to: SCHEMA_VERSION, at: Timestamp::now(), events, tasks };
    let mut meta = txn.open_table(META)?;
    let mut history = match meta.get(META_MIGRATIONS)? {
        Some(value) => serde_json::from_slice::<Vec<StoreMigration>>(value.value()).unwrap_or_default(),
        None => Vec::new(),
    };
    history.push(migration.clone());
    let history = serde_json::to_vec(&history).map_err(|err| redb::Error::Corrupted(err.to_string()))?;
    meta.insert(META_MIGRATIONS, history.as_slice())?;
    meta.insert(META_SCHEMA, SCHEMA_VERSION.to_be_bytes().as_slice())?;
    Ok(migration)
}

/// Replaces every task projection with one folded from the whole log, the title-word index with
/// one of those projections, and the setups allowed the network, in `txn`. Returns how many
/// tasks and events there are.
pub(crate) fn rebuild_projections(txn: &WriteTransaction) -> Result<(u64, u64), MigrateError> {
    let Folded { tasks, events, allowed, memory, memory_version, museum, playbooks, autonomy } = fold_log(txn)?;
    txn.delete_table(SETUP_NETWORK)?;
    let mut network = txn.open_table(SETUP_NETWORK)?;
    for (repo, commands) in &allowed {
        allow_network(&mut network, repo, commands)?;
    }
    txn.delete_table(MEMORY)?;
    let mut entries = txn.open_table(MEMORY)?;
    for entry in memory.values() {
        put_memory(&mut entries, entry)?;
    }
    txn.delete_table(MUSEUM)?;
    let mut exhibits = txn.open_table(MUSEUM)?;
    for exhibit in museum.values() {
        put_exhibit(&mut exhibits, exhibit)?;
    }
    txn.delete_table(PLAYBOOKS)?;
    let mut versions = txn.open_table(PLAYBOOKS)?;
    for version in playbooks.values() {
        put_playbook(&mut versions, version)?;
    }
    txn.delete_table(AUTONOMY)?;
    let mut classes = txn.open_table(AUTONOMY)?;
    for state in autonomy.values() {
        put_autonomy(&mut classes, state)?;
    }
    let mut meta = txn.open_table(META)?;
    match memory_version {
        Some(version) => meta.insert(META_MEMORY_VERSION, version.to_be_bytes().as_slice())?,
        None => meta.remove(META_MEMORY_VERSION)?,
    };
    txn.delete_table(TITLE_WORDS)?;
    txn.delete_table(ACTIVE)?;
    txn.delete_table(WITH_WORKTREES)?;
    let mut words = txn.open_table(TITLE_WORDS)?;
    let mut active = txn.open_table(ACTIVE)?;
    let mut with_worktrees = txn.open_table(WITH_WORKTREES)?;
    for (id, task) in &tasks {
        index_title(&mut words, *id, None, &task.spec.title)?;
        if !is_settled(task.status) {
            active.insert(id.as_u128(), ())?;
        }
        if !task.worktrees.is_empty() {
            with_worktrees.insert(id.as_u128(), ())?;
        }
    }
    txn.delete_table(TASKS)?;
    let mut table = txn.open_table(TASKS)?;
    let mut buf = Vec::with_capacity(4096);
    for (id, task) in &tasks {
        buf.clear();
        serde_json::to_writer(&mut buf, task).map_err(|err| MigrateError::Event {
            seq: task.last_seq,
            detail: format!("the rebuilt projection of task {id} does not serialize: {err}"),
        })?;
        table.insert(id.as_u128(), buf.as_slice())?;
    }
    Ok((tasks.len() as u64, events))
}

/// What the whole log folds into.
struct Folded {
    /// Every task's projection.
    tasks: BTreeMap<TaskId, Task>,
    /// How many events there are.
    events: u64,
    /// Each repository's setup commands allowed the network (the latest allowance).
    allowed: BTreeMap<String, Vec<String>>,
    /// Each memory entry's latest state.
    memory: BTreeMap<u128, MemoryEntry>,
    /// The seq of the memory's last change.
    memory_version: Option<u64>,
    /// Each exhibit's latest state.
    museum: BTreeMap<u128, Exhibit>,
    /// Each playbook or policy version's latest state, by hash.
    playbooks: BTreeMap<String, PlaybookVersion>,
    /// Each class's autonomy, by class.
    autonomy: BTreeMap<String, AutonomyState>,
}

/// Folds the whole log, in order (see [`Folded`]).
fn fold_log(txn: &WriteTransaction) -> Result<Folded, MigrateError> {
    let events = txn.open_table(EVENTS)?;
    let mut tasks: BTreeMap<TaskId, Task> = BTreeMap::new();
    let mut allowed = BTreeMap::new();
    let mut memory = BTreeMap::new();
    let mut memory_version = None;
    let mut museum = BTreeMap::new();
    let mut playbooks = BTreeMap::new();
    let mut autonomy = BTreeMap::new();
    let mut count = 0;
    for entry in events.iter()? {
        let (key, value) = entry?;
        let seq = key.value();
        let event =
            record::decode(value.value()).map_err(|err| MigrateError::Event { seq, detail: err.to_string() })?;
        count += 1;
        match &event.kind {
            EventKind::SetupNetworkAllowed { repo, commands } => {
                allowed.insert(repo.clone(), commands.clone());
            }
            EventKind::MemoryChanged { entry, .. } => {
                memory.insert(entry.id.as_u128(), entry.clone());
                memory_version = Some(seq);
            }
            EventKind::ExhibitChanged { exhibit, .. } => {
                museum.insert(exhibit.id.as_u128(), (**exhibit).clone());
            }
            EventKind::PlaybookChanged { version, .. } => {
                playbooks.insert(version.hash.clone(), (**version).clone());
            }
            EventKind::AutonomyChanged { state, .. } => {
                autonomy.insert(state.class.as_str().to_owned(), state.clone());
            }
            _ => {}
        }
        let Some(id) = event.task else { continue };
        let applied = match (&event.kind, tasks.get_mut(&id)) {
            (EventKind::TaskCreated { spec }, None) => {
                tasks.insert(id, Task::created(id, spec.clone(), &event));
                Ok(())
            }
            (_, Some(task)) => task.apply(&event).map_err(|err| err.to_string()),
            (_, None) => Err(format!("no task {id} was created before it")),
        };
        applied.map_err(|detail| MigrateError::Event { seq, detail })?;
    }
    Ok(Folded { tasks, events: count, allowed, memory, memory_version, museum, playbooks, autonomy })
}

/// Records `entry`'s latest state.
pub(crate) fn put_memory(table: &mut redb::Table<'_, u128, &[u8]>, entry: &MemoryEntry) -> Result<(), redb::Error> {
    let value = serde_json::to_vec(entry).map_err(|err| redb::Error::Corrupted(err.to_string()))?;
    table.insert(entry.id.as_u128(), value.as_slice())?;
    Ok(())
}

/// Records `exhibit`'s latest state.
pub(crate) fn put_exhibit(table: &mut redb::Table<'_, u128, &[u8]>, exhibit: &Exhibit) -> Result<(), redb::Error> {
    let value = serde_json::to_vec(exhibit).map_err(|err| redb::Error::Corrupted(err.to_string()))?;
    table.insert(exhibit.id.as_u128(), value.as_slice())?;
    Ok(())
}

/// Records `version`'s latest state.
pub(crate) fn put_playbook(
    table: &mut redb::Table<'_, &str, &[u8]>,
    version: &PlaybookVersion,
) -> Result<(), redb::Error> {
    let value = serde_json::to_vec(version).map_err(|err| redb::Error::Corrupted(err.to_string()))?;
    table.insert(version.hash.as_str(), value.as_slice())?;
    Ok(())
}

/// Records a class's autonomy.
pub(crate) fn put_autonomy(table: &mut redb::Table<'_, &str, &[u8]>, state: &AutonomyState) -> Result<(), redb::Error> {
    let value = serde_json::to_vec(state).map_err(|err| redb::Error::Corrupted(err.to_string()))?;
    table.insert(state.class.as_str(), value.as_slice())?;
    Ok(())
}

/// Records that `repo`'s setup `commands` may use the network (replacing an earlier allowance).
pub(crate) fn allow_network(
    table: &mut redb::Table<'_, &str, &[u8]>,
    repo: &str,
    commands: &[String],
) -> Result<(), redb::Error> {
    let value = serde_json::to_vec(commands).map_err(|err| redb::Error::Corrupted(err.to_string()))?;
    table.insert(repo, value.as_slice())?;
    Ok(())
}

/// The upgrades recorded in `meta`, oldest first.
pub(crate) fn history(txn: &redb::ReadTransaction) -> Result<Vec<StoreMigration>, redb::Error> {
    let meta = match txn.open_table(META) {
        Ok(meta) => meta,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
        Err(err) => return Err(err.into()),
    };
    Ok(match meta.get(META_MIGRATIONS)? {
        Some(value) => serde_json::from_slice(value.value()).map_err(|err| redb::Error::Corrupted(err.to_string()))?,
        None => Vec::new(),
    })
}
