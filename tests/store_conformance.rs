//! One conformance suite for every store backend: the embedded redb file and a PostgreSQL
//! database on a real server (started by the tests). Each test runs its body against both; the
//! backends must agree on numbering and chaining, projections and their indexes, refusals,
//! gates, concurrent writers, reopening, and finding tampering.

// Test and benchmark code may unwrap and panic: that is how it reports a failure (see clippy.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support {
    pub mod postgres;
}

use std::collections::BTreeSet;
use std::sync::Arc;

use ambidex::protocol::{Actor, Decision, EventKind, GateId, GateKind, NewEvent, TaskId, TaskSpec, TaskStatus};
use ambidex::store::{Store, StoreError, StoreOptions, StoreReader, StoreUrl, TaskQuery, Verification};
use support::postgres::Server;

/// A store of each backend, empty.
struct Backend {
    name: &'static str,
    url: StoreUrl,
    _dir: Option<tempfile::TempDir>,
}

fn backends() -> Vec<Backend> {
    let dir = tempfile::tempdir().unwrap();
    let redb = StoreUrl::Redb(dir.path().join("state.redb"));
    vec![
        Backend { name: "redb", url: redb, _dir: Some(dir) },
        Backend { name: "postgres", url: StoreUrl::Postgres(Server::get().database()), _dir: None },
    ]
}

impl Backend {
    fn open(&self) -> Store {
        Store::open_url(&self.url, StoreOptions::default()).unwrap_or_else(|err| panic!("{}: {err}", self.name))
    }

    fn reader(&self) -> StoreReader {
        StoreReader::open_url(&self.url).unwrap().unwrap_or_else(|| panic!("{}: no store", self.name))
    }
}

fn created(id: TaskId, title: &str, repo: Option<&str>) -> NewEvent {
    let mut spec = TaskSpec::titled(title);
    spec.repo = repo.map(str::to_owned);
    NewEvent::for_task(id, Actor::local_human(), EventKind::TaskCreated { spec })
}

fn moved(id: TaskId, from: TaskStatus, to: TaskStatus) -> NewEvent {
    NewEvent::for_task(id, Actor::Orchestrator, EventKind::StatusChanged { from, to, reason: "test".into() })
}

/// A task taken from received to `to` along the usual path.
fn task_at(store: &Store, title: &str, repo: Option<&str>, to: TaskStatus) -> TaskId {
    let id = TaskId::new();
    let mut events = vec![created(id, title, repo)];
    let path = [TaskStatus::Received, TaskStatus::Queued, TaskStatus::Running];
    for pair in path.windows(2) {
        if pair[0] == to {
            break;
        }
        events.push(moved(id, pair[0], pair[1]));
    }
    if !path.contains(&to) {
        events.push(moved(id, TaskStatus::Running, to));
    }
    store.append(events).unwrap();
    id
}

#[test]
fn appends_are_numbered_chained_and_verified_alike() {
    for backend in backends() {
        let store = backend.open();
        let id = TaskId::new();
        let first = store.append(vec![created(id, "one", None)]).unwrap();
        let second = store.append(vec![moved(id, TaskStatus::Received, TaskStatus::Queued)]).unwrap();
        assert_eq!((first[0].seq, second[0].seq), (1, 2), "{}", backend.name);
        assert_eq!(second[0].prev_hash, first[0].hash, "{}", backend.name);

        for reader in [store.reader(), backend.reader()] {
            assert_eq!(reader.head().unwrap().seq, 2, "{}", backend.name);
            assert_eq!(reader.head().unwrap().hash, second[0].hash, "{}", backend.name);
            let history = reader.task_events(id).unwrap();
            assert_eq!(history.iter().map(|e| e.seq).collect::<Vec<_>>(), [1, 2], "{}", backend.name);
            assert_eq!(history[1], *second[0], "{}", backend.name);
            assert_eq!(reader.events_after(1, 10).unwrap().len(), 1, "{}", backend.name);
            assert_eq!(
                reader.verify().unwrap(),
                Verification::Ok { events: 2, head: second[0].hash },
                "{}",
                backend.name
            );
        }
        let task = store.reader().task(id).unwrap().unwrap();
        assert_eq!((task.status, task.event_count), (TaskStatus::Queued, 2), "{}", backend.name);
    }
}

