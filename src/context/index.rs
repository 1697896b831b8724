//! The symbol index: the tags of every source file under a root, read from the tag cache when
//! its content (git blob id) has been tagged before, by any worktree or checkout, computed in
//! parallel otherwise.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;

use super::lang::{Lang, taggers};
use super::tag_cache::{Saved, TagCache, should_prune};
use super::tags::{self, FileTags, Tagged, Tagger};
use super::walk::{Walk, WalkedFile};
use crate::workspace;

/// Files larger than this are not tagged by default (1 MiB): they are nearly always generated.
pub const DEFAULT_MAX_TAG_SIZE: u64 = 1024 * 1024;

/// How to build the index.
#[derive(Debug, Clone)]
pub struct IndexOptions {
    /// The tag cache file (`None`: no cache).
    pub cache: Option<PathBuf>,
    /// Worker threads (0: one per core).
    pub threads: usize,
    /// Larger files are skipped.
    pub max_file_size: u64,
}

/// Source files that were not tagged, by reason.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Skipped {
    /// Larger than the size limit.
    pub too_large: usize,
    /// Containing NUL bytes.
    pub binary: usize,
    /// Unreadable, or gone before they could be read.
    pub unreadable: usize,
    /// The parser gave up on them.
    pub unparsable: usize,
    /// A few of the skipped paths, with the reason.
    pub examples: Vec<String>,
}

impl Skipped {
    /// The number of skipped files.
    pub fn total(&self) -> usize {
        self.too_large + self.binary + self.unreadable + self.unparsable
    }

    fn add_example(&mut self, path: &str, why: &str) {
        if self.examples.len() < 5 {
            self.examples.push(format!("{path} ({why})"));
        }
    }

    /// A one-line summary, e.g. `2 skipped (1 over 1 MiB, 1 binary)`, or `None` if none were.
    pub fn summary(&self, max_size: u64) -> Option<String> {
        if self.total() == 0 {
            return None;
        }
        let mut parts = Vec::new();
        if self.too_large > 0 {
            parts.push(format!("{} over {}", self.too_large, crate::protocol::human_bytes(max_size)));
        }
        if self.binary > 0 {
            parts.push(format!("{} binary", self.binary));
        }
        if self.unreadable > 0 {
            parts.push(format!("{} unreadable", self.unreadable));
        }
        if self.unparsable > 0 {
            parts.push(format!("{} unparsable", self.unparsable));
        }
        Some(format!("{} skipped ({})", self.total(), parts.join(", ")))
    }
}

/// What building the index did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct IndexStats {
    /// Source files in a supported language.
    pub source_files: usize,
    /// Files whose tags came from the cache.
    pub cache_hits: usize,
    /// Files tagged in this run (cache misses).
    pub cache_misses: usize,
    /// Files not tagged.
    pub skipped: Skipped,
    /// Why the cache was not used or not updated, when it was not.
    pub cache_note: Option<String>,
    /// Time spent building the index.
    #[serde(serialize_with = "millis")]
    pub elapsed: Duration,
}

fn millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// One tagged file.
#[derive(Debug, Clone)]
pub struct IndexedFile {
    /// The path relative to the root, `/`-separated.
    pub rel: String,
    /// Its language.
    pub lang: Lang,
    /// Its tags.
    pub tags: FileTags,
}

/// The tags of a repository.
#[derive(Debug, Clone, Default)]
pub struct SymbolIndex {
    /// Tagged files, sorted by path.
    pub files: Vec<IndexedFile>,
    /// What building it did.
    pub stats: IndexStats,
}

