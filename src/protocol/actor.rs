//! Who did something: the identity every event and every tool call carries for the audit trail.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The two operating modes of the system.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Track {
    /// Right Hand: the production track that makes the final diff and the PR.
    Right,
    /// Left Hand: sandboxed exploration whose output is advisory until promoted.
    Left,
}

impl fmt::Display for Track {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Track::Right => "right",
            Track::Left => "left",
        })
    }
}

/// The role an agent plays; each role has its own prompt, tool set and (optionally) model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Optional model refinement of the policy-based triage.
    Triage,
    /// Right Hand: scoped plan, expected files, validation commands, rollback notes.
    Planner,
    /// Right Hand: edits code in the production worktree.
    Implementer,
    /// Right Hand: adds or updates focused tests.
    Tester,
    /// Right Hand: runs formatters, linters, type checks, tests and builds.
    Ci,
    /// Right Hand: audits the diff.
    Reviewer,
    /// Right Hand: writes the pull request.
    Pr,
    /// Left Hand: proposes alternative designs and decompositions.
    Architect,
    /// Left Hand: builds a competing candidate implementation.
    Challenger,
    /// Left Hand: writes acceptance tests and adversarial checks first.
    EvalDesigner,
    /// Left Hand: hunts for security flaws, rollback risks and hidden regressions.
    FailureAnalyst,
    /// Left Hand: turns the evidence into a recommendation.
    Synthesis,
}

impl Role {
    /// Every role, in pipeline order.
    pub const ALL: [Role; 12] = [
        Role::Triage,
        Role::Planner,
        Role::Implementer,
        Role::Tester,
        Role::Ci,
        Role::Reviewer,
        Role::Pr,
        Role::Architect,
        Role::Challenger,
        Role::EvalDesigner,
        Role::FailureAnalyst,
        Role::Synthesis,
    ];

    /// The snake_case name used in config files, playbooks and scripts.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Triage => "triage",
            Role::Planner => "planner",
            Role::Implementer => "implementer",
            Role::Tester => "tester",
            Role::Ci => "ci",
            Role::Reviewer => "reviewer",
            Role::Pr => "pr",
            Role::Architect => "architect",
            Role::Challenger => "challenger",
            Role::EvalDesigner => "eval_designer",
            Role::FailureAnalyst => "failure_analyst",
            Role::Synthesis => "synthesis",
        }
    }

    /// The track a role belongs to.
    pub fn track(self) -> Track {
        match self {
            Role::Architect | Role::Challenger | Role::EvalDesigner | Role::FailureAnalyst | Role::Synthesis => {
                Track::Left
            }
            _ => Track::Right,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The identity of an agent: its role, its track and, on the Left Hand, its candidate.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AgentIdentity {
    /// What the agent does.
    pub role: Role,
    /// Which hand it works for.
    pub track: Track,
    /// The candidate it works on (`c1`, `c2`, `eval`, …), for the Left Hand's agents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub candidate: Option<String>,
}

/// Who caused an event.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Actor {
    /// A person, through the TUI, the CLI or the API.
    Human {
        /// The local user name when known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
    },
    /// The engine itself: intake, triage, scheduling, gates, breakers.
    Orchestrator,
    /// An AI agent.
    Agent(AgentIdentity),
}

impl Actor {
    /// The person running this process, named from `$USER` when set.
    pub fn local_human() -> Self {
        Actor::Human { name: std::env::var("USER").ok().filter(|name| !name.is_empty()) }
    }
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Actor::Human { name: Some(name) } => write!(f, "human:{name}"),
            Actor::Human { name: None } => f.write_str("human"),
            Actor::Orchestrator => f.write_str("orchestrator"),
            Actor::Agent(agent) => match &agent.candidate {
                Some(candidate) => write!(f, "{}/{}@{candidate}", agent.track, agent.role),
                None => write!(f, "{}/{}", agent.track, agent.role),
            },
        }
    }
}
