//! Creating, committing in and removing the git worktrees agents work in.
//!
//! Each task and each candidate gets its own worktree under the state directory, on its own branch
//! `ambidex/<task>/<candidate>`, created from a base commit. The user's checkout (its working tree,
//! index and current branch) is never touched: everything goes through the worktree's own
//! repository handle.

use std::path::{Path, PathBuf};

use git2::{BranchType, IndexAddOption, Repository, Signature, StatusOptions, WorktreeAddOptions};
use serde::{Deserialize, Serialize};

use super::WorkspaceError;
use crate::protocol::TaskId;

/// Prefix of every branch Ambidex creates; pushing anything else is refused elsewhere.
pub const BRANCH_PREFIX: &str = "ambidex/";

/// Which worktree to create.
#[derive(Debug, Clone)]
pub struct WorktreeRequest {
    /// The user's repository (any path inside it).
    pub repo: PathBuf,
    /// The task the worktree belongs to.
    pub task: TaskId,
    /// The candidate's label: `production`, `c1`, `eval`, … (letters, digits, `-`, `_`).
    pub candidate: String,
    /// The base: any revision git understands; `None` means the repository's `HEAD`.
    pub base: Option<String>,
    /// The directory that holds all worktrees (`<state dir>/worktrees`).
    pub root: PathBuf,
}

/// A worktree Ambidex made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Worktree {
    /// The user's repository root.
    pub repo: PathBuf,
    /// The worktree's directory.
    pub path: PathBuf,
    /// Its branch, `ambidex/<task>/<candidate>`.
    pub branch: String,
    /// Git's name for it (`ambidex-<task>-<candidate>`).
    pub name: String,
    /// The commit it started from (hex).
    pub base: String,
}

/// The identity commits are made with.
#[derive(Debug, Clone)]
pub struct Author {
    /// Name.
    pub name: String,
    /// Email.
    pub email: String,
}

fn valid_label(label: &str) -> bool {
    !label.is_empty() && label.len() <= 40 && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Opens the user's repository, refusing bare repositories.
pub(super) fn open_repo(path: &Path) -> Result<Repository, WorkspaceError> {
    let repo = Repository::discover(path)
        .map_err(|source| WorkspaceError::NotARepo { path: path.to_owned(), detail: source.message().to_owned() })?;
    if repo.is_bare() {
        return Err(WorkspaceError::NotARepo {
            path: path.to_owned(),
            detail: "it is a bare repository; point Ambidex at a checkout".into(),
        });
    }
    Ok(repo)
}

fn repo_root(repo: &Repository) -> PathBuf {
    // For a linked worktree, `commondir` is the main repository's `.git`.
    let common = repo.commondir();
    let main = if common.ends_with(".git") { common.parent().unwrap_or(common) } else { common };
    main.components().collect()
}

/// libgit2 is not safe against concurrent worktree creation in one repository (each checks the
/// others' state while they are half-written), so this process creates one at a time.
static CREATING: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// What [`prepare`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Prepared {
    /// The worktree was there and verified: it is reused as it is.
    Reused(Worktree),
    /// There was none: it was made.
    Created(Worktree),
    /// One was there but could not be trusted (a run killed while it was made, files or `.git`
    /// gone, another branch checked out): it was removed and made again.
    Recreated {
        /// The new worktree.
        worktree: Worktree,
        /// What was wrong with the old one.
        reason: String,
    },
}

impl Prepared {
    /// The worktree, however it came to be.
    pub fn into_worktree(self) -> Worktree {
        match self {
            Prepared::Reused(worktree) | Prepared::Created(worktree) | Prepared::Recreated { worktree, .. } => worktree,
        }
    }
}

/// Creates the worktree, or returns the existing one when it was already made for this task and
/// candidate and verifies (so a resumed task finds its work where it left it); a broken one is
/// made again (see [`prepare`]).
pub fn create(request: &WorktreeRequest) -> Result<Worktree, WorkspaceError> {
    prepare(request).map(Prepared::into_worktree)
}

