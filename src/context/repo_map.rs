//! The ranked symbol map, in the manner of aider's repo map.
//!
//! Files are nodes; a file that references a name has an edge to every file defining it. Edge
//! weights favour long compound identifiers and names the user mentioned, and disfavour private
//! (`_`-prefixed) and very common names; a reference to a name defined in several files is
//! split between them. Personalized PageRank over that graph ranks the files (teleporting to the
//! focus files when there are any), then each file's rank flows along its edges to the
//! definitions it points at. The map shows the best definitions that fit a token budget, each
//! under the lines of the scopes that enclose it (`impl Foo`, `class Bar`).

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use super::graph::{Csr, PageRankOptions, pagerank};
use super::index::SymbolIndex;
use super::tags::Def;

/// Weight multiplier for edges from or to a file in focus.
const FOCUS_WEIGHT: f64 = 50.0;
/// At most this many definitions are kept in ranked order.
const MAX_RANKED: usize = 20_000;

/// What the ranking should favour: each item is a file or directory (relative to the root) or,
/// when it names none, a symbol.
#[derive(Debug, Clone, Default)]
pub struct Focus {
    /// Paths and symbol names the work is about.
    pub items: Vec<String>,
}

/// A definition and its place in the ranking.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RankedSymbol {
    /// The file (relative path).
    pub path: String,
    /// The defined name.
    pub name: String,
    /// Its kind (`function`, `class`, …), of its first definition in the file.
    pub kind: String,
    /// The 1-based line of its first definition in the file.
    pub line: u32,
    /// Its rank (the sum over all definitions is at most 1).
    pub rank: f64,
}

/// A definition found by a symbol lookup.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SymbolHit {
    /// The defined name.
    pub name: String,
    /// Its kind: `function`, `method`, `class`, `interface`, `module`, `constant`, …
    pub kind: String,
    /// The file (relative path).
    pub path: String,
    /// The 1-based line of the name.
    pub line: u32,
    /// The 1-based last line of the definition.
    pub end_line: u32,
    /// The line holding the name.
    pub text: String,
    /// The header lines of the enclosing scopes, outermost first (e.g. `impl Foo {`).
    pub scopes: Vec<String>,
    /// How many files reference this name.
    pub referenced_by: usize,
}

/// A ranked repository map, ready to render at any budget.
#[derive(Debug, Clone, Default)]
pub struct RepoMap {
    index: SymbolIndex,
    file_ranks: Vec<f64>,
    /// (file, def index of the first definition of the name in that file, rank), best first.
    ranked: Vec<(u32, u32, f64)>,
    referencing_files: HashMap<String, usize>,
    /// Focus entries that matched neither a file nor a defined name.
    pub unmatched_focus: Vec<String>,
    /// Power iterations the ranking took.
    pub iterations: usize,
}

impl RepoMap {
    /// Ranks the definitions of `index` for `focus`.
    pub fn new(index: SymbolIndex, focus: &Focus) -> RepoMap {
        let files = &index.files;
        let n = files.len();
        let mut name_ids: HashMap<&str, u32> = HashMap::new();
        let mut definers: Vec<Vec<u32>> = Vec::new();
        for (f, file) in files.iter().enumerate() {
            for def in file.tags.defs.iter().filter(|d| d.is_definition()) {
                let next = name_ids.len() as u32;
                let id = *name_ids.entry(def.name.as_str()).or_insert(next);
                if id as usize == definers.len() {
                    definers.push(Vec::new());
                }
                let list = &mut definers[id as usize];
                if list.last() != Some(&(f as u32)) {
                    list.push(f as u32);
                }
            }
        }

        let (focused, mentioned, unmatched_focus) = resolve_focus(&index, &name_ids, focus);
        let factor = |f: u32| {
            if focused.contains(&f) {
                FOCUS_WEIGHT
            } else {
                1.0
            }
        };

        let mut out = Vec::new();
        let mut referencing_count = vec![0usize; definers.len()];
        for (f, file) in files.iter().enumerate() {
            for (name, count) in &file.tags.refs {
                let Some(&id) = name_ids.get(name.as_str()) else {
                    continue;
                };
                let defs = &definers[id as usize];
                referencing_count[id as usize] += 1;
                let to_focus = defs.iter().map(|&d| factor(d)).sum::<f64>() / defs.len() as f64;
                let weight = name_weight(name, defs.len(), mentioned.contains(name.as_str()))
                    * f64::from(*count).sqrt()
                    * factor(f as u32)
                    * to_focus;
                out.push((f as u32, id, weight));
            }
        }
        let mut into = Vec::new();
        for (id, defs) in definers.iter().enumerate() {
            for &d in defs {
                into.push((id as u32, d, factor(d)));
            }
        }
        let out = Csr::from_triples(n, &out);
        let into = Csr::from_triples(definers.len(), &into);
        let personalization: Vec<f64> = (0..n as u32)
            .map(|f| if focused.contains(&f) { 1.0 } else { 0.0 })
            .collect();
        let result = pagerank(&out, &into, &personalization, PageRankOptions::default());
        let file_ranks = result.ranks;

        // Each file's rank flows along its edges to the definitions they reach.
        let mut def_rank: HashMap<(u32, u32), f64> = HashMap::new();
        let into_sums: Vec<f64> = (0..into.rows()).map(|m| into.row_sum(m)).collect();
        for (s, &rank) in file_ranks.iter().enumerate() {
            let total = out.row_sum(s);
            if total <= 0.0 {
                continue;
            }
            for (id, w) in out.row(s) {
                let share = rank * w / total;
                for (d, fd) in into.row(id) {
                    *def_rank.entry((d as u32, id as u32)).or_insert(0.0) +=
                        share * fd / into_sums[id];
                }
            }
        }

        // The first definition of each name in each file stands for all of them.
        let mut firsts: Vec<(u32, u32, f64)> = Vec::new();
        for (f, file) in files.iter().enumerate() {
            let mut seen = HashSet::new();
            for (i, def) in file.tags.defs.iter().enumerate() {
                if !def.is_definition() || !seen.insert(def.name.as_str()) {
                    continue;
                }
                let id = name_ids.get(def.name.as_str()).copied().unwrap_or(u32::MAX);
                let rank = def_rank.get(&(f as u32, id)).copied().unwrap_or(0.0);
                firsts.push((f as u32, i as u32, rank));
            }
        }
        let key = |&(f, i, rank): &(u32, u32, f64)| (rank, file_ranks[f as usize], f, i);
        firsts.sort_by(|a, b| {
            let (ra, fa, pa, ia) = key(a);
            let (rb, fb, pb, ib) = key(b);
            rb.total_cmp(&ra)
                .then(fb.total_cmp(&fa))
                .then(pa.cmp(&pb))
                .then(ia.cmp(&ib))
        });
        firsts.truncate(MAX_RANKED);

        let mut referencing_files = HashMap::new();
        for (name, &id) in &name_ids {
            referencing_files.insert((*name).to_owned(), referencing_count[id as usize]);
        }
        RepoMap {
            file_ranks,
            ranked: firsts,
            referencing_files,
            unmatched_focus,
            iterations: result.iterations,
            index,
        }
    }

