//! The PostgreSQL backend: one database many processes on many machines write and read at
//! once (workers, the control room, `ambidex serve`). The log, its hash chain and the
//! projections are the redb backend's, kept in tables ([`schema`]); appends are staged by the
//! same code ([`super::stage`]) and serialized across processes by the head row's lock
//! ([`writer`]).

mod connection;
mod feed;
mod import;
mod leases;
mod read;
mod schema;
mod writer;

use std::path::PathBuf;
use std::sync::Arc;

use super::error::StoreError;
use super::migrate::StoreMigration;
use super::writer::{AppendRequest, serve};
use super::{StoreOptions, StoreReader};
use crate::protocol::{EventKind, TaskId, TaskStatus};
use connection::{Connection, PgFailure};
use read::PgSnapshots;

pub(crate) use import::import;
pub use leases::Leases;
pub(crate) use schema::SCHEMA_VERSION;

/// What [`open`] hands the store.
pub(crate) struct Opened {
    pub location: PathBuf,
    pub leases: Leases,
    pub reader: StoreReader,
    pub requests: std::sync::mpsc::Sender<AppendRequest>,
    pub thread: std::thread::JoinHandle<()>,
    pub migration: Option<StoreMigration>,
}

/// Runs `work` on a thread of its own. The driver's blocking client runs (and, dropped, closes)
/// on a runtime of its own, which must not be entered from a thread that drives a tokio runtime:
/// the store is opened from the engine's async code too.
fn off_runtime<T: Send>(work: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|scope| scope.spawn(work).join()).unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

/// Connects to the database at `url`, creates or upgrades its schema, and starts a writer.
pub(crate) fn open(url: &str, options: StoreOptions) -> Result<Opened, StoreError> {
    off_runtime(|| open_here(url, options))
}

fn open_here(url: &str, options: StoreOptions) -> Result<Opened, StoreError> {
    let (config, location, mut client) = session(url)?;
    let migrations = match schema::prepare(&mut client) {
        Ok(schema::Prepared::Current { migrations }) => migrations,
        Ok(schema::Prepared::Newer { found }) => {
            return Err(StoreError::NewerSchema { path: location, found, supported: SCHEMA_VERSION });
        }
        Err(err) => return Err(PgFailure::Db(err).into_store_error(&location, "prepare")),
    };
    // A new database is created, not upgraded.
    let migration = match (migrations.first(), migrations.last()) {
        (Some(first), Some(last)) if first.from > 0 => Some(StoreMigration { from: first.from, ..last.clone() }),
        _ => None,
    };
    let connection = Arc::new(Connection::start(config.clone(), location.clone(), client)?);
    let leases = Leases { connection: connection.clone() };
    let reader = StoreReader { location: location.clone(), backend: Arc::new(PgSnapshots { connection }) };
    let StoreOptions { hook, redactor, foreign } = options;
    let own: feed::Own = Arc::default();
    let feed_stop = match foreign {
        Some(hook) => {
            let delivered = reader.head()?.seq;
            let (stop, stopped) = std::sync::mpsc::channel();
            let feed = feed::Feed { config: config.clone(), own: own.clone(), hook, delivered, stop: stopped };
            std::thread::Builder::new().name("ambidex-store-feed".into()).spawn(move || feed.run()).map_err(
                |source| StoreError::Io {
                    path: location.clone(),
                    action: "start the feed of",
                    durable_seq: None,
                    source,
                },
            )?;
            Some(stop)
        }
        None => None,
    };
    let own = feed_stop.as_ref().map(|_| own);
    let writer =
        writer::PgWriter { config, location: location.clone(), session: None, hook, redactor, own, _feed: feed_stop };
    let (requests, received) = std::sync::mpsc::channel();
    let thread = std::thread::Builder::new()
        .name("ambidex-store-writer".into())
        .spawn(move || serve(writer, received))
        .map_err(|source| StoreError::Io {
            path: location.clone(),
            action: "start the writer for",
            durable_seq: None,
            source,
        })?;
    Ok(Opened { location, leases, reader, requests, thread, migration })
}

/// A reader of the database at `url`; `None` when Ambidex never wrote there (no schema yet).
pub(crate) fn reader(url: &str) -> Result<Option<StoreReader>, StoreError> {
    off_runtime(|| reader_here(url))
}

