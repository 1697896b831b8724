//! Events: every state change, as appended to the hash-chained log and broadcast to clients.

use std::fmt;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::actor::{Actor, Role};
use super::artifact::ArtifactRef;
use super::evidence::{
    CandidatePlan, CriterionCoverage, EvidenceMatrix, HunkSource, ProductionFile, Synthesis, TestReport,
};
use super::feedback::ForgeReview;
use super::gate::{Decision, GateKind};
use super::ids::{GateId, MemoryId, TaskId, ToolCallId};
use super::memory::{MemoryChange, MemoryEntry};
use super::museum::{Exhibit, ExhibitChange};
use super::registry::{AutonomyChange, AutonomyState, PlaybookChange, PlaybookVersion};
use super::stage::StageKind;
use super::task::{TaskSpec, TaskStatus};
use super::triage::Triage;
use super::work::{CiCheck, CiReport, Finding, Plan, PullRequest, Review, ValidationResult};

/// A SHA-256 digest, printed and serialized as lowercase hex.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Digest(pub [u8; 32]);

impl Digest {
    /// The all-zero digest that the first event of a log chains from.
    pub const GENESIS: Digest = Digest([0; 32]);

    /// Parses 64 hex characters.
    pub fn from_hex(text: &str) -> Option<Digest> {
        let bytes = text.as_bytes();
        if bytes.len() != 64 {
            return None;
        }
        let mut out = [0u8; 32];
        for (i, pair) in bytes.chunks_exact(2).enumerate() {
            let hi = (pair[0] as char).to_digit(16)?;
            let lo = (pair[1] as char).to_digit(16)?;
            out[i] = (hi * 16 + lo) as u8;
        }
        Some(Digest(out))
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for byte in self.0 {
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({self})")
    }
}

impl Serialize for Digest {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Digest {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Digest::from_hex(&text).ok_or_else(|| serde::de::Error::custom("expected 64 hex digits"))
    }
}

/// Intake's verdict on a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IntakeVerdict {
    /// Clear, safe and bounded: it goes on to triage.
    Accepted,
    /// Too vague; the user must answer questions.
    NeedsClarification,
    /// Unsafe; a policy rule refused it.
    Rejected,
    /// Too broad; it should be split.
    Escalated,
}

