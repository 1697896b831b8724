//! [`RepoContext`]: the whole repository summary, gathered once and rendered as plain text (for
//! prompts and the terminal) under a token budget, or as JSON.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::conventions::{self, ConventionDoc, cap};
use super::discovery::{self, Discovery};
use super::history::{self, History};
use super::index::{self, IndexStats};
use super::repo_map::{Focus, RankedSymbol, RepoMap};
use super::{ContextError, ContextOptions, walk};

/// The summary of a repository.
#[derive(Debug, Clone, Serialize)]
pub struct RepoContext {
    /// The root that was summarized.
    pub root: PathBuf,
    /// Files found (gitignore-aware).
    pub files: usize,
    /// Entries the walk could not read.
    pub walk_errors: usize,
    /// Languages, manifests, commands, tests, CI.
    #[serde(flatten)]
    pub discovery: Discovery,
    /// `AGENTS.md`, `CONTRIBUTING.md`, README setup sections.
    pub conventions: Vec<ConventionDoc>,
    /// Recent commits and churn.
    pub history: History,
    /// How the symbol index was built (cache hits and misses, skipped files).
    pub index: IndexStats,
    /// Things the reader should know: skipped files, cache trouble, unmatched focus.
    pub notes: Vec<String>,
    #[serde(skip)]
    map: RepoMap,
}

/// Estimated tokens of a text: characters / 4, rounded up.
pub fn tokens(text: &str) -> usize {
    text.chars().count().div_ceil(4)
}

impl RepoContext {
    /// Gathers the summary of the repository (or plain directory) at `root`.
    pub fn gather(root: &Path, options: &ContextOptions) -> Result<RepoContext, ContextError> {
        walk::check_root(root)?;
        let threads = walk::threads(options.threads);
        let walked = walk::walk(root, threads);
        let (index, discovery, conventions, history) = std::thread::scope(|scope| {
            let history = scope.spawn(|| history::gather(root, options.max_commits));
            let index = index::build(root, &walked, &options.index_options());
            let discovery = discovery::discover(root, &walked.files);
            let conventions = conventions::gather(root, options.working_dir.as_deref());
            let history = history
                .join()
                .unwrap_or_else(|_| History { note: Some("reading the history failed".into()), ..History::default() });
            (index, discovery, conventions, history)
        });
        let mut notes = Vec::new();
        if walked.errors > 0 {
            notes.push(format!(
                "{} entries could not be read during the walk (e.g. {})",
                walked.errors,
                walked.error_examples.join("; ")
            ));
        }
        if let Some(summary) = index.stats.skipped.summary(options.max_tag_file_size) {
            notes.push(format!("symbol map: {summary}; e.g. {}", index.stats.skipped.examples.join(", ")));
        }
        if let Some(note) = &index.stats.cache_note {
            notes.push(note.clone());
        }
        for error in super::lang::taggers().errors() {
            notes.push(format!("symbol map: {error}"));
        }
        if walked.files.is_empty() {
            notes.push("the directory has no files (after .gitignore)".into());
        }
        let stats = index.stats.clone();
        let map = RepoMap::new(index, &Focus { items: options.focus.clone() });
        if !map.unmatched_focus.is_empty() {
            notes.push(format!("focus matched no file and no defined symbol: {}", map.unmatched_focus.join(", ")));
        }
        Ok(RepoContext {
            root: root.to_owned(),
            files: walked.files.len(),
            walk_errors: walked.errors,
            discovery,
            conventions,
            history,
            index: stats,
            notes,
            map,
        })
    }

    /// The ranked symbol map behind the summary.
    pub fn map(&self) -> &RepoMap {
        &self.map
    }

    /// The symbol map alone, fitted to `budget_tokens`.
    pub fn symbol_map(&self, budget_tokens: usize) -> String {
        self.map.render(budget_tokens).0
    }

    /// The summary as text for a prompt or a terminal, at most `budget_tokens` (chars / 4):
    /// the facts first, then conventions (up to about a third of the budget), then the symbol
    /// map in whatever is left.
    pub fn render(&self, budget_tokens: usize) -> String {
        let head = self.render_head();
        let (mut out, _) = cap_tokens(&head, budget_tokens);
        let mut left = budget_tokens.saturating_sub(tokens(&out));
        let history = self.render_history();
        if !history.is_empty() && left > 0 {
            let (text, _) = cap_tokens(&history, left / 4);
            if !text.is_empty() {
                out.push_str(&text);
                out.push('\n');
            }
        }
        left = budget_tokens.saturating_sub(tokens(&out));
        let docs = self.render_conventions();
        if !docs.is_empty() && left > 40 {
            let (text, truncated) = cap_tokens(&docs, left / 3);
            out.push_str("\n## Conventions\n");
            out.push_str(&text);
            if truncated {
                out.push_str("\n[conventions cut to fit the budget]");
            }
            out.push('\n');
        }
        let title = "\n## Symbol map (most referenced first)\n";
        left = budget_tokens.saturating_sub(tokens(&out) + tokens(title));
        let (map, shown) = self.map.render(left);
        if shown > 0 {
            out.push_str(title);
            out.push_str(&map);
        }
        out
    }

