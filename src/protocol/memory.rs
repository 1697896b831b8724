//! Repository memory: what Ambidex knows about a repository beyond its files (how to set it up,
//! its conventions, its flaky tests, how its changes usually fail, which commands validate it,
//! who owns what). Every entry is either written by a human or proposed from what Ambidex
//! observed and then reviewed by one; only active entries reach the agents.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::ids::{MemoryId, TaskId};

/// What kind of knowledge an entry holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemoryKind {
    /// How to set the repository up (dependency fetches, services, environment variables).
    Setup,
    /// A project convention the code or its reviews follow.
    Convention,
    /// A test known to fail now and then for no fault of the change.
    FlakyTest,
    /// A way changes here commonly fail, and what catches it.
    FailurePattern,
    /// A command that validates changes well (or one to avoid).
    Validation,
    /// Who owns what, and the review rules.
    Ownership,
}

impl MemoryKind {
    /// Every kind, in the order they are shown.
    pub const ALL: [MemoryKind; 6] = [
        MemoryKind::Setup,
        MemoryKind::Convention,
        MemoryKind::FlakyTest,
        MemoryKind::FailurePattern,
        MemoryKind::Validation,
        MemoryKind::Ownership,
    ];

    /// Its name in commands, files and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            MemoryKind::Setup => "setup",
            MemoryKind::Convention => "convention",
            MemoryKind::FlakyTest => "flaky_test",
            MemoryKind::FailurePattern => "failure_pattern",
            MemoryKind::Validation => "validation",
            MemoryKind::Ownership => "ownership",
        }
    }
}

impl std::fmt::Display for MemoryKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for MemoryKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_ascii_lowercase().replace('-', "_");
        MemoryKind::ALL.into_iter().find(|kind| kind.as_str() == wanted).ok_or_else(|| {
            let known: Vec<&str> = MemoryKind::ALL.iter().map(|k| k.as_str()).collect();
            format!("unknown memory kind `{s}` (expected one of {})", known.join(", "))
        })
    }
}

/// Where an entry stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemoryStatus {
    /// Seen once (a test that failed, then passed on a re-run): proposed when seen again, shown
    /// only with `--all`.
    Observed,
    /// Proposed from an observation; waits for a human to accept, edit or reject it.
    Pending,
    /// In use: relevant tasks' agents read it.
    Active,
    /// A human rejected the proposal (kept, so it is not proposed again).
    Rejected,
    /// A human removed it.
    Removed,
}

impl std::fmt::Display for MemoryStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            MemoryStatus::Observed => "observed",
            MemoryStatus::Pending => "pending",
            MemoryStatus::Active => "active",
            MemoryStatus::Rejected => "rejected",
            MemoryStatus::Removed => "removed",
        })
    }
}

/// Where an entry came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum MemorySource {
    /// A human wrote it (`memory add`, an import, the API).
    Human,
    /// Ambidex proposed it from what a task showed.
    Observed {
        /// The task.
        task: TaskId,
        /// What was observed (e.g. "the setup step's fetch succeeded with network").
        what: String,
    },
}

/// One entry of a repository's memory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemoryEntry {
    /// Its id.
    pub id: MemoryId,
    /// The repository it is about (its path as tasks name it).
    pub repo: String,
    /// What kind of knowledge it is.
    pub kind: MemoryKind,
    /// The knowledge, as the agents will read it.
    pub text: String,
    /// Paths or globs it applies to (relative to the repository); empty: the whole repository.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scope: Vec<String>,
    /// Where it came from.
    pub source: MemorySource,
    /// Where it stands.
    pub status: MemoryStatus,
    /// When it was written or proposed.
    pub created: Timestamp,
    /// When a human or an observation last confirmed it.
    pub confirmed: Timestamp,
}

/// How an entry changed (each change records the entry's whole new state).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemoryChange {
    /// Ambidex saw it once; a second sighting proposes it.
    Observed,
    /// Ambidex proposed it.
    Proposed,
    /// A human added it.
    Added,
    /// A human changed its text, kind or scope.
    Edited,
    /// A human accepted a proposal (perhaps edited).
    Accepted,
    /// A human rejected a proposal.
    Rejected,
    /// A human removed it.
    Removed,
    /// An observation confirmed it again.
    Confirmed,
}

/// What a human (or the API) asks of the memory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum MemoryEdit {
    /// Write a new, active entry.
    Add {
        /// The repository.
        repo: String,
        /// Its kind.
        kind: MemoryKind,
        /// Its text.
        text: String,
        /// Paths or globs it applies to; empty: everywhere.
        #[serde(default)]
        scope: Vec<String>,
    },
    /// Change an entry's text, kind or scope (what is given).
    Edit {
        /// The entry.
        id: MemoryId,
        /// The new text.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        text: Option<String>,
        /// The new kind.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        kind: Option<MemoryKind>,
        /// The new scope.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        scope: Option<Vec<String>>,
    },
    /// Accept a pending proposal, with a new text if given.
    Accept {
        /// The entry.
        id: MemoryId,
        /// The text to keep instead of the proposed one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        text: Option<String>,
    },
    /// Reject a pending proposal.
    Reject {
        /// The entry.
        id: MemoryId,
    },
    /// Remove an active entry.
    Remove {
        /// The entry.
        id: MemoryId,
    },
}
