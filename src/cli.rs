//! Command-line parsing and dispatch. Each subcommand's work and output live in `cli/`.

mod audit;
mod config_cmd;
mod context_cmd;
mod demo;
mod doctor;
mod gate;
mod import;
mod models;
mod pr;
mod run;
mod sandbox_exec;
mod search_cmd;
mod table;
mod task;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};

use ambidex::config::{self, Effective, LoadOptions};
use ambidex::orchestrator::{AutoApprove, Engine, EngineSetup};
use ambidex::protocol::Actor;
use ambidex::redact::Redactor;
use ambidex::store::{STORE_FILE, StoreReader};
use ambidex::tools::sandbox;

/// A terminal control room for autonomous software development with ambidextrous AI agents.
///
/// Run without a subcommand to open the control room.
#[derive(Debug, Parser)]
#[command(name = "ambidex", version, propagate_version = true)]
pub struct Cli {
    /// Where the store, worktrees and logs live [env: AMBIDEX_STATE_DIR] [default: $XDG_DATA_HOME/ambidex]
    #[arg(long, global = true, value_name = "DIR")]
    state_dir: Option<PathBuf>,
    /// The repository to work on (default: the current directory)
    #[arg(long, global = true, value_name = "PATH")]
    repo: Option<PathBuf>,
    /// Set a configuration key for this run, e.g. `-c tui.theme=light` (repeatable)
    #[arg(short = 'c', long = "config", global = true, value_name = "KEY=VALUE")]
    config: Vec<String>,
    #[command(subcommand)]
    command: Option<Cmd>,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Open the control room (the default when no subcommand is given)
    Tui,
    /// Add, list and inspect tasks
    #[command(subcommand)]
    Task(task::TaskCmd),
    /// Drive one task to a PR in the foreground (exit 0: PR ready, 2: stopped at a gate, 1: failed)
    Run(run::RunArgs),
    /// List and decide gates
    #[command(subcommand)]
    Gate(gate::GateCmd),
    /// Show a task's pull request
    #[command(subcommand)]
    Pr(pr::PrCmd),
    /// Check and read the audit trail
    #[command(subcommand)]
    Audit(audit::AuditCmd),
    /// Show the effective configuration
    #[command(subcommand)]
    Config(config_cmd::ConfigCmd),
    /// Check model providers: one tiny request shows whether a provider answers and calls tools
    #[command(subcommand)]
    Models(models::ModelsCmd),
    /// Internal: apply a sandbox to this process, then run a command (used by the tool runner)
    #[command(name = "__sandbox", hide = true)]
    Sandbox(sandbox_exec::SandboxArgs),
    /// Summarize the repository for an agent: build, test, CI, conventions, history, symbol map
    Context(context_cmd::ContextArgs),
    /// Search the repository with a regex (gitignore-aware, bounded output)
    Search(search_cmd::SearchArgs),
    /// See the whole system work on a sample repository in a minute, without an API key
    ///
    /// Creates a small Rust crate with a real bug and a real test suite in
    /// `<state dir>/demo/textstats` (a git repository), plays a scripted model shipped in the
    /// binary, and adds two tasks: a low-risk bug fix that the Right Hand takes to a draft PR, and a
    /// public-API change that the Left Hand explores too (acceptance tests, two competing
    /// candidates, the evidence matrix, a promotion gate). Then it opens the control room, where
    /// you approve the gates; with --headless it approves every gate itself and prints the
    /// progress and the PR documents.
    ///
    /// Every run starts fresh: the previous demo in `<state dir>/demo` (its repository, tasks and
    /// worktrees) is deleted first. The demo uses its own configuration and state directory
    /// (`<state dir>/demo/state`), never your tasks or your model providers.
    Demo(demo::DemoArgs),
    /// Check this machine: git, the store, sandbox levels, providers and forges
    Doctor {
        /// Print JSON instead of text
        #[arg(long)]
        json: bool,
    },
}

/// What every subcommand needs: the configuration and where things live.
pub struct Context {
    /// The effective configuration.
    pub effective: Effective,
    /// The directory tasks refer to by default.
    pub repo_dir: PathBuf,
    /// The state directory.
    pub state_dir: PathBuf,
}

impl Context {
    fn load(cli: &Cli) -> Result<Context, String> {
        let cwd = std::env::current_dir().map_err(|err| format!("cannot read the current directory: {err}"))?;
        let repo_dir = match &cli.repo {
            Some(repo) => absolute(&cwd, repo),
            None => cwd.clone(),
        };
        let mut options = LoadOptions::from_process(Some(repo_dir.clone()));
        for pair in &cli.config {
            let Some((key, value)) = pair.split_once('=') else {
                return Err(format!("`-c {pair}`: expected KEY=VALUE, e.g. `-c tui.theme=light`"));
            };
            options.flag(format!("-c {pair}"), key.trim(), value.trim());
        }
        if let Some(dir) = &cli.state_dir {
            options.flag("--state-dir", "state_dir", absolute(&cwd, dir).display().to_string());
        }
        let effective = config::load(&options).map_err(|err| err.to_string())?;
        let state_dir = absolute(&cwd, &effective.config.state_dir());
        Ok(Context { effective, repo_dir, state_dir })
    }

