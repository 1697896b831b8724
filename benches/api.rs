//! Local HTTP API throughput on loopback: one task submission round trip (POST /v1/tasks, durable
//! when answered), and bursts of 1,000 submissions from 20 concurrent clients, each with its own
//! connection pool. `api/…` uses a bookkeeping engine (no intake), so it measures the API and the
//! store: HTTP, JSON, one fsync'd commit per batch of concurrent submissions. `api_intake/…` is
//! what `ambidex serve` does: intake and triage (policy rules, repository signals, similar-task
//! history) on every submission, each burst into a fresh store. `api_history/…` is one such
//! submission into an empty store and into one holding 10,000 tasks with like titles (the
//! anchor and the figure of the same run: their ratio is what a growing history costs). With
//! `HISTORY_RUNS=N`, the same comparison for bursts: a `figure` line for `bench/compare.sh`.

// Test and benchmark code may unwrap and panic: that is how it reports a failure (see clippy.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

use ambidex::api::{self, ApiClient, ApiHandle};
use ambidex::config::{ApiConfig, Config};
use ambidex::orchestrator::{Engine, EngineSetup};
use ambidex::protocol::TaskSpec;
use ambidex::redact::Redactor;
use ambidex::tools::sandbox::SandboxLevel;

const CLIENTS: usize = 20;
const BURST: usize = 1_000;

struct Running {
    _dir: tempfile::TempDir,
    _handle: ApiHandle,
    url: String,
    token: String,
}

fn repo(dir: &Path) -> PathBuf {
    let path = dir.join("repo");
    let repo = git2::Repository::init(&path).unwrap();
    std::fs::write(path.join("README.md"), "bench\n").unwrap();
    let mut index = repo.index().unwrap();
    index.add_path(Path::new("README.md")).unwrap();
    let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
    let me = git2::Signature::now("b", "b@example.com").unwrap();
    repo.commit(Some("HEAD"), &me, &me, "init", &tree, &[]).unwrap();
    path
}

/// The API over a fresh store; with `intake`, the engine admits tasks as `ambidex serve` does.
async fn start_with(intake: bool) -> Running {
    start_after(intake, 0).await
}

/// Fills the store at `path` with `tasks` tasks titled like the bench's submissions, received
/// and queued, in batches (the writer's own path, without HTTP or intake).
fn fill(path: &Path, tasks: usize) {
    use ambidex::protocol::{Actor, EventKind, NewEvent, TaskId, TaskStatus};
    let store = ambidex::store::Store::open(path).unwrap();
    for batch in 0..tasks.div_ceil(500) {
        let events = (batch * 500..tasks.min((batch + 1) * 500))
            .flat_map(|n| {
                let id = TaskId::new();
                [
                    NewEvent::for_task(id, Actor::local_human(), EventKind::TaskCreated { spec: spec(n) }),
                    NewEvent::for_task(
                        id,
                        Actor::Orchestrator,
                        EventKind::StatusChanged {
                            from: TaskStatus::Received,
                            to: TaskStatus::Queued,
                            reason: "filled".into(),
                        },
                    ),
                ]
            })
            .collect();
        store.append(events).unwrap();
    }
}

/// [`start_with`] over a store already holding `history` tasks.
async fn start_after(intake: bool, history: usize) -> Running {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("state.redb");
    fill(&store, history);
    // With intake, submissions without a repository get the bench's, as `ambidex serve` gives its own.
    let (engine, default_repo) = if intake {
        let repo = repo(dir.path());
        let setup = EngineSetup::new(Config::default(), &repo, SandboxLevel::None, PathBuf::from("ambidex")).unwrap();
        (Arc::new(Engine::open_with(&store, Arc::new(Redactor::new([])), Some(setup)).unwrap()), Some(repo))
    } else {
        (Arc::new(Engine::open(&store).unwrap()), None)
    };
    let config = ApiConfig { enabled: true, port: 0, max_body_bytes: 1 << 20 };
    let handle = api::serve(engine, &config, dir.path(), default_repo.as_deref()).await.unwrap();
    let token = std::fs::read_to_string(handle.token_path()).unwrap().trim().to_owned();
    Running { url: handle.base_url(), token, _handle: handle, _dir: dir }
}

