//! `ambidex demo`: the whole system on a sample repository in a minute, without an API key.
//!
//! Every run starts fresh in `<state dir>/demo/` (the previous demo there is deleted): a small
//! Rust crate with a real bug and a real test suite committed with git (`textstats/`), the
//! scripted model's script shipped in the binary (`script.toml`), the demo's own configuration
//! (`config.toml`: the user's is not read) and its own state directory (`state/`: store and
//! worktrees, never mixed with the user's tasks). Two tasks are added the way `ambidex task add`
//! adds them: a low-risk bug fix for the Right Hand alone, and a public-API change that triage
//! routes to both hands. Then the control room opens on them, or `--headless` drives both to
//! their PRs approving every gate, printing one line per step.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use clap::Args;
use tokio::sync::broadcast::error::{RecvError, TryRecvError};

use super::task::{resolve_repo, submit};
use super::{Context, Outcome, table};
use ambidex::config::{self, LoadOptions};
use ambidex::domain::{Task, parse_task_file};
use ambidex::orchestrator::scheduler::drive_all;
use ambidex::orchestrator::{AutoApprove, Ending};
use ambidex::protocol::{EventKind, EvidenceColumn, EvidenceMatrix, TaskId, TaskSource, TaskStatus, Update};
use ambidex::store::{STORE_FILE, Store, StoreError};
use ambidex::tools::sandbox::{self, SandboxLevel};
use ambidex::tui::keymap::{Action, Keymap};
use ambidex::workspace::{self, Author};

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Run without the control room: approve every gate (`--approve all`), print the progress and
    /// end with both PR documents; exit 0 only if both tasks reached a PR
    #[arg(long)]
    headless: bool,
    /// With --headless: print every event (agent messages and tool calls too)
    #[arg(long, short = 'v', requires = "headless")]
    verbose: bool,
    /// Play the first challenger with a second (scripted) model, `rival`, named in the evidence
    /// matrix: what `engine.challengers = [{ provider = "…" }]` does with real models
    #[arg(long)]
    two_models: bool,
}

/// The sample crate, file by file.
const CRATE: &[(&str, &str)] = &[
    ("Cargo.toml", include_str!("../../demo/textstats/Cargo.toml")),
    (".gitignore", include_str!("../../demo/textstats/.gitignore")),
    ("README.md", include_str!("../../demo/textstats/README.md")),
    ("src/lib.rs", include_str!("../../demo/textstats/src/lib.rs")),
    ("src/words.rs", include_str!("../../demo/textstats/src/words.rs")),
    ("src/lines.rs", include_str!("../../demo/textstats/src/lines.rs")),
    ("src/summary.rs", include_str!("../../demo/textstats/src/summary.rs")),
    ("tests/public_api.rs", include_str!("../../demo/textstats/tests/public_api.rs")),
];

/// The sample crate's history: each commit adds these files (and the ones before it).
const HISTORY: &[(&str, &[&str])] = &[
    ("Split text into words and rank the most frequent", &["Cargo.toml", ".gitignore", "src/lib.rs", "src/words.rs"]),
    ("Add line statistics and a one-call summary with the reading time", &["src/lines.rs", "src/summary.rs"]),
    ("Test the public API; document the crate", &["README.md", "tests/public_api.rs"]),
];

/// The scripted model's script for both tasks.
pub const SCRIPT: &str = include_str!("../../demo/script.toml");

/// The two tasks, as task files.
const TASKS: &[(&str, &str)] = &[
    ("1-reading-time.md", include_str!("../../demo/tasks/1-reading-time.md")),
    ("2-case-folding.md", include_str!("../../demo/tasks/2-case-folding.md")),
];

/// The sample crate's directory name.
const CRATE_DIR: &str = "textstats";
/// A file that marks a directory as made by `ambidex demo` (so a re-run may delete it).
const MARKER: &str = ".ambidex-demo";

/// A prepared demo: where it lives and its tasks.
pub struct Demo {
    /// The demo's context: its configuration, repository and state directory.
    pub context: Context,
    /// `<state dir>/demo`.
    pub root: PathBuf,
    /// The sample repository.
    pub repo: PathBuf,
    /// The two tasks as added (task 1, then task 2).
    pub tasks: Vec<Task>,
}

/// Where the demo lives for the user's state directory.
pub fn root(base: &Context) -> PathBuf {
    base.state_dir.join("demo")
}

