//! Repositories named by URL, for workers on machines that share no filesystem: each worker
//! clones a task's repository into its own cache (`ambidex worker --repos DIR`), makes the task's
//! worktrees there, and exchanges the task's refs with the remote: its branches
//! (`ambidex/<task>/…`) and private refs (`refs/ambidex/<task>/…`: stage checkpoints and what an
//! interruption left). Pushed after each checkpoint and at the end of a run, fetched before a
//! run, they let a task a dead worker held resume on another machine from its last checkpoint.
//!
//! The git program does the transport, so the user's SSH set-up, credential helpers and proxies
//! apply; hooks never run and git never prompts. Branches are never force-pushed; a task's own
//! private refs are (a checkpoint ref is rewritten only by the worker holding the task's lease).

use std::path::{Path, PathBuf};
use std::process::Stdio;

use git2::{BranchType, Repository};
use sha2::{Digest as _, Sha256};

use super::git_command;
use crate::protocol::TaskId;

/// Whether `repo` (a task's repository as its spec names it) is a URL to clone rather than a
/// path: `https://`, `ssh://`, `git://`, `file://` and the like, or scp-like `user@host:path`.
pub fn is_repo_url(repo: &str) -> bool {
    if let Some((scheme, _)) = repo.split_once("://") {
        return !scheme.is_empty() && scheme.chars().all(|c| c.is_ascii_alphanumeric() || c == '+');
    }
    match (repo.find('@'), repo.find(':'), repo.find('/')) {
        (Some(at), Some(colon), slash) => at < colon && slash.is_none_or(|slash| colon < slash),
        _ => false,
    }
}

/// Where the clone of `url` lives in the cache `repos`: its name and a hash of the URL, so two
/// repositories with one name never share a clone.
pub fn cached_clone(repos: &Path, url: &str) -> PathBuf {
    let name = url.trim_end_matches('/').rsplit(['/', ':']).next().unwrap_or("repo");
    let name = name.strip_suffix(".git").unwrap_or(name);
    let name: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() || "-_.".contains(c) { c } else { '_' }).collect();
    let hash = Sha256::digest(url.as_bytes());
    let hex: String = hash.iter().take(6).map(|b| format!("{b:02x}")).collect();
    repos.join(format!("{}-{hex}", if name.is_empty() || name.starts_with('.') { "repo" } else { &name }))
}

/// Clones `url` into the cache (once; without a checkout of its own: tasks work in worktrees)
/// and brings it up to date: the remote's branches, and the task's branches and private refs,
/// which another machine may have pushed (see [`follow_remote`]); `resumed` says some machine
/// worked on the task already: until then a remote branch of the task's name is not its own and
/// is left alone. Returns the clone's path.
pub fn sync_clone(repos: &Path, url: &str, task: TaskId, resumed: bool) -> Result<PathBuf, String> {
    let clone = cached_clone(repos, url);
    std::fs::create_dir_all(repos).map_err(|err| format!("cannot create the cache {}: {err}", repos.display()))?;
    let _held = lock_clone(&clone)?;
    if !clone.join(".git").exists() {
        // Cloned beside its place and moved there whole, so a killed clone leaves no half.
        let partial = repos.join(format!(".partial-{}-{}", std::process::id(), task.short()));
        let _ = std::fs::remove_dir_all(&partial);
        let mut command = git_command(repos);
        command.args(["clone", "--quiet", "--no-checkout", "--", url]).arg(&partial);
        run(command, &format!("clone {url}"))?;
        std::fs::rename(&partial, &clone).map_err(|err| {
            let _ = std::fs::remove_dir_all(&partial);
            format!("cannot move the clone into place: {err}")
        })?;
    }
    let short = namespace(task);
    let mut command = git_command(&clone);
    command.args(["fetch", "--quiet", "--prune", "origin", "+refs/heads/*:refs/remotes/origin/*"]);
    run(command, &format!("fetch {url}"))?;
    // Never pruned: a checkpoint whose push failed is still this machine's to push.
    let mut command = git_command(&clone);
    command.args(["fetch", "--quiet", "origin"]).arg(format!("+refs/ambidex/{short}/*:refs/ambidex/{short}/*"));
    run(command, &format!("fetch the task's refs from {url}"))?;
    follow_remote(&clone, &short, resumed).map_err(|err| format!("cannot update the clone's branches: {err}"))?;
    Ok(clone)
}

