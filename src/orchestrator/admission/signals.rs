//! The repository signals triage weighs: the files a task is likely to touch, how often they
//! changed lately, and how big the repository is.
//!
//! The extraction of paths and identifiers from a task is pure; [`Signals::gather`] looks them up
//! in a repository with bounded work: one listing of the tracked files, one regex search for at
//! most a few distinctive identifiers, and one walk over the most recent commits for churn.
//! What the repository cannot say (whether a playbook exists, how similar past tasks went) the
//! caller fills in from the store and the playbooks.

use std::collections::{BTreeSet, HashMap};
use std::path::{Component, Path, PathBuf};

use crate::context::{SearchQuery, search};
use crate::protocol::TaskSpec;
use crate::workspace;

/// What triage knows about a task's surroundings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Signals {
    /// Files the task probably touches, repository-relative: first those it names, then those
    /// that mention the identifiers it names.
    pub likely_files: Vec<String>,
    /// How many of `likely_files` (the first ones) come from paths the task names.
    pub named_files: usize,
    /// Commits touching each likely file among the recent ones.
    pub churn: Vec<(String, u32)>,
    /// Whether a playbook exists for the task's kind.
    pub playbook_exists: bool,
    /// Past tasks similar to this one (same kind and files), whatever their outcome.
    pub similar_tasks: u32,
    /// Of those, the ones that failed.
    pub similar_failures: u32,
    /// Files in the repository.
    pub repo_files: usize,
}

/// Bounds on [`Signals::gather`].
#[derive(Debug, Clone)]
pub struct SignalOptions {
    /// The most likely files kept.
    pub max_likely_files: usize,
    /// The most of them found by searching for identifiers.
    pub max_search_files: usize,
    /// Repositories with more files are not searched for identifiers (listing and churn still
    /// run): the search reads every file.
    pub max_searched_repo: usize,
    /// The most identifiers searched for.
    pub max_identifiers: usize,
    /// Files a named directory contributes.
    pub max_files_per_dir: usize,
    /// Recent commits scanned for churn.
    pub max_commits: usize,
    /// Files listed at most (larger repositories are counted up to this).
    pub max_files: usize,
    /// Search threads (0: one per core).
    pub threads: usize,
}

impl Default for SignalOptions {
    fn default() -> Self {
        SignalOptions {
            max_likely_files: 20,
            max_search_files: 8,
            max_searched_repo: 100_000,
            max_identifiers: 8,
            max_files_per_dir: 10,
            max_commits: 300,
            max_files: 200_000,
            threads: 0,
        }
    }
}

impl Signals {
    /// Looks the task up in the repository at `root`: the paths it names that exist (a directory
    /// stands for its first files; a bare file name or a partial path for the files ending so,
    /// unless more than three do), then a few files that mention its distinctive identifiers, most
    /// identifiers first; the churn of those files; the number of files. `playbook_exists`,
    /// `similar_tasks` and `similar_failures` are left for the caller.
    ///
    /// This is blocking I/O (an index read, one search pass, a walk over recent commits): call it
    /// from `spawn_blocking` in async code.
    pub fn gather(root: &Path, spec: &TaskSpec, options: &SignalOptions) -> Signals {
        let files = list_files(root, options.max_files);
        let mut likely: Vec<String> = Vec::new();
        let mut seen: BTreeSet<String> = BTreeSet::new();
        let mut add = |path: &str, likely: &mut Vec<String>| {
            if likely.len() < options.max_likely_files && seen.insert(path.to_owned()) {
                likely.push(path.to_owned());
            }
        };
        let known: BTreeSet<&str> = files.iter().map(String::as_str).collect();
        for mentioned in mentioned_paths(spec) {
            let Some(rel) = confine(root, &mentioned) else {
                continue;
            };
            if known.contains(rel.as_str()) {
                add(&rel, &mut likely);
                continue;
            }
            let dir = format!("{}/", rel.trim_end_matches('/'));
            let inside: Vec<&String> = files.iter().filter(|f| f.starts_with(&dir)).collect();
            if !inside.is_empty() {
                let mut inside = inside;
                inside.sort();
                for file in inside.into_iter().take(options.max_files_per_dir) {
                    add(file, &mut likely);
                }
                continue;
            }
            // A bare name or a partial path: the files ending so, unless that is ambiguous.
            let suffix = format!("/{rel}");
            let mut ending: Vec<&String> = files.iter().filter(|f| f.ends_with(&suffix)).collect();
            if ending.len() <= MAX_SUFFIX_MATCHES {
                ending.sort();
                for file in ending {
                    add(file, &mut likely);
                }
            }
        }
        let named_files = likely.len();
        if files.len() <= options.max_searched_repo {
            let mut identifiers = mentioned_identifiers(spec);
            identifiers.truncate(options.max_identifiers);
            let found = files_mentioning(root, &identifiers, options.threads);
            let found: Vec<String> = found.into_iter().filter(|f| !likely.contains(f)).collect();
            for file in found.iter().take(options.max_search_files) {
                add(file, &mut likely);
            }
        }
        let churn = churn(root, &likely, options.max_commits);
        Signals { likely_files: likely, named_files, churn, repo_files: files.len(), ..Signals::default() }
    }

