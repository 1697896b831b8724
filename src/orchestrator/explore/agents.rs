//! The Left Hand's agents, each in its own worktree: the eval designer writes acceptance tests
//! (measured against the base commit before and after), the challengers build competing
//! candidates concurrently under budgets of their own, and the failure analyst reviews every
//! candidate, production included, for what tests miss.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use futures::future::join_all;

use super::blocking;
use super::evaluate::run_commands;
use crate::agents::prompt::task_section;
use crate::agents::{AgentOutcome, Submission};
use crate::config::ChallengerConfig;
use crate::domain::{Exploration, Task};
use crate::eval;
use crate::orchestrator::acp_worker::Worker;
use crate::orchestrator::breakers::is_test_path;
use crate::orchestrator::flow::{Ending, Flow};
use crate::orchestrator::host::TaskHost;
use crate::orchestrator::task_run::{
    TaskRun, budgets_of, candidate_worktree, ensure_worktree, scaled, stage_agent, start_afresh,
};
use crate::orchestrator::{Engine, EngineError, EngineSetup};
use crate::playbooks::BudgetLimits;
use crate::playbooks::playbook::Stage;
use crate::protocol::{
    Actor, AgentIdentity, CandidatePlan, EventKind, Finding, GateKind, NewEvent, TaskId, TaskStatus, Track,
};
use crate::tools::broker::{AgentScope, Broker};
use crate::tools::budget::BudgetUsage;
use crate::workspace::{Author, FileStat, Worktree, commit_all, diff_against};

/// The breaker recorded when acceptance tests already pass on the base commit.
const WEAK_ACCEPTANCE: &str = "weak_acceptance_tests";
/// The most diff text put into the failure analyst's prompt.
const DIFF_CHARS: usize = 40_000;

/// What a Left Hand agent needs, cloned out of the run so that candidates run concurrently.
#[derive(Clone)]
pub(super) struct Crew {
    pub(super) engine: Arc<Engine>,
    pub(super) setup: Arc<EngineSetup>,
    host: Arc<TaskHost>,
    pub(super) broker: Arc<Broker>,
    pub(super) id: TaskId,
    /// One candidate's whole budget.
    candidate_limits: BudgetLimits,
    /// One agent's budget.
    agent_limits: BudgetLimits,
}

impl Crew {
    pub(super) fn new(run: &TaskRun, task: &Task) -> Crew {
        let budgets = budgets_of(run.setup(), task);
        Crew {
            engine: run.engine().clone(),
            setup: run.shared_setup(),
            host: run.host().clone(),
            broker: Arc::new(run.broker()),
            id: task.id,
            candidate_limits: scaled(budgets.task_limits(), run.budget_scale()),
            agent_limits: scaled(budgets.agent_limits(), run.budget_scale()),
        }
    }

    /// Runs one agent of `stage` for `candidate` in `worktree`.
    pub(super) async fn run(
        &self,
        stage: &Stage,
        candidate: &str,
        worktree: Worktree,
        values: BTreeMap<&str, String>,
    ) -> Result<AgentOutcome, EngineError> {
        self.run_as(stage, candidate, worktree, values, None).await
    }

    /// Runs one agent of `stage` for `candidate` in `worktree`, on the challenger's own provider
    /// and model when `own` names them.
    pub(super) async fn run_as(
        &self,
        stage: &Stage,
        candidate: &str,
        worktree: Worktree,
        values: BTreeMap<&str, String>,
        own: Option<&ChallengerConfig>,
    ) -> Result<AgentOutcome, EngineError> {
        let (worker, model) = match Worker::choose(&self.setup, stage.role, own) {
            Ok(found) => found,
            Err(err) => {
                let message = format!("no model for {}: {err}", stage.role);
                return Ok(AgentOutcome::ModelFailed(crate::llm::ModelError { message, ..err }));
            }
        };
        let opening = format!("Begin `{}` for {candidate}. Finish with `{}`.", stage.name, stage.submit);
        let task = self.engine.task(self.id)?;
        let tuning = self.setup.config.tuning_for(stage.role, own);
        let spec = stage_agent(stage, &task, model, &values, opening, Some(candidate.to_owned()), tuning);
        let actor =
            Actor::Agent(AgentIdentity { role: stage.role, track: Track::Left, candidate: Some(candidate.to_owned()) });
        let budget = Arc::new(Mutex::new(BudgetUsage::new("task", self.candidate_limits)));
        let path = worktree.path.clone();
        let mut scope = AgentScope::new(self.id, actor, worktree, self.agent_limits, budget)
            .map_err(|err| EngineError::Refused(format!("the worktree {} is unusable: {err}", path.display())))?;
        let worked = worker.work(&self.setup, stage, &spec, &self.broker, &mut scope, self.host.as_ref()).await;
        Ok(worked.unwrap_or_else(|why| {
            AgentOutcome::ModelFailed(crate::llm::ModelError::new(crate::llm::ModelErrorKind::Config, why))
        }))
    }

