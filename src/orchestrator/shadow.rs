//! Shadow evaluation: a proposed production playbook against the version it would replace, on
//! the same cases, before a human decides at the promotion gate (`ambidex playbook evaluate`).
//!
//! The cases ([`plan`]):
//! - the bug museum's exhibits of the repository that are evidence (kept, with a verified
//!   reproducer) and relevant to the proposal's classes: those whose origin task had one of them,
//!   or every one when none did. An exhibit whose origin task is in the store replays that task
//!   (the bug came from work of that kind); one without replays a fix task made from the exhibit
//!   (its title, root cause, tests and command). An exhibit whose bug is a change over its base
//!   and whose task is unknown cannot be set up from a commit, and is left out, with why;
//! - the last `[learning] held_out_tasks` past tasks of those classes that reached a PR, leaving
//!   out the tasks the proposal's author (a Left Hand strategy) won: they are its evidence, not a
//!   test of it; and the tasks an exhibit already replays.
//!
//! Each case is replayed once with each version ([`run`]), proposal first, each time by a scratch
//! engine of its own: a store in a temporary directory under the state directory, the same
//! configuration and policy, the loaded playbooks with that version in place for the classes,
//! every gate approved, no waiting, the production track only (`engine.challengers` = 0), PRs
//! delivered as local documents and no lifecycle hook run. The case's task spec is submitted with
//! its kind and risk pinned and its base commit as the target (the worktree starts there). A task
//! is resolved when it reaches a PR whose latest validation passed; an exhibit when its replay
//! reaches a PR and the exhibit's tests pass with the replay's change (and the exhibit's test
//! changes) over its base, run as `museum verify` runs them. The worktrees and branches a replay
//! made are removed afterwards, whatever happened, with the private checkpoint refs its stages
//! took (`refs/ambidex/<task>/…`) and its temporary directory; what an evaluation killed
//! mid-replay left is cleared by the next one before it starts.
//!
//! The budget: each case costs up to `[learning] replay_budget_usd` per version (or, when that is
//! 0, its risk level's `max_cost_usd`), shown before anything runs. A cap stops the evaluation
//! once spent; a replay still running when its spending passes what is left is cancelled. Only
//! the cases replayed in full with both versions are recorded.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use jiff::Timestamp;

use super::driver::drive;
use super::flow::Ending;
use super::{AutoApprove, Engine, EngineError, EngineSetup};
use crate::config::Challengers;
use crate::domain::Task;
use crate::eval;
use crate::playbooks::Verdict;
use crate::playbooks::playbook::{Playbook, Playbooks};
use crate::protocol::{
    Actor, Artifact, Author, Command, EventKind, Exhibit, ExhibitOutcome, PRODUCTION, PlaybookChange, PlaybookVersion,
    RegistryEdit, ReplayCase, ReplayOutcome, ReplaySource, Reproducer, Risk, Role, TaskId, TaskKind, TaskSource,
    TaskSpec, VersionEvaluation, VersionRun,
};
use crate::workspace::{BRANCH_PREFIX, Worktree, delete_branch, diff_against, remove, repo_key, resolve_commit};

/// How often a running replay's spending is checked against the budget left.
const WATCH: Duration = Duration::from_millis(500);
/// An exhibit's command is killed after this long.
const EXHIBIT_TIMEOUT: Duration = Duration::from_secs(600);
/// Longest ending kept in the matrix, in characters.
const MAX_ENDING: usize = 160;

fn refused<T>(why: impl Into<String>) -> Result<T, EngineError> {
    Err(EngineError::Refused(why.into()))
}

/// One case to replay: what the matrix shows, the task submitted, and how it is judged.
#[derive(Debug, Clone)]
pub struct Case {
    /// The matrix's row.
    pub case: ReplayCase,
    /// The task submitted to each scratch engine: kind and risk pinned, the base as its target.
    pub spec: TaskSpec,
    /// For an exhibit: its reproducer, run over the replay's change.
    pub exhibit: Option<Reproducer>,
    /// What one replay of it may cost, in micro-dollars.
    pub budget_micros: u64,
}

