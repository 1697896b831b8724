//! The ranked symbol map, in the manner of aider's repo map.
//!
//! Files are nodes; a file that references a name has an edge to every file defining it (unless
//! it defines the name itself: then the reference is taken as local and adds no edge). Edge
//! weights favour long compound identifiers and names the user mentioned, and disfavour private
//! (`_`-prefixed) and very common names; a reference to a name defined in several files is
//! split between them. Personalized PageRank over that graph ranks the files (teleporting to the
//! focus files when there are any), then each file's rank flows along its edges to the
//! definitions it points at. The map shows the best definitions that fit a token budget, each
//! under the lines of the scopes that enclose it (`impl Foo`, `class Bar`); the definitions of a
//! name in focus come first, so the function a task names is always in its map.

use std::collections::{HashMap, HashSet};

use rustc_hash::FxBuildHasher as FxBuild;
use serde::Serialize;

use super::graph::{Csr, PageRankOptions, pagerank};
use super::index::SymbolIndex;
use super::tags::Def;

/// Weight multiplier for edges from or to a file in focus.
const FOCUS_WEIGHT: f64 = 50.0;
/// At most this many definitions are kept in ranked order.
const MAX_RANKED: usize = 20_000;
/// A name in focus defined in at most this many files has its definitions shown first, whatever
/// their rank: the work is about them. (A name defined everywhere says little about any one.)
const PINNED_DEFINERS: usize = 5;

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
    /// Focus entries that matched neither a file nor a defined name.
    pub unmatched_focus: Vec<String>,
    /// Power iterations the ranking took.
    pub iterations: usize,
    /// Time spent ranking.
    pub elapsed: std::time::Duration,
}

impl RepoMap {
    /// Ranks the definitions of `index` for `focus`.
    pub fn new(index: SymbolIndex, focus: &Focus) -> RepoMap {
        let started = std::time::Instant::now();
        let files = &index.files;
        let n = files.len();
        let mut name_ids: HashMap<&str, u32, FxBuild> = HashMap::default();
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
        let mut factors = vec![1.0; n];
        for &f in &focused {
            factors[f as usize] = FOCUS_WEIGHT;
        }
        // Per name: the identifier weight times the mean focus factor of its definers (so that
        // references into focus files weigh more), and the sum of those factors.
        let mut name_weights = vec![0.0; definers.len()];
        let mut into_sums = vec![0.0; definers.len()];
        for (name, &id) in &name_ids {
            let defs = &definers[id as usize];
            let sum: f64 = defs.iter().map(|&d| factors[d as usize]).sum();
            into_sums[id as usize] = sum;
            name_weights[id as usize] =
                name_weight(name, defs.len(), mentioned.contains(name)) * sum / defs.len().max(1) as f64;
        }

        let mut out = Vec::new();
        for (f, file) in files.iter().enumerate() {
            for (name, count) in &file.tags.refs {
                let Some(&id) = name_ids.get(name.as_str()) else {
                    continue;
                };
                // A file using a name it defines itself most likely means its own definition:
                // that says nothing about the file's importance to others.
                if definers[id as usize].binary_search(&(f as u32)).is_ok() {
                    continue;
                }
                let weight = name_weights[id as usize] * f64::from(*count).sqrt() * factors[f];
                out.push((f as u32, id, weight));
            }
        }
        let mut into = Vec::new();
        for (id, defs) in definers.iter().enumerate() {
            for &d in defs {
                into.push((id as u32, d, factors[d as usize]));
            }
        }
        let out = Csr::from_triples(n, &out);
        let into = Csr::from_triples(definers.len(), &into);
        let personalization: Vec<f64> = factors.iter().map(|&x| if x > 1.0 { 1.0 } else { 0.0 }).collect();
        let result = pagerank(&out, &into, &personalization, PageRankOptions::default());
        let file_ranks = result.ranks;

        // Each file's rank flows along its edges to the names it references, and each name's
        // inflow to its definitions (in proportion to their files' focus factors).
        let mut inflow = vec![0.0; definers.len()];
        for (s, &rank) in file_ranks.iter().enumerate() {
            let total = out.row_sum(s);
            if total <= 0.0 {
                continue;
            }
            for (id, w) in out.row(s) {
                inflow[id] += rank * w / total;
            }
        }

        // The first definition of each name in each file stands for all of them.
        let mut firsts: Vec<(u32, u32, f64)> = Vec::new();
        let mut seen: HashSet<&str, FxBuild> = HashSet::default();
        for (f, file) in files.iter().enumerate() {
            seen.clear();
            for (i, def) in file.tags.defs.iter().enumerate() {
                if !def.is_definition() || !seen.insert(def.name.as_str()) {
                    continue;
                }
                let rank = match name_ids.get(def.name.as_str()) {
                    Some(&id) if into_sums[id as usize] > 0.0 => {
                        inflow[id as usize] * factors[f] / into_sums[id as usize]
                    }
                    _ => 0.0,
                };
                firsts.push((f as u32, i as u32, rank));
            }
        }
        let pinned = |&(f, i, _): &(u32, u32, f64)| {
            let name = files[f as usize].tags.defs[i as usize].name.as_str();
            mentioned.contains(name)
                && name_ids.get(name).is_some_and(|&id| definers[id as usize].len() <= PINNED_DEFINERS)
        };
        let mut keyed: Vec<(bool, (u32, u32, f64))> = firsts.into_iter().map(|first| (pinned(&first), first)).collect();
        keyed.sort_unstable_by(|(xa, (pa, ia, ra)), (xb, (pb, ib, rb))| {
            let (fa, fb) = (file_ranks[*pa as usize], file_ranks[*pb as usize]);
            xb.cmp(xa).then(rb.total_cmp(ra)).then(fb.total_cmp(&fa)).then(pa.cmp(pb)).then(ia.cmp(ib))
        });
        let firsts: Vec<(u32, u32, f64)> = keyed.into_iter().take(MAX_RANKED).map(|(_, first)| first).collect();

        RepoMap {
            file_ranks,
            ranked: firsts,
            unmatched_focus,
            iterations: result.iterations,
            elapsed: started.elapsed(),
            index,
        }
    }

