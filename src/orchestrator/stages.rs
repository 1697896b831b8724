//! The Right Hand's stages: an agent stage (planner, implementer, tester, reviewer, PR writer)
//! or the validation stage, and what their outcomes do to the task. Every decision keys off the
//! stage's kind. A stage records what happened and answers the driver with a [`Flow`]; it never
//! opens a gate or moves the task on itself.

mod validate;

use std::collections::BTreeMap;

use super::EngineError;
use super::acp_worker::Worker;
use super::breakers;
use super::explore;
use super::flow::{Ending, Flow};
use super::task_run::{TaskRun, budgets_of, scaled, stage_agent};
use crate::agents::prompt::{plan_section, task_section};
use crate::agents::{AgentOutcome, Submission};
use crate::domain::Task;
use crate::playbooks::playbook::Stage;
use crate::protocol::{
    Actor, AgentIdentity, EventKind, GateKind, PullRequest, ReviewVerdict, Role, Route, StageKind, TaskStatus, Track,
    ValidationResult,
};
use crate::tools::broker::AgentScope;
use crate::workspace::diff_against;

/// Runs one stage (again, when the run was interrupted inside it).
pub(crate) async fn run_stage(run: &mut TaskRun, stage: &Stage) -> Result<Flow, EngineError> {
    let task = run.task()?;
    if task.stage.as_ref().map(|s| s.name.as_str()) != Some(stage.name.as_str()) {
        // A stage a crash interrupted starts again from the checkpoint it started from.
        let interrupted = if run.interrupted() && stage.kind.changes_files() {
            interrupted_checkpoint(run, &stage.name)?
        } else {
            None
        };
        let checkpoint = match interrupted {
            Some(commit) => {
                run.restart_from(&task, &stage.name, commit.clone()).await?;
                Some(commit)
            }
            None => run.checkpoint(&task, &stage.name).await?,
        };
        let started =
            EventKind::StageStarted { stage: stage.name.clone(), role: stage.role, kind: Some(stage.kind), checkpoint };
        run.record(vec![run.event(Actor::Orchestrator, started)]).await?;
    }
    match stage.kind {
        StageKind::Validate => validate::run(run, stage, &task).await,
        _ => agent_stage(run, stage, &task).await,
    }
}

/// The checkpoint of the stage `name` when its latest start never finished: the stage a crash
/// interrupted.
fn interrupted_checkpoint(run: &TaskRun, name: &str) -> Result<Option<String>, EngineError> {
    let events = run.engine().reader().task_events(run.task_id())?;
    for event in events.into_iter().rev() {
        match event.kind {
            EventKind::StageFinished { stage, .. } if stage == name => return Ok(None),
            EventKind::StageStarted { stage, checkpoint, .. } if stage == name => return Ok(checkpoint),
            _ => {}
        }
    }
    Ok(None)
}

/// The event that ends `stage`.
fn finished(run: &TaskRun, stage: &Stage, ok: bool, summary: String) -> crate::protocol::NewEvent {
    run.event(
        Actor::Orchestrator,
        EventKind::StageFinished { stage: stage.name.clone(), ok, summary, kind: Some(stage.kind) },
    )
}

/// Ends `stage` as failed and the task with it.
pub(crate) async fn fail_stage(run: &TaskRun, stage: &Stage, reason: String) -> Result<Flow, EngineError> {
    let status = run.task()?.status;
    let mut events = vec![finished(run, stage, false, reason.clone())];
    if crate::domain::check_transition(status, TaskStatus::Failed).is_ok() {
        events.push(run.event(
            Actor::Orchestrator,
            EventKind::StatusChanged { from: status, to: TaskStatus::Failed, reason: reason.clone() },
        ));
    }
    run.record(events).await?;
    Ok(Flow::End(Ending::Failed(reason)))
}