/// What an evaluation will replay, and with what.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The proposal.
    pub proposal: PlaybookVersion,
    /// The version it is compared with: `--against`, else its parent, else the active one.
    pub baseline: PlaybookVersion,
    /// The classes both serve: every case is of one of them.
    pub classes: Vec<TaskKind>,
    /// The cases, exhibits first.
    pub cases: Vec<Case>,
    /// What was left out, and why.
    pub skipped: Vec<String>,
    /// The model the agents run on (`provider/model`).
    pub model: String,
}

impl Plan {
    /// The budget of the whole evaluation: every case, with both versions, in micro-dollars.
    pub fn estimate_micros(&self) -> u64 {
        self.cases.iter().map(|c| c.budget_micros.saturating_mul(2)).fold(0, u64::saturating_add)
    }
}

/// Which column of the matrix a replay fills.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    /// The proposal's.
    Proposal,
    /// The baseline's.
    Baseline,
}

impl std::fmt::Display for Column {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Column::Proposal => "proposal",
            Column::Baseline => "baseline",
        })
    }
}

/// What a running evaluation reports.
#[derive(Debug)]
pub enum Progress<'a> {
    /// A replay starts.
    Started {
        /// The case's index (0-based).
        index: usize,
        /// The case.
        case: &'a Case,
        /// The column.
        column: Column,
        /// The version it runs with.
        version: &'a PlaybookVersion,
    },
    /// A replay ended.
    Finished {
        /// The case's index (0-based).
        index: usize,
        /// The column.
        column: Column,
        /// How it went.
        outcome: &'a ReplayOutcome,
    },
}

/// How an evaluation runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// Where the scratch engines' temporary directories go (`<state dir>/scratch`).
    pub scratch: PathBuf,
    /// The most the evaluation may spend, in micro-dollars (`None`: the plan's estimate is shown,
    /// not enforced; each task's own budgets still apply).
    pub budget_micros: Option<u64>,
}

/// A finished (or stopped) evaluation.
#[derive(Debug, Clone)]
pub struct Shadow {
    /// The matrix of the cases replayed in full with both versions.
    pub evaluation: VersionEvaluation,
    /// Why it stopped before the last case, if it did.
    pub stopped: Option<String>,
    /// What the replays could not clean up, and other things to know.
    pub warnings: Vec<String>,
    /// What every replay cost, the unrecorded ones included, in micro-dollars.
    pub spent_micros: u64,
}

/// The cases and versions of an evaluation of `proposal` (a hash or unique prefix) against
/// `against` (default: its parent, else the version active for its first class).
pub fn plan(engine: &Engine, proposal: &str, against: Option<&str>) -> Result<Plan, EngineError> {
    let setup = engine.setup()?;
    let mut registry = engine.registry()?;
    // The versions the next task would record, so a fresh store has its active ones too.
    registry.record_loaded(&setup.playbooks, &setup.policy, Timestamp::now());
    let proposal = registry.find(proposal)?.clone();
    if proposal.artifact != Artifact::Playbook {
        return refused(format!(
            "version {} is the {} {}: only a production playbook is evaluated by replaying tasks",
            proposal.short(),
            proposal.artifact,
            proposal.name
        ));
    }
    let baseline = match against {
        Some(reference) => registry.find(reference)?.clone(),
        None => proposal
            .parent
            .as_deref()
            .and_then(|parent| registry.get(parent))
            .or_else(|| {
                let class = proposal.classes.first()?;
                registry.active_for(*class).filter(|v| v.hash != proposal.hash)
            })
            .cloned()
            .ok_or_else(|| {
                EngineError::Refused(format!(
                    "version {} has no parent and no other version is active for its classes: name one with \
                     `--against VERSION`",
                    proposal.short()
                ))
            })?,
    };
    if baseline.hash == proposal.hash || baseline.artifact != Artifact::Playbook {
        return refused(format!(
            "version {} cannot be the baseline of {}: give another production playbook with `--against VERSION`",
            baseline.short(),
            proposal.short()
        ));
    }
    let classes: Vec<TaskKind> = proposal.classes.iter().copied().filter(|c| baseline.serves(*c)).collect();
    if classes.is_empty() {
        return refused(format!(
            "{} {} serves none of the classes of {} {}: compare versions of the same classes",
            baseline.name,
            baseline.short(),
            proposal.name,
            proposal.short()
        ));
    }
    let reader = engine.reader();
    let (tasks, exhibits) = (reader.tasks()?, reader.museum()?);
    let repo = setup.repo_root.display().to_string();
    let won = match &proposal.author {
        Author::Strategy { tasks, .. } => tasks.clone(),
        _ => Vec::new(),
    };
    let held_out = usize::try_from(setup.policy.learning.held_out_tasks).unwrap_or(usize::MAX);
    let pool = Pool { tasks: &tasks, exhibits: &exhibits, repo: &repo, classes: &classes, held_out, won: &won };
    let (chosen, mut skipped) = choose(&pool);
    let mut cases = Vec::with_capacity(chosen.len());
    for (mut case, risk) in chosen {
        if let Err(err) = resolve_commit(&setup.repo_root, &case.case.base) {
            skipped.push(format!("{}: its base is gone from the repository ({err})", label(&case.case)));
            continue;
        }
        let usd = match setup.policy.learning.replay_budget_usd {
            usd if usd > 0.0 => usd,
            _ => setup.policy.budgets.for_risk(risk).max_cost_usd,
        };
        case.budget_micros = (usd.max(0.0) * 1e6).round() as u64;
        cases.push(case);
    }
    let model = setup.config.provider_as(Role::Implementer, None).map_or_else(
        || "no provider".to_owned(),
        |(name, _, model)| if model.is_empty() { name.to_owned() } else { format!("{name}/{model}") },
    );
    Ok(Plan { proposal, baseline, classes, cases, skipped, model })
}

