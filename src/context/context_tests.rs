//! Tests of the tag cache file and of the index on files that vanish or are too large.

use super::tag_cache::{Saved, TagCache};
use super::*;

fn key(name: &str) -> Vec<u8> {
    name.as_bytes().to_vec()
}

#[test]
fn the_tag_cache_keeps_fingerprints_apart_and_drops_old_ones() {
    let dir = tempfile::tempdir().unwrap();
    let path = tag_cache_path(dir.path());
    let old = TagCache::open(&path, 1).unwrap();
    let entries = vec![(key("a"), b"A".to_vec()), (key("b"), b"B".to_vec()), (key("c"), b"C".to_vec())];
    assert_eq!(old.save(&entries, None).unwrap(), Saved::Written);
    let (found, total) = old.load(&[key("a"), key("x"), key("c")]).unwrap();
    assert_eq!(found, vec![Some(b"A".to_vec()), None, Some(b"C".to_vec())]);
    assert_eq!(total, 3);

    // Pruning keeps exactly the keys a walk used.
    let keep: std::collections::HashSet<Vec<u8>> = [key("a"), key("b")].into_iter().collect();
    old.save(&[], Some(&keep)).unwrap();
    assert_eq!(old.load(&[key("c")]).unwrap(), (vec![None], 2));

    // A second opener in the same process shares the handle; a new fingerprint sees nothing
    // and its first write drops the old entries.
    let new = TagCache::open(&path, 2).unwrap();
    assert_eq!(new.load(&[key("a")]).unwrap(), (vec![None], 2));
    new.save(&[(key("d"), b"D".to_vec())], None).unwrap();
    assert_eq!(old.load(&[key("a")]).unwrap(), (vec![None], 1));
    assert_eq!(new.load(&[key("d")]).unwrap().0, vec![Some(b"D".to_vec())]);
    drop((old, new));
    let reopened = TagCache::open(&path, 2).unwrap();
    assert_eq!(reopened.load(&[key("d")]).unwrap(), (vec![Some(b"D".to_vec())], 1));
}

#[test]
fn the_cache_is_pruned_only_when_it_holds_many_more_entries_than_the_walk() {
    use super::tag_cache::{PRUNE_FACTOR, PRUNE_FLOOR, should_prune};
    assert!(!should_prune(PRUNE_FLOOR, 10), "a small walk never evicts below the floor");
    assert!(should_prune(PRUNE_FLOOR + 1, 10));
    let walked = 100_000;
    assert!(!should_prune(PRUNE_FACTOR * walked as u64, walked));
    assert!(should_prune(PRUNE_FACTOR * walked as u64 + 1, walked));
}

#[test]
fn a_damaged_tag_cache_is_an_error_that_says_to_delete_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tags.redb");
    std::fs::write(&path, vec![0xA5u8; 64 * 1024]).unwrap();
    let err = TagCache::open(&path, 1).err().expect("a damaged file does not open");
    assert!(matches!(err, super::TagCacheError::Corrupt { .. } | super::TagCacheError::Failed { .. }), "{err}");
    assert!(err.to_string().contains(&path.display().to_string()), "{err}");
}

#[test]
fn a_file_that_vanishes_before_it_is_read_is_counted_as_unreadable() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("kept.rs"), "fn kept_fn() {}\n").unwrap();
    let mut walked = walk::walk(dir.path(), 1);
    walked.files.push(walk::WalkedFile {
        rel: "gone.rs".into(),
        path: dir.path().join("gone.rs"),
        size: 10,
        mtime_ns: 1,
    });
    let options = ContextOptions::default().with_state_dir(dir.path());
    let built = index::build(dir.path(), &walked, &options.index_options());
    assert_eq!(built.stats.skipped.unreadable, 1);
    assert_eq!(built.stats.skipped.examples, vec!["gone.rs (unreadable)".to_owned()]);
    assert_eq!(built.files.len(), 1);
    assert_eq!(built.stats.skipped.summary(DEFAULT_MAX_TAG_SIZE).as_deref(), Some("1 skipped (1 unreadable)"));
}

#[test]
fn an_oversized_limit_and_threads_are_respected() {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..20 {
        std::fs::write(
            dir.path().join(format!("m{i}.py")),
            format!("def function_{i}():\n    return helper_function()\n"),
        )
        .unwrap();
    }
    std::fs::write(dir.path().join("helper.py"), "def helper_function():\n    pass\n").unwrap();
    let options = ContextOptions { threads: 3, max_tag_file_size: 40, ..ContextOptions::default() };
    let map = symbol_map(dir.path(), &options).unwrap();
    let stats = &map.index().stats;
    // The 20 modules are 50+ bytes: over the limit. Only the helper is tagged.
    assert_eq!(stats.skipped.too_large, 20);
    assert_eq!(stats.cache_misses, 1);
    let options = ContextOptions { threads: 3, ..ContextOptions::default() };
    let map = symbol_map(dir.path(), &options).unwrap();
    assert_eq!(map.ranked(1)[0].name, "helper_function");
}
