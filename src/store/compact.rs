//! `ambidex store compact`: gives back the space a store's file no longer uses.
//!
//! The log only grows, but every event rewrites its task's projection, and redb keeps the freed
//! pages for reuse rather than returning them: after a long history the file holds much free
//! space. Compaction moves the live pages to the front and truncates the file. It needs the
//! store to itself (no engine, control room or `serve` running) and verifies the hash chain
//! afterwards, so a compaction that damaged anything is reported, never hidden.

use std::path::Path;

use redb::{ReadableTable, ReadableTableMetadata};
use serde::Serialize;

use super::tables::EVENTS;
use super::{StoreError, Verification, builder, guard, guarded_open, read, record, verify};

/// What a compaction did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Compacted {
    /// The file's size before, in bytes.
    pub before: u64,
    /// Its size after.
    pub after: u64,
    /// The events in the log.
    pub events: u64,
    /// The bytes of the events as JSON (what `audit log --json` prints), for comparison.
    pub events_json: u64,
    /// The hash chain after compaction.
    pub verification: Verification,
}

/// Compacts the store at `path`, which nothing else may have open.
pub fn compact(path: &Path) -> Result<Compacted, StoreError> {
    let size = |path: &Path| std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let before = size(path);
    let mut db = guarded_open(path, || builder().open(path))?;
    guard::guarded(path, || {
        // Repeated until redb says nothing more can move.
        while db.compact().map_err(|err| StoreError::from_redb(path, "compact", None, redb::Error::from(err)))? {}
        Ok(())
    })?;
    drop(db);
    let reader = super::redb_reader::RedbSnapshots::open(path)?.ok_or_else(|| StoreError::Io {
        path: path.to_owned(),
        action: "reopen after compacting",
        durable_seq: None,
        source: std::io::Error::from(std::io::ErrorKind::NotFound),
    })?;
    let verification = reader.read(verify::verify)?;
    let (events, events_json) = reader.read(|txn| {
        let table = txn.open_table(EVENTS).map_err(|err| read::ReadError::Db(err.into()))?;
        let mut json = 0u64;
        for entry in table.iter().map_err(|err| read::ReadError::Db(err.into()))? {
            let (key, value) = entry.map_err(|err| read::ReadError::Db(err.into()))?;
            let event =
                record::decode(value.value()).map_err(|error| read::ReadError::Record { seq: key.value(), error })?;
            json += serde_json::to_vec(&event).map(|bytes| bytes.len() as u64).unwrap_or(0);
        }
        Ok((table.len().map_err(|err| read::ReadError::Db(err.into()))?, json))
    })?;
    Ok(Compacted { before, after: size(path), events, events_json, verification })
}