/// What the last round left to fix: failed validation, review findings, the human's last note.
fn feedback(task: &Task) -> String {
    let mut out = String::new();
    let failed: Vec<&ValidationResult> = task.validation.iter().map(|run| &run.result).filter(|r| !r.ok).collect();
    if !failed.is_empty() {
        out.push_str("## Validation failures to fix\n");
        for result in failed {
            out.push_str(&format!(
                "### `{}` (exit {:?})\n```\n{}\n```\n",
                result.command, result.exit_code, result.summary
            ));
        }
    } else if !task.validation.is_empty() {
        out.push_str("## Validation\n");
        for result in task.validation.iter().map(|run| &run.result) {
            out.push_str(&format!("- `{}`: {}\n", result.command, if result.ok { "passed" } else { "failed" }));
        }
    }
    if let Some(review) = task.review.as_ref().filter(|r| r.verdict == ReviewVerdict::RequestChanges) {
        out.push_str("## Review findings to address\n");
        for finding in &review.findings {
            let file = finding.file.as_deref().map(|f| format!(" ({f})")).unwrap_or_default();
            out.push_str(&format!("- [{}] {}{file}: {}\n", finding.severity, finding.category, finding.message));
        }
    }
    out
}

/// The scope a Right Hand agent of `role` works in: the production worktree, the agent's own
/// budget and the task's shared one.
fn scope(run: &TaskRun, role: Role, task: &Task) -> Result<AgentScope, EngineError> {
    let actor = Actor::Agent(AgentIdentity { role, track: Track::Right, candidate: None });
    let limits = scaled(budgets_of(run.setup(), task).agent_limits(), run.budget_scale());
    let worktree = run.worktree().clone();
    AgentScope::new(run.task_id(), actor, worktree, limits, run.task_budget().clone()).map_err(|err| {
        EngineError::Refused(format!("the worktree {} is unusable: {err}", run.worktree().path.display()))
    })
}

async fn agent_stage(run: &mut TaskRun, stage: &Stage, task: &Task) -> Result<Flow, EngineError> {
    let (worker, model) = match Worker::choose(run.setup(), stage.role, None) {
        Ok(found) => found,
        Err(err) => return fail_stage(run, stage, format!("no model for {}: {err}", stage.role)).await,
    };
    let mut values = BTreeMap::from([
        ("task", task_section(&task.spec)),
        ("plan", task.plan.as_ref().map(plan_section).unwrap_or_default()),
        ("feedback", feedback(task)),
        ("validation", run.validation_commands(task).join("\n")),
    ]);
    if stage.prompt.contains("{{context}}") {
        values.insert("context", run.agent_context(task).await?);
    }
    if stage.prompt.contains("{{memory}}") {
        values.insert("memory", run.agent_memory(task).await?);
    }
    let opening = format!("Begin the `{}` stage. Finish with `{}`.", stage.name, stage.submit);
    let tuning = run.setup().config.tuning_for(stage.role, None);
    let spec = stage_agent(stage, task, model, &values, opening, None, tuning);
    let broker = run.broker();
    let mut scope = scope(run, stage.role, task)?;
    let host = run.host().clone();
    let outcome = match worker.work(run.setup(), stage, &spec, &broker, &mut scope, host.as_ref()).await {
        Ok(outcome) => outcome,
        Err(why) => return fail_stage(run, stage, why).await,
    };
    if let Some(reason) = run.spending_over_budget()? {
        // The stage's work is kept; after approval it goes on (a finished stage stays finished).
        if let AgentOutcome::Submitted(submission) = outcome
            && let flow @ Flow::End(_) = submitted(run, stage, submission).await?
        {
            return Ok(flow);
        }
        return Ok(Flow::ask(GateKind::Budget, reason));
    }
    match outcome {
        AgentOutcome::Submitted(submission) => submitted(run, stage, submission).await,
        AgentOutcome::BudgetExceeded(breaches) => {
            let what: Vec<String> =
                breaches.iter().map(|b| format!("{} {} at {} of {}", b.scope, b.budget, b.used, b.limit)).collect();
            let reason =
                format!("budget exceeded in `{}`: {}; approve to double the budgets", stage.name, what.join(", "));
            Ok(Flow::ask(GateKind::Budget, reason))
        }
        AgentOutcome::RepeatedCalls { call, times } => {
            trip(run, "repeated_calls", format!("`{call}` called {times} times in a row")).await
        }
        AgentOutcome::TurnsExhausted(turns) => Ok(Flow::ask(
            GateKind::Escalation,
            format!("`{}` used all {turns} turns without finishing; approve to let it try again", stage.name),
        )),
        AgentOutcome::AuditFailed(message) => fail_stage(run, stage, message).await,
        // An ACP agent's failure is its own, not a model provider's: the stage fails with it.
        AgentOutcome::ModelFailed(error) if worker.is_acp() => fail_stage(run, stage, error.message).await,
        AgentOutcome::ModelFailed(error) => super::readiness::model_failed(run, stage, error).await,
        AgentOutcome::Stopped => stopped(run).map(Flow::End),
    }
}