/// Like [`create`], saying what it did. An existing worktree is trusted only if it verifies: its
/// directory exists, its `.git` points at this repository's record of it, its checkout finished
/// (it has an index and not every tracked file is gone), its branch exists and its `HEAD` is on
/// it. Otherwise it is removed (directory and git's record; the branch and its commits stay) and
/// made again on the branch, or from the base when the branch is gone.
pub fn prepare(request: &WorktreeRequest) -> Result<Prepared, WorkspaceError> {
    if !valid_label(&request.candidate) {
        return Err(WorkspaceError::BadLabel(request.candidate.clone()));
    }
    let _one_at_a_time = CREATING.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let repo = open_repo(&request.repo)?;
    let root = repo_root(&repo);
    let short = request.task.short();
    let branch = format!("{BRANCH_PREFIX}{short}/{}", request.candidate);
    let name = format!("ambidex-{short}-{}", request.candidate);
    let path = request.root.join(repo_key(&root)).join(&short).join(&request.candidate);
    let git = |source: git2::Error| WorkspaceError::git("create the worktree", source);

    let base_rev = request.base.as_deref().unwrap_or("HEAD");
    let base = repo
        .revparse_single(base_rev)
        .and_then(|object| object.peel_to_commit())
        .map_err(|source| WorkspaceError::BadBase { rev: base_rev.to_owned(), detail: source.message().to_owned() })?;

    let gitdir = repo.commondir().join("worktrees").join(&name);
    let mut existing = repo.find_worktree(&name).ok().map(|w| w.path().to_owned());
    let staged = |found: &PathBuf| {
        let meant = super::git_checkout::staged_for(found);
        meant.zip(path.parent()).is_some_and(|(meant, parent)| same_place(meant, parent))
    };
    if existing.as_ref().is_some_and(staged) {
        // Killed between adding it and moving it into place: its record and checkout go.
        discard(&repo, &name, &gitdir, &path)?;
        existing = None;
    }
    if existing.as_ref().is_some_and(|found| !same_place(found, &path)) {
        // Made for this name under another state directory: not ours to judge or remove.
        return Err(WorkspaceError::Conflict { name, path: existing.unwrap_or(path) });
    }
    let mut reason = None;
    if existing.is_some() || path.exists() || gitdir.exists() {
        match broken(&repo, &gitdir, &path, &branch) {
            None => {
                let base = merge_base_or(&repo, &branch, base.id());
                return Ok(Prepared::Reused(Worktree { repo: root, path, branch, name, base }));
            }
            Some(why) => {
                discard(&repo, &name, &gitdir, &path)?;
                reason = Some(why);
            }
        }
    }
    let reference = match repo.find_branch(&branch, BranchType::Local) {
        Ok(existing) => existing.into_reference(),
        Err(_) => repo.branch(&branch, &base, false).map_err(git)?.into_reference(),
    };
    crate::crash::point("worktree.branch");
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|source| WorkspaceError::Io { path: parent.to_owned(), source })?;
    }
    let gitdir_free = !gitdir.exists();
    let by_program = gitdir_free && super::git_checkout::add(&root, &name, &path, &branch).is_ok();
    if !by_program {
        // Whatever a failed or killed attempt left is cleared before libgit2 adds it.
        if path.exists() || gitdir.exists() {
            discard(&repo, &name, &gitdir, &path)?;
        }
        let mut options = WorktreeAddOptions::new();
        options.reference(Some(&reference));
        repo.worktree(&name, &path, Some(&options)).map_err(git)?;
    }
    crate::crash::point("worktree.checkout");
    let worktree = Worktree { repo: root, path, branch, name, base: base.id().to_string() };
    Ok(match reason {
        Some(reason) => Prepared::Recreated { worktree, reason },
        None => Prepared::Created(worktree),
    })
}

/// Why the worktree at `path` (git directory `gitdir`) cannot be trusted, or `None`.
fn broken(repo: &Repository, gitdir: &Path, path: &Path, branch: &str) -> Option<String> {
    if !path.is_dir() {
        return Some("its directory is gone".into());
    }
    let dot_git = std::fs::read_to_string(path.join(".git")).unwrap_or_default();
    let pointed = dot_git.trim().strip_prefix("gitdir:").map(|p| PathBuf::from(p.trim()));
    if !pointed.is_some_and(|pointed| same_place(&pointed, gitdir)) {
        return Some("its `.git` does not point at the repository's record of it".into());
    }
    if !gitdir.join("index").is_file() {
        return Some("its checkout never finished (it has no index)".into());
    }
    if repo.find_branch(branch, BranchType::Local).is_err() {
        return Some(format!("its branch `{branch}` is gone"));
    }
    let Ok(worktree) = Repository::open(path) else {
        return Some("git cannot open it".into());
    };
    let head = worktree.head().ok().and_then(|h| h.shorthand().ok().map(str::to_owned));
    if head.as_deref() != Some(branch) {
        return Some(format!("its HEAD is not on `{branch}`"));
    }
    let index = worktree.index().ok()?;
    let tracked = index.iter().map(|entry| String::from_utf8_lossy(&entry.path).into_owned()).collect::<Vec<_>>();
    if !tracked.is_empty() && !tracked.iter().any(|file| path.join(file).symlink_metadata().is_ok()) {
        return Some(format!("every one of its {} tracked files is gone", tracked.len()));
    }
    None
}

