//! `ambidex task`: add tasks from a file or flags (or import an issue), list them, show one with
//! its history. Revising a task and noting on one live in `revise`.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use serde_json::json;

use super::{Context, Outcome, Writer, block_on, table};
use ambidex::domain::{Task, read_task_file};
use ambidex::protocol::{
    Actor, Command, IntakeVerdict, Risk, SpecChanges, TaskId, TaskKind, TaskSource, TaskSpec, TaskStatus,
};
use ambidex::store::{MAX_PAGE, TaskQuery};
use ambidex::tui::render::age;
use ambidex::workspace::{is_repo_url, repo_root};

#[derive(Debug, Subcommand)]
pub enum TaskCmd {
    /// Add a task from a task file or from flags
    Add(AddArgs),
    /// Import an issue as a task: `github:OWNER/REPO#N`, `gitlab:GROUP/PROJECT#N` or the issue's URL
    Import(super::import::ImportArgs),
    /// List tasks: the newest 50, oldest of them first (--limit, --all, --before for more)
    List(ListArgs),
    /// Queue an interrupted or failed task again (`ambidex run --task ID` then continues it)
    Resume {
        /// The task
        id: String,
    },
    /// Remove finished tasks' worktrees (branches with work stay; evaluation scratch branches go)
    Clean(super::clean::CleanArgs),
    /// Cancel a task (its worktree and branch are kept)
    Cancel {
        /// The task
        id: String,
        /// Why
        #[arg(long, default_value = "cancelled by a human")]
        reason: String,
    },
    /// Answer intake: replace fields of a task that needs clarification, and send it through intake again
    ///
    /// Starts from the task's current spec: every flag or task-file key given replaces that field
    /// (a repeatable flag such as --criteria replaces the whole list; the file's body, when not
    /// empty, replaces the description); everything not given stays. Only a task in
    /// `needs_clarification` or `escalated` can be revised.
    Revise(super::revise::ReviseArgs),
    /// Tell a task's agents something: a running agent hears it at its next turn, every later stage
    /// has it in its instructions, and the audit trail keeps it
    Note {
        /// The task (any unique ending of its id, as `task list` prints)
        id: String,
        /// The note
        text: String,
    },
    /// Rewind a stopped task to a stage and run it again from there, with a note
    ///
    /// The production worktree goes back to the checkpoint the stage started from. The work it
    /// held is not deleted: it is kept on a ref the `rewound` event names (`git log REF`).
    /// Approvals of what is set aside (the PR gate; the plan gate when rewinding to the plan) no
    /// longer count. Continue with `ambidex run --task ID` (the control room and `serve` pick it up).
    Rewind {
        /// The task (any unique ending of its id)
        id: String,
        /// The stage: its name in the playbook (`task show` lists them) or its kind
        #[arg(long, value_name = "STAGE")]
        to: String,
        /// What to do differently this time (the agents see it)
        #[arg(long)]
        note: Option<String>,
        /// Set the current work aside without asking
        #[arg(long)]
        yes: bool,
    },
    /// Show a task with its full event history
    Show {
        /// The task id, or any unique ending of it (as `task list` prints)
        id: String,
        /// Print JSON instead of text
        #[arg(long)]
        json: bool,
    },
}

/// The fields of a task given as flags.
#[derive(Debug, Args)]
pub struct TaskFields {
    /// One line saying what to achieve
    #[arg(long, short = 't')]
    title: Option<String>,
    /// An acceptance criterion (repeatable)
    #[arg(long = "criteria", value_name = "TEXT")]
    criteria: Vec<String>,
    /// A constraint the change must respect (repeatable)
    #[arg(long = "constraint", value_name = "TEXT")]
    constraints: Vec<String>,
    /// An area the change must not touch (repeatable)
    #[arg(long = "out-of-scope", value_name = "TEXT")]
    out_of_scope: Vec<String>,
    /// A command that validates the change, e.g. "cargo test" (repeatable)
    #[arg(long = "validate", value_name = "COMMAND")]
    validation: Vec<String>,
    /// The declared risk: low, medium, high or critical
    #[arg(long)]
    risk: Option<Risk>,
    /// The declared kind: bug_fix, feature, refactor, test_work, ci_repair, dependency_update, security_change, migration, documentation
    #[arg(long)]
    kind: Option<TaskKind>,
    /// The branch the PR should target
    #[arg(long, value_name = "BRANCH")]
    target_branch: Option<String>,
    /// A longer description (Markdown)
    #[arg(long, short = 'd')]
    description: Option<String>,
}

