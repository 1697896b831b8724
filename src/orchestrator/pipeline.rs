//! The production track, driven from the log: every step reads the task's projection to decide
//! what comes next, so a run killed at any point resumes where its last durable event left it —
//! a started stage runs again, a decided gate is not asked again, an existing PR is not made
//! twice.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::breakers;
use super::explore;
use super::gates::GateOutcome;
use super::host::TaskHost;
use super::intake;
use super::signals::{SignalOptions, Signals};
use super::stages::Runner;
use super::triage;
use super::{Engine, EngineError, EngineSetup, lock};
use crate::domain::{Task, TaskBrief};
use crate::playbooks::playbook::Playbook;
use crate::protocol::{
    Actor, Decision, EventKind, GateId, GateKind, IntakeVerdict, NewEvent, PullRequest, Risk, TaskId, TaskKind,
    TaskSpec, TaskStatus,
};
use crate::workspace::{Worktree, WorktreeRequest, create};

/// How a run of a task ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    /// The pull request is ready for human review.
    PrReady(PullRequest),
    /// A gate waits for a human; run again after deciding it.
    Parked {
        /// The gate.
        gate: GateId,
        /// Its kind.
        kind: GateKind,
    },
    /// The task failed; the reason says why and what to do.
    Failed(String),
    /// A human cancelled it.
    Cancelled,
    /// Intake did not accept it (it needs clarification, was rejected or escalated).
    NotAccepted(TaskStatus),
}

/// Significant words of a title, for finding similar tasks.
fn title_words(title: &str) -> BTreeSet<String> {
    title.split(|c: char| !c.is_alphanumeric() && c != '_').filter(|w| w.len() > 3).map(str::to_lowercase).collect()
}

/// How many tasks other than `id` resemble this one (half or more of the title's significant
/// words, same repository), and how many of those failed.
fn similar(id: TaskId, spec: &TaskSpec, history: &[TaskBrief]) -> (u32, u32) {
    let words = title_words(&spec.title);
    if words.is_empty() {
        return (0, 0);
    }
    let alike: Vec<&TaskBrief> = history
        .iter()
        .filter(|t| t.id != id && t.spec.repo == spec.repo)
        .filter(|t| 2 * title_words(&t.spec.title).intersection(&words).count() >= words.len())
        .collect();
    let failed = alike.iter().filter(|t| matches!(t.status, TaskStatus::Failed | TaskStatus::Cancelled)).count();
    (alike.len() as u32, failed as u32)
}

/// The events that take a task through intake and, when it is accepted, triage (`history` is
/// every task, for the similar-task signals).
pub(crate) fn intake_events(
    setup: &EngineSetup,
    id: TaskId,
    spec: &TaskSpec,
    from: TaskStatus,
    history: &[TaskBrief],
) -> Vec<NewEvent> {
    let assessment = intake::assess(spec, &setup.policy);
    let event = |kind| NewEvent::for_task(id, Actor::Orchestrator, kind);
    let mut events = vec![event(assessment.to_event())];
    let to = match assessment.verdict {
        IntakeVerdict::Accepted => TaskStatus::Queued,
        IntakeVerdict::NeedsClarification => TaskStatus::NeedsClarification,
        IntakeVerdict::Rejected => TaskStatus::Rejected,
        IntakeVerdict::Escalated => TaskStatus::Escalated,
    };
    if assessment.verdict == IntakeVerdict::Accepted {
        let repo = spec.repo.as_deref().map(PathBuf::from).unwrap_or_else(|| PathBuf::from("."));
        let mut signals = Signals::gather(&repo, spec, &SignalOptions::default());
        (signals.similar_tasks, signals.similar_failures) = similar(id, spec, history);
        signals.playbook_exists = true;
        let mut triaged = triage::triage(spec, &setup.policy, &signals);
        if setup.playbooks.for_kind(triaged.kind).is_none() {
            signals.playbook_exists = false;
            triaged = triage::triage(spec, &setup.policy, &signals);
        }
        events.push(event(triaged.to_event()));
        if let Some(playbook) = setup.playbooks.for_kind(triaged.kind) {
            events.push(event(EventKind::PlaybookSelected {
                playbook: playbook.name.clone(),
                playbook_version: playbook.version.clone(),
                policy_version: setup.policy.version.clone(),
            }));
        }
    }
    let reason = match assessment.verdict {
        IntakeVerdict::Accepted => "accepted by intake".to_owned(),
        _ => {
            let details: Vec<String> = assessment.reasons.iter().chain(&assessment.questions).cloned().collect();
            format!("intake: {}", details.join("; "))
        }
    };
    events.push(event(EventKind::StatusChanged { from, to, reason }));
    events
}

