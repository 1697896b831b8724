//! The agent loop against a host whose store refuses writes: the agent stops at the first refused
//! write, whichever it is, and asks the model nothing more.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use futures::stream::BoxStream;
use serde_json::json;

use super::*;
use crate::llm::FinishReason;
use crate::playbooks::{CommandPolicy, Verdict};
use crate::protocol::{AgentIdentity, Decision, TaskId, Track};
use crate::tools::broker::{ApprovalRequest, BrokerConfig};
use crate::tools::budget::{BudgetLimits, BudgetUsage};
use crate::tools::sandbox::SandboxLevel;
use crate::workspace::Worktree;

/// A model that, every turn, says something, may report a retry, and reads a file.
#[derive(Debug)]
struct Chatty {
    requests: Arc<AtomicUsize>,
    retry: bool,
}

impl ModelClient for Chatty {
    fn stream(&self, _request: ModelRequest) -> BoxStream<'static, ModelEvent> {
        let turn = self.requests.fetch_add(1, Ordering::SeqCst);
        let mut events = Vec::new();
        if self.retry {
            events.push(ModelEvent::Retry { attempt: 1, reason: "overloaded".into(), delay: Duration::ZERO });
        }
        events.push(ModelEvent::TextDelta(format!("turn {turn}: reading the file")));
        events.push(ModelEvent::ToolCall(ToolCall {
            id: format!("call-{turn}"),
            name: "read_file".into(),
            // Different arguments each turn, so the repeated-calls breaker stays out of it.
            arguments: json!({ "path": "notes.txt", "start_line": turn + 1 }),
        }));
        events.push(ModelEvent::Finished(FinishReason::ToolCalls));
        Box::pin(futures::stream::iter(events))
    }

    fn name(&self) -> &str {
        "chatty"
    }

    fn model(&self) -> &str {
        "chatty-1"
    }
}

/// A host whose store takes `accepted` writes, then refuses every one.
struct Host {
    accepted: usize,
    writes: Mutex<Vec<Vec<EventKind>>>,
}

impl Host {
    fn accepting(accepted: usize) -> Host {
        Host { accepted, writes: Mutex::new(Vec::new()) }
    }

    /// Every write asked for, refused ones included, by event kind name.
    fn attempts(&self) -> Vec<Vec<String>> {
        let writes = self.writes.lock().unwrap();
        writes.iter().map(|kinds| kinds.iter().map(|k| k.name().to_owned()).collect()).collect()
    }
}

impl ToolHost for Host {
    fn record(&self, events: Vec<NewEvent>) -> BoxFuture<'_, Result<(), String>> {
        let mut writes = self.writes.lock().unwrap();
        writes.push(events.into_iter().map(|e| e.kind).collect());
        let result = if writes.len() <= self.accepted { Ok(()) } else { Err("disk full".to_owned()) };
        Box::pin(async move { result })
    }

    fn approve(&self, _request: ApprovalRequest) -> BoxFuture<'_, (Decision, Option<String>)> {
        Box::pin(async { (Decision::Reject, None) })
    }
}

impl AgentHost for Host {
    fn delta(&self, _actor: &Actor, _text: &str) {}
}

struct Fixture {
    _dir: tempfile::TempDir,
    broker: Broker,
    scope: AgentScope,
    spec: AgentSpec,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.txt"), "one\ntwo\nthree\nfour\nfive\n").unwrap();
    let worktree = Worktree {
        repo: dir.path().to_owned(),
        path: dir.path().to_owned(),
        branch: "ambidex/test/production".into(),
        name: "test".into(),
        base: "0".repeat(40),
    };
    let actor = Actor::Agent(AgentIdentity { role: Role::Implementer, track: Track::Right, candidate: None });
    let task_budget = Arc::new(Mutex::new(BudgetUsage::new("task", BudgetLimits::default())));
    let scope = AgentScope::new(TaskId::new(), actor, worktree, BudgetLimits::default(), task_budget).unwrap();
    let config = BrokerConfig {
        policy: CommandPolicy { default: Verdict::Forbid, rules: Vec::new() },
        sandbox: SandboxLevel::None,
        helper: PathBuf::from("/nonexistent/ambidex"),
        command_timeout: Duration::from_secs(5),
        output_cap: 4096,
        result_cap: 4096,
        paths: Default::default(),
        gaps: Vec::new(),
        mcp: None,
    };
    let spec = AgentSpec {
        role: Role::Implementer,
        model: String::new(),
        system: "You implement.".into(),
        opening: "Read the notes.".into(),
        tools: vec!["read_file".into()],
        submit: "submit_finish".into(),
        max_turns: 5,
        candidate: None,
        tuning: Default::default(),
    };
    Fixture { _dir: dir, broker: Broker::new(config, Arc::new(Redactor::new(Vec::new()))), scope, spec }
}

async fn run(host: &Host, retry: bool) -> (AgentOutcome, usize) {
    let mut f = fixture();
    let requests = Arc::new(AtomicUsize::new(0));
    let client = Chatty { requests: requests.clone(), retry };
    let outcome = run_agent(&client, &f.broker, &mut f.scope, host, &Redactor::new(Vec::new()), &f.spec).await;
    (outcome, requests.load(Ordering::SeqCst))
}

