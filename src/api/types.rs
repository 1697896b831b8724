//! The bodies the API sends and accepts, shared by the server and [`ApiClient`](super::ApiClient).
//! Request bodies refuse unknown fields, so a typo is a 400 naming the field, never a silently
//! ignored key.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::domain::Task;
use crate::protocol::{Decision, Event, EventKind, GateId, GateKind, TaskId, TaskStatus, TaskSummary};

/// `GET /v1/tasks`: one page of tasks, newest first, and the log position the list reflects
/// (stream `GET /v1/events?since=head_seq` to follow what happens next).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskList {
    /// One line per task.
    pub tasks: Vec<TaskSummary>,
    /// The sequence number of the last event when the list was read.
    pub head_seq: u64,
    /// Every task in the store, whatever the filters.
    #[serde(default)]
    pub total: u64,
    /// Pass as `cursor` for the next, older page; `None` when this page is the last.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<TaskId>,
}

/// The query of `GET /v1/tasks`: `limit` (1–1000, default 100), `cursor` (a previous page's
/// `next_cursor`), `status` (comma-separated states) and `repo`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskListQuery {
    /// At most this many tasks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
    /// Only tasks older than this one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<TaskId>,
    /// Only tasks in these states, comma-separated (`running,awaiting_gate`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Only tasks of this repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo: Option<String>,
}

/// One gate waiting for a human, as `GET /v1/gates` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GateInfo {
    /// The gate.
    pub gate: GateId,
    /// The task it holds.
    pub task: TaskId,
    /// The task's title.
    pub task_title: String,
    /// Why it was opened.
    pub kind: GateKind,
    /// The reason, in words.
    pub reason: String,
    /// The sequence number of the event that opened it.
    pub opened_seq: u64,
    /// For a choice (the promotion gate): what approving may pick, the recommended one first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
}

/// `POST /v1/gates/{id}/decision`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionRequest {
    /// `approve`, `approve_for_task` or `reject`.
    pub decision: Decision,
    /// A comment the agents and the audit trail see.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// For a choice (the promotion gate): the option picked; absent picks the recommended one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub choice: Option<String>,
}

/// The answer to a decision: what was decided and where the task stands now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionReply {
    /// The gate.
    pub gate: GateId,
    /// The task it held.
    pub task: TaskId,
    /// The decision, as recorded.
    pub decision: Decision,
    /// The task's status after the decision.
    pub status: TaskStatus,
    /// The sequence number of the decision's event (durable when this answer is sent).
    pub seq: u64,
}

/// `POST /v1/tasks/{id}/cancel` (the body is optional).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CancelRequest {
    /// Why, for the audit trail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// `POST /v1/tasks/{id}/rewind`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RewindRequest {
    /// The stage: its name in the playbook, or its kind.
    pub to: String,
    /// What to do differently this time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// `POST /v1/tasks/{id}/clean` (the body is optional).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CleanRequest {
    /// Discard uncommitted changes in the task's worktrees.
    #[serde(default)]
    pub force: bool,
}

/// The answer to a clean: the task as it is now, and the worktrees removed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CleanReply {
    /// The task.
    pub task: Task,
    /// What was removed.
    pub removed: Vec<RemovedWorktree>,
}

/// One worktree a clean removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemovedWorktree {
    /// The candidate label.
    pub candidate: String,
    /// The directory.
    pub path: String,
    /// The branch, when it was deleted too (an evaluation scratch branch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch_deleted: Option<String>,
    /// The bytes the directory took.
    pub bytes: u64,
}

impl RemovedWorktree {
    /// The removals among `events`.
    pub fn from_events(events: &[Arc<Event>]) -> Vec<RemovedWorktree> {
        events
            .iter()
            .filter_map(|event| match &event.kind {
                EventKind::WorktreeRemoved { candidate, path, branch_deleted, bytes } => Some(RemovedWorktree {
                    candidate: candidate.clone(),
                    path: path.clone(),
                    branch_deleted: branch_deleted.clone(),
                    bytes: *bytes,
                }),
                _ => None,
            })
            .collect()
    }
}

/// `POST /v1/tasks/{id}/notes`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoteRequest {
    /// The note, for the agents and the audit trail; it must not be blank.
    pub text: String,
}

/// `GET /v1/memory`: the repository memory and its version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemoryList {
    /// The seq of the memory's last change (0: never changed); tasks record the version their
    /// agents saw.
    pub version: u64,
    /// Every entry (every repository and status), oldest first.
    pub entries: Vec<crate::protocol::MemoryEntry>,
}

/// `GET /v1/museum`: the bug museum.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MuseumList {
    /// Every exhibit (every repository and status), oldest first.
    pub exhibits: Vec<crate::protocol::Exhibit>,
}

/// `GET /v1/playbooks`: the playbook registry and each task class's autonomy (the control
/// room's read of them, as it is).
pub use crate::protocol::PlaybookList;

/// Every error answer: a short machine-readable code, a sentence saying what went wrong and what
/// to do, and the offending field when there is one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// `bad_request`, `unauthorized`, `not_found`, `conflict`, `payload_too_large`,
    /// `unsupported_media_type` or `internal`.
    pub error: String,
    /// What went wrong and what to do.
    pub detail: String,
    /// The request field at fault, when the error is about one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}