/// Holds the clone's lock file while git works in it: two runs of one machine (slots, or
/// workers sharing a cache) never fetch or push in the same clone at once.
fn lock_clone(clone: &Path) -> Result<std::fs::File, String> {
    let name = clone.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let path = clone.with_file_name(format!(".{name}.lock"));
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|err| format!("cannot open the lock {}: {err}", path.display()))?;
    file.lock().map_err(|err| format!("cannot lock {}: {err}", path.display()))?;
    Ok(file)
}

/// Moves the clone's branches to the remote's. The clone is a cache nobody commits to but the
/// tasks: every branch outside `ambidex/` follows the remote (so a task starts from today's
/// target branch); the task's own `ambidex/<task>/…` branches, once the task was `resumed`, are
/// made when missing and moved only forward, and no branch a worktree has checked out is moved.
/// Other tasks' branches are left to their own runs.
fn follow_remote(clone: &Path, short: &str, resumed: bool) -> Result<(), git2::Error> {
    let repo = Repository::open(clone)?;
    let own = format!("ambidex/{short}/");
    let remote: Vec<(String, git2::Oid)> = repo
        .branches(Some(BranchType::Remote))?
        .flatten()
        .filter_map(|(branch, _)| {
            let name = branch.name().ok().flatten()?.strip_prefix("origin/")?.to_owned();
            let target = branch.get().target()?;
            (name != "HEAD").then_some((name, target))
        })
        .collect();
    for (name, target) in remote {
        let task_branch = name.starts_with("ambidex/");
        if task_branch && (!resumed || !name.starts_with(&own)) {
            continue;
        }
        // A branch that cannot follow (a local `release` where the remote now has `release/1.0`)
        // stays as it is: the tasks that need another branch still get theirs.
        let _ = follow_one(&repo, &name, target, task_branch);
    }
    Ok(())
}

fn follow_one(repo: &Repository, name: &str, target: git2::Oid, task_branch: bool) -> Result<(), git2::Error> {
    let commit = repo.find_commit(target)?;
    let Ok(local) = repo.find_branch(name, BranchType::Local) else {
        repo.branch(name, &commit, false)?;
        return Ok(());
    };
    let Some(ours) = local.get().target() else { return Ok(()) };
    let moves = ours != target && (!task_branch || repo.graph_descendant_of(target, ours)?);
    if moves && !checked_out(repo, name) {
        repo.reference(&format!("refs/heads/{name}"), target, true, "ambidex: follow the remote")?;
    }
    Ok(())
}

/// Whether a linked worktree of `repo` has `branch` checked out (the clone's own checkout is
/// empty, so its `HEAD` branch may move).
fn checked_out(repo: &Repository, branch: &str) -> bool {
    let Ok(names) = repo.worktrees() else { return true };
    (0..names.len()).filter_map(|i| names.get(i).ok().flatten()).any(|name| {
        repo.find_worktree(name)
            .ok()
            .and_then(|worktree| Repository::open_from_worktree(&worktree).ok())
            .and_then(|opened| opened.head().ok().and_then(|head| head.shorthand().ok().map(str::to_owned)))
            .is_some_and(|head| head == branch)
    })
}

/// Pushes the task's private refs from the clone to `origin` (forced: only the lease holder
/// writes them), then its branches (never forced). `Err` when the private refs did not go:
/// another machine cannot resume from here. `Ok(Some(why))` when only a branch was refused (a
/// rewind moved it back, say): the checkpoints went, the branch waits for a push that fits.
pub fn push_task_refs(clone: &Path, task: TaskId) -> Result<Option<String>, String> {
    let _held = lock_clone(clone)?;
    let short = namespace(task);
    let mut command = git_command(clone);
    command.args(["push", "--quiet", "--no-verify", "origin"]);
    command.arg(format!("+refs/ambidex/{short}/*:refs/ambidex/{short}/*"));
    run(command, "push the task's checkpoints to origin")?;
    let mut command = git_command(clone);
    command.args(["push", "--quiet", "--no-verify", "origin"]);
    command.arg(format!("refs/heads/ambidex/{short}/*:refs/heads/ambidex/{short}/*"));
    Ok(run(command, "push the task's branches to origin").err())
}