/// Whether two paths name the same place (as written, or once links are resolved).
fn same_place(a: &Path, b: &Path) -> bool {
    a.components().eq(b.components()) || a.canonicalize().ok().is_some_and(|a| b.canonicalize().ok() == Some(a))
}

/// Removes a broken worktree: its directory, git's record of it and any checkout a killed attempt
/// staged beside it (the branch stays).
fn discard(repo: &Repository, name: &str, gitdir: &Path, path: &Path) -> Result<(), WorkspaceError> {
    if path.exists() {
        std::fs::remove_dir_all(path).map_err(|source| WorkspaceError::Io { path: path.to_owned(), source })?;
    }
    if let Ok(record) = repo.find_worktree(name) {
        let mut prune = git2::WorktreePruneOptions::new();
        prune.valid(true).locked(true).working_tree(true);
        // A record too broken to prune is removed below with its directory.
        let _ = record.prune(Some(&mut prune));
    }
    if gitdir.exists() {
        std::fs::remove_dir_all(gitdir).map_err(|source| WorkspaceError::Io { path: gitdir.to_owned(), source })?;
    }
    // A checkout staged by an attempt killed before moving it into place.
    if let Some(parent) = path.parent() {
        super::git_checkout::clear_leftovers(parent);
    }
    Ok(())
}

/// The base of an existing branch: where it forked from `fallback`'s history.
fn merge_base_or(repo: &Repository, branch: &str, fallback: git2::Oid) -> String {
    repo.find_branch(branch, BranchType::Local)
        .ok()
        .and_then(|b| b.get().target())
        .and_then(|tip| repo.merge_base(tip, fallback).ok())
        .unwrap_or(fallback)
        .to_string()
}

/// A short, stable directory name for a repository: its folder name and a hash of its path.
pub fn repo_key(root: &Path) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(root.as_os_str().as_encoded_bytes());
    let name: String = root
        .file_name()
        .map(|n| n.to_string_lossy().chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect())
        .unwrap_or_default();
    format!(
        "{}-{:02x}{:02x}{:02x}{:02x}",
        if name.is_empty() { "repo" } else { &name },
        digest[0],
        digest[1],
        digest[2],
        digest[3]
    )
}

/// Paths with uncommitted changes (untracked files included), relative to the worktree.
pub fn uncommitted(path: &Path) -> Result<Vec<String>, WorkspaceError> {
    let repo =
        super::baseline::open(path).map_err(|source| WorkspaceError::Git { action: "open the worktree", source })?;
    let mut options = StatusOptions::new();
    options.include_untracked(true).recurse_untracked_dirs(true).include_ignored(false);
    let statuses = repo
        .statuses(Some(&mut options))
        .map_err(|source| WorkspaceError::Git { action: "read the worktree status", source })?;
    Ok(statuses.iter().filter_map(|entry| entry.path().ok().map(str::to_owned)).collect())
}

/// Commits everything in the worktree (new, changed and deleted files) on its branch. Returns the
/// new commit, or `None` when there was nothing to commit. In a repository without commits yet,
/// this makes the first one.
pub fn commit_all(path: &Path, author: &Author, message: &str) -> Result<Option<String>, WorkspaceError> {
    let git = |source: git2::Error| WorkspaceError::git("commit in the worktree", source);
    let repo = super::baseline::open(path).map_err(git)?;
    let mut index = repo.index().map_err(git)?;
    index.add_all(["*"], IndexAddOption::DEFAULT, None).map_err(git)?;
    index.update_all(["*"], None).map_err(git)?;
    index.write().map_err(git)?;
    crate::crash::point("commit.index");
    let tree_id = index.write_tree().map_err(git)?;
    // A repository without commits yet (`init_repo`) gets its first, parentless commit.
    let parent = match repo.head() {
        Err(err) if err.code() == git2::ErrorCode::UnbornBranch => None,
        head => Some(head.and_then(|h| h.peel_to_commit()).map_err(git)?),
    };
    if parent.as_ref().is_some_and(|parent| parent.tree_id() == tree_id) {
        return Ok(None);
    }
    let tree = repo.find_tree(tree_id).map_err(git)?;
    let signature = Signature::now(&author.name, &author.email).map_err(git)?;
    let parents: Vec<&git2::Commit<'_>> = parent.iter().collect();
    let id = repo.commit(Some("HEAD"), &signature, &signature, message, &tree, &parents).map_err(git)?;
    crate::crash::point("commit.written");
    Ok(Some(id.to_string()))
}

