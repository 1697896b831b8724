use std::path::Path;

use git2::{Repository, Signature};

use super::*;
use crate::protocol::TaskId;

/// A repository with one commit on `main` holding `files`, and an uncommitted user edit.
pub(crate) fn user_repo(dir: &Path, files: &[(&str, &str)]) -> Repository {
    let repo = Repository::init(dir).unwrap();
    for (path, text) in files {
        let full = dir.join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, text).unwrap();
    }
    let mut index = repo.index().unwrap();
    index.add_all(["*"], git2::IndexAddOption::DEFAULT, None).unwrap();
    index.write().unwrap();
    let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
    let me = Signature::now("User", "user@example.com").unwrap();
    repo.commit(Some("HEAD"), &me, &me, "initial", &tree, &[]).unwrap();
    drop(tree);
    repo
}

fn request(repo: &Path, root: &Path, task: TaskId, candidate: &str) -> WorktreeRequest {
    WorktreeRequest { repo: repo.to_owned(), task, candidate: candidate.into(), base: None, root: root.to_owned() }
}

fn author() -> Author {
    Author { name: "Ambidex".into(), email: "ambidex@localhost".into() }
}

#[test]
fn a_worktree_gets_its_own_branch_and_leaves_the_user_checkout_alone() {
    let dir = tempfile::tempdir().unwrap();
    let repo_dir = dir.path().join("repo");
    let repo = user_repo(&repo_dir, &[("src/lib.rs", "pub fn a() {}\n")]);
    std::fs::write(repo_dir.join("src/lib.rs"), "pub fn a() { /* user edit */ }\n").unwrap();
    let head_before = repo.head().unwrap().name().unwrap().to_owned();

    let task = TaskId::new();
    let worktree = create(&request(&repo_dir, &dir.path().join("worktrees"), task, "production")).unwrap();
    assert_eq!(worktree.branch, format!("ambidex/{}/production", task.short()));
    assert!(worktree.path.starts_with(dir.path().join("worktrees")));
    assert_eq!(std::fs::read_to_string(worktree.path.join("src/lib.rs")).unwrap(), "pub fn a() {}\n");

    assert_eq!(repo.head().unwrap().name().unwrap(), head_before, "the user's branch did not change");
    assert_eq!(
        std::fs::read_to_string(repo_dir.join("src/lib.rs")).unwrap(),
        "pub fn a() { /* user edit */ }\n",
        "the user's uncommitted edit is untouched"
    );
    assert!(repo.statuses(None).unwrap().iter().any(|s| s.path().ok() == Some("src/lib.rs")));

    // Asking again returns the same worktree (a resumed task finds its work).
    let again = create(&request(&repo_dir, &dir.path().join("worktrees"), task, "production")).unwrap();
    assert_eq!(again.path, worktree.path);
    assert_eq!(again.base, worktree.base);
}

#[test]
fn diffs_cover_edits_new_and_deleted_files_and_commits_land_on_the_branch() {
    let dir = tempfile::tempdir().unwrap();
    let repo_dir = dir.path().join("repo");
    let repo = user_repo(&repo_dir, &[("a.txt", "one\ntwo\n"), ("gone.txt", "bye\n")]);
    let worktree = create(&request(&repo_dir, &dir.path().join("wt"), TaskId::new(), "c1")).unwrap();
    std::fs::write(worktree.path.join("a.txt"), "one\n2\nthree\n").unwrap();
    std::fs::write(worktree.path.join("new.txt"), "fresh\n").unwrap();
    std::fs::remove_file(worktree.path.join("gone.txt")).unwrap();

    let diff = diff_against(&worktree.path, &worktree.base).unwrap();
    let stat = |path: &str| diff.files.iter().find(|f| f.path == path).unwrap().clone();
    assert_eq!((stat("a.txt").added, stat("a.txt").removed, stat("a.txt").status.as_str()), (2, 1, "modified"));
    assert_eq!((stat("new.txt").added, stat("new.txt").status.as_str()), (1, "added"));
    assert_eq!((stat("gone.txt").removed, stat("gone.txt").status.as_str()), (1, "deleted"));
    assert!(diff.patch.contains("+three") && diff.patch.contains("-two") && diff.patch.contains("+++ b/new.txt"));

    let commit = commit_all(&worktree.path, &author(), "Fix a.txt").unwrap().unwrap();
    assert!(uncommitted(&worktree.path).unwrap().is_empty());
    let tip = repo.find_branch(&worktree.branch, git2::BranchType::Local).unwrap().get().target().unwrap();
    assert_eq!(tip.to_string(), commit);
    assert_eq!(repo.find_commit(tip).unwrap().author().name().ok(), Some("Ambidex"));
    assert_eq!(commit_all(&worktree.path, &author(), "nothing").unwrap(), None, "nothing left to commit");
    // The committed change is still the change against the base.
    assert_eq!(diff_against(&worktree.path, &worktree.base).unwrap().files.len(), 3);
}