/// The task's part of ref names: `ambidex/<this>/…` branches, `refs/ambidex/<this>/…` refs.
fn namespace(task: TaskId) -> String {
    task.short().to_lowercase()
}

/// The newest state of `task`'s production worktree that a machine recorded in `repo`: the
/// highest-numbered of its stage checkpoints and stage-end refs (`refs/ambidex/<task>/
/// {checkpoints,finished}/N`, numbered by the task's event count). Returns the ref and commit.
pub fn latest_task_state(repo: &Path, task: TaskId) -> Option<(String, String)> {
    let repo = Repository::open(repo).ok()?;
    let prefix = format!("refs/ambidex/{}/", namespace(task));
    let refs = repo.references_glob(&format!("{prefix}*")).ok()?;
    refs.flatten()
        .filter_map(|reference| {
            let name = reference.name().ok()?.to_owned();
            let (kind, number) = name.strip_prefix(&prefix)?.split_once('/')?;
            let number: u64 = number.parse().ok()?;
            let commit = reference.target()?.to_string();
            matches!(kind, "checkpoints" | "finished").then_some((number, name, commit))
        })
        .max_by_key(|(number, _, _)| *number)
        .map(|(_, name, commit)| (name, commit))
}

fn run(mut command: std::process::Command, what: &str) -> Result<(), String> {
    command.env("GIT_TERMINAL_PROMPT", "0").env("GCM_INTERACTIVE", "never");
    let own_ssh = std::env::var_os("GIT_SSH_COMMAND").is_some()
        || std::env::var_os("GIT_SSH").is_some()
        || git2::Config::open_default().and_then(|config| config.get_string("core.sshCommand")).is_ok();
    if !own_ssh {
        // A key's passphrase or an unknown host key would otherwise ask on a terminal no one watches.
        command.env("GIT_SSH_COMMAND", "ssh -o BatchMode=yes -o ConnectTimeout=30 -o ServerAliveInterval=15");
    }
    // A remote that stops sending is given up after a minute below 1 KB/s, not waited on forever.
    command.env("GIT_HTTP_LOW_SPEED_LIMIT", "1000").env("GIT_HTTP_LOW_SPEED_TIME", "60");
    let output = command
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|err| format!("cannot run git to {what} (cloning by URL needs the git program): {err}"))?;
    if output.status.success() {
        return Ok(());
    }
    let said = String::from_utf8_lossy(&output.stderr);
    let said: Vec<&str> = said.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    // git says the same thing once per ref: the first line names the cause.
    let more = match said.len() {
        0 | 1 => String::new(),
        n => format!(" (and {} more lines from git)", n - 1),
    };
    Err(format!("could not {what}: {}{more}", said.first().copied().unwrap_or("git failed without saying why")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_paths_are_told_apart() {
        for url in [
            "https://github.com/org/app.git",
            "ssh://git@host/app",
            "file:///srv/git/app",
            "git@github.com:org/app.git",
        ] {
            assert!(is_repo_url(url), "{url}");
        }
        for path in ["/home/me/app", "app", "./a:b", "../x@y/z:w", "C"] {
            assert!(!is_repo_url(path), "{path}");
        }
    }

    #[test]
    fn each_url_has_its_own_clone_named_after_it() {
        let repos = Path::new("/cache");
        let app = cached_clone(repos, "https://github.com/org/app.git");
        assert!(app.file_name().unwrap().to_str().unwrap().starts_with("app-"), "{app:?}");
        assert_ne!(app, cached_clone(repos, "https://gitlab.com/org/app.git"));
        assert_eq!(app, cached_clone(repos, "https://github.com/org/app.git"));
        let odd = cached_clone(repos, "git@host:../..");
        assert!(odd.starts_with(repos) && odd.parent() == Some(repos), "{odd:?}");
    }
}