    /// The index the map was built from.
    pub fn index(&self) -> &SymbolIndex {
        &self.index
    }

    /// The rank of every file, by relative path, best first.
    pub fn file_ranks(&self) -> Vec<(String, f64)> {
        let mut ranks: Vec<(String, f64)> =
            self.index.files.iter().zip(&self.file_ranks).map(|(file, &rank)| (file.rel.clone(), rank)).collect();
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
        // Every definition costs at least one token, so no more than the budget can fit.
        let entries = self.entry_lines(self.ranked.len().min(budget_tokens));
        let mut lo = 0;
        let mut hi = entries.len();
        let mut best = String::new();
        while lo < hi {
            let mid = (lo + hi).div_ceil(2);
            let text = self.format(&entries[..mid]);
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
        self.format(&self.entry_lines(count))
    }

    /// For each of the `count` best definitions: its file and the lines that show it (every
    /// definition of the name in that file, and the header lines of their enclosing scopes).
    fn entry_lines(&self, count: usize) -> Vec<(u32, Vec<(u32, &str)>)> {
        let mut outlines: HashMap<u32, Outline<'_>> = HashMap::new();
        let mut entries = Vec::with_capacity(count.min(self.ranked.len()));
        for &(f, i, _) in self.ranked.iter().take(count) {
            let defs = &self.index.files[f as usize].tags.defs;
            let outline = outlines.entry(f).or_insert_with(|| Outline::new(defs));
            let name = defs[i as usize].name.as_str();
            let mut lines = Vec::new();
            for &d in outline.by_name.get(name).map(Vec::as_slice).unwrap_or_default() {
                lines.push((defs[d].line, defs[d].text.as_str()));
                for &s in &outline.parents[d] {
                    lines.push((defs[s].line, defs[s].text.as_str()));
                }
            }
            entries.push((f, lines));
        }
        entries
    }

    /// Renders entries file by file, files in the order of their best entry.
    fn format(&self, entries: &[(u32, Vec<(u32, &str)>)]) -> String {
        let mut order: Vec<u32> = Vec::new();
        let mut by_file: HashMap<u32, Vec<(u32, &str)>> = HashMap::new();
        for (f, lines) in entries {
            let slot = by_file.entry(*f).or_insert_with(|| {
                order.push(*f);
                Vec::new()
            });
            slot.extend_from_slice(lines);
        }
        let mut out = String::new();
        for f in order {
            let Some(mut lines) = by_file.remove(&f) else {
                continue;
            };
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
        let referenced_by = |name: &str| {
            self.index
                .files
                .iter()
                .filter(|f| f.tags.refs.binary_search_by(|(n, _)| n.as_str().cmp(name)).is_ok())
                .count()
        };
        let hit = |f: usize, def: &Def| {
            let file = &self.index.files[f];
            SymbolHit {
                name: def.name.clone(),
                kind: def.kind.clone(),
                path: file.rel.clone(),
                line: def.line + 1,
                end_line: def.end_line + 1,
                text: def.text.trim().to_owned(),
                scopes: enclosing(&file.tags.defs, def).map(|s| s.text.trim().to_owned()).collect(),
                referenced_by: referenced_by(&def.name),
            }
        };
        if let Some(f) = self.index.files.iter().position(|file| file.rel == rel) {
            let defs = &self.index.files[f].tags.defs;
            return defs.iter().filter(|d| d.is_definition()).take(limit).map(|def| hit(f, def)).collect();
        }
        let lower = query.to_lowercase();
        for exact in [true, false] {
            let mut found: Vec<(f64, usize, &Def)> = Vec::new();
            for (f, file) in self.index.files.iter().enumerate() {
                for def in file.tags.defs.iter().filter(|d| d.is_definition()) {
                    let matches = if exact { def.name == query } else { def.name.to_lowercase().contains(&lower) };
                    if matches {
                        found.push((self.file_ranks[f], f, def));
                    }
                }
            }
            if !found.is_empty() {
                found.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.line.cmp(&b.2.line)));
                return found.into_iter().take(limit).map(|(_, f, def)| hit(f, def)).collect();
            }
        }
        Vec::new()
    }
}