    async fn append(&self, kind: EventKind, actor: Actor) -> Result<(), EngineError> {
        self.engine.append(vec![NewEvent::for_task(self.id, actor, kind)]).await.map(|_| ())
    }
}

/// The provider and model, or the ACP agent, a challenger has of its own, if any.
pub(super) fn own_model(plan: &CandidatePlan) -> Option<ChallengerConfig> {
    (plan.provider.is_some() || plan.model.is_some() || plan.agent.is_some()).then(|| ChallengerConfig {
        strategy: None,
        provider: plan.provider.clone(),
        model: plan.model.clone(),
        agent: plan.agent.clone(),
    })
}

fn left_actor(role: crate::protocol::Role, candidate: &str) -> Actor {
    Actor::Agent(AgentIdentity { role, track: Track::Left, candidate: Some(candidate.to_owned()) })
}

/// Whether an agent's outcome produced work, and what to say about it.
fn describe(outcome: &AgentOutcome) -> (bool, String) {
    match outcome {
        AgentOutcome::Submitted(Submission::Finish(finish)) => (true, finish.summary.clone()),
        AgentOutcome::Submitted(_) => (true, "submitted".into()),
        AgentOutcome::BudgetExceeded(breaches) => {
            let what: Vec<String> =
                breaches.iter().map(|b| format!("{} at {} of {}", b.budget, b.used, b.limit)).collect();
            (false, format!("its budget ran out: {}", what.join(", ")))
        }
        AgentOutcome::RepeatedCalls { call, times } => (false, format!("it called `{call}` {times} times in a row")),
        AgentOutcome::TurnsExhausted(turns) => (false, format!("it used all {turns} turns without finishing")),
        AgentOutcome::ModelFailed(message) => (false, format!("the model failed: {message}")),
        AgentOutcome::AuditFailed(message) => (false, message.clone()),
        AgentOutcome::Stopped => (false, "stopped".into()),
    }
}

/// The end of a run whose agent stopped: parked at the gate that stopped it, or cancelled.
fn stopped(engine: &Engine, id: TaskId) -> Result<Flow, EngineError> {
    let task = engine.task(id)?;
    Ok(Flow::End(match task.open_gates.first() {
        Some(gate) if task.status != TaskStatus::Cancelled => Ending::Parked { gate: gate.id, kind: gate.kind },
        _ => Ending::Cancelled,
    }))
}

/// Copies `files` (relative paths) from one worktree into another, creating directories.
pub(super) fn copy_files(from: &Path, to: &Path, files: &[String]) -> std::io::Result<()> {
    for file in files {
        let target = to.join(file);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::copy(from.join(file), &target)?;
    }
    Ok(())
}

/// Makes `to` hold the change `files` describe in `from`: changed and added files copied,
/// deleted ones removed.
pub(super) fn mirror_change(from: &Path, to: &Path, files: &[FileStat]) -> std::io::Result<()> {
    let changed: Vec<String> = files.iter().filter(|f| f.status != "deleted").map(|f| f.path.clone()).collect();
    copy_files(from, to, &changed)?;
    for gone in files.iter().filter(|f| f.status == "deleted") {
        match std::fs::remove_file(to.join(&gone.path)) {
            Err(err) if err.kind() != std::io::ErrorKind::NotFound => return Err(err),
            _ => {}
        }
    }
    Ok(())
}

fn author(setup: &EngineSetup) -> Author {
    Author { name: setup.config.git.author_name.clone(), email: setup.config.git.author_email.clone() }
}

