//! `ambidex playbook`: check playbook files before the engine loads them, and the registry of
//! every version the engine has run with: list, show, diff and history; proposals, their shadow
//! evaluation, and the human decisions on them (promote at the promotion gate, reject, retire,
//! roll back).

use std::path::{Path, PathBuf};

use clap::Subcommand;

use ambidex::orchestrator::metrics::MetricsFold;
use ambidex::orchestrator::registry::Registry;
use ambidex::playbooks::playbook::{PlaybookFile, Playbooks, files_in};
use ambidex::protocol::{
    Actor, Command, EventKind, MetricsFilter, MetricsReport, PlaybookChange, PlaybookVersion, RegistryEdit, TaskKind,
    VersionStatus, promotion_criteria,
};

use super::playbook_evaluate::{self, EvaluateArgs};
use super::playbook_show::{describe, gate_text, list_rows, measured};
use super::{Context, Outcome, Writer, block_on, table};

#[derive(Debug, Subcommand)]
pub enum PlaybookCmd {
    /// Check a playbook file, or every `*.toml` in a directory (default: the repository's
    /// `.ambidex/playbooks/`), as the engine loads them; exit 1 when one is refused
    Check {
        /// A playbook file or a directory of them
        path: Option<PathBuf>,
    },
    /// The registry's versions: active and proposed ones (with --all, retired and rejected too)
    List {
        /// Every version, whatever its status
        #[arg(long)]
        all: bool,
        /// Print JSON instead of a table
        #[arg(long)]
        json: bool,
    },
    /// One version: where it came from, its evaluation, the promotion criteria and its text
    Show {
        /// A version (its hash or a unique prefix of it)
        #[arg(value_name = "VERSION")]
        id: String,
        /// Print JSON instead of text
        #[arg(long)]
        json: bool,
    },
    /// What a version changes against another (default: against its parent)
    Diff {
        /// The version
        #[arg(value_name = "VERSION")]
        id: String,
        /// The version to compare with
        against: Option<String>,
    },
    /// Every version of a playbook (by name), or that served a task class (bug_fix, feature, …)
    History {
        /// A playbook name (`right_hand`, `policy`, `left_hand`) or a task class
        name: String,
    },
    /// Propose a production playbook file as a new version for the classes it names
    Propose {
        /// The playbook file
        file: PathBuf,
        /// Why, in a sentence
        #[arg(long, default_value = "")]
        summary: String,
    },
    /// Replay the class's museum exhibits and held-out past tasks with a proposal and with the
    /// version it would replace, and record the version-level evidence matrix
    Evaluate(EvaluateArgs),
    /// The promotion gate: show a proposal's evidence and the promotion criteria, and make it the
    /// active version for its classes when you confirm
    Promote {
        /// The proposal
        #[arg(value_name = "VERSION")]
        id: String,
        /// Why the evidence is enough
        #[arg(long, default_value = "")]
        note: String,
        /// Do not ask (the evidence is still printed)
        #[arg(long)]
        yes: bool,
    },
    /// Decline a proposal
    Reject {
        /// The proposal
        #[arg(value_name = "VERSION")]
        id: String,
        /// Why
        #[arg(long)]
        reason: String,
    },
    /// Retire an active version; the version it replaced comes back when it has the same name
    Retire {
        /// The version
        #[arg(value_name = "VERSION")]
        id: String,
        /// Why
        #[arg(long)]
        reason: String,
    },
    /// Restore the version a class ran with before its current one
    Rollback {
        /// The task class
        class: TaskKind,
    },
}

