//! Content identities of working files: their git blob ids, read from the repository's index
//! when git's own stat check says the file is unchanged, or hashed from the content otherwise.
//!
//! The context service keys its tag cache by blob id, so every worktree of a repository (and the
//! user's checkout) shares one entry per file content. It asks here, so that git2 stays behind
//! `workspace`.

use std::collections::HashMap;
use std::path::Path;
use std::time::UNIX_EPOCH;

use git2::{ObjectType, Oid};

use super::repo::discover_with_prefix;

/// The index's flag bits that hold the merge stage (non-zero: a conflicted entry).
const STAGE_MASK: u16 = 0x3000;
/// The extended flag of an entry added with `git add -N` (its blob id is not the file's).
const INTENT_TO_ADD: u16 = 1 << 13;
/// The mode bits of a regular file (symbolic links and submodules have others).
const REGULAR_FILE: u32 = 0o100000;
const MODE_TYPE: u32 = 0o170000;

/// One regular file's index entry: its blob id and the stat data git recorded with it.
#[derive(Debug, Clone)]
struct Entry {
    id: Oid,
    size: u32,
    seconds: i64,
    nanos: u32,
}

/// The blob ids a git index records for the files under a directory, with the stat data that
/// tells when they can be trusted.
#[derive(Debug, Default)]
pub struct IndexBlobs {
    /// Entries by path relative to the directory, `/`-separated.
    entries: HashMap<String, Entry>,
    /// When the index file was last written, in nanoseconds since the epoch.
    index_mtime_ns: i64,
}

impl IndexBlobs {
    /// The index of the repository or worktree whose work tree contains `dir` (a linked worktree
    /// has its own index), keyed by paths relative to `dir`. Empty when `dir` is not in a git
    /// work tree or its index cannot be read: every file is then hashed.
    pub fn read(dir: &Path) -> IndexBlobs {
        let Some((repo, prefix)) = discover_with_prefix(dir) else {
            return IndexBlobs::default();
        };
        // The index's time first: an index rewritten after this is only judged more strictly.
        let Some(index_mtime_ns) = std::fs::metadata(repo.path().join("index")).ok().and_then(|m| mtime_ns(&m)) else {
            return IndexBlobs::default();
        };
        let Ok(index) = repo.index() else {
            return IndexBlobs::default();
        };
        let mut entries = HashMap::with_capacity(index.len());
        for entry in index.iter() {
            if entry.flags & STAGE_MASK != 0
                || entry.flags_extended & INTENT_TO_ADD != 0
                || entry.mode & MODE_TYPE != REGULAR_FILE
            {
                continue;
            }
            let Ok(path) = std::str::from_utf8(&entry.path) else {
                continue;
            };
            let Some(rel) = path.strip_prefix(prefix.as_str()) else {
                continue;
            };
            entries.insert(
                rel.to_owned(),
                Entry {
                    id: entry.id,
                    size: entry.file_size,
                    seconds: i64::from(entry.mtime.seconds()),
                    nanos: entry.mtime.nanoseconds(),
                },
            );
        }
        IndexBlobs { entries, index_mtime_ns }
    }

    /// The number of regular files the index records under the directory.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the index records no file under the directory.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The blob id of the file at `rel` if the index can vouch for it: its size and modification
    /// time are the ones recorded, and it was modified before the index was written (otherwise
    /// it is "racy", as git calls it: changed again within the timestamp's granularity, it would
    /// look the same). When the index holds whole seconds only, the file must be older than the
    /// index by a whole second.
    pub fn trusted(&self, rel: &str, size: u64, mtime_ns: i64) -> Option<Vec<u8>> {
        let entry = self.entries.get(rel)?;
        let seconds = mtime_ns.div_euclid(1_000_000_000);
        let nanos = u32::try_from(mtime_ns.rem_euclid(1_000_000_000)).ok()?;
        // The index keeps the low 32 bits of the size, as git does.
        if entry.size != size as u32 || entry.seconds != seconds {
            return None;
        }
        let settled = if entry.nanos == nanos {
            mtime_ns < self.index_mtime_ns
        } else if entry.nanos == 0 {
            seconds < self.index_mtime_ns.div_euclid(1_000_000_000)
        } else {
            false
        };
        settled.then(|| entry.id.as_bytes().to_vec())
    }
}

/// The git blob id of `content` (what `git hash-object` prints), or `None` if libgit2 cannot
/// compute it.
pub fn blob_id(content: &[u8]) -> Option<Vec<u8>> {
    Oid::hash_object(ObjectType::Blob, content).ok().map(|id| id.as_bytes().to_vec())
}

fn mtime_ns(meta: &std::fs::Metadata) -> Option<i64> {
    let since = meta.modified().ok()?.duration_since(UNIX_EPOCH).ok()?;
    i64::try_from(since.as_nanos()).ok()
}
