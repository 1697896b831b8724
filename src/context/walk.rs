//! Listing a repository's files the way ripgrep does: `.gitignore`, `.ignore` and hidden files
//! respected, symlinks not followed (so no loops), in parallel with the `ignore` crate.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::UNIX_EPOCH;

use ignore::overrides::{Override, OverrideBuilder};
use ignore::{WalkBuilder, WalkState};

use super::ContextError;

/// A file found by the walk.
#[derive(Debug, Clone)]
pub struct WalkedFile {
    /// The path relative to the root, with `/` separators.
    pub rel: String,
    /// The path to open.
    pub path: PathBuf,
    /// The size in bytes.
    pub size: u64,
    /// The modification time in nanoseconds since the epoch (0 when unknown).
    pub mtime_ns: i64,
}

/// Every file under a root, sorted by relative path, and what could not be read.
#[derive(Debug, Default)]
pub struct Walk {
    /// The files, sorted by `rel`.
    pub files: Vec<WalkedFile>,
    /// Entries the walk could not read (vanished, permissions, loops): counted, never fatal.
    pub errors: usize,
    /// A few of those errors, for the report.
    pub error_examples: Vec<String>,
}

/// Checks that `root` is a readable directory.
pub fn check_root(root: &Path) -> Result<(), ContextError> {
    match std::fs::metadata(root) {
        Ok(meta) if meta.is_dir() => Ok(()),
        Ok(_) => Err(ContextError::NotADirectory(root.to_owned())),
        Err(source) => Err(ContextError::Unreadable { path: root.to_owned(), source }),
    }
}

/// Builds ripgrep-style `--glob` overrides (`!` excludes) relative to `root`.
pub fn overrides(root: &Path, globs: &[String]) -> Result<Option<Override>, ContextError> {
    if globs.is_empty() {
        return Ok(None);
    }
    let mut builder = OverrideBuilder::new(root);
    for glob in globs {
        builder.add(glob).map_err(|err| ContextError::BadGlob(glob.clone(), err.to_string()))?;
    }
    builder.build().map(Some).map_err(|err| ContextError::BadGlob(globs.join(" "), err.to_string()))
}

/// A walker over `root` with ripgrep's default filters.
pub fn builder(root: &Path, overrides: Option<Override>, threads: usize) -> WalkBuilder {
    let mut builder = WalkBuilder::new(root);
    builder
        .hidden(true)
        .git_ignore(true)
        .git_exclude(true)
        .git_global(true)
        .ignore(true)
        .parents(true)
        .follow_links(false)
        .threads(threads);
    if let Some(overrides) = overrides {
        builder.overrides(overrides);
    }
    builder
}

/// The number of worker threads to use when `requested` is 0.
pub fn threads(requested: usize) -> usize {
    if requested > 0 {
        return requested;
    }
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2).min(12)
}

/// Lists the files under `root` with their size and modification time.
pub fn walk(root: &Path, threads: usize) -> Walk {
    let found: Mutex<Vec<Vec<WalkedFile>>> = Mutex::new(Vec::new());
    let failed: Mutex<(usize, Vec<String>)> = Mutex::new((0, Vec::new()));
    builder(root, None, threads).build_parallel().run(|| {
        let mut local = Batch { files: Vec::new(), errors: 0, examples: Vec::new(), found: &found, failed: &failed };
        Box::new(move |entry| {
            let entry = match entry {
                Ok(entry) => entry,
                Err(err) => {
                    local.error(err.to_string());
                    return WalkState::Continue;
                }
            };
            if !entry.file_type().is_some_and(|t| t.is_file()) {
                return WalkState::Continue;
            }
            let meta = match entry.metadata() {
                Ok(meta) => meta,
                Err(err) => {
                    local.error(err.to_string());
                    return WalkState::Continue;
                }
            };
            let path = entry.into_path();
            let rel = relative(root, &path);
            let mtime_ns = meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .and_then(|d| i64::try_from(d.as_nanos()).ok())
                .unwrap_or(0);
            local.files.push(WalkedFile { rel, path, size: meta.len(), mtime_ns });
            WalkState::Continue
        })
    });
    let mut files: Vec<WalkedFile> = take(found).into_iter().flatten().collect();
    files.sort_unstable_by(|a, b| a.rel.cmp(&b.rel));
    let (errors, mut error_examples) = take(failed);
    error_examples.sort();
    Walk { files, errors, error_examples }
}

/// A thread's share of the walk, handed over when the thread's visitor is dropped.
struct Batch<'a> {
    files: Vec<WalkedFile>,
    errors: usize,
    examples: Vec<String>,
    found: &'a Mutex<Vec<Vec<WalkedFile>>>,
    failed: &'a Mutex<(usize, Vec<String>)>,
}

impl Batch<'_> {
    fn error(&mut self, message: String) {
        self.errors += 1;
        if self.examples.len() < 5 {
            self.examples.push(message);
        }
    }
}

impl Drop for Batch<'_> {
    fn drop(&mut self) {
        lock(self.found).push(std::mem::take(&mut self.files));
        let mut failed = lock(self.failed);
        failed.0 += self.errors;
        for example in self.examples.drain(..) {
            if failed.1.len() < 5 {
                failed.1.push(example);
            }
        }
    }
}

/// Locks a mutex, ignoring poisoning: the data are plain lists that a panic cannot corrupt.
pub fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn take<T: Default>(mutex: Mutex<T>) -> T {
    mutex.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// `path` relative to `root`, with `/` separators.
pub fn relative(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    let mut out = String::new();
    for (i, part) in rel.components().enumerate() {
        if i > 0 {
            out.push('/');
        }
        out.push_str(&part.as_os_str().to_string_lossy());
    }
    out
}