/// What happened. Later parts of the system add variants; stored events never change meaning.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventKind {
    /// The engine started (or resumed) on this store.
    EngineStarted {
        /// The ambidex version.
        version: String,
    },
    /// A task entered the system.
    TaskCreated {
        /// What was asked.
        spec: TaskSpec,
    },
    /// The user revised a task (for instance after intake asked questions).
    TaskRevised {
        /// The new spec, replacing the old one whole.
        spec: TaskSpec,
    },
    /// Intake checked the task.
    IntakeAssessed {
        /// The outcome.
        verdict: IntakeVerdict,
        /// Why, one reason per line, naming the rule that matched.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        reasons: Vec<String>,
        /// What the user should answer (for `needs_clarification`).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        questions: Vec<String>,
        /// A suggested split into smaller tasks (for `escalated`).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        suggested_split: Vec<String>,
    },
    /// Triage classified and routed the task.
    TaskTriaged(Triage),
    /// The task moved from one status to another; the state machine checks the move.
    StatusChanged {
        /// The status it had.
        from: TaskStatus,
        /// The status it has now.
        to: TaskStatus,
        /// Why, for people.
        reason: String,
    },
    /// A pipeline stage began.
    StageStarted {
        /// The stage's name in the playbook.
        stage: String,
        /// The role that runs it.
        role: Role,
        /// What the stage does (absent in events from before stages had kinds: see
        /// [`StageKind::from_legacy_name`]).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        kind: Option<StageKind>,
        /// The commit recording the worktree as the stage found it (on a private `refs/ambidex/`
        /// ref): what a rewind to this stage restores.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        checkpoint: Option<String>,
    },
    /// A pipeline stage ended.
    StageFinished {
        /// The stage's name in the playbook.
        stage: String,
        /// Whether it succeeded.
        ok: bool,
        /// A one-paragraph summary.
        summary: String,
        /// What the stage does (absent in events from before stages had kinds).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        kind: Option<StageKind>,
    },
    /// An agent finished a message (streamed deltas are not persisted; this is the whole text).
    AgentMessage {
        /// The message text, redacted.
        text: String,
    },
    /// A model call was retried.
    ModelRetry {
        /// Which attempt failed (1-based).
        attempt: u32,
        /// Why it is retried.
        reason: String,
        /// How long the client waits before the next attempt.
        delay_ms: u64,
    },
    /// Tokens and money spent by one model call.
    UsageRecorded {
        /// Prompt tokens.
        input_tokens: u64,
        /// Completion tokens.
        output_tokens: u64,
        /// Cost in micro-dollars (millionths of a US dollar).
        cost_micros: u64,
    },
    /// A gate opened: the task waits for a human.
    GateOpened {
        /// The gate.
        gate: GateId,
        /// Why it exists.
        kind: GateKind,
        /// What the human should know, in a sentence or two.
        reason: String,
        /// The hash of the evidence shown with it, when there is any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        evidence_hash: Option<Digest>,
        /// The decisions the human may take.
        allowed: Vec<Decision>,
        /// For a choice (the promotion gate): what approving may pick, the recommended one first.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        options: Vec<String>,
    },
    /// A human decided a gate.
    GateDecided {
        /// The gate.
        gate: GateId,
        /// The decision.
        decision: Decision,
        /// An optional comment that agents see.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
        /// For a choice: the option picked (absent: the first, recommended one).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        choice: Option<String>,
    },
    /// A human left a note on a task.
    Note {
        /// The note.
        text: String,
    },
    /// A human rewound the task to a stage: its worktree is back at the stage's checkpoint, and
    /// the work that was there is kept on `abandoned`.
    Rewound {
        /// The stage's name in the playbook.
        stage: String,
        /// Its kind.
        kind: StageKind,
        /// The checkpoint restored.
        checkpoint: String,
        /// The ref holding the work the rewind set aside.
        abandoned: String,
        /// What to do differently this time.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    /// A stage interrupted by a crash starts again from its checkpoint: what the worktree held
    /// (edits the log may never have recorded) is kept on `abandoned`, so nothing is applied twice.
    CheckpointRestored {
        /// The stage's name in the playbook.
        stage: String,
        /// The checkpoint restored.
        checkpoint: String,
        /// The ref holding what the worktree held.
        abandoned: String,
    },
    /// A human sent the work back from a gate: the stage of kind `to` runs again, with the note
    /// in its instructions.
    SentBack {
        /// The gate.
        gate: GateId,
        /// Its kind.
        gate_kind: GateKind,
        /// The kind of stage the work returns to.
        to: StageKind,
        /// What to change.
        note: String,
    },
    /// An agent called a tool (one event per call, written when it ends).
    ToolCalled(Box<ToolCallRecord>),
    /// A budget ran out; the orchestrator pauses the task at a gate.
    BudgetExceeded {
        /// `agent` or `task`.
        scope: String,
        /// Which budget: `tool_calls`, `files_changed`, `diff_lines`, `wall_time_secs`, …
        budget: String,
        /// The limit.
        limit: u64,
        /// What was used when it tripped.
        used: u64,
    },
    /// A worktree was created for the task.
    WorktreeCreated {
        /// The candidate label (`production`, `c1`, …).
        candidate: String,
        /// The directory.
        path: String,
        /// The branch.
        branch: String,
        /// The base commit.
        base: String,
    },
    /// A worktree's setup step ran: the dependency fetch before any agent or validation.
    SetupRan {
        /// The worktree's candidate label.
        candidate: String,
        /// Whether it could reach the network (a human allowed it for the repository).
        network: bool,
        /// Each command's outcome, in order (the first failure ends the step).
        results: Vec<ValidationResult>,
        /// What it generated that no commit holds (a lockfile, a virtualenv): the worktree's
        /// baseline, never part of the change unless the plan names it.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        baseline: Vec<String>,
    },
    /// A human allowed the network to a repository's setup commands (at a `network` gate); it
    /// holds for every task of the repository while the commands stay the same.
    SetupNetworkAllowed {
        /// The repository (its path as tasks name it).
        repo: String,
        /// The setup commands allowed.
        commands: Vec<String>,
    },
    /// An entry of a repository's memory was proposed, written or reviewed: its whole new state.
    MemoryChanged {
        /// What happened to it.
        change: MemoryChange,
        /// The entry as it is now.
        entry: MemoryEntry,
    },
    /// An exhibit of the bug museum was proposed, added, reviewed or verified: its whole new state.
    ExhibitChanged {
        /// What happened to it.
        change: ExhibitChange,
        /// The exhibit as it is now.
        exhibit: Box<Exhibit>,
    },
    /// A version of a playbook or policy was recorded, proposed, evaluated, promoted, rejected,
    /// retired or restored: its whole new state.
    PlaybookChanged {
        /// What happened to it.
        change: PlaybookChange,
        /// The version as it is now.
        version: Box<PlaybookVersion>,
    },
    /// A task class's autonomy was proposed, granted, declined or tightened: its whole new state.
    AutonomyChanged {
        /// What happened.
        change: AutonomyChange,
        /// The class's autonomy as it is now.
        state: AutonomyState,
    },
    /// The repository memory a task's agents were given.
    MemoryUsed {
        /// The memory's version (the sequence number of its last change).
        version: u64,
        /// The entries given, most relevant first.
        entries: Vec<MemoryId>,
    },
    /// A finished task's worktree was removed (`ambidex task clean`).
    WorktreeRemoved {
        /// The candidate label.
        candidate: String,
        /// The directory.
        path: String,
        /// The branch, when it was deleted too (an evaluation scratch branch); otherwise it stays.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        branch_deleted: Option<String>,
        /// The bytes the directory took.
        bytes: u64,
    },
    /// The playbook and policy versions a task runs with.
    PlaybookSelected {
        /// The playbook's name.
        playbook: String,
        /// The playbook's content hash.
        playbook_version: String,
        /// The policy's content hash.
        policy_version: String,
        /// The exploration playbook's content hash (absent in events from before the registry).
        #[serde(default, skip_serializing_if = "String::is_empty")]
        exploration_version: String,
    },
    /// The planner submitted a plan.
    PlanSubmitted {
        /// The plan.
        plan: Plan,
    },
    /// The reviewer submitted a review.
    ReviewSubmitted {
        /// The review.
        review: Review,
    },
    /// A validation command ran.
    ValidationRan {
        /// Which implementation attempt it validated (1-based).
        attempt: u32,
        /// Its result.
        result: ValidationResult,
    },
    /// A circuit breaker tripped; the task pauses at a gate with its state intact.
    BreakerTripped {
        /// `repeated_edits`, `repeated_calls`, `scope`, `contradiction`, `weak_tests`, `validation_skipped`.
        breaker: String,
        /// What tripped it.
        evidence: String,
    },
    /// The PR agent drafted the pull request (not yet created).
    PrDrafted {
        /// The draft; its `location` is empty until it is created.
        pr: PullRequest,
    },
    /// A pull request was created (or updated).
    PrCreated {
        /// The PR.
        pr: PullRequest,
    },
    /// Reconciliation found a worktree that disagrees with the store, git or the disk.
    WorktreeIssue {
        /// `missing`, `orphaned`, `dirty`, `stale_lock` (a git lock a stopped run left, removed) or
        /// `recreated` (a broken worktree was removed and made again).
        issue: String,
        /// The directory.
        path: String,
        /// Details (changed files, …).
        detail: String,
    },
    /// The Left Hand started exploring the task.
    ExplorationStarted {
        /// What started it: `route` (triage sent the task to both hands) or a trigger such as
        /// `repeated_test_failures`, `low_confidence`, `circular_edits`, `sensitive_files`,
        /// `contradiction`, `large_diff`.
        trigger: String,
        /// The evidence behind the trigger.
        evidence: String,
        /// The challengers and their strategies.
        candidates: Vec<CandidatePlan>,
    },
    /// The eval designer's acceptance tests, and how they did on the base commit.
    AcceptanceTestsWritten {
        /// The files it wrote.
        files: Vec<String>,
        /// The tests they hold.
        tests: Vec<String>,
        /// Tests that fail on the base commit, as they should.
        failing_on_base: Vec<String>,
        /// Tests that pass on the base commit already (weak).
        passing_on_base: Vec<String>,
        /// The baseline candidates are compared with: the validation commands on the base commit
        /// *with* the acceptance tests (the base alone's results where the tests kept a command
        /// from running, and when there are none). Events recorded before this rule hold the base
        /// alone.
        #[serde(default)]
        baseline: Vec<TestReport>,
        /// Which acceptance criterion each test demonstrates, as the eval designer said.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        covers: Vec<CriterionCoverage>,
    },
    /// A challenger finished its candidate.
    CandidateFinished {
        /// The candidate's label.
        candidate: String,
        /// Its strategy.
        strategy: String,
        /// Whether it produced a change.
        ok: bool,
        /// What it did, or why it failed.
        summary: String,
    },
    /// The failure analyst reviewed a candidate.
    CandidateAnalyzed {
        /// The candidate's label.
        candidate: String,
        /// Security flaws, rollback risks and hidden regressions it found.
        findings: Vec<Finding>,
    },
    /// The evidence matrix, stored with its hash.
    EvidenceRecorded {
        /// The matrix.
        matrix: Box<EvidenceMatrix>,
        /// The SHA-256 of its canonical JSON.
        hash: Digest,
    },
    /// The synthesis agent's recommendation.
    SynthesisSubmitted {
        /// The recommendation and its reasons.
        synthesis: Synthesis,
    },
    /// The production track adopted a change from the Left Hand.
    ChangeAdopted {
        /// What was chosen at the promotion gate.
        choice: String,
        /// Every hunk taken and where it came from.
        hunks: Vec<HunkSource>,
        /// The evidence matrix the decision was made from.
        matrix_hash: Digest,
        /// Every file the production change had touched, and whether the adoption kept,
        /// replaced or dropped production's version.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        production_files: Vec<ProductionFile>,
    },
    /// The task's branch was pushed to the forge's git remote (never forced).
    BranchPushed {
        /// The remote's name (its URL is not recorded: it may hold credentials).
        remote: String,
        /// The branch.
        branch: String,
        /// The commit the remote branch now points at.
        commit: String,
    },
    /// The forge's CI checks of the PR's head commit, recorded when they change: a failing
    /// check is evidence against the change.
    CiChecked {
        /// The checks, with the commit they ran on.
        report: CiReport,
    },
    /// A forge request was retried (rate limit, 5xx or transport error).
    ForgeRetry {
        /// `github` or `gitlab`.
        forge: String,
        /// Which attempt failed (1-based).
        attempt: u32,
        /// Why it is retried.
        reason: String,
        /// How long the client waits before the next attempt.
        delay_ms: u64,
    },
    /// The task's source issue got a comment linking its PR.
    IssueCommented {
        /// The issue's web address.
        issue: String,
        /// The comment's web address (the issue's when the forge gives none).
        url: String,
    },
    /// Feedback on the task's delivered PR (reviews by people who may push to the project,
    /// failed CI checks) sent the task back to the `to` stage: it reworks on the same branch.
    PrFeedback {
        /// The reviews acted on, each once.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        reviews: Vec<ForgeReview>,
        /// The checks that failed on the PR's head commit.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        failed_checks: Vec<CiCheck>,
        /// The stage that does the work again.
        to: StageKind,
    },
    /// The rework was pushed and the PR got a comment answering the feedback.
    PrAnswered {
        /// The comment's web address.
        url: String,
        /// The commit that answers it.
        commit: String,
    },
    /// A hook (`[[hooks]]` in the user's config) ran.
    HookRan {
        /// The event it ran at: `task_created`, `gate_opened`, `pre_tool_call`, ….
        hook: String,
        /// Its command.
        command: String,
        /// Its exit code, when it exited.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        exit_code: Option<i32>,
        /// Whether its timeout killed it.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        timed_out: bool,
        /// Whether it blocked the tool call it ran before.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        blocked: bool,
        /// What it printed (stdout, then stderr), capped and redacted.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        output: String,
        /// How long it ran, in milliseconds.
        duration_ms: u64,
    },
    /// Outputs of the task went to the object store (`store.artifacts`), named by content hash.
    ArtifactsStored {
        /// What was stored.
        artifacts: Vec<ArtifactRef>,
        /// What could not be stored, and why (the task went on without it).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        failed: Vec<String>,
    },
}