/// A file's definitions by name, and the scopes enclosing each definition.
struct Outline<'a> {
    by_name: HashMap<&'a str, Vec<usize>>,
    parents: Vec<Vec<usize>>,
}

impl<'a> Outline<'a> {
    fn new(defs: &'a [Def]) -> Outline<'a> {
        let mut by_name: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, def) in defs.iter().enumerate().filter(|(_, d)| d.is_definition()) {
            by_name.entry(def.name.as_str()).or_default().push(i);
        }
        // A sweep in order of start (outer first on ties) with a stack of open scopes.
        let mut order: Vec<usize> = (0..defs.len()).collect();
        order.sort_by_key(|&i| (defs[i].start_line, std::cmp::Reverse(defs[i].end_line), i));
        let mut parents = vec![Vec::new(); defs.len()];
        let mut open: Vec<usize> = Vec::new();
        for i in order {
            let def = &defs[i];
            while open.last().is_some_and(|&s| defs[s].end_line < def.end_line) {
                open.pop();
            }
            parents[i] = open.iter().copied().filter(|&s| encloses(&defs[s], def)).collect();
            open.push(i);
        }
        Outline { by_name, parents }
    }
}

fn encloses(scope: &Def, def: &Def) -> bool {
    scope.start_line <= def.start_line
        && scope.end_line >= def.end_line
        && (scope.start_line < def.start_line || scope.end_line > def.end_line)
        && scope.line < def.line
}

/// The definitions and scopes strictly enclosing `def`, outermost first.
fn enclosing<'a>(defs: &'a [Def], def: &'a Def) -> impl Iterator<Item = &'a Def> + 'a {
    defs.iter().filter(move |s| !std::ptr::eq(*s, def) && encloses(s, def))
}