fn exploration(task: &Task) -> Result<Exploration, EngineError> {
    task.exploration.clone().ok_or_else(|| EngineError::Refused("exploration has not started for this task".into()))
}

/// The eval designer: the baseline on the base commit, then acceptance tests written in the
/// `eval` worktree and run there, so each is known to fail (good) or pass (weak) on the base.
pub(super) async fn design_tests(run: &mut TaskRun) -> Result<Flow, EngineError> {
    let task = run.task()?;
    let context = run.agent_context(&task).await?;
    let commands = run.validation_commands(&task);
    let crew = Crew::new(run, &task);
    let (worktree, created) = ensure_worktree(&crew.engine, &task, "eval").await?;
    if !created {
        start_afresh(&crew.engine, &task, "eval", &worktree).await?;
    }
    let (plain, _) = run_commands(&crew, &worktree, &commands, "baseline").await?;
    if let Some(why) = eval::baseline_failure(&plain, true) {
        return stop_exploration(run, why).await;
    }
    let values =
        BTreeMap::from([("task", task_section(&task.spec)), ("context", context), ("validation", commands.join("\n"))]);
    let stage = crew.setup.playbooks.left_hand.eval_designer.clone();
    let outcome = crew.run(&stage, "eval", worktree.clone(), values).await?;
    let declared = match outcome {
        AgentOutcome::Submitted(Submission::Tests(tests)) => tests,
        AgentOutcome::Stopped => return stopped(&crew.engine, crew.id),
        other => {
            let (_, why) = describe(&other);
            let note =
                format!("the eval designer wrote no acceptance tests ({why}); candidates are compared without them");
            crew.append(EventKind::Note { text: note }, Actor::Orchestrator).await?;
            let written = EventKind::AcceptanceTestsWritten {
                files: Vec::new(),
                tests: Vec::new(),
                failing_on_base: Vec::new(),
                passing_on_base: Vec::new(),
                baseline: plain,
                covers: Vec::new(),
            };
            crew.append(written, Actor::Orchestrator).await?;
            return Ok(Flow::Next);
        }
    };
    let (path, base) = (worktree.path.clone(), worktree.base.clone());
    let diff = blocking(move || diff_against(&path, &base))
        .await?
        .map_err(|err| EngineError::Refused(format!("cannot read the eval designer's change: {err}")))?;
    let files: Vec<String> = diff
        .files
        .iter()
        .filter(|f| f.status != "deleted")
        .map(|f| f.path.clone())
        .filter(|p| declared.files.contains(p) || is_test_path(p))
        .collect();
    // The baseline candidates are compared with is the base *with* the acceptance tests.
    let (measured, _) = run_commands(&crew, &worktree, &commands, "acceptance").await?;
    let tests = eval::acceptance_tests(&plain, &measured, &declared.tests);
    let (passing_on_base, failing_on_base): (Vec<String>, Vec<String>) =
        tests.iter().cloned().partition(|name| eval::identity::outcome(name, &measured) == eval::Outcome::Passed);
    let baseline = eval::baseline(&plain, &measured, &tests);
    if let Some(why) = eval::baseline_failure(&baseline, false) {
        return stop_exploration(run, why).await;
    }
    let (path, setup) = (worktree.path.clone(), crew.setup.clone());
    let message = format!("Acceptance tests for task {}\n\n{}", crew.id, declared.summary.trim());
    blocking(move || commit_all(&path, &author(&setup), &message))
        .await?
        .map_err(|err| EngineError::Refused(format!("cannot commit the acceptance tests: {err}")))?;
    // Only what can be checked: a criterion the task has, a test that ran with the acceptance
    // tests (a new one, or an existing test that already holds the criterion).
    let criteria = task.spec.acceptance_criteria.len();
    let covers: Vec<_> = declared
        .covers
        .into_iter()
        .filter(|c| (1..=criteria).contains(&(c.criterion as usize)))
        .filter(|c| eval::identity::outcome(&c.test, &measured) != eval::Outcome::NotRun)
        .collect();
    let written =
        EventKind::AcceptanceTestsWritten { files, tests, failing_on_base, passing_on_base, baseline, covers };
    crew.append(written, left_actor(stage.role, "eval")).await?;
    Ok(Flow::Next)
}