/// The audit record of one tool call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCallRecord {
    /// The call.
    pub call: ToolCallId,
    /// The tool's name.
    pub tool: String,
    /// Its arguments, redacted.
    pub arguments: serde_json::Value,
    /// The working directory.
    pub workdir: String,
    /// The worktree's branch, when the call ran in one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace: Option<String>,
    /// Whether the call did what was asked.
    pub ok: bool,
    /// For commands: the exit code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// What the model was shown, redacted and bounded.
    pub output: String,
    /// When the call started.
    pub started_at: Timestamp,
    /// When it ended.
    pub finished_at: Timestamp,
    /// For commands: the sandbox level (`bubblewrap`, `landlock`, `none`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sandbox: Option<String>,
    /// For commands: the policy's verdict and reasons.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<PolicyRecord>,
}

/// What the command policy decided, and (for `prompt`) what the human said.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyRecord {
    /// `allow`, `prompt` or `forbid`.
    pub verdict: String,
    /// One reason per part of the command.
    pub reasons: Vec<String>,
    /// The human's decision, when one was asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<Decision>,
}

impl EventKind {
    /// The snake_case tag used in JSON and in listings.
    pub fn name(&self) -> &'static str {
        match self {
            EventKind::EngineStarted { .. } => "engine_started",
            EventKind::TaskCreated { .. } => "task_created",
            EventKind::TaskRevised { .. } => "task_revised",
            EventKind::IntakeAssessed { .. } => "intake_assessed",
            EventKind::TaskTriaged { .. } => "task_triaged",
            EventKind::StatusChanged { .. } => "status_changed",
            EventKind::StageStarted { .. } => "stage_started",
            EventKind::StageFinished { .. } => "stage_finished",
            EventKind::AgentMessage { .. } => "agent_message",
            EventKind::ModelRetry { .. } => "model_retry",
            EventKind::UsageRecorded { .. } => "usage_recorded",
            EventKind::GateOpened { .. } => "gate_opened",
            EventKind::GateDecided { .. } => "gate_decided",
            EventKind::Note { .. } => "note",
            EventKind::SentBack { .. } => "sent_back",
            EventKind::Rewound { .. } => "rewound",
            EventKind::CheckpointRestored { .. } => "checkpoint_restored",
            EventKind::ToolCalled(_) => "tool_called",
            EventKind::BudgetExceeded { .. } => "budget_exceeded",
            EventKind::WorktreeCreated { .. } => "worktree_created",
            EventKind::SetupRan { .. } => "setup_ran",
            EventKind::MemoryChanged { .. } => "memory_changed",
            EventKind::MemoryUsed { .. } => "memory_used",
            EventKind::PlaybookChanged { .. } => "playbook_changed",
            EventKind::AutonomyChanged { .. } => "autonomy_changed",
            EventKind::ExhibitChanged { .. } => "exhibit_changed",
            EventKind::SetupNetworkAllowed { .. } => "setup_network_allowed",
            EventKind::WorktreeRemoved { .. } => "worktree_removed",
            EventKind::WorktreeIssue { .. } => "worktree_issue",
            EventKind::PlaybookSelected { .. } => "playbook_selected",
            EventKind::PlanSubmitted { .. } => "plan_submitted",
            EventKind::ReviewSubmitted { .. } => "review_submitted",
            EventKind::ValidationRan { .. } => "validation_ran",
            EventKind::BreakerTripped { .. } => "breaker_tripped",
            EventKind::PrDrafted { .. } => "pr_drafted",
            EventKind::PrCreated { .. } => "pr_created",
            EventKind::ExplorationStarted { .. } => "exploration_started",
            EventKind::AcceptanceTestsWritten { .. } => "acceptance_tests_written",
            EventKind::CandidateFinished { .. } => "candidate_finished",
            EventKind::CandidateAnalyzed { .. } => "candidate_analyzed",
            EventKind::EvidenceRecorded { .. } => "evidence_recorded",
            EventKind::SynthesisSubmitted { .. } => "synthesis_submitted",
            EventKind::ChangeAdopted { .. } => "change_adopted",
            EventKind::BranchPushed { .. } => "branch_pushed",
            EventKind::CiChecked { .. } => "ci_checked",
            EventKind::ForgeRetry { .. } => "forge_retry",
            EventKind::IssueCommented { .. } => "issue_commented",
            EventKind::PrFeedback { .. } => "pr_feedback",
            EventKind::PrAnswered { .. } => "pr_answered",
            EventKind::HookRan { .. } => "hook_ran",
            EventKind::ArtifactsStored { .. } => "artifacts_stored",
        }
    }
}