/// Removes the worktree's directory and git's record of it; the branch (and its commits) stay.
/// Refused while it holds uncommitted work, unless `discard_approved` (a gate said so).
pub fn remove(worktree: &Worktree, discard_approved: bool) -> Result<(), WorkspaceError> {
    if worktree.path.exists() && !discard_approved {
        let dirty = uncommitted(&worktree.path)?;
        if !dirty.is_empty() {
            return Err(WorkspaceError::Dirty { path: worktree.path.clone(), files: dirty });
        }
    }
    if worktree.path.exists() {
        std::fs::remove_dir_all(&worktree.path)
            .map_err(|source| WorkspaceError::Io { path: worktree.path.clone(), source })?;
    }
    let repo = open_repo(&worktree.repo)?;
    if let Ok(record) = repo.find_worktree(&worktree.name) {
        let mut prune = git2::WorktreePruneOptions::new();
        prune.valid(true).working_tree(true);
        record
            .prune(Some(&mut prune))
            .map_err(|source| WorkspaceError::Git { action: "prune the worktree", source })?;
    }
    Ok(())
}

/// Deletes an `ambidex/` branch of the repository holding `repo`; a branch that is already gone
/// is fine. Refused for any other branch: the user's own branches are never touched.
pub fn delete_branch(repo: &Path, branch: &str) -> Result<(), WorkspaceError> {
    if !branch.starts_with(BRANCH_PREFIX) {
        return Err(WorkspaceError::NotOurs(branch.to_owned()));
    }
    let repo = open_repo(repo)?;
    match repo.find_branch(branch, BranchType::Local) {
        Ok(mut found) => found.delete().map_err(|source| WorkspaceError::Git { action: "delete the branch", source }),
        Err(err) if err.code() == git2::ErrorCode::NotFound => Ok(()),
        Err(source) => Err(WorkspaceError::Git { action: "find the branch", source }),
    }
}

/// The bytes the files under `path` take (symbolic links are not followed); what cannot be read
/// counts as nothing.
pub fn disk_usage(path: &Path) -> u64 {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return 0;
    };
    if !meta.is_dir() {
        return meta.len();
    }
    let Ok(entries) = std::fs::read_dir(path) else {
        return 0;
    };
    entries.flatten().map(|entry| disk_usage(&entry.path())).sum()
}

/// Puts the worktree back to `commit` exactly: its branch moves there, tracked files are reset
/// and untracked ones deleted. Ignored files (build output) stay, so rebuilds are incremental.
/// Only for scratch worktrees the engine owns (the evaluation copies); never for an agent's.
pub fn reset_to(path: &Path, commit: &str) -> Result<(), WorkspaceError> {
    let git = |action: &'static str| move |source: git2::Error| WorkspaceError::Git { action, source };
    let repo = Repository::open(path).map_err(git("open the worktree"))?;
    let target = repo.revparse_single(commit).map_err(git("find the base commit"))?;
    repo.reset(&target, git2::ResetType::Hard, None).map_err(git("reset the worktree"))?;
    for file in uncommitted(path)? {
        let full = path.join(&file);
        let removed = if full.is_dir() { std::fs::remove_dir_all(&full) } else { std::fs::remove_file(&full) };
        removed.map_err(|source| WorkspaceError::Io { path: full, source })?;
    }
    Ok(())
}

/// The text of `file` at `commit` in the repository holding `path`; `None` when it did not exist
/// there or is not UTF-8.
pub fn file_at(path: &Path, commit: &str, file: &str) -> Option<String> {
    let repo = Repository::open(path).ok()?;
    let tree = repo.revparse_single(commit).ok()?.peel_to_commit().ok()?.tree().ok()?;
    let blob = tree.get_path(Path::new(file)).ok()?.to_object(&repo).ok()?.peel_to_blob().ok()?;
    String::from_utf8(blob.content().to_vec()).ok()
}
