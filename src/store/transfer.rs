//! Moving a store from one backend to another (`ambidex store migrate --from URL --to URL`):
//! from the embedded file to PostgreSQL when a team outgrows one machine, or back. The source's
//! chain is verified first, every event keeps its seq, time, actor and hashes, and the target's
//! chain is verified again and must end at the source's head.

use serde::Serialize;

use super::url::StoreUrl;
use super::verify::Verification;
use super::{StoreError, StoreReader, postgres, salvage};
use crate::protocol::Event;

/// Events read from the source per round trip.
const CHUNK: usize = 10_000;

/// What a move did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Moved {
    /// Events copied.
    pub events: u64,
    /// Task projections folded in the target.
    pub tasks: u64,
    /// The target's chain, walked after the move.
    pub verification: Verification,
}

/// Why a move did not happen (the target is left as it was, or holds nothing).
#[derive(Debug, thiserror::Error)]
pub enum TransferError {
    /// There is no store at the source.
    #[error("there is no store at {0}: nothing to move")]
    NoSource(String),
    /// The source's chain does not verify: moving it would hide the damage.
    #[error(
        "the source's chain breaks at event #{seq} ({reason}); nothing was moved: salvage the verified \
         prefix first (`ambidex store salvage OUT.jsonl`)"
    )]
    SourceBroken {
        /// The first event that fails.
        seq: u64,
        /// Why.
        reason: String,
    },
    /// The target is the source.
    #[error("the source and the target are the same store")]
    Same,
    /// The target already holds events: a move never merges two logs.
    #[error("the target already holds {0} events: migrate into an empty database (nothing was changed)")]
    TargetNotEmpty(u64),
    /// The moved chain does not end where the source's does.
    #[error("the target's chain does not match the source's after the move: {0:?}")]
    Mismatch(Verification),
    /// Reading or writing a store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Writing the redb target failed.
    #[error(transparent)]
    Rebuild(#[from] salvage::SalvageError),
}

/// Moves the store at `from` into the empty (or absent) store at `to`.
pub fn transfer(from: &StoreUrl, to: &StoreUrl) -> Result<Moved, TransferError> {
    if from == to {
        return Err(TransferError::Same);
    }
    let source = StoreReader::open_url(from)?.ok_or_else(|| TransferError::NoSource(from.to_string()))?;
    let head = match source.verify()? {
        Verification::Ok { events, head } => (events, head),
        Verification::Broken { seq, reason, .. } => return Err(TransferError::SourceBroken { seq, reason }),
    };
    let events = all_events(&source)?;
    let (tasks, verification) = match to {
        StoreUrl::Redb(path) => {
            let mut lines = Vec::new();
            for event in &events {
                serde_json::to_writer(&mut lines, event)
                    .map_err(|err| StoreError::Internal { path: path.clone(), detail: err.to_string() })?;
                lines.push(b'\n');
            }
            let rebuilt = salvage::rebuild(path, &mut std::io::Cursor::new(lines))?;
            (rebuilt.tasks, rebuilt.verification)
        }
        StoreUrl::Postgres(url) => {
            if let Some(target) = StoreReader::open_url(to)?
                && let held = target.head()?.seq
                && held > 0
            {
                return Err(TransferError::TargetNotEmpty(held));
            }
            let tasks = postgres::import(url, &events)?;
            let reader = StoreReader::open_url(to)?.ok_or_else(|| TransferError::NoSource(to.to_string()))?;
            (tasks, reader.verify()?)
        }
    };
    if verification != (Verification::Ok { events: head.0, head: head.1 }) {
        return Err(TransferError::Mismatch(verification));
    }
    Ok(Moved { events: events.len() as u64, tasks, verification })
}

/// The whole log, in order.
fn all_events(reader: &StoreReader) -> Result<Vec<Event>, StoreError> {
    let mut events: Vec<Event> = Vec::new();
    loop {
        let after = events.last().map_or(0, |event| event.seq);
        let chunk = reader.events_after(after, CHUNK)?;
        let done = chunk.len() < CHUNK;
        events.extend(chunk);
        if done {
            return Ok(events);
        }
    }
}
