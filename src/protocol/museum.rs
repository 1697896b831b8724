//! The bug museum: every failure Ambidex saw or was shown, kept as a case future work must pass.
//! An exhibit says how to bring a bug back (a base commit, the change that introduces it, the
//! test changes that expose it) and how to tell it is there (a command and the tests that fail
//! while it is); the evaluation layer runs the exhibits relevant to a candidate's files against
//! every candidate, so a change that re-breaks one is marked in the evidence matrix.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::ids::{ExhibitId, GateId, TaskId};

/// Where an exhibit stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExhibitStatus {
    /// Proposed from what Ambidex observed; waits for a human to keep or reject it.
    Pending,
    /// In the museum: verified by `museum verify`, and run against candidates when its reproducer
    /// is known.
    Kept,
    /// A human rejected the proposal (kept, so it is not proposed again).
    Rejected,
    /// A human removed it.
    Removed,
}

impl std::fmt::Display for ExhibitStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ExhibitStatus::Pending => "pending",
            ExhibitStatus::Kept => "kept",
            ExhibitStatus::Rejected => "rejected",
            ExhibitStatus::Removed => "removed",
        })
    }
}

/// Where an exhibit came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ExhibitSource {
    /// A human described it (`museum add`, the API).
    Human,
    /// Imported from an upstream fix commit (`museum import --fix`), verified before it was kept.
    Imported {
        /// The fix commit.
        fix: String,
    },
    /// A candidate's change broke tests that passed on the base (the evaluation layer saw it).
    Candidate {
        /// The task.
        task: TaskId,
        /// The candidate's label.
        candidate: String,
    },
    /// The engineer sent a change back at a gate, saying what was wrong.
    SentBack {
        /// The task.
        task: TaskId,
        /// The gate.
        gate: GateId,
    },
    /// A circuit breaker stopped a task.
    Breaker {
        /// The task.
        task: TaskId,
        /// The breaker's name.
        breaker: String,
    },
    /// A change Ambidex delivered was later reverted in the repository.
    Reverted {
        /// The task that delivered it.
        task: TaskId,
        /// The commit that reverted it.
        revert: String,
    },
}

impl ExhibitSource {
    /// The task it came from, when it came from one.
    pub fn task(&self) -> Option<TaskId> {
        match self {
            ExhibitSource::Human | ExhibitSource::Imported { .. } => None,
            ExhibitSource::Candidate { task, .. }
            | ExhibitSource::SentBack { task, .. }
            | ExhibitSource::Breaker { task, .. }
            | ExhibitSource::Reverted { task, .. } => Some(*task),
        }
    }

    /// In words, for lists: `human`, `imported 1a2b3c4d5e`, `c2 of task 01J…`.
    pub fn label(&self) -> String {
        match self {
            ExhibitSource::Human => "human".into(),
            ExhibitSource::Imported { fix } => format!("imported {}", &fix[..fix.len().min(10)]),
            ExhibitSource::Candidate { task, candidate } => format!("{candidate} of task {}", task.short()),
            ExhibitSource::SentBack { task, .. } => format!("sent back on task {}", task.short()),
            ExhibitSource::Breaker { task, breaker } => format!("breaker {breaker} on task {}", task.short()),
            ExhibitSource::Reverted { task, revert } => {
                format!("task {}'s change reverted by {}", task.short(), &revert[..revert.len().min(10)])
            }
        }
    }
}

/// How to tell the bug is there: a command and the tests that fail while it is.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Reproducer {
    /// The command that runs the tests (empty: none is known yet, and the exhibit is not run).
    pub command: String,
    /// The tests that fail while the bug is there and pass once it is fixed (empty: the
    /// command's exit code stands for them).
    pub tests: Vec<String>,
    /// Test changes to apply over the base before running (an upstream fix's tests), as a
    /// unified diff; `None` when the tests are in the repository already.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tests_patch: Option<String>,
}

impl Reproducer {
    /// Whether there is a command to run.
    pub fn is_known(&self) -> bool {
        !self.command.trim().is_empty()
    }
}

/// Where an exhibit can be traced to.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ExhibitLinks {
    /// The task it came from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task: Option<TaskId>,
    /// The candidate whose change broke tests.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub candidate: Option<String>,
    /// The gate it was sent back at.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gate: Option<GateId>,
    /// The pull request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pr: Option<String>,
    /// The commit: the upstream fix, or the revert.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
}

/// The last check that an exhibit still reproduces.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verification {
    /// When it was checked.
    pub at: Timestamp,
    /// Whether the bug showed (its tests failed with it) and, when a fix is known, went away with
    /// the fix.
    pub reproduces: bool,
    /// What was seen, in words.
    pub detail: String,
}

