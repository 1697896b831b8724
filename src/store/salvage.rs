//! Getting the event log out of a damaged store, and a new store out of such an export.
//!
//! The log is the record of truth; everything else in the store is folded from it. So when a
//! store file is damaged (a flipped bit on disk, a bad copy), what matters is to save every event
//! that can still be proven genuine: [`salvage`] walks the log from #1, exports each event whose
//! hash chain verifies (one JSON event per line, the JSON the API and `audit log --json` print)
//! and stops at the first event it cannot read or verify. [`rebuild`] turns such an export back
//! into a store: every event keeps its seq, time, actor and hashes, the chain is verified again
//! line by line, and the projections are folded from the log, so the new store verifies with the
//! same head hash.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use redb::TableError;

use super::guard::guarded;
use super::migrate::{self, MigrateError};
use super::read::{self, ReadError};
use super::record::{self, chain_hash};
use super::tables::{EVENTS, META, META_HEAD, TASK_EVENTS};
use super::verify::check;
use super::writer::Head;
use super::{
    RedbSnapshots, StoreError, StoreReader, Verification, builder, create_parent_dir, guarded_open, prepare_schema,
};
use crate::protocol::{Digest, EVENT_SCHEMA, Event};

/// What [`salvage`] exported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Salvage {
    /// How many events were written (#1 to #`saved`).
    pub saved: u64,
    /// The hash of the last event written (the genesis hash when none was).
    pub head: Digest,
    /// Where the export stopped before the end of the log, and why; `None` when it is complete.
    pub damage: Option<Damage>,
}

/// The first event a salvage could not read or verify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damage {
    /// Its sequence number.
    pub seq: u64,
    /// What is wrong with it.
    pub reason: String,
}

/// What [`rebuild`] made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rebuilt {
    /// How many events the new store holds.
    pub events: u64,
    /// How many task projections were folded from them.
    pub tasks: u64,
    /// The new store's own `audit verify`.
    pub verification: Verification,
}

/// Why a salvage or rebuild could not be done.
#[derive(Debug, thiserror::Error)]
pub enum SalvageError {
    /// The store could not be opened or written.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The export could not be written.
    #[error("could not write the export: {0}")]
    Output(std::io::Error),
    /// The export could not be read.
    #[error("could not read the export: {0}")]
    Input(std::io::Error),
    /// A line of the export is not the next event of a verified chain; nothing was written.
    #[error("line {line}: {reason}; nothing was written")]
    Line {
        /// The line number, from 1.
        line: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// The target store exists already.
    #[error(
        "{} exists already; rebuild into an empty or new state directory (`--state-dir NEW_DIR`)",
        .0.display()
    )]
    Exists(PathBuf),
}

fn detail(err: &StoreError) -> String {
    match err {
        StoreError::Damaged { detail, .. } | StoreError::Corrupt { detail, .. } => detail.clone(),
        other => other.to_string(),
    }
}

/// The walk's progress, kept outside the guarded call so a panic part way keeps what was saved.
struct Walk {
    saved: u64,
    prev: Digest,
    damage: Option<Damage>,
    write_error: Option<std::io::Error>,
}

impl Walk {
    fn stop(&mut self, seq: u64, reason: String) {
        self.damage = Some(Damage { seq, reason });
    }

