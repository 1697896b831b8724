//! The task projection: the current state of one task, folded from its events.
//!
//! The store applies every event to its task inside the same write transaction that appends the
//! event, so the projection and the log never disagree.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::exploration::Exploration;
use super::state::{IllegalTransition, check_transition};
use crate::protocol::{
    Actor, ArtifactRef, CiReport, Decision, Digest, Event, EventKind, GateId, GateKind, IntakeVerdict, Plan,
    PullRequest, Review, ReviewVerdict, Risk, Route, StageKind, TaskId, TaskKind, TaskSpec, TaskStatus, TaskSummary,
    Triage, ValidationResult, feedback_from, feedback_note,
};

/// A gate that waits for a decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenGate {
    /// The gate.
    pub id: GateId,
    /// Why it exists.
    pub kind: GateKind,
    /// What the human should know.
    pub reason: String,
    /// The sequence number of the event that opened it.
    pub opened_seq: u64,
    /// The evidence shown with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence_hash: Option<Digest>,
    /// For a choice: what approving may pick, the recommended one first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
}

/// A worktree made for the task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorktreeRef {
    /// The candidate label.
    pub candidate: String,
    /// The directory.
    pub path: String,
    /// The branch.
    pub branch: String,
    /// The base commit.
    pub base: String,
    /// Whether its setup step (the dependency fetch) succeeded.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub set_up: bool,
}

/// Intake's last word on the task, kept so the user can see what to change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntakeNote {
    /// The verdict.
    pub verdict: IntakeVerdict,
    /// Why.
    pub reasons: Vec<String>,
    /// What to answer.
    pub questions: Vec<String>,
    /// How to split.
    pub suggested_split: Vec<String>,
}

/// The playbook and policy a task runs with, as `playbook_selected` recorded them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlaybookRef {
    /// The playbook's name.
    pub name: String,
    /// The playbook's content hash.
    pub version: String,
    /// The policy's content hash.
    pub policy_version: String,
}

/// The latest result of one validation command, with the implementation attempt it validated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidationRun {
    /// The implementation attempt it validated (1-based).
    pub attempt: u32,
    /// The command's result.
    pub result: ValidationResult,
}

/// A stage of the task's playbook, as its events name it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageRun {
    /// The stage's name in the playbook.
    pub name: String,
    /// What it does; absent only for a stage of an old log whose name is not a kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<StageKind>,
}

/// The last stage that finished.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FinishedStage {
    /// The stage.
    #[serde(flatten)]
    pub stage: StageRun,
    /// Whether it succeeded.
    pub ok: bool,
}

impl StageRun {
    fn new(name: &str, kind: Option<StageKind>) -> StageRun {
        StageRun { name: name.to_owned(), kind: StageKind::of_event(kind, name) }
    }
}

/// A note from the engineer: on the task, or with a gate decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineerNote {
    /// What they said.
    pub text: String,
    /// The gate it was said at, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gate: Option<GateKind>,
    /// Who said it when it was not the engineer (reviewers on the forge: `@alice, @bob`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// The sequence number of the event that carries it.
    pub seq: u64,
}

/// Work the engineer sent back from a gate, or rewound to a stage, and what became of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendBack {
    /// The kind of stage that does it again.
    pub to: StageKind,
    /// The stage by name, when the engineer named one (a rewind).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<String>,
    /// The gate it came back from (none for a rewind or feedback on the PR).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gate: Option<GateKind>,
    /// Who sent it back from the PR on the forge (`@alice`, or `CI`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feedback: Option<String>,
    /// What to change.
    pub note: String,
    /// Whether that stage started again.
    #[serde(default)]
    pub resumed: bool,
    /// What the stage said when it finished again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
}

