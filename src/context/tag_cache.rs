//! The tag cache of the context service: source-file tags kept between runs in their own redb
//! file, `<state_dir>/cache/tags.redb`.
//!
//! A cache is not an audit record, so it stays out of the event store and never contends with
//! the engine's writer. It lives here rather than in `store` because everything about it (what
//! is cached, the fingerprint that invalidates it, when a miss is fine) is the context service's
//! business; `docs/architecture.md` lists `redb` for `context` for this file alone. Several processes may use it at once (redb's `MultiWriter` mode); a
//! write that would wait for another process is retried briefly, then skipped: the cache is an
//! optimisation, never a reason to fail. Within one process every opener of a file shares one
//! handle.
//!
//! Keys are `(fingerprint, absolute path)`; the fingerprint identifies the grammars, queries and
//! value format that made the value, so upgrading any of them misses old entries, which the next
//! write removes. Values are opaque here (the context service encodes them, with a format byte
//! and the file identity they were computed from).

use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use redb::{
    Builder, ConcurrencyMode, Database, Durability, ReadableDatabase, ReadableTable, TableDefinition, TransactionError,
};

/// Why the tag cache could not be opened, read or written. The cache is only an optimisation:
/// the context service reports this as a note and works without it.
#[derive(Debug, thiserror::Error)]
pub enum TagCacheError {
    /// The file could not be created, read or written.
    #[error("cannot {action} the tag cache {}: {detail}", path.display())]
    Failed {
        /// The cache file.
        path: PathBuf,
        /// What was being done.
        action: &'static str,
        /// What the OS or redb said.
        detail: String,
    },
    /// The file is damaged or not a tag cache.
    #[error("the tag cache {} is damaged ({detail}); delete it and the next run rebuilds it", path.display())]
    Corrupt {
        /// The cache file.
        path: PathBuf,
        /// What redb said.
        detail: String,
    },
}

impl TagCacheError {
    fn from_redb(path: &Path, action: &'static str, err: redb::Error) -> Self {
        let path = path.to_owned();
        match err {
            redb::Error::Corrupted(detail) => TagCacheError::Corrupt { path, detail },
            redb::Error::UpgradeRequired(version) => {
                TagCacheError::Corrupt { path, detail: format!("redb file format {version} is too old") }
            }
            other => TagCacheError::Failed { path, action, detail: other.to_string() },
        }
    }
}

/// Opens the redb file, turning a panic inside redb (which a damaged file can cause) into an
/// error.
fn guarded_open(
    path: &Path,
    open: impl FnOnce() -> Result<Database, redb::DatabaseError>,
) -> Result<Database, TagCacheError> {
    match catch_unwind(AssertUnwindSafe(open)) {
        Ok(Ok(db)) => Ok(db),
        Ok(Err(err)) => Err(TagCacheError::from_redb(path, "open", err.into())),
        Err(panic) => {
            let detail = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_else(|| "unreadable file".to_owned());
            Err(TagCacheError::Corrupt { path: path.to_owned(), detail })
        }
    }
}

/// The cache file, relative to the state directory.
pub const TAG_CACHE_FILE: &str = "cache/tags.redb";

/// (fingerprint, absolute path) → encoded tags.
const TAGS: TableDefinition<(u64, &str), &[u8]> = TableDefinition::new("tags");

/// Small named values: the fingerprint of the last writer.
const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");

const META_FINGERPRINT: &str = "fingerprint";

const CACHE_BYTES: usize = 64 * 1024 * 1024;

/// How long a write waits for another process's write before giving up.
const WRITE_PATIENCE: Duration = Duration::from_millis(1500);

/// An open tag cache.
pub struct TagCache {
    path: PathBuf,
    db: Arc<Database>,
    fingerprint: u64,
}

/// Whether a save reached the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Saved {
    /// Committed.
    Written,
    /// Another process kept the cache busy; nothing was written.
    Busy,
}

fn open_databases() -> &'static Mutex<HashMap<PathBuf, Weak<Database>>> {
    static OPEN: std::sync::OnceLock<Mutex<HashMap<PathBuf, Weak<Database>>>> = std::sync::OnceLock::new();
    OPEN.get_or_init(|| Mutex::new(HashMap::new()))
}

