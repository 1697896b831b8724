//! The tagging rules checked against the tag queries they stand for: on a sample of each language
//! that exercises every rule, the walk must find exactly the definitions, scopes and references
//! that tree-sitter-tags finds with the grammar's `tags.scm` and the patterns we add to it.

use std::collections::BTreeMap;

use tree_sitter_tags::{TagsConfiguration, TagsContext};

use crate::context::lang::Lang;
use crate::context::tags::{Tagged, Tagger, tag};

const RUST_EXTRA: &str = r#"
(impl_item "impl" @name) @definition.scope
(function_signature_item name: (identifier) @name) @definition.method
(const_item name: (identifier) @name) @definition.constant
(static_item name: (identifier) @name) @definition.constant
(type_identifier) @name @reference.type
(call_expression function: (scoped_identifier name: (identifier) @name)) @reference.call
(call_expression function: (generic_function function: (identifier) @name)) @reference.call
(macro_invocation macro: (scoped_identifier name: (identifier) @name)) @reference.call
(use_list (identifier) @name @reference.use)
(use_declaration argument: (scoped_identifier name: (identifier) @name)) @reference.use
(use_as_clause path: (scoped_identifier name: (identifier) @name)) @reference.use
"#;

const PYTHON_EXTRA: &str = r#"
(class_definition superclasses: (argument_list (identifier) @name)) @reference.class
(class_definition superclasses: (argument_list (attribute attribute: (identifier) @name))) @reference.class
(type (identifier) @name) @reference.type
(import_from_statement name: (dotted_name (identifier) @name)) @reference.import
(import_from_statement name: (aliased_import name: (dotted_name (identifier) @name))) @reference.import
(decorator (identifier) @name) @reference.call
"#;

const JS_EXTRA: &str = r#"
(import_specifier name: (identifier) @name) @reference.import
"#;

const JSX_EXTRA: &str = r#"
(jsx_opening_element name: (identifier) @name) @reference.class
(jsx_self_closing_element name: (identifier) @name) @reference.class
"#;

const TS_EXTRA: &str = r#"
(type_alias_declaration name: (type_identifier) @name) @definition.type
(enum_declaration name: (identifier) @name) @definition.enum
(class_declaration name: (type_identifier) @name) @definition.class
(type_identifier) @name @reference.type
"#;

/// The tag queries each language's rules stand for (locals query, tags query).
fn queries(lang: Lang) -> (&'static str, String) {
    use tree_sitter_javascript as js;
    use tree_sitter_typescript as ts;
    let parts: Vec<&str> = match lang {
        Lang::Rust => vec![tree_sitter_rust::TAGS_QUERY, RUST_EXTRA],
        Lang::Python => vec![tree_sitter_python::TAGS_QUERY, PYTHON_EXTRA],
        Lang::JavaScript => vec![js::TAGS_QUERY, JS_EXTRA, JSX_EXTRA],
        Lang::TypeScript => vec![js::TAGS_QUERY, ts::TAGS_QUERY, JS_EXTRA, TS_EXTRA],
        Lang::Tsx => vec![js::TAGS_QUERY, ts::TAGS_QUERY, JS_EXTRA, TS_EXTRA, JSX_EXTRA],
        Lang::Go => vec![tree_sitter_go::TAGS_QUERY],
    };
    // The locals queries only drop references to local variables; the samples have none.
    ("", parts.concat())
}

/// Definitions as (line, name, kind, first line, last line), and reference counts by name.
type Found = (Vec<(u32, String, String, u32, u32)>, BTreeMap<String, u32>);

fn by_queries(lang: Lang, source: &str) -> Found {
    let (locals, query) = queries(lang);
    let config = TagsConfiguration::new(lang.language(), &query, locals).unwrap();
    let source = source.as_bytes();
    let mut context = TagsContext::new();
    let (tags, _) = context.generate_tags(&config, source, None).unwrap();
    let mut tags: Vec<_> = tags.map(Result::unwrap).collect();
    tags.sort_by_key(|t| (t.name_range.start, t.name_range.end, !t.is_definition));
    tags.dedup_by_key(|t| (t.name_range.start, t.name_range.end));
    let line_of = |byte: usize| source[..byte].iter().filter(|&&b| b == b'\n').count() as u32;
    let mut defs = Vec::new();
    let mut refs = BTreeMap::new();
    for t in tags {
        let name = String::from_utf8_lossy(&source[t.name_range.clone()]).into_owned();
        if t.is_definition {
            let line = t.span.start.row as u32;
            let kind = config.syntax_type_name(t.syntax_type_id).to_owned();
            let first = line_of(t.range.start).min(line);
            let last = line_of(t.range.end - 1).max(line);
            defs.push((line, name, kind, first, last));
        } else {
            *refs.entry(name).or_default() += 1;
        }
    }
    defs.sort();
    (defs, refs)
}

fn by_rules(lang: Lang, source: &str) -> Found {
    let Tagged::Tags(tags) = tag(&mut Tagger::default(), lang, source.as_bytes()) else {
        panic!("{lang:?} sample not tagged");
    };
    let mut defs: Vec<_> = tags.defs.into_iter().map(|d| (d.line, d.name, d.kind, d.start_line, d.end_line)).collect();
    defs.sort();
    (defs, tags.refs.into_iter().collect())
}

