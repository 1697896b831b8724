//! The change a worktree holds against its base commit: committed, staged, unstaged and untracked
//! work together, as unified text and per-file statistics.

use std::path::Path;

use git2::{Diff, DiffFormat, DiffOptions, Oid, Patch};
use serde::{Deserialize, Serialize};

use super::WorkspaceError;

/// Lines added and removed in one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileStat {
    /// The path, relative to the worktree (the new path for renames).
    pub path: String,
    /// Lines added.
    pub added: usize,
    /// Lines removed.
    pub removed: usize,
    /// `added`, `modified`, `deleted`, `renamed`, …
    pub status: String,
    /// Whether git considers it binary.
    pub binary: bool,
}

/// A worktree's change against its base.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct WorkDiff {
    /// Unified diff text (`git diff` style).
    pub patch: String,
    /// One entry per changed file, in path order.
    pub files: Vec<FileStat>,
}

impl WorkDiff {
    /// Total lines added.
    pub fn added(&self) -> usize {
        self.files.iter().map(|f| f.added).sum()
    }

    /// Total lines removed.
    pub fn removed(&self) -> usize {
        self.files.iter().map(|f| f.removed).sum()
    }
}

fn status_name(delta: git2::Delta) -> &'static str {
    match delta {
        git2::Delta::Added | git2::Delta::Untracked => "added",
        git2::Delta::Deleted => "deleted",
        git2::Delta::Modified => "modified",
        git2::Delta::Renamed => "renamed",
        git2::Delta::Copied => "copied",
        git2::Delta::Typechange => "typechange",
        _ => "changed",
    }
}

fn collect(diff: &Diff<'_>) -> Result<WorkDiff, git2::Error> {
    let mut files = Vec::with_capacity(diff.deltas().len());
    for index in 0..diff.deltas().len() {
        let Some(delta) = diff.get_delta(index) else {
            continue;
        };
        let path = delta
            .new_file()
            .path()
            .or_else(|| delta.old_file().path())
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        let binary = delta.new_file().is_binary() || delta.old_file().is_binary();
        let (added, removed) = match Patch::from_diff(diff, index)? {
            Some(patch) => {
                let (_, added, removed) = patch.line_stats()?;
                (added, removed)
            }
            None => (0, 0),
        };
        files.push(FileStat { path, added, removed, status: status_name(delta.status()).to_owned(), binary });
    }
    let mut patch = String::new();
    diff.print(DiffFormat::Patch, |_, _, line| {
        if matches!(line.origin(), '+' | '-' | ' ') {
            patch.push(line.origin());
        }
        patch.push_str(&String::from_utf8_lossy(line.content()));
        true
    })?;
    Ok(WorkDiff { patch, files })
}

/// The worktree at `path` against commit `base` (hex), untracked files included.
pub fn diff_against(path: &Path, base: &str) -> Result<WorkDiff, WorkspaceError> {
    let git = |source: git2::Error| WorkspaceError::Git { action: "diff the worktree", source };
    let repo = super::baseline::open(path).map_err(git)?;
    let base = Oid::from_str(base)
        .and_then(|oid| repo.find_commit(oid))
        .map_err(|source| WorkspaceError::BadBase { rev: base.to_owned(), detail: source.message().to_owned() })?;
    let tree = base.tree().map_err(git)?;
    let mut options = DiffOptions::new();
    options.include_untracked(true).recurse_untracked_dirs(true).show_untracked_content(true);
    let mut diff = repo.diff_tree_to_workdir_with_index(Some(&tree), Some(&mut options)).map_err(git)?;
    diff.find_similar(None).map_err(git)?;
    collect(&diff).map_err(git)
}