#[test]
fn removal_is_refused_while_work_is_uncommitted() {
    let dir = tempfile::tempdir().unwrap();
    let repo_dir = dir.path().join("repo");
    let repo = user_repo(&repo_dir, &[("a.txt", "one\n")]);
    let worktree = create(&request(&repo_dir, &dir.path().join("wt"), TaskId::new(), "c2")).unwrap();
    std::fs::write(worktree.path.join("a.txt"), "changed\n").unwrap();
    let err = remove(&worktree, false).unwrap_err();
    assert!(matches!(err, WorkspaceError::Dirty { ref files, .. } if files == &["a.txt"]), "{err}");
    assert!(worktree.path.exists());

    remove(&worktree, true).unwrap();
    assert!(!worktree.path.exists());
    assert!(repo.find_worktree(&worktree.name).is_err(), "git forgot the worktree");
    assert!(repo.find_branch(&worktree.branch, git2::BranchType::Local).is_ok(), "the branch is kept");
}

#[test]
fn reconciliation_reports_missing_orphaned_and_dirty_worktrees() {
    let dir = tempfile::tempdir().unwrap();
    let repo_dir = dir.path().join("repo");
    user_repo(&repo_dir, &[("a.txt", "one\n")]);
    let root = dir.path().join("wt");
    let task = TaskId::new();
    let kept = create(&request(&repo_dir, &root, task, "kept")).unwrap();
    let dirty = create(&request(&repo_dir, &root, task, "dirty")).unwrap();
    let vanished = create(&request(&repo_dir, &root, task, "vanished")).unwrap();
    let orphan = create(&request(&repo_dir, &root, task, "orphan")).unwrap();
    std::fs::write(dirty.path.join("b.txt"), "new\n").unwrap();
    std::fs::remove_dir_all(&vanished.path).unwrap();

    let known = [kept.clone(), dirty.clone(), vanished.clone()];
    let issues = reconcile(&repo_dir, &root, &known).unwrap();
    assert!(issues.contains(&WorktreeIssue::Missing { path: vanished.path.clone() }), "{issues:?}");
    assert!(issues.contains(&WorktreeIssue::Dirty { path: dirty.path.clone(), files: vec!["b.txt".into()] }));
    assert!(issues.contains(&WorktreeIssue::Orphaned { path: orphan.path.clone() }), "{issues:?}");
    assert_eq!(issues.len(), 3, "{issues:?}");
    assert!(orphan.path.exists() && dirty.path.join("b.txt").exists(), "nothing was deleted");
}

#[test]
fn bad_inputs_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let err = create(&request(dir.path(), &dir.path().join("wt"), TaskId::new(), "c1")).unwrap_err();
    assert!(matches!(err, WorkspaceError::NotARepo { .. }), "{err}");
    let repo_dir = dir.path().join("repo");
    user_repo(&repo_dir, &[("a.txt", "one\n")]);
    let err = create(&request(&repo_dir, &dir.path().join("wt"), TaskId::new(), "../escape")).unwrap_err();
    assert!(matches!(err, WorkspaceError::BadLabel(_)), "{err}");
    let mut bad_base = request(&repo_dir, &dir.path().join("wt"), TaskId::new(), "c1");
    bad_base.base = Some("no-such-branch".into());
    assert!(create(&bad_base).unwrap_err().to_string().contains("`no-such-branch` is not a commit"));
}

#[test]
fn worktrees_for_many_tasks_can_be_created_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let repo_dir = dir.path().join("repo");
    user_repo(&repo_dir, &[("a.txt", "one\n")]);
    let root = dir.path().join("wt");
    let made: Vec<Worktree> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let request = request(&repo_dir, &root, TaskId::new(), "production");
                scope.spawn(move || create(&request))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap().unwrap()).collect()
    });
    assert_eq!(made.iter().map(|w| &w.branch).collect::<std::collections::BTreeSet<_>>().len(), 8);
}

fn write(dir: &Path, path: &str, text: &str) {
    let full = dir.join(path);
    std::fs::create_dir_all(full.parent().unwrap()).unwrap();
    std::fs::write(full, text).unwrap();
}