impl TaskFields {
    /// The fields given as changes to a spec; a repeatable flag not given changes nothing.
    pub fn changes(self) -> SpecChanges {
        let list = |items: Vec<String>| (!items.is_empty()).then_some(items);
        SpecChanges {
            title: self.title.map(|title| title.trim().to_owned()),
            description: self.description,
            target_branch: self.target_branch,
            acceptance_criteria: list(self.criteria),
            constraints: list(self.constraints),
            out_of_scope: list(self.out_of_scope),
            risk: self.risk,
            kind: self.kind,
            validation: list(self.validation),
            ..SpecChanges::default()
        }
    }
}

#[derive(Debug, Args)]
pub struct AddArgs {
    /// A Markdown task file with TOML front matter between `+++` lines
    #[arg(long, short = 'f', value_name = "FILE", conflicts_with = "title")]
    file: Option<PathBuf>,
    #[command(flatten)]
    fields: TaskFields,
    /// Print the stored task as JSON
    #[arg(long)]
    json: bool,
}

pub fn run(command: TaskCmd, context: &Context) -> Result<Outcome, String> {
    match command {
        TaskCmd::Add(args) => add(args, context),
        TaskCmd::Import(args) => super::import::run(args, context),
        TaskCmd::List(args) => list(&args, context),
        TaskCmd::Show { id, json } => show(&id, json, context),
        TaskCmd::Clean(args) => super::clean::run(args, context),
        TaskCmd::Revise(args) => super::revise::revise(args, context),
        TaskCmd::Note { id, text } => super::revise::note(&id, &text, context),
        TaskCmd::Rewind { id, to, note, yes } => {
            let task = find(&id, context)?;
            if !yes
                && !confirm(&format!(
                    "Rewind task {} to the `{to}` stage? The work since then is set aside on a ref (kept, not deleted).",
                    task.short()
                ))?
            {
                return Ok(Outcome::Exit(1));
            }
            decide(Command::RewindTask { task, to: to.clone(), note }, context)?;
            println!(
                "task {} rewound to the `{to}` stage and queued; continue it with `ambidex run --task {}` \
                 (`ambidex task show {}` names the ref holding the work set aside)",
                task.short(),
                task.short(),
                task.short()
            );
            Ok(Outcome::Done)
        }
        TaskCmd::Resume { id } => {
            let task = find(&id, context)?;
            decide(Command::ResumeTask { task }, context)?;
            println!("task {} queued; continue it with `ambidex run --task {}`", task.short(), task.short());
            Ok(Outcome::Done)
        }
        TaskCmd::Cancel { id, reason } => {
            let task = find(&id, context)?;
            decide(Command::CancelTask { task, reason }, context)?;
            println!(
                "task {} cancelled; its worktrees and branches are kept (`ambidex task clean {}` removes the worktrees)",
                task.short(),
                task.short()
            );
            Ok(Outcome::Done)
        }
    }
}

/// The task a reference (a full id or any unique ending) names.
pub fn find(reference: &str, context: &Context) -> Result<TaskId, String> {
    let reader = context.reader()?.ok_or("there are no tasks yet")?;
    Ok(reader.find_task(reference).map_err(|err| err.to_string())?.id)
}

/// Cancels or resumes a task, here or through the running engine's API.
/// Asks yes or no on the terminal; without one, says to confirm with `--yes`.
pub(super) fn confirm(question: &str) -> Result<bool, String> {
    use std::io::{BufRead, IsTerminal, Write};
    if !std::io::stdin().is_terminal() {
        return Err(format!("{question}\nConfirm with --yes (no terminal to ask on)."));
    }
    print!("{question} [y/N] ");
    std::io::stdout().flush().map_err(|err| err.to_string())?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer).map_err(|err| err.to_string())?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}

