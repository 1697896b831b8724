//! The store: the hash-chained event log and the projections, in one of two backends chosen by
//! `store.url` ([`StoreUrl`]).
//!
//! The embedded default is one redb file. A [`Store`] is the writer: it owns a thread that
//! batches appends into `Immediate` (fsync'd) commits, and at most one process holds it at a
//! time. A [`StoreReader`] reads consistent snapshots; it works in the writing process and,
//! through redb's `SingleWriter` mode, in other processes while one writes. That is how
//! read-only commands (`task list`, `task show`, `audit verify`) work while the control room runs.
//!
//! The shared backend is a PostgreSQL database ([`postgres`]) that many processes on many
//! machines write at once, with the same records, chain and projections, a work queue of leases
//! ([`Leases`]) and a feed of what the others commit. Only this module touches either database.

mod compact;
mod error;
mod guard;
mod migrate;
mod page;
mod postgres;
mod read;
mod record;
mod redb_reader;
mod salvage;
mod snapshots;
mod stage;
mod tables;
mod transfer;
mod url;
mod verify;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{Sender, sync_channel};
use std::thread::JoinHandle;

use redb::{Builder, ConcurrencyMode, Database, ReadableTable, ReadableTableMetadata};

pub use compact::{Compacted, compact};
pub use error::StoreError;
pub use migrate::StoreMigration;
pub use page::{MAX_PAGE, TaskPage, TaskQuery};
pub use postgres::Leases;
pub use salvage::{Damage, Rebuilt, Salvage, SalvageError, rebuild, salvage};
pub use transfer::{Moved, TransferError, transfer};
pub use url::StoreUrl;
pub use verify::Verification;
pub use writer::{AppendResult, CommitHook, Head};

use migrate::MigrateError;
use read::ReadError;
use redb_reader::RedbSnapshots;
use snapshots::Snapshots;
use tables::{EVENTS, META, META_SCHEMA, SCHEMA_VERSION, TASK_EVENTS, TASKS};
use writer::{AppendRequest, Reply, Writer};

use crate::domain::{Task, TaskBrief, TaskWorktrees};
use crate::protocol::{AutonomyState, Event, Exhibit, MemoryEntry, NewEvent, PlaybookVersion, TaskId};

/// The file name of the store inside the state directory.
pub const STORE_FILE: &str = "state.redb";

const CACHE_BYTES: usize = 256 * 1024 * 1024;

/// A read of the store at `path` that failed, told as a store error.
fn read_failure(path: &Path, err: ReadError) -> StoreError {
    match err {
        ReadError::Db(err) => StoreError::from_redb(path, "read", None, err),
        ReadError::Record { seq, error } => {
            StoreError::Damaged { path: path.to_owned(), detail: format!("event #{seq}: {error}") }
        }
        ReadError::Projection { id, detail } => StoreError::Damaged {
            path: path.to_owned(),
            detail: format!("projection of task {}: {detail}", TaskId::from_u128(id)),
        },
    }
}

fn builder() -> Builder {
    let mut builder = Builder::new();
    builder.set_concurrency_mode(ConcurrencyMode::SingleWriter).set_cache_size(CACHE_BYTES);
    builder
}

/// Runs a redb open, turning a panic on a damaged file into an error.
fn guarded_open<T>(path: &Path, open: impl FnOnce() -> Result<T, redb::DatabaseError>) -> Result<T, StoreError> {
    guard::guarded(path, || open().map_err(|err| StoreError::from_redb(path, "open", None, err)))
}

/// What redb's integrity check said about a store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Integrity {
    /// Every page checked out.
    Clean,
    /// redb found leaked or inconsistent allocator state and repaired it (the data was intact).
    Repaired,
    /// The check could not run; the reason says why (e.g. another process holds the store).
    Skipped {
        /// Why.
        reason: String,
    },
}

