//! The evidence matrix. Every candidate with a change, production included, is measured the same
//! way in a scratch worktree of its own (`eval-<label>`, reset to the base commit each time):
//! its changed files and the acceptance tests are copied in, the validation commands run with
//! per-test results, failures are re-run once to flag flakiness, fail→pass and pass→fail are
//! taken against the baseline, static-analysis findings are kept only on changed lines, and the
//! complexity delta, diff size, cost and time are added. Then each candidate's new test files run
//! against every other candidate (differential testing). The matrix is stored with its hash.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::join_all;
use tokio::sync::Semaphore;

use super::agents::{Crew, copy_files, mirror_change};
use super::blocking;
use super::museum_checks::{broken_proposals, check_exhibits};
use crate::domain::{AcceptanceTests, Task};
use crate::eval;
use crate::orchestrator::EngineError;
use crate::orchestrator::artifacts::{Output, files_under};
use crate::orchestrator::task_run::{PRODUCTION, TaskRun, candidate_worktree, ensure_worktree};
use crate::playbooks::Verdict;
use crate::protocol::{
    Actor, ArtifactKind, Digest, EventKind, EvidenceMatrix, EvidenceRow, GateKind, NewEvent, TestReport, TestStatus,
    Track,
};
use crate::tools::runner::{self, RunSpec};
use crate::workspace::{FileStat, Worktree, diff_against, file_at, reset_to};

/// Candidates measured at once: test runs are CPU-bound.
const CONCURRENT_MEASUREMENTS: usize = 2;
/// A test command is killed after this long.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(600);

/// Whether the engine may run `command` for evidence: the policy allows it (and a sandbox holds
/// it), or a human approved it for this task at a command gate.
fn may_run(crew: &Crew, task: &Task, command: &str) -> Result<(), String> {
    let approved = task
        .decided_gates
        .iter()
        .any(|g| g.kind == GateKind::Command && g.decision.approves() && g.reason.starts_with(&format!("`{command}`")));
    let judgement = crew.setup.policy.commands.judge(command);
    if approved
        || (judgement.verdict == Verdict::Allow
            && crew.setup.sandbox != crate::tools::sandbox::SandboxLevel::None
            && crew.setup.sandbox_gaps.is_empty())
    {
        return Ok(());
    }
    Err(format!(
        "not run for evidence: the command policy says {:?} ({}) and no human approved it for this task",
        judgement.verdict,
        judgement.reasons.join("; ")
    ))
}

/// Runs `commands` in `worktree` for evidence, after making sure its build sees every file
/// ([`eval::freshen`]). A command that may not or cannot run yields a failed report saying why.
/// Returns the reports and how the build was made.
pub(super) async fn run_commands(
    crew: &Crew,
    worktree: &Worktree,
    commands: &[String],
    purpose: &str,
) -> Result<(Vec<TestReport>, String), EngineError> {
    let task = crew.engine.task(crew.id)?;
    let report_dir = crew.engine.state_dir().join("eval").join(crew.id.short());
    let refuse = |command: &str| may_run(crew, &task, command).err();
    let bench = bench(crew, &report_dir, &refuse);
    let measured = eval::run_all(&bench, &worktree.path, commands, purpose).await;
    Ok((measured.reports, measured.build))
}

/// How the Left Hand runs commands for evidence: the engine's sandbox, its redactor, the policy.
fn bench<'a>(
    crew: &'a Crew,
    report_dir: &'a Path,
    refuse: &'a (dyn Fn(&str) -> Option<String> + Send + Sync),
) -> eval::Bench<'a> {
    eval::Bench {
        level: crew.setup.sandbox,
        helper: &crew.setup.helper,
        timeout: COMMAND_TIMEOUT,
        report_dir,
        redactor: Some(crew.engine.redactor()),
        refuse,
    }
}

/// A candidate to measure: its label, strategy, worktree and change.
#[derive(Clone)]
pub(super) struct Subject {
    pub(super) label: String,
    pub(super) strategy: String,
    pub(super) worktree: Worktree,
    pub(super) patch: String,
    pub(super) files: Vec<FileStat>,
}

