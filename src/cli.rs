//! Command-line parsing and dispatch. Each subcommand's work and output live in `cli/`.

mod acp_cmd;
mod artifact_cmd;
mod audit;
mod autonomy_cmd;
mod clean;
mod config_cmd;
mod context_cmd;
mod demo;
mod doctor;
mod eval_cmd;
mod gate;
mod gate_show;
mod import;
mod mcp_cmd;
mod memory_cmd;
mod metrics_cmd;
mod models;
mod museum_cmd;
mod museum_export;
mod playbook_cmd;
mod playbook_evaluate;
mod playbook_show;
mod pr;
mod review_cmd;
mod revise;
mod run;
mod sandbox_exec;
mod search_cmd;
mod serve;
mod store_cmd;
mod table;
mod task;
mod worker;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};

use ambidex::api::ApiClient;
use ambidex::config::{self, Effective, LoadOptions};
use ambidex::orchestrator::scheduler::Scheduler;
use ambidex::orchestrator::{AutoApprove, Engine, EngineSetup};
use ambidex::protocol::Actor;
use ambidex::redact::Redactor;
use ambidex::store::{STORE_FILE, StoreError, StoreReader, StoreUrl};
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
    /// The repository to work on (default: the current directory); `task add` also takes a URL
    /// (`https://…`, `git@host:org/app.git`), cloned by workers started with `--repos DIR`
    #[arg(long, global = true, value_name = "PATH|URL")]
    repo: Option<PathBuf>,
    /// Set a configuration key for this run, e.g. `-c tui.theme=light` (repeatable)
    #[arg(short = 'c', long = "config", global = true, value_name = "KEY=VALUE")]
    config: Vec<String>,
    /// The control room's theme: dark, light, high-contrast, or a path to a theme file
    #[arg(long, value_name = "NAME|PATH")]
    theme: Option<String>,
    #[command(subcommand)]
    command: Option<Cmd>,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Open the control room (the default when no subcommand is given)
    Tui {
        /// The theme: dark, light, high-contrast, or a path to a theme file
        #[arg(long, value_name = "NAME|PATH")]
        theme: Option<String>,
    },
    /// Add, revise, list and inspect tasks
    #[command(subcommand)]
    Task(task::TaskCmd),
    /// Drive one task to a PR in the foreground (exit 0: PR ready, 2: stopped at a gate, 1: failed)
    Run(run::RunArgs),
    /// Run the engine headless: the local HTTP API plus the scheduler, until SIGINT or SIGTERM
    Serve(serve::ServeArgs),
    /// Take tasks from the store's queue and run them, headless; with a shared store
    /// (`store.url = "postgres://…"`), one per machine
    Worker(worker::WorkerArgs),
    /// List and decide gates
    #[command(subcommand)]
    Gate(gate::GateCmd),
    /// The repository's memory: what the agents know beyond the files, reviewed by you
    #[command(subcommand)]
    Memory(memory_cmd::MemoryCmd),
    /// The bug museum: every failure kept as a case future work must pass
    #[command(subcommand)]
    Museum(museum_cmd::MuseumCmd),
    /// Delivery, quality, exploration and governance figures from the log, per class, playbook
    /// version and week
    Metrics(metrics_cmd::MetricsArgs),
    /// The periodic review: reviews autonomy and retirement, then writes a Markdown report of the
    /// window (figures, failures, breakers, strategies, promotions, proposals waiting for you)
    Review(review_cmd::ReviewArgs),
    /// Show a task's pull request
    #[command(subcommand)]
    Pr(pr::PrCmd),
    /// A task's logs, patches, PR documents and evaluation outputs, kept in the artifact store
    #[command(subcommand)]
    Artifact(artifact_cmd::ArtifactCmd),
    /// Check and read the audit trail
    #[command(subcommand)]
    Audit(audit::AuditCmd),
    /// Save the event log of a damaged store, and make a new store from it
    #[command(subcommand)]
    Store(store_cmd::StoreCmd),
    /// Show the effective configuration
    #[command(subcommand)]
    Config(config_cmd::ConfigCmd),
    /// Check model providers: one tiny request shows whether a provider answers and calls tools
    #[command(subcommand)]
    Models(models::ModelsCmd),
    /// The MCP servers agents may use: their tools and health (`[mcp.servers.NAME]`)
    #[command(subcommand)]
    Mcp(mcp_cmd::McpCmd),
    /// Other coding agents that can work as the implementer or a challenger (`[acp.agents.NAME]`)
    #[command(subcommand)]
    Acp(acp_cmd::AcpCmd),
    /// Playbooks: check files; the registry of every version (list, show, diff, history);
    /// proposals, shadow evaluation, promotion, retirement and rollback
    #[command(subcommand)]
    Playbook(playbook_cmd::PlaybookCmd),
    /// Each task class's autonomy (which gates it skips) and the evidence; grant, decline or
    /// tighten it
    Autonomy {
        #[command(subcommand)]
        command: Option<autonomy_cmd::AutonomyCmd>,
    },
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
    /// Evaluate patches or branches against a base with acceptance tests, and print the evidence
    ///
    /// In a scratch worktree: the base is measured alone (it must build and run tests), then with
    /// the acceptance tests (the baseline: the tests they add or change are the acceptance tests),
    /// then each candidate's change with the acceptance files over it. Every candidate gets the
    /// tests it fixed and broke, the tests that went missing (deleted or skipped), the acceptance
    /// tests it passes and those that did not run. The Left Hand measures the same way.
    Eval(eval_cmd::EvalArgs),
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
            // A URL names a repository for workers with `--repos DIR` to clone; tasks keep it.
            Some(repo) if ambidex::workspace::is_repo_url(&repo.to_string_lossy()) => repo.clone(),
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
        let theme = match &cli.command {
            Some(Cmd::Tui { theme: Some(theme) }) => Some(theme),
            _ => cli.theme.as_ref(),
        };
        if let Some(theme) = theme {
            options.flag("--theme", "tui.theme", theme.clone());
        }
        if let Some(dir) = &cli.state_dir {
            options.flag("--state-dir", "state_dir", absolute(&cwd, dir).display().to_string());
        }
        let effective = config::load(&options).map_err(|err| err.to_string())?;
        let state_dir = absolute(&cwd, &effective.config.state_dir());
        Ok(Context { effective, repo_dir, state_dir })
    }

    /// Which store this command uses (`store.url`).
    pub fn store_url(&self) -> Result<StoreUrl, String> {
        StoreUrl::parse(&self.effective.config.store.url, &self.state_dir)
    }

    /// The store file, or where the shared store is (its URL without a password).
    pub fn store_path(&self) -> PathBuf {
        match self.store_url() {
            Ok(StoreUrl::Redb(path)) => path,
            Ok(url) => PathBuf::from(url.to_string()),
            Err(_) => self.state_dir.join(STORE_FILE),
        }
    }

    /// A reader, or `None` when no store exists yet.
    pub fn reader(&self) -> Result<Option<StoreReader>, String> {
        StoreReader::open_url(&self.store_url()?).map_err(|err| err.to_string())
    }

    /// The engine, holding the store for writing, redacting every secret the configuration
    /// names, every forge token obtained from `gh`, and every secret-named variable of the
    /// environment, set up to run tasks in the
    /// repository with this run's approval policy.
    pub fn engine_with(&self, auto_approve: AutoApprove, wait_at_gates: bool) -> Result<Engine, String> {
        self.open_engine(auto_approve, wait_at_gates, None)?.map_err(|err| err.to_string())
    }

    /// A worker's engine: parks at gates it may not decide, and clones repositories named by URL
    /// into `repos` when given.
    pub fn worker_engine(&self, auto_approve: AutoApprove, repos: Option<PathBuf>) -> Result<Engine, String> {
        self.open_engine(auto_approve, false, repos)?.map_err(|err| err.to_string())
    }

    /// Like [`engine_with`](Self::engine_with), keeping the store's error apart (the outer error
    /// is about the setup).
    fn open_engine(
        &self,
        auto_approve: AutoApprove,
        wait_at_gates: bool,
        repos: Option<PathBuf>,
    ) -> Result<Result<Engine, StoreError>, String> {
        let named = self.effective.config.secret_env_names().into_iter();
        let secrets = named.filter_map(|name| std::env::var(&name).ok().map(|value| (name, value)));
        // Forge tokens from `gh auth token` are secrets too, though no variable holds them.
        let gh = ambidex::forge::token::redactor_secrets(&self.effective.config.forges);
        let root = ambidex::workspace::repo_root(&self.repo_dir).unwrap_or_else(|| self.repo_dir.clone());
        // The repository's `.env` values are secrets too: an agent may read them in its worktree.
        let dotenv = ambidex::redact::dotenv_secrets(&root);
        let redactor = Arc::new(Redactor::from_env(secrets.chain(gh).chain(dotenv)));
        let helper = std::env::current_exe().map_err(|err| format!("cannot find the ambidex executable: {err}"))?;
        let requested = match self.effective.config.sandbox.level {
            ambidex::config::SandboxChoice::Auto => None,
            ambidex::config::SandboxChoice::Bubblewrap => Some(sandbox::SandboxLevel::Bubblewrap),
            ambidex::config::SandboxChoice::Landlock => Some(sandbox::SandboxLevel::Landlock),
            ambidex::config::SandboxChoice::None => Some(sandbox::SandboxLevel::None),
        };
        let probe = sandbox::probe();
        let level = sandbox::choose(requested, &probe)?;
        let mut setup = EngineSetup::new(self.effective.config.clone(), &root, level, helper)?;
        setup.sandbox_gaps =
            ambidex::orchestrator::sandbox_gaps(&probe.table(), level, &self.effective.config.sandbox.accept_gaps);
        setup.auto_approve = auto_approve;
        setup.wait_at_gates = wait_at_gates;
        setup.repos = repos;
        Ok(Engine::open_url(&self.store_url()?, &self.state_dir, redactor, Some(setup)))
    }

    /// Whether tasks can run here now, as the engine would decide it (a model provider the agents
    /// need is configured and has its API key). `Ok` when the setup itself cannot be read: the
    /// commands that need it say why.
    pub fn readiness(&self) -> Result<(), ambidex::protocol::ModelUnavailable> {
        self.checks_setup().map_or(Ok(()), |setup| setup.readiness())
    }

    /// The engine's setup for this repository, for checks only (no sandbox probe).
    pub fn checks_setup(&self) -> Result<EngineSetup, String> {
        let root = ambidex::workspace::repo_root(&self.repo_dir).unwrap_or_else(|| self.repo_dir.clone());
        EngineSetup::new(self.effective.config.clone(), &root, sandbox::SandboxLevel::None, PathBuf::new())
    }

    /// Where this process's changes go: its own engine, or — when a running engine (the control
    /// room or `ambidex serve`) holds the store — that engine's API.
    pub fn writer(&self) -> Result<Writer, String> {
        match self.open_engine(AutoApprove::None, true, None)? {
            Ok(engine) => Ok(Writer::Local(Box::new(engine))),
            Err(in_use @ StoreError::InUse { .. }) => self.running_api(&in_use).map(Writer::Remote),
            Err(err) => Err(err.to_string()),
        }
    }

    /// The API of the engine holding the store; it may be starting, so wait a little for its
    /// announcement.
    fn running_api(&self, in_use: &StoreError) -> Result<ApiClient, String> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
        loop {
            if let Some(client) = ApiClient::discover(&self.state_dir).map_err(|err| err.to_string())? {
                return Ok(client);
            }
            if std::time::Instant::now() >= deadline {
                return Err(format!(
                    "{in_use}; but that process serves no API (it is `ambidex run`, or `api.enabled` is \
                     false): wait for it to finish, or start the control room or `ambidex serve` with the API on"
                ));
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }
}

