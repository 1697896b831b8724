//! The redb backend's read side: queries over one snapshot of the file, in the writing process
//! or, through redb's `SingleWriter` mode, beside it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use redb::{Database, ReadOnlyDatabase, ReadableDatabase};

use super::error::StoreError;
use super::migrate::{self, StoreMigration};
use super::page::{self, TaskPage, TaskQuery};
use super::read::{self, ReadError};
use super::snapshots::Snapshots;
use super::tables::{META, META_SCHEMA, SCHEMA_VERSION};
use super::verify::{self, Verification};
use super::writer::Head;
use super::{builder, guard, guarded_open, prepare_schema, read_failure, schema_of};
use crate::domain::{Task, TaskBrief, TaskWorktrees};
use crate::protocol::{AutonomyState, Event, Exhibit, MemoryEntry, PlaybookVersion, TaskId};

#[derive(Clone)]
enum ReaderDb {
    Shared(Arc<Database>),
    ReadOnly(Arc<ReadOnlyDatabase>),
}

/// Snapshots of one redb file.
#[derive(Clone)]
pub(crate) struct RedbSnapshots {
    path: PathBuf,
    db: ReaderDb,
}

impl RedbSnapshots {
    /// Reads through the writer's own handle.
    pub(crate) fn shared(path: &Path, db: Arc<Database>) -> RedbSnapshots {
        RedbSnapshots { path: path.to_owned(), db: ReaderDb::Shared(db) }
    }

    /// Opens the store at `path` for reading without taking the writer's place. Returns `None`
    /// when there is no store yet.
    pub(crate) fn open(path: &Path) -> Result<Option<RedbSnapshots>, StoreError> {
        if !path.exists() {
            return Ok(None);
        }
        let reader = match guarded_open(path, || builder().open_read_only(path)) {
            Ok(db) => RedbSnapshots { path: path.to_owned(), db: ReaderDb::ReadOnly(Arc::new(db)) },
            // A store left by a crash needs a repair, which only a writer may do.
            Err(StoreError::NeedsRepair { .. }) => return RedbSnapshots::open_writable(path, None).map(Some),
            Err(err) => return Err(err),
        };
        match reader.stored_schema()? {
            Some(found) if found > SCHEMA_VERSION => {
                Err(StoreError::NewerSchema { path: path.to_owned(), found, supported: SCHEMA_VERSION })
            }
            // An older build wrote it: it is upgraded first, which only a writer may do.
            Some(found) if found < SCHEMA_VERSION => {
                drop(reader);
                RedbSnapshots::open_writable(path, Some(found)).map(Some)
            }
            _ => Ok(Some(reader)),
        }
    }

    /// Opens a store for salvage with as little as possible: read-only, no schema check; only a
    /// file left unclean by a crash is opened as a writer (redb repairs it then).
    pub(crate) fn damaged(path: &Path) -> Result<RedbSnapshots, StoreError> {
        let db = match guarded_open(path, || builder().open_read_only(path)) {
            Ok(db) => ReaderDb::ReadOnly(Arc::new(db)),
            Err(StoreError::NeedsRepair { .. }) => {
                ReaderDb::Shared(Arc::new(guarded_open(path, || builder().open(path))?))
            }
            Err(err) => return Err(err),
        };
        Ok(RedbSnapshots { path: path.to_owned(), db })
    }

    /// Opens the store as a writer would, to repair or upgrade it, and reads through that handle.
    fn open_writable(path: &Path, upgrading_from: Option<u64>) -> Result<RedbSnapshots, StoreError> {
        let db = match (guarded_open(path, || builder().open(path)), upgrading_from) {
            (Err(StoreError::InUse { .. }), Some(found)) => {
                return Err(StoreError::UpgradeBlocked { path: path.to_owned(), found, supported: SCHEMA_VERSION });
            }
            (db, _) => db?,
        };
        guard::guarded(path, || prepare_schema(path, &db))?;
        Ok(RedbSnapshots::shared(path, Arc::new(db)))
    }

