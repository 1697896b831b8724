//! Checkpoints: a worktree's whole state (committed, changed, new and deleted files; not what
//! `.gitignore` ignores) recorded as a commit on a private ref, without touching the branch, the
//! index or the files. Each stage starts from one, so rewinding to a stage puts its worktree back
//! exactly, and the work a rewind abandons is kept the same way first.

use std::path::Path;

use git2::{Oid, ResetType, Signature};

use super::WorkspaceError;
use super::worktree::uncommitted;

/// Where a task's checkpoints and abandoned work live: refs no branch listing shows.
pub const CHECKPOINT_REFS: &str = "refs/ambidex";

fn git(action: &'static str) -> impl Fn(git2::Error) -> WorkspaceError {
    move |source| WorkspaceError::git(action, source)
}

/// Records the worktree at `path` as a commit whose parent is its branch's tip, on `reference`
/// (e.g. `refs/ambidex/<task>/checkpoints/3`), and returns the commit. The worktree, its index
/// and its branch are left as they were.
pub fn checkpoint(path: &Path, reference: &str, message: &str) -> Result<String, WorkspaceError> {
    if !reference.starts_with(CHECKPOINT_REFS) {
        return Err(WorkspaceError::NotOurs(reference.to_owned()));
    }
    let repo = super::baseline::open(path).map_err(git("open the worktree"))?;
    let head = repo.head().and_then(|h| h.peel_to_commit()).map_err(git("read the worktree's branch"))?;
    let tree = worktree_tree(&repo, path, &head)?;
    let tree = repo.find_tree(tree).map_err(git("read the checkpoint's tree"))?;
    let signature = Signature::now("Ambidex", "ambidex@localhost").map_err(git("sign the checkpoint"))?;
    let commit =
        repo.commit(None, &signature, &signature, message, &tree, &[&head]).map_err(git("commit the checkpoint"))?;
    repo.reference(reference, commit, true, message).map_err(git("record the checkpoint's ref"))?;
    crate::crash::point("checkpoint.written");
    Ok(commit.to_string())
}

/// Whether the worktree at `path` holds exactly what checkpoint `commit` recorded (its files,
/// as a checkpoint would record them now).
pub fn holds_checkpoint(path: &Path, commit: &str) -> Result<bool, WorkspaceError> {
    let repo = super::baseline::open(path).map_err(git("open the worktree"))?;
    let head = repo.head().and_then(|h| h.peel_to_commit()).map_err(git("read the worktree's branch"))?;
    let saved = Oid::from_str(commit).and_then(|oid| repo.find_commit(oid)).map_err(git("read the checkpoint"))?;
    Ok(worktree_tree(&repo, path, &head)? == saved.tree_id())
}

/// The tree of everything in the worktree: the branch's tree with every changed, new or deleted
/// file applied, built in a scratch index (the worktree's own index stays as it is).
fn worktree_tree(repo: &git2::Repository, path: &Path, head: &git2::Commit<'_>) -> Result<Oid, WorkspaceError> {
    let mut index = git2::Index::new().map_err(git("make a scratch index"))?;
    index.read_tree(&head.tree().map_err(git("read the branch's tree"))?).map_err(git("read the branch's tree"))?;
    let workdir = repo.workdir().ok_or_else(|| WorkspaceError::NotARepo {
        path: path.to_owned(),
        detail: "it has no working directory".into(),
    })?;
    // Every changed, new or deleted file, one by one (new directories are listed file by file).
    for file in uncommitted(path)? {
        let full = workdir.join(&file);
        let relative = Path::new(&file);
        let Ok(stat) = std::fs::symlink_metadata(&full) else {
            index.remove_path(relative).map_err(git("record a deleted file"))?;
            continue;
        };
        let (blob, mode) = if stat.is_symlink() {
            let target =
                std::fs::read_link(&full).map_err(|source| WorkspaceError::Io { path: full.clone(), source })?;
            (repo.blob(target.to_string_lossy().as_bytes()).map_err(git("store a link"))?, 0o120000)
        } else if stat.is_file() {
            let mode = if is_executable(&stat) { 0o100755 } else { 0o100644 };
            (repo.blob_path(&full).map_err(git("store a file"))?, mode)
        } else {
            continue;
        };
        index.add(&index_entry(relative, blob, mode, stat.len())).map_err(git("record a file"))?;
    }
    index.write_tree_to(repo).map_err(git("write the checkpoint's tree"))
}