/// The demo's context: the demo's own configuration (the scripted `demo` provider, default for
/// every role; local PRs; the user's configuration files and `AMBIDEX_*` variables are not read,
/// except the control room's look from `tui.*`), the sample repository and the demo's state
/// directory. The demo must have been prepared (see [`prepare`]).
pub fn context(base: &Context) -> Result<Context, String> {
    let root = root(base);
    let repo = root.join(CRATE_DIR);
    let options = LoadOptions {
        repo_dir: Some(repo.clone()),
        user_file: Some(root.join("config.toml")),
        ..LoadOptions::default()
    };
    let mut effective = config::load(&options).map_err(|err| format!("the demo's configuration: {err}"))?;
    effective.config.tui = base.effective.config.tui.clone();
    let state_dir = effective.config.state_dir();
    Ok(Context { effective, repo_dir: repo, state_dir })
}

/// Creates the demo afresh (deleting the previous one) and adds its two tasks.
pub fn prepare(base: &Context, two_models: bool) -> Result<Demo, String> {
    let root = root(base);
    clear(&root)?;
    let io = |what: &str, err: std::io::Error| format!("cannot write the demo's {what} in {}: {err}", root.display());
    std::fs::create_dir_all(&root).map_err(|err| io("directory", err))?;
    std::fs::write(root.join(MARKER), "made by `ambidex demo`; the next `ambidex demo` deletes this directory\n")
        .map_err(|err| io("marker", err))?;
    let repo = root.join(CRATE_DIR);
    create_repo(&repo).map_err(|err| format!("cannot create the demo repository {}: {err}", repo.display()))?;
    std::fs::write(root.join("script.toml"), SCRIPT).map_err(|err| io("script", err))?;
    std::fs::write(root.join("config.toml"), config_text(&root, two_models)).map_err(|err| io("configuration", err))?;
    let context = context(base)?;
    let mut tasks = Vec::with_capacity(TASKS.len());
    for (name, text) in TASKS {
        let path = root.join("tasks").join(name);
        std::fs::create_dir_all(root.join("tasks")).map_err(|err| io("tasks", err))?;
        std::fs::write(&path, text).map_err(|err| io("tasks", err))?;
        let shown = path.display().to_string();
        let mut spec = parse_task_file(text, &shown).map_err(|err| err.to_string())?;
        spec.repo = Some(resolve_repo(Some(&repo.display().to_string()), &repo));
        spec.source = TaskSource::File { path: shown };
        tasks.push(submit(spec, &context)?);
    }
    Ok(Demo { context, root, repo, tasks })
}

/// Deletes the previous demo, if this directory holds one that is not in use.
fn clear(root: &Path) -> Result<(), String> {
    if !root.exists() {
        return Ok(());
    }
    if !root.join(MARKER).exists() {
        return Err(format!(
            "{} exists but was not made by `ambidex demo`; move it away or use another --state-dir",
            root.display()
        ));
    }
    let store = root.join("state").join(STORE_FILE);
    if store.exists() {
        match Store::open(&store) {
            Ok(store) => store.close(),
            Err(StoreError::InUse { .. }) => {
                return Err(format!(
                    "another `ambidex demo` is running on {} (its store is in use); quit it first",
                    root.display()
                ));
            }
            // A damaged store is deleted with the rest.
            Err(_) => {}
        }
    }
    std::fs::remove_dir_all(root).map_err(|err| format!("cannot delete the previous demo {}: {err}", root.display()))
}

/// The demo's configuration file; with `two_models`, a second scripted provider plays the first
/// challenger (the same script: its turns are the challenger's whichever model plays them).
fn config_text(root: &Path, two_models: bool) -> String {
    let quoted = |path: PathBuf| toml::Value::String(path.display().to_string()).to_string();
    let script = quoted(root.join("script.toml"));
    let (rival, challengers) = if two_models {
        (
            format!("[providers.rival]\nkind = \"scripted\"\nscript = {script}\nmodel = \"rival-script\"\n\n"),
            "[{ provider = \"rival\" }, {}]",
        )
    } else {
        (String::new(), "2")
    };
    format!(
        "# Written by `ambidex demo`: the demo's own configuration (yours is not read).\n\
         state_dir = {}\n\n\
         [models]\ndefault_provider = \"demo\"\n\n\
         [providers.demo]\nkind = \"scripted\"\nscript = {script}\nmodel = \"demo-script\"\n\n\
         {rival}\
         [engine]\nmax_concurrent_tasks = 2\nchallengers = {challengers}\n\n\
         [forges]\ndelivery = \"local\"\n",
        quoted(root.join("state")),
    )
}