    /// The likely file with the most recent commits, if any file has one.
    pub fn hottest(&self) -> Option<(&str, u32)> {
        self.churn
            .iter()
            .filter(|(_, commits)| *commits > 0)
            .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))
            .map(|(path, commits)| (path.as_str(), *commits))
    }
}

/// A bare file name matching more files than this is ambiguous and stands for none of them.
const MAX_SUFFIX_MATCHES: usize = 3;

/// The texts a task's paths and identifiers are taken from (not `out_of_scope`: those are
/// places the task must not touch).
fn spec_texts(spec: &TaskSpec) -> impl Iterator<Item = &str> {
    [spec.title.as_str(), spec.description.as_str()]
        .into_iter()
        .chain(spec.acceptance_criteria.iter().map(String::as_str))
        .chain(spec.constraints.iter().map(String::as_str))
}

/// Words of `text`, each with whether it stood alone between backticks.
fn tokens(text: &str) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    for (i, part) in text.split('`').enumerate() {
        let quoted = i % 2 == 1 && !part.trim().contains(char::is_whitespace);
        for word in part.split_whitespace() {
            out.push((clean(word), quoted));
        }
    }
    out.retain(|(word, _)| !word.is_empty());
    out
}

/// Strips quotes, brackets, sentence punctuation, a leading `./` and a `:line:col` suffix.
fn clean(word: &str) -> String {
    let mut word = word.trim_matches(|c: char| "\"'()[]{}<>,;:!?*“”‘’".contains(c)).trim_end_matches('.');
    if let Some((head, _)) = word.split_once('(') {
        word = head;
    }
    while let Some((head, tail)) = word.rsplit_once(':') {
        if !tail.is_empty() && tail.chars().all(|c| c.is_ascii_digit()) {
            word = head;
        } else {
            break;
        }
    }
    word.trim_start_matches("./").to_owned()
}

const EXTENSIONS: &[&str] = &[
    "rs", "py", "pyi", "go", "js", "mjs", "cjs", "jsx", "ts", "tsx", "java", "kt", "kts", "rb", "php", "c", "h", "cc",
    "cpp", "hpp", "cs", "swift", "scala", "sql", "toml", "yaml", "yml", "json", "md", "rst", "txt", "sh", "bash",
    "zsh", "proto", "tf", "tfvars", "html", "css", "scss", "vue", "svelte", "lock", "xml", "gradle", "ini", "cfg",
    "conf", "env", "ex", "exs", "erl", "hs", "ml", "lua", "dart", "mod", "sum", "graphql", "pem", "key", "nix", "zig",
];

