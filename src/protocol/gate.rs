//! Gates: the human decision points that code enforces from policy.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Why a gate was opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GateKind {
    /// Approve the plan before implementation (risk ≥ medium).
    Plan,
    /// A command matched a `prompt` policy rule.
    Command,
    /// Promote an exploratory result into the production track.
    Promotion,
    /// Create the pull request.
    PullRequest,
    /// A budget was exceeded.
    Budget,
    /// A circuit breaker tripped.
    Breaker,
    /// Retries are spent; a human decides how to go on.
    Escalation,
    /// The change touches a sensitive area (migrations, auth, billing, secrets, …).
    Sensitive,
    /// Removing a worktree that still holds work.
    DiscardWork,
}

impl fmt::Display for GateKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            GateKind::Plan => "plan",
            GateKind::Command => "command",
            GateKind::Promotion => "promotion",
            GateKind::PullRequest => "pull_request",
            GateKind::Budget => "budget",
            GateKind::Breaker => "breaker",
            GateKind::Escalation => "escalation",
            GateKind::Sensitive => "sensitive",
            GateKind::DiscardWork => "discard_work",
        })
    }
}

/// A human's answer to a gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// Go on.
    Approve,
    /// Go on, and approve further gates of this kind for this task without asking.
    ApproveForTask,
    /// Stop; the task goes back or fails, as the gate says.
    Reject,
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Decision::Approve => "approve",
            Decision::ApproveForTask => "approve_for_task",
            Decision::Reject => "reject",
        })
    }
}
