//! What can go wrong with the store, said so a user knows what to do.

use std::path::PathBuf;

use crate::domain::ApplyError;

/// An error from the store. Every variant names the file and says what to do next.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another process holds the store for writing.
    #[error(
        "the store {} is in use by another Ambidex process (the control room or `ambidex serve`); \
         read-only commands (`task list`, `task show`, `audit verify`) still work, and changes \
         go through that process",
        path.display()
    )]
    InUse {
        /// The store file.
        path: PathBuf,
    },
    /// The file is not a store, or is damaged.
    #[error(
        "the store {} is damaged or is not an Ambidex store ({detail}); move it aside \
         (`mv {} {}.damaged`) to start afresh, or restore it from a backup; if it is a damaged \
         store, `ambidex store salvage OUT.jsonl` exports every event up to the damage",
        path.display(),
        path.display(),
        path.display()
    )]
    Corrupt {
        /// The store file.
        path: PathBuf,
        /// What redb or the decoder said.
        detail: String,
    },
    /// The file is an Ambidex store whose pages or records are damaged (redb said so, a read hit
    /// a damaged page, or an event does not decode).
    #[error(
        "the store {} is damaged ({detail}); `ambidex store salvage OUT.jsonl` exports every event up \
         to the damage, and `ambidex --state-dir NEW_DIR store rebuild OUT.jsonl` makes a new store from it",
        path.display()
    )]
    Damaged {
        /// The store file.
        path: PathBuf,
        /// What redb, the decoder or the chain check said.
        detail: String,
    },
    /// A newer Ambidex wrote this store.
    #[error(
        "the store {} has schema version {found}, but this ambidex understands versions up to \
         {supported}; upgrade ambidex (nothing was changed in the file)",
        path.display()
    )]
    NewerSchema {
        /// The store file.
        path: PathBuf,
        /// The version in the file.
        found: u64,
        /// The newest version this build reads.
        supported: u64,
    },
    /// An older build wrote this store, and the upgrade needs the store to itself.
    #[error(
        "the store {} has schema version {found} and must be upgraded to {supported} before it \
         can be read, but another Ambidex process (an older one) holds it; stop that process, \
         then run any ambidex command (nothing was changed in the file)",
        path.display()
    )]
    UpgradeBlocked {
        /// The store file.
        path: PathBuf,
        /// The version in the file.
        found: u64,
        /// The version this build upgrades it to.
        supported: u64,
    },
    /// The operating system refused a read or a write (a full disk, permissions, …).
    #[error(
        "could not {action} the store {}: {source}{}{}",
        path.display(),
        durable_hint(*durable_seq),
        space_hint(source)
    )]
    Io {
        /// The store file.
        path: PathBuf,
        /// What was being done: "open", "commit to", …
        action: &'static str,
        /// The last sequence number known to be on disk.
        durable_seq: Option<u64>,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The file was not closed cleanly and only a writing process may repair it.
    #[error(
        "the store {} was not closed cleanly and needs a repair that only a writing process can \
         do; run a command that writes (e.g. `ambidex task add`) or start the control room",
        path.display()
    )]
    NeedsRepair {
        /// The store file.
        path: PathBuf,
    },
    /// redb failed in a way that is neither I/O nor damage.
    #[error("the store {} failed: {detail}", path.display())]
    Internal {
        /// The store file.
        path: PathBuf,
        /// What redb said.
        detail: String,
    },
    /// The PostgreSQL server could not be reached, or refused or failed a statement.
    #[error(
        "could not {action} the store {}: {detail}; check `store.url` and that the server runs \
         and lets this user in (nothing of this request was written)",
        path.display()
    )]
    Server {
        /// The server and database, without a password.
        path: PathBuf,
        /// What was being done: "connect to", "commit to", …
        action: &'static str,
        /// What the server or the driver said.
        detail: String,
    },
    /// The object store for artifacts that goes with the store (`store.artifacts`) cannot be used.
    #[error("{0}")]
    Artifacts(String),
    /// An event does not fit the state it would change; nothing of its batch was written.
    #[error("refused event: {0}")]
    Rejected(#[from] ApplyError),
    /// The writer thread has stopped (after a failed commit, or at shutdown).
    #[error("the store writer has stopped{}; restart ambidex", reason.as_deref().map(|r| format!(" ({r})")).unwrap_or_default())]
    WriterStopped {
        /// Why, when known.
        reason: Option<String>,
    },
}

