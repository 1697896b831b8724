//! The tool broker end to end: real worktrees, the shipped policy, the best sandbox here, a host
//! that records audit events and answers approvals as a human would.

// Test and benchmark code may unwrap and panic: that is how it reports a failure (see clippy.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support {
    pub mod levels;
}

use std::path::Path;
use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use serde_json::json;

use ambidex::protocol::{Actor, AgentIdentity, Decision, EventKind, NewEvent, Role, TaskId, ToolCallRecord, Track};
use ambidex::redact::Redactor;
use ambidex::tools::broker::{AgentScope, ApprovalRequest, Broker, ToolHost};
use ambidex::tools::budget::{BudgetLimits, BudgetUsage};
use ambidex::tools::sandbox::{SandboxLevel, probe};
use ambidex::workspace::{WorktreeRequest, create};
use support::levels::broker_config;

#[derive(Default)]
struct Host {
    events: Mutex<Vec<NewEvent>>,
    asked: Mutex<Vec<ApprovalRequest>>,
    answer: Mutex<Vec<Decision>>,
    /// The store refuses every write.
    refuse: bool,
}

impl ToolHost for Host {
    fn record(&self, events: Vec<NewEvent>) -> BoxFuture<'_, Result<(), String>> {
        if self.refuse {
            return Box::pin(async { Err("the store is read-only".to_owned()) });
        }
        self.events.lock().unwrap().extend(events);
        Box::pin(async { Ok(()) })
    }

    fn approve(&self, request: ApprovalRequest) -> BoxFuture<'_, (Decision, Option<String>)> {
        self.asked.lock().unwrap().push(request);
        let decision = self.answer.lock().unwrap().pop().unwrap_or(Decision::Reject);
        Box::pin(async move { (decision, Some("not now".to_owned())) })
    }
}

impl Host {
    fn tool_records(&self) -> Vec<ToolCallRecord> {
        self.events
            .lock()
            .unwrap()
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::ToolCalled(record) => Some((**record).clone()),
                _ => None,
            })
            .collect()
    }
}

struct Fixture {
    _dir: tempfile::TempDir,
    scope: AgentScope,
    broker: Broker,
    host: Host,
}

fn user_repo(dir: &Path) {
    let repo = git2::Repository::init(dir).unwrap();
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(dir.join("src/lib.rs"), "pub fn answer() -> u32 {\n    41\n}\n").unwrap();
    std::fs::write(dir.join(".env.example"), "API_TOKEN=changeme\n").unwrap();
    let mut index = repo.index().unwrap();
    index.add_all(["*"], git2::IndexAddOption::DEFAULT, None).unwrap();
    let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
    let me = git2::Signature::now("t", "t@example.com").unwrap();
    repo.commit(Some("HEAD"), &me, &me, "init", &tree, &[]).unwrap();
}

fn fixture(level: SandboxLevel, limits: BudgetLimits) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    user_repo(&repo);
    let task = TaskId::new();
    let worktree = create(&WorktreeRequest {
        repo,
        task,
        candidate: "production".into(),
        base: None,
        root: dir.path().join("worktrees"),
    })
    .unwrap();
    let actor = Actor::Agent(AgentIdentity { role: Role::Implementer, track: Track::Right, candidate: None });
    let task_budget = Arc::new(Mutex::new(BudgetUsage::new("task", BudgetLimits::default())));
    let scope = AgentScope::new(task, actor, worktree, limits, task_budget).unwrap();
    let config = broker_config(level);
    let redactor = Redactor::new([("DEPLOY_TOKEN".to_owned(), "tok-very-secret-123".to_owned())]);
    Fixture { _dir: dir, scope, broker: Broker::new(config, Arc::new(redactor)), host: Host::default() }
}

fn best_level() -> SandboxLevel {
    probe().best()
}

#[tokio::test]
async fn a_call_whose_record_is_refused_says_so_and_tells_the_caller_to_stop() {
    let mut f = fixture(best_level(), BudgetLimits::default());
    let read = f.broker.call(&mut f.scope, &f.host, "read_file", &json!({"path": "src/lib.rs"})).await;
    assert_eq!(read.audit_error, None);
    f.host.refuse = true;
    let read = f.broker.call(&mut f.scope, &f.host, "read_file", &json!({"path": "src/lib.rs"})).await;
    assert_eq!(read.audit_error.as_deref(), Some("the store is read-only"));
    assert!(!read.output.ok);
    assert!(read.output.text.contains("the audit record could not be stored"), "{}", read.output.text);
}