/// One exhibit of the bug museum.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exhibit {
    /// Its id.
    pub id: ExhibitId,
    /// The repository (its path as tasks name it).
    pub repo: String,
    /// What went wrong, in a line.
    pub title: String,
    /// The commit the reproducer is set up on.
    pub base: String,
    /// How to tell the bug is there.
    pub reproducer: Reproducer,
    /// The change over the base that brings the bug in (a candidate's change); `None` when the
    /// base has the bug itself (an upstream bug before its fix).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bug_patch: Option<String>,
    /// The change over the base that fixes it, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fix_patch: Option<String>,
    /// The code files the bug lives in: a candidate touching any of them is checked against it
    /// (none: every candidate of the repository is).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<String>,
    /// Why it happened, when known.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub root_cause: String,
    /// The check that catches it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub check: String,
    /// Where it came from.
    pub source: ExhibitSource,
    /// Where it can be traced to.
    #[serde(default)]
    pub links: ExhibitLinks,
    /// Where it stands.
    pub status: ExhibitStatus,
    /// When it was made or proposed.
    pub created: Timestamp,
    /// The last check that it reproduces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification: Option<Verification>,
}

impl Exhibit {
    /// Whether it is run against candidates: kept, with a known reproducer that was verified.
    pub fn is_evidence(&self) -> bool {
        self.status == ExhibitStatus::Kept
            && self.reproducer.is_known()
            && self.verification.as_ref().is_some_and(|v| v.reproduces)
    }
}

/// How an exhibit changed (each change records its whole new state).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExhibitChange {
    /// Ambidex proposed it.
    Proposed,
    /// A human added or imported it.
    Added,
    /// A human kept a proposal.
    Accepted,
    /// A human changed its title, root cause, check or reproducer.
    Edited,
    /// A human rejected a proposal.
    Rejected,
    /// A human removed it.
    Removed,
    /// It was checked again (`museum verify`).
    Verified,
}

/// A new exhibit as a human or an import describes it (the engine gives it an id and a date).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewExhibit {
    /// The repository.
    pub repo: String,
    /// What went wrong, in a line.
    pub title: String,
    /// The commit the reproducer is set up on.
    pub base: String,
    /// How to tell the bug is there.
    #[serde(default)]
    pub reproducer: Reproducer,
    /// The change that brings the bug in, over the base.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bug_patch: Option<String>,
    /// The change that fixes it, over the base.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fix_patch: Option<String>,
    /// The code files the bug lives in.
    #[serde(default)]
    pub files: Vec<String>,
    /// Why it happened.
    #[serde(default)]
    pub root_cause: String,
    /// The check that catches it.
    #[serde(default)]
    pub check: String,
    /// Where it came from: `human` or `imported`.
    #[serde(default = "human")]
    pub source: ExhibitSource,
    /// Where it can be traced to.
    #[serde(default)]
    pub links: ExhibitLinks,
    /// The check made before adding it, when one was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification: Option<Verification>,
}

fn human() -> ExhibitSource {
    ExhibitSource::Human
}

/// What a human (or the API) asks of the museum.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum MuseumEdit {
    /// Put a new exhibit in the museum (kept at once).
    Add {
        /// The exhibit.
        exhibit: Box<NewExhibit>,
    },
    /// Keep a pending proposal.
    Accept {
        /// The exhibit.
        id: ExhibitId,
    },
    /// Reject a pending proposal.
    Reject {
        /// The exhibit.
        id: ExhibitId,
    },
    /// Remove an exhibit.
    Remove {
        /// The exhibit.
        id: ExhibitId,
    },
    /// Change what is given of an exhibit's title, root cause, check or reproducer (a changed
    /// reproducer is unverified until `museum verify` checks it).
    Edit {
        /// The exhibit.
        id: ExhibitId,
        /// The new title.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        title: Option<String>,
        /// The new root cause.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        root_cause: Option<String>,
        /// The new check.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        check: Option<String>,
        /// The new reproducer command.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        command: Option<String>,
        /// The new failing tests.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tests: Option<Vec<String>>,
    },
    /// Record a new check of whether it reproduces.
    Verified {
        /// The exhibit.
        id: ExhibitId,
        /// The check.
        verification: Verification,
    },
}

/// How one exhibit fared against a candidate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum ExhibitOutcome {
    /// Its tests pass: the candidate does not bring the bug back.
    Held,
    /// Its tests fail: the candidate brings the bug back.
    Broken {
        /// The exhibit's tests that failed.
        tests: Vec<String>,
    },
    /// It could not be run here (its tests do not apply, the command may not run).
    NotRun {
        /// Why.
        why: String,
    },
}

/// One exhibit run against one candidate: a part of the matrix's museum column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExhibitCheck {
    /// The exhibit.
    pub exhibit: ExhibitId,
    /// Its title.
    pub title: String,
    /// How it fared.
    #[serde(flatten)]
    pub outcome: ExhibitOutcome,
}
