//! Small questions and changes about a repository that other modules need answered without
//! touching git themselves: where its root is, what is checked out, which files it tracks,
//! applying a patch, starting a new repository.
//!
//! git2 stays behind `workspace` (see `docs/architecture.md`): callers get paths, strings and
//! [`WorkspaceError`]s, never a libgit2 handle.

use std::path::{Path, PathBuf};

use git2::{ApplyLocation, Diff, Repository, RepositoryInitOptions};

use super::WorkspaceError;

/// The root of the git work tree containing `dir`, if `dir` is inside one.
pub fn repo_root(dir: &Path) -> Option<PathBuf> {
    let repo = Repository::discover(dir).ok()?;
    // `workdir` ends with a separator; collecting the components drops it.
    repo.workdir().map(|dir| dir.components().collect())
}

/// git's common directory of the repository at `path` (for a linked worktree, the main
/// repository's `.git`), if `path` is a repository.
pub fn git_common_dir(path: &Path) -> Option<PathBuf> {
    Repository::open(path).ok().map(|repo| repo.commondir().to_path_buf())
}

/// The short name of what is checked out in the repository at `repo` (the branch name; `HEAD`
/// when detached), if it can be read.
pub fn head_name(repo: &Path) -> Option<String> {
    let repo = Repository::open(repo).ok()?;
    let head = repo.head().ok()?;
    head.shorthand().ok().map(str::to_owned)
}

/// The commit (hex) checked out in the repository or worktree at `path`.
pub fn head_commit(path: &Path) -> Result<String, WorkspaceError> {
    let git = |source: git2::Error| WorkspaceError::Git { action: "read the branch head", source };
    let repo = Repository::open(path).map_err(git)?;
    let commit = repo.head().and_then(|head| head.peel_to_commit()).map_err(git)?;
    Ok(commit.id().to_string())
}

/// The files the git index of the repository containing `dir` tracks under `dir`, relative to
/// `dir` and `/`-separated, in index order; at most `max`. Empty outside a repository.
pub fn tracked_files(dir: &Path, max: usize) -> Vec<String> {
    let Some((repo, prefix)) = discover_with_prefix(dir) else {
        return Vec::new();
    };
    let Ok(index) = repo.index() else {
        return Vec::new();
    };
    let mut files = Vec::new();
    for entry in index.iter() {
        if files.len() >= max {
            break;
        }
        let path = String::from_utf8_lossy(&entry.path);
        if let Some(rel) = path.strip_prefix(prefix.as_str()) {
            files.push(rel.to_owned());
        }
    }
    files
}

/// The repository that contains `dir`, and the path of `dir` inside its work tree (`""` at the
/// top, else `dir/sub/`).
pub(super) fn discover_with_prefix(dir: &Path) -> Option<(Repository, String)> {
    let repo = Repository::discover(dir).ok()?;
    let workdir = std::fs::canonicalize(repo.workdir()?).ok()?;
    let dir = std::fs::canonicalize(dir).ok()?;
    let sub = dir.strip_prefix(&workdir).ok()?;
    let mut prefix = String::new();
    for part in sub.components() {
        prefix.push_str(&part.as_os_str().to_string_lossy());
        prefix.push('/');
    }
    Some((repo, prefix))
}

/// Applies the unified diff `patch` to the working files of the repository or worktree at
/// `path`: all of it or nothing. An empty patch changes nothing.
pub fn apply_patch(path: &Path, patch: &str) -> Result<(), WorkspaceError> {
    if patch.trim().is_empty() {
        return Ok(());
    }
    let git = |action: &'static str| move |source: git2::Error| WorkspaceError::Git { action, source };
    let repo = Repository::open(path).map_err(git("open the worktree"))?;
    let diff = Diff::from_buffer(patch.as_bytes()).map_err(git("read the patch"))?;
    repo.apply(&diff, ApplyLocation::WorkDir, None).map_err(git("apply the patch"))
}

/// Creates an empty repository at `dir` whose first commit will be on `branch`.
pub fn init_repo(dir: &Path, branch: &str) -> Result<(), WorkspaceError> {
    let mut options = RepositoryInitOptions::new();
    options.initial_head(branch);
    Repository::init_opts(dir, &options)
        .map(drop)
        .map_err(|source| WorkspaceError::Git { action: "create the repository", source })
}

/// The version of the libgit2 built into this program: (major, minor, patch).
pub fn libgit2_version() -> (u32, u32, u32) {
    git2::Version::get().libgit2_version()
}