#[test]
fn a_request_that_does_not_fit_is_refused_whole_and_takes_no_numbers() {
    for backend in backends() {
        let store = backend.open();
        let id = TaskId::new();
        store.append(vec![created(id, "one", None)]).unwrap();
        let err = store
            .append(vec![
                moved(id, TaskStatus::Received, TaskStatus::Queued),
                moved(id, TaskStatus::Queued, TaskStatus::PrReady),
            ])
            .unwrap_err();
        assert!(matches!(err, StoreError::Rejected(_)), "{}: {err}", backend.name);
        let err = store.append(vec![created(id, "again", None)]).unwrap_err();
        assert!(matches!(err, StoreError::Rejected(_)), "{}: a task is created once: {err}", backend.name);
        let err = store.append(vec![moved(TaskId::new(), TaskStatus::Received, TaskStatus::Queued)]).unwrap_err();
        assert!(matches!(err, StoreError::Rejected(_)), "{}: {err}", backend.name);
        assert_eq!(store.reader().task(id).unwrap().unwrap().status, TaskStatus::Received, "{}", backend.name);
        let next = store.append(vec![moved(id, TaskStatus::Received, TaskStatus::Queued)]).unwrap();
        assert_eq!(next[0].seq, 2, "{}", backend.name);
        assert!(matches!(store.reader().verify().unwrap(), Verification::Ok { events: 2, .. }), "{}", backend.name);
    }
}

#[test]
fn projections_and_their_indexes_answer_alike() {
    for backend in backends() {
        let store = backend.open();
        let done = task_at(&store, "Fix the pagination of invoices", Some("/r/billing"), TaskStatus::PrReady);
        let running = task_at(&store, "Paginate the invoices export", Some("/r/billing"), TaskStatus::Running);
        let queued = task_at(&store, "Rename a config key", Some("/r/other"), TaskStatus::Queued);
        let reader = store.reader();
        let name = backend.name;

        let ids = |tasks: Vec<ambidex::domain::Task>| tasks.into_iter().map(|t| t.id).collect::<Vec<_>>();
        assert_eq!(ids(reader.tasks().unwrap()), [done, running, queued], "{name}");
        assert_eq!(reader.task_ids().unwrap(), [done, running, queued], "{name}");
        assert_eq!(ids(reader.unfinished_tasks().unwrap()), [running, queued], "{name}");
        assert_eq!(ids(reader.current_tasks(5).unwrap()), [done, running, queued], "{name}");
        assert_eq!(ids(reader.current_tasks(0).unwrap()), [running, queued], "{name}");

        let page = reader.task_page(&TaskQuery { limit: 2, ..TaskQuery::default() }).unwrap();
        assert_eq!(
            (ids(page.tasks.clone()), page.total, page.next),
            (vec![queued, running], 3, Some(running)),
            "{name}"
        );
        let rest = reader.task_page(&TaskQuery { limit: 2, before: page.next, ..TaskQuery::default() }).unwrap();
        assert_eq!((ids(rest.tasks), rest.next), (vec![done], None), "{name}");
        let billing = TaskQuery { repo: Some("/r/billing".into()), ..TaskQuery::default() };
        assert_eq!(ids(reader.task_page(&billing).unwrap().tasks), [running, done], "{name}");
        let failed = TaskQuery { statuses: vec![TaskStatus::PrReady], ..TaskQuery::default() };
        assert_eq!(ids(reader.task_page(&failed).unwrap().tasks), [done], "{name}");

        let similar: Vec<TaskId> =
            reader.similar_tasks("Paginate invoices").unwrap().into_iter().map(|brief| brief.id).collect();
        assert_eq!(similar, [running, done], "{name}: newest first, sharing half the words");
        assert!(reader.similar_tasks("the and of").unwrap().is_empty(), "{name}");

        let suffix = running.to_string();
        assert_eq!(reader.find_task(&suffix[suffix.len() - 6..]).unwrap().id, running, "{name}");
        assert!(reader.find_task("zzzzzzzz").is_err(), "{name}");
    }
}