const FILE_NAMES: &[&str] = &[
    "Makefile",
    "Dockerfile",
    "Jenkinsfile",
    "Gemfile",
    "Rakefile",
    "Procfile",
    "Vagrantfile",
    "Pipfile",
    "LICENSE",
    "CODEOWNERS",
    ".env",
    ".gitignore",
    ".dockerignore",
];

const COMMON_DIRS: &[&str] = &[
    "src",
    "lib",
    "libs",
    "test",
    "tests",
    "spec",
    "docs",
    "doc",
    "app",
    "apps",
    "pkg",
    "cmd",
    "internal",
    "crates",
    "packages",
    "scripts",
    "config",
    "configs",
    "bin",
    "benches",
    "examples",
    "migrations",
    "playbooks",
    "themes",
    "web",
    "api",
    "server",
    "client",
    ".github",
    ".ci",
    "infra",
    "deploy",
    "tools",
];

fn path_chars(word: &str) -> bool {
    word.chars().all(|c| c.is_alphanumeric() || "_-./@+".contains(c)) && word.chars().any(char::is_alphanumeric)
}

/// Whether a cleaned word looks like a repository path.
fn is_path(word: &str, quoted: bool) -> bool {
    if word.contains("://") || !path_chars(word) || word.starts_with('@') {
        return false;
    }
    let last = word.rsplit('/').next().unwrap_or(word);
    if FILE_NAMES.contains(&last) {
        return true;
    }
    if let Some((stem, ext)) = last.rsplit_once('.')
        && stem.chars().any(char::is_alphanumeric)
        && EXTENSIONS.contains(&ext.to_ascii_lowercase().as_str())
    {
        return true;
    }
    if !word.contains('/') || (word.starts_with('/') && !quoted) {
        return false;
    }
    let segments: Vec<&str> = word.split('/').filter(|s| !s.is_empty()).collect();
    let first = segments.first().copied().unwrap_or_default();
    !segments.is_empty() && (quoted || segments.len() >= 3 || COMMON_DIRS.contains(&first))
}

/// The distinct paths a task names (files or directories, as written, without `./`).
pub fn mentioned_paths(spec: &TaskSpec) -> Vec<String> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for text in spec_texts(spec) {
        for (word, quoted) in tokens(text) {
            if is_path(&word, quoted) && seen.insert(word.trim_end_matches('/').to_owned()) {
                out.push(word);
            }
        }
    }
    out
}

/// Whether an identifier is distinctive enough to search for: `snake_case`, `CamelCase`,
/// `camelCase`, or anything at least three characters long written between backticks.
fn distinctive(ident: &str, quoted: bool) -> bool {
    let mut chars = ident.chars();
    let starts_well = chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    if !starts_well || !ident.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') || ident.chars().count() < 3 {
        return false;
    }
    let has_alpha = ident.chars().any(|c| c.is_ascii_alphabetic());
    let snake = ident.contains('_') && has_alpha && ident.trim_matches('_').len() >= 4;
    let inner_upper = ident.chars().skip(1).any(|c| c.is_ascii_uppercase());
    let has_lower = ident.chars().any(|c| c.is_ascii_lowercase());
    snake || (inner_upper && has_lower) || quoted
}

/// The distinct code identifiers a task names (`parse_config`, `TaskSpec`, the parts of
/// `Config::load`), in order of appearance.
pub fn mentioned_identifiers(spec: &TaskSpec) -> Vec<String> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for text in spec_texts(spec) {
        for (word, quoted) in tokens(text) {
            if is_path(&word, quoted) {
                continue;
            }
            for part in word.split("::").flat_map(|p| p.split(['.', '#'])) {
                let part = part.trim_matches(|c: char| !c.is_ascii_alphanumeric() && c != '_');
                if distinctive(part, quoted) && seen.insert(part.to_owned()) {
                    out.push(part.to_owned());
                }
            }
        }
    }
    out
}

