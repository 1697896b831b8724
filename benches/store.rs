//! Store benchmarks: batched event appends against raw redb inserts of the same bytes, the
//! writer's batching under concurrent appenders, and reopening a large store.

// Test and benchmark code may unwrap and panic: that is how it reports a failure (see clippy.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

use ambidex::protocol::{Actor, EventKind, NewEvent, TaskId, TaskSpec};
use ambidex::redact::Redactor;
use ambidex::store::{Store, StoreOptions, StoreReader};

const NOTE: &str = "ran `cargo test -p pagination` — 42 passed, 0 failed; the off-by-one is fixed";

fn notes(task: TaskId, count: usize) -> Vec<NewEvent> {
    (0..count).map(|_| NewEvent::for_task(task, Actor::Orchestrator, EventKind::Note { text: NOTE.into() })).collect()
}

fn created(task: TaskId) -> NewEvent {
    NewEvent::for_task(task, Actor::local_human(), EventKind::TaskCreated { spec: TaskSpec::titled("bench") })
}

fn append(c: &mut Criterion) {
    let mut group = c.benchmark_group("append");
    for batch in [100usize, 1000] {
        group.throughput(Throughput::Elements(batch as u64));

        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("state.redb")).unwrap();
        let task = TaskId::new();
        store.append(vec![created(task)]).unwrap();
        // The same bytes the store writes, for the raw redb comparison.
        let record_len = {
            let event = &store.append(notes(task, 1)).unwrap()[0];
            65 + serde_json::to_vec(&(event.seq, event.at, event.task, &event.actor, &event.kind)).unwrap().len()
        };
        group.bench_with_input(BenchmarkId::new("store", batch), &batch, |b, &batch| {
            b.iter_batched(
                || notes(task, batch),
                |events| store.append(events).unwrap(),
                criterion::BatchSize::SmallInput,
            )
        });

        // The engine's configuration: every event passes the redactor before it is hashed.
        let redacted_dir = tempfile::tempdir().unwrap();
        let redactor = Redactor::new([("OPENAI_API_KEY".to_owned(), "sk-bench-0123456789abcdefghij".to_owned())]);
        let options = StoreOptions { redactor: Some(Arc::new(redactor)), ..StoreOptions::default() };
        let redacted = Store::open_with(&redacted_dir.path().join("state.redb"), options).unwrap();
        redacted.append(vec![created(task)]).unwrap();
        group.bench_with_input(BenchmarkId::new("store_redacted", batch), &batch, |b, &batch| {
            b.iter_batched(
                || notes(task, batch),
                |events| redacted.append(events).unwrap(),
                criterion::BatchSize::SmallInput,
            )
        });

        let raw_dir = tempfile::tempdir().unwrap();
        let db = redb::Database::create(raw_dir.path().join("raw.redb")).unwrap();
        const RAW: redb::TableDefinition<u64, &[u8]> = redb::TableDefinition::new("raw");
        let payload = vec![7u8; record_len];
        let mut next = 0u64;
        group.bench_with_input(BenchmarkId::new("raw_redb", batch), &batch, |b, &batch| {
            b.iter(|| {
                let txn = db.begin_write().unwrap();
                {
                    let mut table = txn.open_table(RAW).unwrap();
                    for _ in 0..batch {
                        next += 1;
                        table.insert(next, payload.as_slice()).unwrap();
                    }
                }
                txn.commit().unwrap();
            })
        });
    }
    group.finish();
}

/// 8 threads each appending one event at a time: the writer folds them into shared commits.
fn concurrent(c: &mut Criterion) {
    let mut group = c.benchmark_group("append_concurrent");
    const THREADS: usize = 8;
    const PER_THREAD: usize = 200;
    group.throughput(Throughput::Elements((THREADS * PER_THREAD) as u64));
    group.sample_size(10);
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("state.redb")).unwrap();
    let task = TaskId::new();
    store.append(vec![created(task)]).unwrap();
    group.bench_function("8_threads_single_events", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let start = Instant::now();
                std::thread::scope(|scope| {
                    for _ in 0..THREADS {
                        let appender = store.appender();
                        scope.spawn(move || {
                            for _ in 0..PER_THREAD {
                                appender.append(notes(task, 1)).unwrap();
                            }
                        });
                    }
                });
                total += start.elapsed();
            }
            total
        })
    });
    group.finish();
}

/// Builds a store of `tasks` tasks with `per_task` events each, in large batches.
fn build_large_store(path: &Path, tasks: usize, per_task: usize) {
    let store = Store::open(path).unwrap();
    let ids: Vec<TaskId> = (0..tasks).map(|_| TaskId::new()).collect();
    for chunk in ids.chunks(100) {
        let mut events = Vec::with_capacity(chunk.len() * per_task);
        for &id in chunk {
            events.push(created(id));
            events.extend(notes(id, per_task - 1));
        }
        store.append(events).unwrap();
    }
}

fn reopen(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.redb");
    let started = Instant::now();
    build_large_store(&path, 10_000, 100);
    eprintln!("built 10,000 tasks / 1,000,000 events in {:.1?}", started.elapsed());
    let size = std::fs::metadata(&path).unwrap().len();
    eprintln!("store file: {:.1} MiB", size as f64 / (1024.0 * 1024.0));

    let mut group = c.benchmark_group("reopen_10k_tasks_1m_events");
    group.sample_size(10);
    group.bench_function("writer_open_and_load_projections", |b| {
        b.iter(|| {
            let store = Store::open(&path).unwrap();
            store.close();
        })
    });
    group.bench_function("reader_open_and_list_tasks", |b| {
        b.iter(|| {
            let reader = StoreReader::open(&path).unwrap().unwrap();
            assert_eq!(reader.tasks().unwrap().len(), 10_000);
        })
    });
    group.finish();

    let reader = Arc::new(StoreReader::open(&path).unwrap().unwrap());
    let started = Instant::now();
    let verification = reader.verify().unwrap();
    eprintln!("audit verify of 1,000,000 events: {:.2?} ({verification:?})", started.elapsed());
    verify_against_sha256sum(&reader, &path);
}

/// `audit verify` against its anchor, `sha256sum` of the store file, alternating `VERIFY_RUNS`
/// times (default 5): a `figure` line for `bench/compare.sh` (tab-separated name, then the
/// verification's and the anchor's minimum, median and maximum in milliseconds).
fn verify_against_sha256sum(reader: &StoreReader, path: &Path) {
    let runs = std::env::var("VERIFY_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(5usize).max(1);
    let (mut ours, mut anchor) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        let started = Instant::now();
        let status = std::process::Command::new("sha256sum").arg(path).stdout(std::process::Stdio::null()).status();
        if !status.is_ok_and(|s| s.success()) {
            eprintln!("sha256sum is not available: no anchor for audit verify");
            return;
        }
        anchor.push(started.elapsed().as_secs_f64() * 1000.0);
        let started = Instant::now();
        reader.verify().unwrap();
        ours.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    let spread = |ms: &mut Vec<f64>| {
        ms.sort_by(f64::total_cmp);
        format!("{:.1}\t{:.1}\t{:.1}", ms[0], ms[ms.len() / 2], ms[ms.len() - 1])
    };
    println!(
        "figure\taudit verify of 1,000,000 events vs `sha256sum` of the store file\t{}\t{}",
        spread(&mut ours),
        spread(&mut anchor)
    );
}

criterion_group!(benches, append, concurrent, reopen);
criterion_main!(benches);