#[tokio::test]
async fn file_tools_work_and_every_call_is_audited_with_identity_and_workspace() {
    let mut f = fixture(best_level(), BudgetLimits::default());
    let read = f.broker.call(&mut f.scope, &f.host, "read_file", &json!({"path": "src/lib.rs"})).await;
    assert!(read.output.ok && read.output.text.contains("2│    41"), "{}", read.output.text);
    let edit = f
        .broker
        .call(&mut f.scope, &f.host, "edit_file", &json!({"path": "src/lib.rs", "old": "    41", "new": "    42"}))
        .await;
    assert!(edit.output.ok, "{}", edit.output.text);
    let listed = f.broker.call(&mut f.scope, &f.host, "list_files", &json!({})).await;
    assert!(
        listed.output.text.contains("src/lib.rs") && !listed.output.text.contains(".git/"),
        "{}",
        listed.output.text
    );
    let found = f.broker.call(&mut f.scope, &f.host, "search", &json!({"pattern": "fn answer"})).await;
    assert!(found.output.text.contains("src/lib.rs:1:pub fn answer"), "{}", found.output.text);
    let diff = f.broker.call(&mut f.scope, &f.host, "git_diff", &json!({})).await;
    assert!(
        diff.output.text.contains("src/lib.rs +1 -1") && diff.output.text.contains("+    42"),
        "{}",
        diff.output.text
    );

    let records = f.host.tool_records();
    assert_eq!(
        records.iter().map(|r| r.tool.as_str()).collect::<Vec<_>>(),
        ["read_file", "edit_file", "list_files", "search", "git_diff"]
    );
    for record in &records {
        assert_eq!(record.workspace.as_deref(), Some(f.scope.worktree.branch.as_str()));
        assert_eq!(record.workdir, f.scope.worktree.path.display().to_string());
        assert!(record.finished_at >= record.started_at);
    }
    let events = f.host.events.lock().unwrap();
    assert!(events.iter().all(|e| e.task == Some(f.scope.task) && e.actor == f.scope.actor));
}

#[tokio::test]
async fn escapes_are_refused_and_still_audited() {
    let mut f = fixture(best_level(), BudgetLimits::default());
    std::os::unix::fs::symlink("/etc/passwd", f.scope.worktree.path.join("passwd")).unwrap();
    for (tool, args) in [
        ("read_file", json!({"path": "passwd"})),
        ("read_file", json!({"path": "../../../etc/hostname"})),
        ("write_file", json!({"path": "/tmp/x", "content": "x"})),
        ("write_file", json!({"path": ".git/config", "content": "x"})),
    ] {
        let result = f.broker.call(&mut f.scope, &f.host, tool, &args).await;
        assert!(!result.output.ok, "{tool} {args}: {}", result.output.text);
    }
    let records = f.host.tool_records();
    assert_eq!(records.len(), 4);
    assert!(records.iter().all(|r| !r.ok));
    assert!(records[0].output.contains("outside the workspace (through a symlink)"), "{}", records[0].output);
}

#[tokio::test]
async fn forbidden_commands_never_run_and_say_why() {
    let mut f = fixture(best_level(), BudgetLimits::default());
    let result =
        f.broker.call(&mut f.scope, &f.host, "run", &json!({"command": "touch planted && git push origin main"})).await;
    assert!(!result.output.ok);
    assert!(result.output.text.contains("only the PR step pushes"), "{}", result.output.text);
    assert!(!f.scope.worktree.path.join("planted").exists(), "no part of a forbidden line runs");
    let record = &f.host.tool_records()[0];
    assert_eq!(record.policy.as_ref().unwrap().verdict, "forbid");
    assert!(record.sandbox.is_none());
}

#[tokio::test]
async fn prompted_commands_wait_for_a_human() {
    let mut f = fixture(best_level(), BudgetLimits::default());
    f.host.answer.lock().unwrap().push(Decision::Reject);
    let rejected = f.broker.call(&mut f.scope, &f.host, "run", &json!({"command": "rm -rf src"})).await;
    assert!(!rejected.output.ok && rejected.output.text.contains("a human rejected this command: not now"));
    assert!(f.scope.worktree.path.join("src/lib.rs").exists());

    f.host.answer.lock().unwrap().push(Decision::ApproveForTask);
    let approved = f.broker.call(&mut f.scope, &f.host, "run", &json!({"command": "frobnicate || true"})).await;
    assert!(approved.output.ok, "{}", approved.output.text);
    let again = f.broker.call(&mut f.scope, &f.host, "run", &json!({"command": "another-unknown-tool || true"})).await;
    assert!(again.output.ok, "{}", again.output.text);
    let asked = f.host.asked.lock().unwrap();
    assert_eq!(asked.len(), 2, "approve-for-task answers later prompts of this task");
    assert_eq!(asked[0].command, "rm -rf src");
    let records = f.host.tool_records();
    assert_eq!(records[0].policy.as_ref().unwrap().decision, Some(Decision::Reject));
    assert_eq!(records[1].policy.as_ref().unwrap().decision, Some(Decision::ApproveForTask));
}