/// Removes the task from the engine's running set when the run ends, however it ends.
struct RunningGuard {
    engine: Arc<Engine>,
    task: TaskId,
}

impl Drop for RunningGuard {
    fn drop(&mut self) {
        lock(&self.engine.running).remove(&self.task);
    }
}

fn status_change(id: TaskId, from: TaskStatus, to: TaskStatus, reason: &str) -> NewEvent {
    NewEvent::for_task(id, Actor::Orchestrator, EventKind::StatusChanged { from, to, reason: reason.to_owned() })
}

/// Drives a task until it reaches a PR, fails, is cancelled, or parks at a gate.
pub async fn drive(engine: Arc<Engine>, id: TaskId) -> Result<Ending, EngineError> {
    if !lock(&engine.running).insert(id) {
        return Err(EngineError::Refused(format!("task {} is already being run", id.short())));
    }
    let _guard = RunningGuard { engine: engine.clone(), task: id };
    let setup = engine.setup()?.clone();
    let mut task = engine.task(id)?;
    if task.status == TaskStatus::Received {
        let history = engine.reader().task_briefs()?;
        engine.append(intake_events(&setup, id, &task.spec, TaskStatus::Received, &history)).await?;
        task = engine.task(id)?;
    }
    match task.status {
        TaskStatus::NeedsClarification | TaskStatus::Rejected | TaskStatus::Escalated => {
            return Ok(Ending::NotAccepted(task.status));
        }
        TaskStatus::PrReady => {
            return Ok(task.pr.map_or_else(|| Ending::Failed("PR-ready without a PR".into()), Ending::PrReady));
        }
        TaskStatus::Cancelled => return Ok(Ending::Cancelled),
        TaskStatus::Failed => {
            return Ok(Ending::Failed("the task failed earlier; `ambidex task resume ID` queues it again".into()));
        }
        TaskStatus::Queued => {
            engine.append(vec![status_change(id, TaskStatus::Queued, TaskStatus::Running, "started")]).await?;
        }
        TaskStatus::Interrupted => {
            engine.append(vec![status_change(id, TaskStatus::Interrupted, TaskStatus::Running, "resumed")]).await?;
        }
        TaskStatus::Running => {
            engine
                .append(vec![
                    status_change(id, TaskStatus::Running, TaskStatus::Interrupted, "the engine stopped while it ran"),
                    status_change(
                        id,
                        TaskStatus::Interrupted,
                        TaskStatus::Running,
                        "resumed from its last durable step",
                    ),
                ])
                .await?;
        }
        TaskStatus::AwaitingGate | TaskStatus::Received => {}
    }
    let task = engine.task(id)?;
    let kind = task.kind().unwrap_or(TaskKind::Feature);
    let playbook = task
        .playbook
        .as_ref()
        .and_then(|playbook| setup.playbooks.get(&playbook.name))
        .or_else(|| setup.playbooks.for_kind(kind))
        .cloned()
        .ok_or_else(|| EngineError::Refused(format!("no playbook for task kind {kind}")))?;
    let (worktree, _) = ensure_worktree(&engine, &task, "production").await?;
    let host = Arc::new(TaskHost::new(engine.clone(), id));
    let mut runner = Runner::new(engine.clone(), setup, id, playbook, worktree, host);
    run_loop(&engine, &mut runner).await
}

