//! The tag cache is shared by content: every worktree of a repository (and the user's checkout)
//! reads the tags another one made, an edit in one worktree re-tags that file only, and a
//! damaged or unusable cache still yields a map.

// Test and benchmark code may unwrap and panic: that is how it reports a failure (see clippy.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support {
    pub mod repos;
}

use std::path::{Path, PathBuf};
use std::process::Command;

use ambidex::context::{ContextOptions, IndexStats, symbol_map, symbols, tag_cache_path};
use ambidex::protocol::TaskId;
use ambidex::workspace::{WorktreeRequest, create};
use support::repos::project;

fn stats(root: &Path, options: &ContextOptions) -> IndexStats {
    symbol_map(root, options).unwrap().index().stats.clone()
}

/// A worktree of the fixture's `HEAD` made by Ambidex, as a task gets one.
fn task_worktree(repo: &Path, root: &Path) -> PathBuf {
    let request = WorktreeRequest {
        repo: repo.to_owned(),
        task: TaskId::new(),
        candidate: "production".into(),
        base: None,
        root: root.to_owned(),
    };
    create(&request).unwrap().path
}

/// A worktree of `HEAD` made by the `git` CLI, detached.
fn git_worktree(repo: &Path, path: &Path) {
    let status = Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(["worktree", "add", "--quiet", "--detach"])
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success());
}

fn size(path: &Path) -> u64 {
    std::fs::metadata(path).unwrap().len()
}

#[test]
fn a_second_worktree_of_the_same_commit_tags_nothing() {
    let fixture = project("rust");
    let state = tempfile::tempdir().unwrap();
    let options = ContextOptions::default().with_state_dir(state.path());
    let first = task_worktree(fixture.path(), &state.path().join("worktrees"));
    let cold = stats(&first, &options);
    assert!(cold.source_files >= 5, "{cold:?}");
    assert_eq!((cold.cache_hits, cold.cache_misses), (0, cold.source_files), "{cold:?}");
    let cache = tag_cache_path(state.path());
    let after_first = size(&cache);

    let second = task_worktree(fixture.path(), &state.path().join("worktrees"));
    assert_ne!(first, second);
    let warm = stats(&second, &options);
    assert_eq!((warm.cache_hits, warm.cache_misses), (cold.source_files, 0), "{warm:?}");
    assert!(warm.cache_note.is_none(), "{:?}", warm.cache_note);
    // Made by git itself, and the user's checkout: the same.
    let third = state.path().join("by-git");
    git_worktree(fixture.path(), &third);
    let by_git = stats(&third, &options);
    assert_eq!((by_git.cache_hits, by_git.cache_misses), (cold.source_files, 0), "{by_git:?}");
    let checkout = stats(fixture.path(), &options);
    assert_eq!((checkout.cache_hits, checkout.cache_misses), (cold.source_files, 0), "{checkout:?}");
    assert_eq!(size(&cache), after_first, "nothing new to store: the file does not grow");

    // An edit in one worktree re-tags that file only, there; the others still hit everything.
    let store = second.join("src/store.rs");
    let mut text = std::fs::read_to_string(&store).unwrap();
    text.push_str("\npub fn only_in_the_second_worktree() {}\n");
    std::fs::write(&store, text).unwrap();
    let edited = stats(&second, &options);
    assert_eq!((edited.cache_hits, edited.cache_misses), (cold.source_files - 1, 1), "{edited:?}");
    assert_eq!(symbols(&second, "only_in_the_second_worktree", &options).unwrap().len(), 1);
    assert!(symbols(&first, "only_in_the_second_worktree", &options).unwrap().is_empty());
    let untouched = stats(&first, &options);
    assert_eq!((untouched.cache_hits, untouched.cache_misses), (cold.source_files, 0));
    // One more entry, not a worktree's worth.
    assert!(size(&cache) < after_first + after_first / 2 + 64 * 1024, "{} vs {after_first}", size(&cache));
}

#[test]
fn a_corrupt_or_unusable_cache_still_yields_a_map() {
    let fixture = project("python");
    let state = tempfile::tempdir().unwrap();
    let worktree = task_worktree(fixture.path(), &state.path().join("worktrees"));
    let cache = tag_cache_path(state.path());
    std::fs::create_dir_all(cache.parent().unwrap()).unwrap();
    std::fs::write(&cache, vec![0x5Au8; 32 * 1024]).unwrap();
    let options = ContextOptions::default().with_state_dir(state.path());
    let map = symbol_map(&worktree, &options).unwrap();
    let stats = &map.index().stats;
    assert!(stats.cache_note.as_deref().unwrap_or("").contains("tag cache"), "{stats:?}");
    assert_eq!(stats.cache_misses, stats.source_files);
    assert!(!map.ranked(3).is_empty());

    // A cache path that cannot be created (its parent is a file): the map all the same.
    let blocked = ContextOptions { tag_cache: Some(worktree.join("app/cli.py").join("tags.redb")), ..options };
    let map = symbol_map(&worktree, &blocked).unwrap();
    assert!(!map.ranked(3).is_empty());
    assert!(map.index().stats.cache_note.is_some(), "{:?}", map.index().stats);
}
