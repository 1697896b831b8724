//! Stores written by earlier builds still open, verify and take new events: the fixtures in
//! `tests/fixtures/store/` (see its README) are real stores made by those builds, copied to a
//! temporary directory before each test so the committed files never change.

// Test and benchmark code may unwrap and panic: that is how it reports a failure (see clippy.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support {
    pub mod cli;
}

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ambidex::domain::TaskStatus;
use ambidex::protocol::{
    Actor, Digest, EVENT_SCHEMA, Event, EventKind, LEGACY_EVENT_SCHEMA, NewEvent, Risk, TaskId, TaskKind, TaskSpec,
};
use ambidex::store::{STORE_FILE, Store, StoreReader, Verification, recompute_hash};
use support::cli::Sandbox;

/// The head `ambidex audit verify` printed for `v1.redb` when it was made.
const V1_HEAD: &str = "b8511b189b1426cfbf9976e55b6587419014132578f77e97ab73638b1d627d39";
const V1_EVENTS: u64 = 195;

/// A writable copy of a fixture store, as `<dir>/state.redb`.
fn copy_of(fixture: &str, dir: &Path) -> PathBuf {
    let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/store").join(fixture);
    let to = dir.join(STORE_FILE);
    std::fs::copy(&from, &to).unwrap_or_else(|err| panic!("{}: {err}", from.display()));
    to
}

fn every_event(reader: &StoreReader) -> Vec<Event> {
    reader.events_after(0, usize::MAX).unwrap()
}

/// Every event decodes, chains to the one before, and hashes to its hash when its canonical
/// bytes are rebuilt from its fields: the JSON format of each schema has not moved.
fn assert_events_rebuild_their_hashes(events: &[Event]) {
    let mut prev = Digest::GENESIS;
    for event in events {
        assert_eq!(event.prev_hash, prev, "event #{} does not chain", event.seq);
        let rebuilt = recompute_hash(event).unwrap();
        assert_eq!(
            rebuilt,
            event.hash,
            "event #{} ({}, schema {}) no longer serializes to the bytes it was hashed with: a field of \
             its kind was renamed, retyped or reordered, or lost its skip_serializing_if",
            event.seq,
            event.kind.name(),
            event.schema
        );
        prev = event.hash;
    }
}

