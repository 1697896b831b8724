//! The driver: one task, top down. It admits the task if it was only received, marks it
//! running, then loops: read the projection, pick the next step, run it, act on the [`Flow`] it
//! answers. Every step records what it did before it answers, so a run killed at any point
//! resumes where its last durable event left it: a started stage runs again, a decided gate is
//! not asked again, an existing PR is not made twice.
//!
//! The next step, in order: a gate left open; exploration that is due or under way (the Left
//! Hand); the gate policy puts before the next stage; the next stage of the playbook (the Right
//! Hand); and once every stage is done, the checks before the PR and the PR itself.

use std::sync::Arc;

use super::flow::{Ending, Flow, GateRequest};
use super::gates::GateOutcome;
use super::task_run::{PRODUCTION, TaskRun, ensure_worktree};
use super::{Engine, EngineError, autonomy, breakers, explore, gate_plan, lock, readiness, setup_step, stages};
use crate::domain::{Task, is_settled};
use crate::playbooks::playbook::{Playbook, Stage};
use crate::protocol::{Actor, Decision, EventKind, GateKind, NewEvent, StageKind, TaskId, TaskKind, TaskStatus};

/// Removes the task from the engine's running set when the run ends, however it ends.
struct RunningGuard {
    engine: Arc<Engine>,
    task: TaskId,
}

