use git2::Repository;
use std::path::Path;

use super::*;
use crate::workspace::{Author, commit_all, uncommitted};

fn repo_with(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let repo = Repository::init(dir.path()).unwrap();
    for (path, text) in files {
        write(dir.path(), path, text);
    }
    let mut index = repo.index().unwrap();
    index.add_all(["*"], git2::IndexAddOption::DEFAULT, None).unwrap();
    index.write().unwrap();
    let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
    let me = Signature::now("Dev", "dev@example.com").unwrap();
    repo.commit(Some("HEAD"), &me, &me, "base", &tree, &[]).unwrap();
    dir
}

fn write(root: &Path, path: &str, text: &str) {
    let full = root.join(path);
    std::fs::create_dir_all(full.parent().unwrap()).unwrap();
    std::fs::write(full, text).unwrap();
}

fn read(root: &Path, path: &str) -> Option<String> {
    std::fs::read_to_string(root.join(path)).ok()
}

#[test]
fn a_checkpoint_keeps_every_change_and_restore_brings_back_exactly_that() {
    let dir = repo_with(&[("src/lib.rs", "fn a() {}\n"), ("README.md", "hello\n"), (".gitignore", "/target\n")]);
    let root = dir.path();
    write(root, "src/lib.rs", "fn a() { changed() }\n");
    write(root, "src/new/deep.rs", "fn new() {}\n");
    std::fs::remove_file(root.join("README.md")).unwrap();
    write(root, "target/build.out", "ignored build output\n");
    let before = uncommitted(root).unwrap();

    let id = checkpoint(root, "refs/ambidex/t1/checkpoints/1", "implement").unwrap();
    assert_eq!(uncommitted(root).unwrap(), before, "taking a checkpoint changes nothing");
    let repo = Repository::open(root).unwrap();
    assert_eq!(repo.refname_to_id("refs/ambidex/t1/checkpoints/1").unwrap().to_string(), id);
    assert_eq!(repo.head().unwrap().peel_to_commit().unwrap().message().ok(), Some("base"), "the branch did not move");

    // The agent goes on, commits, and makes a mess.
    write(root, "src/lib.rs", "fn a() { broken( }\n");
    write(root, "stray.txt", "junk\n");
    commit_all(root, &Author { name: "A".into(), email: "a@x".into() }, "wip").unwrap();
    write(root, "src/other.rs", "more junk\n");

    restore(root, &id).unwrap();
    assert_eq!(read(root, "src/lib.rs").as_deref(), Some("fn a() { changed() }\n"));
    assert_eq!(read(root, "src/new/deep.rs").as_deref(), Some("fn new() {}\n"));
    assert_eq!(read(root, "README.md"), None, "a deletion is kept too");
    assert_eq!(read(root, "stray.txt"), None);
    assert_eq!(read(root, "src/other.rs"), None);
    assert_eq!(read(root, "target/build.out").as_deref(), Some("ignored build output\n"), "build output stays");
    assert_eq!(repo.head().unwrap().peel_to_commit().unwrap().message().ok(), Some("base"), "the branch is back");
    let mut now = uncommitted(root).unwrap();
    let mut expected = before;
    now.sort();
    expected.sort();
    assert_eq!(now, expected, "the changes are uncommitted again, as they were");
}

#[test]
fn checkpoints_live_only_under_ambidex_refs_and_a_missing_one_is_an_error() {
    let dir = repo_with(&[("a.txt", "a\n")]);
    assert!(matches!(checkpoint(dir.path(), "refs/heads/main", "x"), Err(WorkspaceError::NotOurs(_))));
    let err = restore(dir.path(), "0123456789abcdef0123456789abcdef01234567").unwrap_err();
    assert!(err.to_string().contains("find the checkpoint"), "{err}");
    assert_eq!(read(dir.path(), "a.txt").as_deref(), Some("a\n"), "a failed restore touches nothing");
}

#[cfg(unix)]
#[test]
fn modes_and_links_survive_a_round_trip() {
    use std::os::unix::fs::PermissionsExt;
    let dir = repo_with(&[("run.sh", "echo hi\n")]);
    let root = dir.path();
    std::fs::set_permissions(root.join("run.sh"), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::os::unix::fs::symlink("run.sh", root.join("link")).unwrap();
    let id = checkpoint(root, "refs/ambidex/t/checkpoints/1", "test").unwrap();
    std::fs::remove_file(root.join("link")).unwrap();
    std::fs::set_permissions(root.join("run.sh"), std::fs::Permissions::from_mode(0o644)).unwrap();
    restore(root, &id).unwrap();
    assert_eq!(std::fs::read_link(root.join("link")).unwrap(), Path::new("run.sh"));
    assert_ne!(std::fs::metadata(root.join("run.sh")).unwrap().permissions().mode() & 0o111, 0);
}