    /// The index the map was built from.
    pub fn index(&self) -> &SymbolIndex {
        &self.index
    }

    /// The rank of every file, by relative path, best first.
    pub fn file_ranks(&self) -> Vec<(String, f64)> {
        let mut ranks: Vec<(String, f64)> = self
            .index
            .files
            .iter()
            .zip(&self.file_ranks)
            .map(|(file, &rank)| (file.rel.clone(), rank))
            .collect();
        ranks.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        ranks
    }

    /// The definitions in ranked order, best first (at most `limit`).
    pub fn ranked(&self, limit: usize) -> Vec<RankedSymbol> {
        self.ranked
            .iter()
            .take(limit)
            .map(|&(f, i, rank)| {
                let file = &self.index.files[f as usize];
                let def = &file.tags.defs[i as usize];
                RankedSymbol {
                    path: file.rel.clone(),
                    name: def.name.clone(),
                    kind: def.kind.clone(),
                    line: def.line + 1,
                    rank,
                }
            })
            .collect()
    }

    /// The map of the best definitions that fit in `budget_tokens` (estimated as chars / 4),
    /// and how many definitions it shows.
    pub fn render(&self, budget_tokens: usize) -> (String, usize) {
        let fits = |text: &str| text.chars().count().div_ceil(4) <= budget_tokens;
        let mut lo = 0;
        let mut hi = self.ranked.len().min(budget_tokens);
        let mut best = String::new();
        while lo < hi {
            let mid = (lo + hi).div_ceil(2);
            let text = self.render_top(mid);
            if fits(&text) {
                lo = mid;
                best = text;
            } else {
                hi = mid - 1;
            }
        }
        (best, lo)
    }

    /// The map of the `count` best definitions.
    pub fn render_top(&self, count: usize) -> String {
        // file → (position of its best definition, its lines of interest)
        let mut by_file: HashMap<u32, (usize, Vec<(u32, &str)>)> = HashMap::new();
        for (position, &(f, i, _)) in self.ranked.iter().take(count).enumerate() {
            let defs = &self.index.files[f as usize].tags.defs;
            let name = &defs[i as usize].name;
            let entry = by_file.entry(f).or_insert_with(|| (position, Vec::new()));
            for def in defs.iter().filter(|d| d.is_definition() && &d.name == name) {
                entry.1.push((def.line, def.text.as_str()));
                for scope in enclosing(defs, def) {
                    entry.1.push((scope.line, scope.text.as_str()));
                }
            }
        }
        let mut files: Vec<(u32, (usize, Vec<(u32, &str)>))> = by_file.into_iter().collect();
        files.sort_by_key(|(_, (position, _))| *position);
        let mut out = String::new();
        for (f, (_, mut lines)) in files {
            let file = &self.index.files[f as usize];
            lines.sort_by_key(|(line, _)| *line);
            lines.dedup_by_key(|(line, _)| *line);
            out.push_str(&file.rel);
            out.push_str(":\n");
            let mut previous: Option<u32> = None;
            for (line, text) in &lines {
                let gap = match previous {
                    None => *line > 0,
                    Some(p) => *line > p + 1,
                };
                if gap {
                    out.push_str("⋮\n");
                }
                out.push('│');
                out.push_str(text);
                out.push('\n');
                previous = Some(*line);
            }
            if previous.is_some_and(|p| p + 1 < file.tags.lines) {
                out.push_str("⋮\n");
            }
        }
        out
    }

