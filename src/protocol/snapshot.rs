//! What a client needs to start: a summary of every task and the log position it reflects, plus
//! the channels it talks to the engine through.

use std::sync::Arc;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, mpsc};

use super::command::Command;
use super::event::Update;
use super::ids::TaskId;
use super::memory::{MemoryEntry, MemoryStatus};
use super::museum::{Exhibit, ExhibitStatus};
use super::queries::Queries;
use super::readiness::ModelUnavailable;
use super::task::{Risk, Route, TaskKind, TaskStatus};

/// One line of the task queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskSummary {
    /// The task.
    pub id: TaskId,
    /// Its title.
    pub title: String,
    /// Where it is.
    pub status: TaskStatus,
    /// Its kind, once known.
    pub kind: Option<TaskKind>,
    /// Its risk, once known.
    pub risk: Option<Risk>,
    /// Its route, once triaged.
    pub route: Option<Route>,
    /// When it was created.
    pub created_at: Timestamp,
    /// Gates waiting for a human.
    pub open_gates: u32,
    /// Money spent so far, in micro-dollars.
    pub cost_micros: u64,
}

/// The state a client starts from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Every task under way and the newest finished ones (the engine keeps 200), oldest first.
    pub tasks: Vec<TaskSummary>,
    /// Updates with a sequence number at or below this are already in `tasks`.
    pub head_seq: u64,
    /// Why no task can run now, if so (no usable model provider); later changes come as
    /// [`Update::Readiness`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unavailable: Option<ModelUnavailable>,
    /// The repository memory's active entries and the proposals waiting for review; later
    /// changes come as `memory_changed` events.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub memory: Vec<MemoryEntry>,
    /// The bug museum's kept exhibits and the proposals waiting for review; later changes come
    /// as `exhibit_changed` events.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub museum: Vec<Exhibit>,
}

impl Snapshot {
    /// The entries of `all` a client shows: the active ones and the proposals waiting.
    pub fn memory_shown(all: Vec<MemoryEntry>) -> Vec<MemoryEntry> {
        all.into_iter().filter(|e| matches!(e.status, MemoryStatus::Active | MemoryStatus::Pending)).collect()
    }

    /// The exhibits of `all` a client shows: the kept ones and the proposals waiting.
    pub fn museum_shown(all: Vec<Exhibit>) -> Vec<Exhibit> {
        all.into_iter().filter(|e| matches!(e.status, ExhibitStatus::Kept | ExhibitStatus::Pending)).collect()
    }
}

/// A client's connection to the engine.
pub struct Client {
    /// Where things stood when the client connected.
    pub snapshot: Snapshot,
    /// Everything that happens afterwards.
    pub updates: broadcast::Receiver<Update>,
    /// Where to send commands; failures come back as [`Update::CommandFailed`].
    pub commands: mpsc::UnboundedSender<Command>,
    /// What the client may read besides the updates (past events, diffs); calls may block.
    pub queries: Arc<dyn Queries>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("snapshot", &self.snapshot).finish_non_exhaustive()
    }
}
