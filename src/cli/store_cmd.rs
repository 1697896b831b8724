//! `ambidex store`: save the event log of a damaged store and make a new store from it, or give
//! back the space a store no longer uses.
//!
//! Exists because a damaged store file should cost at most the events after the damage: `salvage`
//! exports the verified prefix of the log, `rebuild` writes a fresh store from that export (into
//! a new state directory, never over an existing store). `compact` shrinks the file.

use std::io::BufReader;
use std::path::PathBuf;

use clap::Subcommand;

use super::{Context, Outcome};
use ambidex::store::{StoreError, StoreUrl, Verification, compact, rebuild, salvage, transfer};

#[derive(Debug, Subcommand)]
pub enum StoreCmd {
    /// Export every event from #1 whose hash chain verifies, one JSON event per line, stopping at
    /// the first damaged event (exit 0: the whole log, 1: a prefix up to the damage)
    Salvage {
        /// The file to write (must not exist)
        out: PathBuf,
    },
    /// Write a new store from a `store salvage` export, verifying its hash chain line by line
    /// (the state directory must not hold a store yet: use `--state-dir NEW_DIR`)
    Rebuild {
        /// The export to read
        input: PathBuf,
    },
    /// Move the whole store to another backend (`redb://PATH` or `postgres://USER@HOST/DB`),
    /// keeping every event's seq, time and hashes, and verify the chain at the target; the target
    /// must be empty. Then point `store.url` at the target
    Migrate {
        /// The store to move (default: this configuration's `store.url`)
        #[arg(long)]
        from: Option<String>,
        /// The empty store to fill
        #[arg(long)]
        to: String,
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Give back the space the store's file no longer uses (stop the control room and `serve`
    /// first), verify the log, and say how big the store is per event
    Compact {
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
}

pub fn run(command: StoreCmd, context: &Context) -> Result<Outcome, String> {
    let store = context.store_path();
    if !matches!(command, StoreCmd::Migrate { .. }) && context.store_url()?.is_shared() {
        return Err(format!(
            "`store salvage`, `rebuild` and `compact` work on the embedded file; {} is a PostgreSQL store, which \
             the server keeps (its backups, VACUUM); `ambidex store migrate --to redb://PATH` copies it into a file",
            store.display()
        ));
    }
    match command {
        StoreCmd::Salvage { out } => {
            let file =
                std::fs::OpenOptions::new().write(true).create_new(true).open(&out).map_err(|err| {
                    format!("cannot create {}: {err} (salvage never overwrites a file)", out.display())
                })?;
            let mut writer = std::io::BufWriter::new(file);
            let saved = salvage(&store, &mut writer).map_err(|err| {
                // The export holds nothing useful then; an empty file would only mislead.
                let _ = std::fs::remove_file(&out);
                err.to_string()
            })?;
            drop(writer);
            println!("saved {} events (#1 to #{}) to {}", saved.saved, saved.saved, out.display());
            match saved.damage {
                None => {
                    println!("the export is complete (head {})", saved.head);
                    Ok(Outcome::Done)
                }
                Some(damage) => {
                    println!("the damage begins at event #{}: {}", damage.seq, damage.reason);
                    println!("everything from #{} on could not be saved", damage.seq);
                    Ok(Outcome::Exit(1))
                }
            }
        }
        StoreCmd::Migrate { from, to, json } => {
            let from = match from {
                Some(from) => StoreUrl::parse(&from, &context.state_dir)?,
                None => context.store_url()?,
            };
            let to = StoreUrl::parse(&to, &context.state_dir)?;
            let moved = transfer(&from, &to).map_err(|err| format!("cannot move {from} to {to}: {err}"))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&moved).map_err(|err| err.to_string())?);
            } else {
                println!("moved {} events and {} tasks from {from} to {to}", moved.events, moved.tasks);
                if let Verification::Ok { events, head } = &moved.verification {
                    println!("the chain verifies at the target: {events} events, head {head}");
                }
                println!("next: set `store.url = \"{to}\"` in your user config (~/.config/ambidex/config.toml)");
            }
            Ok(Outcome::Done)
        }
        StoreCmd::Compact { json } => {
            if !store.exists() {
                return Err(format!("there is no store at {} yet: nothing to compact", store.display()));
            }
            let done = compact(&store).map_err(|err| match err {
                StoreError::InUse { .. } => format!(
                    "the store {} is in use by another Ambidex process (the control room or `ambidex serve`); \
                     stop it, then compact",
                    store.display()
                ),
                other => other.to_string(),
            })?;
            if json {
                println!("{}", serde_json::to_string_pretty(&done).map_err(|err| err.to_string())?);
            } else {
                let mb = |bytes: u64| bytes as f64 / 1e6;
                println!("compacted {}: {:.1} MB → {:.1} MB", store.display(), mb(done.before), mb(done.after));
                if let (Some(per_event), Some(json_per_event)) =
                    (done.after.checked_div(done.events), done.events_json.checked_div(done.events))
                {
                    println!(
                        "{} events: {per_event} bytes each in the store, {json_per_event} as JSON ({:.2}×)",
                        done.events,
                        per_event as f64 / json_per_event.max(1) as f64
                    );
                }
            }
            match done.verification {
                Verification::Ok { events, head } => {
                    if !json {
                        println!("audit verify: ok: {events} events (head {head})");
                    }
                    Ok(Outcome::Done)
                }
                Verification::Broken { seq, reason, .. } => {
                    Err(format!("after compacting, the log does not verify at event #{seq}: {reason}"))
                }
            }
        }
        StoreCmd::Rebuild { input } => {
            let file = std::fs::File::open(&input).map_err(|err| format!("cannot open {}: {err}", input.display()))?;
            let rebuilt = rebuild(&store, &mut BufReader::new(file))
                .map_err(|err| format!("cannot rebuild from {}: {err}", input.display()))?;
            println!(
                "rebuilt {} with {} events and {} tasks from {}",
                store.display(),
                rebuilt.events,
                rebuilt.tasks,
                input.display()
            );
            match rebuilt.verification {
                Verification::Ok { events, head } => {
                    println!("audit verify: ok: {events} events (head {head})");
                    Ok(Outcome::Done)
                }
                Verification::Broken { seq, reason, .. } => {
                    Err(format!("the rebuilt store does not verify at event #{seq}: {reason}"))
                }
            }
        }
    }
}