/// Deletes every private ref of the task whose refs live under `refs/ambidex/<task>/` (its
/// checkpoints and the work its rewinds set aside): for a scratch task whose work is thrown
/// away. Returns how many were deleted.
pub fn delete_task_refs(repo: &Path, task: &str) -> Result<usize, WorkspaceError> {
    if task.is_empty() || task.contains('/') || task.contains("..") {
        return Err(WorkspaceError::NotOurs(format!("{CHECKPOINT_REFS}/{task}")));
    }
    let repo = super::baseline::open(repo).map_err(git("open the repository"))?;
    let glob = format!("{CHECKPOINT_REFS}/{task}/*");
    let names: Vec<String> = repo
        .references_glob(&glob)
        .map_err(git("list the task's refs"))?
        .flatten()
        .filter_map(|r| r.name().ok().map(str::to_owned))
        .collect();
    for name in &names {
        repo.find_reference(name).and_then(|mut r| r.delete()).map_err(git("delete a task's ref"))?;
    }
    Ok(names.len())
}

fn index_entry(path: &Path, id: Oid, mode: u32, size: u64) -> git2::IndexEntry {
    git2::IndexEntry {
        ctime: git2::IndexTime::new(0, 0),
        mtime: git2::IndexTime::new(0, 0),
        dev: 0,
        ino: 0,
        mode,
        uid: 0,
        gid: 0,
        file_size: size as u32,
        id,
        flags: 0,
        flags_extended: 0,
        path: path.to_string_lossy().as_bytes().to_vec(),
    }
}

#[cfg(unix)]
fn is_executable(stat: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    stat.permissions().mode() & 0o111 != 0
}

#[cfg(not(unix))]
fn is_executable(_: &std::fs::Metadata) -> bool {
    false
}

/// Puts the worktree at `path` back to checkpoint `commit`: its branch returns to the tip the
/// checkpoint was taken on, and the files are exactly the checkpoint's (changes stay uncommitted,
/// as they were); files the checkpoint did not have are deleted, ignored ones (build output) stay.
pub fn restore(path: &Path, commit: &str) -> Result<(), WorkspaceError> {
    let repo = super::baseline::open(path).map_err(git("open the worktree"))?;
    let saved =
        repo.revparse_single(commit).and_then(|object| object.peel_to_commit()).map_err(git("find the checkpoint"))?;
    let tip = saved.parent(0).map_err(git("find the checkpoint's branch tip"))?;
    repo.reset(tip.as_object(), ResetType::Hard, None).map_err(git("reset the worktree"))?;
    for file in uncommitted(path)? {
        let full = path.join(&file);
        let removed = if full.is_dir() { std::fs::remove_dir_all(&full) } else { std::fs::remove_file(&full) };
        removed.map_err(|source| WorkspaceError::Io { path: full, source })?;
    }
    let mut checkout = git2::build::CheckoutBuilder::new();
    checkout.force();
    repo.checkout_tree(saved.as_object(), Some(&mut checkout)).map_err(git("write the checkpoint's files"))?;
    // The branch and the index say the tip; the files say the checkpoint: uncommitted work again.
    repo.reset(tip.as_object(), ResetType::Mixed, None).map_err(git("put the index back"))?;
    Ok(())
}

#[cfg(test)]
#[path = "checkpoint_tests.rs"]
mod tests;
