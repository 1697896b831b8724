use std::sync::Mutex;

use super::*;
use crate::protocol::{Actor, EventKind, TaskSpec, TaskStatus};

fn created(id: TaskId, title: &str) -> NewEvent {
    NewEvent::for_task(id, Actor::local_human(), EventKind::TaskCreated { spec: TaskSpec::titled(title) })
}

fn moved(id: TaskId, from: TaskStatus, to: TaskStatus) -> NewEvent {
    NewEvent::for_task(id, Actor::Orchestrator, EventKind::StatusChanged { from, to, reason: "t".into() })
}

fn temp_store() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(STORE_FILE);
    (dir, path)
}

#[test]
fn appends_are_numbered_chained_and_projected() {
    let (_dir, path) = temp_store();
    let store = Store::open(&path).unwrap();
    let id = TaskId::new();
    let first = store.append(vec![created(id, "one")]).unwrap();
    let second = store.append(vec![moved(id, TaskStatus::Received, TaskStatus::Queued)]).unwrap();
    assert_eq!(first[0].seq, 1);
    assert_eq!(second[0].seq, 2);
    assert_eq!(second[0].prev_hash, first[0].hash);

    let reader = store.reader();
    let task = reader.task(id).unwrap().unwrap();
    assert_eq!(task.status, TaskStatus::Queued);
    assert_eq!(task.event_count, 2);
    let history = reader.task_events(id).unwrap();
    assert_eq!(history.iter().map(|e| e.seq).collect::<Vec<_>>(), [1, 2]);
    assert_eq!(history[1], *second[0]);
    assert_eq!(reader.verify().unwrap(), Verification::Ok { events: 2, head: second[0].hash });
}

#[test]
fn a_refused_request_takes_no_sequence_numbers_and_changes_nothing() {
    let (_dir, path) = temp_store();
    let store = Store::open(&path).unwrap();
    let id = TaskId::new();
    store.append(vec![created(id, "one")]).unwrap();
    // The first event of this request fits, the second does not: neither is written.
    let err = store
        .append(vec![
            moved(id, TaskStatus::Received, TaskStatus::Queued),
            moved(id, TaskStatus::Queued, TaskStatus::PrReady),
        ])
        .unwrap_err();
    assert!(matches!(err, StoreError::Rejected(_)), "{err}");
    assert_eq!(store.reader().task(id).unwrap().unwrap().status, TaskStatus::Received);
    let next = store.append(vec![moved(id, TaskStatus::Received, TaskStatus::Queued)]).unwrap();
    assert_eq!(next[0].seq, 2);
    assert!(matches!(store.reader().verify().unwrap(), Verification::Ok { events: 2, .. }));
}

#[test]
fn events_for_unknown_tasks_and_duplicate_creations_are_refused() {
    let (_dir, path) = temp_store();
    let store = Store::open(&path).unwrap();
    let id = TaskId::new();
    let err = store.append(vec![moved(id, TaskStatus::Received, TaskStatus::Queued)]).unwrap_err();
    assert!(err.to_string().contains("no task"), "{err}");
    store.append(vec![created(id, "one")]).unwrap();
    let err = store.append(vec![created(id, "again")]).unwrap_err();
    assert!(err.to_string().contains("already exists"), "{err}");
}

#[test]
fn concurrent_appenders_share_commits_and_lose_nothing() {
    let (_dir, path) = temp_store();
    let seqs = Mutex::new(Vec::new());
    let store = Store::open(&path).unwrap();
    std::thread::scope(|scope| {
        for _ in 0..8 {
            let appender = store.appender();
            let seqs = &seqs;
            scope.spawn(move || {
                for _ in 0..25 {
                    let events = appender.append(vec![created(TaskId::new(), "t")]).unwrap();
                    seqs.lock().unwrap().push(events[0].seq);
                }
            });
        }
    });
    let mut seqs = seqs.into_inner().unwrap();
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=200).collect::<Vec<_>>());
    let tasks = store.reader().tasks().unwrap();
    assert_eq!(tasks.len(), 200);
}

