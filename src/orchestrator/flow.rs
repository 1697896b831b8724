//! The vocabulary the driver and the stages share: what a step asks the driver to do next
//! ([`Flow`]) and how a run ends ([`Ending`]). Stages return these; only the driver acts on them,
//! so control flows one way: the driver calls a stage, the stage answers, the driver decides.

use crate::protocol::{GateId, GateKind, ModelUnavailable, PullRequest, TaskStatus};

/// How a run of a task ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    /// The pull request is ready for human review.
    PrReady(PullRequest),
    /// A gate waits for a human; run again after deciding it.
    Parked {
        /// The gate.
        gate: GateId,
        /// Its kind.
        kind: GateKind,
    },
    /// The task failed; the reason says why and what to do.
    Failed(String),
    /// A human cancelled it.
    Cancelled,
    /// Intake did not accept it (it needs clarification, was rejected or escalated).
    NotAccepted(TaskStatus),
    /// No model provider can be used now: the task stays queued (it never started, or went back
    /// to the queue when the provider stopped answering) and runs once the provider can be used.
    Waiting(ModelUnavailable),
}

/// A gate a step needs decided before the task can go on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GateRequest {
    /// Its kind.
    pub kind: GateKind,
    /// What the human should know, and what approving and rejecting do.
    pub reason: String,
    /// Only a human may decide it: automatic approval (`--approve`, approve-for-task) does not.
    pub human_only: bool,
}

impl GateRequest {
    /// A request for a gate of `kind`.
    pub fn new(kind: GateKind, reason: impl Into<String>) -> GateRequest {
        GateRequest { kind, reason: reason.into(), human_only: false }
    }

    /// The same request, for a human only when `human_only`.
    pub fn human_only(self, human_only: bool) -> GateRequest {
        GateRequest { human_only, ..self }
    }
}

/// What a step tells the driver. Every step records what it did as events first, so the driver
/// reads what comes next from the task's projection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Flow {
    /// Go on with the next step.
    Next,
    /// Open a gate; approval goes on, rejection stops the task.
    Ask(GateRequest),
    /// The run ends here.
    End(Ending),
}

impl Flow {
    /// Ask for a gate of `kind`.
    pub fn ask(kind: GateKind, reason: impl Into<String>) -> Flow {
        Flow::Ask(GateRequest::new(kind, reason))
    }
}