/// An event as a client asks for it to be appended; the store assigns seq, time and hashes.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    /// The task it belongs to, if any.
    pub task: Option<TaskId>,
    /// Who caused it.
    pub actor: Actor,
    /// What happened.
    pub kind: EventKind,
}

impl NewEvent {
    /// An event about a task.
    pub fn for_task(task: TaskId, actor: Actor, kind: EventKind) -> Self {
        Self { task: Some(task), actor, kind }
    }

    /// An event about the system as a whole.
    pub fn global(actor: Actor, kind: EventKind) -> Self {
        Self { task: None, actor, kind }
    }
}

/// The schema of the events this build writes, recorded in each as `schema`. An event's schema
/// says how to read its JSON; it changes only when a change cannot be read by the old rules (a
/// new field with a serde default needs no new schema). The goldens in `tests/fixtures/format/`
/// pin what each schema looks like.
pub const EVENT_SCHEMA: u16 = 2;

/// The schema of the events written before events carried one: their stored bytes have no
/// `schema` field, and re-encoding them leaves it out too, so their hashes still verify.
pub const LEGACY_EVENT_SCHEMA: u16 = 1;

fn legacy_event_schema() -> u16 {
    LEGACY_EVENT_SCHEMA
}

/// A persisted event: its place in the log and its link in the hash chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// The event schema it was written with ([`EVENT_SCHEMA`] for new events; absent, and so
    /// [`LEGACY_EVENT_SCHEMA`], in events written before the field existed).
    #[serde(default = "legacy_event_schema")]
    pub schema: u16,
    /// Gap-free sequence number, starting at 1.
    pub seq: u64,
    /// When the store appended it.
    pub at: Timestamp,
    /// The task it belongs to, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<TaskId>,
    /// Who caused it.
    pub actor: Actor,
    /// What happened.
    pub kind: EventKind,
    /// The hash of the previous event (all zeros for the first).
    pub prev_hash: Digest,
    /// `sha256(prev_hash ‖ canonical bytes of this event)`.
    pub hash: Digest,
}

