//! `ambidex memory`: the repository's memory, reviewed by a human. Lists what is active and what
//! Ambidex proposed; accepts, edits or rejects proposals; writes, changes and removes entries;
//! exports the active ones to a TOML file a team can review and commit, and imports such a file.

use std::path::{Path, PathBuf};

use clap::Subcommand;
use serde::{Deserialize, Serialize};

use super::task::resolve_repo;
use super::{Context, Outcome, Writer, block_on, table};
use ambidex::protocol::{Actor, Command, EventKind, MemoryEdit, MemoryEntry, MemoryKind, MemorySource, MemoryStatus};

/// Where `memory export` writes and a team commits the memory.
const DEFAULT_FILE: &str = ".ambidex/memory.toml";

#[derive(Debug, Subcommand)]
pub enum MemoryCmd {
    /// List this repository's memory: active entries and proposals waiting for review
    List {
        /// Every entry of every repository, rejected and removed ones too
        #[arg(long)]
        all: bool,
        /// Print JSON instead of a table
        #[arg(long)]
        json: bool,
    },
    /// The proposals waiting for review (accept, edit or reject each)
    Pending {
        /// Print JSON instead of a table
        #[arg(long)]
        json: bool,
    },
    /// Show one entry with where it came from
    Show {
        /// The entry (an id or any unique ending of it)
        id: String,
        /// Print JSON instead of text
        #[arg(long)]
        json: bool,
    },
    /// Write an entry; it is active at once
    Add {
        /// What the agents should know
        text: String,
        /// setup, convention, flaky_test, failure_pattern, validation or ownership
        #[arg(long)]
        kind: MemoryKind,
        /// A path or glob it applies to (repeatable; none: the whole repository)
        #[arg(long = "scope", value_name = "GLOB")]
        scope: Vec<String>,
    },
    /// Change an entry's text, kind or scope
    Edit {
        /// The entry
        id: String,
        /// The new text
        #[arg(long)]
        text: Option<String>,
        /// The new kind
        #[arg(long)]
        kind: Option<MemoryKind>,
        /// The new scope (repeatable; replaces the old one)
        #[arg(long = "scope", value_name = "GLOB")]
        scope: Vec<String>,
        /// Make it apply to the whole repository
        #[arg(long, conflicts_with = "scope")]
        unscoped: bool,
    },
    /// Accept a proposal (with --text, the text to keep instead)
    Accept {
        /// The entry
        id: String,
        /// The text to keep
        #[arg(long)]
        text: Option<String>,
    },
    /// Reject a proposal (it is kept, so it is not proposed again)
    Reject {
        /// The entry
        id: String,
    },
    /// Remove an entry
    Rm {
        /// The entry
        id: String,
    },
    /// List the entries gone stale (their files no longer exist, or no one confirmed them for
    /// half a year); with --apply, remove them
    Prune {
        /// Remove the stale entries
        #[arg(long)]
        apply: bool,
    },
    /// Write the active entries to a TOML file to review and commit
    Export {
        /// The file (default: .ambidex/memory.toml in the repository)
        #[arg(long)]
        file: Option<PathBuf>,
    },
    /// Add the entries of an exported file (those already known are skipped)
    Import {
        /// The file
        file: PathBuf,
    },
}

/// One entry of an exported file.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileEntry {
    kind: MemoryKind,
    text: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    scope: Vec<String>,
}

/// An exported file.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct MemoryFile {
    #[serde(default, rename = "entry")]
    entries: Vec<FileEntry>,
}

