//! Tests of ranking (weights, focus) and rendering (scopes, budget) on hand-made indexes.

use super::*;
use crate::context::index::IndexedFile;
use crate::context::lang::Lang;
use crate::context::tags::FileTags;

/// (name, kind, line, start, end) → a definition whose text is `kind name`.
fn def(name: &str, kind: &str, line: u32, start: u32, end: u32) -> Def {
    let text = match kind {
        "scope" => format!("impl {name} {{"),
        "method" => format!("    fn {name}() {{"),
        _ => format!("{kind} {name}"),
    };
    Def { name: name.to_owned(), kind: kind.to_owned(), line, start_line: start, end_line: end, text }
}

fn file(rel: &str, defs: Vec<Def>, refs: &[(&str, u32)]) -> IndexedFile {
    let mut refs: Vec<(String, u32)> = refs.iter().map(|(n, c)| ((*n).to_owned(), *c)).collect();
    refs.sort();
    IndexedFile {
        rel: rel.to_owned(),
        lang: Lang::Rust,
        tags: FileTags { lines: defs.iter().map(|d| d.end_line + 5).max().unwrap_or(1), defs, refs },
    }
}

fn index(files: Vec<IndexedFile>) -> SymbolIndex {
    SymbolIndex { files, stats: Default::default() }
}

fn names(map: &RepoMap, n: usize) -> Vec<String> {
    map.ranked(n).into_iter().map(|s| s.name).collect()
}

fn focus(items: &[&str]) -> Focus {
    Focus { items: items.iter().map(|s| (*s).to_owned()).collect() }
}

/// Two clusters: `core` is used by many files; `tools` is used only by `cli`.
fn two_clusters() -> SymbolIndex {
    let mut files = vec![
        file("src/core.rs", vec![def("open_store", "function", 1, 1, 5), def("Record", "class", 7, 7, 9)], &[]),
        file("src/tools.rs", vec![def("run_tool_call", "function", 1, 1, 3)], &[("open_store", 1)]),
        file("src/cli.rs", vec![def("main", "function", 0, 0, 4)], &[("run_tool_call", 3)]),
    ];
    for i in 0..6 {
        files.push(file(
            &format!("src/user{i}.rs"),
            vec![def(&format!("user_fn_{i}"), "function", 0, 0, 2)],
            &[("open_store", 2), ("Record", 1)],
        ));
    }
    index(files)
}

#[test]
fn the_most_referenced_definitions_rank_first() {
    let map = RepoMap::new(two_clusters(), &Focus::default());
    let top = names(&map, 3);
    assert_eq!(top[0], "open_store", "{:?}", map.ranked(10));
    assert!(top.contains(&"Record".to_owned()), "{:?}", map.ranked(10));
    assert_eq!(map.file_ranks()[0].0, "src/core.rs");
}

#[test]
fn focus_changes_the_ranking() {
    let plain = RepoMap::new(two_clusters(), &Focus::default());
    let focused = RepoMap::new(two_clusters(), &focus(&["src/cli.rs"]));
    let position = |map: &RepoMap| names(map, 100).iter().position(|n| n == "run_tool_call").unwrap();
    assert!(position(&plain) > 0);
    assert_eq!(position(&focused), 0, "{:?}", focused.ranked(5));
    // A symbol works as focus too: it comes first, and the files defining it become the focus.
    let by_symbol = RepoMap::new(two_clusters(), &focus(&["main"]));
    assert_eq!(names(&by_symbol, 2), ["main", "run_tool_call"]);
    // So does a directory, and unknown items are reported.
    let odd = RepoMap::new(two_clusters(), &focus(&["src/", "no_such_thing"]));
    assert_eq!(odd.unmatched_focus, vec!["no_such_thing".to_owned()]);
}

