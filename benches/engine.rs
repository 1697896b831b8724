//! Engine benchmarks: the overhead of one agent turn with a zero-latency scripted model (model
//! request, stream, persistence of usage and message), and 100 tasks through the whole production
//! track under the concurrency limit, with throughput and peak memory.

// Test and benchmark code may unwrap and panic: that is how it reports a failure (see clippy.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use futures::future::BoxFuture;

use ambidex::agents::{AgentHost, AgentOutcome, AgentSpec, run_agent};
use ambidex::config::{Config, ProviderConfig, ProviderKind};
use ambidex::llm::{Prices, ScriptedClient};
use ambidex::orchestrator::scheduler::drive_all;
use ambidex::orchestrator::{AutoApprove, Ending, Engine, EngineSetup};
use ambidex::playbooks::Policy;
use ambidex::protocol::{Actor, AgentIdentity, Command, Decision, NewEvent, Role, TaskId, TaskSpec, Track};
use ambidex::redact::Redactor;
use ambidex::store::{Appender, Store};
use ambidex::tools::broker::{AgentScope, ApprovalRequest, Broker, BrokerConfig, ToolHost};
use ambidex::tools::budget::{BudgetLimits, BudgetUsage};
use ambidex::tools::sandbox::{SandboxLevel, probe};
use ambidex::workspace::{WorktreeRequest, create};

const TURNS: usize = 50;

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

struct StoreHost {
    appender: Appender,
}

impl ToolHost for StoreHost {
    fn record(&self, events: Vec<NewEvent>) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move { self.appender.append_async(events).await.map(|_| ()).map_err(|e| e.to_string()) })
    }

    fn approve(&self, _: ApprovalRequest) -> BoxFuture<'_, (Decision, Option<String>)> {
        Box::pin(async { (Decision::Approve, None) })
    }
}

impl AgentHost for StoreHost {
    fn delta(&self, _: &Actor, _: &str) {}
}

fn agent_turn(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let repo = repo(dir.path());
    let task = TaskId::new();
    let worktree = create(&WorktreeRequest {
        repo,
        task,
        candidate: "production".into(),
        base: None,
        root: dir.path().join("worktrees"),
    })
    .unwrap();
    let store = Store::open(&dir.path().join("state.redb")).unwrap();
    let created = NewEvent::for_task(
        task,
        Actor::local_human(),
        ambidex::protocol::EventKind::TaskCreated { spec: TaskSpec::titled("bench") },
    );
    store.append(vec![created]).unwrap();
    let host = StoreHost { appender: store.appender() };
    let mut script = String::new();
    for _ in 0..TURNS {
        script.push_str("[[turn]]\nrole = \"implementer\"\ntext = \"Thinking about the next step of the change.\"\nusage = { input_tokens = 1000, output_tokens = 20 }\n");
    }
    script.push_str(
        "[[turn]]\nrole = \"implementer\"\n[[turn.tool_call]]\nname = \"finish\"\narguments = { summary = \"done\" }\n",
    );
    let broker = Broker::new(
        BrokerConfig {
            policy: Policy::built_in().unwrap().commands,
            sandbox: SandboxLevel::None,
            helper: PathBuf::from(env!("CARGO_BIN_EXE_ambidex")),
            command_timeout: Duration::from_secs(10),
            output_cap: 4096,
            result_cap: 4096,
            paths: Default::default(),
            gaps: Vec::new(),
            mcp: None,
        },
        Arc::new(Redactor::new([])),
    );
    let redactor = Redactor::from_env([]);
    let spec = AgentSpec {
        role: Role::Implementer,
        model: String::new(),
        system: "You are the implementer.".repeat(50),
        opening: "Begin.".into(),
        tools: vec!["read_file".into(), "edit_file".into(), "run".into()],
        submit: "finish".into(),
        max_turns: TURNS as u32 + 1,
        candidate: None,
        tuning: Default::default(),
    };
    let mut group = c.benchmark_group("agent_turn");
    group.sample_size(20);
    group.bench_function("scripted_zero_latency_turn", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let client = ScriptedClient::from_toml("bench", "m", &script, Prices::default()).unwrap();
                let actor =
                    Actor::Agent(AgentIdentity { role: Role::Implementer, track: Track::Right, candidate: None });
                let task_budget = Arc::new(Mutex::new(BudgetUsage::new("task", BudgetLimits::default())));
                let mut scope =
                    AgentScope::new(task, actor, worktree.clone(), BudgetLimits::default(), task_budget).unwrap();
                let started = Instant::now();
                let outcome = runtime.block_on(run_agent(&client, &broker, &mut scope, &host, &redactor, &spec));
                total += started.elapsed() / (TURNS as u32 + 1);
                assert!(matches!(outcome, AgentOutcome::Submitted(_)), "{outcome:?}");
            }
            total
        })
    });
    group.finish();
}