impl Subject {
    /// Test files this candidate added: what differential testing runs against the others.
    fn new_test_files(&self, acceptance: &[String]) -> Vec<String> {
        self.files
            .iter()
            .filter(|f| f.status == "added" && eval::is_test_path(&f.path) && !acceptance.contains(&f.path))
            .map(|f| f.path.clone())
            .collect()
    }
}

/// Prepares `scratch` as base + the subject's change + the acceptance tests (+ `extra` test files
/// copied from other candidates' worktrees).
pub(super) async fn prepare(
    scratch: &Worktree,
    subject: &Subject,
    acceptance: &AcceptanceTests,
    eval_path: Option<PathBuf>,
    extra: Vec<(PathBuf, Vec<String>)>,
) -> Result<(), EngineError> {
    let (scratch, subject, acceptance) = (scratch.clone(), subject.clone(), acceptance.files.clone());
    blocking(move || -> Result<(), String> {
        reset_to(&scratch.path, &scratch.base).map_err(|err| err.to_string())?;
        mirror_change(&subject.worktree.path, &scratch.path, &subject.files).map_err(|err| err.to_string())?;
        if let Some(eval) = eval_path {
            copy_files(&eval, &scratch.path, &acceptance).map_err(|err| err.to_string())?;
        }
        for (from, files) in extra {
            copy_files(&from, &scratch.path, &files).map_err(|err| err.to_string())?;
        }
        Ok(())
    })
    .await?
    .map_err(|err| EngineError::Refused(format!("cannot prepare the evaluation of {}: {err}", subject.label)))
}

/// Runs the commands, re-running once when tests failed: the same measurement `ambidex eval`
/// makes ([`eval::measure`]).
async fn measure_runs(
    crew: &Crew,
    scratch: &Worktree,
    commands: &[String],
    purpose: &str,
) -> Result<eval::Measured, EngineError> {
    let task = crew.engine.task(crew.id)?;
    let report_dir = crew.engine.state_dir().join("eval").join(crew.id.short());
    let refuse = |command: &str| may_run(crew, &task, command).err();
    let bench = bench(crew, &report_dir, &refuse);
    Ok(eval::measure(&bench, &scratch.path, commands, purpose).await)
}

/// Static-analysis findings on the subject's changed lines, when an analyzer fits the repository.
async fn static_findings(crew: &Crew, scratch: &Worktree, patch: &str) -> Vec<crate::protocol::StaticFinding> {
    let languages: Vec<String> = [("Cargo.toml", "Rust"), ("pyproject.toml", "Python"), ("setup.cfg", "Python")]
        .iter()
        .filter(|(file, _)| scratch.path.join(file).exists())
        .map(|(_, language)| (*language).to_owned())
        .collect();
    let Some(analysis) = eval::analysis_command(&scratch.path, &languages) else { return Vec::new() };
    let Ok(task) = crew.engine.task(crew.id) else { return Vec::new() };
    if may_run(crew, &task, &analysis.command).is_err() {
        return Vec::new();
    }
    let spec = RunSpec {
        command: analysis.command.clone(),
        workdir: scratch.path.clone(),
        level: crew.setup.sandbox,
        timeout: COMMAND_TIMEOUT,
        output_cap: eval::run::OUTPUT_CAP,
        helper: crew.setup.helper.clone(),
        env: Vec::new(),
        paths: crew.setup.sandbox_paths.clone(),
    };
    match runner::run(&spec).await {
        Ok(outcome) => {
            eval::new_in_changed(&analysis.parse(&outcome.stdout, &scratch.path), &eval::changed_lines(patch))
        }
        Err(_) => Vec::new(),
    }
}