/// A path named in a task, made relative to `root`; `None` when it points outside.
fn confine(root: &Path, path: &str) -> Option<String> {
    let path = Path::new(path);
    let rel: PathBuf = if path.is_absolute() {
        let canonical = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_owned());
        path.strip_prefix(&canonical).or_else(|_| path.strip_prefix(root)).ok()?.to_owned()
    } else {
        path.to_owned()
    };
    let mut parts = Vec::new();
    for component in rel.components() {
        match component {
            Component::Normal(part) => parts.push(part.to_string_lossy().into_owned()),
            Component::CurDir => {}
            _ => return None,
        }
    }
    (!parts.is_empty()).then(|| parts.join("/"))
}

/// The files under `root`, relative and `/`-separated: the tracked files of its git repository,
/// or, outside one (or before anything is tracked), a gitignore-aware walk. At most `max`.
pub fn list_files(root: &Path, max: usize) -> Vec<String> {
    let tracked = workspace::tracked_files(root, max);
    if !tracked.is_empty() {
        return tracked;
    }
    let mut files = Vec::new();
    let walk = ignore::WalkBuilder::new(root)
        .hidden(false)
        .require_git(false)
        .filter_entry(|entry| entry.file_name() != ".git")
        .build();
    for entry in walk.flatten() {
        if files.len() >= max {
            break;
        }
        if entry.file_type().is_some_and(|t| t.is_file())
            && let Ok(rel) = entry.path().strip_prefix(root)
        {
            let parts: Vec<String> = rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
            files.push(parts.join("/"));
        }
    }
    files.sort();
    files
}

/// The files that mention `identifiers` (whole words, case-sensitive), those mentioning the
/// most identifiers first, then the most matching lines, then by path.
fn files_mentioning(root: &Path, identifiers: &[String], threads: usize) -> Vec<String> {
    if identifiers.is_empty() {
        return Vec::new();
    }
    let alternation: Vec<String> = identifiers.iter().map(|i| regex::escape(i)).collect();
    // Identifiers are ASCII: ASCII word boundaries keep the search on the fast engines.
    let mut query = SearchQuery::new(format!(r"(?-u:\b)(?:{})(?-u:\b)", alternation.join("|")));
    query.max_matches = 500;
    query.max_line_len = 2000;
    query.threads = threads;
    let Ok(results) = search(root, &query) else {
        return Vec::new();
    };
    let mut ranked: Vec<(usize, usize, String)> = results
        .matches
        .into_iter()
        .map(|found| {
            let lines: Vec<&str> = found.lines.iter().filter(|l| l.is_match).map(|l| l.text.as_str()).collect();
            let distinct =
                identifiers.iter().filter(|ident| lines.iter().any(|line| contains_word(line, ident))).count();
            (distinct, lines.len(), found.path)
        })
        .collect();
    ranked.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.cmp(&a.1)).then(a.2.cmp(&b.2)));
    ranked.into_iter().map(|(_, _, path)| path).collect()
}

fn contains_word(line: &str, word: &str) -> bool {
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    line.match_indices(word).any(|(at, _)| {
        let before = line[..at].chars().next_back();
        let after = line[at + word.len()..].chars().next();
        !before.is_some_and(is_word) && !after.is_some_and(is_word)
    })
}

/// How many of the last `max_commits` commits (merges excluded, as `git log --no-merges`) touched
/// each of `paths` (relative to `root`), in the order given; zero for a path no commit touched.
/// Empty outside a git repository or before the first commit.
pub fn churn(root: &Path, paths: &[String], max_commits: usize) -> Vec<(String, u32)> {
    if paths.is_empty() {
        return Vec::new();
    }
    let Ok(log) = workspace::log(root, max_commits, Some(paths)) else {
        return Vec::new();
    };
    let mut counts: HashMap<&str, u32> = HashMap::new();
    for commit in log.commits.iter().filter(|commit| !commit.merge) {
        let touched: BTreeSet<&str> = commit.files.iter().map(String::as_str).collect();
        for path in touched {
            *counts.entry(path).or_insert(0) += 1;
        }
    }
    paths.iter().map(|path| (path.clone(), counts.get(path.as_str()).copied().unwrap_or(0))).collect()
}
