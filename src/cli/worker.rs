//! `ambidex worker`: an engine without API or terminal that takes tasks from the store's queue
//! and runs them. Against a shared store (`store.url = "postgres://…"`) start one on each
//! machine: they share one queue through leases, and a task whose worker died is resumed by
//! another from its last stage checkpoint. Prints one line per task run that ends; stops on
//! SIGINT or SIGTERM (its tasks' leases then expire and others resume them), or, with
//! `--exit-when-idle`, once no task is left that any worker could run.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;
use tokio::signal::unix::{SignalKind, signal};

use super::{Context, Outcome};
use ambidex::orchestrator::AutoApprove;
use ambidex::orchestrator::worker::{WorkerOptions, run_worker, worker_name};

#[derive(Debug, Args)]
pub struct WorkerArgs {
    /// Tasks run at once (default: `engine.max_concurrent_tasks`)
    #[arg(long, value_name = "N")]
    slots: Option<usize>,
    /// Gates this worker approves by itself: none, low (gates of low-risk tasks) or all; the
    /// others park their task for a human, who may decide them anywhere
    #[arg(long, default_value = "none", value_name = "LEVEL")]
    approve: AutoApprove,
    /// Exit once no task is queued, interrupted or running anywhere, or at once when this worker
    /// can run none (its model provider is not usable: it says why)
    #[arg(long)]
    exit_when_idle: bool,
    /// Clone the repositories of tasks named by URL into DIR (made when missing; one clone per
    /// repository; worktrees stay in the state directory), fetch what other machines pushed
    /// before each run, and
    /// push each task's branches and checkpoints back, so any machine can resume it. Without it,
    /// such tasks are left to workers that have it
    #[arg(long, value_name = "DIR")]
    repos: Option<PathBuf>,
}

pub fn run(args: WorkerArgs, context: &Context) -> Result<Outcome, String> {
    let config = &context.effective.config;
    let slots = args.slots.unwrap_or_else(|| usize::try_from(config.engine.max_concurrent_tasks).unwrap_or(1));
    let runtime = tokio::runtime::Runtime::new().map_err(|err| format!("cannot start the async runtime: {err}"))?;
    runtime.block_on(async {
        let mut interrupt = signal(SignalKind::interrupt()).map_err(|err| format!("cannot watch SIGINT: {err}"))?;
        let mut terminate = signal(SignalKind::terminate()).map_err(|err| format!("cannot watch SIGTERM: {err}"))?;
        // Runs park at gates: a task waiting for a human holds neither a slot nor a lease.
        let repos = match args.repos {
            Some(dir) => Some(std::path::absolute(&dir).map_err(|err| format!("cannot use {}: {err}", dir.display()))?),
            None => None,
        };
        let engine = Arc::new(context.worker_engine(args.approve, repos.clone())?);
        let cache = repos.map(|dir| format!(" · repositories cloned into {}", dir.display())).unwrap_or_default();
        println!("ambidex worker {} on {} · {slots} slot(s){cache}", worker_name(), engine.store_path().display());
        if let Err(unavailable) = engine.readiness() {
            // The worker waits rather than fail the queue's tasks: they run once the model answers.
            println!("{}", unavailable.message());
        }
        let _ = std::io::stdout().flush();
        let options = WorkerOptions { slots, exit_when_idle: args.exit_when_idle };
        let worker = run_worker(engine.clone(), options, |id, ending| {
            let line = match ending {
                Ok(ending) => super::serve::describe(&ending),
                Err(err) => format!("stopped: {err}"),
            };
            println!("task {}: {line}", id.short());
            let _ = std::io::stdout().flush();
        });
        tokio::select! {
            done = worker => done.map_err(|err| err.to_string())?,
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
        Ok::<_, String>(())
    })?;
    Ok(Outcome::Done)
}
