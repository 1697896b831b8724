//! `ambidex task revise` and `ambidex task note`: answer intake's questions by replacing fields of
//! a task's spec (it goes through intake and triage again), and attach notes to a task. Both work
//! on this process's engine or, when a running engine holds the store, through its API.

use std::path::{Path, PathBuf};

use clap::Args;

use super::task::{TaskFields, find, report, resolve_repo};
use super::{Context, Outcome, Writer, block_on};
use ambidex::domain::{Task, read_task_file_changes};
use ambidex::protocol::{Actor, Command, SpecChanges, TaskId};

/// `ambidex task revise`.
#[derive(Debug, Args)]
pub struct ReviseArgs {
    /// The task (any unique ending of its id, as `task list` prints)
    id: String,
    /// A Markdown task file whose keys (and body, when not empty) replace the task's; `title` may be left out
    #[arg(long, short = 'f', value_name = "FILE")]
    file: Option<PathBuf>,
    #[command(flatten)]
    fields: TaskFields,
    /// Print the stored task as JSON
    #[arg(long)]
    json: bool,
}

/// Revises a task and reports intake's new verdict the way `task add` reports a new task.
pub fn revise(args: ReviseArgs, context: &Context) -> Result<Outcome, String> {
    let changes = changes_from(args.file.as_deref(), args.fields, &context.repo_dir)?;
    let task = find(&args.id, context)?;
    let task = send_revision(task, &changes, context)?;
    report("revised", &task, args.json)?;
    if !args.json {
        super::task::report_readiness(&task, context);
    }
    Ok(Outcome::Done)
}

/// Attaches a note to a task and confirms it in one line.
pub fn note(reference: &str, text: &str, context: &Context) -> Result<Outcome, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("the note is empty: say what the agents and the audit trail should know".into());
    }
    let task = find(reference, context)?;
    let (seq, remote) = match context.writer()? {
        Writer::Local(engine) => {
            let command = Command::AddNote { task, text: text.to_owned() };
            let events = engine.execute_blocking(command, Actor::local_human()).map_err(|err| err.to_string())?;
            engine.shutdown();
            (events.first().map(|event| event.seq), None)
        }
        Writer::Remote(client) => {
            let event = block_on(client.add_note(task, text))?.map_err(|err| err.to_string())?;
            (Some(event.seq), Some(client.base_url().to_owned()))
        }
    };
    let at = seq.map(|seq| format!(" as event #{seq}")).unwrap_or_default();
    let through = remote.map(|url| format!(" through the running engine at {url}")).unwrap_or_default();
    println!("noted on task {}{at}{through}; see it with `ambidex task show {}`", task.short(), task.short());
    Ok(Outcome::Done)
}

/// The changes a task file and flags make (flags win over the file), with a repository the file
/// names made absolute. Nothing given is an error: such a revision would change nothing.
fn changes_from(file: Option<&Path>, fields: TaskFields, repo_dir: &Path) -> Result<SpecChanges, String> {
    let from_file = match file {
        Some(path) => {
            let mut changes = read_task_file_changes(path).map_err(|err| err.to_string())?;
            let base = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
            changes.repo =
                changes.repo.map(|repo| resolve_repo(Some(&base.join(repo).display().to_string()), repo_dir));
            changes
        }
        None => SpecChanges::default(),
    };
    let changes = from_file.then(fields.changes());
    if changes.is_empty() {
        return Err("nothing to revise: give a task file (--file) or the fields to replace, e.g. \
                    `--criteria \"page_count(11, 5) returns 3\"` (see `ambidex task revise --help`)"
            .into());
    }
    if changes.title.as_deref().is_some_and(str::is_empty) {
        return Err("the title is empty: say in one line what the task must achieve".into());
    }
    Ok(changes)
}

/// Applies the changes to the task's current spec and resubmits it: to this process's engine, or
/// through the running engine's API. Returns the task as stored afterwards.
fn send_revision(task: TaskId, changes: &SpecChanges, context: &Context) -> Result<Task, String> {
    match context.writer()? {
        Writer::Local(engine) => {
            let current = engine.task(task).map_err(|err| err.to_string())?;
            let spec = changes.apply_to(&current.spec);
            engine
                .execute_blocking(Command::ReviseTask { task, spec }, Actor::local_human())
                .map_err(|err| err.to_string())?;
            let revised = engine.task(task).map_err(|err| err.to_string())?;
            engine.shutdown();
            Ok(revised)
        }
        Writer::Remote(client) => block_on(client.revise(task, changes))?.map_err(|err| err.to_string()),
    }
}