pub fn run(command: MemoryCmd, context: &Context) -> Result<Outcome, String> {
    let repo = resolve_repo(None, &context.repo_dir);
    let entries = entries(context)?;
    let mine = |e: &&MemoryEntry| e.repo == repo;
    match command {
        MemoryCmd::List { all, json } => {
            let shown: Vec<&MemoryEntry> = entries
                .iter()
                .filter(|e| all || (e.repo == repo && matches!(e.status, MemoryStatus::Active | MemoryStatus::Pending)))
                .collect();
            print_list(&shown, json, "no memory yet for this repository: `ambidex memory add --kind KIND TEXT`")?;
        }
        MemoryCmd::Pending { json } => {
            let shown: Vec<&MemoryEntry> =
                entries.iter().filter(mine).filter(|e| e.status == MemoryStatus::Pending).collect();
            print_list(&shown, json, "no proposals waiting for review")?;
        }
        MemoryCmd::Show { id, json } => {
            let entry = find(&entries, &id)?;
            if json {
                println!("{}", serde_json::to_string_pretty(entry).map_err(|err| err.to_string())?);
            } else {
                print!("{}", describe(entry));
            }
        }
        MemoryCmd::Add { text, kind, scope } => edit(context, MemoryEdit::Add { repo, kind, text, scope })?,
        MemoryCmd::Edit { id, text, kind, scope, unscoped } => {
            let id = find(&entries, &id)?.id;
            let scope = if unscoped { Some(Vec::new()) } else { Some(scope).filter(|s| !s.is_empty()) };
            edit(context, MemoryEdit::Edit { id, text, kind, scope })?;
        }
        MemoryCmd::Accept { id, text } => edit(context, MemoryEdit::Accept { id: find(&entries, &id)?.id, text })?,
        MemoryCmd::Reject { id } => edit(context, MemoryEdit::Reject { id: find(&entries, &id)?.id })?,
        MemoryCmd::Rm { id } => edit(context, MemoryEdit::Remove { id: find(&entries, &id)?.id })?,
        MemoryCmd::Prune { apply } => {
            let tracked = ambidex::workspace::tracked_files(Path::new(&repo), 1_000_000);
            let now = jiff::Timestamp::now();
            let stale: Vec<(&MemoryEntry, String)> = entries
                .iter()
                .filter(mine)
                .filter_map(|e| ambidex::orchestrator::memory::staleness(e, &tracked, now).map(|why| (e, why)))
                .collect();
            if stale.is_empty() {
                println!("nothing stale: every entry's files exist and each was confirmed within half a year");
            }
            for (entry, why) in &stale {
                let first = entry.text.lines().next().unwrap_or_default();
                if apply {
                    edit_quietly(context, MemoryEdit::Remove { id: entry.id })?;
                    println!("removed {} ({why}): {first}", entry.id.short());
                } else {
                    println!("{} is stale ({why}): {first}", entry.id.short());
                }
            }
            if !apply && !stale.is_empty() {
                println!("remove them with `ambidex memory prune --apply`, or one with `ambidex memory rm ID`");
            }
        }
        MemoryCmd::Export { file } => {
            let path = file.unwrap_or_else(|| Path::new(&repo).join(DEFAULT_FILE));
            let active: Vec<FileEntry> = entries
                .iter()
                .filter(mine)
                .filter(|e| e.status == MemoryStatus::Active)
                .map(|e| FileEntry { kind: e.kind, text: e.text.clone(), scope: e.scope.clone() })
                .collect();
            let count = active.len();
            let body = toml::to_string_pretty(&MemoryFile { entries: active }).map_err(|err| err.to_string())?;
            let text = format!(
                "# The repository memory Ambidex's agents read, exported by `ambidex memory export`.\n# Review it, \
                 commit it, and load it elsewhere with `ambidex memory import {}`.\n\n{body}",
                DEFAULT_FILE
            );
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|err| format!("cannot create {}: {err}", dir.display()))?;
            }
            std::fs::write(&path, text).map_err(|err| format!("cannot write {}: {err}", path.display()))?;
            println!("exported {count} active entries to {}", path.display());
        }
        MemoryCmd::Import { file } => {
            let text =
                std::fs::read_to_string(&file).map_err(|err| format!("cannot read {}: {err}", file.display()))?;
            let parsed: MemoryFile = toml::from_str(&text).map_err(|err| {
                format!(
                    "{} is not a memory file: {err}(expected [[entry]] tables with kind, text, scope)",
                    file.display()
                )
            })?;
            let mut added = 0;
            let mut known = 0;
            for entry in parsed.entries {
                let text = entry.text.trim().to_owned();
                let exists = entries.iter().any(|e| {
                    e.repo == repo && e.kind == entry.kind && e.text == text && e.status != MemoryStatus::Removed
                });
                if exists {
                    known += 1;
                    continue;
                }
                edit_quietly(
                    context,
                    MemoryEdit::Add { repo: repo.clone(), kind: entry.kind, text, scope: entry.scope },
                )?;
                added += 1;
            }
            println!("imported {added} entries from {} ({known} were known already)", file.display());
        }
    }
    Ok(Outcome::Done)
}

