//! `ambidex doctor`: what this machine offers and how Ambidex is set up, without secrets. The
//! providers the agents use are marked ✓ or ✗ (as the engine's readiness decides), a ✗ with the
//! next step.

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};

use super::{Context, Outcome};
use ambidex::artifacts::ArtifactStore;
use ambidex::config::{ForgeConfig, ProviderConfig, user_config_path};
use ambidex::domain::{Task, is_settled};
use ambidex::orchestrator::readiness::ProviderReadiness;
use ambidex::protocol::TaskStatus;
use ambidex::protocol::{ModelUnavailable, human_bytes};
use ambidex::tools::sandbox;
use ambidex::workspace::{disk_usage, git_locks};

/// Whether an environment variable is set to something; its value is never read into output.
fn env_state(name: &str) -> &'static str {
    if name.is_empty() {
        "no key needed"
    } else if std::env::var_os(name).is_some_and(|v| !v.is_empty()) {
        "set"
    } else {
        "not set"
    }
}

fn git_version() -> String {
    let cli = Command::new("git")
        .arg("--version")
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
        .unwrap_or_else(|| "git CLI not found".into());
    let (major, minor, patch) = ambidex::workspace::libgit2_version();
    format!("{cli}; libgit2 {major}.{minor}.{patch} built in")
}

fn state_dir_status(dir: &Path) -> String {
    if !dir.exists() {
        return "does not exist yet (created on first write)".into();
    }
    let probe = dir.join(format!(".doctor-{}", std::process::id()));
    match std::fs::write(&probe, b"") {
        Ok(()) => {
            // Best effort: a leftover empty probe file is harmless.
            let _ = std::fs::remove_file(&probe);
            "exists, writable".into()
        }
        Err(err) => format!("exists, NOT writable: {err}"),
    }
}

/// What the store says, read by [`store_status`].
struct StoreStatus {
    ok: bool,
    summary: String,
    tasks: Vec<Task>,
    /// Another Ambidex process (the control room, `serve`, `run`) holds the store.
    held: bool,
}

/// Whether the store reads, what it says, its tasks and whether an engine holds it: redb's
/// integrity check (when no other process holds the store), the hash chain, the projections and
/// upgrades.
fn store_status(context: &Context) -> StoreStatus {
    let path = context.store_path();
    let integrity = path.exists().then(|| ambidex::store::check_integrity(&path));
    let held = matches!(integrity, Some(Ok(ambidex::store::Integrity::Skipped { .. })));
    let (ok, summary, tasks) = read_store(context, integrity);
    StoreStatus { ok, summary, tasks, held }
}

fn read_store(
    context: &Context,
    integrity: Option<Result<ambidex::store::Integrity, ambidex::store::StoreError>>,
) -> (bool, String, Vec<Task>) {
    use ambidex::store::{Integrity, StoreError, Verification};
    let path = context.store_path();
    // The integrity check needs the file to itself, so it ran before this process opens a reader.
    let checked = match integrity {
        None => String::new(),
        Some(Ok(Integrity::Clean)) => "; integrity check passed".into(),
        Some(Ok(Integrity::Repaired)) => "; the integrity check repaired redb's allocation state (no data lost)".into(),
        Some(Ok(Integrity::Skipped { reason })) => format!("; integrity check skipped: {reason}"),
        Some(Err(err)) => return (false, err.to_string(), Vec::new()),
    };
    match context.reader() {
        Ok(None) => (true, "not created yet (the first `ambidex task add` creates it)".into(), Vec::new()),
        Ok(Some(reader)) => match (reader.tasks(), reader.head(), reader.migrations(), reader.verify()) {
            (_, _, _, Ok(Verification::Broken { seq, reason, .. })) => {
                let detail = format!("the hash chain breaks at event #{seq}: {reason}");
                (false, StoreError::Damaged { path, detail }.to_string(), Vec::new())
            }
            (Ok(tasks), Ok(head), Ok(migrations), Ok(_)) => {
                let upgraded = migrations.last().map_or_else(String::new, |m| {
                    format!(
                        "; upgraded from schema {} to {} on {} ({} projections rebuilt from {} events)",
                        m.from,
                        m.to,
                        m.at.strftime("%Y-%m-%d %H:%M UTC"),
                        m.tasks,
                        m.events
                    )
                });
                (
                    true,
                    format!("ok: {} tasks, {} events, chain verified{checked}{upgraded}", tasks.len(), head.seq),
                    tasks,
                )
            }
            (Err(err), _, _, _) | (_, Err(err), _, _) | (_, _, Err(err), _) | (_, _, _, Err(err)) => {
                (false, err.to_string(), Vec::new())
            }
        },
        Err(err) => (false, err, Vec::new()),
    }
}