/// An event that does not fit the task it is applied to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApplyError {
    /// The state machine forbids the move.
    #[error(transparent)]
    Illegal(#[from] IllegalTransition),
    /// A status change claims a `from` that is not the task's status (a stale writer).
    #[error("task {task} is `{actual}`, not `{claimed}` as the status change claims")]
    StaleStatus {
        /// The task.
        task: TaskId,
        /// Its real status.
        actual: TaskStatus,
        /// The status the event assumed.
        claimed: TaskStatus,
    },
    /// A second `task_created` for the same id.
    #[error("task {0} already exists")]
    Duplicate(TaskId),
    /// An event for a task that was never created.
    #[error("no task {0}")]
    UnknownTask(TaskId),
    /// A decision for a gate that is not open on this task.
    #[error("gate {gate} is not open on task {task} (already decided, or never opened)")]
    GateNotOpen {
        /// The task.
        task: TaskId,
        /// The gate.
        gate: GateId,
    },
    /// A revision of a task that intake is not waiting on.
    #[error("task {task} is `{status}`; only a task that needs clarification or was escalated can be revised")]
    NotRevisable {
        /// The task.
        task: TaskId,
        /// Its status.
        status: TaskStatus,
    },
    /// Feedback on a PR for a task that has no delivered PR waiting.
    #[error("task {task} is `{status}`; only a task whose PR is ready can be sent back by feedback on it")]
    NotDelivered {
        /// The task.
        task: TaskId,
        /// Its status.
        status: TaskStatus,
    },
}

/// The significant words of a title (longer than three characters, lower-cased), by which
/// similar tasks are found; the store indexes every task's.
pub fn title_words(title: &str) -> std::collections::BTreeSet<String> {
    title.split(|c: char| !c.is_alphanumeric() && c != '_').filter(|w| w.len() > 3).map(str::to_lowercase).collect()
}

/// What admission needs of an earlier task for the similar-task signals, read from its stored
/// projection without the rest of it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TaskBrief {
    /// The task.
    pub id: TaskId,
    /// Its title and repository.
    pub spec: SpecBrief,
    /// Where it is.
    pub status: TaskStatus,
}

/// The part of a spec in a [`TaskBrief`].
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SpecBrief {
    /// One line saying what to achieve.
    pub title: String,
    /// The repository.
    #[serde(default)]
    pub repo: Option<String>,
}

/// The worktrees an earlier task made, read from its stored projection without the rest of it:
/// what the engine compares with git and the disk when it starts.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TaskWorktrees {
    /// The task.
    pub id: TaskId,
    /// Its title and repository.
    pub spec: SpecBrief,
    /// Its worktrees, while they exist.
    #[serde(default)]
    pub worktrees: Vec<WorktreeRef>,
}

impl From<&Task> for TaskBrief {
    fn from(task: &Task) -> TaskBrief {
        let spec = SpecBrief { title: task.spec.title.clone(), repo: task.spec.repo.clone() };
        TaskBrief { id: task.id, spec, status: task.status }
    }
}