fn similar_titles(reader: &StoreReader, title: &str) -> Vec<String> {
    reader.similar_tasks(title).unwrap().into_iter().map(|brief| brief.spec.title).collect()
}

#[test]
fn similar_tasks_come_from_the_title_index_which_follows_revisions_and_reopening() {
    let (_dir, path) = temp_store();
    let (a, b, c) = (TaskId::new(), TaskId::new(), TaskId::new());
    let store = Store::open(&path).unwrap();
    store.append(vec![created(a, "Fix the pagination rounding bug")]).unwrap();
    store.append(vec![created(b, "Fix pagination rounding for the last page")]).unwrap();
    store.append(vec![created(c, "Speed up the build")]).unwrap();
    let query = "Fix the pagination rounding error";
    assert_eq!(
        similar_titles(&store.reader(), query),
        ["Fix pagination rounding for the last page", "Fix the pagination rounding bug"],
        "half the words or more, newest first"
    );
    assert!(similar_titles(&store.reader(), "it").is_empty(), "a title without significant words has none");
    let revised = TaskSpec::titled("Speed up the linker");
    store.append(vec![moved(b, TaskStatus::Received, TaskStatus::NeedsClarification)]).unwrap();
    store.append(vec![NewEvent::for_task(b, Actor::local_human(), EventKind::TaskRevised { spec: revised })]).unwrap();
    assert_eq!(similar_titles(&store.reader(), query), ["Fix the pagination rounding bug"], "the old words are gone");
    drop(store);
    let reader = StoreReader::open(&path).unwrap().unwrap();
    assert_eq!(similar_titles(&reader, "Speed the linker up"), ["Speed up the build", "Speed up the linker"]);
}

#[test]
fn reopening_restores_head_and_projections() {
    let (_dir, path) = temp_store();
    let id = TaskId::new();
    let last_hash = {
        let store = Store::open(&path).unwrap();
        store.append(vec![created(id, "one")]).unwrap();
        store.append(vec![moved(id, TaskStatus::Received, TaskStatus::Queued)]).unwrap()[0].hash
    };
    let store = Store::open(&path).unwrap();
    let third = store.append(vec![moved(id, TaskStatus::Queued, TaskStatus::Running)]).unwrap();
    assert_eq!(third[0].seq, 3);
    assert_eq!(third[0].prev_hash, last_hash);
}

#[test]
fn the_commit_hook_sees_batches_in_log_order() {
    let (_dir, path) = temp_store();
    let (tx, rx) = std::sync::mpsc::channel();
    let hook: CommitHook = Box::new(move |events| {
        for event in events {
            tx.send(event.seq).unwrap();
        }
    });
    let store = Store::open_with(&path, StoreOptions { hook: Some(hook), ..StoreOptions::default() }).unwrap();
    for _ in 0..5 {
        store.append(vec![created(TaskId::new(), "t")]).unwrap();
    }
    store.close();
    assert_eq!(rx.iter().collect::<Vec<_>>(), [1, 2, 3, 4, 5]);
}

#[test]
fn a_second_writer_is_told_the_store_is_in_use_while_readers_still_read() {
    let (_dir, path) = temp_store();
    let store = Store::open(&path).unwrap();
    store.append(vec![created(TaskId::new(), "t")]).unwrap();
    let err = Store::open(&path).err().unwrap();
    assert!(matches!(err, StoreError::InUse { .. }), "{err}");
    assert!(err.to_string().contains("read-only commands"), "{err}");
    let reader = StoreReader::open(&path).unwrap().unwrap();
    assert_eq!(reader.tasks().unwrap().len(), 1);
    store.append(vec![created(TaskId::new(), "u")]).unwrap();
    assert_eq!(reader.tasks().unwrap().len(), 2, "a reader follows the writer's commits");
}

