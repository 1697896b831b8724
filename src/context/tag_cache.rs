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
//! Keys are `(fingerprint, content key)`: the content key names the file's content (the context
//! service uses its git blob id and language), not its path, so every worktree of a repository,
//! the user's checkout and any other copy share one entry per content, and a second worktree of
//! the same commit tags nothing. The fingerprint identifies the grammars, queries and value
//! format that made the value, so upgrading any of them misses old entries, which the next write
//! removes (with the table of path-keyed entries older versions wrote). Values are opaque here.
//!
//! The size is bounded by what is walked: entries are never touched on a hit, so instead a save
//! whose walk saw `n` files prunes every entry that walk did not use when the table holds more
//! than `max(PRUNE_FACTOR × n, PRUNE_FLOOR)` entries (see [`should_prune`]). The floor keeps a
//! small repository from evicting a big one that shares the file; the factor leaves room for a
//! few commits' worth of changed files across worktrees.

use std::collections::{HashMap, HashSet};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use redb::{
    Builder, ConcurrencyMode, Database, Durability, ReadableDatabase, ReadableTable, ReadableTableMetadata,
    TableDefinition, TransactionError,
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

/// (fingerprint, content key) → encoded tags.
const TAGS: TableDefinition<(u64, &[u8]), &[u8]> = TableDefinition::new("tags_by_content");

/// The path-keyed table of earlier versions, deleted by the first write.
const OLD_TAGS: TableDefinition<(u64, &str), &[u8]> = TableDefinition::new("tags");

/// A save prunes when the table holds more than this many times the walk's files…
pub const PRUNE_FACTOR: u64 = 4;

/// …and more than this many entries (about 3.5 KiB each on average).
pub const PRUNE_FLOOR: u64 = 50_000;

/// Whether a save after a walk that used `walked` content keys should drop every other entry,
/// the table holding `entries`.
pub fn should_prune(entries: u64, walked: usize) -> bool {
    entries > (walked as u64).saturating_mul(PRUNE_FACTOR).max(PRUNE_FLOOR)
}

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

/// What [`TagCache::load`] found: the value of each key asked for (in order), and the number of
/// entries the table holds in all.
pub type Loaded = (Vec<Option<Vec<u8>>>, u64);

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

    /// The values stored for `keys` under this fingerprint (in the same order), and how many
    /// entries the table holds in all.
    pub fn load(&self, keys: &[Vec<u8>]) -> Result<Loaded, TagCacheError> {
        let fail = self.fail("read");
        let txn = self.db.begin_read().map_err(|e| fail(e.into()))?;
        let table = match txn.open_table(TAGS) {
            Ok(table) => table,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok((vec![None; keys.len()], 0)),
            Err(err) => return Err(fail(err.into())),
        };
        let mut found = Vec::with_capacity(keys.len());
        for key in keys {
            let value = table.get((self.fingerprint, key.as_slice())).map_err(|e| fail(e.into()))?;
            found.push(value.map(|v| v.value().to_vec()));
        }
        let entries = table.len().map_err(|e| fail(e.into()))?;
        Ok((found, entries))
    }

    /// Stores `put` in one commit and, when `keep` is given, removes every entry whose key is
    /// not in it (see [`should_prune`]). Entries of other fingerprints, and the path-keyed table
    /// of earlier versions, are dropped the first time a new fingerprint writes.
    pub fn save(&self, put: &[(Vec<u8>, Vec<u8>)], keep: Option<&HashSet<Vec<u8>>>) -> Result<Saved, TagCacheError> {
        if put.is_empty() && keep.is_none() {
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
            let fingerprint = self.fingerprint;
            if previous.as_deref() != Some(current.as_slice()) {
                tags.retain(|(fp, _), _| fp == fingerprint).map_err(|e| fail(e.into()))?;
                meta.insert(META_FINGERPRINT, current.as_slice()).map_err(|e| fail(e.into()))?;
            }
            if let Some(keep) = keep {
                tags.retain(|(fp, key), _| fp == fingerprint && keep.contains(key)).map_err(|e| fail(e.into()))?;
            }
            for (key, value) in put {
                tags.insert((self.fingerprint, key.as_slice()), value.as_slice()).map_err(|e| fail(e.into()))?;
            }
        }
        // Gone already (or never there) is fine; any other failure surfaces at commit.
        let _ = txn.delete_table(OLD_TAGS);
        txn.commit().map_err(|e| fail(e.into()))?;
        Ok(Saved::Written)
    }
}
