//! Isolated workspaces: one git worktree per task and per candidate, their diffs against the
//! base, commits on their own branches, removal, and reconciliation with git and the disk.
//!
//! This is where the crate talks to git: the other modules ask for paths, patches, logs and
//! commits through the functions here and never hold a libgit2 handle (the one exception, the
//! forge's push with its credential callbacks, is listed in `docs/architecture.md`).

mod baseline;
mod blobs;
mod checkpoint;
mod clone_cache;
mod diff;
mod git_checkout;
mod history;
mod locks;
mod reconcile;
mod repo;
mod worktree;

use std::path::PathBuf;

pub use baseline::{baseline, record as record_baseline, release as release_baseline, untracked_entries};
pub use blobs::{IndexBlobs, blob_id};
pub use checkpoint::{CHECKPOINT_REFS, checkpoint, delete_task_refs, holds_checkpoint, restore};
pub use clone_cache::{cached_clone, is_repo_url, latest_task_state, push_task_refs, sync_clone};
pub use diff::{
    FileStat, SplitCommit, WorkDiff, branch_patch, diff_against, resolve_commit, rev_patch, split_commit, text_diff,
};
pub use git_checkout::git_command;
pub use history::{Log, LogError, LoggedCommit, RevertCommit, log, reverts};
pub use locks::{GitLock, clear_stale_locks, git_locks};
pub use reconcile::{WorktreeIssue, reconcile};
pub use repo::{
    apply_patch, git_common_dir, head_commit, head_name, init_repo, libgit2_version, repo_root, tracked_files,
};
pub use worktree::{
    Author, BRANCH_PREFIX, Prepared, Worktree, WorktreeRequest, commit_all, create, delete_branch, disk_usage, file_at,
    prepare, remove, repo_key, reset_to, uncommitted,
};

/// A workspace operation that failed, said so the user (or agent) knows what to do.
#[derive(Debug, thiserror::Error)]
pub enum WorkspaceError {
    /// The path is not inside a usable git repository.
    #[error("{} is not a git checkout Ambidex can work on: {detail}", path.display())]
    NotARepo {
        /// The path given.
        path: PathBuf,
        /// Why.
        detail: String,
    },
    /// The base revision does not name a commit.
    #[error("the base `{rev}` is not a commit in this repository: {detail}")]
    BadBase {
        /// The revision given.
        rev: String,
        /// What git said.
        detail: String,
    },
    /// A candidate label with characters git or the disk would not like.
    #[error("`{0}` is not a valid candidate label (letters, digits, `-` and `_`, at most 40)")]
    BadLabel(String),
    /// Something else is already there.
    #[error("a worktree `{name}` or its directory {} already exists and is not this task's; remove it or pick another candidate label", path.display())]
    Conflict {
        /// Git's worktree name.
        name: String,
        /// The directory.
        path: PathBuf,
    },
    /// Refused: the branch is not one Ambidex made.
    #[error("the branch `{0}` is not one Ambidex made (`ambidex/…`); it is left alone")]
    NotOurs(String),
    /// Removal refused: the worktree holds work that is not committed.
    #[error("the worktree {} has uncommitted changes ({}); commit them or approve discarding them", path.display(), files.join(", "))]
    Dirty {
        /// The worktree.
        path: PathBuf,
        /// The changed files.
        files: Vec<String>,
    },
    /// A git operation failed.
    #[error("could not {action}: {}", source.message())]
    Git {
        /// What was being done.
        action: &'static str,
        /// What libgit2 said.
        #[source]
        source: git2::Error,
    },
    /// A git lock file is in the way: a git command is running, or one that stopped left it.
    #[error(
        "could not {action}: git's lock file {} is in the way; if no git command is running in that \
         repository, a process that stopped left it: delete it and try again (Ambidex removes the stale \
         locks of its own branches and worktrees when an engine starts)",
        lock.display()
    )]
    Locked {
        /// What was being done.
        action: &'static str,
        /// The lock file.
        lock: PathBuf,
    },
    /// A filesystem operation failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

impl WorkspaceError {
    /// A libgit2 failure, naming the lock file when a stale lock is what stopped it.
    pub(crate) fn git(action: &'static str, source: git2::Error) -> WorkspaceError {
        match locks::lock_in_error(&source) {
            Some(lock) => WorkspaceError::Locked { action, lock },
            None => WorkspaceError::Git { action, source },
        }
    }
}

#[cfg(test)]
#[path = "workspace_tests.rs"]
mod tests;