/// Creates the worktree of candidate `label` once; later runs reuse it. The second value says
/// whether it was created now.
pub(crate) async fn ensure_worktree(
    engine: &Arc<Engine>,
    task: &Task,
    label: &str,
) -> Result<(Worktree, bool), EngineError> {
    let repo = PathBuf::from(task.spec.repo.as_deref().unwrap_or("."));
    if let Some(known) = task.worktrees.iter().find(|w| w.candidate == label)
        && Path::new(&known.path).exists()
    {
        let worktree = Worktree {
            repo,
            path: PathBuf::from(&known.path),
            branch: known.branch.clone(),
            name: format!("ambidex-{}-{label}", task.id.short()),
            base: known.base.clone(),
        };
        return Ok((worktree, false));
    }
    // Every candidate starts from the commit production started from.
    let base = task
        .worktrees
        .iter()
        .find(|w| w.candidate == "production")
        .map(|w| w.base.clone())
        .or_else(|| task.spec.target_branch.clone());
    let request =
        WorktreeRequest { repo, task: task.id, candidate: label.to_owned(), base, root: engine.worktrees_root() };
    let worktree = tokio::task::spawn_blocking(move || create(&request))
        .await
        .map_err(|err| EngineError::Refused(format!("worktree creation stopped: {err}")))?
        .map_err(|err| EngineError::Refused(err.to_string()))?;
    let created = EventKind::WorktreeCreated {
        candidate: label.to_owned(),
        path: worktree.path.display().to_string(),
        branch: worktree.branch.clone(),
        base: worktree.base.clone(),
    };
    engine.append(vec![NewEvent::for_task(task.id, Actor::Orchestrator, created)]).await?;
    Ok((worktree, true))
}

/// What the runner does next, read from the projection.
enum Step {
    /// Open (or wait on) a gate.
    Gate(GateKind, String),
    /// Run a stage.
    Stage(String),
    /// Make the PR.
    Finalize,
}

fn gate_decided(task: &Task, kind: GateKind) -> bool {
    task.decided_gates.iter().any(|g| g.kind == kind && g.decision != Decision::Reject)
}

fn next_step(task: &Task, playbook: &Playbook, plan_gate_at: Risk) -> Step {
    if let Some(stage) = &task.stage {
        return Step::Stage(stage.clone());
    }
    let next = match &task.last_stage {
        None => playbook.stages.first().map(|s| s.name.clone()),
        Some((_, false)) => Some("implement".to_owned()),
        Some((name, true)) => playbook.next_stage(name).map(|s| s.name.clone()),
    };
    let Some(next) = next else { return Step::Finalize };
    let first_implementation = next == "implement" && !task.completed_stages.iter().any(|s| s == "implement");
    let risk = task.risk().unwrap_or(Risk::Medium);
    if first_implementation && risk >= plan_gate_at && !gate_decided(task, GateKind::Plan) {
        let plan = task.plan.as_ref().map(|p| p.summary.clone()).unwrap_or_default();
        return Step::Gate(GateKind::Plan, format!("risk is {risk}: approve the plan before implementation. {plan}"));
    }
    Step::Stage(next)
}