/// The current state of one task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Task {
    /// The task.
    pub id: TaskId,
    /// What was asked (the latest revision).
    pub spec: TaskSpec,
    /// Where it is in its life.
    pub status: TaskStatus,
    /// When it was created.
    pub created_at: Timestamp,
    /// When its last event was appended.
    pub updated_at: Timestamp,
    /// The sequence number of its last event.
    pub last_seq: u64,
    /// How many events it has.
    pub event_count: u64,
    /// Intake's last verdict.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intake: Option<IntakeNote>,
    /// Triage's classification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub triage: Option<Triage>,
    /// Gates waiting for a human.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub open_gates: Vec<OpenGate>,
    /// The stage running now, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<StageRun>,
    /// Tokens read by models for this task.
    #[serde(default)]
    pub input_tokens: u64,
    /// Tokens written by models for this task.
    #[serde(default)]
    pub output_tokens: u64,
    /// Money spent, in micro-dollars.
    #[serde(default)]
    pub cost_micros: u64,
    /// Tool calls made by its agents.
    #[serde(default)]
    pub tool_calls: u64,
    /// The version of the repository memory its agents were last given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_version: Option<u64>,
    /// The forge's CI checks of its PR's head commit, as last recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ci: Option<CiReport>,
    /// Worktrees made for it, while they exist.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub worktrees: Vec<WorktreeRef>,
    /// Worktrees removed by a clean whose branch was kept: their change is still there to show.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub removed_worktrees: Vec<WorktreeRef>,
    /// The last stage that finished, and whether it succeeded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_stage: Option<FinishedStage>,
    /// Stages that finished successfully, in order (a stage that runs again appears again).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub completed_stages: Vec<StageRun>,
    /// The playbook and policy it runs with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub playbook: Option<PlaybookRef>,
    /// The accepted plan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<Plan>,
    /// The latest review.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review: Option<Review>,
    /// Reviews that requested changes.
    #[serde(default)]
    pub rejected_reviews: u32,
    /// The latest result of each validation command, with the attempt it belonged to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub validation: Vec<ValidationRun>,
    /// Breakers that tripped.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub breakers: Vec<String>,
    /// The pull request, once created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pr: Option<PullRequest>,
    /// Its outputs kept in the object store (logs, patches, PR documents, evaluation outputs).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub artifacts: Vec<ArtifactRef>,
    /// The PR agent's draft, before the PR gate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pr_draft: Option<PullRequest>,
    /// The Left Hand's work, once it started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exploration: Option<Exploration>,
    /// Gates decided so far, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub decided_gates: Vec<DecidedGate>,
    /// The engineer's notes, oldest first: every later stage's instructions carry them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<EngineerNote>,
    /// Work sent back from gates, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub send_backs: Vec<SendBack>,
    /// The comment linking the PR on the task's source issue, once posted (its web address).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issue_comment: Option<String>,
    /// The forge reviews acted on (their ids), so none is acted on twice.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reviews_acted_on: Vec<String>,
    /// Rounds of PR feedback the task was sent back for.
    #[serde(default)]
    pub reworks: u32,
    /// Feedback on the PR being reworked: set until the rework is pushed and answered on the PR.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rework: Option<Rework>,
}

/// The id under which the failed CI of `commit` is acted on, once, in
/// [`Task::reviews_acted_on`].
pub fn ci_feedback_id(commit: &str) -> String {
    format!("ci-{commit}")
}

/// A round of PR feedback the task is reworking.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rework {
    /// Who gave it (`@alice, @bob`, or `CI`).
    pub from: String,
    /// What they said, as the agents were told.
    pub note: String,
    /// The sequence number of the `pr_feedback` event.
    pub seq: u64,
}

/// A gate a human (or the run's approval policy) decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecidedGate {
    /// The gate.
    pub id: GateId,
    /// Why it existed.
    pub kind: GateKind,
    /// What the human was told.
    pub reason: String,
    /// The answer.
    pub decision: Decision,
    /// The comment, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// For a choice: what was picked (the first option when the human did not pick).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub choice: Option<String>,
    /// The evidence the decision was made from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence_hash: Option<Digest>,
    /// Set when a rewind set aside the work this decision approved: it no longer counts.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub superseded: bool,
}

impl Task {
    /// The projection right after `task_created`.
    pub fn created(id: TaskId, spec: TaskSpec, event: &Event) -> Self {
        Self {
            id,
            spec,
            status: TaskStatus::Received,
            created_at: event.at,
            updated_at: event.at,
            last_seq: event.seq,
            event_count: 1,
            intake: None,
            triage: None,
            open_gates: Vec::new(),
            stage: None,
            input_tokens: 0,
            output_tokens: 0,
            cost_micros: 0,
            tool_calls: 0,
            memory_version: None,
            ci: None,
            worktrees: Vec::new(),
            removed_worktrees: Vec::new(),
            last_stage: None,
            completed_stages: Vec::new(),
            playbook: None,
            plan: None,
            review: None,
            rejected_reviews: 0,
            validation: Vec::new(),
            breakers: Vec::new(),
            pr: None,
            artifacts: Vec::new(),
            pr_draft: None,
            exploration: None,
            decided_gates: Vec::new(),
            notes: Vec::new(),
            send_backs: Vec::new(),
            issue_comment: None,
            reviews_acted_on: Vec::new(),
            reworks: 0,
            rework: None,
        }
    }

    /// The kind: triage's when known, else what the requester declared.
    pub fn kind(&self) -> Option<TaskKind> {
        self.triage.as_ref().map(|t| t.kind).or(self.spec.kind)
    }