/// Names so common in standard libraries (`len`, `is_empty`, `push`, `Err`, `__init__`, `then`,
/// `String`, …) that a reference to one says little about which definition is meant: a
/// repository that defines one of them would otherwise collect every use of the library's. They
/// weigh a fifth of a name defined in many files. Sorted, for binary search.
const COMMON_NAMES: [&str; 216] = [
    "Add",
    "Box",
    "Close",
    "Delete",
    "Err",
    "Error",
    "Errorf",
    "Fatal",
    "Fatalf",
    "Get",
    "Init",
    "Len",
    "Less",
    "New",
    "None",
    "Ok",
    "Option",
    "Printf",
    "Println",
    "Read",
    "Result",
    "Run",
    "Self",
    "Set",
    "Some",
    "Sprintf",
    "Start",
    "Stop",
    "String",
    "Swap",
    "Vec",
    "Write",
    "__call__",
    "__enter__",
    "__eq__",
    "__exit__",
    "__hash__",
    "__init__",
    "__repr__",
    "__str__",
    "add",
    "all",
    "and_then",
    "any",
    "append",
    "apply",
    "as_mut",
    "as_ref",
    "as_slice",
    "as_str",
    "bind",
    "build",
    "bytes",
    "call",
    "catch",
    "chain",
    "chars",
    "clear",
    "clone",
    "cloned",
    "close",
    "cmp",
    "collect",
    "concat",
    "constructor",
    "contains",
    "contains_key",
    "copied",
    "copy",
    "count",
    "decode",
    "default",
    "delete",
    "deref",
    "deref_mut",
    "describe",
    "dict",
    "drop",
    "emit",
    "encode",
    "ends_with",
    "endswith",
    "entries",
    "entry",
    "enumerate",
    "eq",
    "error",
    "exists",
    "expect",
    "extend",
    "filter",
    "filter_map",
    "finally",
    "find",
    "finish",
    "first",
    "flush",
    "fmt",
    "forEach",
    "format",
    "from",
    "from_str",
    "get",
    "get_mut",
    "has",
    "hash",
    "id",
    "includes",
    "indexOf",
    "insert",
    "int",
    "into",
    "into_iter",
    "is_empty",
    "is_err",
    "is_none",
    "is_ok",
    "is_some",
    "isinstance",
    "it",
    "items",
    "iter",
    "iter_mut",
    "join",
    "key",
    "keys",
    "kind",
    "last",
    "len",
    "lines",
    "list",
    "lock",
    "log",
    "lower",
    "map",
    "map_err",
    "max",
    "min",
    "name",
    "ne",
    "new",
    "next",
    "off",
    "ok",
    "ok_or",
    "ok_or_else",
    "on",
    "open",
    "or_default",
    "or_else",
    "or_insert",
    "parse",
    "partial_cmp",
    "path",
    "peek",
    "pop",
    "print",
    "push",
    "push_str",
    "range",
    "read",
    "recv",
    "reduce",
    "reject",
    "remove",
    "render",
    "replace",
    "require",
    "resolve",
    "retain",
    "rev",
    "run",
    "send",
    "set",
    "setdefault",
    "skip",
    "slice",
    "sort",
    "sort_by",
    "sort_by_key",
    "sorted",
    "spawn",
    "splice",
    "split",
    "start",
    "starts_with",
    "startswith",
    "stop",
    "str",
    "stringify",
    "sum",
    "super",
    "take",
    "test",
    "then",
    "toString",
    "to_lowercase",
    "to_owned",
    "to_string",
    "to_vec",
    "trim",
    "try_from",
    "try_into",
    "unwrap",
    "unwrap_or",
    "unwrap_or_default",
    "unwrap_or_else",
    "update",
    "upper",
    "value",
    "values",
    "warn",
    "with_capacity",
    "write",
    "write_all",
    "zip",
];

/// Aider's identifier weighting, plus [`COMMON_NAMES`].
fn name_weight(name: &str, definers: usize, mentioned: bool) -> f64 {
    let mut weight = 1.0;
    if mentioned {
        weight *= 10.0;
    }
    if COMMON_NAMES.binary_search(&name).is_ok() {
        return weight * 0.02;
    }
    if definers > 5 {
        return weight * 0.1;
    }
    let snake = name.contains('_') && name.chars().any(char::is_alphabetic);
    let camel = name.chars().any(char::is_uppercase) && name.chars().any(char::is_lowercase);
    if (snake || camel) && name.chars().count() >= 8 {
        weight *= 10.0;
    }
    if name.starts_with('_') {
        weight *= 0.1;
    }
    weight
}

/// The focused files (by index), the mentioned names, and focus entries that matched nothing.
fn resolve_focus<'a>(
    index: &SymbolIndex,
    name_ids: &HashMap<&str, u32, FxBuild>,
    focus: &'a Focus,
) -> (HashSet<u32>, HashSet<&'a str>, Vec<String>) {
    let mut files = HashSet::new();
    let mut mentioned = HashSet::new();
    let mut unmatched = Vec::new();
    for raw in &focus.items {
        let rel = raw.trim().trim_start_matches("./").trim_end_matches('/');
        let before = files.len();
        for (f, file) in index.files.iter().enumerate() {
            let under =
                file.rel.len() > rel.len() && file.rel.starts_with(rel) && file.rel.as_bytes()[rel.len()] == b'/';
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
            if file.tags.defs.iter().any(|d| d.is_definition() && d.name == name) {
                files.insert(f as u32);
            }
        }
    }
    (files, mentioned, unmatched)
}

#[cfg(test)]
#[path = "repo_map_tests.rs"]
mod tests;
