//! The symbol index: the tags of every source file under a root, read from the tag cache when
//! the file is unchanged (same size and modification time), computed in parallel otherwise.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;

use super::lang::{Lang, taggers};
use super::tag_cache::{Saved, TagCache};
use super::tags::{self, FileTags, Identity, Tagged, Tagger};
use super::walk::{Walk, WalkedFile};

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
    let prefix = cache_prefix(root);
    let cache = options.cache.as_ref().and_then(|path| match TagCache::open(path, taggers.fingerprint) {
        Ok(cache) => Some(cache),
        Err(err) => {
            stats.cache_note = Some(format!("tag cache not used: {err}"));
            None
        }
    });
    let mut cached: HashMap<String, Vec<u8>> = match &cache {
        Some(cache) => match cache.load(&prefix) {
            Ok(entries) => entries.into_iter().collect(),
            Err(err) => {
                stats.cache_note = Some(format!("tag cache not read: {err}"));
                HashMap::new()
            }
        },
        None => HashMap::new(),
    };

    let now_ns = now_ns();
    let mut settled = Vec::new();
    let mut slots: Vec<(usize, Lang, Option<Tagged>)> = Vec::new();
    let mut misses: Vec<usize> = Vec::new();
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
        let key = format!("{prefix}{}", file.rel);
        let hit = cached.remove(&key).and_then(|bytes| check_hit(&bytes, file, now_ns, &mut settled, &key));
        if hit.is_some() {
            stats.cache_hits += 1;
        } else {
            misses.push(slots.len());
        }
        slots.push((i, lang, hit));
    }
    // What remains in `cached` belongs to files that are gone (or no longer walked).
    let stale: Vec<String> = cached.into_keys().collect();

    let jobs: Vec<(usize, &WalkedFile, Lang)> =
        misses.iter().map(|&slot| (slot, &walk.files[slots[slot].0], slots[slot].1)).collect();
    let computed = tag_in_parallel(&jobs, super::walk::threads(options.threads), now_ns, cache.is_some());
    stats.cache_misses = jobs.len();
    let mut put = settled;
    for (slot, outcome) in computed {
        let file = &walk.files[slots[slot].0];
        match outcome {
            Some((tagged, encoded)) => {
                if let Some(encoded) = encoded {
                    put.push((format!("{prefix}{}", file.rel), encoded));
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
        match cache.save(&put, &stale) {
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

/// A file modified less than this long before the index is built may change again without a
/// visible change of size or time (timestamps are coarse): its cached entry carries a content
/// hash that is checked before the entry is trusted.
const RACY_WINDOW_NS: i64 = 2_000_000_000;

fn now_ns() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).ok().and_then(|d| i64::try_from(d.as_nanos()).ok()).unwrap_or(i64::MAX)
}

fn is_racy(mtime_ns: i64, now_ns: i64) -> bool {
    mtime_ns > now_ns.saturating_sub(RACY_WINDOW_NS)
}

/// The cached tags of `file` if `bytes` were made from its current content. A racy entry that
/// is no longer racy is queued in `settled` to be stored without its hash.
fn check_hit(
    bytes: &[u8],
    file: &WalkedFile,
    now_ns: i64,
    settled: &mut Vec<(String, Vec<u8>)>,
    key: &str,
) -> Option<Tagged> {
    let (identity, _) = tags::identity(bytes)?;
    if identity.size != file.size || identity.mtime_ns != file.mtime_ns {
        return None;
    }
    let tagged = tags::decode(bytes)?;
    if let Some(hash) = identity.racy_hash {
        let source = std::fs::read(&file.path).ok()?;
        if tags::content_hash(&source) != hash {
            return None;
        }
        let racy_hash = is_racy(file.mtime_ns, now_ns).then_some(hash);
        if racy_hash.is_none() {
            let identity = Identity { racy_hash, ..identity };
            settled.push((key.to_owned(), tags::encode(identity, &tagged)));
        }
    }
    Some(tagged)
}

/// The cache key prefix of files under `root`: its canonical path and a separator.
fn cache_prefix(root: &Path) -> String {
    let root = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_owned());
    let mut prefix = root.to_string_lossy().into_owned();
    if !prefix.ends_with('/') {
        prefix.push('/');
    }
    prefix
}

/// The outcome of tagging one file: its tags and, when they are to be cached, their encoding;
/// `None` when the file could not be read.
type Outcome = Option<(Tagged, Option<Vec<u8>>)>;

/// Tags `jobs` on `threads` threads, biggest files first, encoding the tags for the cache when
/// `encode` is set.
fn tag_in_parallel(
    jobs: &[(usize, &WalkedFile, Lang)],
    threads: usize,
    now_ns: i64,
    encode: bool,
) -> Vec<(usize, Outcome)> {
    let mut order: Vec<usize> = (0..jobs.len()).collect();
    order.sort_by_key(|&j| std::cmp::Reverse(jobs[j].1.size));
    let next = AtomicUsize::new(0);
    let threads = threads.clamp(1, jobs.len().max(1));
    let work = || {
        let mut tagger = Tagger::default();
        let mut done = Vec::new();
        loop {
            let claimed = next.fetch_add(1, Ordering::Relaxed);
            let Some(&j) = order.get(claimed) else {
                break;
            };
            let (slot, file, lang) = jobs[j];
            let outcome = std::fs::read(&file.path).ok().map(|source| {
                let tagged = tags::tag(&mut tagger, lang, &source);
                let encoded = encode.then(|| {
                    let racy_hash = is_racy(file.mtime_ns, now_ns).then(|| tags::content_hash(&source));
                    let identity = Identity { size: file.size, mtime_ns: file.mtime_ns, racy_hash };
                    tags::encode(identity, &tagged)
                });
                (tagged, encoded)
            });
            done.push((slot, outcome));
        }
        done
    };
    if threads == 1 {
        return work();
    }
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads - 1).map(|_| scope.spawn(work)).collect();
        let mut all = work();
        for handle in handles {
            // A panicking tagger loses only its own files; they are tagged again next time.
            if let Ok(done) = handle.join() {
                all.extend(done);
            }
        }
        all
    })
}
