//! The typed protocol between the engine and its clients: [`Command`]s in, [`Update`]s out.
//!
//! This module depends on nothing else in the crate. It holds ids, actors, the task vocabulary
//! that events carry, gates, and the events themselves.

mod actor;
mod artifact;
pub mod bounded;
mod command;
mod event;
mod event_summary;
mod evidence;
mod expected;
mod feedback;
mod gate;
mod ids;
mod matrix_cells;
mod memory;
mod metrics;
mod museum;
pub mod private;
mod queries;
mod readiness;
mod registry;
mod revision;
mod snapshot;
mod stage;
mod task;
mod triage;
mod work;

pub use actor::{Actor, AgentIdentity, Role, Track};
pub use artifact::{ArtifactKind, ArtifactRef};
pub use command::Command;
pub use event::{
    Delta, Digest, EVENT_SCHEMA, Event, EventKind, IntakeVerdict, LEGACY_EVENT_SCHEMA, NewEvent, PolicyRecord,
    ToolCallRecord, Update, human_bytes,
};
pub use evidence::{
    CandidatePlan, CriterionCoverage, DiffStats, EvidenceMatrix, EvidenceRow, FileFate, HunkSource, ProductionFile,
    Recommendation, StaticFinding, Synthesis, SynthesisReason, TestCase, TestFramework, TestReport, TestStatus,
};
pub use expected::ProposedCriterion;
pub use feedback::{ANSWER_MARKER, ForgeReview, LineComment, feedback_from, feedback_note};
pub use gate::{Decision, GateKind, GatePlan};
pub use ids::{ExhibitId, GateId, MemoryId, ParseIdError, SHORT_ID_LEN, TaskId, ToolCallId};
pub use matrix_cells::{
    Better, EvidenceCell, EvidenceColumn, MATRIX_HEADERS, PRODUCTION, matrix_cells, matrix_summary, money,
};
pub use memory::{MemoryChange, MemoryEdit, MemoryEntry, MemoryKind, MemorySource, MemoryStatus};
pub use metrics::{
    ClassMetrics, Delivery, Exploration, Families, Governance, MetricsFilter, MetricsReport, ModelRecord,
    PlaybookMetrics, Quality, StrategyRecord, TrendPoint, ratio,
};
pub use museum::{
    Exhibit, ExhibitChange, ExhibitCheck, ExhibitLinks, ExhibitOutcome, ExhibitSource, ExhibitStatus, MuseumEdit,
    NewExhibit, Reproducer, Verification,
};
pub use queries::{CandidateDiff, NoQueries, PlaybookList, Queries};
pub use readiness::ModelUnavailable;
pub use registry::{
    Artifact, Author, AutonomyChange, AutonomyEdit, AutonomyEvidence, AutonomyLevel, AutonomyState, Criterion,
    PlaybookChange, PlaybookVersion, RegistryEdit, ReplayCase, ReplayOutcome, ReplaySource, VersionEvaluation,
    VersionRun, VersionStatus, promotion_criteria,
};
pub use revision::SpecChanges;
pub use snapshot::{Client, Snapshot, TaskSummary};
pub use stage::StageKind;
pub use task::{Risk, Route, TaskKind, TaskSource, TaskSpec, TaskStatus};
pub use triage::Triage;
pub use work::{
    CiCheck, CiReport, CiState, Finding, Plan, PullRequest, Review, ReviewVerdict, TriageBudgets, ValidationResult,
};
