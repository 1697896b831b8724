//! What agents and the tool broker call back into while they work on a task: persistence,
//! approvals (as gates) and the live stream.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use futures::future::BoxFuture;

use super::Engine;
use super::flow::GateRequest;
use super::gates::GateOutcome;
use crate::agents::AgentHost;
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