/// The ending of a run whose agent stopped: parked at the gate that stopped it, or cancelled.
pub(crate) fn stopped(run: &TaskRun) -> Result<Ending, EngineError> {
    let task = run.task()?;
    Ok(match task.open_gates.first() {
        Some(gate) if task.status != TaskStatus::Cancelled => Ending::Parked { gate: gate.id, kind: gate.kind },
        _ => Ending::Cancelled,
    })
}

/// Records a tripped breaker. Exploration answers the breakers it can (the candidates' evidence
/// goes to the promotion gate); the others ask a human.
pub(crate) async fn trip(run: &TaskRun, breaker: &str, evidence: String) -> Result<Flow, EngineError> {
    let tripped = run.event(
        Actor::Orchestrator,
        EventKind::BreakerTripped { breaker: breaker.to_owned(), evidence: evidence.clone() },
    );
    if let Some(trigger) = explore::start::breaker_trigger(breaker)
        && let Some(started) = exploration_for(run, trigger, &evidence)?
    {
        run.record(vec![tripped, run.event(Actor::Orchestrator, started)]).await?;
        return Ok(Flow::Next);
    }
    let museum = run.engine().reader().museum()?;
    let proposal = super::museum::breaker_proposal(&museum, &run.task()?, breaker, &evidence);
    run.record(std::iter::once(tripped).chain(proposal).collect()).await?;
    let reason = format!(
        "circuit breaker `{breaker}`: {evidence}; approve to go on, send back with a note to have the implementer \
         rework it, or stop the task"
    );
    Ok(Flow::ask(GateKind::Breaker, reason))
}

/// The event that starts exploration on `trigger`, when the task has not explored yet and
/// challengers are configured.
fn exploration_for(run: &TaskRun, trigger: &str, evidence: &str) -> Result<Option<EventKind>, EngineError> {
    let task = run.task()?;
    let challengers = &run.setup().config.engine.challengers;
    if challengers.count() == 0 || task.exploration.is_some() {
        return Ok(None);
    }
    let left = &run.setup().playbooks.left_hand;
    Ok(Some(explore::start::started(&task, left, challengers, trigger, evidence.to_owned())))
}

