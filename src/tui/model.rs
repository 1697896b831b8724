//! What the control room knows about one task beyond its queue line, folded from the task's
//! events (live ones, and past ones loaded through the read port after a restart).

use std::sync::Arc;

use crate::protocol::{
    Decision, Digest, Event, EventKind, EvidenceMatrix, Finding, GateId, GateKind, IntakeVerdict, PRODUCTION, Plan,
    PullRequest, Recommendation, Review, Role, StageKind, Synthesis, TaskId, TaskSpec, Track, ValidationResult,
};

use super::streams::{Streams, stream_key};

/// A gate of a task, open or decided.
#[derive(Debug, Clone, PartialEq)]
pub struct GateView {
    /// The gate.
    pub id: GateId,
    /// The task it belongs to.
    pub task: TaskId,
    /// Why it exists.
    pub kind: GateKind,
    /// What the human should know.
    pub reason: String,
    /// The evidence shown with it.
    pub evidence_hash: Option<Digest>,
    /// The decisions allowed.
    pub allowed: Vec<Decision>,
    /// For a choice: the options, the recommended one first.
    pub options: Vec<String>,
    /// The event that opened it.
    pub opened_seq: u64,
    /// When it opened.
    pub opened_at: jiff::Timestamp,
    /// The decision, once taken: decision, note, choice.
    pub decided: Option<(Decision, Option<String>, Option<String>)>,
}

/// A stage that started from a checkpoint: what a rewind to it restores.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageCheckpoint {
    /// The stage's name in the playbook (what a rewind names).
    pub stage: String,
    /// The role that ran it.
    pub role: Role,
    /// What the stage does, when the event says.
    pub kind: Option<StageKind>,
    /// The commit recording the worktree as the stage found it.
    pub commit: String,
    /// The event of its newest start.
    pub seq: u64,
    /// When it last started.
    pub at: jiff::Timestamp,
}

/// Intake's verdict, as the form shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntakeView {
    /// The verdict.
    pub verdict: IntakeVerdict,
    /// Why.
    pub reasons: Vec<String>,
    /// What to answer.
    pub questions: Vec<String>,
    /// How to split.
    pub suggested_split: Vec<String>,
}

/// A challenger candidate of the Left Hand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CandidateView {
    /// Its label.
    pub label: String,
    /// Its strategy.
    pub strategy: String,
    /// `exploring`, `finished`, `failed`.
    pub state: String,
    /// What it did, or why it failed.
    pub summary: String,
    /// The failure analyst's findings.
    pub findings: Vec<Finding>,
}

/// Whether a task's past events were loaded.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Loaded {
    /// Not asked for yet.
    #[default]
    No,
    /// Asked for; live events are kept until the answer comes.
    Loading,
    /// Loaded.
    Yes,
    /// The read failed.
    Failed(String),
}

/// Everything shown about one task.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TaskDetail {
    /// Whether its history was loaded.
    pub loaded: Loaded,
    /// Live events that arrived while the history loaded.
    pub pending: Vec<Arc<Event>>,
    /// The highest event applied.
    pub applied_seq: u64,
    /// What was asked.
    pub spec: Option<TaskSpec>,
    /// Intake's last verdict.
    pub intake: Option<IntakeView>,
    /// Triage's reasons and the gates policy requires.
    pub triage_reasons: Vec<String>,
    /// The stage running now.
    pub stage: Option<String>,
    /// The Right Hand's agents.
    pub right: Streams,
    /// The Left Hand's candidates and agents.
    pub left: Streams,
    /// What started the exploration, and its evidence.
    pub exploration: Option<(String, String)>,
    /// The challengers.
    pub candidates: Vec<CandidateView>,
    /// Acceptance tests: (written, failing on base, weak).
    pub acceptance: Option<(Vec<String>, Vec<String>, Vec<String>)>,
    /// Every gate, in opening order.
    pub gates: Vec<GateView>,
    /// The stages that started from a checkpoint: one per stage name, in the order the stages
    /// first started, each as of its newest start (the one a rewind returns to).
    pub checkpoints: Vec<StageCheckpoint>,
    /// The latest evidence matrix and its hash.
    pub matrix: Option<(EvidenceMatrix, Digest)>,
    /// The synthesis recommendation.
    pub synthesis: Option<Synthesis>,
    /// The plan.
    pub plan: Option<Plan>,
    /// The latest review.
    pub review: Option<Review>,
    /// Validation results, in order.
    pub validations: Vec<ValidationResult>,
    /// The PR, drafted or created.
    pub pr: Option<PullRequest>,
    /// Candidate labels that have worktrees (`production`, `c1`, …), in order.
    pub worktrees: Vec<String>,
    /// Bumped whenever a worktree may have changed, so diffs know to reload.
    pub diff_version: u64,
}