pub fn run(command: PlaybookCmd, context: &Context) -> Result<Outcome, String> {
    match command {
        PlaybookCmd::Check { path } => check(path, context),
        PlaybookCmd::List { all, json } => {
            let registry = registry(context)?;
            let shown: Vec<&PlaybookVersion> = registry
                .versions()
                .iter()
                .filter(|v| all || matches!(v.status, VersionStatus::Active | VersionStatus::Proposed))
                .collect();
            if json {
                println!("{}", serde_json::to_string_pretty(&shown).map_err(|err| err.to_string())?);
            } else if shown.is_empty() {
                println!("no versions{}", if all { "" } else { " active or proposed; --all shows every one" });
            } else {
                print!(
                    "{}",
                    table::render(
                        &["VERSION", "STATUS", "KIND", "NAME", "CLASSES", "CREATED", "AUTHOR"],
                        &list_rows(&shown)
                    )
                );
            }
            Ok(Outcome::Done)
        }
        PlaybookCmd::Show { id, json } => {
            let registry = registry(context)?;
            let version = registry.find(&id).map_err(|err| err.to_string())?;
            if json {
                println!("{}", serde_json::to_string_pretty(version).map_err(|err| err.to_string())?);
            } else {
                let text = describe(version, &registry);
                // The measured figures go after the header lines, before the evidence and text.
                let (head, rest) = text.split_once("\n\n").unwrap_or((&text, ""));
                print!("{head}\n{}\n{rest}", measured(version, &registry, &report(context, version)?));
            }
            Ok(Outcome::Done)
        }
        PlaybookCmd::Diff { id, against } => {
            let registry = registry(context)?;
            let new = registry.find(&id).map_err(|err| err.to_string())?;
            let old = match against {
                Some(against) => registry.find(&against).map_err(|err| err.to_string())?,
                None => new.parent.as_deref().and_then(|p| registry.get(p)).ok_or_else(|| {
                    format!(
                        "version {} has no parent; name one to compare with: `ambidex playbook diff {} OTHER`",
                        new.short(),
                        new.short()
                    )
                })?,
            };
            let diff = ambidex::workspace::text_diff(
                &old.text,
                &format!("{} {}", old.name, old.short()),
                &new.text,
                &format!("{} {}", new.name, new.short()),
            )
            .map_err(|err| err.to_string())?;
            if diff.is_empty() {
                println!("{} and {} have the same text", old.short(), new.short());
            } else {
                print!("{diff}");
            }
            Ok(Outcome::Done)
        }
        PlaybookCmd::History { name } => {
            let registry = registry(context)?;
            let class = name.parse::<TaskKind>().ok();
            let shown: Vec<&PlaybookVersion> = registry
                .versions()
                .iter()
                .filter(|v| v.name == name || class.is_some_and(|class| v.serves(class)))
                .collect();
            if shown.is_empty() {
                return Err(format!("no version of `{name}`; `ambidex playbook list --all` shows the names"));
            }
            print!(
                "{}",
                table::render(
                    &["VERSION", "STATUS", "KIND", "NAME", "CLASSES", "CREATED", "AUTHOR"],
                    &list_rows(&shown)
                )
            );
            for version in shown.iter().filter_map(|v| v.decision.as_ref().map(|d| (v.short(), d))) {
                println!("  {}: {}", version.0, version.1);
            }
            Ok(Outcome::Done)
        }
        PlaybookCmd::Propose { file, summary } => {
            let text =
                std::fs::read_to_string(&file).map_err(|err| format!("cannot read {}: {err}", file.display()))?;
            let version = edit(context, RegistryEdit::Propose { text, summary }, PlaybookChange::Proposed)?;
            println!("proposed {} {} for {}", version.name, version.short(), classes(&version));
            println!(
                "next: `ambidex playbook evaluate {}`, then `ambidex playbook promote {}`",
                version.short(),
                version.short()
            );
            Ok(Outcome::Done)
        }
        PlaybookCmd::Evaluate(args) => playbook_evaluate::run(args, context),
        PlaybookCmd::Promote { id, note, yes } => {
            let registry = registry(context)?;
            let proposal = registry.find(&id).map_err(|err| err.to_string())?;
            print!("{}", gate_text(proposal, &registry));
            let unmet = promotion_criteria(proposal).iter().filter(|c| !c.met).count();
            let question = if unmet == 0 {
                format!("Promote {} {} for {}?", proposal.name, proposal.short(), classes(proposal))
            } else {
                format!("{unmet} criteria are not met. Promote {} {} anyway?", proposal.name, proposal.short())
            };
            if !yes && !super::task::confirm(&question)? {
                println!("not promoted");
                return Ok(Outcome::Exit(1));
            }
            let edit_ = RegistryEdit::Promote { version: proposal.hash.clone(), note };
            let promoted = edit(context, edit_, PlaybookChange::Promoted)?;
            println!("{} {} is active for {}", promoted.name, promoted.short(), classes(&promoted));
            println!(
                "to undo: `ambidex playbook rollback {}`",
                promoted.classes.first().map_or("CLASS", |c| c.as_str())
            );
            Ok(Outcome::Done)
        }
        PlaybookCmd::Reject { id, reason } => {
            let rejected = edit(context, RegistryEdit::Reject { version: id, reason }, PlaybookChange::Rejected)?;
            println!("{} {} is rejected", rejected.name, rejected.short());
            Ok(Outcome::Done)
        }
        PlaybookCmd::Retire { id, reason } => {
            let retired = edit(context, RegistryEdit::Retire { version: id, reason }, PlaybookChange::Retired)?;
            println!("{} {} is retired", retired.name, retired.short());
            Ok(Outcome::Done)
        }
        PlaybookCmd::Rollback { class } => {
            let retired = edit(context, RegistryEdit::Rollback { class }, PlaybookChange::Retired)?;
            let now = registry(context)?.active_for(class).map(|v| format!("{} {}", v.name, v.short()));
            println!(
                "{} {} is retired; {class} tasks now run with {}",
                retired.name,
                retired.short(),
                now.unwrap_or_else(|| "no playbook".into())
            );
            Ok(Outcome::Done)
        }
    }
}