fn spec(n: usize) -> TaskSpec {
    let mut spec = TaskSpec::titled(format!("Add pagination helper number {n}"));
    spec.acceptance_criteria = vec!["the helper has a test".into()];
    spec
}

async fn burst(url: &str, token: &str) {
    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let client = ApiClient::new(url, token).unwrap();
            tokio::spawn(async move {
                for n in 0..BURST / CLIENTS {
                    client.add_task(&spec(c * 1000 + n)).await.unwrap();
                }
            })
        })
        .collect();
    for client in clients {
        client.await.unwrap();
    }
}

fn submissions(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let running = runtime.block_on(start_with(false));
    let client = ApiClient::new(&running.url, &running.token).unwrap();

    let mut group = c.benchmark_group("api");
    group.throughput(Throughput::Elements(1));
    group.bench_function("submit_one", |b| {
        let mut n = 0;
        b.to_async(&runtime).iter(|| {
            n += 1;
            let (client, spec) = (client.clone(), spec(n));
            async move { client.add_task(&spec).await.unwrap() }
        });
    });
    group.throughput(Throughput::Elements(BURST as u64));
    group.sample_size(10).measurement_time(Duration::from_secs(20));
    group.bench_function("submit_1000_from_20_clients", |b| {
        b.to_async(&runtime).iter(|| burst(&running.url, &running.token));
    });
    group.finish();

    let mut group = c.benchmark_group("api_intake");
    group.throughput(Throughput::Elements(BURST as u64));
    group.sample_size(10).measurement_time(Duration::from_secs(30));
    group.bench_function("submit_1000_from_20_clients", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let running = runtime.block_on(start_with(true));
                let started = Instant::now();
                runtime.block_on(burst(&running.url, &running.token));
                total += started.elapsed();
            }
            total
        });
    });
    group.finish();

    let mut group = c.benchmark_group("api_history");
    group.throughput(Throughput::Elements(1));
    for (name, history) in [("submit_one_empty", 0), ("submit_one_at_10k_tasks", 10_000)] {
        let running = runtime.block_on(start_after(true, history));
        let client = ApiClient::new(&running.url, &running.token).unwrap();
        group.bench_function(name, |b| {
            let mut n = 0;
            b.to_async(&runtime).iter(|| {
                n += 1;
                let (client, spec) = (client.clone(), spec(100_000 + n));
                async move { client.add_task(&spec).await.unwrap() }
            });
        });
    }
    group.finish();
    bursts_against_history(&runtime);
}

/// A burst of [`BURST`] submissions from [`CLIENTS`] clients with intake, into a fresh store of
/// 10,000 tasks against one into a fresh empty store, alternating `HISTORY_RUNS` times (none when
/// unset): a `figure` line for `bench/compare.sh` (tab-separated name, then the 10,000-task
/// store's and the empty store's minimum, median and maximum in milliseconds).
fn bursts_against_history(runtime: &tokio::runtime::Runtime) {
    let runs = std::env::var("HISTORY_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(0usize);
    if runs == 0 {
        return;
    }
    let timed = |history: usize| {
        let running = runtime.block_on(start_after(true, history));
        let started = Instant::now();
        runtime.block_on(burst(&running.url, &running.token));
        started.elapsed().as_secs_f64() * 1000.0
    };
    let (mut ours, mut anchor) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        anchor.push(timed(0));
        ours.push(timed(10_000));
    }
    let spread = |ms: &mut Vec<f64>| {
        ms.sort_by(f64::total_cmp);
        format!("{:.1}\t{:.1}\t{:.1}", ms[0], ms[ms.len() / 2], ms[ms.len() - 1])
    };
    println!(
        "figure\t{BURST} submissions from {CLIENTS} clients with intake and triage, 10,000 earlier tasks vs an empty \
         store\t{}\t{}",
        spread(&mut ours),
        spread(&mut anchor)
    );
}

criterion_group!(benches, submissions);
criterion_main!(benches);
