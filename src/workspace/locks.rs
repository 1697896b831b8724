//! git's lock files (`*.lock`) left behind by a process that died while it wrote a ref, an index
//! or a worktree's `HEAD`.
//!
//! git takes a lock by creating `<file>.lock` and releases it by renaming that file over
//! `<file>`; a process killed in between leaves the lock, and every later write of that file
//! fails ("failed to lock file … for writing"). A lock is *ours* when it belongs to a ref or a
//! worktree of a task the caller's store knows (`refs/heads/ambidex/<task>/…`,
//! `refs/ambidex/<task>/…`, `.git/worktrees/ambidex-<task>-…/`): an engine holding that store's
//! lock knows nothing else writes them, so such locks are stale and can be removed. Every other
//! lock (the user's index, their branches, another state directory's tasks) is only named.

use std::path::{Path, PathBuf};

use super::WorkspaceError;
use super::checkpoint::CHECKPOINT_REFS;
use super::worktree::{BRANCH_PREFIX, open_repo};

/// A git lock file found in a repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitLock {
    /// The lock file.
    pub path: PathBuf,
    /// Whether it belongs to a ref or worktree of one of the tasks given (and so is stale once
    /// their engine holds the store).
    pub ours: bool,
}

impl GitLock {
    /// What to do about it, said for a person.
    pub fn advice(&self) -> String {
        if self.ours {
            format!("{} is left by an Ambidex run that stopped; the next engine start removes it", self.path.display())
        } else {
            format!(
                "{} is a git lock: if no git command is running in this repository, a process that \
                 stopped left it; delete it (`rm {}`) and try again",
                self.path.display(),
                self.path.display()
            )
        }
    }
}

/// Every lock file in the repository holding `repo`: its common git directory's own
/// (`index.lock`, `HEAD.lock`, `packed-refs.lock`, `config.lock`), those under `refs/`, and
/// those of each linked worktree's git directory. `tasks` are the short ids of the tasks whose
/// refs and worktrees count as ours.
pub fn git_locks(repo: &Path, tasks: &[String]) -> Result<Vec<GitLock>, WorkspaceError> {
    let repository = open_repo(repo)?;
    let common = repository.commondir().to_path_buf();
    let mut locks = Vec::new();
    for file in locks_in(&common, false) {
        locks.push(GitLock { path: common.join(&file), ours: false });
    }
    for file in locks_in(&common.join("refs"), true) {
        let reference = format!("refs/{}", file.trim_end_matches(".lock"));
        let ours = tasks.iter().any(|task| {
            reference.starts_with(&format!("refs/heads/{BRANCH_PREFIX}{task}/"))
                || reference.starts_with(&format!("{CHECKPOINT_REFS}/{task}/"))
        });
        locks.push(GitLock { path: common.join("refs").join(&file), ours });
    }
    let worktrees = common.join("worktrees");
    for name in subdirectories(&worktrees) {
        let ours = tasks.iter().any(|task| name.starts_with(&format!("ambidex-{task}-")));
        for file in locks_in(&worktrees.join(&name), false) {
            locks.push(GitLock { path: worktrees.join(&name).join(file), ours });
        }
    }
    locks.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(locks)
}

/// Removes the locks of [`git_locks`] that are ours and returns them with the ones left alone.
/// Only for an engine holding the store of `tasks`: it proves no run of theirs is writing.
pub fn clear_stale_locks(repo: &Path, tasks: &[String]) -> Result<(Vec<GitLock>, Vec<GitLock>), WorkspaceError> {
    let (ours, others): (Vec<GitLock>, Vec<GitLock>) = git_locks(repo, tasks)?.into_iter().partition(|l| l.ours);
    let mut removed = Vec::new();
    for lock in ours {
        match std::fs::remove_file(&lock.path) {
            Ok(()) => removed.push(lock),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => return Err(WorkspaceError::Io { path: lock.path, source }),
        }
    }
    Ok((removed, others))
}

/// The lock file a libgit2 error names ("failed to lock file '…/x.lock' for writing"), if any.
pub(crate) fn lock_in_error(error: &git2::Error) -> Option<PathBuf> {
    let message = error.message();
    let start = message.find('\'')? + 1;
    let end = start + message[start..].find('\'')?;
    let path = &message[start..end];
    path.ends_with(".lock").then(|| PathBuf::from(path))
}

/// The `*.lock` files in `dir` (relative, `/`-separated), descending into subdirectories when
/// `recursive`.
fn locks_in(dir: &Path, recursive: bool) -> Vec<String> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        match entry.file_type() {
            Ok(kind) if kind.is_dir() && recursive => {
                found.extend(locks_in(&entry.path(), true).into_iter().map(|inner| format!("{name}/{inner}")));
            }
            Ok(kind) if kind.is_file() && name.ends_with(".lock") => found.push(name),
            _ => {}
        }
    }
    found
}

fn subdirectories(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::workspace::{WorktreeRequest, create};

    #[test]
    fn only_the_known_tasks_locks_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path().join("repo");
        crate::workspace::tests::user_repo(&repo, &[("a.txt", "a\n")]);
        let task = crate::protocol::TaskId::new();
        let request = WorktreeRequest {
            repo: repo.clone(),
            task,
            candidate: "production".into(),
            base: None,
            root: dir.path().join("worktrees"),
        };
        let worktree = create(&request).unwrap();
        let git = repo.join(".git");
        let short = task.short();
        let branch_lock = git.join(format!("refs/heads/ambidex/{short}/production.lock"));
        let index_lock = git.join(format!("worktrees/{}/index.lock", worktree.name));
        let user_index = git.join("index.lock");
        let user_branch = git.join("refs/heads/mine.lock");
        let other_task = git.join("refs/heads/ambidex/zzzzzzzz/production.lock");
        std::fs::create_dir_all(other_task.parent().unwrap()).unwrap();
        for lock in [&branch_lock, &index_lock, &user_index, &user_branch, &other_task] {
            std::fs::write(lock, "").unwrap();
        }

        let (removed, kept) = clear_stale_locks(&repo, &[short]).unwrap();
        let removed: Vec<&PathBuf> = removed.iter().map(|l| &l.path).collect();
        let kept: Vec<&PathBuf> = kept.iter().map(|l| &l.path).collect();
        assert_eq!(removed.len(), 2, "{removed:?}");
        assert!(removed.contains(&&branch_lock) && removed.contains(&&index_lock));
        assert!(!branch_lock.exists() && !index_lock.exists());
        for lock in [&user_index, &user_branch, &other_task] {
            assert!(lock.exists() && kept.contains(&lock), "{} was touched", lock.display());
        }
        assert!(git_locks(&repo, &[]).unwrap().iter().all(|l| !l.ours));
    }

    #[test]
    fn the_lock_a_libgit2_error_names_is_found() {
        let error = git2::Error::from_str("failed to lock file '/r/.git/refs/heads/x.lock' for writing: ");
        assert_eq!(lock_in_error(&error), Some(PathBuf::from("/r/.git/refs/heads/x.lock")));
        assert_eq!(lock_in_error(&git2::Error::from_str("no such ref 'x'")), None);
    }
}
