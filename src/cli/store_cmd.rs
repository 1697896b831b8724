//! `ambidex store`: save the event log of a damaged store and make a new store from it.
//!
//! Exists because a damaged store file should cost at most the events after the damage: `salvage`
//! exports the verified prefix of the log, `rebuild` writes a fresh store from that export (into
//! a new state directory, never over an existing store).

use std::io::BufReader;
use std::path::PathBuf;

use clap::Subcommand;

use super::{Context, Outcome};
use ambidex::store::{Verification, rebuild, salvage};

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
}

pub fn run(command: StoreCmd, context: &Context) -> Result<Outcome, String> {
    let store = context.store_path();
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