async fn submitted(run: &mut TaskRun, stage: &Stage, submission: Submission) -> Result<Flow, EngineError> {
    let agent = Actor::Agent(AgentIdentity { role: stage.role, track: Track::Right, candidate: None });
    match submission {
        Submission::Plan(plan) => {
            let summary = plan.summary.clone();
            // A file setup generated that the plan names (the task is about the lockfile) is
            // part of the change after all.
            let released = crate::workspace::release_baseline(&run.worktree().path, &plan.expected_files)
                .map_err(|err| EngineError::Refused(err.to_string()))?;
            let mut events = vec![run.event(agent, EventKind::PlanSubmitted { plan })];
            if !released.is_empty() {
                let text =
                    format!("the plan names {}: part of the change, not of the setup's baseline", released.join(", "));
                events.push(run.event(Actor::Orchestrator, EventKind::Note { text }));
            }
            events.push(finished(run, stage, true, summary));
            run.record(events).await?;
            Ok(Flow::Next)
        }
        Submission::Finish(finish) => {
            run.record(vec![finished(run, stage, true, finish.summary)]).await?;
            after_work(run, stage.kind).await
        }
        Submission::Review(review) => {
            let approved = review.verdict == ReviewVerdict::Approve;
            let summary = review.summary.clone();
            let reader = run.engine().reader();
            let tasks = reader.current_tasks(super::queries::SNAPSHOT_FINISHED)?;
            let learned = super::memory::repeated_finding_proposals(&reader.memory()?, &tasks, &run.task()?, &review);
            let event = run.event(agent, EventKind::ReviewSubmitted { review });
            let events = [event, finished(run, stage, approved, summary)].into_iter().chain(learned).collect();
            run.record(events).await?;
            let task = run.task()?;
            if !approved && task.rejected_reviews >= 2 && task.rejected_reviews % 2 == 0 {
                let evidence = format!(
                    "the implementer called the work done and the review rejected it {} times",
                    task.rejected_reviews
                );
                return trip(run, "contradiction", evidence).await;
            }
            Ok(Flow::Next)
        }
        Submission::Pr(draft) => {
            let pr = draft_pr(run, &draft);
            let event = run.event(agent, EventKind::PrDrafted { pr });
            run.record(vec![event, finished(run, stage, true, draft.title)]).await?;
            Ok(Flow::Next)
        }
        Submission::Tests(_) | Submission::Findings(_) | Submission::Recommendation(_) => {
            let reason = format!("stage `{}` ended with a Left Hand call; fix the playbook", stage.name);
            fail_stage(run, stage, reason).await
        }
    }
}

/// The PR writer's draft as a pull request on the production branch.
fn draft_pr(run: &TaskRun, draft: &crate::agents::submit::PrDraft) -> PullRequest {
    let mut body = draft.summary.trim().to_owned();
    if !draft.risks.is_empty() {
        body.push_str("\n\n## Risks\n");
        for risk in &draft.risks {
            body.push_str(&format!("- {risk}\n"));
        }
    }
    if !draft.rollback.trim().is_empty() {
        body.push_str(&format!("\n## Rollback\n{}\n", draft.rollback.trim()));
    }
    PullRequest {
        branch: run.worktree().branch.clone(),
        base_branch: String::new(),
        commit: String::new(),
        title: draft.title.clone(),
        body,
        draft: true,
        location: String::new(),
    }
}

/// Breakers checked when a stage that changes files says it is done: a change in a sensitive
/// area starts exploration, weak tests and a diff beyond its plan trip.
async fn after_work(run: &mut TaskRun, kind: StageKind) -> Result<Flow, EngineError> {
    if !kind.changes_files() {
        return Ok(Flow::Next);
    }
    let (path, base) = (run.worktree().path.clone(), run.worktree().base.clone());
    let Ok(Ok(diff)) = tokio::task::spawn_blocking(move || diff_against(&path, &base)).await else {
        return Ok(Flow::Next);
    };
    let task = run.task()?;
    let routed_left = task.triage.as_ref().is_some_and(|t| t.route == Route::RightAndLeft);
    if kind == StageKind::Implement && !routed_left {
        let files: Vec<String> = diff.files.iter().map(|f| f.path.clone()).collect();
        if let Some(evidence) = explore::start::sensitive_files(&run.setup().policy, &files)
            && let Some(started) = exploration_for(run, "sensitive_files", &evidence)?
        {
            run.record(vec![run.event(Actor::Orchestrator, started)]).await?;
            return Ok(Flow::Next);
        }
    }
    if kind == StageKind::Test
        && let Some(evidence) = breakers::weak_tests(&diff)
    {
        return trip(run, "weak_tests", evidence).await;
    }
    let max_lines = scaled(budgets_of(run.setup(), &task).task_limits(), run.budget_scale()).diff_lines;
    let scope_approved =
        task.decided_gates.iter().any(|g| g.reason.contains("breaker `scope`") && g.decision.approves());
    if !scope_approved && let Some(evidence) = breakers::scope(&task, &diff, max_lines) {
        return trip(run, "scope", evidence).await;
    }
    Ok(Flow::Next)
}