/// `exhibit 1a2b3c4d` or `task 1a2b3c4d`.
pub fn label(case: &ReplayCase) -> String {
    match &case.source {
        ReplaySource::Exhibit { id } => format!("exhibit {}", id.short()),
        ReplaySource::Task { id } => format!("task {}", id.short()),
    }
}

/// What cases are chosen from.
pub(crate) struct Pool<'a> {
    pub tasks: &'a [Task],
    pub exhibits: &'a [Exhibit],
    /// The repository, as tasks and exhibits name it.
    pub repo: &'a str,
    pub classes: &'a [TaskKind],
    pub held_out: usize,
    /// Tasks held out of the evaluation: the proposal's own evidence.
    pub won: &'a [TaskId],
}

/// The cases (exhibits first, then past tasks, oldest first), each with the risk its budget is
/// taken at, and what was left out.
pub(crate) fn choose(pool: &Pool<'_>) -> (Vec<(Case, Risk)>, Vec<String>) {
    let find = |id: TaskId| pool.tasks.iter().find(|t| t.id == id);
    let origin = |e: &Exhibit| e.source.task().or(e.links.task).and_then(find);
    let of_classes = |task: &Task| task.kind().is_some_and(|k| pool.classes.contains(&k));
    let kept: Vec<&Exhibit> = pool.exhibits.iter().filter(|e| e.repo == pool.repo && e.is_evidence()).collect();
    let of_class: Vec<&Exhibit> = kept.iter().copied().filter(|e| origin(e).is_some_and(of_classes)).collect();
    let relevant = if of_class.is_empty() { kept } else { of_class };
    let mut cases = Vec::new();
    let mut skipped = Vec::new();
    let mut replayed = Vec::new();
    let first = pool.classes.first().copied().unwrap_or(TaskKind::BugFix);
    for exhibit in relevant {
        let source = ReplaySource::Exhibit { id: exhibit.id };
        let case = ReplayCase { source, title: exhibit.title.clone(), base: exhibit.base.clone() };
        let (spec, risk) = match origin(exhibit) {
            Some(task) => {
                replayed.push(task.id);
                let kind = task.kind().filter(|k| pool.classes.contains(k)).unwrap_or(first);
                (replay_spec(&task.spec, &exhibit.base, kind, task.risk(), pool.repo), task.risk().unwrap_or(Risk::Low))
            }
            None if exhibit.bug_patch.is_some() => {
                skipped.push(format!(
                    "exhibit {}: its bug is a change over its base and the task that made it is not in this store, so \
                     no commit has the bug to replay from",
                    exhibit.id.short()
                ));
                continue;
            }
            None => (fix_spec(exhibit, first), Risk::Low),
        };
        let exhibit = Some(exhibit.reproducer.clone());
        cases.push((Case { case, spec, exhibit, budget_micros: 0 }, risk));
    }
    let mut past: Vec<&Task> = pool
        .tasks
        .iter()
        .filter(|t| t.pr.is_some() && of_classes(t) && t.spec.repo.as_deref().is_none_or(|r| r == pool.repo))
        .filter(|t| !pool.won.contains(&t.id) && !replayed.contains(&t.id))
        .collect();
    past.sort_by_key(|t| t.created_at);
    let held_out = &past[past.len().saturating_sub(pool.held_out)..];
    for task in held_out {
        let Some(base) = production_base(task) else {
            skipped.push(format!("task {}: no base commit is recorded for it", task.id.short()));
            continue;
        };
        let kind = task.kind().unwrap_or(first);
        let spec = replay_spec(&task.spec, &base, kind, task.risk(), pool.repo);
        let case = ReplayCase { source: ReplaySource::Task { id: task.id }, title: task.spec.title.clone(), base };
        cases.push((Case { case, spec, exhibit: None, budget_micros: 0 }, task.risk().unwrap_or(Risk::Medium)));
    }
    (cases, skipped)
}

