//! What a worktree's setup step generated (a lockfile no commit holds, a virtualenv): part of
//! the worktree's baseline, never of the change. The entries are kept in the worktree's private
//! git directory (`.git/worktrees/<name>/ambidex-baseline`, which neither the user's checkout nor
//! another worktree reads) and every function here that looks at the change (its diff, status,
//! commit and checkpoints) opens the worktree through [`open`], which ignores them. A task that
//! is about one of them (its plan names it) takes it back into the change with [`release`].

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use git2::{Repository, StatusOptions};

use super::WorkspaceError;

/// The file, in the worktree's own git directory, that lists the baseline's entries.
const BASELINE_FILE: &str = "ambidex-baseline";

/// Opens the worktree (or checkout) at `path` with its baseline's entries ignored.
pub(super) fn open(path: &Path) -> Result<Repository, git2::Error> {
    let repo = Repository::open(path)?;
    let entries = read(repo.path());
    if !entries.is_empty() {
        let rules: Vec<String> = entries.iter().map(|entry| format!("/{}", escape(entry))).collect();
        repo.add_ignore_rule(&rules.join("\n"))?;
    }
    Ok(repo)
}

/// The untracked, not ignored entries at `path` as git shows them: files, and directories
/// whose every file is untracked as one entry ending in `/` (a virtualenv is one entry).
pub fn untracked_entries(path: &Path) -> Result<BTreeSet<String>, WorkspaceError> {
    let git = |source| WorkspaceError::git("read the worktree status", source);
    let repo = open(path).map_err(git)?;
    let mut options = StatusOptions::new();
    options.include_untracked(true).recurse_untracked_dirs(false).include_ignored(false);
    let statuses = repo.statuses(Some(&mut options)).map_err(git)?;
    Ok(statuses
        .iter()
        .filter(|entry| entry.status().is_wt_new())
        .filter_map(|entry| entry.path().ok().map(str::to_owned))
        .collect())
}

/// Adds `entries` (relative to the worktree, directories ending in `/`) to the baseline of the
/// worktree at `path`.
pub fn record(path: &Path, entries: &BTreeSet<String>) -> Result<(), WorkspaceError> {
    if entries.is_empty() {
        return Ok(());
    }
    let file = baseline_file(path)?;
    let mut all: BTreeSet<String> = read_file(&file).into_iter().collect();
    all.extend(entries.iter().cloned());
    write(&file, &all)
}

/// The baseline's entries of the worktree at `path`.
pub fn baseline(path: &Path) -> Vec<String> {
    Repository::open(path).map(|repo| read(repo.path())).unwrap_or_default()
}

/// Takes back into the change the baseline entries `wanted` names (a path the plan lists, or a
/// directory above it); returns the entries released.
pub fn release(path: &Path, wanted: &[String]) -> Result<Vec<String>, WorkspaceError> {
    let file = baseline_file(path)?;
    let all = read_file(&file);
    let named = |entry: &String| {
        wanted.iter().any(|w| {
            let w = w.trim_start_matches("./");
            w == entry.trim_end_matches('/') || (entry.ends_with('/') && w.starts_with(entry.as_str()))
        })
    };
    let (released, kept): (Vec<String>, Vec<String>) = all.into_iter().partition(named);
    if !released.is_empty() {
        write(&file, &kept.into_iter().collect())?;
    }
    Ok(released)
}

fn baseline_file(path: &Path) -> Result<PathBuf, WorkspaceError> {
    let repo = Repository::open(path).map_err(|source| WorkspaceError::git("open the worktree", source))?;
    Ok(repo.path().join(BASELINE_FILE))
}

fn read(git_dir: &Path) -> Vec<String> {
    read_file(&git_dir.join(BASELINE_FILE))
}

fn read_file(file: &Path) -> Vec<String> {
    std::fs::read_to_string(file)
        .map(|text| text.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned).collect())
        .unwrap_or_default()
}

fn write(file: &Path, entries: &BTreeSet<String>) -> Result<(), WorkspaceError> {
    let text: String = entries.iter().map(|entry| format!("{entry}\n")).collect();
    let temp = file.with_extension("tmp");
    std::fs::write(&temp, text)
        .and_then(|()| std::fs::rename(&temp, file))
        .map_err(|source| WorkspaceError::Io { path: file.to_owned(), source })
}

/// A path as a gitignore pattern that matches only itself.
fn escape(entry: &str) -> String {
    let mut pattern = String::with_capacity(entry.len());
    for c in entry.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\' | '!' | '#' | ' ') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern
}