impl TaskDetail {
    /// Applies a batch of past events (the history) and then the live ones kept while loading.
    pub fn load(&mut self, history: &[Arc<Event>]) {
        let pending = std::mem::take(&mut self.pending);
        let (right, left) = (std::mem::take(&mut self.right), std::mem::take(&mut self.left));
        *self = TaskDetail::default();
        for event in history {
            self.apply(event);
        }
        for event in &pending {
            self.apply(event);
        }
        // Streamed text that arrived before the history keeps its unfinished lines.
        for (mine, old) in [(&mut self.right, right), (&mut self.left, left)] {
            for stream in old.agents {
                if !stream.partial.is_empty()
                    && let Some(found) = mine.agents.iter_mut().rev().find(|s| s.label == stream.label)
                {
                    found.partial = stream.partial;
                    found.streamed = true;
                }
            }
        }
        self.loaded = Loaded::Yes;
    }

    /// Applies one event (ignored when already applied).
    pub fn apply(&mut self, event: &Arc<Event>) {
        if event.seq <= self.applied_seq {
            return;
        }
        if self.loaded == Loaded::Loading {
            self.pending.push(event.clone());
        }
        self.applied_seq = event.seq;
        let stream = stream_key(&event.actor);
        match &event.kind {
            EventKind::TaskCreated { spec } | EventKind::TaskRevised { spec } => self.spec = Some(spec.clone()),
            EventKind::IntakeAssessed { verdict, reasons, questions, suggested_split } => {
                self.intake = Some(IntakeView {
                    verdict: *verdict,
                    reasons: reasons.clone(),
                    questions: questions.clone(),
                    suggested_split: suggested_split.clone(),
                });
            }
            EventKind::TaskTriaged(triage) => self.triage_reasons = triage.reasons.clone(),
            EventKind::StageStarted { stage, role, kind, checkpoint } => {
                self.stage = Some(stage.clone());
                if let Some(commit) = checkpoint {
                    let newest = StageCheckpoint {
                        stage: stage.clone(),
                        role: *role,
                        kind: *kind,
                        commit: commit.clone(),
                        seq: event.seq,
                        at: event.at,
                    };
                    match self.checkpoints.iter_mut().find(|c| c.stage == *stage) {
                        Some(known) => *known = newest,
                        None => self.checkpoints.push(newest),
                    }
                }
                if role.track() == Track::Right {
                    let section = self.right.start(role.as_str(), None);
                    section.state = "running".into();
                    section.status(format!("▶ stage {stage}"));
                }
            }
            EventKind::StageFinished { stage, ok, summary, .. } => {
                self.stage = None;
                self.diff_version += 1;
                let role = match &stream {
                    Some((Track::Right, key)) => Some(key.clone()),
                    _ => self.right.agents.last().map(|a| a.label.clone()),
                };
                if let Some(role) = role
                    && let Some(section) = self.right.agents.iter_mut().rev().find(|a| a.label == role)
                {
                    section.state = if *ok { "done".into() } else { "failed".into() };
                    let mark = if *ok { "✓" } else { "✗" };
                    section.status(format!("{mark} {stage}: {}", summary.lines().next().unwrap_or_default()));
                }
            }
            EventKind::Note { text } if matches!(event.actor, crate::protocol::Actor::Human { .. }) => {
                // The running agents hear it at their next turn: show it where they work.
                let line = format!("✉ from the engineer: {text}");
                for hand in [Track::Right, Track::Left] {
                    for section in self.hand(hand).agents.iter_mut().filter(|a| a.state == "running") {
                        section.status(line.clone());
                    }
                }
            }
            EventKind::AgentMessage { text } => {
                if let Some((track, key)) = &stream {
                    self.hand(*track).get(key, None).message(text);
                }
            }
            EventKind::ToolCalled(record) => {
                if let Some((track, key)) = &stream {
                    self.hand(*track).get(key, None).tool(record);
                }
                if matches!(record.tool.as_str(), "write_file" | "edit_file" | "run") {
                    self.diff_version += 1;
                }
            }
            EventKind::ModelRetry { attempt, reason, delay_ms } => {
                if let Some((track, key)) = &stream {
                    self.hand(*track).get(key, None).retry(*attempt, reason, *delay_ms);
                }
            }
            EventKind::GateOpened { gate, kind, reason, evidence_hash, allowed, options } => {
                self.gates.push(GateView {
                    id: *gate,
                    task: event.task.unwrap_or_default(),
                    kind: *kind,
                    reason: reason.clone(),
                    evidence_hash: *evidence_hash,
                    allowed: allowed.clone(),
                    options: options.clone(),
                    opened_seq: event.seq,
                    opened_at: event.at,
                    decided: None,
                });
            }
            EventKind::GateDecided { gate, decision, note, choice } => {
                if let Some(view) = self.gates.iter_mut().find(|g| g.id == *gate) {
                    view.decided = Some((*decision, note.clone(), choice.clone()));
                }
            }
            EventKind::WorktreeCreated { candidate, .. } => {
                if !self.worktrees.contains(candidate) {
                    self.worktrees.push(candidate.clone());
                }
                self.diff_version += 1;
            }
            EventKind::PlanSubmitted { plan } => self.plan = Some(plan.clone()),
            EventKind::ReviewSubmitted { review } => self.review = Some(review.clone()),
            EventKind::ValidationRan { result, .. } => self.validations.push(result.clone()),
            EventKind::PrDrafted { pr } | EventKind::PrCreated { pr } => self.pr = Some(pr.clone()),
            EventKind::ExplorationStarted { trigger, evidence, candidates } => {
                self.exploration = Some((trigger.clone(), evidence.clone()));
                for plan in candidates {
                    let stream = self.left.get(&plan.label, Some(plan.label.clone()));
                    stream.strategy = Some(plan.strategy.clone());
                    stream.state = "exploring".into();
                    if !self.candidates.iter().any(|c| c.label == plan.label) {
                        self.candidates.push(CandidateView {
                            label: plan.label.clone(),
                            strategy: plan.strategy.clone(),
                            state: "exploring".into(),
                            summary: String::new(),
                            findings: Vec::new(),
                        });
                    }
                }
            }
            EventKind::AcceptanceTestsWritten { tests, failing_on_base, passing_on_base, .. } => {
                self.acceptance = Some((tests.clone(), failing_on_base.clone(), passing_on_base.clone()));
                let key = stream.as_ref().map_or("eval_designer", |(_, key)| key.as_str()).to_owned();
                self.left.get(&key, None).status(format!(
                    "acceptance tests: {} written, {} fail on base, {} weak",
                    tests.len(),
                    failing_on_base.len(),
                    passing_on_base.len()
                ));
            }
            EventKind::CandidateFinished { candidate, strategy, ok, summary } => {
                let state = if *ok { "finished" } else { "failed" };
                let stream = self.left.get(candidate, Some(candidate.clone()));
                stream.strategy = Some(strategy.clone());
                stream.state = state.into();
                stream.status(format!("{} {state}: {}", if *ok { "✓" } else { "✗" }, first_line(summary)));
                self.diff_version += 1;
                match self.candidates.iter_mut().find(|c| &c.label == candidate) {
                    Some(view) => {
                        view.state = state.into();
                        view.summary = summary.clone();
                    }
                    None => self.candidates.push(CandidateView {
                        label: candidate.clone(),
                        strategy: strategy.clone(),
                        state: state.into(),
                        summary: summary.clone(),
                        findings: Vec::new(),
                    }),
                }
            }
            EventKind::CandidateAnalyzed { candidate, findings } => {
                self.left
                    .get(candidate, Some(candidate.clone()))
                    .status(format!("failure analysis: {} findings", findings.len()));
                if let Some(view) = self.candidates.iter_mut().find(|c| &c.label == candidate) {
                    view.findings = findings.clone();
                }
            }
            EventKind::EvidenceRecorded { matrix, hash } => self.matrix = Some(((**matrix).clone(), *hash)),
            EventKind::SynthesisSubmitted { synthesis } => {
                self.left.get("synthesis", None).status(format!("recommends {}", synthesis.recommendation.label()));
                self.synthesis = Some(synthesis.clone());
            }
            EventKind::ChangeAdopted { choice, hunks, .. } => {
                self.diff_version += 1;
                self.right.get("adoption", None).status(format!("adopted {choice} ({} hunks)", hunks.len()));
            }
            EventKind::BreakerTripped { breaker, evidence } => {
                if let Some(section) = self.right.agents.last_mut() {
                    section.status(format!("breaker {breaker}: {}", first_line(evidence)));
                }
            }
            _ => {}
        }
    }