fn assert_audit_failure(outcome: &AgentOutcome) {
    match outcome {
        AgentOutcome::AuditFailed(message) => {
            assert!(message.starts_with(AUDIT_FAILED), "{message}");
            assert!(message.contains("disk full") && message.contains("resume the task"), "{message}");
        }
        other => panic!("expected the audit failure, got {other:?}"),
    }
}

#[tokio::test]
async fn with_every_write_accepted_the_agent_works_until_its_turns_run_out() {
    // The control: the same model and tools run all five turns when the store accepts.
    let host = Host::accepting(usize::MAX);
    let (outcome, requests) = run(&host, false).await;
    assert_eq!(outcome, AgentOutcome::TurnsExhausted(5));
    assert_eq!(requests, 5);
    assert_eq!(host.attempts().len(), 10, "a message and a tool call per turn: {:?}", host.attempts());
}

#[tokio::test]
async fn a_refused_message_write_stops_the_agent_before_its_tool_call() {
    let host = Host::accepting(0);
    let (outcome, requests) = run(&host, false).await;
    assert_audit_failure(&outcome);
    assert_eq!(requests, 1, "no model request after the refused write");
    assert_eq!(host.attempts(), vec![vec!["agent_message".to_owned()]], "the tool was never called");
}

#[tokio::test]
async fn a_refused_tool_call_record_stops_the_agent() {
    let host = Host::accepting(1);
    let (outcome, requests) = run(&host, false).await;
    assert_audit_failure(&outcome);
    assert_eq!(requests, 1, "no model request after the refused write");
    assert_eq!(host.attempts(), vec![vec!["agent_message".to_owned()], vec!["tool_called".to_owned()]]);
}

#[tokio::test]
async fn a_refused_retry_notice_stops_the_agent_mid_stream() {
    let host = Host::accepting(0);
    let (outcome, requests) = run(&host, true).await;
    assert_audit_failure(&outcome);
    assert_eq!(requests, 1);
    assert_eq!(host.attempts(), vec![vec!["model_retry".to_owned()]], "nothing after the refused retry notice");
}

/// A model that reads a file every turn and keeps every request it receives.
#[derive(Debug, Default)]
struct Listening {
    requests: Mutex<Vec<ModelRequest>>,
}

impl ModelClient for Listening {
    fn stream(&self, request: ModelRequest) -> BoxStream<'static, ModelEvent> {
        let mut requests = self.requests.lock().unwrap();
        requests.push(request);
        let turn = requests.len();
        let events = vec![
            ModelEvent::ToolCall(ToolCall {
                id: format!("call-{turn}"),
                name: "read_file".into(),
                arguments: json!({ "path": "notes.txt", "start_line": turn }),
            }),
            ModelEvent::Finished(FinishReason::ToolCalls),
        ];
        Box::pin(futures::stream::iter(events))
    }

    fn name(&self) -> &str {
        "listening"
    }

    fn model(&self) -> &str {
        "listening-1"
    }
}

/// A host on which the engineer writes a message once the agent has made two writes.
struct Messenger {
    writes: AtomicUsize,
}

impl ToolHost for Messenger {
    fn record(&self, _events: Vec<NewEvent>) -> BoxFuture<'_, Result<(), String>> {
        self.writes.fetch_add(1, Ordering::SeqCst);
        Box::pin(async { Ok(()) })
    }

    fn approve(&self, _request: ApprovalRequest) -> BoxFuture<'_, (Decision, Option<String>)> {
        Box::pin(async { (Decision::Reject, None) })
    }
}

impl AgentHost for Messenger {
    fn delta(&self, _actor: &Actor, _text: &str) {}

    fn message_cursor(&self) -> u64 {
        7
    }

    fn messages_after(&self, cursor: u64) -> Vec<(u64, String)> {
        let said = self.writes.load(Ordering::SeqCst) >= 2;
        if said && cursor < 9 { vec![(9, "use the second line".into())] } else { Vec::new() }
    }
}

#[tokio::test]
async fn a_message_from_the_engineer_reaches_the_running_agent_once_at_its_next_turn() {
    let mut f = fixture();
    let client = Listening::default();
    let host = Messenger { writes: AtomicUsize::new(0) };
    run_agent(&client, &f.broker, &mut f.scope, &host, &Redactor::new(Vec::new()), &f.spec).await;
    let requests = client.requests.lock().unwrap();
    let heard = |request: &ModelRequest| {
        request
            .messages
            .iter()
            .filter(|m| matches!(m, Message::User { content } if content.contains("use the second line")))
            .count()
    };
    assert_eq!(heard(&requests[0]), 0, "nothing was said before the first turn");
    let first = requests.iter().position(|r| heard(r) > 0).expect("the message reached the model");
    assert!(first <= 2, "heard at the turn after it was written, not later (turn {first})");
    assert!(requests[first..].iter().all(|r| heard(r) == 1), "heard once, and kept in the conversation");
}