    /// The summary as JSON, with the symbol map fitted to `budget_tokens` and its top entries.
    pub fn to_json(&self, budget_tokens: usize) -> serde_json::Value {
        let (map, shown) = self.map.render(budget_tokens);
        let ranked: Vec<RankedSymbol> = self.map.ranked(shown);
        let mut value = serde_json::to_value(self).unwrap_or(serde_json::Value::Null);
        if let Some(object) = value.as_object_mut() {
            object.insert("symbol_map".into(), serde_json::Value::String(map));
            object.insert("ranked_symbols".into(), serde_json::to_value(ranked).unwrap_or_default());
        }
        value
    }

    fn render_head(&self) -> String {
        let d = &self.discovery;
        let mut out = format!("# Repository {}\n", self.root.display());
        let total: u64 = d.languages.iter().map(|l| l.bytes).sum();
        if !d.languages.is_empty() {
            let langs: Vec<String> = d
                .languages
                .iter()
                .take(6)
                .map(|l| {
                    let share = (l.bytes * 100).checked_div(total).unwrap_or(0);
                    format!("{} {share}% ({} files)", l.name, l.files)
                })
                .collect();
            out.push_str(&format!("Languages: {}\n", langs.join(", ")));
        }
        if !d.manifests.is_empty() {
            let list: Vec<&str> = d.manifests.iter().map(|m| m.path.as_str()).collect();
            out.push_str(&format!("Manifests: {}\n", list.join(", ")));
        }
        let commands = |hints: &[discovery::CommandHint]| {
            hints
                .iter()
                .take(4)
                .map(|h| {
                    let dir = if h.dir.is_empty() { String::new() } else { format!(" in {}/", h.dir) };
                    format!("`{}`{dir} (from {})", h.command, h.source)
                })
                .collect::<Vec<_>>()
                .join("; ")
        };
        if !d.build_commands.is_empty() {
            out.push_str(&format!("Build: {}\n", commands(&d.build_commands)));
        }
        if !d.test_commands.is_empty() {
            out.push_str(&format!("Test: {}\n", commands(&d.test_commands)));
        }
        if !d.test_frameworks.is_empty() {
            out.push_str(&format!("Test frameworks: {}\n", d.test_frameworks.join(", ")));
        }
        if d.test_files.count > 0 {
            out.push_str(&format!(
                "Test files: {} (e.g. {})\n",
                d.test_files.count,
                d.test_files.examples.iter().take(5).cloned().collect::<Vec<_>>().join(", ")
            ));
        }
        for ci in &d.ci {
            let jobs: Vec<String> = ci
                .jobs
                .iter()
                .map(|j| match &j.name {
                    Some(name) if name != &j.id => format!("{} ({name})", j.id),
                    _ => j.id.clone(),
                })
                .collect();
            let name = ci.name.as_ref().map(|n| format!(" \"{n}\"")).unwrap_or_default();
            if jobs.is_empty() {
                out.push_str(&format!("CI: {}{name}\n", ci.file));
            } else {
                out.push_str(&format!("CI: {}{name}: {}\n", ci.file, jobs.join(", ")));
            }
        }
        for targets in &d.targets {
            if !targets.targets.is_empty() {
                let list: Vec<&str> = targets.targets.iter().take(20).map(String::as_str).collect();
                out.push_str(&format!("{} targets: {}\n", targets.file, list.join(", ")));
            }
        }
        for note in &self.notes {
            out.push_str(&format!("Note: {note}\n"));
        }
        out
    }

    fn render_history(&self) -> String {
        let h = &self.history;
        let mut out = String::new();
        if let Some(note) = &h.note {
            out.push_str(&format!("History: {note}\n"));
            return out;
        }
        let branch = h.branch.as_ref().map(|b| format!(" on {b}")).unwrap_or_default();
        if !h.commits.is_empty() {
            out.push_str(&format!("Recent commits{branch}:\n"));
            for c in h.commits.iter().take(5) {
                out.push_str(&format!(
                    "  {} {} {} ({})\n",
                    c.id.chars().take(8).collect::<String>(),
                    c.date,
                    c.summary,
                    c.author
                ));
            }
        }
        if !h.recent_files.is_empty() {
            out.push_str(&format!("Recently changed: {}\n", h.recent_files.join(", ")));
        }
        if !h.churn.is_empty() {
            let list: Vec<String> = h.churn.iter().map(|c| format!("{} ({})", c.path, c.commits)).collect();
            out.push_str(&format!("Most changed (commits of the last {}): {}\n", h.commits_scanned, list.join(", ")));
        }
        out
    }

    fn render_conventions(&self) -> String {
        let mut out = String::new();
        for doc in &self.conventions {
            let title = match doc.kind.as_str() {
                "readme" => format!("### {} (setup sections)", doc.path),
                _ => format!("### {}", doc.path),
            };
            out.push_str(&title);
            out.push('\n');
            out.push_str(&doc.text);
            if doc.truncated {
                out.push_str("\n[cut]");
            }
            out.push_str("\n\n");
        }
        out.trim_end().to_owned()
    }
}

/// `text` cut at a line boundary to at most `budget` tokens, and whether it was cut.
fn cap_tokens(text: &str, budget: usize) -> (String, bool) {
    if tokens(text) <= budget {
        return (text.to_owned(), false);
    }
    // `cap` counts bytes, and a text has no more chars than bytes.
    let (cut, _) = cap(text, budget * 4);
    (cut, true)
}
