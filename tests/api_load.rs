//! A bounded load test on loopback: 1,000 task submissions from 20 concurrent clients, none
//! lost — every one is answered, listed by `GET /v1/tasks` and seen once in the event stream —
//! with the throughput printed (`cargo test --test api_load -- --nocapture`).

// Test and benchmark code may unwrap and panic: that is how it reports a failure (see clippy.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support {
    pub mod api;
}

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use ambidex::api::ApiClient;
use ambidex::protocol::{Actor, EventKind, NewEvent, TaskSpec};
use support::api::{Server, spec};

const CLIENTS: usize = 20;
const PER_CLIENT: usize = 50;
const LIMIT: Duration = Duration::from_secs(120);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_submissions_from_twenty_clients_are_all_stored_listed_and_streamed() {
    let server = Server::start().await;
    let total = CLIENTS * PER_CLIENT;

    // The stream is open before the first submission, so it must show every one.
    let mut stream = server.client.events(0).await.unwrap();
    let watcher = tokio::spawn(async move {
        let mut created = BTreeSet::new();
        let mut last = 0;
        while created.len() < total {
            let event = stream.next().await.expect("the stream stays open").expect("events parse");
            assert_eq!(event.seq, last + 1, "no gap, no repeat");
            last = event.seq;
            if let EventKind::TaskCreated { .. } = event.kind {
                created.insert(event.task.expect("a task event"));
            }
        }
        created
    });

    let started = Instant::now();
    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| {
            // Each client has its own connection pool, like separate processes.
            let client = ApiClient::new(&server.url, &server.token).unwrap();
            tokio::spawn(async move {
                let mut ids = Vec::with_capacity(PER_CLIENT);
                for n in 0..PER_CLIENT {
                    let spec: TaskSpec =
                        serde_json::from_value(spec(&format!("Load task {n} from client {c}"))).unwrap();
                    ids.push(client.add_task(&spec).await.expect("every submission is accepted").id);
                }
                ids
            })
        })
        .collect();
    let mut submitted = BTreeSet::new();
    for client in clients {
        submitted.extend(tokio::time::timeout(LIMIT, client).await.expect("within the time limit").unwrap());
    }
    let elapsed = started.elapsed();
    assert_eq!(submitted.len(), total, "every answer names a distinct task");

    let listed: BTreeSet<_> = server.client.tasks().await.unwrap().tasks.into_iter().map(|t| t.id).collect();
    assert_eq!(listed, submitted, "GET /v1/tasks lists every one");
    let streamed = tokio::time::timeout(LIMIT, watcher).await.expect("the stream delivers them all").unwrap();
    assert_eq!(streamed, submitted, "the event stream shows every one");

    let rate = total as f64 / elapsed.as_secs_f64();
    println!(
        "api load: {total} submissions from {CLIENTS} clients in {:.2} s = {rate:.0} tasks/s (this build's profile)",
        elapsed.as_secs_f64()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_that_falls_behind_catches_up_from_the_store() {
    let server = Server::start().await;
    let task = server.client.add_task(&serde_json::from_value(spec("Add a last_page helper")).unwrap()).await.unwrap();
    // Opened but not read while far more events commit than the engine's update buffer holds.
    let mut stream = server.client.events(0).await.unwrap();
    for batch in 0..10 {
        let notes = (0..2_000)
            .map(|n| {
                NewEvent::for_task(task.id, Actor::Orchestrator, EventKind::Note { text: format!("note {batch}/{n}") })
            })
            .collect();
        server.engine.append(notes).await.unwrap();
    }
    let head = 20_001;
    let mut last = 0;
    while last < head {
        let event = tokio::time::timeout(LIMIT, stream.next()).await.unwrap().unwrap().unwrap();
        assert_eq!(event.seq, last + 1, "no gap, no repeat after falling behind");
        last = event.seq;
    }
}