/// Runs redb's integrity check on the store at `path`, which needs the file to itself: when
/// another process holds it the check is [`Integrity::Skipped`]. Damage is
/// [`StoreError::Damaged`]. Call it before opening readers of the same file in this process.
pub fn check_integrity(path: &Path) -> Result<Integrity, StoreError> {
    let mut db = match guarded_open(path, || builder().open(path)) {
        Ok(db) => db,
        Err(StoreError::InUse { .. }) => {
            return Ok(Integrity::Skipped {
                reason: "another Ambidex process (the control room or `ambidex serve`) holds the store".into(),
            });
        }
        Err(err) => return Err(err),
    };
    guard::guarded(path, || match db.check_integrity() {
        Ok(true) => Ok(Integrity::Clean),
        Ok(false) => Ok(Integrity::Repaired),
        Err(err) => Err(match StoreError::from_redb(path, "check", None, err) {
            StoreError::Corrupt { path, detail } => StoreError::Damaged { path, detail },
            other => other,
        }),
    })
}

/// Creates the directory a database file goes in.
fn create_parent_dir(path: &Path) -> Result<(), StoreError> {
    match path.parent().filter(|d| !d.as_os_str().is_empty()) {
        // The state directory holds the audit log and the API token: its owner's only.
        Some(dir) => crate::protocol::private::create_private_dir(dir).map_err(|source| StoreError::Io {
            path: path.to_owned(),
            action: "create the directory of",
            durable_seq: None,
            source,
        }),
        None => Ok(()),
    }
}

fn schema_of(meta_value: Option<&[u8]>) -> Option<u64> {
    meta_value.and_then(|bytes| Some(u64::from_be_bytes(bytes.try_into().ok()?)))
}

/// The hash `event` has when its canonical bytes are rebuilt from its fields. For every stored
/// event this equals `event.hash` as long as the JSON format of its schema has not changed, which
/// is what the format tests check (`ambidex audit verify` hashes the stored bytes instead).
pub fn recompute_hash(event: &Event) -> Result<crate::protocol::Digest, String> {
    let body = record::canonical_body(event).map_err(|err| err.to_string())?;
    Ok(record::chain_hash(&event.prev_hash, &body))
}

/// How a store is opened for writing.
#[derive(Default)]
pub struct StoreOptions {
    /// Sees every committed batch, in log order, on the writer thread (keep it cheap: forward
    /// to a channel).
    pub hook: Option<CommitHook>,
    /// Removes secrets from every event before it is hashed and stored: the single choke point
    /// through which everything persisted or broadcast passes.
    pub redactor: Option<Arc<crate::redact::Redactor>>,
    /// Sees the events other processes commit to a shared store, in log order, as they land
    /// (never called for the embedded store, which only this process writes).
    pub foreign: Option<CommitHook>,
}

/// The writing handle of a store.
pub struct Store {
    path: PathBuf,
    /// A shared store's leases (none for redb: holding the store is the only lease).
    leases: Option<Leases>,
    reader: StoreReader,
    appender: Appender,
    thread: Option<JoinHandle<()>>,
    migration: Option<StoreMigration>,
}

/// A cloneable handle that appends events through the writer thread.
#[derive(Clone)]
pub struct Appender {
    requests: Sender<AppendRequest>,
}

impl Appender {
    /// Appends `events` atomically and waits until they are durable. Do not call from async code.
    pub fn append(&self, events: Vec<NewEvent>) -> AppendResult {
        let (tx, rx) = sync_channel(1);
        self.send(AppendRequest { events, reply: Reply::Blocking(tx) })?;
        rx.recv().unwrap_or(Err(StoreError::WriterStopped { reason: None }))
    }

    /// Appends `events` atomically and resolves when they are durable.
    pub async fn append_async(&self, events: Vec<NewEvent>) -> AppendResult {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.send(AppendRequest { events, reply: Reply::Async(tx) })?;
        rx.await.unwrap_or(Err(StoreError::WriterStopped { reason: None }))
    }

    fn send(&self, request: AppendRequest) -> Result<(), StoreError> {
        self.requests.send(request).map_err(|_| StoreError::WriterStopped { reason: None })
    }
}

