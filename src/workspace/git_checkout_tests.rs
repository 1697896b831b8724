use std::path::Path;
use std::process::Command;

use super::*;
use crate::protocol::TaskId;
use crate::workspace::tests::user_repo;
use crate::workspace::{Prepared, WorktreeRequest, prepare};

fn git_ok(repo: &Path, args: &[&str]) {
    let status = Command::new("git").arg("-C").arg(repo).args(args).status().unwrap();
    assert!(status.success(), "git {args:?}");
}

fn hook(path: &Path, marker: &Path) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, format!("#!/bin/sh\ntouch {}\n", marker.display())).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn the_worktree_gets_its_name_its_filters_run_and_no_hook_does() {
    let dir = tempfile::tempdir().unwrap();
    let repo_dir = dir.path().join("repo");
    let marker = dir.path().join("hook-ran");
    hook(&repo_dir.join(".git/hooks/post-checkout"), &marker);
    hook(&dir.path().join("hooks/post-checkout"), &marker);
    // The repository's own config names a smudge filter (as Git LFS does) and a hooks directory.
    user_repo(&repo_dir, &[("notes.txt", "shout\n"), (".gitattributes", "*.txt filter=upper\n")]);
    git_ok(&repo_dir, &["config", "filter.upper.smudge", "tr a-z A-Z"]);
    git_ok(&repo_dir, &["config", "filter.upper.clean", "tr A-Z a-z"]);
    git_ok(&repo_dir, &["config", "core.hooksPath", dir.path().join("hooks").to_str().unwrap()]);
    git_ok(&repo_dir, &["branch", "ambidex/t1/production"]);

    let path = dir.path().join("worktrees/t1/production");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    add(&repo_dir, "ambidex-t1-production", &path, "ambidex/t1/production").unwrap();

    let repo = git2::Repository::open(&repo_dir).unwrap();
    let record = repo.find_worktree("ambidex-t1-production").unwrap();
    assert_eq!(record.path().canonicalize().unwrap(), path.canonicalize().unwrap());
    assert_eq!(std::fs::read_to_string(path.join("notes.txt")).unwrap(), "SHOUT\n", "the smudge filter ran");
    assert!(!marker.exists(), "no hook runs, neither the repository's nor core.hooksPath's");
    let entries: Vec<_> = std::fs::read_dir(path.parent().unwrap()).unwrap().flatten().map(|e| e.file_name()).collect();
    assert_eq!(entries, ["production"], "the staging place is gone");
}

#[test]
fn a_failed_add_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let repo_dir = dir.path().join("repo");
    user_repo(&repo_dir, &[("a.txt", "a\n")]);
    let path = dir.path().join("worktrees/t1/production");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let err = add(&repo_dir, "ambidex-t1-production", &path, "no/such/branch").unwrap_err();
    assert!(err.contains("no/such/branch"), "{err}");
    assert!(!path.exists());
    assert_eq!(std::fs::read_dir(path.parent().unwrap()).unwrap().count(), 0, "no staging place is left");
    let repo = git2::Repository::open(&repo_dir).unwrap();
    assert!(repo.worktrees().unwrap().is_empty(), "no worktree is recorded");
}

#[test]
fn a_worktree_staged_by_a_killed_attempt_is_made_again_in_its_place() {
    let dir = tempfile::tempdir().unwrap();
    let repo_dir = dir.path().join("repo");
    user_repo(&repo_dir, &[("src/lib.rs", "pub fn a() {}\n")]);
    let task = TaskId::new();
    let request = WorktreeRequest {
        repo: repo_dir.clone(),
        task,
        candidate: "production".into(),
        base: None,
        root: dir.path().join("worktrees"),
    };
    let Prepared::Created(made) = prepare(&request).unwrap() else { panic!("not created") };
    // What a kill between `worktree add` and `worktree move` leaves: the worktree recorded at a
    // staging place of a process that is gone, and nothing at its own path.
    let parent = made.path.parent().unwrap().to_owned();
    git_ok(&repo_dir, &["worktree", "remove", "--force", made.path.to_str().unwrap()]);
    let staged = staging_parent(&parent, u32::MAX).join(&made.name);
    git_ok(&repo_dir, &["worktree", "add", "--quiet", staged.to_str().unwrap(), &made.branch]);

    let again = match prepare(&request).unwrap() {
        Prepared::Created(worktree) | Prepared::Recreated { worktree, .. } => worktree,
        Prepared::Reused(_) => panic!("a staged worktree is not where it belongs: it cannot be reused"),
    };
    assert_eq!(again.path, made.path);
    assert!(again.path.join("src/lib.rs").is_file());
    let entries: Vec<_> = std::fs::read_dir(&parent).unwrap().flatten().map(|e| e.file_name()).collect();
    assert_eq!(entries, ["production"], "the dead attempt's staging place is gone");
}
