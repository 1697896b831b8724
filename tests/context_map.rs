//! The ranked symbol map on fixture repositories in each language: top symbols, their order,
//! focus, the token budget, scopes in the rendering, and symbol lookup.

// Test and benchmark code may unwrap and panic: that is how it reports a failure (see clippy.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support {
    pub mod repos;
}

use ambidex::context::{ContextOptions, RepoMap, symbol_map, symbols};
use support::repos::{LANGUAGES, expect, project};

fn names(map: &RepoMap, n: usize) -> Vec<String> {
    map.ranked(n).into_iter().map(|s| s.name).collect()
}

fn position(names: &[String], name: &str) -> usize {
    names.iter().position(|n| n == name).unwrap_or_else(|| panic!("{name} not ranked: {names:?}"))
}

fn tokens(text: &str) -> usize {
    text.chars().count().div_ceil(4)
}

#[test]
fn the_shared_store_ranks_first_in_every_language() {
    for language in LANGUAGES {
        let fixture = project(language);
        let e = expect(language);
        let map = symbol_map(fixture.path(), &ContextOptions::default()).unwrap();
        assert_eq!(map.index().stats.skipped.total(), 0, "{language}");
        let top = names(&map, e.top.len() + 2);
        for want in e.top {
            assert!(top.contains(&(*want).to_owned()), "{language}: {want} not in {top:?}");
        }
        // The CLI entry point is referenced by nothing: it ranks below the store's symbols.
        let all = names(&map, 1000);
        let cli = ["parse_cli_args", "parseCliArgs"]
            .iter()
            .find(|n| all.contains(&(**n).to_owned()))
            .unwrap_or_else(|| panic!("{language}: no CLI function in {all:?}"));
        for want in e.top {
            assert!(position(&all, want) < position(&all, cli), "{language}: {all:?}");
        }
        let best_file = &map.file_ranks()[0].0;
        assert!(best_file.contains("store"), "{language}: {:?}", map.file_ranks());
    }
}

#[test]
fn focus_lifts_what_the_focused_file_uses() {
    for language in LANGUAGES {
        let fixture = project(language);
        let e = expect(language);
        let plain = symbol_map(fixture.path(), &ContextOptions::default()).unwrap();
        let focused = symbol_map(
            fixture.path(),
            &ContextOptions { focus: vec![e.focus_file.to_owned()], ..ContextOptions::default() },
        )
        .unwrap();
        let before = position(&names(&plain, 1000), e.focus_lifts);
        let after = position(&names(&focused, 1000), e.focus_lifts);
        assert!(before > 0, "{language}: {:?}", names(&plain, 10));
        assert_eq!(after, 0, "{language}: {:?}", focused.ranked(5));
        assert!(focused.unmatched_focus.is_empty());
    }
}

#[test]
fn the_map_fits_the_budget_and_shows_enclosing_scopes() {
    let scopes = [
        ("rust", "│impl EventStore {", "│    pub fn append_event(&mut self, event: Event) {"),
        ("python", "│class EventStore:", "│    def append_event(self, event):"),
        ("javascript", "│export class EventStore {", "│  appendEvent(event) {"),
        ("typescript", "│export class EventStore {", "│  appendEvent(event: Event): void {"),
        ("go", "", "│func (s *EventStore) AppendEvent(e Event) {"),
    ];
    for (language, scope, method) in scopes {
        let fixture = project(language);
        let map = symbol_map(fixture.path(), &ContextOptions::default()).unwrap();
        let (full, shown) = map.render(100_000);
        let lines: Vec<&str> = full.lines().collect();
        let at = lines.iter().position(|l| *l == method).unwrap_or_else(|| panic!("{language}:\n{full}"));
        // The enclosing scope is shown in the same file section, above the method.
        let section = lines[..at].iter().rev().take_while(|l| l.starts_with(['│', '⋮']));
        assert!(scope.is_empty() || section.clone().any(|l| *l == scope), "{language}:\n{full}");
        assert!(shown >= 6, "{language}: {shown}");
        let mut previous = 0;
        for budget in [10, 30, 60, 120, 250, 500] {
            let (text, shown) = map.render(budget);
            assert!(tokens(&text) <= budget, "{language} at {budget}: {text}");
            assert!(shown >= previous, "{language}: more budget, fewer symbols");
            previous = shown;
        }
        // A small budget keeps the best symbol.
        let (small, _) = map.render(40);
        assert!(small.contains("EventStore"), "{language}:\n{small}");
    }
}

#[test]
fn symbols_looks_up_names_files_and_parts_of_names() {
    let fixture = project("rust");
    let options = ContextOptions::default();
    let hits = symbols(fixture.path(), "append_event", &options).unwrap();
    assert_eq!(hits.len(), 1);
    let hit = &hits[0];
    assert_eq!((hit.path.as_str(), hit.kind.as_str()), ("src/store.rs", "method"));
    assert_eq!(hit.text, "pub fn append_event(&mut self, event: Event) {");
    assert_eq!(hit.scopes, vec!["impl EventStore {".to_owned()]);
    assert!(hit.referenced_by >= 3, "{hit:?}");
    let line = std::fs::read_to_string(fixture.file("src/store.rs"))
        .unwrap()
        .lines()
        .position(|l| l.contains("fn append_event"))
        .unwrap();
    assert_eq!(hit.line as usize, line + 1);

    let outline: Vec<String> =
        symbols(fixture.path(), "src/store.rs", &options).unwrap().into_iter().map(|h| h.name).collect();
    assert_eq!(outline, vec!["Event", "EventStore", "open_store", "append_event", "event_count"]);
    let partial = symbols(fixture.path(), "EVENT_C", &options).unwrap();
    assert_eq!(partial[0].name, "event_count");
    assert!(symbols(fixture.path(), "no_such_symbol", &options).unwrap().is_empty());
}