/// The base cannot be measured (it does not build, run, or run any test): exploration stops
/// with the reason instead of scoring candidates against nothing, and the task fails with it.
async fn stop_exploration(run: &mut TaskRun, why: String) -> Result<Flow, EngineError> {
    let reason = format!(
        "exploration stopped: the baseline cannot be measured: {why}. Fix the environment or the validation \
         commands, then run the task again"
    );
    let status = run.task()?.status;
    let mut events = vec![run.event(Actor::Orchestrator, EventKind::Note { text: reason.clone() })];
    if crate::domain::check_transition(status, TaskStatus::Failed).is_ok() {
        let failed = EventKind::StatusChanged { from: status, to: TaskStatus::Failed, reason: reason.clone() };
        events.push(run.event(Actor::Orchestrator, failed));
    }
    run.record(events).await?;
    Ok(Flow::End(Ending::Failed(reason)))
}

/// Acceptance tests that pass on the base commit prove nothing: a gate asks whether to go on.
pub(super) async fn confirm_weak_tests(run: &mut TaskRun) -> Result<Flow, EngineError> {
    let task = run.task()?;
    let Some(acceptance) = exploration(&task)?.acceptance else { return Ok(Flow::Next) };
    if acceptance.passing_on_base.is_empty()
        || task.decided_gates.iter().any(|g| g.kind == GateKind::Breaker && g.reason.contains(WEAK_ACCEPTANCE))
    {
        return Ok(Flow::Next);
    }
    let evidence = format!(
        "{} of {} acceptance tests already pass on the base commit: {}",
        acceptance.passing_on_base.len(),
        acceptance.tests.len(),
        acceptance.passing_on_base.join(", ")
    );
    if !task.breakers.iter().any(|b| b == WEAK_ACCEPTANCE) {
        let tripped = EventKind::BreakerTripped { breaker: WEAK_ACCEPTANCE.into(), evidence: evidence.clone() };
        run.record(vec![run.event(Actor::Orchestrator, tripped)]).await?;
    }
    let reason = format!(
        "circuit breaker `{WEAK_ACCEPTANCE}`: {evidence}; approve to compare candidates with them flagged weak, \
         or stop the task"
    );
    Ok(Flow::ask(GateKind::Breaker, reason))
}

/// The challengers, concurrently, each in its own worktree holding the acceptance tests.
pub(super) async fn challenge(run: &mut TaskRun) -> Result<Flow, EngineError> {
    let task = run.task()?;
    let exploration = exploration(&task)?;
    let pending: Vec<_> =
        exploration.candidates.iter().filter(|c| !exploration.finished.contains_key(&c.label)).cloned().collect();
    if pending.is_empty() {
        return Ok(Flow::Next);
    }
    let context = run.agent_context(&task).await?;
    let commands = run.validation_commands(&task).join("\n");
    let crew = Crew::new(run, &task);
    let acceptance = exploration.acceptance.clone().unwrap_or_default();
    let eval_path = task.worktrees.iter().find(|w| w.candidate == "eval").map(|w| w.path.clone());
    let listing = if acceptance.tests.is_empty() {
        "(none: the eval designer wrote no acceptance tests)".to_owned()
    } else {
        format!("files: {}\ntests: {}", acceptance.files.join(", "), acceptance.tests.join(", "))
    };
    let stage = crew.setup.playbooks.left_hand.challenger.clone();
    let runs = pending.into_iter().map(|plan| {
        let (crew, task, stage) = (crew.clone(), task.clone(), stage.clone());
        let (context, commands, listing) = (context.clone(), commands.clone(), listing.clone());
        let (acceptance, eval_path) = (acceptance.files.clone(), eval_path.clone());
        async move {
            let (worktree, created) = ensure_worktree(&crew.engine, &task, &plan.label).await?;
            if !created {
                start_afresh(&crew.engine, &task, &plan.label, &worktree).await?;
            }
            if let Some(eval) = eval_path {
                let to = worktree.path.clone();
                blocking(move || copy_files(Path::new(&eval), &to, &acceptance)).await?.map_err(|err| {
                    EngineError::Refused(format!("cannot copy the acceptance tests into {}: {err}", plan.label))
                })?;
            }
            let brief = crew
                .setup
                .playbooks
                .left_hand
                .strategies
                .iter()
                .find(|s| s.name == plan.strategy)
                .map(|s| s.brief.trim().to_owned())
                .unwrap_or_default();
            let values = BTreeMap::from([
                ("task", task_section(&task.spec)),
                ("context", context),
                ("validation", commands),
                ("strategy", format!("{}: {brief}", plan.strategy)),
                ("acceptance", listing),
            ]);
            let own = own_model(&plan);
            let outcome = crew.run_as(&stage, &plan.label, worktree.clone(), values, own.as_ref()).await?;
            if outcome == AgentOutcome::Stopped {
                return Ok::<bool, EngineError>(false);
            }
            let (ok, summary) = describe(&outcome);
            let (path, setup) = (worktree.path.clone(), crew.setup.clone());
            let message = format!("{} ({}): {}\n\nAmbidex task {}", plan.label, plan.strategy, summary, crew.id);
            if let Err(err) = blocking(move || commit_all(&path, &author(&setup), &message)).await? {
                let note = format!("could not commit candidate {}: {err}", plan.label);
                crew.append(EventKind::Note { text: note }, Actor::Orchestrator).await?;
            }
            let finished =
                EventKind::CandidateFinished { candidate: plan.label.clone(), strategy: plan.strategy, ok, summary };
            crew.append(finished, left_actor(stage.role, &plan.label)).await?;
            Ok(true)
        }
    });
    let results = join_all(runs).await;
    let mut all_done = true;
    for result in results {
        all_done &= result?;
    }
    if all_done { Ok(Flow::Next) } else { stopped(&crew.engine, crew.id) }
}