fn classes(version: &PlaybookVersion) -> String {
    let names: Vec<&str> = version.classes.iter().map(|c| c.as_str()).collect();
    if names.is_empty() { "every task".into() } else { names.join(", ") }
}

/// The metrics by playbook version, over the version's class when it serves only one.
fn report(context: &Context, version: &PlaybookVersion) -> Result<MetricsReport, String> {
    let class = match version.classes.as_slice() {
        [class] => Some(*class),
        _ => None,
    };
    let mut fold = MetricsFold::default();
    if let Some(reader) = context.reader()? {
        fold.catch_up(&reader).map_err(|err| err.to_string())?;
    }
    Ok(fold.report(&MetricsFilter { since: None, class }))
}

/// The registry as the store holds it, with the versions this repository's files would add (the
/// engine records them when the next task is admitted).
fn registry(context: &Context) -> Result<Registry, String> {
    let versions = match context.reader()? {
        Some(reader) => reader.playbooks().map_err(|err| err.to_string())?,
        None => Vec::new(),
    };
    let mut registry = Registry::new(versions);
    if let Ok(setup) = context.checks_setup() {
        registry.record_loaded(&setup.playbooks, &setup.policy, jiff::Timestamp::now());
    }
    Ok(registry)
}

/// Carries out `edit` (through the running engine when one holds the store) and returns the
/// version the `change` it asked for was made to.
fn edit(context: &Context, edit: RegistryEdit, change: PlaybookChange) -> Result<PlaybookVersion, String> {
    let events: Vec<EventKind> = match context.writer()? {
        Writer::Local(engine) => {
            let events = engine
                .execute_blocking(Command::EditRegistry { edit }, Actor::local_human())
                .map_err(|err| err.to_string());
            engine.shutdown();
            events?.into_iter().map(|event| event.kind.clone()).collect()
        }
        Writer::Remote(client) => {
            block_on(client.edit_registry(&edit))?.map_err(|err| err.to_string())?.into_iter().map(|e| e.kind).collect()
        }
    };
    events
        .into_iter()
        .find_map(|kind| match kind {
            EventKind::PlaybookChanged { change: made, version } if made == change => Some(*version),
            _ => None,
        })
        .ok_or_else(|| "the engine recorded no such registry change".to_owned())
}

/// `ambidex playbook check`.
fn check(path: Option<PathBuf>, context: &Context) -> Result<Outcome, String> {
    let path = path.unwrap_or_else(|| context.repo_dir.join(".ambidex/playbooks"));
    let files = if path.is_dir() { files_in(&path) } else { vec![path.clone()] };
    if files.is_empty() || !files.iter().all(|f| f.exists()) {
        return built_in_only(&path);
    }
    let mut refused = 0;
    for file in &files {
        match PlaybookFile::load(file) {
            Ok(PlaybookFile::Right(playbook)) => {
                let kinds: Vec<String> = playbook.kinds.iter().map(ToString::to_string).collect();
                println!("ok     {}: {} for {}", file.display(), playbook.name, kinds.join(", "));
                println!("       {}", playbook.outline());
            }
            Ok(PlaybookFile::Left(left)) => {
                let strategies: Vec<&str> = left.strategies.iter().map(|s| s.name.as_str()).collect();
                println!("ok     {}: exploration playbook {}", file.display(), left.name);
                println!("       strategies: {}", strategies.join(", "));
            }
            Err(err) => {
                refused += 1;
                println!("error  {err}");
            }
        }
    }
    if refused > 0 {
        println!(
            "{refused} of {} playbook files refused: the engine will not start tasks until they are fixed",
            files.len()
        );
        return Ok(Outcome::Exit(1));
    }
    Ok(Outcome::Done)
}

/// Nothing to check at `path`: say so, and show the built-in playbooks that apply.
fn built_in_only(path: &Path) -> Result<Outcome, String> {
    if !path.exists() && path.extension().is_some_and(|e| e == "toml") {
        return Err(format!("{}: no such file", path.display()));
    }
    println!("no playbook files in {}; the built-in playbooks apply:", path.display());
    let playbooks = Playbooks::built_in().map_err(|err| err.to_string())?;
    for playbook in playbooks.all() {
        println!("ok     built-in {}: {}", playbook.name, playbook.outline());
    }
    Ok(Outcome::Done)
}