/// The worktrees finished tasks still hold: tasks, worktrees, bytes on disk.
fn leftover_worktrees(tasks: &[Task]) -> (usize, usize, u64) {
    let finished: Vec<&Task> = tasks.iter().filter(|t| is_settled(t.status) && !t.worktrees.is_empty()).collect();
    let worktrees = finished.iter().flat_map(|t| &t.worktrees);
    let bytes = worktrees.clone().map(|w| disk_usage(Path::new(&w.path))).sum();
    (finished.len(), worktrees.count(), bytes)
}

/// Tasks whose engine stopped in the middle of them, each with how to go on: `interrupted` ones,
/// and `running` ones while no engine holds the store (the next engine start marks them
/// interrupted).
fn stopped_tasks(tasks: &[Task], engine_running: bool) -> Vec<String> {
    tasks
        .iter()
        .filter(|t| t.status == TaskStatus::Interrupted || (t.status == TaskStatus::Running && !engine_running))
        .map(|t| {
            let stage = t.stage.as_ref().map_or_else(String::new, |s| format!(" in its {} stage", s.name));
            let how = if t.status == TaskStatus::Running { "was running" } else { "was interrupted" };
            format!(
                "{} {how}{stage} when its engine stopped: `ambidex run --task {}` resumes it ({})",
                t.id.short(),
                t.id.short(),
                t.spec.title
            )
        })
        .collect()
}

/// git lock files in the repository, each with what to do: a lock of this store's tasks goes at
/// the next engine start; any other blocks git until whoever left it (or the user) removes it.
fn git_lock_advice(context: &Context, tasks: &[Task]) -> Vec<String> {
    let shorts: Vec<String> = tasks.iter().map(|t| t.id.short()).collect();
    let locks = git_locks(&context.repo_dir, &shorts).unwrap_or_default();
    locks.iter().map(|lock| lock.advice()).collect()
}

fn provider_line(provider: &ProviderConfig) -> String {
    let model = if provider.model.is_empty() { "(no model set)" } else { provider.model.as_str() };
    let key = if provider.api_key_env.is_empty() {
        "no key needed".to_owned()
    } else {
        format!("{} {}", provider.api_key_env, env_state(&provider.api_key_env))
    };
    let kind = format!("{:?}", provider.kind).to_lowercase();
    format!("{kind} at {}, model {model}, {key}", provider.base_url)
}

fn forge_line(forge: &ForgeConfig) -> String {
    format!("{}, {} {}", forge.base_url, forge.token_env, env_state(&forge.token_env))
}

/// Whether each provider the agents use can be used (by name), or why the check could not run.
fn readiness(context: &Context) -> Result<Vec<ProviderReadiness>, String> {
    context.checks_setup().map(|setup| setup.provider_readiness())
}

/// `✓ ` or `✗ ` for a provider the agents use, nothing for the others.
fn mark(ready: Option<&Result<(), ModelUnavailable>>) -> &'static str {
    match ready {
        Some(Ok(())) => "✓ ",
        Some(Err(_)) => "✗ ",
        None => "",
    }
}

fn config_level(config: &ambidex::config::Config) -> &'static str {
    match config.sandbox.level {
        ambidex::config::SandboxChoice::Auto => "auto",
        ambidex::config::SandboxChoice::Bubblewrap => "bubblewrap",
        ambidex::config::SandboxChoice::Landlock => "landlock",
        ambidex::config::SandboxChoice::None => "none",
    }
}