impl TagCache {
    /// The cache file of a state directory.
    pub fn path_in(state_dir: &Path) -> PathBuf {
        state_dir.join(TAG_CACHE_FILE)
    }

    /// Opens (creating if needed) the cache at `path`, for values made under `fingerprint`.
    pub fn open(path: &Path, fingerprint: u64) -> Result<TagCache, TagCacheError> {
        let mut open = open_databases().lock().unwrap_or_else(PoisonError::into_inner);
        open.retain(|_, db| db.strong_count() > 0);
        if let Some(db) = open.get(path).and_then(Weak::upgrade) {
            return Ok(TagCache { path: path.to_owned(), db, fingerprint });
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|err| TagCacheError::Failed {
                path: path.to_owned(),
                action: "create the directory of",
                detail: err.to_string(),
            })?;
        }
        let db = guarded_open(path, || {
            Builder::new().set_concurrency_mode(ConcurrencyMode::MultiWriter).set_cache_size(CACHE_BYTES).create(path)
        })?;
        let db = Arc::new(db);
        open.insert(path.to_owned(), Arc::downgrade(&db));
        Ok(TagCache { path: path.to_owned(), db, fingerprint })
    }

    /// The cache file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn fail(&self, action: &'static str) -> impl Fn(redb::Error) -> TagCacheError + '_ {
        move |err| TagCacheError::from_redb(&self.path, action, err)
    }

    /// Every value under this fingerprint whose path starts with `prefix`.
    pub fn load(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, TagCacheError> {
        let fail = self.fail("read");
        let txn = self.db.begin_read().map_err(|e| fail(e.into()))?;
        let table = match txn.open_table(TAGS) {
            Ok(table) => table,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
            Err(err) => return Err(fail(err.into())),
        };
        let mut found = Vec::new();
        let range = table.range((self.fingerprint, prefix)..).map_err(|e| fail(e.into()))?;
        for entry in range {
            let (key, value) = entry.map_err(|e| fail(e.into()))?;
            let (fingerprint, path) = key.value();
            if fingerprint != self.fingerprint || !path.starts_with(prefix) {
                break;
            }
            found.push((path.to_owned(), value.value().to_vec()));
        }
        Ok(found)
    }

    /// Stores `put` and removes `remove` (absolute paths) in one commit. Entries of other
    /// fingerprints are dropped the first time a new fingerprint writes.
    pub fn save(&self, put: &[(String, Vec<u8>)], remove: &[String]) -> Result<Saved, TagCacheError> {
        if put.is_empty() && remove.is_empty() {
            return Ok(Saved::Written);
        }
        let fail = self.fail("write to");
        let deadline = std::time::Instant::now() + WRITE_PATIENCE;
        let mut txn = loop {
            match self.db.try_begin_write() {
                Ok(txn) => break txn,
                Err(TransactionError::WouldBlock) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(TransactionError::WouldBlock) => return Ok(Saved::Busy),
                Err(err) => return Err(fail(err.into())),
            }
        };
        txn.set_durability(Durability::Immediate).map_err(|e| fail(redb::Error::from(e)))?;
        {
            let mut meta = txn.open_table(META).map_err(|e| fail(e.into()))?;
            let current = self.fingerprint.to_be_bytes();
            let previous = meta.get(META_FINGERPRINT).map_err(|e| fail(e.into()))?.map(|v| v.value().to_vec());
            let mut tags = txn.open_table(TAGS).map_err(|e| fail(e.into()))?;
            if previous.as_deref() != Some(current.as_slice()) {
                let fingerprint = self.fingerprint;
                tags.retain(|(fp, _), _| fp == fingerprint).map_err(|e| fail(e.into()))?;
                meta.insert(META_FINGERPRINT, current.as_slice()).map_err(|e| fail(e.into()))?;
            }
            for path in remove {
                tags.remove((self.fingerprint, path.as_str())).map_err(|e| fail(e.into()))?;
            }
            for (path, value) in put {
                tags.insert((self.fingerprint, path.as_str()), value.as_slice()).map_err(|e| fail(e.into()))?;
            }
        }
        txn.commit().map_err(|e| fail(e.into()))?;
        Ok(Saved::Written)
    }
}