/// Where a command's changes go.
pub enum Writer {
    /// This process holds the store.
    Local(Box<Engine>),
    /// A running engine holds it; changes go through its API.
    Remote(ApiClient),
}

/// Runs a future to completion from synchronous CLI code (never call it from async code).
pub fn block_on<F: std::future::Future>(future: F) -> Result<F::Output, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|err| format!("cannot start the async runtime: {err}"))?;
    Ok(runtime.block_on(future))
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
            // Not `eprintln!`: it panics when stderr is a terminal that hung up.
            let _ = std::io::Write::write_fmt(&mut std::io::stderr(), format_args!("error: {message}\n"));
            ExitCode::FAILURE
        }
    }
}

fn run(command: Option<Cmd>, context: &Context) -> Result<Outcome, String> {
    match command.unwrap_or(Cmd::Tui { theme: None }) {
        Cmd::Tui { .. } => run_tui(context, None),
        Cmd::Task(command) => task::run(command, context),
        Cmd::Audit(command) => audit::run(command, context),
        Cmd::Store(command) => store_cmd::run(command, context),
        Cmd::Artifact(command) => artifact_cmd::run(command, context),
        Cmd::Run(args) => run::run(args, context),
        Cmd::Serve(args) => serve::run(args, context),
        Cmd::Worker(args) => worker::run(args, context),
        Cmd::Gate(command) => gate::run(command, context),
        Cmd::Memory(command) => memory_cmd::run(command, context),
        Cmd::Museum(command) => museum_cmd::run(command, context),
        Cmd::Metrics(args) => metrics_cmd::run(args, context),
        Cmd::Review(args) => review_cmd::run(args, context),
        Cmd::Pr(command) => pr::run(command, context),
        Cmd::Config(command) => config_cmd::run(command, context),
        Cmd::Context(args) => context_cmd::run(args, context),
        Cmd::Search(args) => search_cmd::run(args, context),
        Cmd::Models(command) => models::run(command, context),
        Cmd::Mcp(command) => mcp_cmd::run(command, context),
        Cmd::Acp(command) => acp_cmd::run(command, context),
        Cmd::Playbook(command) => playbook_cmd::run(command, context),
        Cmd::Autonomy { command } => autonomy_cmd::run(command, context),
        Cmd::Demo(args) => demo::run(args, context),
        Cmd::Eval(args) => eval_cmd::run(args, context),
        Cmd::Doctor { json } => doctor::run(json, context),
        Cmd::Sandbox(args) => Ok(Outcome::Exit(u8::from(sandbox_exec::run(args) != ExitCode::SUCCESS))),
    }
}