#[test]
fn a_store_from_a_newer_version_is_refused_untouched() {
    let (_dir, path) = temp_store();
    drop(Store::open(&path).unwrap());
    {
        let db = builder().open(&path).unwrap();
        let txn = db.begin_write().unwrap();
        txn.open_table(META).unwrap().insert(META_SCHEMA, 99u64.to_be_bytes().as_slice()).unwrap();
        txn.commit().unwrap();
    }
    let err = Store::open(&path).err().unwrap();
    assert!(matches!(err, StoreError::NewerSchema { found: 99, .. }), "{err}");
    let err = StoreReader::open(&path).err().unwrap();
    assert!(err.to_string().contains("upgrade ambidex"), "{err}");
}

#[test]
fn a_changed_byte_is_named_by_its_sequence_number() {
    let (_dir, path) = temp_store();
    {
        let store = Store::open(&path).unwrap();
        for _ in 0..5 {
            store.append(vec![created(TaskId::new(), "t")]).unwrap();
        }
    }
    {
        let db = builder().open(&path).unwrap();
        let txn = db.begin_write().unwrap();
        {
            let mut events = txn.open_table(EVENTS).unwrap();
            let mut bytes = events.get(3).unwrap().unwrap().value().to_vec();
            let last = bytes.len() - 3;
            bytes[last] ^= 0x01;
            events.insert(3, bytes.as_slice()).unwrap();
        }
        txn.commit().unwrap();
    }
    let reader = StoreReader::open(&path).unwrap().unwrap();
    match reader.verify().unwrap() {
        Verification::Broken { seq, verified, reason } => {
            assert_eq!((seq, verified), (3, 2));
            assert!(reason.contains("altered"), "{reason}");
        }
        ok => panic!("tampering not found: {ok:?}"),
    }
}

#[test]
fn a_removed_tail_event_breaks_the_head() {
    let (_dir, path) = temp_store();
    {
        let store = Store::open(&path).unwrap();
        for _ in 0..3 {
            store.append(vec![created(TaskId::new(), "t")]).unwrap();
        }
    }
    {
        let db = builder().open(&path).unwrap();
        let txn = db.begin_write().unwrap();
        txn.open_table(EVENTS).unwrap().remove(3).unwrap();
        txn.commit().unwrap();
    }
    let reader = StoreReader::open(&path).unwrap().unwrap();
    assert!(matches!(reader.verify().unwrap(), Verification::Broken { seq: 3, verified: 2, .. }));
}

#[test]
fn a_file_that_is_not_a_store_is_a_clear_error() {
    let (_dir, path) = temp_store();
    std::fs::write(&path, b"this is not a redb file, just some text that is long enough ........").unwrap();
    let err = Store::open(&path).err().unwrap();
    assert!(matches!(err, StoreError::Corrupt { .. } | StoreError::Internal { .. }), "{err:?}");
    assert!(err.to_string().contains(&path.display().to_string()), "{err}");
}

#[test]
fn task_references_resolve_by_unique_suffix() {
    let (_dir, path) = temp_store();
    let store = Store::open(&path).unwrap();
    let a = TaskId::new();
    store.append(vec![created(a, "a")]).unwrap();
    let reader = store.reader();
    assert_eq!(reader.find_task(&a.short()).unwrap().id, a);
    assert_eq!(reader.find_task(&a.to_string().to_lowercase()).unwrap().id, a);
    assert!(matches!(reader.find_task("zzzzzzzz"), Err(LookupError::NotFound(_))));
}