fn decide(command: Command, context: &Context) -> Result<(), String> {
    match context.writer()? {
        Writer::Local(engine) => {
            engine.execute_blocking(command, Actor::local_human()).map_err(|err| err.to_string())?;
        }
        Writer::Remote(client) => {
            let answer = match command {
                Command::CancelTask { task, reason } => block_on(client.cancel(task, Some(reason)))?,
                Command::ResumeTask { task } => block_on(client.resume(task))?,
                Command::RewindTask { task, to, note } => block_on(client.rewind(task, &to, note))?,
                other => return Err(format!("{other:?} cannot go through the API yet; stop the running engine first")),
            };
            answer.map_err(|err| err.to_string())?;
        }
    }
    Ok(())
}

/// Submits a task and returns it as stored (after intake and triage): to this process's engine,
/// or — when a running engine (the control room or `ambidex serve`) holds the store — through its
/// API. Every way of adding tasks (`task add`, imports) goes through here. Call it from
/// synchronous code only.
pub fn submit(spec: TaskSpec, context: &Context) -> Result<Task, String> {
    match context.writer()? {
        Writer::Local(engine) => {
            let events = engine
                .execute_blocking(Command::AddTask { spec }, Actor::local_human())
                .map_err(|err| err.to_string())?;
            let id = events.first().and_then(|event| event.task).ok_or("the engine stored no task")?;
            let task = engine.reader().task(id).map_err(|err| err.to_string())?.ok_or("the task vanished")?;
            engine.shutdown();
            Ok(task)
        }
        Writer::Remote(client) => block_on(client.add_task(&spec))?.map_err(|err| err.to_string()),
    }
}

fn add(args: AddArgs, context: &Context) -> Result<Outcome, String> {
    let json = args.json;
    let spec = spec_from_fields(args.file.as_deref(), args.fields, &context.repo_dir)?;
    let task = submit(spec, context)?;
    report("added", &task, json)?;
    if !json {
        report_readiness(&task, context);
    }
    Ok(Outcome::Done)
}

/// Says so when a task that was queued cannot run yet because no model provider can be used:
/// what is wrong (the variable to set) and the commands that check it.
pub fn report_readiness(task: &Task, context: &Context) {
    if task.status != TaskStatus::Queued {
        return;
    }
    if let Err(unavailable) = context.readiness() {
        println!("{}", unavailable.message());
    }
}

/// Prints a task just added or revised: as JSON, or its id, title and what intake made of it
/// (the questions to answer when it was not accepted).
pub fn report(verb: &str, task: &Task, json: bool) -> Result<(), String> {
    if json {
        println!("{}", serde_json::to_string_pretty(task).map_err(|err| err.to_string())?);
        return Ok(());
    }
    let short = task.id.short();
    println!("{verb} task {short} ({}): {}", task.id, task.spec.title);
    match &task.intake {
        Some(intake) if intake.verdict != IntakeVerdict::Accepted => {
            println!("not accepted ({})", task.status);
            for line in intake.reasons.iter().chain(&intake.questions).chain(&intake.suggested_split) {
                println!("  - {line}");
            }
            if matches!(task.status, TaskStatus::NeedsClarification | TaskStatus::Escalated) {
                println!("answer with `ambidex task revise {short}` and the fields to change (see --help)");
            }
        }
        Some(intake) => {
            println!("accepted by intake: {}", task.status);
            let worth_seeing = ["proposed acceptance criterion: ", "note: "];
            for line in intake.reasons.iter().filter(|r| worth_seeing.iter().any(|p| r.starts_with(p))) {
                println!("  - {line}");
            }
        }
        None => println!("status: {}", task.status),
    }
    println!("see it with `ambidex task show {short}`");
    Ok(())
}

/// The repository a spec names (relative to `repo_dir`), else `repo_dir`, made absolute and
/// resolved to its root; a URL (`https://…`, `git@host:org/app.git`) stays as it is, for
/// workers with `--repos DIR` to clone.
pub fn resolve_repo(repo: Option<&str>, repo_dir: &Path) -> String {
    let named = repo.map_or_else(|| repo_dir.display().to_string(), str::to_owned);
    if is_repo_url(&named) {
        return named;
    }
    let repo = PathBuf::from(named);
    let resolved = repo_root(&repo).or_else(|| std::fs::canonicalize(&repo).ok()).unwrap_or(repo);
    resolved.display().to_string()
}

/// Whether `url` carries a password (`https://user:secret@host/…`).
fn password_in(url: &str) -> bool {
    let Some((_, rest)) = url.split_once("://") else { return false };
    let authority = rest.split('/').next().unwrap_or_default();
    authority.rsplit_once('@').is_some_and(|(userinfo, _)| userinfo.contains(':'))
}