/// Writes the sample crate into `dir` and commits it in a few steps on `main`.
fn create_repo(dir: &Path) -> Result<(), String> {
    workspace::init_repo(dir, "main").map_err(|err| err.to_string())?;
    let me = Author { name: "Textstats Maintainers".into(), email: "maintainers@textstats.invalid".into() };
    for (message, files) in HISTORY {
        for file in *files {
            let text = CRATE.iter().find(|(path, _)| path == file).map(|(_, text)| *text).unwrap_or_default();
            let path = dir.join(file);
            if let Some(folder) = path.parent() {
                std::fs::create_dir_all(folder).map_err(|err| format!("{}: {err}", folder.display()))?;
            }
            std::fs::write(&path, text).map_err(|err| format!("{}: {err}", path.display()))?;
        }
        workspace::commit_all(dir, &me, message).map_err(|err| err.to_string())?;
    }
    Ok(())
}

pub fn run(args: DemoArgs, base: &Context) -> Result<Outcome, String> {
    let started = Instant::now();
    if !args.headless {
        use std::io::IsTerminal;
        if !std::io::stdout().is_terminal() {
            return Err("the demo's control room needs a terminal; `ambidex demo --headless` runs it in scripts".into());
        }
    }
    if sandbox::probe().best() == SandboxLevel::None {
        eprintln!(
            "warning: no sandbox is available here (bubblewrap or Landlock): agents' commands need approval and \
             the Left Hand cannot run tests for its evidence, so the demo will not show what it should \
             (`ambidex doctor` tells more)"
        );
    }
    let demo = prepare(base, args.two_models)?;
    if args.headless {
        return headless(&demo, started, args.verbose);
    }
    super::run_tui(&demo.context, Some(banner))
}

/// The first screen's message: the keys the demo asks for, as the keymap binds them.
fn banner(keys: &Keymap) -> String {
    format!(
        "Demo: both tasks are running. At a gate: {} approve · {} send back · {} stop · {} other option │ {} next \
         pane · {} evidence · {} compare · {} keys · {} quit",
        keys.key(Action::Approve),
        keys.key(Action::SendBack),
        keys.key(Action::Stop),
        keys.key(Action::NextOption),
        keys.key(Action::FocusNext),
        keys.key(Action::TabEvidence),
        keys.key(Action::TabCompare),
        keys.key(Action::Help),
        keys.key(Action::Quit),
    )
}

/// How a task is named in progress lines: its number in the demo and its short id.
fn label(demo: &Demo, id: TaskId) -> String {
    let n = demo.tasks.iter().position(|t| t.id == id).map_or(0, |n| n + 1);
    format!("#{n} {}", id.short())
}

/// The progress line of an event, or `None` for events too fine for it (all are shown when
/// `verbose`).
fn progress(kind: &EventKind, verbose: bool) -> Option<String> {
    let shown = verbose
        || match kind {
            EventKind::StageFinished { .. }
            | EventKind::GateOpened { .. }
            | EventKind::GateDecided { .. }
            | EventKind::ValidationRan { .. }
            | EventKind::WorktreeCreated { .. }
            | EventKind::BreakerTripped { .. }
            | EventKind::BudgetExceeded { .. }
            | EventKind::ExplorationStarted { .. }
            | EventKind::AcceptanceTestsWritten { .. }
            | EventKind::CandidateFinished { .. }
            | EventKind::CandidateAnalyzed { .. }
            | EventKind::EvidenceRecorded { .. }
            | EventKind::SynthesisSubmitted { .. }
            | EventKind::ChangeAdopted { .. }
            | EventKind::PrCreated { .. } => true,
            EventKind::StatusChanged { to, .. } => matches!(to, TaskStatus::Failed | TaskStatus::Cancelled),
            EventKind::ToolCalled(record) => record.tool == "run",
            _ => false,
        };
    shown.then(|| kind.summary())
}

/// The evidence matrix as a few indented lines, in the cells every surface shows.
fn matrix_lines(matrix: &EvidenceMatrix) -> String {
    let mut columns = EvidenceColumn::ESSENTIAL.to_vec();
    columns.insert(1, EvidenceColumn::Strategy);
    let rows: Vec<Vec<String>> = (0..matrix.rows.len())
        .map(|index| matrix.cells(index, &columns).into_iter().map(|cell| cell.text).collect())
        .collect();
    let header: Vec<&str> = columns.iter().map(|c| c.header()).collect();
    table::render(&header, &rows).lines().map(|line| format!("{:>22}{line}\n", "")).collect()
}

fn print_update(demo: &Demo, update: &Update, started: Instant, verbose: bool) {
    let Update::Event(event) = update else { return };
    let Some(task) = event.task.filter(|id| demo.tasks.iter().any(|t| t.id == *id)) else { return };
    let Some(line) = progress(&event.kind, verbose) else { return };
    println!("{:>6.1}s  {}  {line}", started.elapsed().as_secs_f64(), label(demo, task));
    if let EventKind::EvidenceRecorded { matrix, .. } = &event.kind {
        print!("{}", matrix_lines(matrix));
    }
}