#[test]
fn secrets_never_reach_the_file_or_the_subscribers() {
    let (_dir, path) = temp_store();
    let (tx, rx) = std::sync::mpsc::channel();
    let hook: CommitHook = Box::new(move |events| {
        for event in events {
            tx.send(event.kind.clone()).unwrap();
        }
    });
    let redactor = crate::redact::Redactor::new([("DEPLOY_TOKEN".to_owned(), "tok-0123456789-abcdef".to_owned())]);
    let store =
        Store::open_with(&path, StoreOptions { hook: Some(hook), redactor: Some(Arc::new(redactor)), foreign: None })
            .unwrap();
    let mut spec = TaskSpec::titled("deploy with tok-0123456789-abcdef");
    spec.description = "key ghp_abcdefghijklmnopqrstuvwxyz0123456789".into();
    let id = TaskId::new();
    let stored =
        store.append(vec![NewEvent::for_task(id, Actor::local_human(), EventKind::TaskCreated { spec })]).unwrap();
    store.close();
    let EventKind::TaskCreated { spec } = &stored[0].kind else { panic!() };
    assert_eq!(spec.title, "deploy with [REDACTED:DEPLOY_TOKEN]");
    assert_eq!(spec.description, "key [REDACTED:github_token]");
    assert_eq!(rx.recv().unwrap(), stored[0].kind);
    let bytes = std::fs::read(&path).unwrap();
    let haystack = String::from_utf8_lossy(&bytes);
    assert!(!haystack.contains("tok-0123456789-abcdef") && !haystack.contains("ghp_abcdefghij"));
    let reader = StoreReader::open(&path).unwrap().unwrap();
    assert_eq!(reader.task(id).unwrap().unwrap().spec.title, "deploy with [REDACTED:DEPLOY_TOKEN]");
    assert!(matches!(reader.verify().unwrap(), Verification::Ok { events: 1, .. }));
}