    fn hand(&mut self, track: Track) -> &mut Streams {
        match track {
            Track::Right => &mut self.right,
            Track::Left => &mut self.left,
        }
    }

    /// Applies streamed text.
    pub fn delta(&mut self, actor: &crate::protocol::Actor, text: &str) {
        if let Some((track, key)) = stream_key(actor) {
            self.hand(track).get(&key, None).delta(text);
        }
    }

    /// The open gates.
    pub fn open_gates(&self) -> impl Iterator<Item = &GateView> {
        self.gates.iter().filter(|g| g.decided.is_none())
    }

    /// The candidates whose diffs can be shown: production, then the challengers, in the order
    /// events named them. Only candidates count: production (the Right Hand's worktree) and the
    /// challengers that exploration started, that finished or that the matrix has a row for; the
    /// evaluation's own worktrees (its acceptance tests, its scratch copies) are not candidates.
    pub fn diffable(&self) -> Vec<String> {
        let matrix_rows = self.matrix.iter().flat_map(|(matrix, _)| matrix.rows.iter().map(|r| &r.candidate));
        let named: Vec<&String> = self.candidates.iter().map(|c| &c.label).chain(matrix_rows).collect();
        let mut labels: Vec<String> = Vec::new();
        let production = PRODUCTION.to_owned();
        if self.worktrees.contains(&production) || named.contains(&&production) {
            labels.push(production);
        }
        for label in self.worktrees.iter().filter(|w| named.contains(w)).chain(named.iter().copied()) {
            if !labels.contains(label) {
                labels.push(label.clone());
            }
        }
        labels
    }