/// Drives both tasks to their PRs, approving every gate, and prints the PR documents.
fn headless(demo: &Demo, started: Instant, verbose: bool) -> Result<Outcome, String> {
    println!("ambidex demo: the sample crate `textstats` is in {}", demo.repo.display());
    for task in &demo.tasks {
        let triage = task
            .triage
            .as_ref()
            .map(|t| format!("{}, risk {}, route {}", t.kind, t.risk, t.route))
            .unwrap_or_else(|| task.status.to_string());
        println!("task {}: {} ({triage})", label(demo, task.id), task.spec.title);
    }
    println!("every gate is approved automatically (--approve all)\n");
    let runtime = tokio::runtime::Runtime::new().map_err(|err| format!("cannot start the async runtime: {err}"))?;
    let endings = runtime.block_on(async {
        let engine = Arc::new(demo.context.engine_with(AutoApprove::All, false)?);
        let (_, mut updates) = engine.subscribe().map_err(|err| err.to_string())?;
        let ids: Vec<TaskId> = demo.tasks.iter().map(|t| t.id).collect();
        let limit = demo.context.effective.config.engine.max_concurrent_tasks.max(1) as usize;
        let runner = tokio::spawn(drive_all(engine.clone(), ids.clone(), limit));
        tokio::pin!(runner);
        let endings = loop {
            tokio::select! {
                update = updates.recv() => match update {
                    Ok(update) => print_update(demo, &update, started, verbose),
                    Err(RecvError::Lagged(_)) => continue,
                    Err(RecvError::Closed) => break (&mut runner).await,
                },
                endings = &mut runner => break endings,
            }
        };
        loop {
            match updates.try_recv() {
                Ok(update) => print_update(demo, &update, started, verbose),
                Err(TryRecvError::Lagged(_)) => continue,
                Err(_) => break,
            }
        }
        let endings = endings.map_err(|err| format!("the demo stopped unexpectedly: {err}"))?;
        let mut results = Vec::with_capacity(ids.len());
        for (id, ending) in ids.into_iter().zip(endings) {
            let task = engine.task(id).map_err(|err| err.to_string())?;
            results.push((task, ending.map_err(|err| err.to_string())));
        }
        Ok::<_, String>(results)
    })?;

    let mut all_ready = true;
    println!();
    for (task, ending) in &endings {
        let outcome = match ending {
            Ok(Ending::PrReady(pr)) => format!("PR ready: \"{}\" on {} → {}", pr.title, pr.branch, pr.base_branch),
            Ok(Ending::Parked { gate, kind }) => format!("stopped at the {kind} gate {}", gate.short()),
            Ok(Ending::Failed(reason)) => format!("failed: {reason}"),
            Ok(Ending::Cancelled) => "cancelled".to_owned(),
            Ok(Ending::NotAccepted(status)) => format!("not accepted ({status})"),
            Ok(Ending::Waiting(unavailable)) => unavailable.message(),
            Err(err) => format!("stopped: {err}"),
        };
        all_ready &= task.status == TaskStatus::PrReady;
        println!("task {}: {outcome}", label(demo, task.id));
    }
    for (task, _) in &endings {
        let Some(pr) = &task.pr else { continue };
        let rule = "─".repeat(100);
        println!(
            "\n{rule}\nPR of task {} ({}; `ambidex pr show {} --markdown`)\n{rule}",
            label(demo, task.id),
            pr.location,
            task.id.short()
        );
        print!("{}", pr.body);
        if !pr.body.ends_with('\n') {
            println!();
        }
    }
    print_hints(demo, &endings);
    println!("done in {} s", started.elapsed().as_secs());
    Ok(if all_ready { Outcome::Done } else { Outcome::Exit(1) })
}

fn print_hints(demo: &Demo, endings: &[(Task, Result<Ending, String>)]) {
    let repo = demo.repo.display();
    let state = demo.context.state_dir.display();
    println!("\nThe demo repository is real: {repo}");
    println!("  git -C {repo} log --all --oneline --graph");
    for (task, _) in endings {
        if let (Some(pr), Some(worktree)) = (&task.pr, task.worktrees.iter().find(|w| w.candidate == "production")) {
            println!("  the PR branch {} is checked out in {}: run `cargo test` there", pr.branch, worktree.path);
        }
    }
    println!("  ambidex --state-dir {state} task list   (then `task show ID`, `pr show ID`, `audit verify`)");
    println!("  the demo's script, configuration and task files: {}", demo.root.display());
    println!("Run `ambidex demo` (without --headless) to watch it in the control room; every run starts afresh.");
}
