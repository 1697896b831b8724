//! `ambidex serve`: the engine without a terminal — the local HTTP API plus the scheduler, so
//! tasks submitted through the API (or by `ambidex task add` from another terminal) run. It
//! prints where it listens, one line per task run that ends, and stops cleanly on SIGINT or
//! SIGTERM (removing `api.json`; tasks still running resume on the next start).

use std::io::Write;
use std::sync::Arc;

use clap::Args;
use tokio::signal::unix::{SignalKind, signal};

use super::{Context, Outcome};
use ambidex::api::{self, ApiHandle};
use ambidex::forge::{self, RetryObserver, token};
use ambidex::orchestrator::scheduler::Scheduler;
use ambidex::orchestrator::watch::{self, Watch};
use ambidex::orchestrator::{AutoApprove, Ending, Engine};
use ambidex::workspace::repo_root;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Gates this engine approves by itself: none, low (gates of low-risk tasks) or all
    #[arg(long, default_value = "none", value_name = "LEVEL")]
    approve: AutoApprove,
    /// Import every open issue of this project that carries `--label` as a task, once:
    /// `github:OWNER/REPO` or `gitlab:GROUP/PROJECT` (repeatable)
    #[arg(long = "watch", value_name = "PROJECT")]
    watch: Vec<String>,
    /// The label that marks issues for Ambidex
    #[arg(long, default_value = "ambidex", value_name = "NAME")]
    label: String,
    /// Seconds between two looks at each watched project
    #[arg(long, default_value_t = 60, value_name = "SECONDS")]
    watch_every: u64,
}

/// Starts a watcher per `--watch` project; each reports on stdout.
fn start_watches(
    args: &ServeArgs,
    engine: &Arc<Engine>,
    context: &Context,
    repo: &std::path::Path,
) -> Result<Vec<tokio::task::JoinHandle<()>>, String> {
    let forges = &context.effective.config.forges;
    let mut handles = Vec::new();
    for text in &args.watch {
        let watch = Watch::parse(text, &args.label).map_err(|err| err.to_string())?;
        let token = token::resolve(watch.kind, forges).map_err(|err| err.to_string())?;
        let observer: RetryObserver = Arc::new(|notice| {
            println!(
                "{}: {}; retrying in {:.1} s",
                notice.forge.display_name(),
                notice.reason,
                notice.delay.as_secs_f64()
            );
        });
        let client = forge::client(watch.kind, forges, token, Some(observer)).map_err(|err| err.to_string())?;
        println!("watching {watch} every {} s", args.watch_every);
        let report = |line: String| {
            println!("{line}");
            let _ = std::io::stdout().flush();
        };
        let every = std::time::Duration::from_secs(args.watch_every.max(1));
        let repo = repo.display().to_string();
        handles.push(tokio::spawn(watch::run(engine.clone(), Arc::from(client), watch, repo, every, report)));
    }
    Ok(handles)
}

/// Starts the API for an engine this process opened, when `api.enabled`; a failure is printed
/// and the caller goes on without it (the control room is still useful without the API).
pub async fn start_api(engine: &Arc<Engine>, context: &Context) -> Option<ApiHandle> {
    let config = &context.effective.config.api;
    if !config.enabled {
        return None;
    }
    let repo = repo_root(&context.repo_dir).unwrap_or_else(|| context.repo_dir.clone());
    match api::serve(engine.clone(), config, &context.state_dir, Some(&repo)).await {
        Ok(handle) => Some(handle),
        Err(err) => {
            eprintln!("warning: the local API did not start: {err}");
            None
        }
    }
}

pub(super) fn describe(ending: &Ending) -> String {
    match ending {
        Ending::PrReady(pr) => format!("PR ready: {} ({} → {})", pr.title, pr.branch, pr.base_branch),
        Ending::Parked { gate, kind } => format!("waiting at the {kind} gate {}", gate.short()),
        Ending::Failed(reason) => format!("failed: {reason}"),
        Ending::Cancelled => "cancelled".to_owned(),
        Ending::NotAccepted(status) => format!("not accepted ({status})"),
        Ending::Waiting(unavailable) => unavailable.message(),
    }
}

pub fn run(args: ServeArgs, context: &Context) -> Result<Outcome, String> {
    let config = &context.effective.config;
    if !config.api.enabled {
        return Err("the API is off (`api.enabled = false`), so `ambidex serve` has nothing to serve; \
                    turn it on with `-c api.enabled=true`"
            .into());
    }
    let runtime = tokio::runtime::Runtime::new().map_err(|err| format!("cannot start the async runtime: {err}"))?;
    runtime.block_on(async {
        let mut interrupt = signal(SignalKind::interrupt()).map_err(|err| format!("cannot watch SIGINT: {err}"))?;
        let mut terminate = signal(SignalKind::terminate()).map_err(|err| format!("cannot watch SIGTERM: {err}"))?;
        // Runs park at gates (freeing their slot); a decision queues the task again for the scheduler.
        let engine = Arc::new(context.engine_with(args.approve, false)?);
        if let Err(err) = engine.reconcile_worktrees() {
            eprintln!("warning: could not reconcile worktrees: {err}");
        }
        let repo = repo_root(&context.repo_dir).unwrap_or_else(|| context.repo_dir.clone());
        let api = api::serve(engine.clone(), &config.api, &context.state_dir, Some(&repo))
            .await
            .map_err(|err| err.to_string())?;
        println!("ambidex serve: listening on {} for {}", api.base_url(), repo.display());
        println!("token: {} · stop with Ctrl-C", api.token_path().display());
        let _ = std::io::stdout().flush();

        let limit = usize::try_from(config.engine.max_concurrent_tasks).unwrap_or(1);
        let scheduler = Scheduler::spawn(engine.clone(), limit, |id, ending| {
            let line = match ending {
                Ok(ending) => describe(&ending),
                Err(err) => format!("stopped: {err}"),
            };
            println!("task {}: {line}", id.short());
            let _ = std::io::stdout().flush();
        });
        let watches = start_watches(&args, &engine, context, &repo)?;
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
        for watching in watches {
            watching.abort();
        }
        scheduler.stop().await;
        api.shutdown().await;
        match Arc::try_unwrap(engine) {
            Ok(engine) => engine.shutdown(),
            // Something still holds it; dropping the last reference closes the store as well.
            Err(engine) => drop(engine),
        }
        println!("ambidex serve: stopped");
        Ok(Outcome::Done)
    })
}
