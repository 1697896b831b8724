//! `ambidex playbook`: check playbook files before the engine loads them, with the same verdict
//! the engine gives (file, line and reason), and show what the stages are.

use std::path::{Path, PathBuf};

use clap::Subcommand;

use ambidex::playbooks::playbook::{PlaybookFile, Playbooks, files_in};

use super::{Context, Outcome};

#[derive(Debug, Subcommand)]
pub enum PlaybookCmd {
    /// Check a playbook file, or every `*.toml` in a directory (default: the repository's
    /// `.ambidex/playbooks/`), as the engine loads them; exit 1 when one is refused
    Check {
        /// A playbook file or a directory of them
        path: Option<PathBuf>,
    },
}

pub fn run(command: PlaybookCmd, context: &Context) -> Result<Outcome, String> {
    let PlaybookCmd::Check { path } = command;
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