    fn run(&mut self, reader: &RedbSnapshots, out: &mut dyn Write) -> Result<(), StoreError> {
        let txn = reader.snapshot()?;
        let db = |err: redb::Error| reader.fail(ReadError::Db(err));
        let table = match txn.open_table(EVENTS) {
            Ok(table) => table,
            Err(TableError::TableDoesNotExist(_)) => return Ok(()),
            Err(err) => return Err(db(err.into())),
        };
        for entry in redb::ReadableTable::iter(&table).map_err(|e| db(e.into()))? {
            let (key, value) = entry.map_err(|e| db(e.into()))?;
            let (seq, expected) = (key.value(), self.saved + 1);
            if seq != expected {
                self.stop(expected, format!("missing: the next stored event is #{seq}"));
                return Ok(());
            }
            let hash = match check(seq, &self.prev, value.value()) {
                Ok(raw) => raw.hash,
                Err(reason) => {
                    self.stop(seq, reason);
                    return Ok(());
                }
            };
            let line = record::decode(value.value())
                .map_err(|err| err.to_string())
                .and_then(|event| serde_json::to_string(&event).map_err(|err| err.to_string()));
            let line = match line {
                Ok(line) => line,
                Err(reason) => {
                    self.stop(seq, reason);
                    return Ok(());
                }
            };
            if let Err(err) = writeln!(out, "{line}") {
                self.write_error = Some(err);
                return Ok(());
            }
            self.prev = hash;
            self.saved = seq;
        }
        Ok(())
    }
}

/// Writes every event of the store at `path` from #1 whose hash chain verifies to `out`, one JSON
/// event per line, and stops at the first event that cannot be read or verified. Works on a
/// damaged file as far as redb can read it; an error only when it cannot even be opened.
pub fn salvage(path: &Path, out: &mut dyn Write) -> Result<Salvage, SalvageError> {
    if !path.exists() {
        let source = std::io::Error::from(std::io::ErrorKind::NotFound);
        return Err(StoreError::Io { path: path.to_owned(), action: "open", durable_seq: None, source }.into());
    }
    let reader = RedbSnapshots::damaged(path)?;
    let mut walk = Walk { saved: 0, prev: Digest::GENESIS, damage: None, write_error: None };
    let walked = guarded(path, || walk.run(&reader, out));
    if let Some(err) = walk.write_error.take() {
        return Err(SalvageError::Output(err));
    }
    out.flush().map_err(SalvageError::Output)?;
    if let Err(err) = walked {
        walk.damage.get_or_insert(Damage { seq: walk.saved + 1, reason: detail(&err) });
    }
    if walk.damage.is_none() {
        // The events end cleanly; the head recorded with the last commit says whether more existed.
        let last = Head { seq: walk.saved, hash: walk.prev };
        match reader.read(read::head) {
            Ok(head) if head == last => {}
            Ok(head) => walk.stop(
                walk.saved + 1,
                format!(
                    "the recorded head (#{} {}) does not match the last readable event (#{} {})",
                    head.seq, head.hash, last.seq, last.hash
                ),
            ),
            Err(err) => walk.stop(
                walk.saved + 1,
                format!("the recorded head cannot be read, so later events may be missing: {}", detail(&err)),
            ),
        }
    }
    Ok(Salvage { saved: walk.saved, head: walk.prev, damage: walk.damage })
}

/// One verified line of an export: the event's seq and task, its stored record, and its line.
struct Line {
    seq: u64,
    hash: Digest,
    task: Option<u128>,
    record: Vec<u8>,
    line: usize,
}

/// Reads an export and verifies its chain from #1, naming the first line that does not belong.
fn verified_lines(input: &mut dyn BufRead) -> Result<Vec<Line>, SalvageError> {
    let mut out: Vec<Line> = Vec::new();
    let mut prev = Digest::GENESIS;
    for (index, text) in input.lines().enumerate() {
        let text = text.map_err(SalvageError::Input)?;
        let line = index + 1;
        if text.trim().is_empty() {
            continue;
        }
        let refuse = |reason: String| SalvageError::Line { line, reason };
        let event: Event = serde_json::from_str(&text).map_err(|err| refuse(format!("not an event: {err}")))?;
        let expected = out.last().map_or(1, |l| l.seq + 1);
        if event.schema > EVENT_SCHEMA {
            return Err(refuse(format!("event #{} has schema {}, newer than this ambidex", event.seq, event.schema)));
        }
        if event.seq != expected {
            return Err(refuse(format!("event #{} where #{expected} was expected", event.seq)));
        }
        if event.prev_hash != prev {
            return Err(refuse(format!("event #{} does not link to the hash of the event before it", event.seq)));
        }
        let body = record::canonical_body(&event).map_err(|err| refuse(err.to_string()))?;
        if chain_hash(&prev, &body) != event.hash {
            return Err(refuse(format!("event #{}: its content does not match its hash (altered)", event.seq)));
        }
        prev = event.hash;
        out.push(Line {
            seq: event.seq,
            hash: event.hash,
            task: event.task.map(|t| t.as_u128()),
            record: record::stored(&event, &body),
            line,
        });
    }
    Ok(out)
}