#[test]
fn common_and_private_names_weigh_less_than_long_compound_ones() {
    assert_eq!(name_weight("x", 1, false), 1.0);
    assert_eq!(name_weight("open_store", 1, false), 10.0);
    assert_eq!(name_weight("OpenStore", 1, false), 10.0);
    assert_eq!(name_weight("openstore", 1, false), 1.0);
    assert!((name_weight("_tmp", 1, false) - 0.1).abs() < 1e-12);
    // As in aider, a long private compound name is both boosted and lowered.
    assert!((name_weight("_private_helper", 1, false) - 1.0).abs() < 1e-12);
    assert!((name_weight("load_config", 6, false) - 0.1).abs() < 1e-12);
    assert!((name_weight("is_empty", 1, false) - 0.02).abs() < 1e-12);
    assert!(COMMON_NAMES.windows(2).all(|w| w[0] < w[1]), "sorted and unique");
    assert_eq!(name_weight("task", 1, true), 10.0);

    // `new` is defined in 6 files and referenced everywhere; `load_config` once each.
    let mut files = Vec::new();
    for i in 0..6 {
        files.push(file(
            &format!("src/m{i}.rs"),
            vec![def("new", "function", 0, 0, 1)],
            &[("new", 1), ("load_config", 1)],
        ));
    }
    files.push(file("src/config.rs", vec![def("load_config", "function", 0, 0, 1)], &[]));
    let map = RepoMap::new(index(files), &Focus::default());
    assert_eq!(names(&map, 1), vec!["load_config".to_owned()]);
}

#[test]
fn the_map_shows_scopes_and_fits_the_budget() {
    let files = vec![
        file(
            "src/store.rs",
            vec![
                def("Store", "class", 2, 2, 4),
                def("Store", "scope", 10, 10, 30),
                def("open_store", "method", 11, 11, 15),
                def("close_store", "method", 20, 20, 25),
            ],
            &[],
        ),
        file(
            "src/main.rs",
            vec![def("main", "function", 0, 0, 3)],
            &[("open_store", 1), ("Store", 2), ("close_store", 1)],
        ),
    ];
    let map = RepoMap::new(index(files), &Focus::default());
    let full = map.render_top(100);
    assert!(
        full.contains(
            "src/store.rs:\n⋮\n│class Store\n⋮\n│impl Store {\n│    fn open_store() {\n⋮\n│    fn close_store() {\n⋮\n"
        ),
        "{full}"
    );
    let mut previous = 0;
    for budget in [0, 5, 10, 20, 40, 80, 1000] {
        let (text, shown) = map.render(budget);
        assert!(text.chars().count().div_ceil(4) <= budget, "{budget}: {text}");
        assert!(shown >= previous);
        previous = shown;
    }
    assert_eq!(map.render(1000).1, 4);
    assert_eq!(map.render(0), (String::new(), 0));
}

#[test]
fn lookup_by_name_by_file_and_by_part() {
    let files = vec![
        file("src/store.rs", vec![def("Store", "scope", 10, 10, 30), def("open_store", "method", 12, 12, 15)], &[]),
        file("src/main.rs", vec![def("main", "function", 0, 0, 3)], &[("open_store", 1)]),
    ];
    let map = RepoMap::new(index(files), &Focus::default());
    let hits = map.lookup("open_store", 10);
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].path, "src/store.rs");
    assert_eq!((hits[0].line, hits[0].end_line), (13, 16));
    assert_eq!(hits[0].scopes, vec!["impl Store {".to_owned()]);
    assert_eq!(hits[0].referenced_by, 1);
    assert_eq!(map.lookup("./src/store.rs", 10)[0].name, "open_store");
    assert_eq!(map.lookup("OPEN", 10)[0].name, "open_store");
    assert!(map.lookup("absent", 10).is_empty());
}

#[test]
fn an_empty_index_makes_an_empty_map() {
    let map = RepoMap::new(SymbolIndex::default(), &focus(&["x"]));
    assert_eq!(map.render(100), (String::new(), 0));
    assert!(map.ranked(10).is_empty());
    assert!(map.lookup("x", 10).is_empty());
}

#[test]
fn a_name_in_focus_is_shown_first_however_little_it_is_used() {
    let mut files = two_clusters().files;
    files.push(file("src/buf.rs", vec![def("get_int", "function", 3, 3, 9)], &[]));
    let map = RepoMap::new(index(files.clone()), &Focus::default());
    assert_ne!(names(&map, 1), ["get_int"], "unreferenced, it ranks low on its own");
    let map = RepoMap::new(index(files), &focus(&["get_int"]));
    assert_eq!(names(&map, 1), ["get_int"]);
    let (text, shown) = map.render(12);
    assert!(shown >= 1 && text.contains("get_int"), "{text}");
}
