//! Commands: everything a client (TUI, CLI, API) may ask the engine to do.

use serde::{Deserialize, Serialize};

use super::gate::Decision;
use super::ids::{GateId, TaskId};
use super::memory::MemoryEdit;
use super::museum::MuseumEdit;
use super::registry::{AutonomyEdit, RegistryEdit};
use super::task::TaskSpec;

/// A request from a client to the engine. The engine answers through events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum Command {
    /// Submit a new task to intake.
    AddTask {
        /// What to do.
        spec: TaskSpec,
    },
    /// Replace a task's spec (after intake asked questions) and resubmit it.
    ReviseTask {
        /// The task.
        task: TaskId,
        /// The revised spec.
        spec: TaskSpec,
    },
    /// Stop a task; its worktrees are kept.
    CancelTask {
        /// The task.
        task: TaskId,
        /// Why, for the audit trail.
        reason: String,
    },
    /// Continue an interrupted task from its last durable step.
    ResumeTask {
        /// The task.
        task: TaskId,
    },
    /// Answer an open gate.
    DecideGate {
        /// The gate.
        gate: GateId,
        /// The answer.
        decision: Decision,
        /// An optional comment, shown to agents.
        note: Option<String>,
        /// For a choice (the promotion gate): the option picked; absent picks the recommended one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        choice: Option<String>,
    },
    /// Remove a finished task's worktrees. Branches with the work on them stay; the evaluation's
    /// scratch branches go. A worktree with uncommitted changes is refused unless `force`.
    CleanTask {
        /// The task.
        task: TaskId,
        /// Discard uncommitted changes.
        #[serde(default)]
        force: bool,
    },
    /// Rewind a stopped task to a stage: its worktree goes back to the checkpoint the stage
    /// started from (the work there is kept on a ref named in the event), and it runs again from
    /// that stage with the note.
    RewindTask {
        /// The task.
        task: TaskId,
        /// The stage: its name in the playbook, or its kind.
        to: String,
        /// What to do differently this time.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    /// Attach a note to a task.
    AddNote {
        /// The task.
        task: TaskId,
        /// The note.
        text: String,
    },
    /// Change the repository memory (add, edit, accept, reject, remove an entry).
    EditMemory {
        /// What to change.
        edit: MemoryEdit,
    },
    /// Change the bug museum (add, keep, reject, edit, remove an exhibit, record a check).
    EditMuseum {
        /// What to change.
        edit: MuseumEdit,
    },
    /// Change the playbook registry (propose, record an evaluation, promote, reject, retire, roll
    /// back).
    EditRegistry {
        /// What to change.
        edit: RegistryEdit,
    },
    /// Grant, decline or tighten a task class's autonomy.
    EditAutonomy {
        /// What to change.
        edit: AutonomyEdit,
    },
    /// Stop the engine cleanly; running tasks resume on the next start.
    Shutdown,
}