#[test]
fn gates_open_and_are_decided_alike() {
    for backend in backends() {
        let store = backend.open();
        let id = task_at(&store, "Gated", None, TaskStatus::Running);
        let gate = GateId::new();
        let opened = EventKind::GateOpened {
            gate,
            kind: GateKind::PullRequest,
            reason: "create the PR?".into(),
            evidence_hash: None,
            allowed: vec![Decision::Approve, Decision::Stop],
            options: Vec::new(),
        };
        store.append(vec![NewEvent::for_task(id, Actor::Orchestrator, opened)]).unwrap();
        let waiting = store.reader().task(id).unwrap().unwrap();
        assert_eq!(waiting.open_gates.iter().map(|g| g.id).collect::<Vec<_>>(), [gate], "{}", backend.name);

        let decided = EventKind::GateDecided { gate, decision: Decision::Approve, note: None, choice: None };
        store.append(vec![NewEvent::for_task(id, Actor::local_human(), decided.clone())]).unwrap();
        assert!(backend.reader().task(id).unwrap().unwrap().open_gates.is_empty(), "{}", backend.name);
        let again = store.append(vec![NewEvent::for_task(id, Actor::local_human(), decided)]);
        assert!(matches!(again, Err(StoreError::Rejected(_))), "{}: a gate is decided once", backend.name);
    }
}

#[test]
fn other_projections_follow_their_events() {
    for backend in backends() {
        let store = backend.open();
        let allowed = EventKind::SetupNetworkAllowed { repo: "/r/a".into(), commands: vec!["npm ci".into()] };
        store.append(vec![NewEvent { task: None, actor: Actor::local_human(), kind: allowed }]).unwrap();
        let reader = backend.reader();
        assert_eq!(reader.setup_network("/r/a").unwrap(), Some(vec!["npm ci".to_owned()]), "{}", backend.name);
        assert_eq!(reader.setup_network("/r/b").unwrap(), None, "{}", backend.name);
        assert_eq!(reader.memory_version().unwrap(), 0, "{}", backend.name);
        assert!(reader.memory().unwrap().is_empty() && reader.museum().unwrap().is_empty(), "{}", backend.name);
    }
}