/// Builds the index of the files found by `walk` under `root`.
pub fn build(root: &Path, walk: &Walk, options: &IndexOptions) -> SymbolIndex {
    let started = Instant::now();
    let mut stats = IndexStats::default();
    let taggers = taggers();
    let threads = super::walk::threads(options.threads);
    let cache = options.cache.as_ref().and_then(|path| match TagCache::open(path, taggers.fingerprint) {
        Ok(cache) => Some(cache),
        Err(err) => {
            stats.cache_note = Some(format!("tag cache not used: {err}"));
            None
        }
    });

    let mut slots: Vec<(usize, Lang, Option<Tagged>)> = Vec::new();
    for (i, file) in walk.files.iter().enumerate() {
        let Some(lang) = Lang::of_path(Path::new(&file.rel)) else {
            continue;
        };
        stats.source_files += 1;
        if file.size > options.max_file_size {
            stats.skipped.too_large += 1;
            stats.skipped.add_example(&file.rel, "too large");
            continue;
        }
        slots.push((i, lang, None));
    }
    let keys: Vec<Option<Vec<u8>>> = match &cache {
        Some(_) => content_keys(root, walk, &slots, threads),
        None => vec![None; slots.len()],
    };
    let mut entries = 0;
    if let Some(cache) = &cache {
        let known: Vec<Vec<u8>> = keys.iter().flatten().cloned().collect();
        match cache.load(&known) {
            Ok((values, total)) => {
                entries = total;
                let mut values = values.into_iter();
                for (slot, key) in slots.iter_mut().zip(&keys) {
                    if key.is_some() {
                        slot.2 = values.next().flatten().and_then(|bytes| tags::decode(&bytes));
                    }
                }
            }
            Err(err) => stats.cache_note = Some(format!("tag cache not read: {err}")),
        }
    }
    let misses: Vec<usize> = (0..slots.len()).filter(|&slot| slots[slot].2.is_none()).collect();
    stats.cache_hits = slots.len() - misses.len();

    let jobs: Vec<(usize, &WalkedFile, Lang)> =
        misses.iter().map(|&slot| (slot, &walk.files[slots[slot].0], slots[slot].1)).collect();
    let computed = tag_in_parallel(&jobs, threads, cache.is_some());
    stats.cache_misses = jobs.len();
    let mut put = Vec::new();
    for (slot, outcome) in computed {
        let file = &walk.files[slots[slot].0];
        match outcome {
            Some((tagged, encoded)) => {
                if let (Some(encoded), Some(key)) = (encoded, &keys[slot]) {
                    put.push((key.clone(), encoded));
                }
                slots[slot].2 = Some(tagged);
            }
            None => {
                stats.skipped.unreadable += 1;
                stats.skipped.add_example(&file.rel, "unreadable");
            }
        }
    }
    if let Some(cache) = &cache {
        let used: HashSet<Vec<u8>> = keys.iter().flatten().cloned().collect();
        let keep = should_prune(entries.saturating_add(put.len() as u64), used.len()).then_some(&used);
        match cache.save(&put, keep) {
            Ok(Saved::Written) => {}
            Ok(Saved::Busy) => {
                stats.cache_note = Some(format!(
                    "tag cache {} is busy with another process; it was not updated",
                    cache.path().display()
                ));
            }
            Err(err) => stats.cache_note = Some(format!("tag cache not updated: {err}")),
        }
    }

    let mut files = Vec::new();
    for (i, lang, tagged) in slots {
        let rel = &walk.files[i].rel;
        match tagged {
            Some(Tagged::Tags(tags)) => files.push(IndexedFile { rel: rel.clone(), lang, tags }),
            Some(Tagged::Binary) => {
                stats.skipped.binary += 1;
                stats.skipped.add_example(rel, "binary");
            }
            Some(Tagged::Failed) => {
                stats.skipped.unparsable += 1;
                stats.skipped.add_example(rel, "unparsable");
            }
            None => {}
        }
    }
    stats.elapsed = started.elapsed();
    SymbolIndex { files, stats }
}

/// The cache key of each slot's content: its git blob id (from the git index of the work tree
/// holding `root` when git's stat check vouches for it, else hashed from the file) followed by
/// its language's name, since the same bytes tag differently as another language. `None` for a
/// file that could not be read: it is tagged (or counted unreadable) without the cache.
fn content_keys(
    root: &Path,
    walk: &Walk,
    slots: &[(usize, Lang, Option<Tagged>)],
    threads: usize,
) -> Vec<Option<Vec<u8>>> {
    let index = workspace::IndexBlobs::read(root);
    let key = |slot: &(usize, Lang, Option<Tagged>)| {
        let (i, lang, _) = slot;
        let file = &walk.files[*i];
        let id = match index.trusted(&file.rel, file.size, file.mtime_ns) {
            Some(id) => id,
            None => workspace::blob_id(&std::fs::read(&file.path).ok()?)?,
        };
        let mut key = id;
        key.extend_from_slice(lang.name().as_bytes());
        Some(key)
    };
    in_parallel(slots, threads, || (), |_, slot| key(slot))
}

/// `f` of every item, in order, computed on up to `threads` threads, each with its own state
/// made by `init` (a parser, say). A thread that panics loses only the items it had taken.
fn in_parallel<T: Sync, S, R: Send>(
    items: &[T],
    threads: usize,
    init: impl Fn() -> S + Sync,
    f: impl Fn(&mut S, &T) -> R + Sync,
) -> Vec<R> {
    let next = AtomicUsize::new(0);
    let threads = threads.clamp(1, items.len().max(1));
    let work = || {
        let mut state = init();
        let mut done = Vec::new();
        loop {
            let claimed = next.fetch_add(1, Ordering::Relaxed);
            let Some(item) = items.get(claimed) else {
                break;
            };
            done.push((claimed, f(&mut state, item)));
        }
        done
    };
    let mut all = if threads == 1 {
        work()
    } else {
        std::thread::scope(|scope| {
            let handles: Vec<_> = (0..threads - 1).map(|_| scope.spawn(work)).collect();
            let mut all = work();
            for handle in handles {
                if let Ok(done) = handle.join() {
                    all.extend(done);
                }
            }
            all
        })
    };
    all.sort_unstable_by_key(|(i, _)| *i);
    all.into_iter().map(|(_, r)| r).collect()
}

/// The outcome of tagging one file: its tags and, when they are to be cached, their encoding;
/// `None` when the file could not be read.
type Outcome = Option<(Tagged, Option<Vec<u8>>)>;

/// Tags `jobs` on `threads` threads, biggest files first, encoding the tags for the cache when
/// `encode` is set.
fn tag_in_parallel(jobs: &[(usize, &WalkedFile, Lang)], threads: usize, encode: bool) -> Vec<(usize, Outcome)> {
    let mut order: Vec<usize> = (0..jobs.len()).collect();
    order.sort_by_key(|&j| std::cmp::Reverse(jobs[j].1.size));
    // A panicking tagger loses only its own files; they are tagged again next time.
    in_parallel(&order, threads, Tagger::default, |tagger, &j| {
        let (slot, file, lang) = jobs[j];
        let outcome = std::fs::read(&file.path).ok().map(|source| {
            let tagged = tags::tag(tagger, lang, &source);
            let encoded = encode.then(|| tags::encode(&tagged));
            (tagged, encoded)
        });
        (slot, outcome)
    })
}