fn durable_hint(seq: Option<u64>) -> String {
    match seq {
        None => String::new(),
        Some(0) => "; nothing had been committed yet".to_owned(),
        Some(seq) => format!("; nothing committed before was lost (events up to #{seq} are safe)"),
    }
}

fn space_hint(err: &std::io::Error) -> &'static str {
    match err.raw_os_error() {
        Some(libc::ENOSPC | libc::EFBIG | libc::EDQUOT) => "; free some disk space (or raise the quota), then retry",
        _ => "",
    }
}

impl StoreError {
    /// Classifies a redb error for the store at `path`.
    pub(crate) fn from_redb(
        path: &std::path::Path,
        action: &'static str,
        durable_seq: Option<u64>,
        err: impl Into<redb::Error>,
    ) -> Self {
        let path = path.to_owned();
        match err.into() {
            redb::Error::DatabaseAlreadyOpen => StoreError::InUse { path },
            redb::Error::Corrupted(detail) => StoreError::Damaged { path, detail },
            redb::Error::UpgradeRequired(version) => {
                StoreError::Corrupt { path, detail: format!("redb file format {version} is too old") }
            }
            redb::Error::RepairAborted => StoreError::NeedsRepair { path },
            redb::Error::Io(source)
                if matches!(source.kind(), std::io::ErrorKind::InvalidData | std::io::ErrorKind::UnexpectedEof) =>
            {
                StoreError::Corrupt { path, detail: source.to_string() }
            }
            redb::Error::Io(source) => StoreError::Io { path, action, durable_seq, source },
            redb::Error::PreviousIo => StoreError::WriterStopped {
                reason: Some("an earlier write failed; the file was left as it was".into()),
            },
            other => StoreError::Internal { path, detail: other.to_string() },
        }
    }

    /// An equal error, for answering every request of a failed batch.
    pub(crate) fn duplicate(&self) -> StoreError {
        match self {
            StoreError::InUse { path } => StoreError::InUse { path: path.clone() },
            StoreError::Corrupt { path, detail } => StoreError::Corrupt { path: path.clone(), detail: detail.clone() },
            StoreError::Damaged { path, detail } => StoreError::Damaged { path: path.clone(), detail: detail.clone() },
            StoreError::NewerSchema { path, found, supported } => {
                StoreError::NewerSchema { path: path.clone(), found: *found, supported: *supported }
            }
            StoreError::UpgradeBlocked { path, found, supported } => {
                StoreError::UpgradeBlocked { path: path.clone(), found: *found, supported: *supported }
            }
            StoreError::Io { path, action, durable_seq, source } => StoreError::Io {
                path: path.clone(),
                action,
                durable_seq: *durable_seq,
                source: std::io::Error::new(source.kind(), source.to_string()),
            },
            StoreError::NeedsRepair { path } => StoreError::NeedsRepair { path: path.clone() },
            StoreError::Internal { path, detail } => {
                StoreError::Internal { path: path.clone(), detail: detail.clone() }
            }
            StoreError::Server { path, action, detail } => {
                StoreError::Server { path: path.clone(), action, detail: detail.clone() }
            }
            StoreError::Artifacts(detail) => StoreError::Artifacts(detail.clone()),
            StoreError::Rejected(err) => StoreError::Rejected(err.clone()),
            StoreError::WriterStopped { reason } => StoreError::WriterStopped { reason: reason.clone() },
        }
    }
}
