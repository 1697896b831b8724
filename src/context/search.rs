//! Bounded regex search over a repository with ripgrep's own libraries: the `ignore` walker
//! (gitignore-aware, parallel) feeding `grep-searcher` with a `grep-regex` matcher per thread.
//!
//! Results are bounded so they fit in a prompt: at most `max_matches` matching lines are kept
//! (the search still counts the rest) and long lines are cut; when anything is cut, `truncated`
//! says what and how to narrow the search.

use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use grep_regex::{RegexMatcher, RegexMatcherBuilder};
use grep_searcher::{BinaryDetection, Searcher, SearcherBuilder, Sink, SinkContext, SinkContextKind, SinkMatch};
use ignore::WalkState;
use serde::Serialize;

use super::ContextError;
use super::walk::{self, lock};

/// What to search for.
#[derive(Debug, Clone)]
pub struct SearchQuery {
    /// A regular expression (Rust `regex` syntax, like ripgrep's).
    pub pattern: String,
    /// ripgrep-style globs selecting files (`*.rs`, `src/**`), `!` to exclude.
    pub globs: Vec<String>,
    /// Lines of context before and after each match.
    pub context_lines: usize,
    /// The most matching lines to return; the rest are counted only.
    pub max_matches: usize,
    /// Lines longer than this (in characters) are cut.
    pub max_line_len: usize,
    /// Match without regard to case.
    pub case_insensitive: bool,
    /// Treat the pattern as a literal string.
    pub fixed_strings: bool,
    /// Worker threads (0: one per core).
    pub threads: usize,
}

impl SearchQuery {
    /// A query for `pattern` with the default bounds (200 matches, lines cut at 300 characters).
    pub fn new(pattern: impl Into<String>) -> SearchQuery {
        SearchQuery {
            pattern: pattern.into(),
            globs: Vec::new(),
            context_lines: 0,
            max_matches: 200,
            max_line_len: 300,
            case_insensitive: false,
            fixed_strings: false,
            threads: 0,
        }
    }
}

/// One line of a result: a match or a context line around one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SearchLine {
    /// 1-based line number.
    pub line: u64,
    /// The text, without its line terminator, cut to `max_line_len`.
    pub text: String,
    /// Whether this line matched (otherwise it is context).
    pub is_match: bool,
}

/// The lines found in one file, in order; a `None` entry marks a gap between context groups.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SearchMatch {
    /// The path relative to the searched root, with `/` separators.
    pub path: String,
    /// Matching and context lines in file order.
    pub lines: Vec<SearchLine>,
}

/// What a search found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SearchResults {
    /// Files with matches, sorted by path.
    pub matches: Vec<SearchMatch>,
    /// Matching lines found in total (including those not returned).
    pub total_matches: usize,
    /// Files with at least one match (including those not returned).
    pub files_matched: usize,
    /// Files searched.
    pub files_searched: usize,
    /// Files skipped: binary, unreadable or vanished during the search.
    pub skipped: usize,
    /// When results were cut: what was cut and how to narrow the search.
    pub truncated: Option<String>,
}

impl SearchResults {
    /// Matching lines returned.
    pub fn shown_matches(&self) -> usize {
        self.matches.iter().map(|m| m.lines.iter().filter(|l| l.is_match).count()).sum()
    }

    /// Renders the results like `rg -n`: `path:line:text` for matches, `path-line-text` for
    /// context lines, `--` between groups; then the truncation note, or a line saying there is
    /// no match.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let grouped = self.matches.iter().any(|m| m.lines.iter().any(|l| !l.is_match));
        for (i, file) in self.matches.iter().enumerate() {
            let mut previous: Option<u64> = None;
            for line in &file.lines {
                let gap = previous.is_some_and(|p| line.line > p + 1);
                if grouped && (gap || (i > 0 && previous.is_none())) {
                    out.push_str("--\n");
                }
                let sep = if line.is_match { ':' } else { '-' };
                out.push_str(&format!("{}{sep}{}{sep}{}\n", file.path, line.line, line.text));
                previous = Some(line.line);
            }
        }
        if self.total_matches == 0 {
            out.push_str(&format!(
                "no match in {} files searched{}\n",
                self.files_searched,
                skipped_note(self.skipped)
            ));
        }
        if let Some(note) = &self.truncated {
            out.push_str(note);
            out.push('\n');
        }
        out
    }
}

fn skipped_note(skipped: usize) -> String {
    if skipped == 0 { String::new() } else { format!(" ({skipped} binary or unreadable files skipped)") }
}