/// The commit a task's production worktree started from.
fn production_base(task: &Task) -> Option<String> {
    let all = task.worktrees.iter().chain(&task.removed_worktrees);
    all.filter(|w| w.candidate == PRODUCTION).map(|w| w.base.clone()).find(|b| !b.is_empty())
}

/// `original` to submit again: from `base`, of `kind`, at the risk triage gave it, delivered
/// nowhere but locally (no issue is commented on).
fn replay_spec(original: &TaskSpec, base: &str, kind: TaskKind, risk: Option<Risk>, repo: &str) -> TaskSpec {
    let mut spec = original.clone();
    spec.repo = Some(spec.repo.unwrap_or_else(|| repo.to_owned()));
    spec.target_branch = Some(base.to_owned());
    spec.kind = Some(kind);
    spec.risk = risk.or(spec.risk);
    spec.source = TaskSource::Manual;
    spec
}

/// The task that fixes an exhibit's bug, made from what the exhibit says.
fn fix_spec(exhibit: &Exhibit, kind: TaskKind) -> TaskSpec {
    let reproducer = &exhibit.reproducer;
    let mut spec = TaskSpec::titled(format!("Fix: {}", exhibit.title));
    let mut description = format!("A bug kept in the bug museum shows with `{}`", reproducer.command);
    if reproducer.tests.is_empty() {
        description.push_str(": the command fails while the bug is there.");
    } else {
        description.push_str(&format!(": {} fail while the bug is there.", reproducer.tests.join(", ")));
    }
    if !exhibit.root_cause.is_empty() {
        description.push_str(&format!("\n\nWhy it happens: {}", exhibit.root_cause));
    }
    if !exhibit.check.is_empty() {
        description.push_str(&format!("\n\nThe check that catches it: {}", exhibit.check));
    }
    spec.description = description;
    spec.acceptance_criteria = if reproducer.tests.is_empty() {
        vec![format!("`{}` succeeds", reproducer.command)]
    } else {
        reproducer.tests.iter().map(|t| format!("`{t}` passes")).collect()
    };
    spec.acceptance_criteria.push("the tests that passed before still pass".into());
    spec.repo = Some(exhibit.repo.clone());
    spec.target_branch = Some(exhibit.base.clone());
    spec.kind = Some(kind);
    spec.validation = vec![reproducer.command.clone()];
    spec
}

/// The loaded playbooks with `version` in place for `classes`: a playbook that would win one of
/// them over it (a more specific one) is set aside.
fn playbooks_with(
    loaded: &Playbooks,
    version: &PlaybookVersion,
    classes: &[TaskKind],
) -> Result<Playbooks, EngineError> {
    let playbook = Playbook::parse(&version.text, &format!("registry {}", version.short())).map_err(|err| {
        EngineError::Refused(format!("version {} is not a playbook the engine can run: {err}", version.short()))
    })?;
    let name = playbook.name.clone();
    let mut set = loaded.clone();
    set.insert(playbook);
    for &class in classes {
        while let Some(other) = set.for_kind(class).filter(|p| p.name != name).map(|p| p.name.clone()) {
            set.remove(&other);
        }
    }
    Ok(set)
}