/// The change in decision points over the subject's changed files.
fn complexity(subject: &Subject) -> i64 {
    let mut before = Vec::new();
    let mut after = Vec::new();
    for file in &subject.files {
        if let Some(text) = file_at(&subject.worktree.path, &subject.worktree.base, &file.path) {
            before.push((file.path.clone(), text));
        }
        if let Ok(text) = std::fs::read_to_string(subject.worktree.path.join(&file.path)) {
            after.push((file.path.clone(), text));
        }
    }
    eval::complexity_delta(&before, &after)
}

/// The provider and model a candidate's agents ran on (`openai/gpt-5`), or the ACP agent that
/// did its work (`acp:claude`): production's implementer's, or the challenger's own
/// (`engine.challengers`), else the challenger role's.
fn model_of(crew: &Crew, exploration: &crate::domain::Exploration, label: &str) -> String {
    use crate::protocol::Role;
    let config = &crew.setup.config;
    let (role, own) = if label == PRODUCTION {
        (Role::Implementer, None)
    } else {
        let plan = exploration.candidates.iter().find(|c| c.label == label);
        (Role::Challenger, plan.and_then(super::agents::own_model))
    };
    if let Some(agent) = crate::orchestrator::acp_worker::agent_for(config, role, own.as_ref()) {
        return format!("acp:{agent}");
    }
    config
        .provider_as(role, own.as_ref())
        .map(|(name, _, model)| if model.is_empty() { name.to_owned() } else { format!("{name}/{model}") })
        .unwrap_or_default()
}

/// Tokens, money and agent time of one candidate, from the task's events.
fn spending(events: &[crate::protocol::Event], label: &str) -> (u64, u64, u64) {
    let mine = |actor: &Actor| match actor {
        Actor::Agent(agent) if label == "production" => agent.track == Track::Right,
        Actor::Agent(agent) => agent.track == Track::Left && agent.candidate.as_deref() == Some(label),
        _ => false,
    };
    let (mut tokens, mut cost) = (0, 0);
    let (mut first, mut last) = (None, None);
    for event in events.iter().filter(|e| mine(&e.actor)) {
        if let EventKind::UsageRecorded { input_tokens, output_tokens, cost_micros } = &event.kind {
            tokens += input_tokens + output_tokens;
            cost += cost_micros;
        }
        first = first.or(Some(event.at));
        last = Some(event.at);
    }
    let wall = match (first, last) {
        (Some(first), Some(last)) => last.duration_since(first).as_millis().max(0) as u64,
        _ => 0,
    };
    (tokens, cost, wall)
}

/// Measures one subject in its scratch worktree (`eval-<label>`): its row without the columns
/// that need the other candidates (differential tests) or the task's events (cost, findings).
pub(super) async fn measure_subject(
    crew: &Crew,
    task: &Task,
    subject: &Subject,
    acceptance: &AcceptanceTests,
    eval_path: Option<PathBuf>,
    commands: &[String],
) -> Result<(EvidenceRow, Worktree), EngineError> {
    let started = Instant::now();
    let (scratch, _) = ensure_worktree(&crew.engine, task, &format!("eval-{}", subject.label)).await?;
    prepare(&scratch, subject, acceptance, eval_path, Vec::new()).await?;
    let measured = measure_runs(crew, &scratch, commands, &subject.label).await?;
    let new_findings = static_findings(crew, &scratch, &subject.patch).await;
    let complexity_delta = blocking({
        let subject = subject.clone();
        move || complexity(&subject)
    })
    .await?;
    let mut row = EvidenceRow {
        candidate: subject.label.clone(),
        strategy: subject.strategy.clone(),
        branch: subject.worktree.branch.clone(),
        flaky: measured.flaky,
        build: measured.build,
        new_findings,
        diff: eval::diff_stats_excluding(&subject.patch, &acceptance.files),
        complexity_delta,
        wall_ms: started.elapsed().as_millis() as u64,
        ..EvidenceRow::default()
    };
    eval::judge(&acceptance.baseline, &acceptance.tests, &measured.reports).fill(&mut row);
    row.reports = measured.reports;
    Ok((row, scratch))
}