    /// The row the synthesis recommendation stands on: the candidate it adopts, production, or
    /// the combination's own row (`combined`); none for "reject all".
    pub fn recommended(&self) -> Option<&str> {
        self.synthesis.as_ref()?.recommendation.row()
    }

    /// The candidate a gate's option adopts whole (`adopt c1` → `c1`, `keep production` →
    /// `production`), read with the same labels the engine made the options with.
    pub fn option_candidate(&self, option: &str) -> Option<String> {
        if option == Recommendation::KeepProduction.label() {
            return Some(PRODUCTION.to_owned());
        }
        let synthesis = self.synthesis.as_ref().map(|s| &s.recommendation);
        if let Some(combination @ Recommendation::Combine { .. }) = synthesis
            && option == combination.label()
        {
            return Some(Recommendation::COMBINED.to_owned());
        }
        self.diffable().into_iter().find(|c| Recommendation::Adopt { candidate: c.clone() }.label() == option)
    }
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{Actor, AgentIdentity, Role};

    fn event(seq: u64, actor: Actor, kind: EventKind) -> Arc<Event> {
        Arc::new(Event {
            schema: crate::protocol::EVENT_SCHEMA,
            seq,
            at: jiff::Timestamp::UNIX_EPOCH,
            task: Some(TaskId::from_u128(1)),
            actor,
            kind,
            prev_hash: Digest::GENESIS,
            hash: Digest::GENESIS,
        })
    }