#[test]
fn a_v1_store_is_upgraded_verifies_reads_every_projection_and_takes_new_events() {
    let dir = tempfile::tempdir().unwrap();
    let path = copy_of("v1.redb", dir.path());

    let store = Store::open(&path).unwrap();
    let migration = store.migration().cloned().expect("a schema 1 store is upgraded on open");
    assert_eq!((migration.from, migration.to, migration.events, migration.tasks), (1, 5, V1_EVENTS, 5));
    let reader = store.reader();
    let similar = reader.similar_tasks("Count words case-insensitively in top_words").unwrap();
    assert_eq!(
        similar.iter().map(|brief| brief.spec.title.as_str()).collect::<Vec<_>>(),
        ["Make top_words count words case-insensitively"],
        "the upgrade indexes the titles"
    );
    assert_eq!(
        reader.verify().unwrap(),
        Verification::Ok { events: V1_EVENTS, head: Digest::from_hex(V1_HEAD).unwrap() },
        "the upgrade leaves the log as it was"
    );
    let events = every_event(&reader);
    assert_eq!(events.len() as u64, V1_EVENTS);
    assert!(events.iter().all(|e| e.schema == LEGACY_EVENT_SCHEMA), "v1 events have no schema field");
    assert_events_rebuild_their_hashes(&events);

    // Every projection reads, and agrees with its events.
    let tasks = reader.tasks().unwrap();
    let statuses: BTreeMap<String, TaskStatus> = tasks.iter().map(|t| (t.id.short(), t.status)).collect();
    assert_eq!(
        statuses,
        BTreeMap::from([
            ("nxvj496c".to_owned(), TaskStatus::PrReady),
            ("t7nvg0sb".to_owned(), TaskStatus::PrReady),
            ("jz058fak".to_owned(), TaskStatus::Cancelled),
            ("1wypvva8".to_owned(), TaskStatus::Queued),
            ("d6am13jb".to_owned(), TaskStatus::Rejected),
        ])
    );
    for task in &tasks {
        let own = reader.task_events(task.id).unwrap();
        assert_eq!(own.len() as u64, task.event_count, "task {}", task.id);
        assert_eq!(own.last().map(|e| e.seq), Some(task.last_seq), "task {}", task.id);
        assert_eq!(reader.task(task.id).unwrap().as_ref(), Some(task));
    }
    let with_worktrees: Vec<TaskId> = tasks.iter().filter(|t| !t.worktrees.is_empty()).map(|t| t.id).collect();
    assert!(!with_worktrees.is_empty(), "the fixture has tasks whose worktrees are still there");
    assert_eq!(
        reader.task_worktrees().unwrap().iter().map(|t| t.id).collect::<Vec<_>>(),
        with_worktrees,
        "the upgrade indexes the tasks that have worktrees"
    );
    let explored = reader.find_task("t7nvg0sb").unwrap();
    let playbook = explored.playbook.as_ref().unwrap();
    assert_eq!((playbook.name.as_str(), &playbook.version[..12]), ("right_hand", "acaebb6848b7"));
    assert_eq!(&playbook.policy_version[..12], "dc374b511298");
    assert!(explored.validation.iter().all(|run| run.attempt >= 1 && run.result.ok), "{:?}", explored.validation);
    let exploration = explored.exploration.as_ref().unwrap();
    let matrix = exploration.matrix.as_ref().unwrap();
    assert!(matrix.matrix.rows.len() >= 3, "production and two challengers");
    let adopted = exploration.adopted.as_ref().unwrap();
    assert_eq!(adopted.choice, "adopt c1");
    assert!(adopted.hunks.iter().any(|h| h.candidate == "eval"), "{:?}", adopted.hunks);
    assert!(!explored.removed_worktrees.is_empty(), "its worktrees were cleaned, their branches kept");
    let revised = reader.find_task("jz058fak").unwrap();
    assert!(revised.spec.title.starts_with("Make line_count ignore"), "the revision is the spec");

    // New events go on the old chain, with today's schema.
    let id = explored.id;
    let appended = store
        .append(vec![
            NewEvent::for_task(id, Actor::local_human(), EventKind::Note { text: "read after the upgrade".into() }),
            NewEvent::for_task(
                TaskId::new(),
                Actor::local_human(),
                EventKind::TaskCreated { spec: TaskSpec::titled("A task after the upgrade") },
            ),
        ])
        .unwrap();
    assert_eq!(appended[0].seq, V1_EVENTS + 1);
    assert_eq!(appended[0].prev_hash, Digest::from_hex(V1_HEAD).unwrap());
    assert!(appended.iter().all(|e| e.schema == EVENT_SCHEMA));
    let head = appended[1].hash;
    assert_eq!(reader.verify().unwrap(), Verification::Ok { events: V1_EVENTS + 2, head });
    assert_events_rebuild_their_hashes(&every_event(&reader));
    assert_eq!(reader.find_task("t7nvg0sb").unwrap().event_count, explored.event_count + 1);
    drop((reader, store));

    // Reopened: no second upgrade, the same state.
    let again = Store::open(&path).unwrap();
    assert!(again.migration().is_none());
    assert_eq!(again.reader().migrations().unwrap().len(), 1);
    assert_eq!(again.reader().tasks().unwrap().len(), 6);
    assert_eq!(again.reader().verify().unwrap(), Verification::Ok { events: V1_EVENTS + 2, head });
}

#[test]
fn a_reader_alone_upgrades_a_v1_store() {
    let dir = tempfile::tempdir().unwrap();
    let path = copy_of("v1.redb", dir.path());
    let reader = StoreReader::open(&path).unwrap().unwrap();
    assert_eq!(reader.migrations().unwrap().len(), 1);
    let rejected = reader.find_task("d6am13jb").unwrap();
    assert_eq!(rejected.status, TaskStatus::Rejected);
    assert!(rejected.intake.as_ref().unwrap().reasons.iter().any(|r| r.contains("delete_production_data")));
    let bug = reader.find_task("nxvj496c").unwrap();
    assert_eq!((bug.kind(), bug.risk()), (Some(TaskKind::BugFix), Some(Risk::Low)));
    assert!(bug.pr.is_some() && bug.plan.is_some() && bug.review.is_some());
}

#[test]
fn audit_verify_and_task_list_work_on_a_v1_store_and_after_new_events() {
    let sandbox = Sandbox::new();
    let path = sandbox.store();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::copy(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/store/v1.redb"), &path).unwrap();

    let verified = sandbox.run(&["audit", "verify"]).ok();
    assert_eq!(verified.trim(), format!("ok: {V1_EVENTS} events (head {V1_HEAD})"));
    let listed = sandbox.run(&["task", "list"]).ok();
    assert!(listed.contains("Make top_words count words case-insensitively"), "{listed}");
    let doctor = sandbox.run(&["doctor"]).stdout;
    assert!(doctor.contains("upgraded from schema 1 to 5"), "{doctor}");

    sandbox.run(&["task", "note", "t7nvg0sb", "noted by today's build"]).ok();
    let verified = sandbox.run(&["audit", "verify"]).ok();
    assert!(verified.starts_with(&format!("ok: {} events", V1_EVENTS + 1)), "{verified}");
}
