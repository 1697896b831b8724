//! Reconciliation at engine start: the worktrees the store knows, the ones git lists, and the
//! directories on disk are compared; every disagreement is reported, nothing is deleted.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::WorkspaceError;
use super::worktree::{Worktree, open_repo, repo_key, uncommitted};

/// One disagreement between the store, git and the disk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "issue", rename_all = "snake_case")]
pub enum WorktreeIssue {
    /// The store knows it but its directory is gone.
    Missing {
        /// Where it should be.
        path: PathBuf,
    },
    /// It exists (in git or on disk) but the store does not know it.
    Orphaned {
        /// Where it is.
        path: PathBuf,
    },
    /// The store knows it and it holds uncommitted work.
    Dirty {
        /// Where it is.
        path: PathBuf,
        /// The changed files.
        files: Vec<String>,
    },
}

/// Compares `known` worktrees of the repository at `repo` with git's list and with the disk under
/// `root` (`<state dir>/worktrees`).
pub fn reconcile(repo: &Path, root: &Path, known: &[Worktree]) -> Result<Vec<WorktreeIssue>, WorkspaceError> {
    let repository = open_repo(repo)?;
    let known_paths: BTreeSet<PathBuf> = known.iter().map(|w| w.path.clone()).collect();
    let mut issues = Vec::new();
    for worktree in known {
        if !worktree.path.exists() {
            issues.push(WorktreeIssue::Missing { path: worktree.path.clone() });
            continue;
        }
        let files = uncommitted(&worktree.path)?;
        if !files.is_empty() {
            issues.push(WorktreeIssue::Dirty { path: worktree.path.clone(), files });
        }
    }
    let mut seen = BTreeSet::new();
    let names = repository.worktrees().map_err(|source| WorkspaceError::Git { action: "list worktrees", source })?;
    for name in names.iter().flatten().flatten().filter(|n| n.starts_with("ambidex-")) {
        if let Ok(worktree) = repository.find_worktree(name) {
            let path = worktree.path().to_owned();
            if !known_paths.contains(&path) && path.exists() {
                seen.insert(path.clone());
                issues.push(WorktreeIssue::Orphaned { path });
            }
        }
    }
    let main_root: PathBuf = repository.workdir().map(|d| d.components().collect()).unwrap_or_default();
    let repo_dir = root.join(repo_key(&main_root));
    for task_dir in read_dirs(&repo_dir) {
        for candidate_dir in read_dirs(&task_dir) {
            if !known_paths.contains(&candidate_dir) && !seen.contains(&candidate_dir) {
                issues.push(WorktreeIssue::Orphaned { path: candidate_dir });
            }
        }
    }
    Ok(issues)
}

fn read_dirs(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut dirs: Vec<PathBuf> =
        entries.flatten().filter(|e| e.file_type().is_ok_and(|t| t.is_dir())).map(|e| e.path()).collect();
    dirs.sort();
    dirs
}
