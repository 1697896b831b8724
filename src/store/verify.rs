//! Walks the hash chain and reports the first event that does not belong.

use redb::{ReadTransaction, ReadableTable, TableError};
use serde::Serialize;

use super::read::ReadError;
use super::record::{self, chain_hash};
use super::tables::EVENTS;
use super::writer::Head;
use crate::protocol::Digest;

/// The outcome of walking the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Verification {
    /// Every event is where it should be and chains to the one before.
    Ok {
        /// How many events were checked.
        events: u64,
        /// The hash of the last one.
        head: Digest,
    },
    /// The chain breaks at `seq`.
    Broken {
        /// The first sequence number that fails.
        seq: u64,
        /// What is wrong with it.
        reason: String,
        /// How many events before it verified.
        verified: u64,
    },
}

/// Checks one stored record at `seq` against the hash of the event before it: its layout, the
/// link, the hash of its stored bytes and the seq its body names. Returns the parsed record, or
/// what is wrong with it.
pub(crate) fn check<'a>(seq: u64, prev: &Digest, bytes: &'a [u8]) -> Result<record::RawRecord<'a>, String> {
    let raw = record::split(bytes).map_err(|err| err.to_string())?;
    if raw.prev_hash != *prev {
        return Err("does not link to the hash of the event before it".into());
    }
    if chain_hash(&raw.prev_hash, raw.body) != raw.hash {
        return Err("its content does not match its hash (altered)".into());
    }
    match record::body_seq(raw.body) {
        Ok(body_seq) if body_seq == seq => Ok(raw),
        Ok(body_seq) => Err(format!("stored under #{seq} but says it is #{body_seq}")),
        Err(err) => Err(err.to_string()),
    }
}

/// Checks every record: gap-free numbering, the body's own seq, the link to the previous hash,
/// the hash of the stored bytes, and finally the head recorded in `meta`.
pub(crate) fn verify(txn: &ReadTransaction) -> Result<Verification, ReadError> {
    let events = match txn.open_table(EVENTS) {
        Ok(table) => Some(table),
        Err(TableError::TableDoesNotExist(_)) => None,
        Err(err) => return Err(err.into()),
    };
    let mut walk = ChainWalk::default();
    if let Some(events) = &events {
        for entry in events.iter()? {
            let (key, value) = entry?;
            if let Some(broken) = walk.step(key.value(), value.value()) {
                return Ok(broken);
            }
        }
    }
    Ok(walk.finish(super::read::head(txn)?))
}

/// The walk along the chain, whatever backend the records come from: fed every stored record in
/// seq order, then the head the store recorded.
#[derive(Debug, Clone)]
pub(crate) struct ChainWalk {
    expected: u64,
    prev: Digest,
}

impl Default for ChainWalk {
    fn default() -> Self {
        ChainWalk { expected: 1, prev: Digest::GENESIS }
    }
}

impl ChainWalk {
    /// Checks the record stored under `seq`; the break when it does not belong.
    pub(crate) fn step(&mut self, seq: u64, bytes: &[u8]) -> Option<Verification> {
        let broken = |seq: u64, reason: String| Verification::Broken { seq, reason, verified: seq - 1 };
        if seq != self.expected {
            return Some(broken(self.expected, format!("missing: the next stored event is #{seq}")));
        }
        match check(seq, &self.prev, bytes) {
            Ok(raw) => {
                self.prev = raw.hash;
                self.expected += 1;
                None
            }
            Err(reason) => Some(broken(seq, reason)),
        }
    }

    /// The outcome once every record was stepped over: the recorded `head` must be the last.
    pub(crate) fn finish(self, head: Head) -> Verification {
        let (count, prev) = (self.expected - 1, self.prev);
        if head == (Head { seq: count, hash: prev }) {
            return Verification::Ok { events: count, head: prev };
        }
        let seq = match head.seq.cmp(&count) {
            std::cmp::Ordering::Greater => count + 1,
            std::cmp::Ordering::Less => head.seq + 1,
            std::cmp::Ordering::Equal => count,
        };
        Verification::Broken {
            seq,
            reason: format!(
                "the recorded head (#{} {}) does not match the last event (#{count} {prev}): \
                 events were removed or added outside Ambidex",
                head.seq, head.hash
            ),
            verified: count,
        }
    }
}
