//! The setup step: each worktree's dependency fetch (`cargo fetch`, `npm ci`, … discovered, or
//! `[setup] commands`), run by the engine under the sandbox before any agent or validation, so
//! that everything after it works offline. It runs offline first; when it fails for want of the
//! network, the production track asks a human once per repository (the `network` gate) and runs
//! it again with network, writing only the worktree and the package managers' caches. What it
//! generates that no commit holds (a lockfile, a virtualenv) becomes the worktree's baseline,
//! never part of the change. Any other failure stops at the environment gate.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use super::EngineError;
use super::flow::{Flow, GateRequest};
use super::setup::EngineSetup;
use super::task_run::TaskRun;
use crate::config::SetupNetwork;
use crate::domain::Task;
use crate::protocol::{Actor, Decision, EventKind, GateKind, MemoryKind, NewEvent, ValidationResult};
use crate::tools::failure::{FailureClass, classify};
use crate::tools::runner::{RunSpec, run as run_command};
use crate::tools::sandbox::SandboxLevel;
use crate::workspace::Worktree;

/// Output kept of each setup command, head and tail.
const OUTPUT_CAP: usize = 64 * 1024;
/// Lines of a command's output its event keeps.
const SUMMARY_LINES: usize = 20;

/// The setup commands for a worktree at `root`: the configured ones, else those discovered.
pub(crate) fn commands(setup: &EngineSetup, root: &Path) -> Vec<String> {
    match &setup.config.setup.commands {
        Some(configured) => configured.iter().filter(|c| !c.trim().is_empty()).cloned().collect(),
        None => crate::context::discover_setup(root).into_iter().map(|hint| hint.command).collect(),
    }
}

/// Whether the production worktree still needs its setup step.
pub(crate) fn due(task: &Task) -> bool {
    task.pr.is_none() && task.worktrees.iter().any(|w| w.candidate == super::task_run::PRODUCTION && !w.set_up)
}

/// The repository a task works on, as its network allowance is keyed.
fn repo_of(task: &Task) -> String {
    task.spec.repo.clone().unwrap_or_else(|| ".".to_owned())
}

/// Whether a human allowed the network to these `commands` of the task's repository: at a
/// `network` gate of this task (recorded for the repository now), or of an earlier task.
async fn network_allowed(run: &TaskRun, task: &Task, commands: &[String]) -> Result<bool, EngineError> {
    if run.setup().config.setup.network == SetupNetwork::Never {
        return Ok(false);
    }
    let repo = repo_of(task);
    if run.engine().reader().setup_network(&repo)?.as_deref() == Some(commands) {
        return Ok(true);
    }
    let approved_here = task
        .decided_gates
        .iter()
        .any(|g| g.kind == GateKind::Network && g.decision == Decision::Approve && !g.superseded);
    if approved_here {
        let allowed = EventKind::SetupNetworkAllowed { repo, commands: commands.to_vec() };
        run.record(vec![run.event(Actor::Orchestrator, allowed)]).await?;
    }
    Ok(approved_here)
}

/// Runs the production worktree's setup step; a failure asks at the `network` gate (it needs the
/// network and may ask for it) or the environment gate (anything else).
pub(super) async fn run(run: &mut TaskRun, task: &Task) -> Result<Flow, EngineError> {
    let worktree = run.worktree().clone();
    let commands = commands(run.setup(), &worktree.path);
    let network = !commands.is_empty() && network_allowed(run, task, &commands).await?;
    let unconfined = run.setup().sandbox == SandboxLevel::None || !run.setup().sandbox_gaps.is_empty();
    if unconfined && !network && !commands.is_empty() {
        // Nothing confines the commands here: they run only once a human allowed them.
        let reason = format!(
            "the sandbox cannot confine commands on this machine, and the repository's setup would run:\n{}\nApprove \
             to run it (with network; remembered for this repository while these commands stay the same), or stop \
             the task.",
            listed(&commands)
        );
        return Ok(Flow::Ask(GateRequest::new(GateKind::Network, reason).human_only(true)));
    }
    let ran = execute(run.setup(), &worktree, &commands, network).await;
    let failure = ran.failure();
    let mut events = vec![run.event(Actor::Orchestrator, ran.event(super::task_run::PRODUCTION))];
    let entries = if failure.is_none() { run.engine().reader().memory()? } else { Vec::new() };
    if failure.is_none() {
        // Learned from the repository's own files: who owns what.
        events.extend(super::memory::ownership_proposals(&entries, task, &crate::context::codeowners(&worktree.path)));
        events.extend(reverted_changes(run, task, &worktree.path)?);
    }
    if failure.is_none() && network {
        // Learned: this repository's dependencies come from the network, by these commands.
        let text = format!(
            "Dependencies are fetched with {} and need the network; the setup step runs it before any agent, so \
             builds and tests work offline afterwards.",
            commands.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", then ")
        );
        let what = "the setup step's fetch needed the network and succeeded";
        events.extend(super::memory::propose(&entries, task.id, &repo_of(task), MemoryKind::Setup, text, what));
    }
    run.record(events).await?;
    let Some((failed, class)) = failure else { return Ok(Flow::Next) };
    let may_ask = run.setup().config.setup.network == SetupNetwork::Ask;
    if class == FailureClass::Network && !network && may_ask {
        let reason = format!(
            "the setup step needs the network: `{}` could not reach a package registry offline.\nSetup for this \
             repository:\n{}\nApprove to run it with network (it may then write only the worktree and the package \
             managers' caches; remembered for this repository while these commands stay the same), or stop the \
             task. To never ask, fetch on this machine and set `setup.network = \"never\"`.\nIts output ended \
             with:\n{}",
            failed.command,
            listed(&commands),
            tail(&failed.summary, 6)
        );
        return Ok(Flow::Ask(GateRequest::new(GateKind::Network, reason).human_only(true)));
    }
    let reason = format!(
        "the setup step failed for a cause in the environment, before any agent ran\n`{}` ({class}): {}.\nFix: {}; or \
         change `[setup] commands` in .ambidex/config.toml.\nIts output ended with:\n{}\nApprove to run setup again \
         once it is fixed, or stop the task.",
        failed.command,
        if class == FailureClass::Code { "the command failed" } else { class.what() },
        if class == FailureClass::Code {
            "run it in your checkout to see why, and fix the repository's setup"
        } else {
            class.fix()
        },
        tail(&failed.summary, 6)
    );
    Ok(Flow::Ask(GateRequest::new(GateKind::Environment, reason).human_only(true)))
}

