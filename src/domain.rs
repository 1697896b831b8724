//! The task model and its rules: the projection, the state machine and the task-file format.
//!
//! The data types that events carry are defined in [`crate::protocol`] and re-exported here; this
//! module adds the behaviour around them.

pub mod exploration;
pub mod state;
pub mod task;
pub mod task_file;

pub use crate::protocol::{Risk, Route, TaskKind, TaskSource, TaskSpec, TaskStatus, Track};
pub use exploration::{AcceptanceTests, Adoption, CandidateOutcome, Exploration, RecordedMatrix};
pub use state::{IllegalTransition, check_transition, is_active, is_final, is_settled, successors};
pub use task::{
    ApplyError, DecidedGate, EngineerNote, FinishedStage, IntakeNote, OpenGate, PlaybookRef, Rework, SendBack,
    SpecBrief, StageRun, Task, TaskBrief, TaskWorktrees, ValidationRun, WorktreeRef, ci_feedback_id, title_words,
};
pub use task_file::{TaskFileError, parse_task_file, parse_task_file_changes, read_task_file, read_task_file_changes};