async fn run_loop(engine: &Arc<Engine>, runner: &mut Runner) -> Result<Ending, EngineError> {
    let id = runner.task_id();
    let plan_gate_at = runner.setup().policy.gates.plan_at_or_above;
    loop {
        let task = engine.task(id)?;
        match task.status {
            TaskStatus::Cancelled => return Ok(Ending::Cancelled),
            TaskStatus::Failed => return Ok(Ending::Failed(last_reason(engine, id))),
            TaskStatus::PrReady => return Ok(task.pr.map_or(Ending::Cancelled, Ending::PrReady)),
            TaskStatus::Queued => {
                engine.append(vec![status_change(id, TaskStatus::Queued, TaskStatus::Running, "continuing")]).await?;
                continue;
            }
            _ => {}
        }
        // The promotion gate is the Left Hand's own: rejecting it keeps production, not a failure.
        if let Some(open) = task.open_gates.first().filter(|g| g.kind != GateKind::Promotion) {
            match engine.gate(id, open.kind, open.reason.clone(), None).await? {
                GateOutcome::Parked(gate) => return Ok(Ending::Parked { gate, kind: open.kind }),
                GateOutcome::Decided(Decision::Reject, note) => return fail(engine, id, open.kind, note).await,
                GateOutcome::Decided(..) => {
                    runner.after_approval(open.kind);
                    continue;
                }
            }
        }
        let challengers = runner.setup().config.engine.challengers;
        if let Some((trigger, evidence)) = explore::start::due(&task, challengers) {
            let left = &runner.setup().playbooks.left_hand;
            let started = explore::start::started(&task, left, challengers, &trigger, evidence);
            engine.append(vec![NewEvent::for_task(id, Actor::Orchestrator, started)]).await?;
            continue;
        }
        if task.stage.is_none() && task.exploration.as_ref().is_some_and(|e| e.adopted.is_none()) {
            if let Some(ending) = explore::explore(runner).await? {
                return Ok(ending);
            }
            continue;
        }
        match next_step(&task, runner.playbook(), plan_gate_at) {
            Step::Gate(kind, reason) => {
                if let Some(ending) = ask(engine, runner, kind, reason).await? {
                    return Ok(ending);
                }
            }
            Step::Stage(stage) => {
                if let Some(ending) = runner.run_stage(&stage).await? {
                    return Ok(ending);
                }
            }
            Step::Finalize => {
                if let Some(hold) = breakers::before_pr(&task, &runner.setup().policy) {
                    if let Some(breaker) = hold.breaker {
                        let tripped =
                            EventKind::BreakerTripped { breaker: breaker.into(), evidence: hold.reason.clone() };
                        engine.append(vec![NewEvent::for_task(id, Actor::Orchestrator, tripped)]).await?;
                    }
                    if let Some(ending) = ask(engine, runner, hold.kind, hold.reason).await? {
                        return Ok(ending);
                    }
                    continue;
                }
                return runner.create_pr().await;
            }
        }
    }
}

/// Opens a gate and turns its outcome into an ending (or `None` to go on).
pub(crate) async fn ask(
    engine: &Arc<Engine>,
    runner: &mut Runner,
    kind: GateKind,
    reason: String,
) -> Result<Option<Ending>, EngineError> {
    let id = runner.task_id();
    let evidence = runner.evidence().await;
    Ok(match engine.gate(id, kind, reason, evidence).await? {
        GateOutcome::Parked(gate) => Some(Ending::Parked { gate, kind }),
        GateOutcome::Decided(Decision::Reject, note) => Some(fail(engine, id, kind, note).await?),
        GateOutcome::Decided(..) => {
            runner.after_approval(kind);
            None
        }
    })
}

async fn fail(engine: &Arc<Engine>, id: TaskId, kind: GateKind, note: Option<String>) -> Result<Ending, EngineError> {
    let reason = format!("rejected at the {kind} gate{}", note.map(|n| format!(": {n}")).unwrap_or_default());
    let status = engine.task(id)?.status;
    if crate::domain::check_transition(status, TaskStatus::Failed).is_ok() {
        engine.append(vec![status_change(id, status, TaskStatus::Failed, &reason)]).await?;
    }
    Ok(Ending::Failed(reason))
}

fn last_reason(engine: &Engine, id: TaskId) -> String {
    engine
        .reader()
        .task_events(id)
        .ok()
        .and_then(|events| {
            events.into_iter().rev().find_map(|e| match e.kind {
                EventKind::StatusChanged { to: TaskStatus::Failed, reason, .. } => Some(reason),
                _ => None,
            })
        })
        .unwrap_or_else(|| "the task failed".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(title: &str, status: TaskStatus) -> TaskBrief {
        let mut task = crate::domain::task::fresh(TaskSpec::titled(title));
        task.status = status;
        TaskBrief::from(&task)
    }

    #[test]
    fn similar_tasks_share_most_significant_title_words_and_failures_are_counted() {
        let history = [
            task("Fix pagination rounding in page_count", TaskStatus::Failed),
            task("Fix pagination rounding for the last page", TaskStatus::PrReady),
            task("Document the retry policy", TaskStatus::PrReady),
        ];
        let new = TaskId::new();
        assert_eq!(similar(new, &TaskSpec::titled("Fix the pagination rounding bug"), &history), (2, 1));
        assert_eq!(similar(new, &TaskSpec::titled("Speed up the build"), &history), (0, 0));
        assert_eq!(similar(history[0].id, &TaskSpec::titled("Fix the pagination rounding bug"), &history), (1, 0));
    }
}