/// A scratch engine's setup: the engine's own, with `playbooks`, every gate approved, no
/// waiting, the production track only, PRs kept local and no hook.
fn scratch_setup(real: &EngineSetup, playbooks: Playbooks, state_dir: &Path) -> Result<EngineSetup, EngineError> {
    let mut config = real.config.clone();
    config.state_dir = state_dir.display().to_string();
    config.engine.challengers = Challengers::Count(0);
    config.forges.delivery = "local".into();
    config.hooks.clear();
    let mut setup = EngineSetup::new(config, &real.repo_root, real.sandbox, real.helper.clone())
        .map_err(|err| EngineError::NotSetUp(format!("the scratch engine's setup: {err}")))?;
    setup.policy = real.policy.clone();
    setup.playbooks = playbooks;
    setup.sandbox_paths = real.sandbox_paths.clone();
    setup.sandbox_gaps = real.sandbox_gaps.clone();
    setup.auto_approve = AutoApprove::All;
    setup.wait_at_gates = false;
    Ok(setup)
}

/// Replays every case with the proposal, then the baseline, within the budget; `progress` hears
/// of each replay. Returns the matrix of the cases replayed in full (nothing is recorded: see
/// [`record`]).
pub async fn run(
    engine: &Engine,
    plan: &Plan,
    options: &Options,
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<Shadow, EngineError> {
    let setup = engine.setup()?;
    let effective = engine.registry()?.effective(&setup.playbooks);
    let columns = [
        (Column::Proposal, &plan.proposal, playbooks_with(&effective, &plan.proposal, &plan.classes)?),
        (Column::Baseline, &plan.baseline, playbooks_with(&effective, &plan.baseline, &plan.classes)?),
    ];
    std::fs::create_dir_all(&options.scratch).map_err(|err| {
        EngineError::Refused(format!("cannot create the scratch directory {}: {err}", options.scratch.display()))
    })?;
    let mut warnings = recover(&options.scratch, engine);
    if let Err(unavailable) = scratch_setup(setup, columns[0].2.clone(), &options.scratch)?.readiness() {
        return refused(format!(
            "the agents' model provider `{}` cannot be used ({}): nothing was replayed",
            unavailable.provider, unavailable.problem
        ));
    }
    let (mut spent, mut stopped) = (0u64, None);
    let mut pairs: Vec<[ReplayOutcome; 2]> = Vec::new();
    'cases: for (index, case) in plan.cases.iter().enumerate() {
        let mut pair = Vec::with_capacity(2);
        for (column, version, playbooks) in &columns {
            let left = options.budget_micros.map(|cap| cap.saturating_sub(spent));
            if left == Some(0) {
                stopped = Some(format!(
                    "the budget of {} is spent ({} so far)",
                    crate::protocol::money(options.budget_micros.unwrap_or_default()),
                    crate::protocol::money(spent)
                ));
                break 'cases;
            }
            progress(Progress::Started { index, case, column: *column, version });
            let replayed = replay(engine, setup, playbooks, case, &options.scratch, left).await?;
            spent = spent.saturating_add(replayed.outcome.cost_micros);
            warnings.extend(replayed.warnings);
            progress(Progress::Finished { index, column: *column, outcome: &replayed.outcome });
            if let Some(why) = replayed.stop {
                stopped = Some(why);
                break 'cases;
            }
            pair.push(replayed.outcome);
        }
        if let Ok(pair) = <[ReplayOutcome; 2]>::try_from(pair) {
            pairs.push(pair);
        }
    }
    if stopped.is_some() && pairs.len() < plan.cases.len() {
        warnings.push(format!(
            "{} of {} cases were replayed with both versions; only those are recorded",
            pairs.len(),
            plan.cases.len()
        ));
    }
    let (new, old): (Vec<ReplayOutcome>, Vec<ReplayOutcome>) = pairs.into_iter().map(|[n, o]| (n, o)).unzip();
    let evaluation = VersionEvaluation {
        at: Timestamp::now(),
        model: plan.model.clone(),
        budget_micros: options.budget_micros.unwrap_or_else(|| plan.estimate_micros()),
        cases: plan.cases.iter().take(new.len()).map(|c| c.case.clone()).collect(),
        proposal: VersionRun { version: plan.proposal.hash.clone(), outcomes: new },
        baseline: VersionRun { version: plan.baseline.hash.clone(), outcomes: old },
    };
    Ok(Shadow { evaluation, stopped, warnings, spent_micros: spent })
}