#[test]
fn a_new_repository_gets_its_history_through_commit_all_and_log_reads_it_back() {
    let dir = tempfile::tempdir().unwrap();
    init_repo(dir.path(), "trunk").unwrap();
    assert_eq!(log(dir.path(), 10, None), Err(LogError::NoCommits));

    write(dir.path(), "src/a.rs", "a\n");
    write(dir.path(), "README.md", "r\n");
    let first = commit_all(dir.path(), &author(), "first\n\nbody").unwrap().expect("a first commit");
    write(dir.path(), "src/a.rs", "a2\n");
    let second = commit_all(dir.path(), &author(), "second").unwrap().expect("a second commit");
    assert_eq!(commit_all(dir.path(), &author(), "nothing").unwrap(), None, "nothing changed");

    assert_eq!(head_name(dir.path()).as_deref(), Some("trunk"));
    assert_eq!(head_commit(dir.path()).unwrap(), second);
    assert_eq!(repo_root(&dir.path().join("src")).unwrap(), dir.path().components().collect::<std::path::PathBuf>());

    let whole = log(dir.path(), 10, None).unwrap();
    assert_eq!(whole.branch.as_deref(), Some("trunk"));
    let ids: Vec<&str> = whole.commits.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, vec![second.as_str(), first.as_str()]);
    assert_eq!(whole.commits[1].summary, "first");
    assert_eq!(whole.commits[1].author, "Ambidex");
    assert_eq!(whole.commits[1].files, vec!["README.md".to_owned(), "src/a.rs".to_owned()]);
    assert_eq!(whole.commits[0].files, vec!["src/a.rs".to_owned()]);

    // Below the root, paths are relative to the directory asked about; others are left out.
    let sub = log(&dir.path().join("src"), 10, None).unwrap();
    assert_eq!(sub.commits[1].files, vec!["a.rs".to_owned()]);
    // `only` limits the files listed, not the commits.
    let only = log(dir.path(), 1, Some(&["README.md".to_owned()])).unwrap();
    assert_eq!(only.commits.len(), 1);
    assert!(only.commits[0].files.is_empty());
    assert_eq!(tracked_files(dir.path(), 10), vec!["README.md".to_owned(), "src/a.rs".to_owned()]);
    assert_eq!(tracked_files(&dir.path().join("src"), 10), vec!["a.rs".to_owned()]);
    assert_eq!(tracked_files(dir.path(), 1).len(), 1);

    let outside = tempfile::tempdir().unwrap();
    assert_eq!(log(outside.path(), 10, None), Err(LogError::NotARepo));
    assert!(tracked_files(outside.path(), 10).is_empty());
    assert_eq!(repo_root(outside.path()), None);
}

#[test]
fn a_removed_worktree_keeps_its_change_on_the_branch_and_patches_apply_whole() {
    let dir = tempfile::tempdir().unwrap();
    let repo_dir = dir.path().join("repo");
    user_repo(&repo_dir, &[("src/lib.rs", "pub fn a() {}\n")]);
    let worktree = create(&request(&repo_dir, &dir.path().join("worktrees"), TaskId::new(), "c1")).unwrap();
    assert_eq!(git_common_dir(&worktree.path).unwrap(), repo_dir.join(".git"));
    std::fs::write(worktree.path.join("src/lib.rs"), "pub fn b() {}\n").unwrap();
    commit_all(&worktree.path, &author(), "b").unwrap();
    let live = diff_against(&worktree.path, &worktree.base).unwrap().patch;
    remove(&worktree, false).unwrap();

    let kept = branch_patch(&repo_dir, &worktree.base, &worktree.branch).unwrap();
    assert_eq!(kept, live);
    assert!(kept.contains("+pub fn b() {}"), "{kept}");
    assert!(matches!(branch_patch(&repo_dir, &worktree.base, "ambidex/none"), Err(WorkspaceError::Git { .. })));

    apply_patch(&repo_dir, &kept).unwrap();
    assert_eq!(std::fs::read_to_string(repo_dir.join("src/lib.rs")).unwrap(), "pub fn b() {}\n");
    // The same patch no longer applies: nothing is half-applied.
    assert!(apply_patch(&repo_dir, &kept).is_err());
    apply_patch(&repo_dir, "  \n").unwrap();
}

