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
    /// A command failed for a cause in the environment, not the code (a registry out of reach,
    /// a missing toolchain, a sandbox denial, a full disk, a timeout): approving runs it again,
    /// stopping fails the task with the cause.
    Environment,
    /// A worktree's setup step (the dependency fetch) failed for want of the network: approving
    /// runs it with network, for every task of the repository while its setup commands stay the
    /// same; rejecting fails the task.
    Network,
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
            GateKind::Environment => "environment",
            GateKind::Network => "network",
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
    /// No, as earlier versions recorded it: the task stopped (at a promotion gate, production
    /// kept its own change). Clients now answer with [`Decision::SendBack`] or [`Decision::Stop`].
    Reject,
    /// No, do it this way: the work goes back to the stage that produced what the gate shows,
    /// with the note (required) in that stage's instructions.
    SendBack,
    /// No, and stop: the task ends (failed) and runs again only when the engineer resumes it.
    Stop,
}

impl Decision {
    /// The answers every gate offers.
    pub const OFFERED: [Decision; 4] =
        [Decision::Approve, Decision::ApproveForTask, Decision::SendBack, Decision::Stop];

    /// Whether the work goes on as the gate proposed.
    pub fn approves(self) -> bool {
        matches!(self, Decision::Approve | Decision::ApproveForTask)
    }

    /// Whether the task ends here.
    pub fn stops(self) -> bool {
        matches!(self, Decision::Reject | Decision::Stop)
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Decision::Approve => "approve",
            Decision::ApproveForTask => "approve_for_task",
            Decision::Reject => "reject",
            Decision::SendBack => "send_back",
            Decision::Stop => "stop",
        })
    }
}

/// A gate policy requires for a task, planned at triage and opened when the task gets there.
/// Recorded as its name: `plan`, `sensitive(auth)`, `promotion`, `pull_request`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum GatePlan {
    /// A human approves the plan before implementation.
    Plan,
    /// A human approves a change in a sensitive area before it is made.
    Sensitive {
        /// The area (`auth`, `migrations`, …).
        area: String,
    },
    /// A human approves promoting an exploratory result into the production track.
    Promotion,
    /// A human approves creating the pull request.
    PullRequest,
}

impl GatePlan {
    /// The kind of gate it opens.
    pub fn kind(&self) -> GateKind {
        match self {
            GatePlan::Plan => GateKind::Plan,
            GatePlan::Sensitive { .. } => GateKind::Sensitive,
            GatePlan::Promotion => GateKind::Promotion,
            GatePlan::PullRequest => GateKind::PullRequest,
        }
    }

    /// Reads a name written by [`fmt::Display`].
    pub fn parse(name: &str) -> Option<GatePlan> {
        Some(match name {
            "plan" => GatePlan::Plan,
            "promotion" => GatePlan::Promotion,
            "pull_request" => GatePlan::PullRequest,
            other => {
                let area = other.strip_prefix("sensitive(")?.strip_suffix(')')?;
                GatePlan::Sensitive { area: area.to_owned() }
            }
        })
    }
}

impl fmt::Display for GatePlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GatePlan::Sensitive { area } => write!(f, "sensitive({area})"),
            other => write!(f, "{}", other.kind()),
        }
    }
}

impl Serialize for GatePlan {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for GatePlan {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        GatePlan::parse(&name).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "unknown gate `{name}` (expected plan, sensitive(AREA), promotion or pull_request)"
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn planned_gates_are_recorded_by_name_and_read_back() {
        let plans =
            [GatePlan::Plan, GatePlan::Sensitive { area: "auth".into() }, GatePlan::Promotion, GatePlan::PullRequest];
        let json = serde_json::to_string(&plans).unwrap();
        assert_eq!(json, r#"["plan","sensitive(auth)","promotion","pull_request"]"#);
        assert_eq!(serde_json::from_str::<Vec<GatePlan>>(&json).unwrap(), plans);
        assert!(serde_json::from_str::<GatePlan>("\"merge\"").is_err());
    }
}
