//! The tag cache: hit on a second run, one miss after one edit, pruned deletions, racy edits
//! that keep size and time, and a damaged or unusable cache file that only costs time.

// Test and benchmark code may unwrap and panic: that is how it reports a failure (see clippy.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support {
    pub mod repos;
}

use std::time::{Duration, SystemTime};

use ambidex::context::{ContextOptions, IndexStats, symbol_map, symbols, tag_cache_path};
use support::repos::{LANGUAGES, project};

fn stats(root: &std::path::Path, options: &ContextOptions) -> IndexStats {
    symbol_map(root, options).unwrap().index().stats.clone()
}

/// Sets a file's modification time to `seconds_ago` in the past.
fn age(path: &std::path::Path, seconds_ago: u64) {
    let file = std::fs::File::options().write(true).open(path).unwrap();
    file.set_modified(SystemTime::now() - Duration::from_secs(seconds_ago)).unwrap();
}

#[test]
fn a_second_run_reads_the_cache_and_an_edit_retags_one_file() {
    for language in LANGUAGES {
        let fixture = project(language);
        let state = tempfile::tempdir().unwrap();
        let options = ContextOptions::default().with_state_dir(state.path());
        let cold = stats(fixture.path(), &options);
        assert!(cold.source_files >= 5, "{language}: {cold:?}");
        assert_eq!((cold.cache_hits, cold.cache_misses), (0, cold.source_files));
        assert!(cold.cache_note.is_none(), "{:?}", cold.cache_note);
        assert!(tag_cache_path(state.path()).is_file());

        let warm = stats(fixture.path(), &options);
        assert_eq!((warm.cache_hits, warm.cache_misses), (cold.source_files, 0), "{language}");

        let (store, function) = match language {
            "rust" => ("src/store.rs", "\npub fn freshly_added_fn() {}\n"),
            "python" => ("app/store.py", "\ndef freshly_added_fn():\n    pass\n"),
            "go" => ("store/store.go", "\nfunc freshly_added_fn() {}\n"),
            "javascript" => ("src/store.js", "\nexport function freshly_added_fn() {}\n"),
            _ => ("src/store.ts", "\nexport function freshly_added_fn() {}\n"),
        };
        let mut text = std::fs::read_to_string(fixture.file(store)).unwrap();
        text.push_str(function);
        fixture.write(store, &text);
        let edited = stats(fixture.path(), &options);
        assert_eq!((edited.cache_hits, edited.cache_misses), (cold.source_files - 1, 1), "{language}");
        let hits = symbols(fixture.path(), "freshly_added_fn", &options).unwrap();
        assert_eq!(hits.len(), 1, "{language}");
        assert_eq!(hits[0].path, store);
    }
}

#[test]
fn deleted_files_leave_the_map_and_the_cache() {
    let fixture = project("rust");
    let state = tempfile::tempdir().unwrap();
    let options = ContextOptions::default().with_state_dir(state.path());
    let cold = stats(fixture.path(), &options);
    let original = std::fs::read_to_string(fixture.file("src/report.rs")).unwrap();
    std::fs::remove_file(fixture.file("src/report.rs")).unwrap();
    let after = stats(fixture.path(), &options);
    assert_eq!(after.source_files, cold.source_files - 1);
    assert_eq!((after.cache_hits, after.cache_misses), (cold.source_files - 1, 0));
    assert!(symbols(fixture.path(), "render_report", &options).unwrap().is_empty());
    // Restoring it with other content is a miss; with its old content, a hit.
    fixture.write("src/report.rs", "pub fn render_report() {}\n");
    let restored = stats(fixture.path(), &options);
    assert_eq!(restored.cache_misses, 1);
    fixture.write("src/report.rs", &original);
    let back = stats(fixture.path(), &options);
    assert_eq!((back.cache_hits, back.cache_misses), (cold.source_files, 0));
}

#[test]
fn a_same_size_edit_within_the_timestamp_granularity_is_still_seen() {
    let fixture = project("python");
    let state = tempfile::tempdir().unwrap();
    let options = ContextOptions::default().with_state_dir(state.path());
    let path = fixture.file("app/cli.py");
    let original = std::fs::read_to_string(&path).unwrap();
    // Modified "just now" (here: in the future, so however slow this test runs): the entry is
    // racy and carries a content hash.
    let mtime = SystemTime::now() + Duration::from_secs(3600);
    std::fs::File::options().write(true).open(&path).unwrap().set_modified(mtime).unwrap();
    stats(fixture.path(), &options);
    let renamed = original.replace("parse_cli_args", "parse_cli_argz");
    assert_eq!(renamed.len(), original.len());
    std::fs::write(&path, &renamed).unwrap();
    std::fs::File::options().write(true).open(&path).unwrap().set_modified(mtime).unwrap();
    let seen = stats(fixture.path(), &options);
    assert_eq!(seen.cache_misses, 1, "{seen:?}");
    assert_eq!(symbols(fixture.path(), "parse_cli_argz", &options).unwrap().len(), 1);

    // Entries are keyed by content: new times on the same content tag nothing again.
    for file in
        ["app/cli.py", "app/store.py", "app/engine.py", "app/report.py", "app/__init__.py", "tests/test_store.py"]
    {
        age(&fixture.file(file), 60);
    }
    let retouched = stats(fixture.path(), &options);
    assert_eq!((retouched.cache_hits, retouched.cache_misses), (6, 0), "new times, same content");
    let warm = stats(fixture.path(), &options);
    assert_eq!((warm.cache_hits, warm.cache_misses), (6, 0));
}

#[test]
fn a_damaged_cache_is_reported_and_never_fails_the_map() {
    let fixture = project("go");
    let state = tempfile::tempdir().unwrap();
    let cache = tag_cache_path(state.path());
    std::fs::create_dir_all(cache.parent().unwrap()).unwrap();
    std::fs::write(&cache, b"this is not a redb file at all, just some bytes".repeat(100)).unwrap();
    let options = ContextOptions::default().with_state_dir(state.path());
    let map = symbol_map(fixture.path(), &options).unwrap();
    let stats = &map.index().stats;
    assert!(stats.cache_note.as_deref().unwrap_or("").contains("tag cache"), "{stats:?}");
    assert_eq!(stats.cache_misses, stats.source_files);
    assert!(!map.ranked(3).is_empty());

    // A cache path that cannot be created (its parent is a file) is no worse.
    let blocked =
        ContextOptions { tag_cache: Some(fixture.file("go.mod").join("tags.redb")), ..ContextOptions::default() };
    let stats = symbol_map(fixture.path(), &blocked).unwrap().index().stats.clone();
    assert!(stats.cache_note.is_some());
    assert_eq!(stats.cache_misses, stats.source_files);
}

#[test]
fn two_repositories_share_one_cache_file() {
    let first = project("rust");
    let second = project("typescript");
    let state = tempfile::tempdir().unwrap();
    let options = ContextOptions::default().with_state_dir(state.path());
    let a = stats(first.path(), &options);
    let b = stats(second.path(), &options);
    let a_again = stats(first.path(), &options);
    let b_again = stats(second.path(), &options);
    assert_eq!(a_again.cache_hits, a.source_files);
    assert_eq!(b_again.cache_hits, b.source_files);
}