#[test]
fn a_broken_worktree_is_made_again_and_a_sound_one_reused() {
    let dir = tempfile::tempdir().unwrap();
    let repo_dir = dir.path().join("repo");
    user_repo(&repo_dir, &[("src/lib.rs", "pub fn a() {}\n"), ("README.md", "hi\n")]);
    let task = TaskId::new();
    let request = request(&repo_dir, &dir.path().join("worktrees"), task, "production");
    let Prepared::Created(worktree) = prepare(&request).unwrap() else { panic!("not created") };
    std::fs::write(worktree.path.join("src/new.rs"), "pub fn b() {}\n").unwrap();
    commit_all(&worktree.path, &author(), "work").unwrap();
    assert!(matches!(prepare(&request).unwrap(), Prepared::Reused(_)));

    let gitdir = repo_dir.join(".git/worktrees").join(&worktree.name);
    let breakages: [(&str, &dyn Fn()); 3] = [
        ("files gone, .git kept", &|| {
            std::fs::remove_dir_all(worktree.path.join("src")).unwrap();
            std::fs::remove_file(worktree.path.join("README.md")).unwrap();
        }),
        (".git gone", &|| std::fs::remove_file(worktree.path.join(".git")).unwrap()),
        ("checkout never finished", &|| std::fs::remove_file(gitdir.join("index")).unwrap()),
    ];
    for (what, breakage) in breakages {
        breakage();
        let Prepared::Recreated { worktree: again, reason } = prepare(&request).unwrap() else {
            panic!("{what}: the broken worktree was reused")
        };
        assert!(!reason.is_empty());
        assert_eq!(again.path, worktree.path);
        // Made again on its branch: the committed work is back, nothing is deleted.
        for file in ["src/lib.rs", "src/new.rs", "README.md"] {
            assert!(again.path.join(file).is_file(), "{what}: {file} missing");
        }
        assert!(uncommitted(&again.path).unwrap().is_empty(), "{what}");
        assert!(matches!(prepare(&request).unwrap(), Prepared::Reused(_)), "{what}");
    }
}

#[test]
fn what_setup_generated_stays_out_of_the_change_until_the_plan_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let repo_dir = dir.path().join("repo");
    user_repo(&repo_dir, &[("Cargo.toml", "[package]\nname = \"p\"\n"), ("src/lib.rs", "pub fn a() {}\n")]);
    let worktree = create(&request(&repo_dir, &dir.path().join("wt"), TaskId::new(), "production")).unwrap();
    let path = &worktree.path;
    // What a setup step leaves: a lockfile and a virtualenv of many files.
    write(path, "Cargo.lock", "# generated\n");
    write(path, ".venv/bin/python", "#!/bin/sh\n");
    write(path, ".venv/lib/site.py", "\n");
    let generated = untracked_entries(path).unwrap();
    assert_eq!(generated.iter().map(String::as_str).collect::<Vec<_>>(), [".venv/", "Cargo.lock"]);
    record_baseline(path, &generated).unwrap();
    assert_eq!(baseline(path), [".venv/", "Cargo.lock"]);
    // The user's checkout knows nothing of it.
    assert!(uncommitted(&repo_dir).unwrap().is_empty());

    write(path, "src/lib.rs", "pub fn a() { 1; }\n");
    write(path, "src/new.rs", "pub fn b() {}\n");
    let diff = diff_against(path, &worktree.base).unwrap();
    let files: Vec<&str> = diff.files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(files, ["src/lib.rs", "src/new.rs"], "the change is the edit only");
    assert_eq!(uncommitted(path).unwrap(), ["src/lib.rs", "src/new.rs"]);
    let checkpoint_commit = checkpoint(path, "refs/ambidex/t/checkpoints/1", "after the edit").unwrap();
    let repo = Repository::open(path).unwrap();
    let tree = repo.find_commit(git2::Oid::from_str(&checkpoint_commit).unwrap()).unwrap().tree().unwrap();
    assert!(tree.get_name("Cargo.lock").is_none() && tree.get_name(".venv").is_none(), "not in the checkpoint");
    // Restoring a checkpoint keeps the baseline on disk.
    restore(path, &checkpoint_commit).unwrap();
    assert!(path.join("Cargo.lock").is_file() && path.join(".venv/bin/python").is_file());
    commit_all(path, &author(), "the change").unwrap();
    let head = repo.head().unwrap().peel_to_tree().unwrap();
    assert!(head.get_name("Cargo.lock").is_none(), "the commit leaves the lockfile out");
    assert!(head.get_path(Path::new("src/new.rs")).is_ok());

    // A task about the lockfile takes it back into the change.
    assert_eq!(release_baseline(path, &["./Cargo.lock".to_owned()]).unwrap(), ["Cargo.lock"]);
    assert_eq!(baseline(path), [".venv/"]);
    assert_eq!(uncommitted(path).unwrap(), ["Cargo.lock"]);
}
