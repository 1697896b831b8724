//! The byte layout of one stored event and its link in the hash chain.
//!
//! A record is `version (1 byte) ‖ prev_hash (32) ‖ hash (32) ‖ body`, where the body is the
//! event's canonical JSON (schema, seq, at, task, actor, kind) and `hash = sha256(prev_hash ‖
//! body)`. Verification hashes the stored bytes themselves, so any changed byte is caught without
//! depending on how JSON would be re-serialized. The body leaves `schema` out for events of the
//! legacy schema (written before events carried one), so rebuilding their body from the decoded
//! event gives back the bytes they were hashed with.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::protocol::{Actor, Digest, EVENT_SCHEMA, Event, EventKind, LEGACY_EVENT_SCHEMA, NewEvent, TaskId};
use crate::redact::Redactor;

const RECORD_VERSION: u8 = 1;
const HEADER_LEN: usize = 1 + 32 + 32;

fn is_legacy(schema: &u16) -> bool {
    *schema == LEGACY_EVENT_SCHEMA
}

fn legacy() -> u16 {
    LEGACY_EVENT_SCHEMA
}

#[derive(Serialize)]
struct BodyRef<'a> {
    #[serde(skip_serializing_if = "is_legacy")]
    schema: u16,
    seq: u64,
    at: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    task: Option<TaskId>,
    actor: &'a Actor,
    kind: &'a EventKind,
}

#[derive(Deserialize)]
struct Body {
    #[serde(default = "legacy")]
    schema: u16,
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
    /// A newer ambidex wrote the event.
    #[error("the event has schema {0}, but this ambidex reads schemas up to {EVENT_SCHEMA}; upgrade ambidex")]
    NewerSchema(u16),
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
    let body = BodyRef { schema: EVENT_SCHEMA, seq, at, task: event.task, actor: &event.actor, kind: &event.kind };
    serde_json::to_writer(&mut *out, &body).map_err(|err| RecordError::Body(err.to_string()))?;
    let mut stored = Event {
        schema: EVENT_SCHEMA,
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

/// The canonical body of `event`, rebuilt from its fields: for every stored event, the bytes it
/// was hashed with, as long as the format of its schema has not changed.
pub fn canonical_body(event: &Event) -> Result<Vec<u8>, RecordError> {
    let body = BodyRef {
        schema: event.schema,
        seq: event.seq,
        at: event.at,
        task: event.task,
        actor: &event.actor,
        kind: &event.kind,
    };
    serde_json::to_vec(&body).map_err(|err| RecordError::Body(err.to_string()))
}

/// The stored record of an event that already has its place in a chain (its seq, prev hash and
/// hash), with its body rebuilt from its fields; the caller checks the hash against that body.
pub fn stored(event: &Event, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + body.len());
    out.push(RECORD_VERSION);
    out.extend_from_slice(&event.prev_hash.0);
    out.extend_from_slice(&event.hash.0);
    out.extend_from_slice(body);
    out
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
    let body: Body = serde_json::from_slice(raw.body).map_err(|err| {
        // A newer build's event may not decode at all: say so rather than what failed.
        #[derive(Deserialize)]
        struct SchemaOnly {
            #[serde(default = "legacy")]
            schema: u16,
        }
        match serde_json::from_slice::<SchemaOnly>(raw.body) {
            Ok(SchemaOnly { schema }) if schema > EVENT_SCHEMA => RecordError::NewerSchema(schema),
            _ => RecordError::Body(err.to_string()),
        }
    })?;
    if body.schema > EVENT_SCHEMA {
        return Err(RecordError::NewerSchema(body.schema));
    }
    Ok(Event {
        schema: body.schema,
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
    fn new_events_carry_the_schema_and_their_bytes_are_pinned() {
        let mut buf = Vec::new();
        let at = Timestamp::from_second(1_700_000_000).unwrap();
        let stored = encode(1, at, Digest::GENESIS, sample(), None, &mut buf).unwrap();
        assert_eq!(stored.schema, EVENT_SCHEMA);
        let raw = split(&buf).unwrap();
        // The hash chain depends on these bytes: never change them (see tests/event_format.rs).
        assert_eq!(
            std::str::from_utf8(raw.body).unwrap(),
            r#"{"schema":2,"seq":1,"at":"2023-11-14T22:13:20Z","actor":{"type":"orchestrator"},"kind":{"type":"engine_started","version":"t"}}"#
        );
        assert_eq!(stored.hash.to_string(), "7a409ea732881be5b85d87e83de9f6e9cd143173a02940b05b72f09afec4ed16");
        assert_eq!(canonical_body(&decode(&buf).unwrap()).unwrap(), raw.body);
    }

    #[test]
    fn legacy_events_read_as_schema_1_and_rebuild_their_exact_bytes() {
        // As a build before event schemas wrote it: no `schema` field.
        let body = r#"{"seq":7,"at":"2026-12-02T12:38:42.100010001Z","task":"01M8VC7AKY0X18K9Q1T7NVG0SB","actor":{"type":"human","name":"root"},"kind":{"type":"note","text":"a \"quoted\" café 😀\n\u001b[0m"}}"#;
        let prev = Digest([7; 32]);
        let mut record = vec![RECORD_VERSION];
        record.extend_from_slice(&prev.0);
        record.extend_from_slice(&chain_hash(&prev, body.as_bytes()).0);
        record.extend_from_slice(body.as_bytes());
        let event = decode(&record).unwrap();
        assert_eq!(event.schema, LEGACY_EVENT_SCHEMA);
        assert_eq!(event.kind, EventKind::Note { text: "a \"quoted\" café 😀\n\u{1b}[0m".into() });
        assert_eq!(String::from_utf8(canonical_body(&event).unwrap()).unwrap(), body);
    }

    #[test]
    fn events_of_a_newer_schema_are_refused_by_name() {
        let body = br#"{"schema":9,"seq":1,"at":"2023-11-14T22:13:20Z","actor":{"type":"orchestrator"},"kind":{"type":"from_the_future"}}"#;
        let mut record = vec![RECORD_VERSION];
        record.extend_from_slice(&[0; 64]);
        record.extend_from_slice(body);
        let err = decode(&record).unwrap_err();
        assert_eq!(err, RecordError::NewerSchema(9));
        assert!(err.to_string().contains("upgrade ambidex"), "{err}");
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