/// Records `evaluation` as the proposal's (through the engine, as `actor`); returns the version
/// as recorded.
pub async fn record(
    engine: &Engine,
    proposal: &PlaybookVersion,
    evaluation: VersionEvaluation,
    actor: Actor,
) -> Result<PlaybookVersion, EngineError> {
    let edit = RegistryEdit::Evaluated { version: proposal.hash.clone(), evaluation: Box::new(evaluation) };
    let events = engine.execute(Command::EditRegistry { edit }, actor).await?;
    events
        .iter()
        .find_map(|event| match &event.kind {
            EventKind::PlaybookChanged { change: PlaybookChange::Evaluated, version } => Some((**version).clone()),
            _ => None,
        })
        .ok_or_else(|| EngineError::Refused("the engine recorded no evaluation".into()))
}

/// One replay's result.
struct Replayed {
    outcome: ReplayOutcome,
    /// Why the evaluation stops here (this replay does not count), if it does.
    stop: Option<String>,
    warnings: Vec<String>,
}

/// Replays `case` with `playbooks` in a scratch engine of its own, `left` the most it may spend.
async fn replay(
    engine: &Engine,
    setup: &EngineSetup,
    playbooks: &Playbooks,
    case: &Case,
    scratch: &Path,
    left: Option<u64>,
) -> Result<Replayed, EngineError> {
    let dir = tempfile::Builder::new().prefix("shadow-").tempdir_in(scratch).map_err(|err| {
        EngineError::Refused(format!("cannot create a scratch directory in {}: {err}", scratch.display()))
    })?;
    let scratch_engine = Arc::new(Engine::open_with(
        &dir.path().join(crate::store::STORE_FILE),
        engine.redactor().clone(),
        Some(scratch_setup(setup, playbooks.clone(), dir.path())?),
    )?);
    let started = Instant::now();
    let added = scratch_engine.execute(Command::AddTask { spec: case.spec.clone() }, Actor::Orchestrator).await?;
    let Some(id) = added.first().and_then(|event| event.task) else {
        return refused("the scratch engine made no task of the case");
    };
    let (ending, cut) = drive_within(&scratch_engine, id, left).await;
    let millis = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let judged = match scratch_engine.task(id) {
        Ok(task) => judge(&scratch_engine, setup, &task, case, &ending).await,
        Err(err) => Judged { ending: format!("error: {err}"), ..Judged::default() },
    };
    let warnings = clean_up(&scratch_engine, id, Path::new(case.spec.repo.as_deref().unwrap_or(".")));
    let task = scratch_engine.task(id).ok();
    if let Ok(alone) = Arc::try_unwrap(scratch_engine) {
        alone.shutdown();
    }
    let outcome = ReplayOutcome {
        resolved: judged.resolved,
        ending: shorten(&judged.ending),
        send_backs: task.as_ref().map_or(0, |t| t.rejected_reviews),
        cost_micros: task.as_ref().map_or(0, |t| t.cost_micros),
        millis,
        diff_lines: judged.diff_lines,
    };
    let stop = match (&ending, cut) {
        (_, true) => Some(format!("the budget was spent while {} ran: it was stopped", label(&case.case))),
        (Ok(Ending::Waiting(unavailable)), _) => Some(format!(
            "the model provider `{}` cannot be used ({}) during {}",
            unavailable.provider,
            unavailable.problem,
            label(&case.case)
        )),
        _ => None,
    };
    drop(dir);
    Ok(Replayed { outcome, stop, warnings })
}

/// Drives the task to its end; when `left` is given and its spending passes it, the task is
/// cancelled. The second value says whether it was.
async fn drive_within(engine: &Arc<Engine>, id: TaskId, left: Option<u64>) -> (Result<Ending, EngineError>, bool) {
    let run = drive(engine.clone(), id);
    tokio::pin!(run);
    let mut cut = false;
    loop {
        tokio::select! {
            ending = &mut run => return (ending, cut),
            () = tokio::time::sleep(WATCH), if !cut && left.is_some() => {
                let spent = engine.task(id).map_or(0, |t| t.cost_micros);
                if left.is_some_and(|left| spent >= left) {
                    let reason = "the shadow evaluation's budget is spent".to_owned();
                    cut = engine.execute(Command::CancelTask { task: id, reason }, Actor::Orchestrator).await.is_ok();
                }
            }
        }
    }
}

/// How a replay went, judged.
#[derive(Debug, Default)]
struct Judged {
    resolved: bool,
    ending: String,
    diff_lines: u64,
}