/// Measures every candidate and records the evidence matrix with its hash.
pub(super) async fn evaluate(run: &mut TaskRun) -> Result<(EvidenceMatrix, Digest), EngineError> {
    let engine = run.engine().clone();
    let task = run.task()?;
    let exploration =
        task.exploration.clone().ok_or_else(|| EngineError::Refused("exploration has not started".into()))?;
    let acceptance = exploration.acceptance.clone().unwrap_or_default();
    let commands = run.validation_commands(&task);
    let crew = Crew::new(run, &task);
    let eval_path = task.worktrees.iter().find(|w| w.candidate == "eval").map(|w| PathBuf::from(&w.path));

    let mut candidates = vec![(PRODUCTION.to_owned(), PRODUCTION.to_owned(), run.worktree().clone())];
    for plan in &exploration.candidates {
        if let Some(worktree) = candidate_worktree(&task, &run.worktree().repo, &plan.label) {
            candidates.push((plan.label.clone(), plan.strategy.clone(), worktree));
        }
    }
    let mut subjects = Vec::new();
    for (label, strategy, worktree) in candidates {
        let (path, base) = (worktree.path.clone(), worktree.base.clone());
        let Ok(diff) = blocking(move || diff_against(&path, &base)).await? else { continue };
        if !diff.files.is_empty() {
            subjects.push(Subject { label, strategy, worktree, patch: diff.patch, files: diff.files });
        }
    }

    let slots = Arc::new(Semaphore::new(CONCURRENT_MEASUREMENTS));
    let measured = join_all(subjects.iter().map(|subject| {
        let (crew, task, slots, commands) = (crew.clone(), task.clone(), slots.clone(), commands.clone());
        let (acceptance, eval_path) = (acceptance.clone(), eval_path.clone());
        async move {
            let _slot = slots.acquire_owned().await.map_err(|_| EngineError::Refused("evaluation stopped".into()))?;
            measure_subject(&crew, &task, subject, &acceptance, eval_path, &commands).await
        }
    }))
    .await;
    let mut rows = Vec::with_capacity(measured.len());
    let mut scratches = Vec::with_capacity(measured.len());
    for result in measured {
        let (row, scratch) = result?;
        rows.push(row);
        scratches.push(scratch);
    }

    differential(&crew, &subjects, &scratches, &mut rows, &acceptance, eval_path.as_deref(), &commands).await?;
    let path = eval_path.as_deref();
    check_exhibits(&crew, &task, &subjects, &scratches, &mut rows, &acceptance, path, &commands).await?;

    let events = engine.reader().task_events(task.id)?;
    // Which model made a row is shown when the candidates ran on different ones.
    let models: Vec<String> = rows.iter().map(|row| model_of(&crew, &exploration, &row.candidate)).collect();
    if models.iter().any(|m| Some(m) != models.first()) {
        for (row, model) in rows.iter_mut().zip(models) {
            row.model = model;
        }
    }
    for row in &mut rows {
        let (tokens, cost, agent_ms) = spending(&events, &row.candidate);
        row.tokens = tokens;
        row.cost_micros = cost;
        row.wall_ms += agent_ms;
        row.analyst_findings = exploration.analyses.get(&row.candidate).cloned().unwrap_or_default();
    }
    let matrix = EvidenceMatrix {
        base: run.worktree().base.clone(),
        baseline: acceptance.baseline.clone(),
        acceptance_tests: acceptance.tests.clone(),
        weak_acceptance: acceptance.passing_on_base.clone(),
        rows,
    };
    let hash = eval::matrix_hash(&matrix);
    let recorded = EventKind::EvidenceRecorded { matrix: Box::new(matrix.clone()), hash };
    let mut events = vec![NewEvent::for_task(task.id, Actor::Orchestrator, recorded)];
    events.extend(crate::orchestrator::memory::flaky_proposals(&engine.reader().memory()?, &task, &matrix));
    events.extend(broken_proposals(&engine.reader().museum()?, &task, &matrix.base, &subjects, &matrix.rows));
    events.extend(engine.keep(task.id, evaluation_outputs(&crew, &task, &subjects).await?).await);
    engine.append(events).await?;
    Ok((matrix, hash))
}