    fn planner() -> Actor {
        Actor::Agent(AgentIdentity { role: Role::Planner, track: Track::Right, candidate: None })
    }

    #[test]
    fn history_and_live_events_meet_without_duplicates() {
        let mut detail = TaskDetail { loaded: Loaded::Loading, ..TaskDetail::default() };
        let started = event(
            2,
            Actor::Orchestrator,
            EventKind::StageStarted { stage: "plan".into(), role: Role::Planner, kind: None, checkpoint: None },
        );
        let message = event(3, planner(), EventKind::AgentMessage { text: "Reading the code.".into() });
        detail.apply(&message);
        detail.delta(&planner(), "Now the pl");
        detail.load(&[started.clone(), message.clone()]);
        assert_eq!(detail.loaded, Loaded::Yes);
        assert_eq!(detail.right.agents.len(), 1);
        let section = &detail.right.agents[0];
        assert_eq!(section.entries.len(), 2, "{section:?}");
        assert_eq!(section.partial, "Now the pl", "live streamed text survives the load");
        detail.apply(&message);
        assert_eq!(detail.right.agents[0].entries.len(), 2, "an applied event is not applied again");
    }

    #[test]
    fn each_stage_keeps_the_checkpoint_of_its_newest_start_in_first_start_order() {
        let started = |seq, stage: &str, role, checkpoint: Option<&str>| {
            let kind = StageKind::from_legacy_name(stage);
            let checkpoint = checkpoint.map(str::to_owned);
            event(seq, Actor::Orchestrator, EventKind::StageStarted { stage: stage.into(), role, kind, checkpoint })
        };
        let mut detail = TaskDetail::default();
        detail.load(&[
            started(1, "plan", Role::Planner, Some("aaa")),
            started(2, "implement", Role::Implementer, Some("bbb")),
            started(3, "test", Role::Tester, None),
            started(4, "plan", Role::Planner, Some("ccc")),
        ]);
        let kept: Vec<(&str, &str, u64)> =
            detail.checkpoints.iter().map(|c| (c.stage.as_str(), c.commit.as_str(), c.seq)).collect();
        assert_eq!(
            kept,
            vec![("plan", "ccc", 4), ("implement", "bbb", 2)],
            "a start without a checkpoint is not offered"
        );
    }

    #[test]
    fn the_engineers_message_shows_where_agents_are_running_and_an_engine_note_does_not() {
        let mut detail = TaskDetail { loaded: Loaded::Yes, ..TaskDetail::default() };
        let started =
            EventKind::StageStarted { stage: "plan".into(), role: Role::Planner, kind: None, checkpoint: None };
        detail.apply(&event(2, Actor::Orchestrator, started));
        let said = |detail: &TaskDetail| {
            detail.right.agents[0].entries.iter().filter(|e| format!("{e:?}").contains("from the engineer")).count()
        };
        let engine = EventKind::Note { text: "no checkpoint before the plan stage".into() };
        detail.apply(&event(3, Actor::Orchestrator, engine));
        assert_eq!(said(&detail), 0, "the engine's own notes are not the engineer's");
        let human = EventKind::Note { text: "check the refresh path too".into() };
        detail.apply(&event(4, Actor::Human { name: None }, human));
        assert_eq!(said(&detail), 1);
    }
}