#[tokio::test]
async fn allowed_commands_run_sandboxed_and_their_output_is_redacted() {
    let mut f = fixture(best_level(), BudgetLimits::default());
    std::fs::write(f.scope.worktree.path.join("notes.txt"), "deploy with tok-very-secret-123\n").unwrap();
    let result = f.broker.call(&mut f.scope, &f.host, "run", &json!({"command": "cat notes.txt"})).await;
    assert!(result.output.ok, "{}", result.output.text);
    assert!(result.output.text.contains("[REDACTED:DEPLOY_TOKEN]") && !result.output.text.contains("tok-very"));
    let record = &f.host.tool_records()[0];
    assert_eq!(record.exit_code, Some(0));
    assert_eq!(record.sandbox.as_deref(), Some(best_level().to_string().as_str()));
    assert!(!record.output.contains("tok-very-secret"));
    let read = f.broker.call(&mut f.scope, &f.host, "read_file", &json!({"path": "notes.txt"})).await;
    assert!(!read.output.text.contains("tok-very-secret"));
}

#[tokio::test]
async fn without_a_sandbox_every_command_needs_approval() {
    let mut f = fixture(SandboxLevel::None, BudgetLimits::default());
    let result = f.broker.call(&mut f.scope, &f.host, "run", &json!({"command": "ls"})).await;
    assert!(!result.output.ok);
    let asked = f.host.asked.lock().unwrap();
    assert!(asked[0].reason.contains("no sandbox is available"), "{}", asked[0].reason);
}

#[tokio::test]
async fn a_sandbox_that_cannot_hold_a_row_here_makes_every_command_wait_for_approval() {
    let mut f = fixture(best_level(), BudgetLimits::default());
    let row = ambidex::tools::sandbox::LevelRow {
        level: best_level(),
        available: true,
        reads: true,
        writes: true,
        network: true,
        signals: true,
        processes: false,
        notes: vec!["processes: their number is bounded only by the timeout (no pids cgroup)".into()],
    };
    let gaps = ambidex::orchestrator::sandbox_gaps(std::slice::from_ref(&row), best_level(), &[]);
    assert_eq!(gaps, ["processes (their number is bounded only by the timeout (no pids cgroup))"]);
    let mut config = broker_config(best_level());
    config.gaps = gaps;
    f.broker = Broker::new(config, Arc::new(Redactor::new(Vec::new())));
    let result = f.broker.call(&mut f.scope, &f.host, "run", &json!({"command": "ls"})).await;
    assert!(!result.output.ok, "an allowed command waits too: {}", result.output.text);
    let asked = f.host.asked.lock().unwrap();
    assert!(asked[0].reason.contains("cannot hold processes"), "{}", asked[0].reason);
    assert!(asked[0].reason.contains("sandbox.accept_gaps"), "{}", asked[0].reason);
    let accepted =
        ambidex::orchestrator::sandbox_gaps(&[row], best_level(), &[ambidex::config::ConfinementRow::Processes]);
    assert!(accepted.is_empty(), "an accepted gap no longer gates");
}

#[tokio::test]
async fn budgets_report_once_and_do_not_stop_the_call() {
    let limits = BudgetLimits { tool_calls: Some(2), files_changed: Some(1), ..Default::default() };
    let mut f = fixture(best_level(), limits);
    for i in 0..2 {
        let r = f
            .broker
            .call(&mut f.scope, &f.host, "write_file", &json!({"path": format!("f{i}.txt"), "content": "x\n"}))
            .await;
        assert!(r.output.ok);
        assert_eq!(r.breaches.len(), i, "call {i}: {:?}", r.breaches);
    }
    let third = f.broker.call(&mut f.scope, &f.host, "read_file", &json!({"path": "f0.txt"})).await;
    assert_eq!(third.breaches.len(), 1);
    assert_eq!(third.breaches[0].budget, "tool_calls");
    let exceeded: Vec<String> = f
        .host
        .events
        .lock()
        .unwrap()
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::BudgetExceeded { budget, .. } => Some(budget.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(exceeded, ["files_changed", "tool_calls"]);
}

#[tokio::test]
async fn malformed_calls_get_a_hint_not_a_crash() {
    let mut f = fixture(best_level(), BudgetLimits::default());
    let unknown = f.broker.call(&mut f.scope, &f.host, "delete_everything", &json!({})).await;
    assert!(unknown.output.text.contains("there is no tool `delete_everything`"));
    let missing = f.broker.call(&mut f.scope, &f.host, "read_file", &json!({"file": "x"})).await;
    assert!(missing.output.text.starts_with("invalid arguments for read_file"), "{}", missing.output.text);
    let args = f
        .broker
        .call(&mut f.scope, &f.host, "write_file", &json!({"path": "a", "content": "DEPLOY tok-very-secret-123"}))
        .await;
    assert!(args.output.ok);
    let record = f.host.tool_records().pop().unwrap();
    assert_eq!(
        record.arguments["content"], "DEPLOY [REDACTED:DEPLOY_TOKEN]",
        "arguments are redacted in the audit trail"
    );
}