/// Searches the files under `root` for `query.pattern`.
pub fn search(root: &Path, query: &SearchQuery) -> Result<SearchResults, ContextError> {
    walk::check_root(root)?;
    let matcher = RegexMatcherBuilder::new()
        .line_terminator(Some(b'\n'))
        .case_insensitive(query.case_insensitive)
        .fixed_strings(query.fixed_strings)
        .build(&query.pattern)
        .map_err(|err| ContextError::BadPattern(query.pattern.clone(), err.to_string()))?;
    let overrides = walk::overrides(root, &query.globs)?;
    let threads = walk::threads(query.threads);
    let shared = Shared {
        kept: AtomicUsize::new(0),
        max: query.max_matches,
        max_line_len: query.max_line_len.max(20),
        results: Mutex::new(Vec::new()),
    };
    walk::builder(root, overrides, threads).build_parallel().run(|| {
        let matcher = matcher.clone();
        let mut searcher = SearcherBuilder::new()
            .line_number(true)
            .binary_detection(BinaryDetection::quit(0))
            .before_context(query.context_lines)
            .after_context(query.context_lines)
            .build();
        let mut tally = Tally { shared: &shared, files: Vec::new(), stats: Stats::default() };
        Box::new(move |entry| {
            let Ok(entry) = entry else {
                tally.stats.skipped += 1;
                return WalkState::Continue;
            };
            if !entry.file_type().is_some_and(|t| t.is_file()) {
                return WalkState::Continue;
            }
            tally.search_file(&mut searcher, &matcher, root, entry.path());
            WalkState::Continue
        })
    });
    let parts = shared.results.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut results = SearchResults::default();
    for (files, stats) in parts {
        results.matches.extend(files);
        results.total_matches += stats.matches;
        results.files_matched += stats.files_matched;
        results.files_searched += stats.searched;
        results.skipped += stats.skipped;
    }
    results.matches.sort_by(|a, b| a.path.cmp(&b.path));
    let shown = results.shown_matches();
    let long_lines = results.matches.iter().flat_map(|m| &m.lines).any(|l| l.text.ends_with(" chars]"));
    if shown < results.total_matches {
        results.truncated = Some(format!(
            "[showing {shown} of {} matching lines in {} files; narrow the search with a more \
             specific pattern or --glob (e.g. --glob 'src/**' or --glob '*.rs')]",
            results.total_matches, results.files_matched
        ));
    } else if long_lines {
        results.truncated = Some(format!(
            "[lines longer than {} characters were cut; search for a more specific pattern to \
             see the rest]",
            shared.max_line_len
        ));
    }
    Ok(results)
}

struct Shared {
    kept: AtomicUsize,
    max: usize,
    max_line_len: usize,
    results: Mutex<Vec<(Vec<SearchMatch>, Stats)>>,
}

#[derive(Default)]
struct Stats {
    matches: usize,
    files_matched: usize,
    searched: usize,
    skipped: usize,
}

/// One thread's results, handed over when its visitor is dropped.
struct Tally<'a> {
    shared: &'a Shared,
    files: Vec<SearchMatch>,
    stats: Stats,
}

impl Tally<'_> {
    fn search_file(&mut self, searcher: &mut Searcher, matcher: &RegexMatcher, root: &Path, path: &Path) {
        let mut sink = FileSink {
            shared: self.shared,
            lines: Vec::new(),
            matches: 0,
            binary: false,
            last_match_kept: false,
            pending_context: Vec::new(),
        };
        match searcher.search_path(matcher, path, &mut sink) {
            Ok(()) if sink.binary => self.stats.skipped += 1,
            Ok(()) => {
                self.stats.searched += 1;
                if sink.matches > 0 {
                    self.stats.files_matched += 1;
                    self.stats.matches += sink.matches;
                }
                if !sink.lines.is_empty() {
                    self.files.push(SearchMatch { path: walk::relative(root, path), lines: sink.lines });
                }
            }
            Err(_) => self.stats.skipped += 1,
        }
    }
}

impl Drop for Tally<'_> {
    fn drop(&mut self) {
        let files = std::mem::take(&mut self.files);
        let stats = std::mem::take(&mut self.stats);
        lock(&self.shared.results).push((files, stats));
    }
}

/// Collects one file's lines, keeping matches while the global budget lasts.
struct FileSink<'a> {
    shared: &'a Shared,
    lines: Vec<SearchLine>,
    matches: usize,
    binary: bool,
    last_match_kept: bool,
    /// Before-context lines waiting for their match: kept only if that match is kept.
    pending_context: Vec<SearchLine>,
}

impl FileSink<'_> {
    fn line(&self, number: Option<u64>, bytes: &[u8], is_match: bool) -> SearchLine {
        SearchLine { line: number.unwrap_or(0), text: cut(bytes, self.shared.max_line_len), is_match }
    }
}

impl Sink for FileSink<'_> {
    type Error = std::io::Error;

    fn matched(&mut self, _: &Searcher, mat: &SinkMatch<'_>) -> Result<bool, std::io::Error> {
        self.matches += 1;
        let keep = self.shared.kept.fetch_add(1, Ordering::Relaxed) < self.shared.max;
        if keep {
            self.lines.append(&mut self.pending_context);
            let line = self.line(mat.line_number(), mat.bytes(), true);
            self.lines.push(line);
        } else {
            self.pending_context.clear();
        }
        self.last_match_kept = keep;
        Ok(true)
    }

    fn context(&mut self, _: &Searcher, ctx: &SinkContext<'_>) -> Result<bool, std::io::Error> {
        let line = self.line(ctx.line_number(), ctx.bytes(), false);
        match ctx.kind() {
            SinkContextKind::After if self.last_match_kept => self.lines.push(line),
            // The budget only shrinks: after a dropped match no later match is kept.
            SinkContextKind::After => {}
            _ => self.pending_context.push(line),
        }
        Ok(true)
    }

    fn context_break(&mut self, _: &Searcher) -> Result<bool, std::io::Error> {
        self.pending_context.clear();
        Ok(true)
    }

    fn binary_data(&mut self, _: &Searcher, _: u64) -> Result<bool, std::io::Error> {
        self.binary = true;
        self.lines.clear();
        Ok(false)
    }
}

/// The line without its terminator, lossily decoded, cut to `max` characters.
fn cut(bytes: &[u8], max: usize) -> String {
    let text = String::from_utf8_lossy(bytes);
    let text = text.trim_end_matches(['\n', '\r']);
    let count = text.chars().count();
    if count <= max {
        return text.to_owned();
    }
    let kept: String = text.chars().take(max).collect();
    format!("{kept}…[+{} chars]", count - max)
}

#[cfg(test)]
#[path = "search_tests.rs"]
mod tests;
