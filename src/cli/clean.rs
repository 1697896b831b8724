//! `ambidex task clean`: removes finished tasks' worktrees, here or through the running engine's
//! API, and says what came back.

use clap::Args;

use super::{Context, Outcome, Writer, block_on};
use ambidex::api::{CleanReply, RemovedWorktree};
use ambidex::domain::is_settled;
use ambidex::protocol::{Actor, Command, TaskId, human_bytes};

#[derive(Debug, Args)]
pub struct CleanArgs {
    /// The tasks (ids, or unique endings as `task list` prints them)
    #[arg(required_unless_present = "finished")]
    ids: Vec<String>,
    /// Every finished task (pr_ready, cancelled, rejected) that still has worktrees
    #[arg(long, conflicts_with = "ids")]
    finished: bool,
    /// Discard uncommitted changes in the worktrees instead of refusing
    #[arg(long)]
    force: bool,
}

pub fn run(args: CleanArgs, context: &Context) -> Result<Outcome, String> {
    let tasks = chosen(&args, context)?;
    if tasks.is_empty() {
        println!("no finished task has worktrees left");
        return Ok(Outcome::Done);
    }
    let writer = context.writer()?;
    let mut failed = false;
    for task in tasks {
        match clean(&writer, task, args.force) {
            Ok(removed) => report(task, &removed),
            Err(err) => {
                eprintln!("task {}: {err}", task.short());
                failed = true;
            }
        }
    }
    if let Writer::Local(engine) = writer {
        engine.shutdown();
    }
    Ok(if failed { Outcome::Exit(1) } else { Outcome::Done })
}

/// The tasks named, or with `--finished` every finished one that has worktrees.
fn chosen(args: &CleanArgs, context: &Context) -> Result<Vec<TaskId>, String> {
    let Some(reader) = context.reader()? else {
        return Err("there are no tasks yet".into());
    };
    if args.finished {
        let tasks = reader.tasks().map_err(|err| err.to_string())?;
        return Ok(tasks.iter().filter(|t| is_settled(t.status) && !t.worktrees.is_empty()).map(|t| t.id).collect());
    }
    args.ids.iter().map(|id| reader.find_task(id).map(|task| task.id).map_err(|err| err.to_string())).collect()
}

fn clean(writer: &Writer, task: TaskId, force: bool) -> Result<Vec<RemovedWorktree>, String> {
    match writer {
        Writer::Local(engine) => {
            let events = engine
                .execute_blocking(Command::CleanTask { task, force }, Actor::local_human())
                .map_err(|err| err.to_string())?;
            Ok(RemovedWorktree::from_events(&events))
        }
        Writer::Remote(client) => {
            let reply: CleanReply = block_on(client.clean(task, force))?.map_err(|err| err.to_string())?;
            Ok(reply.removed)
        }
    }
}

fn report(task: TaskId, removed: &[RemovedWorktree]) {
    if removed.is_empty() {
        println!("task {} has no worktrees left", task.short());
        return;
    }
    let bytes: u64 = removed.iter().map(|r| r.bytes).sum();
    let count = removed.len();
    let plural = if count == 1 { "" } else { "s" };
    println!("task {}: removed {count} worktree{plural}, {} freed", task.short(), human_bytes(bytes));
    let width = removed.iter().map(|r| r.candidate.len()).max().unwrap_or(0);
    for worktree in removed {
        let branch = match &worktree.branch_deleted {
            Some(branch) => format!("scratch branch {branch} deleted"),
            None => "its branch is kept".to_owned(),
        };
        println!("  {:width$}  {}  ({branch})", worktree.candidate, worktree.path);
    }
}