pub fn run(json_out: bool, context: &Context) -> Result<Outcome, String> {
    let config = &context.effective.config;
    let readiness = readiness(context);
    let in_use =
        |name: &str| readiness.as_ref().ok().and_then(|all| all.iter().find(|(n, _)| n == name)).map(|(_, r)| r);
    let blocked: Option<&ModelUnavailable> =
        readiness.as_ref().ok().and_then(|all| all.iter().find_map(|(_, r)| r.as_ref().err()));
    let probe = sandbox::probe();
    let requested = match config.sandbox.level {
        ambidex::config::SandboxChoice::Auto => None,
        ambidex::config::SandboxChoice::Bubblewrap => Some(sandbox::SandboxLevel::Bubblewrap),
        ambidex::config::SandboxChoice::Landlock => Some(sandbox::SandboxLevel::Landlock),
        ambidex::config::SandboxChoice::None => Some(sandbox::SandboxLevel::None),
    };
    let chosen = sandbox::choose(requested, &probe);
    let StoreStatus { ok: store_ok, summary: store, tasks, held } = store_status(context);
    let stopped = stopped_tasks(&tasks, held);
    let (finished, leftover, leftover_bytes) = leftover_worktrees(&tasks);
    let locks = git_lock_advice(context, &tasks);
    let providers: Vec<(String, String)> =
        config.providers.iter().map(|(name, p)| (name.clone(), provider_line(p))).collect();
    let user_file = user_config_path().map(|p| p.display().to_string()).unwrap_or_else(|| "(no home)".into());
    let installed = |cli: &str| Command::new(cli).arg("--version").output().is_ok_and(|out| out.status.success());
    let (gh, glab) = (installed("gh"), installed("glab"));
    let artifacts = artifacts_status(context);

    if json_out {
        let value: Value = json!({
            "version": env!("CARGO_PKG_VERSION"),
            "git": git_version(),
            "state_dir": { "path": context.state_dir, "status": state_dir_status(&context.state_dir) },
            "store": { "path": context.store_path(), "ok": store_ok, "status": store },
            "artifacts": { "location": artifacts.0, "ok": artifacts.1.is_ok(), "error": artifacts.1.as_ref().err() },
            "finished_task_worktrees": { "tasks": finished, "worktrees": leftover, "bytes": leftover_bytes },
            "git_locks": locks,
            "stopped_tasks": stopped,
            "sandbox": { "best": probe.best(), "chosen": chosen.as_ref().ok(), "chosen_error": chosen.as_ref().err(), "probe": probe, "levels": probe.table() },
            "providers": providers.iter().map(|(n, l)| {
                let ready = in_use(n);
                json!({
                    "name": n,
                    "summary": l,
                    "in_use": ready.is_some(),
                    "ready": ready.map(Result::is_ok),
                    "problem": ready.and_then(|r| r.as_ref().err()).map(|u| u.problem.clone()),
                })
            }).collect::<Vec<_>>(),
            "default_provider": config.models.default_provider,
            "models": match (&readiness, blocked) {
                (Err(err), _) => json!({ "ready": null, "error": err }),
                (Ok(_), None) => json!({ "ready": true }),
                (Ok(_), Some(u)) => json!({
                    "ready": false,
                    "provider": u.provider,
                    "problem": u.problem,
                    "next_step": u.next_step(),
                }),
            },
            "forges": {
                "delivery": config.forges.delivery,
                "github": forge_line(&config.forges.github),
                "gitlab": forge_line(&config.forges.gitlab),
                "gh_cli": gh,
                "glab_cli": glab,
            },
            "config_files": context.effective.files,
        });
        println!("{}", serde_json::to_string_pretty(&value).map_err(|err| err.to_string())?);
        return Ok(Outcome::Done);
    }

    let row = |name: &str, value: &str| println!("{name:<18}{value}");
    let facility = |f: &sandbox::Facility| format!("{} ({})", if f.usable { "yes" } else { "no" }, f.detail);
    row("ambidex", env!("CARGO_PKG_VERSION"));
    row("git", &git_version());
    row("state dir", &format!("{} — {}", context.state_dir.display(), state_dir_status(&context.state_dir)));
    row("store", &format!("{} — {store}", context.store_path().display()));
    match &artifacts.1 {
        Ok(()) => row("artifacts", &format!("{} — ok", artifacts.0)),
        Err(err) => row("artifacts", &format!("✗ {err}")),
    }
    if leftover == 0 {
        row("worktrees", "none left by finished tasks");
    } else {
        let size = human_bytes(leftover_bytes);
        row(
            "worktrees",
            &format!(
                "{finished} finished tasks still hold {leftover} worktrees ({size}): `ambidex task clean --finished` removes them"
            ),
        );
    }
    for (i, advice) in locks.iter().enumerate() {
        row(if i == 0 { "git locks" } else { "" }, advice);
    }
    for (i, advice) in stopped.iter().enumerate() {
        row(if i == 0 { "stopped tasks" } else { "" }, advice);
    }
    row("sandbox", &format!("best level here: {}", probe.best()));
    row("  bubblewrap", &facility(&probe.bubblewrap));
    row("  landlock", &facility(&probe.landlock));
    row("  user namespaces", &facility(&probe.user_namespaces));
    let tick = |held: bool| if held { "✓" } else { "✗" };
    row("  confinement", "level        reads  writes  network  signals  processes");
    for level in probe.table() {
        let name = if level.available { level.level.to_string() } else { format!("({})", level.level) };
        row(
            "",
            &format!(
                "{name:<12} {:<6} {:<7} {:<8} {:<8} {}",
                tick(level.reads),
                tick(level.writes),
                tick(level.network),
                tick(level.signals),
                tick(level.processes)
            ),
        );
        for note in &level.notes {
            row("", &format!("  {}: {note}", level.level));
        }
    }
    match &chosen {
        Ok(level) => {
            let why = match config_level(config) {
                "auto" => "sandbox.level = auto: the best available, bubblewrap, else landlock, else none".to_owned(),
                other => format!("sandbox.level = {other}: when it cannot hold here, the engine refuses to start"),
            };
            row("  in use", &format!("{level} ({why})"));
        }
        Err(reason) => row("  in use", &format!("✗ {reason}")),
    }
    if probe.best() == sandbox::SandboxLevel::None {
        row("", "without a sandbox, every command an agent runs needs your approval");
    }
    row("providers", &format!("default: {}", config.models.default_provider));
    for (name, line) in &providers {
        row(&format!("  {}{name}", mark(in_use(name))), line);
    }
    match (&readiness, blocked) {
        (Err(err), _) => row("models", &format!("cannot check: {err}")),
        (Ok(_), None) => {
            row("models", "✓ the providers the agents use can be used (`ambidex models check` sends a request)")
        }
        (Ok(_), Some(unavailable)) => {
            row(
                "models",
                &format!("✗ tasks cannot run: {} (provider `{}`)", unavailable.problem, unavailable.provider),
            );
            let set = unavailable.env_var.as_ref().map(|var| {
                format!(
                    "export {var} with your API key (or choose another provider with `models.default_provider`), then "
                )
            });
            row("", &format!("next: {}`{}`", set.unwrap_or_default(), unavailable.check_command()));
        }
    }
    row("forges", &format!("delivery: {}", config.forges.delivery));
    row("  github", &forge_line(&config.forges.github));
    row("  gitlab", &forge_line(&config.forges.gitlab));
    row("  gh CLI", if gh { "installed" } else { "not installed" });
    row("  glab CLI", if glab { "installed" } else { "not installed" });
    let files = &context.effective.files;
    if files.is_empty() {
        row("config files", &format!("none (user file would be {user_file})"));
    } else {
        for (i, file) in files.iter().enumerate() {
            row(if i == 0 { "config files" } else { "" }, &file.display().to_string());
        }
    }
    Ok(if store_ok { Outcome::Done } else { Outcome::Exit(1) })
}

/// Where artifacts go and whether that store answers (`store.artifacts`).
fn artifacts_status(context: &Context) -> (String, Result<(), String>) {
    let config = &context.effective.config.store;
    let store = match ArtifactStore::open(&config.artifacts, &config.artifacts_endpoint, &context.state_dir) {
        Ok(store) => store,
        Err(err) => return (config.artifacts.clone(), Err(err.to_string())),
    };
    let checked = tokio::runtime::Runtime::new()
        .map_err(|err| format!("cannot start the async runtime: {err}"))
        .and_then(|runtime| runtime.block_on(store.check()).map_err(|err| err.to_string()));
    (store.location().to_owned(), checked)
}