/// A piece of streamed model output: shown live, never persisted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delta {
    /// The task the agent works on.
    pub task: TaskId,
    /// The agent.
    pub actor: Actor,
    /// The new text.
    pub text: String,
}

/// What a client receives from the engine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "update", rename_all = "snake_case")]
pub enum Update {
    /// A persisted event, in log order.
    Event(std::sync::Arc<Event>),
    /// Streamed text (not persisted).
    Delta(Delta),
    /// A command the client sent could not be carried out.
    CommandFailed {
        /// The command, in short.
        command: String,
        /// Why, and what to do.
        error: String,
    },
    /// The client fell too far behind and must reconnect to get a fresh snapshot.
    Lagged {
        /// How many updates it missed.
        missed: u64,
    },
    /// Whether tasks can run changed: why not, or `None` when they can again.
    Readiness {
        /// Why no task can run now.
        unavailable: Option<super::ModelUnavailable>,
    },
}

/// A size for people: `812 bytes`, `1 MiB`, `1.5 GiB` (binary units; whole numbers shown whole).
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} bytes");
    }
    let mut scale = 1024u64;
    let mut unit = 0;
    while unit + 1 < UNITS.len() && bytes >= scale * 1024 {
        scale *= 1024;
        unit += 1;
    }
    if bytes.is_multiple_of(scale) {
        format!("{} {}", bytes / scale, UNITS[unit])
    } else {
        format!("{:.1} {}", bytes as f64 / scale as f64, UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::human_bytes;

    #[test]
    fn sizes_read_naturally() {
        assert_eq!(human_bytes(0), "0 bytes");
        assert_eq!(human_bytes(1023), "1023 bytes");
        assert_eq!(human_bytes(1024 * 1024), "1 MiB");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(3 * 1024 * 1024 * 1024 / 2), "1.5 GiB");
        assert_eq!(human_bytes(u64::MAX), "16777216.0 TiB");
    }
}
