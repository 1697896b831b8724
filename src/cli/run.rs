//! `ambidex run`: drive one task to its end in the foreground, printing progress (or JSON lines),
//! and exit 0 on a PR, 2 at a gate this run may not approve, 1 on failure, 3 when no model
//! provider can be used (the task stays queued: nothing failed).

use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;
use tokio::sync::broadcast::error::TryRecvError;

use super::task::{TaskFields, spec_from_fields};
use super::{Context, Outcome};
use ambidex::orchestrator::driver::drive;
use ambidex::orchestrator::{AutoApprove, Ending};
use ambidex::protocol::{Actor, Command, TaskId, Update};

#[derive(Debug, Args)]
pub struct RunArgs {
    /// A Markdown task file
    #[arg(long = "task-file", value_name = "FILE", conflicts_with_all = ["title", "task"])]
    task_file: Option<PathBuf>,
    /// Continue an existing task (an id or any unique ending of it)
    #[arg(long, value_name = "ID", conflicts_with = "title")]
    task: Option<String>,
    #[command(flatten)]
    fields: TaskFields,
    /// Gates this run approves by itself: none, low (gates of low-risk tasks) or all
    #[arg(long, default_value = "none", value_name = "LEVEL")]
    approve: AutoApprove,
    /// Print every event as a JSON line
    #[arg(long)]
    json: bool,
}

fn print_update(update: &Update, task: TaskId, json: bool) {
    match update {
        Update::Event(event) if event.task == Some(task) => {
            if json {
                if let Ok(line) = serde_json::to_string(event.as_ref()) {
                    println!("{line}");
                }
            } else {
                println!("#{:<6} {:<22} {}", event.seq, event.actor.to_string(), event.kind.summary());
            }
        }
        Update::CommandFailed { error, .. } if !json => eprintln!("error: {error}"),
        _ => {}
    }
}

pub fn run(args: RunArgs, context: &Context) -> Result<Outcome, String> {
    let runtime = tokio::runtime::Runtime::new().map_err(|err| format!("cannot start the async runtime: {err}"))?;
    runtime.block_on(async {
        let engine = Arc::new(context.engine_with(args.approve, false)?);
        let (_, mut updates) = engine.subscribe().map_err(|err| err.to_string())?;
        let id = match &args.task {
            Some(reference) => engine.reader().find_task(reference).map_err(|err| err.to_string())?.id,
            None => {
                let spec = spec_from_fields(args.task_file.as_deref(), args.fields, &context.repo_dir)?;
                let events = engine
                    .execute(Command::AddTask { spec }, Actor::local_human())
                    .await
                    .map_err(|err| err.to_string())?;
                events.first().and_then(|e| e.task).ok_or("the engine stored no task")?
            }
        };
        if !args.json {
            println!("task {} ({id})", id.short());
        }
        let runner = tokio::spawn(drive(engine.clone(), id));
        tokio::pin!(runner);
        let ending = loop {
            tokio::select! {
                update = updates.recv() => match update {
                    Ok(update) => print_update(&update, id, args.json),
                    Err(_) => continue,
                },
                ending = &mut runner => break ending,
            }
        };
        loop {
            match updates.try_recv() {
                Ok(update) => print_update(&update, id, args.json),
                Err(TryRecvError::Lagged(_)) => continue,
                Err(_) => break,
            }
        }
        let ending = ending.map_err(|err| format!("the run stopped unexpectedly: {err}"))?.map_err(|e| e.to_string())?;
        let short = id.short();
        let (message, outcome) = match ending {
            Ending::PrReady(pr) => (
                format!("PR ready: {}\n  branch {} → {}\n  {} {}\n  see it with `ambidex pr show {short}`", pr.title, pr.branch, pr.base_branch, if pr.location.starts_with("http") { "url" } else { "document" }, pr.location),
                Outcome::Done,
            ),
            Ending::Parked { gate, kind } => (
                format!(
                    "stopped at the {kind} gate {}: decide it with `ambidex gate approve {}` (or `gate reject ID --note TEXT` to send the work back, `--stop` to stop), then continue with `ambidex run --task {short}`",
                    gate.short(),
                    gate.short()
                ),
                Outcome::Exit(2),
            ),
            Ending::Failed(reason) => (format!("failed: {reason}"), Outcome::Exit(1)),
            Ending::Waiting(unavailable) => {
                let resume = format!("then continue with `ambidex run --task {short}`");
                (format!("task {short} {}; {resume}", unavailable.message()), Outcome::Exit(3))
            }
            Ending::Cancelled => ("cancelled".to_owned(), Outcome::Exit(1)),
            Ending::NotAccepted(status) => {
                let task = engine.task(id).map_err(|err| err.to_string())?;
                let mut text = format!("not accepted ({status})");
                if let Some(intake) = &task.intake {
                    for line in intake.reasons.iter().chain(&intake.questions).chain(&intake.suggested_split) {
                        text.push_str(&format!("\n  - {line}"));
                    }
                }
                (text, Outcome::Exit(1))
            }
        };
        if args.json {
            eprintln!("{message}");
        } else {
            println!("{message}");
        }
        Ok(outcome)
    })
}