/// Builds the spec from a task file or from flags, with the repository made absolute.
pub fn spec_from_fields(file: Option<&Path>, args: TaskFields, repo_dir: &Path) -> Result<TaskSpec, String> {
    if file.is_none() && args.title.is_none() {
        return Err("give a task file (--file / --task-file) or at least --title".into());
    }
    let mut spec = match file {
        Some(path) => {
            let mut spec = read_task_file(path).map_err(|err| err.to_string())?;
            let base = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
            spec.repo =
                spec.repo.map(|repo| if is_repo_url(&repo) { repo } else { base.join(repo).display().to_string() });
            spec.source = TaskSource::File { path: path.display().to_string() };
            spec
        }
        None => args.changes().apply_to(&TaskSpec::titled("")),
    };
    if spec.title.is_empty() {
        return Err("the title is empty: say in one line what the task must achieve".into());
    }
    let repo = resolve_repo(spec.repo.as_deref(), repo_dir);
    if is_repo_url(&repo) && password_in(&repo) {
        return Err("the repository URL holds a password; tasks keep their URL in the log for everyone who reads                     the store: give the URL without it and let git's credential helper or your SSH key supply it"
            .into());
    }
    spec.repo = Some(repo);
    Ok(spec)
}

/// What `task list` shows.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Print JSON (an array of tasks, oldest first) instead of a table
    #[arg(long)]
    json: bool,
    /// Show the newest N tasks (at most 1000 at a time; --all for every one)
    #[arg(long, default_value_t = 50)]
    limit: usize,
    /// Every task, page by page
    #[arg(long, conflicts_with = "limit")]
    all: bool,
    /// Only tasks older than this one (the id the previous listing named)
    #[arg(long, value_name = "ID")]
    before: Option<String>,
    /// Only tasks in these states, separated by commas (running,awaiting_gate,failed,…)
    #[arg(long, value_delimiter = ',')]
    status: Vec<TaskStatus>,
    /// Only tasks of this repository (its path)
    #[arg(long)]
    repo: Option<String>,
}

/// The tasks `args` asks for, oldest first, and what to say about those left out.
fn list_page(args: &ListArgs, context: &Context) -> Result<(Vec<Task>, Option<String>), String> {
    let Some(reader) = context.reader()? else { return Ok((Vec::new(), None)) };
    let before = match &args.before {
        Some(reference) => Some(reader.find_task(reference).map_err(|err| err.to_string())?.id),
        None => None,
    };
    let limit = if args.all { MAX_PAGE } else { args.limit.clamp(1, MAX_PAGE) };
    let mut query = TaskQuery { before, limit, statuses: args.status.clone(), repo: args.repo.clone() };
    let mut page = reader.task_page(&query).map_err(|err| err.to_string())?;
    while args.all && page.next.is_some() {
        query.before = page.next;
        let older = reader.task_page(&query).map_err(|err| err.to_string())?;
        page.tasks.extend(older.tasks);
        page.next = older.next;
    }
    let note = page.next.map(|oldest| {
        let filtered = if args.status.is_empty() && args.repo.is_none() { "" } else { " matching" };
        format!(
            "showing the newest {}{filtered} of {} tasks; --all for every one, or --before {} for older ones",
            page.tasks.len(),
            page.total,
            oldest.short()
        )
    });
    page.tasks.reverse();
    Ok((page.tasks, note))
}