/// Runs the setup step of a Left Hand worktree (`candidate`): with network when the repository
/// allows it; a failure is recorded, and the candidate's own commands then say what is missing.
pub(crate) async fn prepare_candidate(
    setup: &EngineSetup,
    reader: &crate::store::StoreReader,
    task: &Task,
    worktree: &Worktree,
    candidate: &str,
) -> Result<NewEvent, EngineError> {
    let commands = commands(setup, &worktree.path);
    let network = setup.config.setup.network == SetupNetwork::Ask
        && !commands.is_empty()
        && reader.setup_network(&repo_of(task))?.as_deref() == Some(commands.as_slice());
    let ran = execute(setup, worktree, &commands, network).await;
    Ok(NewEvent::for_task(task.id, Actor::Orchestrator, ran.event(candidate)))
}

/// What one setup step did.
struct SetupRun {
    network: bool,
    results: Vec<ValidationResult>,
    baseline: Vec<String>,
    /// How the failed command's output classifies it.
    class: Option<FailureClass>,
}

impl SetupRun {
    fn failure(&self) -> Option<(ValidationResult, FailureClass)> {
        let failed = self.results.iter().find(|r| !r.ok)?;
        Some((failed.clone(), self.class.unwrap_or(FailureClass::Code)))
    }

    fn event(&self, candidate: &str) -> EventKind {
        EventKind::SetupRan {
            candidate: candidate.to_owned(),
            network: self.network,
            results: self.results.clone(),
            baseline: self.baseline.clone(),
        }
    }
}

/// Runs `commands` in the worktree, stopping at the first failure, and records what they
/// generated as its baseline.
async fn execute(setup: &EngineSetup, worktree: &Worktree, commands: &[String], network: bool) -> SetupRun {
    let before = untracked(&worktree.path).await;
    let mut paths = setup.sandbox_paths.clone();
    paths.network = network;
    paths.writable_caches = crate::tools::dep_caches::for_commands(commands);
    let mut results = Vec::new();
    let mut class = None;
    for command in commands {
        let spec = RunSpec {
            command: command.clone(),
            workdir: worktree.path.clone(),
            level: setup.sandbox,
            timeout: Duration::from_secs(setup.config.setup.timeout_secs.max(1)),
            output_cap: OUTPUT_CAP,
            helper: setup.helper.clone(),
            env: Vec::new(),
            paths: paths.clone(),
        };
        let (result, text) = match run_command(&spec).await {
            Ok(outcome) => {
                let text = outcome.render();
                let result = ValidationResult {
                    command: command.clone(),
                    ok: outcome.success(),
                    exit_code: outcome.exit_code,
                    duration_ms: outcome.duration_ms,
                    summary: tail(&text, SUMMARY_LINES),
                };
                (result, text)
            }
            Err(err) => {
                let text = format!("could not run it: {err}");
                let result = ValidationResult {
                    command: command.clone(),
                    ok: false,
                    exit_code: None,
                    duration_ms: 0,
                    summary: text.clone(),
                };
                (result, text)
            }
        };
        let ok = result.ok;
        if !ok {
            class = Some(classify(result.exit_code, &text));
        }
        results.push(result);
        if !ok {
            break;
        }
    }
    let after = untracked(&worktree.path).await;
    let generated: BTreeSet<String> = after.difference(&before).cloned().collect();
    if let Err(err) = crate::workspace::record_baseline(&worktree.path, &generated) {
        // Without its baseline the change would carry what setup generated: the step fails.
        let text = format!("the files setup generated could not be kept out of the change: {err}");
        class = Some(classify(None, &text));
        let command = "record the worktree's baseline".to_owned();
        results.push(ValidationResult { command, ok: false, exit_code: None, duration_ms: 0, summary: text });
    }
    SetupRun { network, results, baseline: generated.into_iter().collect(), class }
}

async fn untracked(path: &Path) -> BTreeSet<String> {
    let path = path.to_owned();
    tokio::task::spawn_blocking(move || crate::workspace::untracked_entries(&path).unwrap_or_default())
        .await
        .unwrap_or_default()
}

fn listed(commands: &[String]) -> String {
    commands.iter().map(|c| format!("  {c}")).collect::<Vec<_>>().join("\n")
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Exhibits proposed for changes Ambidex delivered to this repository that its history has since
/// reverted. The history is read first: the tasks only when a revert is there.
fn reverted_changes(run: &TaskRun, task: &Task, path: &Path) -> Result<Vec<NewEvent>, EngineError> {
    let reverts = crate::workspace::reverts(path, super::museum::REVERT_SCAN).unwrap_or_default();
    if reverts.is_empty() {
        return Ok(Vec::new());
    }
    let reader = run.engine().reader();
    let delivered: Vec<Task> =
        reader.tasks()?.into_iter().filter(|t| t.spec.repo == task.spec.repo && t.pr.is_some()).collect();
    Ok(super::museum::reverted_proposals(&reader.museum()?, &delivered, &reverts))
}