/// `text` cut to [`MAX_ENDING`] characters, an ellipsis saying so.
fn shorten(text: &str) -> String {
    if text.chars().count() <= MAX_ENDING {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(MAX_ENDING - 1).collect();
    cut.push('…');
    cut
}

/// The ending in a few words.
fn ending_words(ending: &Result<Ending, EngineError>) -> String {
    match ending {
        Ok(Ending::PrReady(_)) => "pr".into(),
        Ok(Ending::Parked { kind, .. }) => format!("parked at the {kind} gate"),
        Ok(Ending::Failed(why)) => format!("failed: {why}"),
        Ok(Ending::Cancelled) => "cancelled".into(),
        Ok(Ending::NotAccepted(status)) => format!("not accepted: {status}"),
        Ok(Ending::Waiting(unavailable)) => format!("waiting for the model provider `{}`", unavailable.provider),
        Err(err) => format!("stopped: {err}"),
    }
}

/// Whether the task's latest validation passed; `Err` names the commands that failed.
fn validation_passed(task: &Task) -> Result<(), String> {
    let Some(latest) = task.validation.iter().map(|v| v.attempt).max() else { return Ok(()) };
    let failed: Vec<&str> = task
        .validation
        .iter()
        .filter(|v| v.attempt == latest && !v.result.ok)
        .map(|v| v.result.command.as_str())
        .collect();
    if failed.is_empty() { Ok(()) } else { Err(failed.join(", ")) }
}

/// Judges a replay: a task by its PR and validation; an exhibit by its tests over the change.
async fn judge(
    engine: &Engine,
    setup: &EngineSetup,
    task: &Task,
    case: &Case,
    ending: &Result<Ending, EngineError>,
) -> Judged {
    let mut words = ending_words(ending);
    let pr = matches!(ending, Ok(Ending::PrReady(_))) && task.pr.is_some();
    let repo = PathBuf::from(task.spec.repo.as_deref().unwrap_or("."));
    let worktree = production_worktree(task, &repo);
    let change = worktree.as_ref().and_then(|w| diff_against(&w.path, &case.case.base).ok()).unwrap_or_default();
    let diff_lines = u64::try_from(change.added() + change.removed()).unwrap_or(u64::MAX);
    let resolved = match (&case.exhibit, pr) {
        (_, false) => false,
        (None, true) => match validation_passed(task) {
            Ok(()) => true,
            Err(failed) => {
                words.push_str(&format!(", validation failed: {failed}"));
                false
            }
        },
        (Some(reproducer), true) => {
            let outcome = match &worktree {
                Some(worktree) => {
                    check_exhibit(engine, setup, reproducer, &worktree.path, &case.case.base, &change.patch).await
                }
                None => ExhibitOutcome::NotRun { why: "the replay left no worktree".into() },
            };
            match outcome {
                ExhibitOutcome::Held => {
                    words.push_str("; exhibit held");
                    true
                }
                ExhibitOutcome::Broken { tests } if tests.is_empty() => {
                    words.push_str(&format!("; exhibit broken: `{}` fails", reproducer.command));
                    false
                }
                ExhibitOutcome::Broken { tests } => {
                    words.push_str(&format!("; exhibit broken: {}", tests.join(", ")));
                    false
                }
                ExhibitOutcome::NotRun { why } => {
                    words.push_str(&format!("; exhibit not run: {why}"));
                    false
                }
            }
        }
    };
    Judged { resolved, ending: words, diff_lines }
}

/// The task's production worktree, when it was made.
fn production_worktree(task: &Task, repo: &Path) -> Option<Worktree> {
    let known = task.worktrees.iter().find(|w| w.candidate == PRODUCTION)?;
    Some(Worktree {
        repo: repo.to_owned(),
        path: PathBuf::from(&known.path),
        branch: known.branch.clone(),
        name: format!("ambidex-{}-{PRODUCTION}", task.id.short()),
        base: known.base.clone(),
    })
}

/// Runs the exhibit's command in the replay's worktree, set to its base with the replay's
/// `change` and the exhibit's test changes over it, as `museum verify` runs it (a command the
/// policy forbids is not run).
async fn check_exhibit(
    engine: &Engine,
    setup: &EngineSetup,
    reproducer: &Reproducer,
    worktree: &Path,
    base: &str,
    change: &str,
) -> ExhibitOutcome {
    let policy = &setup.policy;
    let refuse = |command: &str| {
        let judgement = policy.commands.judge(command);
        (judgement.verdict == Verdict::Forbid)
            .then(|| format!("the command policy forbids it ({})", judgement.reasons.join("; ")))
    };
    let reports = engine.state_dir().join("museum");
    let bench = eval::Bench {
        level: setup.sandbox,
        helper: &setup.helper,
        timeout: EXHIBIT_TIMEOUT,
        report_dir: &reports,
        redactor: Some(engine.redactor()),
        refuse: &refuse,
    };
    let patches = [Some(change).filter(|c| !c.is_empty()), reproducer.tests_patch.as_deref()];
    match eval::exhibit::run_state(&bench, worktree, base, &patches, &reproducer.command, "shadow-exhibit").await {
        Ok(run) => eval::exhibit::outcome(&reproducer.tests, &run.reports),
        Err(err) => ExhibitOutcome::NotRun { why: err.to_string() },
    }
}

/// Clears what an evaluation killed mid-replay left: each scratch directory whose store no live
/// process holds has its tasks' worktrees, branches and checkpoint refs removed from the
/// repository, then goes. Returns what could not be removed.
fn recover(scratch: &Path, engine: &Engine) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(scratch) else { return Vec::new() };
    let mut problems = Vec::new();
    for dir in entries.flatten().map(|e| e.path()).filter(|p| p.is_dir()) {
        if !dir.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("shadow-")) {
            continue;
        }
        let store = dir.join(crate::store::STORE_FILE);
        if store.exists() {
            let left = match Engine::open_with(&store, engine.redactor().clone(), None) {
                Ok(left) => left,
                // A live evaluation's replay: not ours to clear.
                Err(crate::store::StoreError::InUse { .. }) => continue,
                Err(err) => {
                    problems.push(format!("a killed replay's store {} cannot be read: {err}", store.display()));
                    continue;
                }
            };
            for task in left.reader().tasks().unwrap_or_default() {
                let repo = PathBuf::from(task.spec.repo.as_deref().unwrap_or("."));
                problems.extend(clean_up(&left, task.id, &repo));
            }
            left.shutdown();
        }
        if let Err(err) = std::fs::remove_dir_all(&dir) {
            problems.push(format!("a killed replay's directory {} was not removed: {err}", dir.display()));
        }
    }
    problems
}