impl Drop for RunningGuard {
    fn drop(&mut self) {
        self.engine.release_lease(self.task);
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
    if let Err(held) = engine.take_lease(id) {
        lock(&engine.running).remove(&id);
        return Err(held);
    }
    let _guard = RunningGuard { engine: engine.clone(), task: id };
    let setup = engine.setup()?.clone();
    let mut task = engine.task(id)?;
    if task.status == TaskStatus::Running && engine.store.is_shared() {
        // This process holds the lease now, so the worker that ran the task is gone.
        let reason = "its worker stopped renewing its lease; another worker resumes it";
        engine.append(vec![status_change(id, TaskStatus::Running, TaskStatus::Interrupted, reason)]).await?;
        task = engine.task(id)?;
    }
    if task.status == TaskStatus::Received {
        engine.append(engine.admitted(&setup, id, &task.spec)).await?;
        task = engine.task(id)?;
    }
    if let Some(ending) = readiness::hold(&setup, &task) {
        return Ok(ending);
    }
    if !is_settled(task.status) {
        // A repository named by URL: this machine's clone, with what other machines pushed.
        engine.sync_repo(&task).await?;
    }
    let interrupted = match task.status {
        TaskStatus::Running | TaskStatus::Interrupted => true,
        // Queued again after an interruption (`task resume`, or a model that could not be reached).
        TaskStatus::Queued => last_move_from(&engine, id)? == Some(TaskStatus::Interrupted),
        _ => false,
    };
    if let Some(ending) = start(&engine, &task).await? {
        return Ok(ending);
    }
    let task = engine.task(id)?;
    let kind = task.kind().unwrap_or(TaskKind::Feature);
    let playbook = engine.playbook_for(&setup, &task, kind)?;
    let (worktree, _) = ensure_worktree(&engine, &task, PRODUCTION).await?;
    let mut run = TaskRun::new(engine.clone(), setup, id, playbook, worktree);
    run.set_interrupted(interrupted);
    let ending = run_loop(&mut run).await;
    engine.publish(id).await;
    let ending = ending?;
    learn(&engine, kind, &ending).await;
    Ok(ending)
}

/// What a finished run teaches: a strategy's repeated wins become a proposal, and the class's
/// autonomy is reviewed (a failure streak tightens it). Learning never fails the task: both only
/// read the store and append, and a store that fails them fails the next step loudly.
async fn learn(engine: &Engine, kind: TaskKind, ending: &Ending) {
    if matches!(ending, Ending::Parked { .. }) {
        return;
    }
    if matches!(ending, Ending::PrReady(_)) {
        engine.propose_from_wins(kind).await.ok();
    }
    engine.review_autonomy().await.ok();
}

/// Moves a task that can run to `running`, or says how its run ends before it starts.
async fn start(engine: &Engine, task: &Task) -> Result<Option<Ending>, EngineError> {
    let id = task.id;
    let events = match task.status {
        TaskStatus::NeedsClarification | TaskStatus::Rejected | TaskStatus::Escalated => {
            return Ok(Some(Ending::NotAccepted(task.status)));
        }
        TaskStatus::PrReady => {
            let pr = task.pr.clone();
            return Ok(Some(pr.map_or_else(|| Ending::Failed("PR-ready without a PR".into()), Ending::PrReady)));
        }
        TaskStatus::Cancelled => return Ok(Some(Ending::Cancelled)),
        TaskStatus::Failed => {
            let reason = "the task failed earlier; `ambidex task resume ID` queues it again";
            return Ok(Some(Ending::Failed(reason.into())));
        }
        TaskStatus::Queued => {
            vec![status_change(id, TaskStatus::Queued, TaskStatus::Running, &format!("started{}", engine.runner()))]
        }
        TaskStatus::Interrupted => {
            let reason = format!("resumed{}", engine.runner());
            vec![status_change(id, TaskStatus::Interrupted, TaskStatus::Running, &reason)]
        }
        TaskStatus::Running => vec![
            status_change(id, TaskStatus::Running, TaskStatus::Interrupted, "the engine stopped while it ran"),
            status_change(id, TaskStatus::Interrupted, TaskStatus::Running, "resumed from its last durable step"),
        ],
        TaskStatus::AwaitingGate | TaskStatus::Received => Vec::new(),
    };
    engine.append(events).await?;
    Ok(None)
}

/// What the run does next, read from the projection.
enum Step {
    /// Decide a gate: one left open (by an earlier run), or one policy puts before the next stage.
    Gate(GateRequest),
    /// Start the Left Hand: a trigger fired.
    StartExploration { trigger: String, evidence: String },
    /// Run (or go on with) the Left Hand.
    Explore,
    /// Fetch the production worktree's dependencies (see `setup_step`).
    Setup,
    /// Run a stage of the playbook.
    Stage(Stage),
    /// Every stage is done: the checks before the PR, then the PR.
    Finalize,
}

/// The stage a running or finished stage of the log stands for in the playbook: by name, else
/// (the playbook changed since) the first of its kind.
fn in_playbook(playbook: &Playbook, name: &str, kind: Option<StageKind>) -> Option<Stage> {
    playbook.stage(name).or_else(|| kind.and_then(|kind| playbook.first_of(kind))).cloned()
}

/// The next stage of the playbook: the one work was sent back to; the one running when the run
/// stopped; the first one; the one after the last that succeeded; or, after a failed validation
/// or a review that asked for changes, the implementation again.
fn next_stage(task: &Task, playbook: &Playbook) -> Option<Stage> {
    if let Some(back) = task.pending_send_back() {
        return in_playbook(playbook, back.stage.as_deref().unwrap_or_default(), Some(back.to));
    }
    if let Some(running) = &task.stage {
        return in_playbook(playbook, &running.name, running.kind);
    }
    match &task.last_stage {
        None => playbook.stages.first().cloned(),
        Some(last) if !last.ok => playbook.first_of(StageKind::Implement).cloned(),
        Some(last) => {
            let finished = in_playbook(playbook, &last.stage.name, last.stage.kind)?;
            playbook.next_stage(&finished.name).cloned()
        }
    }
}

fn next_step(run: &TaskRun, task: &Task) -> Step {
    // The promotion gate is the Left Hand's own: it decides it when exploration goes on.
    if let Some(open) = task.open_gates.iter().find(|g| g.kind != GateKind::Promotion) {
        let human_only = gate_plan::human_only(task, &run.setup().policy, open.kind);
        return Step::Gate(GateRequest::new(open.kind, open.reason.clone()).human_only(human_only));
    }
    if setup_step::due(task) {
        return Step::Setup;
    }
    let challengers = run.setup().config.engine.challengers.count();
    if let Some((trigger, evidence)) = explore::start::due(task, challengers) {
        return Step::StartExploration { trigger, evidence };
    }
    if task.stage.is_none() && task.exploration.as_ref().is_some_and(|e| e.adopted.is_none()) {
        return Step::Explore;
    }
    let Some(stage) = next_stage(task, run.playbook()) else { return Step::Finalize };
    if task.stage.is_none()
        && let Some(gate) = gate_plan::before_stage(&live_autonomy(run, task), &run.setup().policy, stage.kind)
    {
        return Step::Gate(gate);
    }
    Step::Stage(stage)
}

/// `task` with the autonomy it was triaged with lowered to its class's level now.
fn live_autonomy(run: &TaskRun, task: &Task) -> Task {
    let level = task.kind().map(|class| run.engine().autonomy_level(class)).unwrap_or_default();
    autonomy::capped(task, level)
}

async fn run_loop(run: &mut TaskRun) -> Result<Ending, EngineError> {
    let id = run.task_id();
    loop {
        let task = run.task()?;
        match task.status {
            TaskStatus::Cancelled => return Ok(Ending::Cancelled),
            TaskStatus::Failed => return Ok(Ending::Failed(last_reason(run.engine(), id))),
            TaskStatus::PrReady => return Ok(task.pr.map_or(Ending::Cancelled, Ending::PrReady)),
            TaskStatus::Queued => {
                let continuing = status_change(id, TaskStatus::Queued, TaskStatus::Running, "continuing");
                run.record(vec![continuing]).await?;
                continue;
            }
            _ => {}
        }
        let flow = match next_step(run, &task) {
            Step::Gate(gate) => Flow::Ask(gate),
            Step::StartExploration { trigger, evidence } => {
                let left = &run.setup().playbooks.left_hand;
                let challengers = &run.setup().config.engine.challengers;
                let started = explore::start::started(&task, left, challengers, &trigger, evidence);
                run.record(vec![run.event(Actor::Orchestrator, started)]).await?;
                Flow::Next
            }
            Step::Explore => explore::explore(run).await?,
            Step::Setup => setup_step::run(run, &task).await?,
            Step::Stage(stage) => stages::run_stage(run, &stage).await?,
            Step::Finalize => finalize(run, &task).await?,
        };
        // Only the step a crash interrupted starts again from its checkpoint.
        run.set_interrupted(false);
        match flow {
            Flow::Next => {}
            Flow::Ask(request) => {
                if let Some(ending) = ask(run, request).await? {
                    return Ok(ending);
                }
            }
            Flow::End(ending) => return Ok(ending),
        }
    }
}

/// The checks that stand before the PR (validation that never ran, the PR gate), then the PR.
async fn finalize(run: &mut TaskRun, task: &Task) -> Result<Flow, EngineError> {
    let pr_gate_due = gate_plan::pr_gate_due(&live_autonomy(run, task), &run.setup().policy);
    if let Some(hold) = breakers::before_pr(task, pr_gate_due) {
        if let Some(breaker) = hold.breaker {
            let tripped = EventKind::BreakerTripped { breaker: breaker.into(), evidence: hold.reason.clone() };
            run.record(vec![run.event(Actor::Orchestrator, tripped)]).await?;
        }
        return Ok(Flow::ask(hold.kind, hold.reason));
    }
    let ending = super::pr::create_local(run.engine(), run.setup(), run.task_id(), run.worktree()).await?;
    Ok(Flow::End(ending))
}

/// Opens a gate (or takes the one already open) and turns its outcome into an ending, or `None`
/// to go on.
async fn ask(run: &mut TaskRun, request: GateRequest) -> Result<Option<Ending>, EngineError> {
    let id = run.task_id();
    let evidence = run.evidence().await;
    let kind = request.kind;
    Ok(match run.engine().gate(id, request, evidence).await? {
        GateOutcome::Parked(gate) => Some(Ending::Parked { gate, kind }),
        GateOutcome::Decided(Decision::Reject, note) => Some(fail(run, kind, note).await?),
        // The decision's events failed the task already.
        GateOutcome::Decided(Decision::Stop, _) => Some(Ending::Failed(last_reason(run.engine(), id))),
        // Approved, or sent back: the projection says where the work goes next.
        GateOutcome::Decided(..) => {
            run.after_decision(kind);
            None
        }
    })
}

async fn fail(run: &TaskRun, kind: GateKind, note: Option<String>) -> Result<Ending, EngineError> {
    let reason = format!("rejected at the {kind} gate{}", note.map(|n| format!(": {n}")).unwrap_or_default());
    let status = run.task()?.status;
    if crate::domain::check_transition(status, TaskStatus::Failed).is_ok() {
        run.record(vec![status_change(run.task_id(), status, TaskStatus::Failed, &reason)]).await?;
    }
    Ok(Ending::Failed(reason))
}

/// The status the task's latest status change moved it from.
fn last_move_from(engine: &Engine, id: TaskId) -> Result<Option<TaskStatus>, EngineError> {
    let events = engine.reader().task_events(id)?;
    Ok(events.into_iter().rev().find_map(|event| match event.kind {
        EventKind::StatusChanged { from, .. } => Some(from),
        _ => None,
    }))
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
