//! The byte layout of one stored event and its link in the hash chain.
//!
//! A record is `version (1 byte) ‖ prev_hash (32) ‖ hash (32) ‖ body`, where the body is the
//! event's canonical JSON (seq, at, task, actor, kind) and `hash = sha256(prev_hash ‖ body)`.
//! Verification hashes the stored bytes themselves, so any changed byte is caught without
//! depending on how JSON would be re-serialized.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::protocol::{Actor, Digest, Event, EventKind, NewEvent, TaskId};
use crate::redact::Redactor;

const RECORD_VERSION: u8 = 1;
const HEADER_LEN: usize = 1 + 32 + 32;

#[derive(Serialize)]
struct BodyRef<'a> {
    seq: u64,
    at: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    task: Option<TaskId>,
    actor: &'a Actor,
    kind: &'a EventKind,
}

#[derive(Deserialize)]
struct Body {
    seq: u64,
    at: Timestamp,
    #[serde(default)]
    task: Option<TaskId>,
    actor: Actor,
    kind: EventKind,
}

/// Why a stored record cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    /// Shorter than its header, or an unknown layout version.
    #[error("record header is damaged ({0})")]
    Header(String),
    /// The body is not a valid event.
    #[error("event body does not decode: {0}")]
    Body(String),
}

/// Builds the stored record of `event` at `seq`, chained after `prev`, with every secret the
/// redactor knows removed from its text first. Returns the event as stored and broadcast.
pub fn encode(
    seq: u64,
    at: Timestamp,
    prev: Digest,
    event: NewEvent,
    redactor: Option<&Redactor>,
    out: &mut Vec<u8>,
) -> Result<Event, RecordError> {
    out.clear();
    out.push(RECORD_VERSION);
    out.extend_from_slice(&prev.0);
    out.extend_from_slice(&[0; 32]);
    let body = BodyRef { seq, at, task: event.task, actor: &event.actor, kind: &event.kind };
    serde_json::to_writer(&mut *out, &body).map_err(|err| RecordError::Body(err.to_string()))?;
    let mut stored = Event {
        seq,
        at,
        task: event.task,
        actor: event.actor,
        kind: event.kind,
        prev_hash: prev,
        hash: Digest::GENESIS,
    };
    if let Some(redactor) = redactor {
        // JSON text is valid UTF-8; the redactor never touches quotes or escapes.
        let text = std::str::from_utf8(&out[HEADER_LEN..]).map_err(|err| RecordError::Body(err.to_string()))?;
        if let std::borrow::Cow::Owned(clean) = redactor.redact(text) {
            let body: Body = serde_json::from_str(&clean).map_err(|err| RecordError::Body(err.to_string()))?;
            stored.actor = body.actor;
            stored.kind = body.kind;
            out.truncate(HEADER_LEN);
            out.extend_from_slice(clean.as_bytes());
        }
    }
    stored.hash = chain_hash(&prev, &out[HEADER_LEN..]);
    out[33..HEADER_LEN].copy_from_slice(&stored.hash.0);
    Ok(stored)
}

/// `sha256(prev ‖ body)`.
pub fn chain_hash(prev: &Digest, body: &[u8]) -> Digest {
    let mut hasher = Sha256::new();
    hasher.update(prev.0);
    hasher.update(body);
    Digest(hasher.finalize().into())
}

/// The parts of a record, borrowed, without decoding the body.
pub struct RawRecord<'a> {
    /// The hash this record says precedes it.
    pub prev_hash: Digest,
    /// The hash this record says it has.
    pub hash: Digest,
    /// The canonical JSON body.
    pub body: &'a [u8],
}

/// Splits a record into header fields and body.
pub fn split(bytes: &[u8]) -> Result<RawRecord<'_>, RecordError> {
    if bytes.len() < HEADER_LEN {
        return Err(RecordError::Header(format!("{} bytes", bytes.len())));
    }
    if bytes[0] != RECORD_VERSION {
        return Err(RecordError::Header(format!("layout version {}", bytes[0])));
    }
    let mut prev = [0u8; 32];
    prev.copy_from_slice(&bytes[1..33]);
    let mut hash = [0u8; 32];
    hash.copy_from_slice(&bytes[33..HEADER_LEN]);
    Ok(RawRecord { prev_hash: Digest(prev), hash: Digest(hash), body: &bytes[HEADER_LEN..] })
}

/// Decodes a whole record into an event.
pub fn decode(bytes: &[u8]) -> Result<Event, RecordError> {
    let raw = split(bytes)?;
    let body: Body = serde_json::from_slice(raw.body).map_err(|err| RecordError::Body(err.to_string()))?;
    Ok(Event {
        seq: body.seq,
        at: body.at,
        task: body.task,
        actor: body.actor,
        kind: body.kind,
        prev_hash: raw.prev_hash,
        hash: raw.hash,
    })
}

/// The sequence number a body claims, without decoding the rest of it.
pub fn body_seq(body: &[u8]) -> Result<u64, RecordError> {
    #[derive(Deserialize)]
    struct SeqOnly {
        seq: u64,
    }
    serde_json::from_slice::<SeqOnly>(body).map(|b| b.seq).map_err(|err| RecordError::Body(err.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> NewEvent {
        NewEvent::global(Actor::Orchestrator, EventKind::EngineStarted { version: "t".into() })
    }

    #[test]
    fn records_round_trip_and_chain() {
        let mut buf = Vec::new();
        let at = Timestamp::from_second(1_700_000_000).unwrap();
        let first = encode(1, at, Digest::GENESIS, sample(), None, &mut buf).unwrap();
        assert_eq!(decode(&buf).unwrap(), first);
        let raw = split(&buf).unwrap();
        assert_eq!(chain_hash(&raw.prev_hash, raw.body), first.hash);
        assert_eq!(body_seq(raw.body).unwrap(), 1);

        let second = encode(2, at, first.hash, sample(), None, &mut buf).unwrap();
        assert_eq!(second.prev_hash, first.hash);
        assert_ne!(second.hash, first.hash);
    }

    #[test]
    fn secrets_are_removed_before_the_hash_is_taken() {
        let redactor = Redactor::new([("K_TOKEN".to_owned(), "value-of-the-secret".to_owned())]);
        let event = NewEvent::global(Actor::Orchestrator, EventKind::Note { text: "x value-of-the-secret y".into() });
        let mut buf = Vec::new();
        let stored = encode(1, Timestamp::UNIX_EPOCH, Digest::GENESIS, event, Some(&redactor), &mut buf).unwrap();
        assert_eq!(stored.kind, EventKind::Note { text: "x [REDACTED:K_TOKEN] y".into() });
        assert_eq!(decode(&buf).unwrap(), stored);
        assert!(!String::from_utf8_lossy(&buf).contains("value-of-the-secret"));
    }

    #[test]
    fn damaged_headers_are_errors() {
        assert!(matches!(split(&[1, 2, 3]), Err(RecordError::Header(_))));
        let mut buf = Vec::new();
        encode(1, Timestamp::UNIX_EPOCH, Digest::GENESIS, sample(), None, &mut buf).unwrap();
        buf[0] = 9;
        assert!(matches!(decode(&buf), Err(RecordError::Header(_))));
    }
}