    /// The definitions of a file (when `query` is a path in the index), else of a name (exact
    /// matches; failing that, names containing `query` regardless of case), best ranked first.
    pub fn lookup(&self, query: &str, limit: usize) -> Vec<SymbolHit> {
        let query = query.trim();
        let rel = query.trim_start_matches("./");
        let hit = |f: usize, def: &Def| {
            let file = &self.index.files[f];
            SymbolHit {
                name: def.name.clone(),
                kind: def.kind.clone(),
                path: file.rel.clone(),
                line: def.line + 1,
                end_line: def.end_line + 1,
                text: def.text.trim().to_owned(),
                scopes: enclosing(&file.tags.defs, def)
                    .map(|s| s.text.trim().to_owned())
                    .collect(),
                referenced_by: self.referencing_files.get(&def.name).copied().unwrap_or(0),
            }
        };
        if let Some(f) = self.index.files.iter().position(|file| file.rel == rel) {
            let defs = &self.index.files[f].tags.defs;
            return defs
                .iter()
                .filter(|d| d.is_definition())
                .take(limit)
                .map(|def| hit(f, def))
                .collect();
        }
        let lower = query.to_lowercase();
        for exact in [true, false] {
            let mut found: Vec<(f64, usize, &Def)> = Vec::new();
            for (f, file) in self.index.files.iter().enumerate() {
                for def in file.tags.defs.iter().filter(|d| d.is_definition()) {
                    let matches = if exact {
                        def.name == query
                    } else {
                        def.name.to_lowercase().contains(&lower)
                    };
                    if matches {
                        found.push((self.file_ranks[f], f, def));
                    }
                }
            }
            if !found.is_empty() {
                found.sort_by(|a, b| {
                    b.0.total_cmp(&a.0)
                        .then(a.1.cmp(&b.1))
                        .then(a.2.line.cmp(&b.2.line))
                });
                return found
                    .into_iter()
                    .take(limit)
                    .map(|(_, f, def)| hit(f, def))
                    .collect();
            }
        }
        Vec::new()
    }
}

/// The definitions and scopes strictly enclosing `def`, outermost first.
fn enclosing<'a>(defs: &'a [Def], def: &'a Def) -> impl Iterator<Item = &'a Def> + 'a {
    defs.iter().filter(move |s| {
        !std::ptr::eq(*s, def)
            && s.start_line <= def.start_line
            && s.end_line >= def.end_line
            && (s.start_line < def.start_line || s.end_line > def.end_line)
            && s.line < def.line
    })
}

/// Aider's identifier weighting.
fn name_weight(name: &str, definers: usize, mentioned: bool) -> f64 {
    let mut weight = 1.0;
    if mentioned {
        weight *= 10.0;
    }
    let snake = name.contains('_') && name.chars().any(char::is_alphabetic);
    let camel = name.chars().any(char::is_uppercase) && name.chars().any(char::is_lowercase);
    if (snake || camel) && name.chars().count() >= 8 {
        weight *= 10.0;
    }
    if name.starts_with('_') {
        weight *= 0.1;
    }
    if definers > 5 {
        weight *= 0.1;
    }
    weight
}

/// The focused files (by index), the mentioned names, and focus entries that matched nothing.
fn resolve_focus<'a>(
    index: &SymbolIndex,
    name_ids: &HashMap<&str, u32>,
    focus: &'a Focus,
) -> (HashSet<u32>, HashSet<&'a str>, Vec<String>) {
    let mut files = HashSet::new();
    let mut mentioned = HashSet::new();
    let mut unmatched = Vec::new();
    for raw in &focus.items {
        let rel = raw.trim().trim_start_matches("./").trim_end_matches('/');
        let before = files.len();
        for (f, file) in index.files.iter().enumerate() {
            let under = file.rel.len() > rel.len()
                && file.rel.starts_with(rel)
                && file.rel.as_bytes()[rel.len()] == b'/';
            if file.rel == rel || under {
                files.insert(f as u32);
            }
        }
        if files.len() > before {
            continue;
        }
        let name = raw.trim();
        if !name_ids.contains_key(name) {
            unmatched.push(raw.clone());
            continue;
        }
        mentioned.insert(name);
        for (f, file) in index.files.iter().enumerate() {
            if file
                .tags
                .defs
                .iter()
                .any(|d| d.is_definition() && d.name == name)
            {
                files.insert(f as u32);
            }
        }
    }
    (files, mentioned, unmatched)
}

#[cfg(test)]
#[path = "repo_map_tests.rs"]
mod tests;