/// Every memory entry in the store (none when there is no store yet).
fn entries(context: &Context) -> Result<Vec<MemoryEntry>, String> {
    match context.reader()? {
        Some(reader) => reader.memory().map_err(|err| err.to_string()),
        None => Ok(Vec::new()),
    }
}

fn find<'a>(entries: &'a [MemoryEntry], reference: &str) -> Result<&'a MemoryEntry, String> {
    let found: Vec<&MemoryEntry> = entries.iter().filter(|e| e.id.matches_suffix(reference.trim())).collect();
    match found.as_slice() {
        [one] => Ok(one),
        [] => Err(format!("no memory entry ends in `{reference}`; `ambidex memory list --all` shows them")),
        _ => Err(format!("`{reference}` names {} memory entries: give more of the id", found.len())),
    }
}

/// Carries out `edit` (through the running engine when one holds the store) and says what changed.
fn edit(context: &Context, edit: MemoryEdit) -> Result<(), String> {
    let entry = edit_quietly(context, edit)?;
    println!("memory {} is {}: {}", entry.id.short(), entry.status, entry.text.lines().next().unwrap_or_default());
    Ok(())
}

fn edit_quietly(context: &Context, edit: MemoryEdit) -> Result<MemoryEntry, String> {
    let events = match context.writer()? {
        Writer::Local(engine) => {
            let events = engine
                .execute_blocking(Command::EditMemory { edit }, Actor::local_human())
                .map_err(|err| err.to_string());
            engine.shutdown();
            events?.into_iter().map(|event| event.kind.clone()).collect::<Vec<_>>()
        }
        Writer::Remote(client) => vec![block_on(client.edit_memory(&edit))?.map_err(|err| err.to_string())?.kind],
    };
    events
        .into_iter()
        .find_map(|kind| match kind {
            EventKind::MemoryChanged { entry, .. } => Some(entry),
            _ => None,
        })
        .ok_or_else(|| "the engine recorded no memory change".to_owned())
}

fn print_list(entries: &[&MemoryEntry], json: bool, empty: &str) -> Result<(), String> {
    if json {
        println!("{}", serde_json::to_string_pretty(entries).map_err(|err| err.to_string())?);
        return Ok(());
    }
    if entries.is_empty() {
        println!("{empty}");
        return Ok(());
    }
    let rows: Vec<Vec<String>> = entries
        .iter()
        .map(|e| {
            vec![
                e.id.short(),
                e.status.to_string(),
                e.kind.to_string(),
                if e.scope.is_empty() { "*".to_owned() } else { e.scope.join(",") },
                e.text.lines().next().unwrap_or_default().to_owned(),
            ]
        })
        .collect();
    print!("{}", table::render(&["ID", "STATUS", "KIND", "SCOPE", "TEXT"], &rows));
    Ok(())
}

fn describe(entry: &MemoryEntry) -> String {
    let source = match &entry.source {
        MemorySource::Human => "written by a human".to_owned(),
        MemorySource::Observed { task, what } => format!("proposed from task {}: {what}", task.short()),
    };
    let scope = if entry.scope.is_empty() { "the whole repository".to_owned() } else { entry.scope.join(", ") };
    format!(
        "memory {} ({}, {})\nrepository  {}\nscope       {scope}\nsource      {source}\ncreated     {}\nconfirmed   {}\n\n{}\n",
        entry.id, entry.kind, entry.status, entry.repo, entry.created, entry.confirmed, entry.text
    )
}
