//! The persisted format is pinned: every `EventKind` variant's samples (`tests/support/
//! event_samples.rs`), each as a whole stored event, and a fully populated task projection are
//! serialized and compared byte for byte with the goldens in `tests/fixtures/format/`; the goldens
//! read back to the same values, and each golden event's `hash` is the hash of its canonical bytes.
//!
//! A variant without samples does not compile (the samples' `match` has no wildcard); samples
//! without a golden fail until it is written:
//!
//! ```sh
//! AMBIDEX_BLESS=1 cargo test --test event_format   # writes missing goldens only; review, commit
//! ```
//!
//! Blessing never overwrites a golden: a golden that no longer matches fails whatever the
//! environment says, because stored events are hashed over these bytes and old stores hold events
//! in this shape. See `tests/fixtures/format/README.md` for how to evolve the format instead.

// Test and benchmark code may unwrap and panic: that is how it reports a failure (see clippy.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support {
    pub mod event_samples;
}

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use ambidex::domain::Task;
use ambidex::protocol::{Event, EventKind};
use ambidex::store::recompute_hash;
use support::event_samples;

fn format_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/format")
}

fn blessing() -> bool {
    std::env::var_os("AMBIDEX_BLESS").is_some_and(|v| !v.is_empty() && v != "0")
}

/// Why an existing golden must not change, and what to do instead.
const EVENT_ADVICE: &str = "Stored events are hashed over their canonical bytes (the hash chain depends on them) and \
    old stores hold events in this shape, so an existing golden must never change. To evolve the \
    format, add a new field with `#[serde(default, skip_serializing_if = ...)]` (events without it \
    keep their bytes and still decode) instead of renaming, retyping, reordering or removing one; to \
    pin the new field, add a second sample of the variant in tests/support/event_samples.rs (its \
    golden `<type>.2.json` is written by `AMBIDEX_BLESS=1 cargo test --test event_format`). A change \
    that cannot be made that way needs a new EVENT_SCHEMA with a reader for the old one.";

const TASK_ADVICE: &str = "The task projection is stored in the `tasks` table and returned by the API. A change to its \
    JSON needs SCHEMA_VERSION raised in src/store/tables.rs (older stores are then rebuilt from \
    their logs on open) and src/api/openapi.json updated; then delete this golden and write it \
    again with `AMBIDEX_BLESS=1 cargo test --test event_format`.";

/// Compares `actual` with the golden at `path`, writing it when it is missing and blessing is on.
fn check_golden(path: &Path, actual: &str, advice: &str, failures: &mut Vec<String>) {
    let shown = path.strip_prefix(env!("CARGO_MANIFEST_DIR")).unwrap_or(path).display();
    match std::fs::read_to_string(path) {
        Ok(expected) if expected == actual => {}
        Ok(expected) => {
            let (line, want, got) = expected
                .lines()
                .chain(std::iter::repeat(""))
                .zip(actual.lines().chain(std::iter::repeat("")))
                .enumerate()
                .find(|(_, (want, got))| want != got)
                .map(|(i, (want, got))| (i + 1, want, got))
                .unwrap_or((0, "", ""));
            failures.push(format!(
                "{shown} no longer matches the serialized sample (first difference at line {line}: golden \
                 `{}`, now `{}`). {advice}",
                want.trim(),
                got.trim()
            ));
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound && blessing() => {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, actual).unwrap();
            eprintln!("wrote the new golden {shown}: review it and commit it");
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => failures.push(format!(
            "{shown} is missing: write it with `AMBIDEX_BLESS=1 cargo test --test event_format`, review \
             it and commit it"
        )),
        Err(err) => failures.push(format!("{shown}: {err}")),
    }
}

fn pretty<T: serde::Serialize>(value: &T) -> String {
    let mut text = serde_json::to_string_pretty(value).unwrap();
    text.push('\n');
    text
}

/// The golden file of the `index`-th sample of a kind: `<type>.json`, then `<type>.2.json`, …
fn golden_name(kind: &EventKind, index: usize) -> String {
    match index {
        0 => format!("{}.json", kind.name()),
        n => format!("{}.{}.json", kind.name(), n + 1),
    }
}

/// Each sample as a stored event with its real hash.
fn sample_events() -> Vec<(String, Event)> {
    let mut out = Vec::new();
    for (variant, samples) in event_samples::all() {
        for (index, kind) in samples.into_iter().enumerate() {
            assert_eq!(event_samples::variant(&kind), variant, "a sample listed under {variant} is of another variant");
            let name = golden_name(&kind, index);
            let mut event = event_samples::event(kind);
            event.hash = recompute_hash(&event).unwrap();
            out.push((name, event));
        }
    }
    out
}

#[test]
fn every_event_kind_matches_its_golden_and_reads_back() {
    let dir = format_dir().join("events");
    let mut failures = Vec::new();
    for (name, event) in sample_events() {
        let path = dir.join(&name);
        check_golden(&path, &pretty(&event), EVENT_ADVICE, &mut failures);
        let Ok(text) = std::fs::read_to_string(&path) else { continue };
        match serde_json::from_str::<Event>(&text) {
            Ok(read) if read == event => {
                let rebuilt = recompute_hash(&read).unwrap();
                if rebuilt != read.hash {
                    failures.push(format!("{name}: its canonical bytes hash to {rebuilt}, not {}", read.hash));
                }
            }
            Ok(read) => failures.push(format!("{name} reads back as a different event: {read:?}")),
            Err(err) => failures.push(format!("{name} does not read back as an event: {err}")),
        }
    }
    assert!(failures.is_empty(), "\n{}\n", failures.join("\n\n"));
}

#[test]
fn every_golden_belongs_to_a_sample() {
    let expected: BTreeSet<String> = sample_events().into_iter().map(|(name, _)| name).collect();
    let found: BTreeSet<String> = std::fs::read_dir(format_dir().join("events"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let orphans: Vec<&String> = found.difference(&expected).collect();
    assert!(
        orphans.is_empty(),
        "goldens without a sample: {orphans:?}. A variant or sample was removed or renamed, but stored \
         events of that shape must still decode: bring the sample back (a variant stays in EventKind \
         for good, even when nothing writes it any more)"
    );
    let variants: BTreeSet<&str> = event_samples::all().iter().map(|(variant, _)| *variant).collect();
    assert_eq!(variants.len(), event_samples::all().len(), "a variant is listed twice");
}

#[test]
fn the_task_projection_matches_its_golden_and_reads_back() {
    let task = event_samples::task();
    let path = format_dir().join("task.json");
    let mut failures = Vec::new();
    check_golden(&path, &pretty(&task), TASK_ADVICE, &mut failures);
    assert!(failures.is_empty(), "\n{}\n", failures.join("\n\n"));
    let read: Task = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(read, task);
}