fn list(args: &ListArgs, context: &Context) -> Result<Outcome, String> {
    let (tasks, note) = list_page(args, context)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&tasks).map_err(|err| err.to_string())?);
        if let Some(note) = note {
            eprintln!("{note}");
        }
        return Ok(Outcome::Done);
    }
    if tasks.is_empty() {
        if args.status.is_empty() && args.repo.is_none() && args.before.is_none() {
            println!("no tasks yet; add one with `ambidex task add --file task.md` or `--title \"...\"`");
        } else {
            println!("no tasks match");
        }
        return Ok(Outcome::Done);
    }
    let now = jiff::Timestamp::now();
    let dash = |value: Option<String>| value.unwrap_or_else(|| "-".into());
    let rows: Vec<Vec<String>> = tasks
        .iter()
        .map(|task| {
            vec![
                task.id.short(),
                task.status.to_string(),
                dash(task.kind().map(|k| k.to_string())),
                dash(task.risk().map(|r| r.to_string())),
                dash(task.route().map(|r| r.to_string())),
                age(now, task.created_at),
                format!("${:.2}", task.cost_micros as f64 / 1e6),
                task.open_gates.len().to_string(),
                task.spec.title.clone(),
            ]
        })
        .collect();
    let header = ["ID", "STATUS", "KIND", "RISK", "ROUTE", "AGE", "COST", "GATES", "TITLE"];
    print!("{}", table::render(&header, &rows));
    if let Some(note) = note {
        println!("{note}");
    }
    Ok(Outcome::Done)
}

fn show(reference: &str, json: bool, context: &Context) -> Result<Outcome, String> {
    let reader = context.reader()?.ok_or_else(|| format!("no task matches `{reference}`: there are no tasks yet"))?;
    let task = reader.find_task(reference).map_err(|err| err.to_string())?;
    let events = reader.task_events(task.id).map_err(|err| err.to_string())?;
    if json {
        let value = json!({ "task": task, "events": events });
        println!("{}", serde_json::to_string_pretty(&value).map_err(|err| err.to_string())?);
        return Ok(Outcome::Done);
    }
    print_task(&task);
    println!("\nhistory ({} events):", events.len());
    for event in &events {
        println!(
            "  #{:<6} {}  {:<22} {}",
            event.seq,
            event.at.strftime("%Y-%m-%d %H:%M:%S"),
            event.actor.to_string(),
            event.kind.summary()
        );
    }
    Ok(Outcome::Done)
}

fn print_task(task: &Task) {
    let spec = &task.spec;
    let field = |name: &str, value: String| println!("{name:<20}{value}");
    field("task", format!("{} ({})", task.id, task.id.short()));
    field("title", spec.title.clone());
    field("status", task.status.to_string());
    if let Some(kind) = task.kind() {
        field("kind", kind.to_string());
    }
    if let Some(risk) = task.risk() {
        field("risk", risk.to_string());
    }
    if let Some(route) = task.route() {
        field("route", route.to_string());
    }
    if let Some(repo) = &spec.repo {
        field("repo", repo.clone());
    }
    if let Some(branch) = &spec.target_branch {
        field("target branch", branch.clone());
    }
    field("created", task.created_at.strftime("%Y-%m-%d %H:%M:%S UTC").to_string());
    match &spec.source {
        TaskSource::Issue { url } => field("issue", url.clone()),
        TaskSource::File { path } => field("task file", path.clone()),
        TaskSource::Manual | TaskSource::Api => {}
    }
    if !spec.labels.is_empty() {
        field("labels", spec.labels.join(", "));
    }
    if let Some(pr) = &task.pr {
        field("pull request", pr.location.clone());
    }
    if let Some(comment) = &task.issue_comment {
        field("issue comment", comment.clone());
    }
    let list = |name: &str, items: &[String]| {
        if !items.is_empty() {
            println!("{name}:");
            for item in items {
                println!("  - {item}");
            }
        }
    };
    list("acceptance criteria", &spec.acceptance_criteria);
    list("constraints", &spec.constraints);
    list("out of scope", &spec.out_of_scope);
    list("validation", &spec.validation);
    if let Some(intake) = &task.intake {
        list("intake questions", &intake.questions);
        list("intake reasons", &intake.reasons);
    }
    for gate in &task.open_gates {
        println!("open gate {} ({}): {}", gate.id.short(), gate.kind, gate.reason);
        println!("  (`ambidex gate show {}` shows its options and evidence)", gate.id.short());
    }
    if let Some(exploration) = &task.exploration
        && let Some(recorded) = &exploration.matrix
    {
        println!("\nevidence matrix {}:", &recorded.hash.to_string()[..12]);
        print!("{}", super::gate_show::matrix_table(&recorded.matrix));
        if let Some(synthesis) = &exploration.synthesis {
            println!("synthesis recommends `{}`", synthesis.recommendation.label());
            for flag in &synthesis.flags {
                println!("  ⚠ {flag}");
            }
        }
    }
    if !spec.description.is_empty() {
        println!("\n{}", spec.description);
    }
}
