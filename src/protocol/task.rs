//! The task vocabulary that crosses the wire: what a task asks for and how it is classified.
//!
//! These are plain data. Their behaviour (the state machine, the projection, validation) lives in
//! [`crate::domain`], which builds on them; keeping the data here lets the protocol stay free of
//! every other module.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Declares a snake_case enum with `as_str`, `Display`, `FromStr` and a list of every variant.
macro_rules! named_enum {
    ($(#[$doc:meta])* $name:ident, $what:literal { $($(#[$vdoc:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vdoc])* $variant),+
        }

        impl $name {
            /// Every variant, in order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The snake_case name used in files, flags and JSON.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = String;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let wanted = s.trim().to_ascii_lowercase().replace(['-', ' '], "_");
                Self::ALL
                    .iter()
                    .copied()
                    .find(|v| v.as_str() == wanted)
                    .ok_or_else(|| {
                        let names: Vec<&str> = Self::ALL.iter().map(|v| v.as_str()).collect();
                        format!("unknown {} `{}` (expected one of: {})", $what, s, names.join(", "))
                    })
            }
        }
    };
}

named_enum!(
    /// What kind of engineering work a task is.
    TaskKind, "task kind" {
        /// Fix a defect.
        BugFix = "bug_fix",
        /// Add a focused capability.
        Feature = "feature",
        /// Restructure without changing behaviour.
        Refactor = "refactor",
        /// Add or improve tests.
        TestWork = "test_work",
        /// Repair the build or CI pipeline.
        CiRepair = "ci_repair",
        /// Update a dependency.
        DependencyUpdate = "dependency_update",
        /// A change that affects security.
        SecurityChange = "security_change",
        /// A schema or data migration.
        Migration = "migration",
        /// Documentation only.
        Documentation = "documentation",
    }
);

named_enum!(
    /// How much harm a mistake in this task could do.
    Risk, "risk" {
        /// Routine, easily reverted.
        Low = "low",
        /// Needs a plan approved by a human.
        Medium = "medium",
        /// Touches sensitive areas; every step is gated.
        High = "high",
        /// Security, data loss or production impact.
        Critical = "critical",
    }
);

named_enum!(
    /// Where a task is in its life. The legal moves are in [`crate::domain::state`].
    TaskStatus, "task status" {
        /// Stored, not yet checked by intake.
        Received = "received",
        /// Intake found it vague; questions wait for the user.
        NeedsClarification = "needs_clarification",
        /// Intake found it unsafe. Final.
        Rejected = "rejected",
        /// Intake found it too broad; a split is suggested.
        Escalated = "escalated",
        /// Accepted and triaged, waiting for a slot.
        Queued = "queued",
        /// Agents are working on it.
        Running = "running",
        /// Paused until a human decides a gate.
        AwaitingGate = "awaiting_gate",
        /// The engine stopped while it ran; it can be resumed.
        Interrupted = "interrupted",
        /// A draft PR (local or on a forge) is ready for human review. Final.
        PrReady = "pr_ready",
        /// It stopped on an error it could not recover from; it can be retried.
        Failed = "failed",
        /// A human cancelled it. Final.
        Cancelled = "cancelled",
    }
);

named_enum!(
    /// Which hands work on a task.
    Route, "route" {
        /// The production track alone.
        RightOnly = "right_only",
        /// Production plus exploration.
        RightAndLeft = "right_and_left",
    }
);

/// Where a task came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TaskSource {
    /// Typed in (CLI flags or the TUI form).
    #[default]
    Manual,
    /// A Markdown task file.
    File {
        /// The path it was read from.
        path: String,
    },
    /// An issue on a forge.
    Issue {
        /// The issue's web address.
        url: String,
    },
    /// The local HTTP API.
    Api,
}

/// A task as the user asked for it, normalized from any intake source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskSpec {
    /// One line saying what to achieve.
    pub title: String,
    /// The longer description (Markdown).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// The repository to work on (a path); `None` means the current directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo: Option<String>,
    /// The branch the PR targets; `None` means the repository's current branch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_branch: Option<String>,
    /// Observable conditions that say the task is done.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub acceptance_criteria: Vec<String>,
    /// Rules the change must respect.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub constraints: Vec<String>,
    /// Areas the change must not touch.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub out_of_scope: Vec<String>,
    /// The risk the requester declares; triage may raise it, never lower it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub risk: Option<Risk>,
    /// The kind the requester declares; triage decides when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<TaskKind>,
    /// Approvals the requester wants on top of policy (e.g. `plan`, `pr`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub required_approvals: Vec<String>,
    /// Commands that validate the change (e.g. `cargo test`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub validation: Vec<String>,
    /// Free-form labels (from an issue, or the file).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
    /// Where the task came from.
    #[serde(default)]
    pub source: TaskSource,
}

impl TaskSpec {
    /// A spec with just a title; every other field empty.
    pub fn titled(title: impl Into<String>) -> Self {
        Self {
            title: title.into(),
            description: String::new(),
            repo: None,
            target_branch: None,
            acceptance_criteria: Vec::new(),
            constraints: Vec::new(),
            out_of_scope: Vec::new(),
            risk: None,
            kind: None,
            required_approvals: Vec::new(),
            validation: Vec::new(),
            labels: Vec::new(),
            source: TaskSource::Manual,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_leniently_and_print_snake_case() {
        assert_eq!("Bug fix".parse::<TaskKind>().unwrap(), TaskKind::BugFix);
        assert_eq!("ci-repair".parse::<TaskKind>().unwrap(), TaskKind::CiRepair);
        assert_eq!(TaskStatus::PrReady.to_string(), "pr_ready");
        assert_eq!(TaskKind::ALL.len(), 9);
    }

    #[test]
    fn unknown_names_list_the_choices() {
        let err = "severe".parse::<Risk>().unwrap_err();
        assert_eq!(err, "unknown risk `severe` (expected one of: low, medium, high, critical)");
    }
}