    /// The risk: triage's when known, else what the requester declared.
    pub fn risk(&self) -> Option<Risk> {
        self.triage.as_ref().map(|t| t.risk).or(self.spec.risk)
    }

    /// How many times a stage of `kind` finished successfully.
    pub fn completed(&self, kind: StageKind) -> usize {
        self.completed_stages.iter().filter(|s| s.kind == Some(kind)).count()
    }

    /// Whether the last stage that finished is of `kind`, and whether it succeeded.
    pub fn last_finished(&self, kind: StageKind) -> Option<bool> {
        self.last_stage.as_ref().filter(|last| last.stage.kind == Some(kind)).map(|last| last.ok)
    }

    /// Work sent back from a gate whose stage has not started again yet.
    pub fn pending_send_back(&self) -> Option<&SendBack> {
        self.send_backs.last().filter(|back| !back.resumed)
    }

    /// The route, once triaged.
    pub fn route(&self) -> Option<Route> {
        self.triage.as_ref().map(|t| t.route)
    }

    /// The line the task queue shows.
    pub fn summary(&self) -> TaskSummary {
        TaskSummary {
            id: self.id,
            title: self.spec.title.clone(),
            status: self.status,
            kind: self.kind(),
            risk: self.risk(),
            route: self.route(),
            created_at: self.created_at,
            open_gates: self.open_gates.len() as u32,
            cost_micros: self.cost_micros,
        }
    }