#[test]
fn concurrent_writers_share_one_gap_free_chain() {
    for backend in backends() {
        // Two writers on one store where the backend allows it (PostgreSQL: two processes'
        // worth of sessions); one writer with many appending threads otherwise.
        let stores: Vec<Arc<Store>> = if backend.url.is_shared() {
            vec![Arc::new(backend.open()), Arc::new(backend.open())]
        } else {
            vec![Arc::new(backend.open())]
        };
        let threads: Vec<_> = (0..8)
            .map(|n| {
                let store = stores[n % stores.len()].clone();
                std::thread::spawn(move || {
                    for _ in 0..10 {
                        task_at(&store, "concurrent work", None, TaskStatus::Queued);
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        let reader = backend.reader();
        assert_eq!(reader.verify().unwrap().clone(), verified(reader.head().unwrap()), "{}", backend.name);
        assert_eq!(reader.head().unwrap().seq, 8 * 10 * 2, "{}", backend.name);
        let seqs: BTreeSet<u64> = reader.events_after(0, 10_000).unwrap().iter().map(|e| e.seq).collect();
        assert_eq!(seqs, (1..=160).collect(), "{}", backend.name);
        assert_eq!(reader.tasks().unwrap().len(), 80, "{}", backend.name);
    }
}

fn verified(head: ambidex::store::Head) -> Verification {
    Verification::Ok { events: head.seq, head: head.hash }
}

#[test]
fn a_reopened_store_goes_on_where_it_stopped() {
    for backend in backends() {
        let store = backend.open();
        let id = task_at(&store, "before", None, TaskStatus::Running);
        let head = store.reader().head().unwrap();
        // Dropped without closing, as a killed process leaves it.
        drop(store);
        let store = backend.open();
        assert_eq!(store.reader().head().unwrap(), head, "{}", backend.name);
        assert_eq!(store.reader().unfinished_tasks().unwrap()[0].id, id, "{}", backend.name);
        let next = store.append(vec![moved(id, TaskStatus::Running, TaskStatus::Failed)]).unwrap();
        assert_eq!(next[0].seq, head.seq + 1, "{}", backend.name);
        assert_eq!(next[0].prev_hash, head.hash, "{}", backend.name);
        store.close();
        assert_eq!(backend.reader().verify().unwrap(), verified(backend.reader().head().unwrap()), "{}", backend.name);
    }
}

#[test]
fn a_changed_event_in_the_database_is_found_by_verify() {
    let server = Server::get();
    let url = server.database();
    let store = Store::open_url(&StoreUrl::Postgres(url.clone()), StoreOptions::default()).unwrap();
    for n in 0..5 {
        task_at(&store, &format!("task {n}"), None, TaskStatus::Queued);
    }
    store.close();
    let mut db = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    // Someone with database access rewrites history: one byte of event #4's body.
    db.execute(
        "UPDATE ambidex_events SET record = overlay(record placing '\\x58'::bytea from 80 for 1) WHERE seq = 4",
        &[],
    )
    .unwrap();
    let reader = StoreReader::open_url(&StoreUrl::Postgres(url.clone())).unwrap().unwrap();
    match reader.verify().unwrap() {
        Verification::Broken { seq, verified, .. } => assert_eq!((seq, verified), (4, 3)),
        ok => panic!("tampering went unnoticed: {ok:?}"),
    }
    // Or removes the newest event.
    db.execute("DELETE FROM ambidex_events WHERE seq = 10", &[]).unwrap();
    db.execute(
        "UPDATE ambidex_events SET record = (SELECT record FROM ambidex_events WHERE seq = 3) WHERE seq = 4",
        &[],
    )
    .unwrap();
    assert!(matches!(reader.verify().unwrap(), Verification::Broken { .. }));
}

#[test]
fn an_unreachable_server_is_named_with_what_to_do() {
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = StoreUrl::Postgres(format!("postgres://ambidex:hunter2@127.0.0.1:{port}/nothing?connect_timeout=2"));
    let err = Store::open_url(&url, StoreOptions::default()).err().expect("no server, no store").to_string();
    assert!(err.contains(&format!("127.0.0.1:{port}")), "{err}");
    assert!(err.contains("store.url"), "{err}");
    assert!(!err.contains("hunter2"), "the password stays out of messages: {err}");
}

#[test]
fn a_session_the_server_drops_is_opened_again() {
    let url = Server::get().database();
    let store = Store::open_url(&StoreUrl::Postgres(url.clone()), StoreOptions::default()).unwrap();
    task_at(&store, "before", None, TaskStatus::Queued);
    // An administrator (or a failover) ends every session of the database.
    let dbname = url.rsplit('/').next().unwrap().to_owned();
    let mut admin = postgres::Client::connect(&Server::get().url("postgres"), postgres::NoTls).unwrap();
    admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", &[&dbname]).unwrap();
    // The first append may learn of it, and then says so; the next one opens a new session.
    let id = TaskId::new();
    if let Err(err) = store.append(vec![created(id, "after", None)]) {
        assert!(matches!(err, StoreError::Server { .. }), "{err}");
        store.append(vec![created(id, "after", None)]).unwrap();
    }
    let reader = store.reader();
    assert_eq!(reader.task(id).unwrap().unwrap().spec.title, "after");
    assert!(matches!(reader.verify().unwrap(), Verification::Ok { events: 3, .. }));
}

#[test]
fn a_shared_store_opens_and_answers_from_async_code() {
    // The control room, `serve` and workers open the store on tokio's threads.
    let url = StoreUrl::Postgres(Server::get().database());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let store = Store::open_url(&url, StoreOptions::default()).unwrap();
        let id = TaskId::new();
        store.appender().append_async(vec![created(id, "from async code", None)]).await.unwrap();
        assert_eq!(store.reader().task(id).unwrap().unwrap().spec.title, "from async code");
        assert!(StoreReader::open_url(&url).unwrap().is_some());
        drop(store);
    });
}

#[test]
fn a_process_hears_what_the_others_commit_to_a_shared_store_and_only_that() {
    let url = StoreUrl::Postgres(Server::get().database());
    let (heard, hear) = std::sync::mpsc::channel();
    let foreign: ambidex::store::CommitHook = Box::new(move |events| {
        for event in events {
            let _ = heard.send(event.seq);
        }
    });
    let listening = Store::open_url(&url, StoreOptions { foreign: Some(foreign), ..StoreOptions::default() }).unwrap();
    let other = Store::open_url(&url, StoreOptions::default()).unwrap();
    task_at(&listening, "mine", None, TaskStatus::Queued);
    task_at(&other, "theirs", None, TaskStatus::Queued);
    task_at(&listening, "mine again", None, TaskStatus::Queued);
    task_at(&other, "theirs again", None, TaskStatus::Queued);
    let mut seqs = Vec::new();
    while seqs.len() < 4 {
        seqs.push(hear.recv_timeout(std::time::Duration::from_secs(10)).expect("the other process's events arrive"));
    }
    // Each task_at is one request of two events: the other process's are #3-4 and #7-8.
    assert_eq!(seqs, [3, 4, 7, 8]);
    assert!(hear.recv_timeout(std::time::Duration::from_millis(700)).is_err(), "its own events are not repeated");
}

#[test]
fn an_older_database_is_upgraded_once_and_a_newer_one_is_refused() {
    let url = Server::get().database();
    let store = Store::open_url(&StoreUrl::Postgres(url.clone()), StoreOptions::default()).unwrap();
    assert!(store.migration().is_none(), "a new database is created, not upgraded");
    let id = task_at(&store, "kept across the upgrade", None, TaskStatus::Queued);
    store.close();
    // As the first schema left it: no leases yet.
    let mut db = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    db.batch_execute("DROP TABLE ambidex_leases; DELETE FROM ambidex_migrations WHERE version > 1").unwrap();

    // Two processes open it at once: one upgrades, the other finds it current.
    let opens: Vec<_> = (0..2)
        .map(|_| {
            let url = StoreUrl::Postgres(url.clone());
            std::thread::spawn(move || Store::open_url(&url, StoreOptions::default()).unwrap().migration().cloned())
        })
        .collect();
    let upgrades: Vec<_> = opens.into_iter().filter_map(|open| open.join().unwrap()).collect();
    assert_eq!(upgrades.len(), 1, "upgraded exactly once: {upgrades:?}");
    assert_eq!((upgrades[0].from, upgrades[0].to), (1, 2));
    let reader = StoreReader::open_url(&StoreUrl::Postgres(url.clone())).unwrap().unwrap();
    assert_eq!(reader.task(id).unwrap().unwrap().spec.title, "kept across the upgrade");
    assert_eq!(reader.migrations().unwrap().len(), 2);

    db.execute("INSERT INTO ambidex_migrations VALUES (99, 'later')", &[]).unwrap();
    let newer = Store::open_url(&StoreUrl::Postgres(url.clone()), StoreOptions::default()).err().unwrap();
    assert!(matches!(newer, StoreError::NewerSchema { found: 99, .. }), "{newer}");
    assert!(StoreReader::open_url(&StoreUrl::Postgres(url)).is_err());
}

#[test]
fn racing_workers_never_hold_one_task_and_a_lease_changes_hands_only_when_it_expires() {
    let url = StoreUrl::Postgres(Server::get().database());
    let store = Store::open_url(&url, StoreOptions::default()).unwrap();
    let queued: BTreeSet<TaskId> = (0..20).map(|_| task_at(&store, "queued work", None, TaskStatus::Queued)).collect();
    let ttl = std::time::Duration::from_secs(60);
    // Eight workers, each with its own sessions, claim as fast as they can.
    let claimers: Vec<_> = (0..8)
        .map(|n| {
            let url = url.clone();
            std::thread::spawn(move || {
                let store = Store::open_url(&url, StoreOptions::default()).unwrap();
                let leases = store.leases().unwrap().clone();
                let mut mine = Vec::new();
                while let Some(id) = leases.claim_next(&format!("w{n}"), ttl, &[]).unwrap() {
                    mine.push(id);
                }
                mine
            })
        })
        .collect();
    let claimed: Vec<TaskId> = claimers.into_iter().flat_map(|claimer| claimer.join().unwrap()).collect();
    assert_eq!(claimed.len(), queued.len(), "no task was claimed twice: {claimed:?}");
    assert_eq!(claimed.iter().copied().collect::<BTreeSet<_>>(), queued);

    // A live lease is its holder's; an expired one is anyone's.
    let leases = store.leases().unwrap();
    let id = task_at(&store, "contested", None, TaskStatus::Queued);
    let short = std::time::Duration::from_millis(1500);
    assert_eq!(leases.take(id, "first", short).unwrap(), Ok(()));
    assert_eq!(leases.take(id, "second", ttl).unwrap(), Err("first".to_owned()));
    assert_eq!(leases.claim_next("second", ttl, &[]).unwrap(), None, "nothing else is free");
    assert_eq!(leases.renew("first", short).unwrap(), 1);
    std::thread::sleep(std::time::Duration::from_millis(1700));
    assert_eq!(leases.claim_next("second", ttl, &[]).unwrap(), Some(id), "taken over once expired");
    assert_eq!(leases.take(id, "first", ttl).unwrap(), Err("second".to_owned()));
    leases.release(id, "second").unwrap();
    assert!(leases.holders().unwrap().iter().all(|(held, _)| *held != id));
}
