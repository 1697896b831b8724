//! The layering of the crate, checked: every `crate::<module>` reference in `src/` must be an edge
//! that the module table of `docs/architecture.md` allows, and the crates confined to a few
//! modules (`git2`, `redb`, …) may appear only in the modules whose row names them.
//!
//! The table is the single statement of the rules: this test parses it, so the documentation
//! cannot drift from what is checked. It also keeps the table honest in the other direction:
//! every module in `src/` must have a row (and every row a module), the rows must be in layer
//! order (a module may depend only on rows above it, so the layering has no cycles), and the
//! `//!` layer list of `src/lib.rs` must name the library modules in the same order.
//!
//! What counts as a reference: `use crate::…` (grouped forms included, `use crate::{a, b::{c}}`
//! expanding to one path per leaf), inline paths such as `crate::store::Foo::open(…)`, `$crate::…`
//! in macros, and `super::…` chains that climb out of the file's top-level module. Comments (doc
//! comments and their intra-doc links included) and string literals are not code and are skipped.
//!
//! Test code is exempt: files named `*_tests.rs`, and every item under a `#[cfg(test)]`
//! attribute (the `mod tests { … }` blocks and test-only helpers). They are compiled only into
//! the unit-test binary, never into the product, and a test may build fixtures with whatever it
//! needs.

// Test and benchmark code may unwrap and panic: that is how it reports a failure (see clippy.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

const ARCHITECTURE: &str = "docs/architecture.md";

/// The word in the "may depend on" column that allows every module (the binary's top).
const EVERYTHING: &str = "everything";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

// ---------------------------------------------------------------------------------------------
// The table
// ---------------------------------------------------------------------------------------------

/// One allowed dependency: a whole module (`store`), or only the paths under one item of it
/// (`orchestrator::Engine` allows `crate::orchestrator::Engine…` and nothing else of it).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Allowed {
    module: String,
    item: Option<String>,
}

/// One row of the module table.
#[derive(Debug, Clone)]
struct Row {
    module: String,
    /// `None`: everything.
    depends: Option<Vec<Allowed>>,
    crates: BTreeSet<String>,
}

#[derive(Debug)]
struct Table {
    /// In the table's order: bottom layer first.
    rows: Vec<Row>,
}

impl Table {
    fn row(&self, module: &str) -> Option<&Row> {
        self.rows.iter().find(|r| r.module == module)
    }

    /// Every crate some row names: the confined crates.
    fn confined_crates(&self) -> BTreeSet<String> {
        self.rows.iter().flat_map(|r| r.crates.iter().cloned()).collect()
    }
}

/// The names in backticks in a table cell.
fn backticked(cell: &str) -> Vec<String> {
    cell.split('`').skip(1).step_by(2).map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect()
}

fn cells(line: &str) -> Vec<String> {
    let line = line.trim();
    let inner = line.strip_prefix('|').unwrap_or(line);
    let inner = inner.strip_suffix('|').unwrap_or(inner);
    inner.split('|').map(|c| c.trim().to_owned()).collect()
}