    /// The store file.
    pub fn store_path(&self) -> PathBuf {
        self.state_dir.join(STORE_FILE)
    }

    /// A reader, or `None` when no store exists yet.
    pub fn reader(&self) -> Result<Option<StoreReader>, String> {
        StoreReader::open(&self.store_path()).map_err(|err| err.to_string())
    }

    /// The engine, holding the store for writing, redacting every secret the configuration
    /// names, every forge token obtained from `gh`, and every secret-named variable of the
    /// environment, set up to run tasks in the
    /// repository with this run's approval policy.
    pub fn engine_with(&self, auto_approve: AutoApprove, wait_at_gates: bool) -> Result<Engine, String> {
        let named = self.effective.config.secret_env_names().into_iter();
        let secrets = named.filter_map(|name| std::env::var(&name).ok().map(|value| (name, value)));
        // Forge tokens from `gh auth token` are secrets too, though no variable holds them.
        let gh = ambidex::forge::token::redactor_secrets(&self.effective.config.forges);
        let redactor = Arc::new(Redactor::from_env(secrets.chain(gh)));
        let root = config::repo_root(&self.repo_dir).unwrap_or_else(|| self.repo_dir.clone());
        let helper = std::env::current_exe().map_err(|err| format!("cannot find the ambidex executable: {err}"))?;
        let mut setup = EngineSetup::new(self.effective.config.clone(), &root, sandbox::probe().best(), helper)?;
        setup.auto_approve = auto_approve;
        setup.wait_at_gates = wait_at_gates;
        Engine::open_with(&self.store_path(), redactor, Some(setup)).map_err(|err| err.to_string())
    }

    /// The engine for commands that record and answer (nothing is auto-approved).
    pub fn engine(&self) -> Result<Engine, String> {
        self.engine_with(AutoApprove::None, true)
    }
}

fn absolute(cwd: &Path, path: &Path) -> PathBuf {
    if path.is_absolute() { path.to_owned() } else { cwd.join(path) }
}

/// The outcome of a subcommand: success, a failure already explained, or an error to print.
pub enum Outcome {
    /// Exit 0.
    Done,
    /// Exit with this code; the command printed why.
    Exit(u8),
}

/// Parses arguments, runs the subcommand and turns errors into messages and exit codes.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(Cmd::Sandbox(args)) = cli.command {
        return sandbox_exec::run(args);
    }
    let result = Context::load(&cli).and_then(|context| run(cli.command, &context));
    match result {
        Ok(Outcome::Done) => ExitCode::SUCCESS,
        Ok(Outcome::Exit(code)) => ExitCode::from(code),
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(command: Option<Cmd>, context: &Context) -> Result<Outcome, String> {
    match command.unwrap_or(Cmd::Tui) {
        Cmd::Tui => run_tui(context),
        Cmd::Task(command) => task::run(command, context),
        Cmd::Audit(command) => audit::run(command, context),
        Cmd::Run(args) => run::run(args, context),
        Cmd::Gate(command) => gate::run(command, context),
        Cmd::Pr(command) => pr::run(command, context),
        Cmd::Config(command) => config_cmd::run(command, context),
        Cmd::Context(args) => context_cmd::run(args, context),
        Cmd::Search(args) => search_cmd::run(args, context),
        Cmd::Models(command) => models::run(command, context),
        Cmd::Demo(args) => demo::run(args, context),
        Cmd::Doctor { json } => doctor::run(json, context),
        Cmd::Sandbox(args) => Ok(Outcome::Exit(u8::from(sandbox_exec::run(args) != ExitCode::SUCCESS))),
    }
}

fn run_tui(context: &Context) -> Result<Outcome, String> {
    use std::io::IsTerminal;
    if !std::io::stdout().is_terminal() {
        return Err("the control room needs a terminal; for scripts use `ambidex task list` and friends".into());
    }
    let runtime = tokio::runtime::Runtime::new().map_err(|err| format!("cannot start the async runtime: {err}"))?;
    runtime.block_on(async {
        let engine = Arc::new(context.engine()?);
        if let Err(err) = engine.reconcile_worktrees() {
            eprintln!("warning: could not reconcile worktrees: {err}");
        }
        let client = engine.connect(Actor::local_human()).map_err(|err| err.to_string())?;
        let label = context.store_path().display().to_string();
        ambidex::tui::run(client, label).await.map_err(|err| format!("terminal error: {err}"))
    })?;
    Ok(Outcome::Done)
}
