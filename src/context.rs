//! The repository context service: what an agent (or a person) needs to know about a repository
//! before changing it, gathered fast and fitted to a token budget.
//!
//! Agents are only as good as the context they get. This module provides it as library calls
//! that the CLI (`ambidex context`, `ambidex search`), the tool broker (`search` and `symbols`
//! tools) and prompt building share:
//! - [`search`]: gitignore-aware parallel regex search with ripgrep's libraries, bounded output;
//! - [`symbols`]: definitions of a name or of a file, from tree-sitter tags;
//! - [`symbol_map`] / [`RepoMap`]: the ranked symbol map (aider-style repo map, personalized
//!   PageRank over the file reference graph), rendered under a token budget;
//! - [`RepoContext::gather`]: the whole summary: languages, manifests, build and test commands,
//!   CI jobs, conventions, recent commits and churn, and the symbol map.
//!
//! Tags are cached in `<state_dir>/cache/tags.redb` (see `context/tag_cache.rs`) keyed by
//! content (git blob id and language), so a second run, or a second worktree of the same commit,
//! reads the cache, and an edit re-tags one file. No
//! input makes these functions panic: unreadable, binary, huge or vanished files are skipped and
//! counted, and a missing or locked cache only costs time.

mod ci;
mod codeowners;
mod conventions;
mod discovery;
mod graph;
mod history;
mod index;
mod lang;
mod repo_map;
mod rule_walk;
mod rules;
mod search;
mod setup_commands;
mod summary;
mod tag_cache;
mod tags;
mod walk;

use std::path::{Path, PathBuf};

pub use ci::is_ci_path;
pub use codeowners::{OwnerRule, codeowners};
pub use conventions::ConventionDoc;
pub use discovery::{CiConfig, CiJob, CommandHint, Discovery, LanguageStat, Manifest, TaskTargets, TestFiles};
pub use graph::{Csr, PageRank, PageRankOptions, pagerank, pagerank_edges};
pub use history::{CommitInfo, FileChurn, History};
pub use index::{DEFAULT_MAX_TAG_SIZE, IndexStats, IndexedFile, Skipped, SymbolIndex};
pub use lang::Lang;
pub use repo_map::{Focus, RankedSymbol, RepoMap, SymbolHit};
pub use search::{SearchLine, SearchMatch, SearchQuery, SearchResults, search};
pub use setup_commands::discover_setup;
pub use summary::RepoContext;
pub use tag_cache::TagCacheError;
pub use tags::{Def, FileTags};

use tag_cache::TagCache;

/// Routes tree-sitter's allocations to mimalloc. A cold symbol map is mostly parsing, and a parse
/// allocates and frees a syntax tree of small nodes per file, on every thread at once: mimalloc
/// does that about a tenth faster overall than the C library's allocator (`benches/context.rs`).
/// Without this call everything works the same, on the C library's allocator.
///
/// # Safety
/// Call it once, before any tree-sitter object (parser, tree, query) exists and while no other
/// thread can create one: first thing in `main`.
pub unsafe fn install_parser_allocator() {
    use libmimalloc_sys as mi;
    let allocator = tree_sitter::Allocator {
        malloc: mi::mi_malloc,
        calloc: mi::mi_calloc,
        realloc: mi::mi_realloc,
        free: mi::mi_free,
    };
    // SAFETY: the caller guarantees no tree-sitter object exists yet; mimalloc's functions have
    // the C allocator's signatures and alignment.
    unsafe { tree_sitter::set_allocator(Some(allocator)) };
}

/// Why a context call could not run at all (everything else degrades to a note).
#[derive(Debug, thiserror::Error)]
pub enum ContextError {
    /// The root is a file, not a directory.
    #[error("{} is not a directory", .0.display())]
    NotADirectory(PathBuf),
    /// The root cannot be read.
    #[error("cannot read {}: {source}", path.display())]
    Unreadable {
        /// The root.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The search pattern is not a valid regular expression.
    #[error("invalid pattern `{0}`: {1}")]
    BadPattern(String, String),
    /// A `--glob` is not a valid glob.
    #[error("invalid glob `{0}`: {1}")]
    BadGlob(String, String),
}

/// How to gather context.
#[derive(Debug, Clone)]
pub struct ContextOptions {
    /// Files, directories or symbols the work is about; they steer the ranking.
    pub focus: Vec<String>,
    /// The tag cache file (`None`: tag everything every time).
    pub tag_cache: Option<PathBuf>,
    /// Where the work happens, for the `AGENTS.md` files between it and the root.
    pub working_dir: Option<PathBuf>,
    /// Commits scanned for recent changes and churn.
    pub max_commits: usize,
    /// Worker threads (0: one per core).
    pub threads: usize,
    /// Source files larger than this are not tagged.
    pub max_tag_file_size: u64,
}

impl Default for ContextOptions {
    fn default() -> Self {
        ContextOptions {
            focus: Vec::new(),
            tag_cache: None,
            working_dir: None,
            max_commits: 200,
            threads: 0,
            max_tag_file_size: DEFAULT_MAX_TAG_SIZE,
        }
    }
}

impl ContextOptions {
    /// Uses the tag cache of the state directory `state_dir` (`<state_dir>/cache/tags.redb`).
    pub fn with_state_dir(mut self, state_dir: &Path) -> ContextOptions {
        self.tag_cache = Some(tag_cache_path(state_dir));
        self
    }

    fn index_options(&self) -> index::IndexOptions {
        index::IndexOptions {
            cache: self.tag_cache.clone(),
            threads: self.threads,
            max_file_size: self.max_tag_file_size,
        }
    }
}

/// The tag cache file of a state directory.
pub fn tag_cache_path(state_dir: &Path) -> PathBuf {
    TagCache::path_in(state_dir)
}

/// Builds the ranked symbol map of the repository at `root` (tags, graph, ranking), without the
/// rest of the summary.
pub fn symbol_map(root: &Path, options: &ContextOptions) -> Result<RepoMap, ContextError> {
    walk::check_root(root)?;
    let walk = walk::walk(root, walk::threads(options.threads));
    let index = index::build(root, &walk, &options.index_options());
    let focus = Focus { items: options.focus.clone() };
    Ok(RepoMap::new(index, &focus))
}

/// The definitions in the file `name_or_file` (a path relative to `root`), or of the symbol
/// `name_or_file` (exact name; failing that, names containing it regardless of case), best
/// ranked first, at most 50.
pub fn symbols(root: &Path, name_or_file: &str, options: &ContextOptions) -> Result<Vec<SymbolHit>, ContextError> {
    Ok(symbol_map(root, options)?.lookup(name_or_file, 50))
}

#[cfg(test)]
#[path = "context/context_tests.rs"]
mod tests;