/// Removes every worktree and branch the replay of task `id` made (and the production one's,
/// should the run have stopped before recording it); returns what could not be removed.
fn clean_up(engine: &Engine, id: TaskId, repo: &Path) -> Vec<String> {
    let short = id.short();
    let known = engine.task(id).map(|t| t.worktrees).unwrap_or_default();
    let mut worktrees: Vec<Worktree> = known
        .iter()
        .map(|w| Worktree {
            repo: repo.to_owned(),
            path: PathBuf::from(&w.path),
            branch: w.branch.clone(),
            name: format!("ambidex-{short}-{}", w.candidate),
            base: w.base.clone(),
        })
        .collect();
    if !known.iter().any(|w| w.candidate == PRODUCTION) {
        let root = crate::workspace::repo_root(repo).unwrap_or_else(|| repo.to_owned());
        worktrees.push(Worktree {
            repo: repo.to_owned(),
            path: engine.worktrees_root().join(repo_key(&root)).join(&short).join(PRODUCTION),
            branch: format!("{BRANCH_PREFIX}{short}/{PRODUCTION}"),
            name: format!("ambidex-{short}-{PRODUCTION}"),
            base: String::new(),
        });
    }
    let mut problems = Vec::new();
    if let Err(err) = crate::workspace::delete_task_refs(repo, &short.to_lowercase()) {
        problems.push(format!("the replay's checkpoint refs were not deleted: {err}"));
    }
    for worktree in &worktrees {
        if let Err(err) = remove(worktree, true) {
            problems.push(format!("the scratch worktree {} was not removed: {err}", worktree.path.display()));
        }
        if let Err(err) = delete_branch(repo, &worktree.branch) {
            problems.push(format!("the scratch branch {} was not deleted: {err}", worktree.branch));
        }
    }
    problems
}

#[cfg(test)]
#[path = "shadow_tests.rs"]
mod tests;