/// A unified diff of two texts (`old_name` and `new_name` head it), empty when they are equal.
pub fn text_diff(old: &str, old_name: &str, new: &str, new_name: &str) -> Result<String, WorkspaceError> {
    let mut options = DiffOptions::new();
    options.context_lines(3);
    let git = |source: git2::Error| WorkspaceError::Git { action: "diff two texts", source };
    let (old_path, new_path) = (Path::new(old_name), Path::new(new_name));
    let mut patch =
        Patch::from_buffers(old.as_bytes(), Some(old_path), new.as_bytes(), Some(new_path), Some(&mut options))
            .map_err(git)?;
    let buf = patch.to_buf().map_err(git)?;
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

/// The commit (hex) `rev` names in the repository containing `repo` (a branch, tag, `HEAD~2`, …).
pub fn resolve_commit(repo: &Path, rev: &str) -> Result<String, WorkspaceError> {
    let repo = super::worktree::open_repo(repo)?;
    let commit = repo
        .revparse_single(rev)
        .and_then(|object| object.peel_to_commit())
        .map_err(|source| WorkspaceError::BadBase { rev: rev.to_owned(), detail: source.message().to_owned() })?;
    Ok(commit.id().to_string())
}

/// What the commits of `rev` change since it left `base` (the diff from their merge base to
/// `rev`, as with `git diff base...rev`), as unified text: a branch's or a commit's change, ready
/// to apply onto `base`.
pub fn rev_patch(repo: &Path, base: &str, rev: &str) -> Result<String, WorkspaceError> {
    let git = |source: git2::Error| WorkspaceError::Git { action: "diff the revision", source };
    let bad = |rev: &str| {
        let rev = rev.to_owned();
        move |source: git2::Error| WorkspaceError::BadBase { rev, detail: source.message().to_owned() }
    };
    let repo = super::worktree::open_repo(repo)?;
    let base = repo.revparse_single(base).and_then(|o| o.peel_to_commit()).map_err(bad(base))?;
    let tip = repo.revparse_single(rev).and_then(|o| o.peel_to_commit()).map_err(bad(rev))?;
    let from = repo.merge_base(base.id(), tip.id()).and_then(|oid| repo.find_commit(oid)).map_err(git)?;
    let diff =
        repo.diff_tree_to_tree(Some(&from.tree().map_err(git)?), Some(&tip.tree().map_err(git)?), None).map_err(git)?;
    Ok(collect(&diff).map_err(git)?.patch)
}

/// The committed change of `branch` against commit `base` (hex) in the repository containing
/// `repo`, as unified text: what a candidate did once its worktree is gone.
pub fn branch_patch(repo: &Path, base: &str, branch: &str) -> Result<String, WorkspaceError> {
    let git = |source: git2::Error| WorkspaceError::Git { action: "diff the branch", source };
    let repo = super::worktree::open_repo(repo)?;
    let base_commit = Oid::from_str(base)
        .and_then(|oid| repo.find_commit(oid))
        .map_err(|source| WorkspaceError::BadBase { rev: base.to_owned(), detail: source.message().to_owned() })?;
    let tip = repo
        .find_branch(branch, git2::BranchType::Local)
        .and_then(|branch| branch.get().peel_to_commit())
        .map_err(git)?;
    let diff = repo
        .diff_tree_to_tree(Some(&base_commit.tree().map_err(git)?), Some(&tip.tree().map_err(git)?), None)
        .map_err(git)?;
    Ok(collect(&diff).map_err(git)?.patch)
}

/// A commit's change against its first parent, in two parts: its test files and the rest.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SplitCommit {
    /// The commit (hex).
    pub commit: String,
    /// Its first parent (hex).
    pub parent: String,
    /// The commit's summary line.
    pub summary: String,
    /// The change to its test files.
    pub tests: WorkDiff,
    /// The change to every other file.
    pub rest: WorkDiff,
}

/// What commit `rev` changes against its first parent, split by `is_test(path)`: an upstream
/// fix's test changes and its code changes, each ready to apply onto the parent.
pub fn split_commit(repo: &Path, rev: &str, is_test: &dyn Fn(&str) -> bool) -> Result<SplitCommit, WorkspaceError> {
    let git = |source: git2::Error| WorkspaceError::Git { action: "diff the commit", source };
    let repo = super::worktree::open_repo(repo)?;
    let commit = repo
        .revparse_single(rev)
        .and_then(|object| object.peel_to_commit())
        .map_err(|source| WorkspaceError::BadBase { rev: rev.to_owned(), detail: source.message().to_owned() })?;
    let parent = commit.parent(0).map_err(|_| WorkspaceError::BadBase {
        rev: rev.to_owned(),
        detail: "it has no parent: a fix commit changes an earlier one".into(),
    })?;
    let (old, new) = (parent.tree().map_err(git)?, commit.tree().map_err(git)?);
    let whole = collect(&repo.diff_tree_to_tree(Some(&old), Some(&new), None).map_err(git)?).map_err(git)?;
    let (tests, rest): (Vec<&FileStat>, Vec<&FileStat>) = whole.files.iter().partition(|f| is_test(&f.path));
    let part = |files: &[&FileStat]| -> Result<WorkDiff, WorkspaceError> {
        if files.is_empty() {
            return Ok(WorkDiff::default());
        }
        let mut options = DiffOptions::new();
        options.disable_pathspec_match(true);
        for file in files {
            options.pathspec(&file.path);
        }
        collect(&repo.diff_tree_to_tree(Some(&old), Some(&new), Some(&mut options)).map_err(git)?).map_err(git)
    };
    Ok(SplitCommit {
        commit: commit.id().to_string(),
        parent: parent.id().to_string(),
        summary: String::from_utf8_lossy(commit.summary_bytes().unwrap_or_default()).into_owned(),
        tests: part(&tests)?,
        rest: part(&rest)?,
    })
}