    /// Folds one more event of this task into the projection, or says why it does not fit.
    pub fn apply(&mut self, event: &Event) -> Result<(), ApplyError> {
        match &event.kind {
            EventKind::TaskCreated { .. } => return Err(ApplyError::Duplicate(self.id)),
            EventKind::TaskRevised { spec } => {
                if !matches!(self.status, TaskStatus::NeedsClarification | TaskStatus::Escalated) {
                    return Err(ApplyError::NotRevisable { task: self.id, status: self.status });
                }
                self.spec = spec.clone();
            }
            EventKind::IntakeAssessed { verdict, reasons, questions, suggested_split } => {
                self.intake = Some(IntakeNote {
                    verdict: *verdict,
                    reasons: reasons.clone(),
                    questions: questions.clone(),
                    suggested_split: suggested_split.clone(),
                });
            }
            EventKind::TaskTriaged(triage) => self.triage = Some(triage.clone()),
            EventKind::StatusChanged { from, to, .. } => {
                if *from != self.status {
                    return Err(ApplyError::StaleStatus { task: self.id, actual: self.status, claimed: *from });
                }
                check_transition(*from, *to)?;
                self.status = *to;
                if *to != TaskStatus::Running && *to != TaskStatus::AwaitingGate {
                    self.stage = None;
                }
            }
            EventKind::StageStarted { stage, kind, .. } => {
                let stage = StageRun::new(stage, *kind);
                if let Some(back) =
                    self.send_backs.last_mut().filter(|back| !back.resumed && stage.kind == Some(back.to))
                {
                    back.resumed = true;
                }
                self.stage = Some(stage);
            }
            EventKind::SentBack { gate_kind, to, note, .. } => {
                // The stage a gate interrupted is abandoned: the work goes back to `to`.
                self.stage = None;
                self.send_backs.push(SendBack {
                    to: *to,
                    stage: None,
                    gate: Some(*gate_kind),
                    feedback: None,
                    note: note.clone(),
                    resumed: false,
                    outcome: None,
                });
            }
            EventKind::Rewound { stage, kind, note, .. } => {
                self.stage = None;
                self.send_backs.push(SendBack {
                    to: *kind,
                    stage: Some(stage.clone()),
                    gate: None,
                    feedback: None,
                    note: note.clone().unwrap_or_default(),
                    resumed: false,
                    outcome: None,
                });
                // What was approved of the work set aside must be approved again.
                for gate in &mut self.decided_gates {
                    if gate.kind == GateKind::PullRequest || (gate.kind == GateKind::Plan && *kind == StageKind::Plan) {
                        gate.superseded = true;
                    }
                }
                if let Some(text) = note.as_ref().filter(|_| matches!(event.actor, Actor::Human { .. })) {
                    self.notes.push(EngineerNote { text: text.clone(), gate: None, from: None, seq: event.seq });
                }
            }
            EventKind::Note { text } if matches!(event.actor, Actor::Human { .. }) => {
                self.notes.push(EngineerNote { text: text.clone(), gate: None, from: None, seq: event.seq });
            }
            EventKind::StageFinished { stage, ok, kind, summary } => {
                self.stage = None;
                let stage = StageRun::new(stage, *kind);
                if let Some(back) = self
                    .send_backs
                    .last_mut()
                    .filter(|back| back.resumed && back.outcome.is_none() && stage.kind == Some(back.to) && *ok)
                {
                    back.outcome = Some(summary.clone());
                }
                if *ok {
                    self.completed_stages.push(stage.clone());
                }
                self.last_stage = Some(FinishedStage { stage, ok: *ok });
            }
            EventKind::PlaybookSelected { playbook, playbook_version, policy_version, .. } => {
                self.playbook = Some(PlaybookRef {
                    name: playbook.clone(),
                    version: playbook_version.clone(),
                    policy_version: policy_version.clone(),
                });
            }
            EventKind::PlanSubmitted { plan } => self.plan = Some(plan.clone()),
            EventKind::ReviewSubmitted { review } => {
                if review.verdict == ReviewVerdict::RequestChanges {
                    self.rejected_reviews += 1;
                }
                self.review = Some(review.clone());
            }
            EventKind::ValidationRan { attempt, result } => {
                self.validation.retain(|run| run.result.command != result.command);
                self.validation.push(ValidationRun { attempt: *attempt, result: result.clone() });
            }
            EventKind::BreakerTripped { breaker, .. } => self.breakers.push(breaker.clone()),
            EventKind::PrCreated { pr } => self.pr = Some(pr.clone()),
            EventKind::PrDrafted { pr } => self.pr_draft = Some(pr.clone()),
            EventKind::UsageRecorded { input_tokens, output_tokens, cost_micros } => {
                self.input_tokens += input_tokens;
                self.output_tokens += output_tokens;
                self.cost_micros += cost_micros;
            }
            EventKind::GateOpened { gate, kind, reason, evidence_hash, options, .. } => {
                self.open_gates.push(OpenGate {
                    id: *gate,
                    kind: *kind,
                    reason: reason.clone(),
                    opened_seq: event.seq,
                    evidence_hash: *evidence_hash,
                    options: options.clone(),
                })
            }
            EventKind::GateDecided { gate, decision, note, choice } => {
                let Some(index) = self.open_gates.iter().position(|g| g.id == *gate) else {
                    return Err(ApplyError::GateNotOpen { task: self.id, gate: *gate });
                };
                let open = self.open_gates.remove(index);
                if let Some(text) = note.as_ref().filter(|_| matches!(event.actor, Actor::Human { .. })) {
                    self.notes.push(EngineerNote {
                        text: text.clone(),
                        gate: Some(open.kind),
                        from: None,
                        seq: event.seq,
                    });
                }
                self.decided_gates.push(DecidedGate {
                    id: open.id,
                    kind: open.kind,
                    reason: open.reason,
                    decision: *decision,
                    note: note.clone(),
                    choice: choice.clone().or_else(|| open.options.first().cloned()),
                    evidence_hash: open.evidence_hash,
                    superseded: false,
                });
            }
            EventKind::ToolCalled(_) => self.tool_calls += 1,
            EventKind::WorktreeCreated { candidate, path, branch, base } => {
                self.worktrees.retain(|w| w.candidate != *candidate);
                self.worktrees.push(WorktreeRef {
                    candidate: candidate.clone(),
                    path: path.clone(),
                    branch: branch.clone(),
                    base: base.clone(),
                    set_up: false,
                });
            }
            EventKind::SetupRan { candidate, results, .. } => {
                if let Some(worktree) = self.worktrees.iter_mut().find(|w| w.candidate == *candidate) {
                    worktree.set_up = results.iter().all(|r| r.ok);
                }
            }
            EventKind::WorktreeRemoved { candidate, branch_deleted, .. } => {
                let (removed, kept) =
                    std::mem::take(&mut self.worktrees).into_iter().partition(|w| w.candidate == *candidate);
                self.worktrees = kept;
                if branch_deleted.is_none() {
                    self.removed_worktrees.retain(|w| w.candidate != *candidate);
                    self.removed_worktrees.extend(removed);
                }
            }
            EventKind::ExplorationStarted { .. }
            | EventKind::AcceptanceTestsWritten { .. }
            | EventKind::CandidateFinished { .. }
            | EventKind::CandidateAnalyzed { .. }
            | EventKind::EvidenceRecorded { .. }
            | EventKind::SynthesisSubmitted { .. }
            | EventKind::ChangeAdopted { .. } => {
                Exploration::apply(&mut self.exploration, &event.kind);
            }
            EventKind::IssueCommented { url, .. } => self.issue_comment = Some(url.clone()),
            EventKind::PrFeedback { reviews, failed_checks, to } => {
                if self.status != TaskStatus::PrReady || self.pr.is_none() {
                    return Err(ApplyError::NotDelivered { task: self.id, status: self.status });
                }
                let from = feedback_from(reviews);
                let note = feedback_note(reviews, failed_checks);
                self.reviews_acted_on.extend(reviews.iter().map(|review| review.id.clone()));
                if let Some(pr) = self.pr.as_ref().filter(|_| !failed_checks.is_empty()) {
                    self.reviews_acted_on.push(ci_feedback_id(&pr.commit));
                }
                self.reworks += 1;
                self.send_backs.push(SendBack {
                    to: *to,
                    stage: None,
                    gate: None,
                    feedback: Some(from.clone()),
                    note: note.clone(),
                    resumed: false,
                    outcome: None,
                });
                self.notes.push(EngineerNote {
                    text: note.clone(),
                    gate: None,
                    from: Some(from.clone()),
                    seq: event.seq,
                });
                self.rework = Some(Rework { from, note, seq: event.seq });
            }
            EventKind::PrAnswered { .. } => self.rework = None,
            EventKind::CiChecked { report } => self.ci = Some(report.clone()),
            EventKind::ArtifactsStored { artifacts, .. } => {
                for artifact in artifacts {
                    if !self.artifacts.iter().any(|a| a.digest == artifact.digest && a.name == artifact.name) {
                        self.artifacts.push(artifact.clone());
                    }
                }
            }
            EventKind::EngineStarted { .. }
            | EventKind::HookRan { .. }
            | EventKind::BranchPushed { .. }
            | EventKind::ForgeRetry { .. }
            | EventKind::AgentMessage { .. }
            | EventKind::ModelRetry { .. }
            | EventKind::BudgetExceeded { .. }
            | EventKind::WorktreeIssue { .. }
            | EventKind::CheckpointRestored { .. }
            | EventKind::SetupNetworkAllowed { .. }
            | EventKind::MemoryChanged { .. }
            | EventKind::ExhibitChanged { .. }
            | EventKind::PlaybookChanged { .. }
            | EventKind::AutonomyChanged { .. }
            | EventKind::Note { .. } => {}
            EventKind::MemoryUsed { version, .. } => self.memory_version = Some(*version),
        }
        self.updated_at = event.at;
        self.last_seq = event.seq;
        self.event_count += 1;
        Ok(())
    }
}

/// A task just created from `spec`, for tests elsewhere in the crate.
#[cfg(test)]
pub(crate) fn fresh(spec: TaskSpec) -> Task {
    let created = Event {
        schema: crate::protocol::EVENT_SCHEMA,
        seq: 1,
        at: Timestamp::UNIX_EPOCH,
        task: None,
        actor: crate::protocol::Actor::Orchestrator,
        kind: EventKind::TaskCreated { spec: spec.clone() },
        prev_hash: crate::protocol::Digest::GENESIS,
        hash: crate::protocol::Digest::GENESIS,
    };
    Task::created(TaskId::new(), spec, &created)
}

#[cfg(test)]
#[path = "task_tests.rs"]
mod tests;