/// The failure analyst reviews each candidate with a change, production included.
pub(super) async fn analyze(run: &mut TaskRun) -> Result<Flow, EngineError> {
    let task = run.task()?;
    let exploration = exploration(&task)?;
    let crew = Crew::new(run, &task);
    let mut subjects: Vec<(String, String, Worktree)> = Vec::new();
    let production = run.worktree().clone();
    subjects.push(("production".into(), "the production track's change".into(), production));
    for plan in &exploration.candidates {
        if let Some(worktree) = candidate_worktree(&task, &run.worktree().repo, &plan.label) {
            subjects.push((plan.label.clone(), plan.strategy.clone(), worktree));
        }
    }
    subjects.retain(|(label, _, _)| !exploration.analyses.contains_key(label));
    if subjects.is_empty() {
        return Ok(Flow::Next);
    }
    let stage = crew.setup.playbooks.left_hand.failure_analyst.clone();
    let runs = subjects.into_iter().map(|(label, strategy, worktree)| {
        let (crew, stage, spec) = (crew.clone(), stage.clone(), task.spec.clone());
        async move {
            let (path, base) = (worktree.path.clone(), worktree.base.clone());
            let patch = blocking(move || diff_against(&path, &base).map(|d| d.patch).unwrap_or_default()).await?;
            if patch.trim().is_empty() {
                return Ok::<bool, EngineError>(true);
            }
            let mut shown: String = patch.chars().take(DIFF_CHARS).collect();
            if shown.len() < patch.len() {
                shown.push_str("\n… (diff cut; use git_diff and read_file for the rest)");
            }
            let values = BTreeMap::from([
                ("candidate", format!("## Candidate\n{label} ({strategy})")),
                ("diff", format!("## Diff against the base commit\n```diff\n{shown}\n```")),
                ("task", task_section(&spec)),
            ]);
            let outcome = crew.run(&stage, &label, worktree, values).await?;
            let findings = match outcome {
                AgentOutcome::Submitted(Submission::Findings(submitted)) => submitted.findings,
                AgentOutcome::Stopped => return Ok(false),
                other => vec![Finding {
                    severity: "minor".into(),
                    category: "analysis".into(),
                    file: None,
                    message: format!("the failure analyst could not finish: {}", describe(&other).1),
                }],
            };
            let analyzed = EventKind::CandidateAnalyzed { candidate: label.clone(), findings };
            crew.append(analyzed, left_actor(stage.role, &label)).await?;
            Ok(true)
        }
    });
    let mut all_done = true;
    for result in join_all(runs).await {
        all_done &= result?;
    }
    if all_done { Ok(Flow::Next) } else { stopped(&crew.engine, crew.id) }
}