/// Parses the module table of the architecture document: the first markdown table whose header
/// has the columns `module`, `may depend on` and `confined crates`.
fn parse_table(markdown: &str) -> Result<Table, String> {
    let lines: Vec<&str> = markdown.lines().collect();
    let header_at = lines
        .iter()
        .position(|l| {
            let c = cells(l);
            l.trim_start().starts_with('|')
                && c.iter().any(|c| c == "module")
                && c.iter().any(|c| c == "may depend on")
                && c.iter().any(|c| c == "confined crates")
        })
        .ok_or("no table with the columns `module`, `may depend on` and `confined crates`")?;
    let header = cells(lines[header_at]);
    let column = |name: &str| header.iter().position(|c| c == name).ok_or(format!("no column {name}"));
    let (module_col, depends_col, crates_col) =
        (column("module")?, column("may depend on")?, column("confined crates")?);
    let mut rows = Vec::new();
    for (n, line) in lines.iter().enumerate().skip(header_at + 2) {
        if !line.trim_start().starts_with('|') {
            break;
        }
        let c = cells(line);
        let cell = |i: usize| c.get(i).map(String::as_str).unwrap_or("");
        let names = backticked(cell(module_col));
        let [module] = names.as_slice() else {
            return Err(format!("{ARCHITECTURE}:{}: the module cell must hold one `name`", n + 1));
        };
        let depends_cell = cell(depends_col);
        let depends = if depends_cell.split_whitespace().next() == Some(EVERYTHING) {
            None
        } else {
            Some(
                backticked(depends_cell)
                    .into_iter()
                    .map(|name| match name.split_once("::") {
                        Some((module, item)) => Allowed { module: module.to_owned(), item: Some(item.to_owned()) },
                        None => Allowed { module: name, item: None },
                    })
                    .collect(),
            )
        };
        rows.push(Row { module: module.clone(), depends, crates: backticked(cell(crates_col)).into_iter().collect() });
    }
    if rows.is_empty() {
        return Err("the module table has no rows".into());
    }
    Ok(Table { rows })
}

// ---------------------------------------------------------------------------------------------
// The sources
// ---------------------------------------------------------------------------------------------