/// A store as an older build left it: schema 1, and a projection today's code cannot read.
fn downgrade(path: &Path, id: TaskId) {
    let db = builder().open(path).unwrap();
    let txn = db.begin_write().unwrap();
    {
        txn.open_table(META).unwrap().insert(META_SCHEMA, 1u64.to_be_bytes().as_slice()).unwrap();
        let mut tasks = txn.open_table(TASKS).unwrap();
        tasks.insert(id.as_u128(), br#"{"id": ["an old shape"]}"#.as_slice()).unwrap();
        tasks.insert(TaskId::new().as_u128(), b"{}".as_slice()).unwrap();
    }
    txn.commit().unwrap();
}

fn stored_schema(path: &Path) -> u64 {
    RedbSnapshots::damaged(path).unwrap().stored_schema().unwrap().unwrap()
}

#[test]
fn an_older_store_is_upgraded_on_open_by_rebuilding_its_projections_from_the_log() {
    let (_dir, path) = temp_store();
    let id = TaskId::new();
    let head = {
        let store = Store::open(&path).unwrap();
        store.append(vec![created(id, "one"), moved(id, TaskStatus::Received, TaskStatus::Queued)]).unwrap();
        store.reader().head().unwrap()
    };
    downgrade(&path, id);

    let store = Store::open(&path).unwrap();
    let migration = store.migration().cloned().expect("the open upgraded the store");
    assert_eq!((migration.from, migration.to, migration.events, migration.tasks), (1, SCHEMA_VERSION, 2, 1));
    let reader = store.reader();
    let tasks = reader.tasks().unwrap();
    assert_eq!(tasks.len(), 1, "projections without events are dropped");
    assert_eq!((tasks[0].id, tasks[0].status, tasks[0].event_count), (id, TaskStatus::Queued, 2));
    assert_eq!(similar_titles(&reader, "one"), Vec::<String>::new(), "three letters are not a significant word");
    assert_eq!(reader.migrations().unwrap(), vec![migration]);
    assert_eq!(reader.verify().unwrap(), Verification::Ok { events: 2, head: head.hash }, "the log is untouched");
    store.append(vec![moved(id, TaskStatus::Queued, TaskStatus::Running)]).unwrap();
    drop((reader, store));
    assert_eq!(stored_schema(&path), SCHEMA_VERSION);

    let again = Store::open(&path).unwrap();
    assert!(again.migration().is_none(), "an upgraded store is not upgraded again");
    assert_eq!(again.reader().migrations().unwrap().len(), 1);
}

#[test]
fn a_reader_upgrades_an_older_store_unless_an_older_writer_holds_it() {
    let (_dir, path) = temp_store();
    let id = TaskId::new();
    Store::open(&path).unwrap().append(vec![created(id, "one")]).unwrap();
    downgrade(&path, id);

    let older_writer = builder().open(&path).unwrap();
    let err = StoreReader::open(&path).err().unwrap();
    assert!(matches!(err, StoreError::UpgradeBlocked { found: 1, .. }), "{err}");
    assert!(err.to_string().contains("stop that process"), "{err}");
    drop(older_writer);
    assert_eq!(stored_schema(&path), 1, "nothing was changed");

    let reader = StoreReader::open(&path).unwrap().unwrap();
    assert_eq!(reader.task(id).unwrap().unwrap().spec.title, "one");
    assert_eq!(reader.migrations().unwrap().len(), 1);
    drop(reader);
    assert_eq!(stored_schema(&path), SCHEMA_VERSION);
}

#[test]
fn an_upgrade_that_cannot_fold_the_log_changes_nothing() {
    let (_dir, path) = temp_store();
    let id = TaskId::new();
    let head = {
        let store = Store::open(&path).unwrap();
        store.append(vec![created(id, "one")]).unwrap();
        store.reader().head().unwrap()
    };
    downgrade(&path, id);
    {
        // An event today's rules refuse (a stale status change), chained properly.
        let db = builder().open(&path).unwrap();
        let txn = db.begin_write().unwrap();
        let mut bytes = Vec::new();
        let stale = moved(id, TaskStatus::Running, TaskStatus::Queued);
        let event = record::encode(2, jiff::Timestamp::now(), head.hash, stale, None, &mut bytes).unwrap();
        txn.open_table(EVENTS).unwrap().insert(2, bytes.as_slice()).unwrap();
        let head = writer::Head { seq: 2, hash: event.hash };
        txn.open_table(META).unwrap().insert(tables::META_HEAD, head.to_bytes().as_slice()).unwrap();
        txn.commit().unwrap();
    }
    let err = Store::open(&path).err().unwrap();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
    assert!(err.to_string().contains("stopped at event #2"), "{err}");
    assert!(err.to_string().contains("nothing was changed"), "{err}");
    assert_eq!(stored_schema(&path), 1);
}

#[test]
fn compaction_gives_back_free_space_keeps_every_event_and_needs_the_store_to_itself() {
    let (_dir, path) = temp_store();
    let id = TaskId::new();
    {
        let store = Store::open(&path).unwrap();
        store.append(vec![created(id, &"a long title to make the projection big ".repeat(40))]).unwrap();
        let mut from = TaskStatus::Received;
        for _ in 0..300 {
            let to = if from == TaskStatus::Received { TaskStatus::NeedsClarification } else { TaskStatus::Received };
            store.append(vec![moved(id, from, to)]).unwrap();
            from = to;
        }
        assert!(matches!(compact(&path), Err(StoreError::InUse { .. })), "an open store is not compacted");
    }
    let done = compact(&path).unwrap();
    assert!(done.after < done.before, "{done:?}");
    assert_eq!(done.events, 301);
    assert!(matches!(done.verification, Verification::Ok { events: 301, .. }));
    let reader = StoreReader::open(&path).unwrap().unwrap();
    assert_eq!(reader.task(id).unwrap().unwrap().event_count, 301);
}

#[test]
fn a_finished_task_leaves_the_writers_memory_and_is_read_back_for_a_later_event() {
    let (_dir, path) = temp_store();
    let id = TaskId::new();
    let store = Store::open(&path).unwrap();
    store.append(vec![created(id, "Fix the rounding")]).unwrap();
    for (from, to) in [
        (TaskStatus::Received, TaskStatus::Queued),
        (TaskStatus::Queued, TaskStatus::Running),
        (TaskStatus::Running, TaskStatus::Failed),
    ] {
        store.append(vec![moved(id, from, to)]).unwrap();
    }
    let resumed = store.append(vec![moved(id, TaskStatus::Failed, TaskStatus::Queued)]).unwrap();
    assert_eq!(resumed[0].seq, 5, "a failed task can be queued again though the writer let it go");
    let refused = store.append(vec![created(id, "Fix the rounding")]);
    assert!(matches!(refused, Err(StoreError::Rejected(_))), "{refused:?}");
    let wrong = store.append(vec![moved(id, TaskStatus::Failed, TaskStatus::Queued)]);
    assert!(matches!(wrong, Err(StoreError::Rejected(_))), "the projection read back is today's: {wrong:?}");
    drop(store);
    let task = StoreReader::open(&path).unwrap().unwrap().task(id).unwrap().unwrap();
    assert_eq!((task.status, task.event_count), (TaskStatus::Queued, 5));
}

#[test]
fn a_clients_tasks_are_those_under_way_and_the_newest_finished_ones() {
    let (_dir, path) = temp_store();
    let ids: Vec<TaskId> = (0..6).map(|_| TaskId::new()).collect();
    let store = Store::open(&path).unwrap();
    for (n, id) in ids.iter().enumerate() {
        store.append(vec![created(*id, &format!("task {n}"))]).unwrap();
    }
    for id in [ids[0], ids[2], ids[3], ids[5]] {
        store.append(vec![moved(id, TaskStatus::Received, TaskStatus::Cancelled)]).unwrap();
    }
    let current = |reader: &StoreReader| -> Vec<TaskId> {
        reader.current_tasks(2).unwrap().into_iter().map(|task| task.id).collect()
    };
    assert_eq!(
        current(&store.reader()),
        [ids[1], ids[3], ids[4], ids[5]],
        "under way: 1 and 4; newest finished: 3 and 5"
    );
    drop(store);
    let store = Store::open(&path).unwrap();
    assert_eq!(current(&store.reader()), [ids[1], ids[3], ids[4], ids[5]], "the same after reopening");
    store.append(vec![moved(ids[1], TaskStatus::Received, TaskStatus::Cancelled)]).unwrap();
    assert_eq!(current(&store.reader()), [ids[3], ids[4], ids[5]], "1 finished, and is older than 3 and 5");
}

#[test]
fn the_tasks_with_worktrees_are_indexed_as_worktrees_come_and_go() {
    let (_dir, path) = temp_store();
    let (a, b) = (TaskId::new(), TaskId::new());
    let worktree = |id: TaskId, candidate: &str| {
        let kind = EventKind::WorktreeCreated {
            candidate: candidate.into(),
            path: format!("/tmp/wt/{}-{candidate}", id.short()),
            branch: format!("ambidex/{}/{candidate}", id.short()),
            base: "abc".into(),
        };
        NewEvent::for_task(id, Actor::Orchestrator, kind)
    };
    let removed = |id: TaskId, candidate: &str| {
        let kind = EventKind::WorktreeRemoved {
            candidate: candidate.into(),
            path: format!("/tmp/wt/{}-{candidate}", id.short()),
            branch_deleted: None,
            bytes: 0,
        };
        NewEvent::for_task(id, Actor::Orchestrator, kind)
    };
    let indexed = |reader: &StoreReader| -> Vec<(TaskId, usize)> {
        reader.task_worktrees().unwrap().into_iter().map(|task| (task.id, task.worktrees.len())).collect()
    };
    let store = Store::open(&path).unwrap();
    store.append(vec![created(a, "a"), created(b, "b")]).unwrap();
    assert!(indexed(&store.reader()).is_empty());
    store.append(vec![worktree(a, "production"), worktree(b, "production"), worktree(b, "c1")]).unwrap();
    assert_eq!(indexed(&store.reader()), [(a, 1), (b, 2)]);
    store.append(vec![removed(a, "production"), removed(b, "c1")]).unwrap();
    assert_eq!(indexed(&store.reader()), [(b, 1)], "a has none left");
    drop(store);
    let store = Store::open(&path).unwrap();
    assert_eq!(indexed(&store.reader()), [(b, 1)], "the same after reopening");
}