impl Store {
    /// Opens (creating if needed) the store at `path` for writing.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        Store::open_with(path, StoreOptions::default())
    }

    /// Opens the store for writing with `options`.
    pub fn open_with(path: &Path, options: StoreOptions) -> Result<Store, StoreError> {
        let StoreOptions { hook, redactor, foreign: _ } = options;
        create_parent_dir(path)?;
        let db = guarded_open(path, || builder().create(path))?;
        crate::protocol::private::restrict_file(path).map_err(|source| StoreError::Io {
            path: path.to_owned(),
            action: "make private (0600)",
            durable_seq: None,
            source,
        })?;
        let migration = guard::guarded(path, || prepare_schema(path, &db))?;
        let db = Arc::new(db);
        let loader = RedbSnapshots::shared(path, db.clone());
        let (head, tasks) = loader.read(writer::load_state)?;
        let last_at = jiff::Timestamp::now();
        let (requests, receiver) = std::sync::mpsc::channel();
        let writer = Writer { db: db.clone(), path: path.to_owned(), head, last_at, tasks, hook, redactor };
        let thread = std::thread::Builder::new()
            .name("ambidex-store-writer".into())
            .spawn(move || writer::serve(writer, receiver))
            .map_err(|source| StoreError::Io {
                path: path.to_owned(),
                action: "start the writer for",
                durable_seq: None,
                source,
            })?;
        let reader = StoreReader { location: path.to_owned(), backend: Arc::new(RedbSnapshots::shared(path, db)) };
        Ok(Store {
            path: path.to_owned(),
            leases: None,
            reader,
            appender: Appender { requests },
            thread: Some(thread),
            migration,
        })
    }

    /// Opens (creating if needed) the store `url` names for writing: a redb file, or a
    /// PostgreSQL database many processes share.
    pub fn open_url(url: &StoreUrl, options: StoreOptions) -> Result<Store, StoreError> {
        match url {
            StoreUrl::Redb(path) => Store::open_with(path, options),
            StoreUrl::Postgres(url) => {
                let postgres::Opened { location, leases, reader, requests, thread, migration } =
                    postgres::open(url, options)?;
                Ok(Store {
                    path: location,
                    leases: Some(leases),
                    reader,
                    appender: Appender { requests },
                    thread: Some(thread),
                    migration,
                })
            }
        }
    }

    /// Where the store is: its file, or its server (without a password) for PostgreSQL.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether other processes, on this machine or others, may write the store too.
    pub fn is_shared(&self) -> bool {
        self.leases.is_some()
    }

    /// The leases of a shared store's work queue.
    pub fn leases(&self) -> Option<&Leases> {
        self.leases.as_ref()
    }

    /// The upgrade this open did, when an older build wrote the store.
    pub fn migration(&self) -> Option<&StoreMigration> {
        self.migration.as_ref()
    }

    /// Appends `events` atomically and waits until they are durable. Do not call from async code.
    pub fn append(&self, events: Vec<NewEvent>) -> AppendResult {
        self.appender.append(events)
    }

    /// A handle for appending from other threads and tasks.
    pub fn appender(&self) -> Appender {
        self.appender.clone()
    }

    /// A reader over this store's snapshots.
    pub fn reader(&self) -> StoreReader {
        self.reader.clone()
    }

    /// Stops the writer after it has committed everything already sent to it.
    pub fn close(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        let (dead, _) = std::sync::mpsc::channel();
        self.appender = Appender { requests: dead };
        if let Some(thread) = self.thread.take() {
            // The writer only ends by returning; a panic there has already been reported.
            let _ = thread.join();
        }
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Creates the tables and records the schema version, upgrades a store an older build wrote, or
/// refuses one a newer build wrote. Returns the upgrade when there was one.
fn prepare_schema(path: &Path, db: &Database) -> Result<Option<StoreMigration>, StoreError> {
    let fail = |err: redb::Error| StoreError::from_redb(path, "open", None, err);
    let txn = db.begin_write().map_err(|e| fail(e.into()))?;
    let found = {
        let meta = txn.open_table(META).map_err(|e| fail(e.into()))?;
        schema_of(meta.get(META_SCHEMA).map_err(|e| fail(e.into()))?.map(|v| v.value().to_vec()).as_deref())
    };
    let mut migration = None;
    match found {
        Some(found) if found > SCHEMA_VERSION => {
            return Err(StoreError::NewerSchema { path: path.to_owned(), found, supported: SCHEMA_VERSION });
        }
        Some(found) if found < SCHEMA_VERSION => {
            migration = Some(migrate::upgrade(&txn, found).map_err(|err| match err {
                MigrateError::Db(err) => fail(err),
                MigrateError::Event { seq, detail } => StoreError::Corrupt {
                    path: path.to_owned(),
                    detail: format!(
                        "upgrading from schema {found} to {SCHEMA_VERSION} stopped at event #{seq}: {detail} \
                         (nothing was changed)"
                    ),
                },
            })?);
        }
        Some(_) => {}
        None => {
            let events = txn.open_table(EVENTS).map_err(|e| fail(e.into()))?;
            if events.len().map_err(|e| fail(e.into()))? > 0 {
                return Err(StoreError::Corrupt {
                    path: path.to_owned(),
                    detail: "events without a schema version".into(),
                });
            }
            drop(events);
            let mut meta = txn.open_table(META).map_err(|e| fail(e.into()))?;
            meta.insert(META_SCHEMA, SCHEMA_VERSION.to_be_bytes().as_slice()).map_err(|e| fail(e.into()))?;
        }
    }
    txn.open_table(TASKS).map_err(|e| fail(e.into()))?;
    txn.open_table(TASK_EVENTS).map_err(|e| fail(e.into()))?;
    txn.open_table(EVENTS).map_err(|e| fail(e.into()))?;
    txn.commit().map_err(|e| fail(e.into()))?;
    Ok(migration)
}

/// Reads consistent snapshots of a store, in this process or beside a writing one, whatever
/// its backend.
#[derive(Clone)]
pub struct StoreReader {
    location: PathBuf,
    backend: Arc<dyn Snapshots>,
}

/// A task reference that matches no task, or more than one.
#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    /// No task id ends with the fragment.
    #[error("no task matches `{0}` (see `ambidex task list`)")]
    NotFound(String),
    /// Several do.
    #[error("`{fragment}` matches {} tasks ({}); give more characters", matches.len(), matches.join(", "))]
    Ambiguous {
        /// What the user typed.
        fragment: String,
        /// The ids it matches.
        matches: Vec<String>,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl StoreReader {
    /// Opens the store at `path` for reading without taking the writer's place. Returns `None`
    /// when there is no store yet.
    pub fn open(path: &Path) -> Result<Option<StoreReader>, StoreError> {
        StoreReader::open_url(&StoreUrl::Redb(path.to_owned()))
    }

    /// Opens the store `url` names for reading. Returns `None` when there is no store yet.
    pub fn open_url(url: &StoreUrl) -> Result<Option<StoreReader>, StoreError> {
        let path = match url {
            StoreUrl::Redb(path) => path,
            StoreUrl::Postgres(url) => return postgres::reader(url),
        };
        Ok(RedbSnapshots::open(path)?
            .map(|backend| StoreReader { location: path.to_owned(), backend: Arc::new(backend) }))
    }

    /// Where the store is: its file, or its server (without a password) for PostgreSQL.
    pub fn path(&self) -> &Path {
        &self.location
    }

    /// The upgrades this store went through, oldest first.
    pub fn migrations(&self) -> Result<Vec<StoreMigration>, StoreError> {
        self.backend.migrations()
    }

    /// The last event's sequence number and hash.
    pub fn head(&self) -> Result<Head, StoreError> {
        self.backend.head()
    }

    /// Every task, oldest first.
    pub fn tasks(&self) -> Result<Vec<Task>, StoreError> {
        self.backend.tasks()
    }

    /// The tasks not in a final state, oldest first, read through an index: the cost follows
    /// the work in hand, not the history.
    pub fn unfinished_tasks(&self) -> Result<Vec<Task>, StoreError> {
        self.backend.unfinished_tasks()
    }

    /// Every task's id, oldest first, without reading the projections.
    pub fn task_ids(&self) -> Result<Vec<TaskId>, StoreError> {
        self.backend.task_ids()
    }

    /// The worktrees each task has (tasks without any left out), oldest first.
    pub fn task_worktrees(&self) -> Result<Vec<TaskWorktrees>, StoreError> {
        self.backend.task_worktrees()
    }

    /// The tasks under way and the newest `finished` finished ones, oldest first.
    pub fn current_tasks(&self, finished: usize) -> Result<Vec<Task>, StoreError> {
        self.backend.current_tasks(finished)
    }

    /// One page of tasks, newest first (see [`TaskQuery`]).
    pub fn task_page(&self, query: &TaskQuery) -> Result<TaskPage, StoreError> {
        self.backend.task_page(query)
    }

    /// The tasks whose titles resemble `title` (sharing half its significant words or more),
    /// newest first, read through the title-word index: the similar-task signals of admission.
    pub fn similar_tasks(&self, title: &str) -> Result<Vec<TaskBrief>, StoreError> {
        self.backend.similar_tasks(title)
    }

    /// The setup commands of the repository `repo` a human allowed the network to (at a
    /// `network` gate of any of its tasks), if any.
    pub fn setup_network(&self, repo: &str) -> Result<Option<Vec<String>>, StoreError> {
        self.backend.setup_network(repo)
    }

    /// Every entry of the repository memory (every repository, every status), oldest first.
    pub fn memory(&self) -> Result<Vec<MemoryEntry>, StoreError> {
        self.backend.memory()
    }

    /// Every exhibit of the bug museum (every repository, every status), oldest first.
    pub fn museum(&self) -> Result<Vec<Exhibit>, StoreError> {
        self.backend.museum()
    }

    /// Every playbook and policy version in the registry, oldest first.
    pub fn playbooks(&self) -> Result<Vec<PlaybookVersion>, StoreError> {
        self.backend.playbooks()
    }

    /// Every class's autonomy that ever changed (the others are supervised).
    pub fn autonomy(&self) -> Result<Vec<AutonomyState>, StoreError> {
        self.backend.autonomy()
    }

    /// The memory's version: the seq of its last change (0: never changed).
    pub fn memory_version(&self) -> Result<u64, StoreError> {
        self.backend.memory_version()
    }

    /// One task by id.
    pub fn task(&self, id: TaskId) -> Result<Option<Task>, StoreError> {
        self.backend.task(id)
    }

    /// The task whose id is, or ends with, `reference` (any case).
    pub fn find_task(&self, reference: &str) -> Result<Task, LookupError> {
        let reference = reference.trim();
        let ids = match reference.parse::<TaskId>() {
            Ok(id) => vec![id],
            Err(_) => self.backend.task_ids_matching(reference)?,
        };
        match ids.as_slice() {
            [id] => self.backend.task(*id)?.ok_or_else(|| LookupError::NotFound(reference.to_owned())),
            [] => Err(LookupError::NotFound(reference.to_owned())),
            many => Err(LookupError::Ambiguous {
                fragment: reference.to_owned(),
                matches: many.iter().map(|id| id.to_string()).collect(),
            }),
        }
    }

    /// The events of one task, in log order.
    pub fn task_events(&self, id: TaskId) -> Result<Vec<Event>, StoreError> {
        self.backend.task_events(id)
    }

    /// Up to `limit` events after sequence number `after`.
    pub fn events_after(&self, after: u64, limit: usize) -> Result<Vec<Event>, StoreError> {
        self.backend.events_after(after, limit)
    }

    /// Walks the whole hash chain.
    pub fn verify(&self) -> Result<Verification, StoreError> {
        self.backend.verify()
    }
}

#[cfg(test)]
#[path = "store_tests.rs"]
mod tests;
