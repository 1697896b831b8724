//! Triage's decision about a task: what it is, how risky and novel, which hands work on it,
//! within which budgets and behind which gates, with every reason. One type serves the event
//! that records the decision, the task's projection and the code that makes it.

use serde::{Deserialize, Serialize};

use super::gate::{GateKind, GatePlan};
use super::registry::AutonomyLevel;
use super::task::{Risk, Route, TaskKind};
use super::work::TriageBudgets;

/// Triage's decision about a task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Triage {
    /// The task type.
    pub kind: TaskKind,
    /// The risk level: never lower than the declared one.
    pub risk: Risk,
    /// Novelty from 0 (routine) to 100 (never seen).
    pub novelty: u8,
    /// Which hands work on it.
    pub route: Route,
    /// Every reason behind kind, risk, novelty, route, budgets and gates, naming its rule.
    pub reasons: Vec<String>,
    /// The budgets the task runs under (absent in events from before budgets were recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budgets: Option<TriageBudgets>,
    /// The gates policy requires, in the order the task meets them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gates: Vec<GatePlan>,
    /// The sensitive or risky areas it touches.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub areas: Vec<String>,
    /// The content hash of the policy that decided.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub policy_version: String,
    /// The autonomy a human granted the task's class when it was triaged: which of the gates
    /// above the task skips (below high risk only).
    #[serde(default, skip_serializing_if = "AutonomyLevel::is_supervised")]
    pub autonomy: AutonomyLevel,
}

impl Triage {
    /// Whether the decision requires a gate of this kind.
    pub fn requires(&self, kind: GateKind) -> bool {
        self.gates.iter().any(|gate| gate.kind() == kind)
    }

    /// The gates in words.
    pub fn gate_summary(&self) -> String {
        let names: Vec<String> = self.gates.iter().map(GatePlan::to_string).collect();
        let gates = if names.is_empty() { "none".to_owned() } else { names.join(", ") };
        format!("gates: {gates}; never: merge, deploy")
    }
}