/// Replaces comments and the contents of string and character literals with spaces, keeping
/// every newline, so that byte offsets and line numbers still match the original.
fn strip_comments_and_literals(src: &str) -> String {
    let b = src.as_bytes();
    let mut out = b.to_vec();
    let blank = |out: &mut Vec<u8>, from: usize, to: usize| {
        for byte in &mut out[from..to] {
            if *byte != b'\n' {
                *byte = b' ';
            }
        }
    };
    let is_ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let mut i = 0;
    while i < b.len() {
        let prev_ident = i > 0 && is_ident(b[i - 1]);
        match b[i] {
            b'/' if b.get(i + 1) == Some(&b'/') => {
                let end = b[i..].iter().position(|&c| c == b'\n').map_or(b.len(), |p| i + p);
                blank(&mut out, i, end);
                i = end;
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let (mut depth, mut j) = (1, i + 2);
                while j < b.len() && depth > 0 {
                    if b[j] == b'/' && b.get(j + 1) == Some(&b'*') {
                        depth += 1;
                        j += 2;
                    } else if b[j] == b'*' && b.get(j + 1) == Some(&b'/') {
                        depth -= 1;
                        j += 2;
                    } else {
                        j += 1;
                    }
                }
                blank(&mut out, i, j);
                i = j;
            }
            // Raw strings: r"…", r#"…"#, br#"…"#, cr"…" (the prefix letters before `r` are kept).
            b'r' if (!prev_ident || (i > 0 && matches!(b[i - 1], b'b' | b'c') && (i < 2 || !is_ident(b[i - 2])))) => {
                let hashes = b[i + 1..].iter().take_while(|&&c| c == b'#').count();
                if b.get(i + 1 + hashes) == Some(&b'"') {
                    let body = i + 2 + hashes;
                    let mut closing = vec![b'"'];
                    closing.extend(std::iter::repeat_n(b'#', hashes));
                    let end = b[body..]
                        .windows(closing.len())
                        .position(|w| w == closing.as_slice())
                        .map_or(b.len(), |p| body + p + closing.len());
                    blank(&mut out, body, end.saturating_sub(closing.len()).max(body));
                    i = end;
                } else {
                    i += 1;
                }
            }
            b'"' => {
                let mut j = i + 1;
                while j < b.len() && b[j] != b'"' {
                    j += if b[j] == b'\\' { 2 } else { 1 };
                }
                blank(&mut out, i + 1, j.min(b.len()));
                i = j + 1;
            }
            b'\'' => {
                // A character literal ('a', '\n', '\u{1F600}', 'é'), or a lifetime or label ('a).
                if b.get(i + 1) == Some(&b'\\') {
                    let mut j = i + 2;
                    while j < b.len() && b[j] != b'\'' {
                        j += 1;
                    }
                    blank(&mut out, i + 1, j.min(b.len()));
                    i = j + 1;
                } else {
                    let width = src[i + 1..].chars().next().map_or(1, char::len_utf8);
                    if b.get(i + 1 + width) == Some(&b'\'') {
                        blank(&mut out, i + 1, i + 1 + width);
                        i += 2 + width;
                    } else {
                        i += 1;
                    }
                }
            }
            _ => i += 1,
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The index just past the bracket that closes the one at `open` (`{`/`}` or `[`/`]`).
fn matching(b: &[u8], open: usize) -> usize {
    let (left, right) = (b[open], if b[open] == b'{' { b'}' } else { b']' });
    let mut depth = 0usize;
    for (j, &c) in b.iter().enumerate().skip(open) {
        if c == left {
            depth += 1;
        } else if c == right {
            depth -= 1;
            if depth == 0 {
                return j + 1;
            }
        }
    }
    b.len()
}

/// Blanks every item under `#[cfg(test)]` (its attributes, then up to the `;` or the block that
/// ends it) in already stripped source.
fn strip_test_items(code: &str) -> String {
    const ATTR: &str = "#[cfg(test)]";
    let b = code.as_bytes();
    let mut out = b.to_vec();
    let mut from = 0;
    while let Some(found) = code[from..].find(ATTR) {
        let start = from + found;
        let mut j = start + ATTR.len();
        loop {
            while j < b.len() && b[j].is_ascii_whitespace() {
                j += 1;
            }
            if j < b.len() && b[j] == b'#' && b.get(j + 1) == Some(&b'[') {
                j = matching(b, j + 1);
            } else {
                break;
            }
        }
        let end = match b[j..].iter().position(|&c| c == b';' || c == b'{') {
            Some(p) if b[j + p] == b';' => j + p + 1,
            Some(p) => matching(b, j + p),
            None => b.len(),
        };
        for byte in &mut out[start..end] {
            if *byte != b'\n' {
                *byte = b' ';
            }
        }
        from = end;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A reference from code to a module of the crate.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Reference {
    line: usize,
    /// The path below the crate root: `["store", "Store"]`.
    path: Vec<String>,
}

struct Scanner<'a> {
    b: &'a [u8],
    at: usize,
}

impl Scanner<'_> {
    fn skip_space(&mut self) {
        while self.at < self.b.len() && self.b[self.at].is_ascii_whitespace() {
            self.at += 1;
        }
    }

    fn eat(&mut self, text: &str) -> bool {
        self.skip_space();
        if self.b[self.at..].starts_with(text.as_bytes()) {
            self.at += text.len();
            true
        } else {
            false
        }
    }

    fn ident(&mut self) -> Option<String> {
        self.skip_space();
        let start = self.at;
        while self.at < self.b.len() && (self.b[self.at].is_ascii_alphanumeric() || self.b[self.at] == b'_') {
            self.at += 1;
        }
        (self.at > start).then(|| String::from_utf8_lossy(&self.b[start..self.at]).into_owned())
    }

    fn line(&self, lines: &[usize]) -> usize {
        lines.partition_point(|&start| start <= self.at)
    }

    /// Parses a use tree (or an inline path) after `prefix::`, pushing one reference per leaf.
    fn tree(&mut self, prefix: &[String], lines: &[usize], found: &mut Vec<Reference>) {
        self.skip_space();
        if self.eat("{") {
            loop {
                self.skip_space();
                if self.eat("}") || self.at >= self.b.len() {
                    return;
                }
                let before = self.at;
                self.tree(prefix, lines, found);
                self.eat(",");
                if self.at == before {
                    // Not a path we understand: step over it rather than loop.
                    self.at += 1;
                }
            }
        }
        if self.eat("*") {
            found.push(Reference { line: self.line(lines), path: prefix.to_vec() });
            return;
        }
        let line = self.line(lines);
        let Some(first) = self.ident() else {
            found.push(Reference { line, path: prefix.to_vec() });
            return;
        };
        let mut path = prefix.to_vec();
        if first != "self" {
            path.push(first);
        }
        loop {
            let save = self.at;
            if !self.eat("::") {
                break;
            }
            self.skip_space();
            if self.b.get(self.at) == Some(&b'{') {
                self.tree(&path, lines, found);
                return;
            }
            match self.ident() {
                Some(segment) if segment != "self" => path.push(segment),
                Some(_) => {}
                None => {
                    // `::<T>` or `::*`: the path so far is the reference.
                    self.at = save;
                    break;
                }
            }
        }
        let save = self.at;
        if self.ident().as_deref() == Some("as") {
            self.ident();
        } else {
            self.at = save;
        }
        found.push(Reference { line, path });
    }
}

/// The references to the crate's modules in stripped code of a file `depth` modules deep
/// (`src/foo.rs` is 1, `src/foo/bar.rs` is 2): `crate::…`, `$crate::…`, and `super::` chains of
/// at least `depth` links.
fn references(code: &str, depth: usize) -> Vec<Reference> {
    let b = code.as_bytes();
    let lines: Vec<usize> = std::iter::once(0).chain(code.match_indices('\n').map(|(i, _)| i + 1)).collect::<Vec<_>>();
    let is_ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let mut found = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let starts = code[i..].starts_with("crate") || code[i..].starts_with("super");
        if starts && (i == 0 || !is_ident(b[i - 1])) && !code[..i].trim_end().ends_with("::") {
            let word_end = i + 5;
            if b.get(word_end).is_some_and(|&c| is_ident(c)) {
                i = word_end;
                continue;
            }
            let mut scanner = Scanner { b, at: word_end };
            let climbs_out = if code[i..].starts_with("crate") {
                true
            } else {
                let mut links = 1;
                loop {
                    let save = scanner.at;
                    if scanner.eat("::") && scanner.eat("super") && !b.get(scanner.at).is_some_and(|&c| is_ident(c)) {
                        links += 1;
                    } else {
                        scanner.at = save;
                        break;
                    }
                }
                links >= depth
            };
            if climbs_out && scanner.eat("::") {
                scanner.tree(&[], &lines, &mut found);
            }
            i = scanner.at.max(word_end);
            continue;
        }
        i += 1;
    }
    found
}

/// Where a crate confined to some modules is used: the lines with `<name>::` as a path start.
fn crate_uses(code: &str, name: &str) -> Vec<usize> {
    let b = code.as_bytes();
    let is_ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    code.match_indices(name)
        .filter(|&(i, _)| {
            (i == 0 || !is_ident(b[i - 1]))
                && !code[..i].trim_end().ends_with("::")
                && code[i + name.len()..].trim_start().starts_with("::")
        })
        .map(|(i, _)| code[..i].matches('\n').count() + 1)
        .collect()
}

/// A source file of the crate, already stripped of comments, literals and test items.
struct Source {
    /// Relative to the repository: `src/store/tag_cache.rs`.
    path: String,
    /// The row it answers to: its top-level module, or `cli` for the binary's root.
    module: String,
    depth: usize,
    code: String,
}

/// The row a file of `src/` answers to, and its depth in the module tree; `None` for files that
/// are not checked (`lib.rs`, which only declares the modules, and test files).
fn classify(relative: &Path) -> Option<(String, usize)> {
    let parts: Vec<String> = relative.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    let file = parts.last()?;
    if file.ends_with("_tests.rs") || parts.as_slice() == ["lib.rs"] {
        return None;
    }
    if parts.as_slice() == ["main.rs"] {
        return Some(("cli".to_owned(), 0));
    }
    let module = parts[0].strip_suffix(".rs").unwrap_or(&parts[0]).to_owned();
    Some((module, parts.len()))
}

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect::<Vec<_>>();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

/// Every top-level module of `src/` (a `foo.rs` or a `foo/` directory), with `main.rs` as `cli`.
fn source_modules() -> BTreeSet<String> {
    let mut modules = BTreeSet::new();
    for entry in std::fs::read_dir(root().join("src")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            modules.insert(name);
        } else if let Some(stem) = name.strip_suffix(".rs") {
            match stem {
                "lib" => {}
                "main" => {
                    modules.insert("cli".to_owned());
                }
                _ if stem.ends_with("_tests") => {}
                _ => {
                    modules.insert(stem.to_owned());
                }
            }
        }
    }
    modules
}

fn sources() -> Vec<Source> {
    let src = root().join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files
        .into_iter()
        .filter_map(|path| {
            let (module, depth) = classify(path.strip_prefix(&src).unwrap())?;
            let text = std::fs::read_to_string(&path).unwrap();
            let code = strip_test_items(&strip_comments_and_literals(&text));
            let path = path.strip_prefix(root()).unwrap().to_string_lossy().into_owned();
            Some(Source { path, module, depth, code })
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The checks
// ---------------------------------------------------------------------------------------------

/// Whether `row` may reference `path` (below the crate root).
fn allows(row: &Row, path: &[String]) -> bool {
    let Some(depends) = &row.depends else { return true };
    depends.iter().any(|allowed| {
        path.first() == Some(&allowed.module)
            && allowed.item.as_ref().is_none_or(|item| {
                let want: Vec<&str> = item.split("::").collect();
                path.len() > want.len() && path[1..=want.len()].iter().zip(&want).all(|(a, b)| a == b)
            })
    })
}

/// Every violation of `table` by `sources`, one line each.
fn violations(table: &Table, sources: &[Source]) -> Vec<String> {
    let modules: BTreeSet<&str> = table.rows.iter().map(|r| r.module.as_str()).collect();
    let confined = table.confined_crates();
    let mut found = Vec::new();
    for source in sources {
        let Some(row) = table.row(&source.module) else {
            found.push(format!("{}: module `{}` has no row in {ARCHITECTURE}", source.path, source.module));
            continue;
        };
        for reference in references(&source.code, source.depth) {
            let Some(target) = reference.path.first() else { continue };
            if *target == source.module {
                continue;
            }
            let shown = format!("crate::{}", reference.path.join("::"));
            if !modules.contains(target.as_str()) {
                found.push(format!(
                    "{}:{}: `{shown}` names `{target}`, which is not a module of the table",
                    source.path, reference.line
                ));
            } else if !allows(row, &reference.path) {
                found.push(format!(
                    "{}:{}: forbidden edge {} -> {target} (`{shown}`): not in the `may depend on` of `{}` in {ARCHITECTURE}",
                    source.path, reference.line, source.module, source.module
                ));
            }
        }
        for name in &confined {
            if row.crates.contains(name) {
                continue;
            }
            for line in crate_uses(&source.code, name) {
                found.push(format!(
                    "{}:{line}: `{name}::` is used in `{}`, whose row in {ARCHITECTURE} does not list `{name}` among its confined crates",
                    source.path, source.module
                ));
            }
        }
    }
    found
}

/// What is wrong with the table itself: rows without a module, modules without a row, unknown
/// or upward dependencies (a row may depend only on rows above it).
fn table_problems(table: &Table, modules: &BTreeSet<String>) -> Vec<String> {
    let mut found = Vec::new();
    let rows: Vec<&str> = table.rows.iter().map(|r| r.module.as_str()).collect();
    for module in modules {
        if !rows.contains(&module.as_str()) {
            found.push(format!("src/ has module `{module}` but {ARCHITECTURE} has no row for it"));
        }
    }
    let mut seen = BTreeSet::new();
    for (at, row) in table.rows.iter().enumerate() {
        if !modules.contains(&row.module) {
            found.push(format!("{ARCHITECTURE} has a row for `{}`, which is not a module of src/", row.module));
        }
        if !seen.insert(&row.module) {
            found.push(format!("{ARCHITECTURE} has two rows for `{}`", row.module));
        }
        for allowed in row.depends.iter().flatten() {
            match rows.iter().position(|&m| m == allowed.module) {
                None => found.push(format!("`{}` may depend on `{}`, which has no row", row.module, allowed.module)),
                Some(below) if below >= at => found.push(format!(
                    "`{}` may depend on `{}`, which is not above it in the table (layers go bottom-up)",
                    row.module, allowed.module
                )),
                Some(_) => {}
            }
        }
    }
    found
}

fn table() -> Table {
    let text = std::fs::read_to_string(root().join(ARCHITECTURE)).unwrap();
    parse_table(&text).unwrap_or_else(|e| panic!("{ARCHITECTURE}: {e}"))
}

fn report(what: &str, problems: &[String]) {
    if !problems.is_empty() {
        let mut message = format!("{what} ({}):\n", problems.len());
        for p in problems {
            let _ = writeln!(message, "  {p}");
        }
        panic!("{message}");
    }
}

#[test]
fn every_reference_between_modules_is_an_edge_of_the_table() {
    report("layering violations", &violations(&table(), &sources()));
}

#[test]
fn the_table_covers_every_module_in_layer_order() {
    report("module table problems", &table_problems(&table(), &source_modules()));
}

#[test]
fn the_lib_rs_layer_list_names_the_modules_in_table_order() {
    let table = table();
    let lib = std::fs::read_to_string(root().join("src/lib.rs")).unwrap();
    let listed: Vec<String> = lib
        .lines()
        .filter_map(|l| l.strip_prefix("//! - [`"))
        .filter_map(|l| l.split_once("`]").map(|(m, _)| m.to_owned()))
        .collect();
    let declared: BTreeSet<String> =
        lib.lines().filter_map(|l| l.strip_prefix("pub mod ")).map(|l| l.trim_end_matches(';').to_owned()).collect();
    let in_table: Vec<String> = table.rows.iter().map(|r| r.module.clone()).filter(|m| declared.contains(m)).collect();
    assert_eq!(listed, in_table, "src/lib.rs's `//!` layer list must name the library modules in the table's order");
}

// ---------------------------------------------------------------------------------------------
// The checker checked
// ---------------------------------------------------------------------------------------------

const SAMPLE_TABLE: &str = "\
| module | owns | may depend on | confined crates |
|---|---|---|---|
| `protocol` | words | nothing internal | |
| `store` | the log | `protocol` | `redb` |
| `orchestrator` | the engine | `protocol`, `store` | |
| `api` | http | `protocol`, `orchestrator::Engine` | |
| `cli` | the binary | everything | `git2` |
";

fn sample(path: &str, module: &str, text: &str) -> Source {
    let depth = path.trim_start_matches("src/").matches('/').count() + 1;
    Source {
        path: path.to_owned(),
        module: module.to_owned(),
        depth,
        code: strip_test_items(&strip_comments_and_literals(text)),
    }
}

fn paths(text: &str, depth: usize) -> Vec<(usize, String)> {
    references(&strip_test_items(&strip_comments_and_literals(text)), depth)
        .into_iter()
        .map(|r| (r.line, r.path.join("::")))
        .collect()
}

#[test]
fn references_are_found_in_every_form_and_only_in_code() {
    let text = r####"//! See [`crate::api`] for the server.
use crate::{
    store::{Store, reader::Reader as R},
    protocol,
};
use crate::orchestrator::*;
fn f() -> crate::orchestrator::Engine { let s = "crate::api::Nope"; let r = r#"crate::api::Raw"#; let c = '"'; g::<'static>(crate::store::open()) }
/* crate::api::InBlock /* nested */ still comment */
macro_rules! m { () => { $crate::protocol::Id } }
fn h() { super::super::tools::run(); super::sibling(); pub(super) fn x() {} }
#[cfg(test)]
mod tests { use crate::api::Client; }
#[cfg(test)]
use crate::api::TestOnly;
"####;
    assert_eq!(
        paths(text, 2),
        vec![
            (3, "store::Store".to_owned()),
            (3, "store::reader::Reader".to_owned()),
            (4, "protocol".to_owned()),
            (6, "orchestrator".to_owned()),
            (7, "orchestrator::Engine".to_owned()),
            (7, "store::open".to_owned()),
            (9, "protocol::Id".to_owned()),
            (10, "tools::run".to_owned()),
        ]
    );
    // From a top-level file, one `super` already reaches the crate root.
    assert_eq!(paths("use super::store::Store;", 1), vec![(1, "store::Store".to_owned())]);
    assert_eq!(paths("use super::sibling::Thing;", 2), Vec::<(usize, String)>::new());
}

#[test]
fn a_forbidden_edge_is_reported_with_its_place_and_an_allowed_one_is_not() {
    let table = parse_table(SAMPLE_TABLE).unwrap();
    let sources = vec![
        sample("src/store/log.rs", "store", "use crate::protocol::Event;\nuse crate::orchestrator::Engine;\n"),
        sample(
            "src/api/server.rs",
            "api",
            "use crate::orchestrator::Engine;\nfn f() { crate::orchestrator::queue::push(); }\n",
        ),
        sample("src/protocol.rs", "protocol", "// crate::store is only mentioned\nuse crate::store;\n"),
        sample("src/cli/run.rs", "cli", "use crate::store::Store;\nfn f() { git2::Repository::open(\".\"); }\n"),
        sample("src/orchestrator/git.rs", "orchestrator", "fn f() { let r = git2::Repository::open(\".\"); }\n"),
        sample("src/newmod.rs", "newmod", "fn f() {}\n"),
    ];
    let found = violations(&table, &sources);
    let expected = [
        "src/store/log.rs:2: forbidden edge store -> orchestrator",
        "src/api/server.rs:2: forbidden edge api -> orchestrator (`crate::orchestrator::queue::push`)",
        "src/protocol.rs:2: forbidden edge protocol -> store",
        "src/orchestrator/git.rs:1: `git2::` is used in `orchestrator`",
        "src/newmod.rs: module `newmod` has no row",
    ];
    assert_eq!(found.len(), expected.len(), "{found:#?}");
    for (found, expected) in found.iter().zip(expected) {
        assert!(found.starts_with(expected), "{found} should start with {expected}");
    }
}

#[test]
fn the_table_must_cover_every_module_and_point_only_downwards() {
    let table = parse_table(SAMPLE_TABLE).unwrap();
    let mut modules: BTreeSet<String> = table.rows.iter().map(|r| r.module.clone()).collect();
    assert!(table_problems(&table, &modules).is_empty());
    modules.insert("newmod".to_owned());
    assert_eq!(
        table_problems(&table, &modules),
        vec!["src/ has module `newmod` but docs/architecture.md has no row for it"]
    );

    let upward =
        SAMPLE_TABLE.replace("| `store` | the log | `protocol` |", "| `store` | the log | `protocol`, `api` |");
    let problems =
        table_problems(&parse_table(&upward).unwrap(), &table.rows.iter().map(|r| r.module.clone()).collect());
    assert_eq!(problems, vec!["`store` may depend on `api`, which is not above it in the table (layers go bottom-up)"]);
}

#[test]
fn the_real_table_parses_into_known_rows() {
    let table = table();
    let by_module: BTreeMap<&str, &Row> = table.rows.iter().map(|r| (r.module.as_str(), r)).collect();
    assert_eq!(by_module["protocol"].depends.as_deref(), Some(&[][..]), "protocol depends on nothing internal");
    assert!(by_module["cli"].depends.is_none(), "the binary may use everything");
    assert!(by_module["workspace"].crates.contains("git2"));
}