/// Writes the events of `lines` and their projections into the new store file `path`.
fn write_store(path: &Path, lines: &[Line]) -> Result<u64, SalvageError> {
    let db = guarded_open(path, || builder().create(path))?;
    prepare_schema(path, &db)?;
    let fail = |err: redb::Error| SalvageError::Store(StoreError::from_redb(path, "write", None, err));
    let txn = db.begin_write().map_err(|e| fail(e.into()))?;
    {
        let mut events = txn.open_table(EVENTS).map_err(|e| fail(e.into()))?;
        let mut index = txn.open_table(TASK_EVENTS).map_err(|e| fail(e.into()))?;
        for line in lines {
            events.insert(line.seq, line.record.as_slice()).map_err(|e| fail(e.into()))?;
            if let Some(task) = line.task {
                index.insert((task, line.seq), ()).map_err(|e| fail(e.into()))?;
            }
        }
    }
    let head = lines.last().map_or(Head::EMPTY, |l| Head { seq: l.seq, hash: l.hash });
    let mut meta = txn.open_table(META).map_err(|e| fail(e.into()))?;
    meta.insert(META_HEAD, head.to_bytes().as_slice()).map_err(|e| fail(e.into()))?;
    drop(meta);
    let (tasks, _) = migrate::rebuild_projections(&txn).map_err(|err| match err {
        MigrateError::Db(err) => fail(err),
        MigrateError::Event { seq, detail } => SalvageError::Line {
            line: lines.iter().find(|l| l.seq == seq).map_or(0, |l| l.line),
            reason: format!("event #{seq} does not apply to its task: {detail}"),
        },
    })?;
    txn.commit().map_err(|e| fail(e.into()))?;
    Ok(tasks)
}

/// Writes a new store at `path` (which must not exist) from an export made by [`salvage`] (or
/// `audit log --json` of a whole log): verifies the chain of every line, keeps every event's
/// seq, time, actor and hashes, and folds the projections. Nothing is left at `path` on failure.
pub fn rebuild(path: &Path, input: &mut dyn BufRead) -> Result<Rebuilt, SalvageError> {
    if path.exists() {
        return Err(SalvageError::Exists(path.to_owned()));
    }
    let lines = verified_lines(input)?;
    create_parent_dir(path)?;
    let mut name = path.file_name().unwrap_or_default().to_owned();
    name.push(".rebuilding");
    let partial = path.with_file_name(name);
    // A leftover of an interrupted rebuild is ours to replace.
    let _ = std::fs::remove_file(&partial);
    let tasks = match write_store(&partial, &lines) {
        Ok(tasks) => tasks,
        Err(err) => {
            let _ = std::fs::remove_file(&partial);
            return Err(err);
        }
    };
    let io = |source| StoreError::Io { path: path.to_owned(), action: "move into place", durable_seq: None, source };
    std::fs::rename(&partial, path).map_err(io)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        // Best effort: makes the rename itself durable on filesystems that need it.
        let _ = std::fs::File::open(dir).and_then(|d| d.sync_all());
    }
    let verification = match StoreReader::open(path)? {
        Some(reader) => reader.verify()?,
        None => Verification::Ok { events: 0, head: Digest::GENESIS },
    };
    Ok(Rebuilt { events: lines.len() as u64, tasks, verification })
}