/// Opens the control room; `banner` words a first-screen message from the keys in use.
fn run_tui(context: &Context, banner: Option<fn(&ambidex::tui::Keymap) -> String>) -> Result<Outcome, String> {
    use std::io::IsTerminal;
    let settings = &context.effective.config.tui;
    let theme = ambidex::tui::Theme::load(&settings.theme).map_err(|err| err.to_string())?;
    let keymap = ambidex::tui::Keymap::with_overrides(&settings.keymap)?;
    if !std::io::stdout().is_terminal() {
        return Err("the control room needs a terminal; for scripts use `ambidex task list` and friends".into());
    }
    let banner = banner.map(|words| words(&keymap));
    let options = ambidex::tui::Options {
        store_label: context.store_path().display().to_string(),
        theme,
        keymap,
        notifications: ambidex::tui::Notifications { bell: settings.bell, osc9: settings.osc9 },
        max_fps: settings.max_fps,
        banner,
        ..ambidex::tui::Options::default()
    };
    let limit = context.effective.config.engine.max_concurrent_tasks as usize;
    let runtime = tokio::runtime::Runtime::new().map_err(|err| format!("cannot start the async runtime: {err}"))?;
    runtime.block_on(async {
        // Gates park their task (no slot held); a decision queues it again for the scheduler.
        let engine = Arc::new(context.engine_with(AutoApprove::None, false)?);
        if let Err(err) = engine.reconcile_worktrees() {
            eprintln!("warning: could not reconcile worktrees: {err}");
        }
        let client = engine.connect(Actor::local_human()).map_err(|err| err.to_string())?;
        let api = serve::start_api(&engine, context).await;
        // Runs report through events; the control room shows them.
        let scheduler = Scheduler::spawn(engine.clone(), limit, |_, _| {});
        let result = ambidex::tui::run(client, options).await.map_err(|err| format!("terminal error: {err}"));
        scheduler.stop().await;
        if let Some(api) = api {
            api.shutdown().await;
        }
        result
    })?;
    // Runs still in progress stop with the runtime; they resume on the next start.
    runtime.shutdown_timeout(std::time::Duration::from_millis(500));
    Ok(Outcome::Done)
}

#[cfg(test)]
mod tests {
    /// Clap checks a command line's definition only when it is built: every subcommand's
    /// arguments are checked here, not when a user first types one.
    #[test]
    fn the_command_line_is_well_formed() {
        <super::Cli as clap::CommandFactory>::command().debug_assert();
    }
}
