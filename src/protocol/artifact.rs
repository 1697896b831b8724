//! Artifacts: the bulky outputs of a task (command logs, patches, PR documents, evaluation
//! outputs) kept in an object store, and named in the event log by the SHA-256 of their bytes.
//! The log stays small and any machine that reads the store can fetch and check each one.

use serde::{Deserialize, Serialize};

use super::event::Digest;

/// What an artifact holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ArtifactKind {
    /// The whole output of a command the engine ran (a validation command), redacted.
    Log,
    /// A change as a unified diff.
    Patch,
    /// A pull request's document (its title and body as delivered).
    PrDocument,
    /// A file an evaluation produced: a test run's output or its structured report.
    EvalOutput,
}

impl ArtifactKind {
    /// The snake_case name used in JSON and listings.
    pub fn name(self) -> &'static str {
        match self {
            ArtifactKind::Log => "log",
            ArtifactKind::Patch => "patch",
            ArtifactKind::PrDocument => "pr_document",
            ArtifactKind::EvalOutput => "eval_output",
        }
    }
}

/// An artifact as events name it: the object store holds its bytes under `digest`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArtifactRef {
    /// What it holds.
    pub kind: ArtifactKind,
    /// What it is, for a human: `validation attempt 1: cargo test`, `candidate c2`, ….
    pub name: String,
    /// The SHA-256 of its bytes: its address in the object store.
    pub digest: Digest,
    /// Its size in bytes.
    pub bytes: u64,
}