/// What an evaluation leaves in the artifact store: each candidate's change as a patch and every
/// run's output and reports (the files under the task's report directory not kept before).
async fn evaluation_outputs(crew: &Crew, task: &Task, subjects: &[Subject]) -> Result<Vec<Output>, EngineError> {
    let report_dir = crew.engine.state_dir().join("eval").join(crew.id.short());
    let kept = task.artifacts.clone();
    let mut outputs = blocking(move || files_under(&report_dir, ArtifactKind::EvalOutput, &kept)).await?;
    for subject in subjects {
        let name = format!("candidate {}", subject.label);
        outputs.push(Output::new(ArtifactKind::Patch, name, subject.patch.clone()));
    }
    Ok(outputs)
}

/// Runs each candidate's new test files against every other candidate; failures of another
/// candidate's tests land in `differential_failed` as `candidate: test`.
async fn differential(
    crew: &Crew,
    subjects: &[Subject],
    scratches: &[Worktree],
    rows: &mut [EvidenceRow],
    acceptance: &AcceptanceTests,
    eval_path: Option<&Path>,
    commands: &[String],
) -> Result<(), EngineError> {
    // The tests each candidate's own files brought: names its run has and the baseline lacks.
    let baseline: BTreeSet<&str> =
        acceptance.baseline.iter().flat_map(|r| r.tests.iter().map(|t| t.name.as_str())).collect();
    let own: BTreeMap<String, Vec<String>> = rows
        .iter()
        .map(|row| {
            let names = row
                .reports
                .iter()
                .flat_map(|r| &r.tests)
                .map(|t| t.name.clone())
                .filter(|n| {
                    !baseline.contains(n.as_str()) && !acceptance.tests.iter().any(|a| eval::identity::matches(a, n))
                })
                .collect();
            (row.candidate.clone(), names)
        })
        .collect();
    for (index, subject) in subjects.iter().enumerate() {
        let mine: BTreeSet<&str> = subject.files.iter().map(|f| f.path.as_str()).collect();
        let extra: Vec<(PathBuf, Vec<String>)> = subjects
            .iter()
            .filter(|other| other.label != subject.label)
            .map(|other| {
                let files: Vec<String> = other
                    .new_test_files(&acceptance.files)
                    .into_iter()
                    .filter(|f| !mine.contains(f.as_str()))
                    .collect();
                (other.worktree.path.clone(), files)
            })
            .filter(|(_, files)| !files.is_empty())
            .collect();
        if extra.is_empty() {
            continue;
        }
        let scratch = &scratches[index];
        prepare(scratch, subject, acceptance, eval_path.map(Path::to_owned), extra).await?;
        let (reports, _) = run_commands(crew, scratch, commands, &format!("{}-differential", subject.label)).await?;
        let failed: BTreeSet<&str> = reports
            .iter()
            .flat_map(|r| &r.tests)
            .filter(|t| t.status == TestStatus::Failed)
            .map(|t| t.name.as_str())
            .collect();
        let build_failed = failed.iter().any(|n| n.starts_with('<'));
        let mut found = Vec::new();
        for other in subjects.iter().filter(|o| o.label != subject.label) {
            if other.new_test_files(&acceptance.files).is_empty() {
                continue;
            }
            if build_failed {
                found.push(format!("{}: <build> (its test files do not build against this candidate)", other.label));
                continue;
            }
            let names = own.get(&other.label).map(Vec::as_slice).unwrap_or_default();
            found.extend(
                names
                    .iter()
                    .filter(|n| failed.iter().any(|f| eval::identity::matches(f, n)))
                    .map(|n| format!("{}: {n}", other.label)),
            );
        }
        rows[index].differential_failed = found;
    }
    Ok(())
}
