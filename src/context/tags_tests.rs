//! Tests of tagging in every language, of bad input, and of the cache encoding.

use super::*;
use crate::context::lang::taggers;

fn tags_of(lang: Lang, source: &str) -> FileTags {
    match tag(&mut Tagger::default(), lang, source.as_bytes()) {
        Tagged::Tags(tags) => tags,
        other => panic!("expected tags, got {other:?}"),
    }
}

fn def<'a>(tags: &'a FileTags, name: &str) -> &'a Def {
    tags.defs.iter().find(|d| d.name == name).unwrap_or_else(|| panic!("no definition of {name} in {:#?}", tags.defs))
}

fn refs(tags: &FileTags, name: &str) -> u32 {
    tags.refs.iter().find(|(n, _)| n == name).map_or(0, |(_, c)| *c)
}

#[test]
fn every_language_has_its_rules() {
    for lang in Lang::ALL {
        assert!(taggers().rules(lang).is_some(), "{lang:?}");
    }
    assert!(taggers().errors().is_empty(), "{:?}", taggers().errors());
}

#[test]
fn rust_definitions_scopes_and_references() {
    let tags = tags_of(
        Lang::Rust,
        "pub struct Store {\n    x: u32,\n}\n\nimpl Store {\n    pub fn open_store(path: &str) -> Store {\n        helper();\n        Store::new_empty()\n    }\n}\n\nfn helper() -> Vec<Store> { Vec::new() }\n",
    );
    assert_eq!(def(&tags, "Store").kind, "class");
    let open = def(&tags, "open_store");
    assert_eq!(open.kind, "method");
    assert_eq!(open.line, 5);
    assert_eq!(open.text, "    pub fn open_store(path: &str) -> Store {");
    let scope = tags.defs.iter().find(|d| !d.is_definition()).unwrap();
    assert_eq!(scope.text, "impl Store {");
    assert_eq!((scope.start_line, scope.end_line), (4, 9));
    assert_eq!(refs(&tags, "helper"), 1);
    assert_eq!(refs(&tags, "new_empty"), 1);
    assert!(refs(&tags, "Store") >= 3, "{:?}", tags.refs);
    assert_eq!(tags.lines, 12);
}

#[test]
fn python_classes_methods_and_calls() {
    let tags = tags_of(
        Lang::Python,
        "class Engine(BaseEngine):\n    def run_engine(self):\n        return compute_total(1)\n\ndef compute_total(x):\n    return x\n",
    );
    assert_eq!(def(&tags, "Engine").kind, "class");
    let method = def(&tags, "run_engine");
    assert_eq!((method.line, method.start_line, method.end_line), (1, 1, 2));
    assert_eq!(refs(&tags, "compute_total"), 1);
    assert_eq!(refs(&tags, "BaseEngine"), 1);
}

#[test]
fn javascript_typescript_and_go() {
    let js =
        tags_of(Lang::JavaScript, "class Widget {\n  render() { return drawThing(); }\n}\nfunction drawThing() {}\n");
    assert_eq!(def(&js, "Widget").kind, "class");
    assert_eq!(def(&js, "render").kind, "method");
    assert_eq!(refs(&js, "drawThing"), 1);

    let ts = tags_of(
        Lang::TypeScript,
        "interface Shape { area(): number }\nexport class Square implements Shape {\n  area(): number { return squareOf(2); }\n}\nfunction squareOf(n: number): number { return n * n; }\ntype Alias = Shape;\n",
    );
    assert_eq!(def(&ts, "Shape").kind, "interface");
    assert_eq!(def(&ts, "Square").kind, "class");
    assert_eq!(def(&ts, "squareOf").kind, "function");
    assert_eq!(def(&ts, "Alias").kind, "type");
    assert_eq!(refs(&ts, "squareOf"), 1);
    assert!(refs(&ts, "Shape") >= 2, "{:?}", ts.refs);

    let tsx = tags_of(
        Lang::Tsx,
        "export function App() { return <Panel title=\"x\" />; }\nfunction Panel() { return null; }\n",
    );
    assert_eq!(def(&tsx, "App").kind, "function");
    assert_eq!(refs(&tsx, "Panel"), 1);

    let go = tags_of(
        Lang::Go,
        "package main\n\ntype Server struct{}\n\nfunc (s *Server) Start() error { return listen() }\n\nfunc listen() error { return nil }\n",
    );
    assert_eq!(def(&go, "Server").kind, "type");
    assert_eq!(def(&go, "Start").kind, "method");
    assert_eq!(refs(&go, "listen"), 1);
    assert!(refs(&go, "Server") >= 1);
}

#[test]
fn binary_and_broken_input() {
    let mut tagger = Tagger::default();
    assert_eq!(tag(&mut tagger, Lang::Rust, b"fn a() {}\0"), Tagged::Binary);
    // Invalid UTF-8 and syntax errors still give what can be found.
    let tags = tags_of(Lang::Rust, "fn good_one() {}\nfn (((\n");
    assert_eq!(def(&tags, "good_one").line, 0);
    let latin1 = b"// caf\xe9\nfn latin_name() {}\n";
    let Tagged::Tags(tags) = tag(&mut tagger, Lang::Rust, latin1) else {
        panic!("latin-1 source should be tagged");
    };
    assert_eq!(tags.defs[0].name, "latin_name");
    assert_eq!(tags.defs[0].line, 1);
}

#[test]
fn encoding_round_trips_and_rejects_damage() {
    let tags = tags_of(Lang::Rust, "impl Foo {\n    fn bar_baz(&self) { other(); }\n}\n");
    let tagged = Tagged::Tags(tags);
    let bytes = encode(&tagged);
    assert_eq!(decode(&bytes), Some(tagged.clone()));
    assert_eq!(decode(&encode(&Tagged::Binary)), Some(Tagged::Binary));
    assert_eq!(decode(&encode(&Tagged::Failed)), Some(Tagged::Failed));
    for cut in 0..bytes.len() {
        assert_eq!(decode(&bytes[..cut]), None, "cut at {cut}");
    }
    let mut other_version = bytes.clone();
    other_version[0] = FORMAT_VERSION.wrapping_add(1);
    assert_eq!(decode(&other_version), None);
    let huge_count = vec![FORMAT_VERSION, 0, 1, 0xff, 0xff, 0xff, 0xff, 0x0f];
    assert_eq!(decode(&huge_count), None);
}