    pub(crate) fn snapshot(&self) -> Result<redb::ReadTransaction, StoreError> {
        let txn = match &self.db {
            ReaderDb::Shared(db) => db.begin_read(),
            ReaderDb::ReadOnly(db) => db.begin_read(),
        };
        txn.map_err(|err| StoreError::from_redb(&self.path, "read", None, err))
    }

    pub(crate) fn fail(&self, err: ReadError) -> StoreError {
        read_failure(&self.path, err)
    }

    /// Runs `query` on a fresh snapshot, guarded: damage redb panics on becomes an error.
    pub(crate) fn read<T>(
        &self,
        query: impl FnOnce(&redb::ReadTransaction) -> Result<T, ReadError>,
    ) -> Result<T, StoreError> {
        guard::guarded(&self.path, || query(&self.snapshot()?).map_err(|e| self.fail(e)))
    }

    /// The schema version recorded in the store (`None` for a store without tables yet).
    pub(crate) fn stored_schema(&self) -> Result<Option<u64>, StoreError> {
        guard::guarded(&self.path, || {
            let txn = self.snapshot()?;
            let meta = match txn.open_table(META) {
                Ok(meta) => meta,
                Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
                Err(err) => return Err(self.fail(ReadError::Db(err.into()))),
            };
            let value = meta.get(META_SCHEMA).map_err(|e| self.fail(ReadError::Db(e.into())))?;
            Ok(schema_of(value.as_ref().map(|v| v.value())))
        })
    }
}

impl Snapshots for RedbSnapshots {
    fn migrations(&self) -> Result<Vec<StoreMigration>, StoreError> {
        self.read(|txn| migrate::history(txn).map_err(ReadError::Db))
    }

    fn head(&self) -> Result<Head, StoreError> {
        self.read(read::head)
    }

    fn tasks(&self) -> Result<Vec<Task>, StoreError> {
        self.read(read::tasks)
    }

    fn unfinished_tasks(&self) -> Result<Vec<Task>, StoreError> {
        self.read(read::unfinished_tasks)
    }

    fn task_ids(&self) -> Result<Vec<TaskId>, StoreError> {
        self.read(read::task_ids)
    }

    fn task_worktrees(&self) -> Result<Vec<TaskWorktrees>, StoreError> {
        self.read(read::task_worktrees)
    }

    fn current_tasks(&self, finished: usize) -> Result<Vec<Task>, StoreError> {
        self.read(|txn| read::current_tasks(txn, finished))
    }

    fn task_page(&self, query: &TaskQuery) -> Result<TaskPage, StoreError> {
        self.read(|txn| page::task_page(txn, query))
    }

    fn similar_tasks(&self, title: &str) -> Result<Vec<TaskBrief>, StoreError> {
        self.read(|txn| read::similar_tasks(txn, title))
    }

    fn setup_network(&self, repo: &str) -> Result<Option<Vec<String>>, StoreError> {
        self.read(|txn| read::setup_network(txn, repo))
    }

    fn memory(&self) -> Result<Vec<MemoryEntry>, StoreError> {
        self.read(read::memory)
    }

    fn museum(&self) -> Result<Vec<Exhibit>, StoreError> {
        self.read(read::museum)
    }

    fn playbooks(&self) -> Result<Vec<PlaybookVersion>, StoreError> {
        self.read(read::playbooks)
    }

    fn autonomy(&self) -> Result<Vec<AutonomyState>, StoreError> {
        self.read(read::autonomy)
    }

    fn memory_version(&self) -> Result<u64, StoreError> {
        self.read(read::memory_version)
    }

    fn task(&self, id: TaskId) -> Result<Option<Task>, StoreError> {
        self.read(|txn| read::task(txn, id))
    }

    fn task_ids_matching(&self, fragment: &str) -> Result<Vec<TaskId>, StoreError> {
        self.read(|txn| read::task_ids_matching(txn, fragment))
    }

    fn task_events(&self, id: TaskId) -> Result<Vec<Event>, StoreError> {
        self.read(|txn| read::task_events(txn, id))
    }

    fn events_after(&self, after: u64, limit: usize) -> Result<Vec<Event>, StoreError> {
        self.read(|txn| read::events_after(txn, after, limit))
    }

    fn verify(&self) -> Result<Verification, StoreError> {
        self.read(verify::verify)
    }
}