fn assert_same(lang: Lang, source: &str, expected_defs: usize) {
    let (query_defs, query_refs) = by_queries(lang, source);
    let (rule_defs, rule_refs) = by_rules(lang, source);
    assert_eq!(rule_defs, query_defs, "{lang:?} definitions");
    assert_eq!(rule_refs, query_refs, "{lang:?} references");
    // The sample must exercise the rules, not agree on nothing.
    assert_eq!(rule_defs.len(), expected_defs, "{lang:?}: {rule_defs:#?}");
    assert!(rule_refs.len() >= 4, "{lang:?}: {rule_refs:?}");
}

#[test]
fn rust_rules_find_what_the_queries_find() {
    let source = r#"use std::collections::{BTreeMap, HashMap};
use crate::store::Store;
use crate::codec::Encoder as Enc;

pub struct Config { pub path: String }
pub enum Mode { Fast, Slow }
pub union Bits { a: u32, b: f32 }
pub type Table = HashMap<String, Config>;
pub const LIMIT: usize = 10;
static COUNTER: u32 = 0;

pub trait Render {
    fn render(&self) -> String;
    fn name(&self) -> &str { "x" }
}

mod inner {
    pub fn helper_fn() -> u32 { 1 }
}

macro_rules! make_thing { () => {} }

impl Render for Config {
    fn render(&self) -> String {
        let table: Table = Table::new();
        inner::helper_fn();
        self.path.clone();
        parse::<u32>("1");
        make_thing!();
        // helper_fn(); a comment is not code
        let _ = "parse::<Config>()";
        assert_eq!(Table::new().len(), inner::helper_fn() as usize, "{}", r"x()");
        std::println!("{}", LIMIT);
        format!("{:?}", table.len())
    }
}

impl Config {
    pub fn open(path: &str) -> Config { Config { path: path.to_owned() } }
}

fn parse<T>(s: &str) -> T { todo!() }
"#;
    assert_same(Lang::Rust, source, 17);
}

#[test]
fn python_rules_find_what_the_queries_find() {
    let source = r#"from os.path import join, split as sp
from . import helpers
import typing

LIMIT = 10
DEFAULT_NAME: str = "x"

@dataclass
class Engine(BaseEngine, abc.ABC):
    count: int = 0

    def run(self, x: Config) -> Result:
        total = compute_total(1)  # compute_total()
        label = f"{compute_total(2)} and compute_total()"
        self.helper.apply(total)
        return join("a", "b")

def compute_total(x: int) -> int:
    return x

@functools.lru_cache
def cached():
    pass
"#;
    assert_same(Lang::Python, source, 6);
}

#[test]
fn javascript_rules_find_what_the_queries_find() {
    let source = r#"import { readFile, writeFile as wf } from "fs";
const fs = require("fs");

class Widget extends Base {
  constructor() { super(); }
  render() { return drawThing(this.props); }
}
const Other = class Named {};
function drawThing(props) { return new Canvas(props); }
function* gen() { yield 1; }
const lazy = function* lazyGen() {};
const arrow = () => compute();
var legacy = function () { return 1; };
module.exports.handler = () => null;
handlerTwo = function () {};
const obj = { method: () => 1, other: function () {}, plain: 2 };
export default answer = 42;
util.format("x", "drawThing()", /draw(Thing)/g, `${compute(1)}`); // drawThing()
const el = <Panel title="x" />;
const el2 = <Layout>{new ui.Frame()}</Layout>;
"#;
    assert_same(Lang::JavaScript, source, 13);
}

#[test]
fn typescript_rules_find_what_the_queries_find() {
    let source = r#"import { Thing } from "./thing";
interface Shape { area(): number; name: string }
abstract class Base { abstract size(): number; }
export class Square extends Base implements Shape {
  area(): number { return squareOf(2); }
  size(): number { return 1; }
}
declare function external(a: string): void;
function squareOf(n: number): number { return n * n; }
type Alias = Shape | Square;
enum Color { Red, Green }
module Geometry { export const origin = 0; }
let s: Shape = new Square();
const make = (x: number): Alias => new Square();
"#;
    assert_same(Lang::TypeScript, source, 13);
    let tsx = "export function App(): Element { return <Panel title=\"x\" />; }\nfunction Panel(p: Props) { return null; }\ninterface Props { title: string }\nclass Box extends React.Component {}\nconst used = new Box();\n";
    assert_same(Lang::Tsx, tsx, 4);
}

#[test]
fn go_rules_find_what_the_queries_find() {
    let source = r#"package main

import "fmt"

type Server struct{ name string }
type Handler interface{ Serve() error }
type ID int

func (s *Server) Start() error { return listen(s.name) }

func listen(addr string) error {
	fmt.Println(addr)
	(helper)()
	(fmt.Sprintf)("listen()", `helper()`) // listen()
	return nil
}

func helper() {}

var x Server
"#;
    assert_same(Lang::Go, source, 6);
}