fn reader_here(url: &str) -> Result<Option<StoreReader>, StoreError> {
    let (config, location, mut client) = session(url)?;
    let found = client
        .query_one("SELECT to_regclass('ambidex_migrations') IS NOT NULL", &[])
        .and_then(|row| {
            if !row.get::<_, bool>(0) {
                return Ok(0);
            }
            Ok(client.query_one("SELECT coalesce(max(version), 0) FROM ambidex_migrations", &[])?.get::<_, i64>(0)
                as u64)
        })
        .map_err(|err| PgFailure::Db(err).into_store_error(&location, "read"))?;
    match found {
        0 => Ok(None),
        found if found > SCHEMA_VERSION => {
            Err(StoreError::NewerSchema { path: location, found, supported: SCHEMA_VERSION })
        }
        // An older build wrote it: it is upgraded first, as a writer would.
        found if found < SCHEMA_VERSION => {
            drop(client);
            let opened = open_here(url, StoreOptions::default())?;
            Ok(Some(opened.reader))
        }
        _ => {
            let connection = Connection::start(config, location.clone(), client)?;
            Ok(Some(StoreReader { location, backend: Arc::new(PgSnapshots { connection: Arc::new(connection) }) }))
        }
    }
}

/// A first session with the server, or why there is none.
fn session(url: &str) -> Result<(postgres::Config, PathBuf, postgres::Client), StoreError> {
    let config = connection::config(url).map_err(|detail| StoreError::Server {
        path: PathBuf::from("postgres://…"),
        action: "read the URL of",
        detail,
    })?;
    let location = connection::location(&config);
    let client =
        connection::connect(&config).map_err(|err| PgFailure::Db(err).into_store_error(&location, "connect to"))?;
    Ok((config, location, client))
}

/// A keyed projection as stored: its kind, key and JSON body.
type KeyedRecord = (RecordKind, Vec<u8>, Vec<u8>);

/// The kinds of keyed projections `ambidex_records` holds, one per event kind that sets them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RecordKind {
    Memory,
    Museum,
    Playbook,
    Autonomy,
    SetupNetwork,
}

impl RecordKind {
    fn as_str(self) -> &'static str {
        match self {
            RecordKind::Memory => "memory",
            RecordKind::Museum => "museum",
            RecordKind::Playbook => "playbook",
            RecordKind::Autonomy => "autonomy",
            RecordKind::SetupNetwork => "setup_network",
        }
    }

    /// The record an event sets, as (kind, key, JSON body): keys order like redb's.
    fn of(kind: &EventKind) -> Result<Option<KeyedRecord>, PgFailure> {
        Ok(Some(match kind {
            EventKind::MemoryChanged { entry, .. } => {
                (RecordKind::Memory, entry.id.as_u128().to_be_bytes().to_vec(), json(entry)?)
            }
            EventKind::ExhibitChanged { exhibit, .. } => {
                (RecordKind::Museum, exhibit.id.as_u128().to_be_bytes().to_vec(), json(exhibit)?)
            }
            EventKind::PlaybookChanged { version, .. } => {
                (RecordKind::Playbook, version.hash.as_bytes().to_vec(), json(version)?)
            }
            EventKind::AutonomyChanged { state, .. } => {
                (RecordKind::Autonomy, state.class.as_str().as_bytes().to_vec(), json(state)?)
            }
            EventKind::SetupNetworkAllowed { repo, commands } => {
                (RecordKind::SetupNetwork, repo.as_bytes().to_vec(), json(commands)?)
            }
            _ => return Ok(None),
        }))
    }
}

/// A projection's stored JSON.
fn json<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, PgFailure> {
    serde_json::to_vec(value).map_err(|err| PgFailure::Damaged(err.to_string()))
}

/// A task id as stored: 16 big-endian bytes, which order like the ids.
fn id_bytes(id: TaskId) -> Vec<u8> {
    id.as_u128().to_be_bytes().to_vec()
}

/// A stored task id.
fn task_id(bytes: &[u8]) -> Result<TaskId, PgFailure> {
    let bytes: [u8; 16] =
        bytes.try_into().map_err(|_| PgFailure::Damaged(format!("a task id of {} bytes", bytes.len())))?;
    Ok(TaskId::from_u128(u128::from_be_bytes(bytes)))
}

/// A status as its wire name (`running`, `pr_ready`, …), what the status column holds.
fn status_name(status: TaskStatus) -> String {
    serde_json::to_value(status).ok().and_then(|value| value.as_str().map(str::to_owned)).unwrap_or_default()
}
