//! What agents and the tool broker call back into while they work on a task: persistence,
//! approvals (as gates) and the live stream.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use futures::future::BoxFuture;

use super::Engine;
use super::flow::GateRequest;
use super::gates::GateOutcome;
use crate::agents::AgentHost;
use crate::hooks::{HookConfig, HookEvent};
use crate::protocol::{Actor, Decision, NewEvent, TaskId, TaskStatus};
use crate::tools::broker::{ApprovalRequest, ToolHost};

/// The engine, seen from one task's agents.
pub struct TaskHost {
    engine: Arc<Engine>,
    task: TaskId,
    /// Set when a gate was parked: the agent must stop and the run returns.
    parked: AtomicBool,
}

impl TaskHost {
    /// A host for `task`.
    pub fn new(engine: Arc<Engine>, task: TaskId) -> Self {
        Self { engine, task, parked: AtomicBool::new(false) }
    }

    /// Whether an approval was parked for a human.
    pub fn parked(&self) -> bool {
        self.parked.load(Ordering::SeqCst)
    }
}

impl ToolHost for TaskHost {
    fn record(&self, events: Vec<NewEvent>) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move { self.engine.append(events).await.map(|_| ()).map_err(|err| err.to_string()) })
    }

    fn approve(&self, request: ApprovalRequest) -> BoxFuture<'_, (Decision, Option<String>)> {
        Box::pin(async move {
            let reason = format!("`{}`: {}", request.command, request.reason);
            match self.engine.gate(self.task, GateRequest::new(request.kind, reason), None).await {
                Ok(GateOutcome::Decided(decision, note)) => (decision, note),
                Ok(GateOutcome::Parked(_)) => {
                    self.parked.store(true, Ordering::SeqCst);
                    (Decision::Reject, Some("paused until a human decides the gate".into()))
                }
                Err(err) => (Decision::Reject, Some(format!("the gate could not be opened: {err}"))),
            }
        })
    }

    fn before_call(&self, call: serde_json::Value) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move { self.run_hooks(HookEvent::PreToolCall, call).await })
    }

    fn after_call(&self, call: serde_json::Value) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            let _ = self.run_hooks(HookEvent::PostToolCall, call).await;
        })
    }
}

impl TaskHost {
    /// Runs the tool-call hooks for `event` in the call's worktree, in order, each audited;
    /// stops at the first that fails (exit ≠ 0 or timeout) and says why.
    async fn run_hooks(&self, event: HookEvent, call: serde_json::Value) -> Result<(), String> {
        let Some(setup) = self.engine.setup.clone() else { return Ok(()) };
        let tool = call["tool"].as_str().unwrap_or_default().to_owned();
        let hooks: Vec<HookConfig> = crate::hooks::for_tool(&setup.config.hooks, event, &tool).cloned().collect();
        let dir = call["worktree"].as_str().map(PathBuf::from).unwrap_or_else(|| setup.repo_root.clone());
        let payload = {
            let mut payload = call;
            payload["hook"] = crate::hooks::name(event).into();
            payload
        };
        for hook in hooks {
            let (config, payload, dir) = (hook.clone(), payload.clone(), dir.clone());
            let ran = tokio::task::spawn_blocking(move || crate::hooks::run(&config, &payload, &dir))
                .await
                .map_err(|err| format!("the hook could not run: {err}"))?;
            let blocks = event == HookEvent::PreToolCall && !ran.ok();
            let audited = ran.audited(&hook, self.engine.redactor(), blocks);
            let recorded = self.engine.append(vec![NewEvent::for_task(self.task, Actor::Orchestrator, audited)]).await;
            if blocks {
                let said = self.engine.redactor().redact(ran.output.trim()).into_owned();
                let why = if ran.timed_out {
                    format!("`{}` did not finish within {} s", hook.command, hook.timeout_secs)
                } else if said.is_empty() {
                    format!("`{}` exited with {:?}", hook.command, ran.exit_code)
                } else {
                    said
                };
                return Err(why);
            }
            recorded.map_err(|err| err.to_string())?;
        }
        Ok(())
    }
}

impl AgentHost for TaskHost {
    fn delta(&self, actor: &Actor, text: &str) {
        self.engine.broadcast_delta(self.task, actor, text);
    }

    fn message_cursor(&self) -> u64 {
        self.engine.task(self.task).map_or(0, |task| task.last_seq)
    }

    fn messages_after(&self, cursor: u64) -> Vec<(u64, String)> {
        let Ok(task) = self.engine.task(self.task) else { return Vec::new() };
        task.notes.into_iter().filter(|note| note.seq > cursor).map(|note| (note.seq, note.text)).collect()
    }

    fn should_stop(&self) -> bool {
        self.parked()
            || self
                .engine
                .task(self.task)
                .is_ok_and(|task| matches!(task.status, TaskStatus::Cancelled | TaskStatus::Failed))
    }
}