/// One turn per role and task: plan, finish, finish, approve, PR.
fn track_script(tasks: usize) -> String {
    let turn = |role: &str, call: &str| format!("[[turn]]\nrole = \"{role}\"\n[[turn.tool_call]]\n{call}\n");
    let mut script = String::new();
    for _ in 0..tasks {
        script.push_str(&turn("planner", "name = \"submit_plan\"\narguments = { summary = \"note\", steps = [], expected_files = [], validation = [\"true\"], rollback = \"revert\" }"));
        script.push_str(&turn("implementer", "name = \"finish\"\narguments = { summary = \"done\" }"));
        script.push_str(&turn("tester", "name = \"finish\"\narguments = { summary = \"done\" }"));
        script.push_str(&turn(
            "reviewer",
            "name = \"submit_review\"\narguments = { verdict = \"approve\", summary = \"ok\", findings = [] }",
        ));
        script.push_str(&turn(
            "pr",
            "name = \"submit_pr\"\narguments = { title = \"t\", summary = \"s\", risks = [], rollback = \"r\" }",
        ));
    }
    script
}

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).map(str::to_owned))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|kb| kb.parse::<f64>().ok()))
        .map_or(0.0, |kb| kb / 1024.0)
}

fn hundred_tasks(c: &mut Criterion) {
    const TASKS: usize = 100;
    const LIMIT: usize = 4;
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut group = c.benchmark_group("queue");
    group.sample_size(10).measurement_time(Duration::from_secs(60));
    group.bench_function("100_tasks_limit_4", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let dir = tempfile::tempdir().unwrap();
                let repo = repo(dir.path());
                let script = dir.path().join("script.toml");
                std::fs::write(&script, track_script(TASKS)).unwrap();
                let mut config = Config::default();
                config.providers.insert(
                    "bench".into(),
                    ProviderConfig {
                        kind: ProviderKind::Scripted,
                        script: script.display().to_string(),
                        ..Default::default()
                    },
                );
                config.models.default_provider = "bench".into();
                let helper = PathBuf::from(env!("CARGO_BIN_EXE_ambidex"));
                let mut setup = EngineSetup::new(config, &repo, probe().best(), helper).unwrap();
                setup.auto_approve = AutoApprove::All;
                let engine = Arc::new(
                    Engine::open_with(&dir.path().join("state/state.redb"), Arc::new(Redactor::new([])), Some(setup))
                        .unwrap(),
                );
                let ids: Vec<TaskId> = (0..TASKS)
                    .map(|i| {
                        let mut spec = TaskSpec::titled(format!("Update the README note number {i} for the release"));
                        spec.acceptance_criteria = vec!["the README mentions the release".into()];
                        spec.repo = Some(repo.display().to_string());
                        spec.risk = Some(ambidex::protocol::Risk::Low);
                        let events = engine.execute_blocking(Command::AddTask { spec }, Actor::local_human()).unwrap();
                        events[0].task.unwrap()
                    })
                    .collect();
                let started = Instant::now();
                let endings = runtime.block_on(drive_all(engine.clone(), ids, LIMIT));
                let elapsed = started.elapsed();
                total += elapsed;
                let ready = endings.iter().filter(|e| matches!(e, Ok(Ending::PrReady(_)))).count();
                assert_eq!(ready, TASKS, "{:?}", endings.iter().find(|e| !matches!(e, Ok(Ending::PrReady(_)))));
                eprintln!(
                    "100 tasks: {:.2?} ({:.1} tasks/s), peak RSS {:.0} MiB",
                    elapsed,
                    TASKS as f64 / elapsed.as_secs_f64(),
                    peak_rss_mib()
                );
            }
            total
        })
    });
    group.finish();
}

criterion_group!(benches, agent_turn, hundred_tasks);
criterion_main!(benches);
