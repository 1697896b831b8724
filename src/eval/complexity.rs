//! Decision points counted from a tree-sitter parse, a cyclomatic-style measure that is cheap,
//! language-aware and immune to formatting and comments.
//!
//! Counted, per language:
//! - Rust: `if` (each `else if` too), each `match` arm, `while`, `loop`, `for`, `&&`/`||`
//!   (binary and in `let` chains; never the `||` of a closure), and `?` (an early return is a
//!   branch; tools like rust-code-analysis count it too).
//! - Python: `if`, `elif`, `for`, `while`, `except`, conditional expressions, `case` clauses,
//!   comprehension `for`/`if` clauses, `and`/`or`.
//! - JavaScript, TypeScript (and TSX): `if`, `for`, `for…in/of`, `while`, `do`, `case` (not
//!   `default`), `catch`, `?:`, `&&`/`||`.
//! - Go: `if`, `for`, `case` clauses of `switch`, type switches and `select`, `&&`/`||`.
//!
//! A file in another language has no measure and does not count.

use std::path::Path;

use tree_sitter::{Node, Parser};

use crate::context::Lang;

/// What counts as a decision point in each language.
trait Decisions {
    fn decisions(self) -> &'static [&'static str];
    fn counts_boolean_operator(self, token: &str, parent: &str) -> bool;
}

impl Decisions for Lang {
    /// Named nodes that are one decision point each.
    fn decisions(self) -> &'static [&'static str] {
        match self {
            Lang::Rust => &[
                "if_expression",
                "match_arm",
                "while_expression",
                "loop_expression",
                "for_expression",
                "try_expression",
            ],
            Lang::Python => &[
                "if_statement",
                "elif_clause",
                "for_statement",
                "while_statement",
                "except_clause",
                "conditional_expression",
                "case_clause",
                "for_in_clause",
                "if_clause",
            ],
            Lang::JavaScript | Lang::TypeScript | Lang::Tsx => &[
                "if_statement",
                "for_statement",
                "for_in_statement",
                "while_statement",
                "do_statement",
                "switch_case",
                "catch_clause",
                "ternary_expression",
            ],
            Lang::Go => &["if_statement", "for_statement", "expression_case", "type_case", "communication_case"],
        }
    }

    /// Whether an anonymous token is a boolean operator that adds a decision point.
    fn counts_boolean_operator(self, token: &str, parent: &str) -> bool {
        match self {
            Lang::Python => matches!(token, "and" | "or") && parent == "boolean_operator",
            _ => matches!(token, "&&" | "||") && matches!(parent, "binary_expression" | "let_chain"),
        }
    }
}

/// The decision points of `source`, the content of `path`; `None` for a language we do not parse.
pub fn complexity(path: &Path, source: &str) -> Option<u32> {
    let lang = Lang::of_path(path)?;
    let mut parser = Parser::new();
    parser.set_language(&lang.language()).ok()?;
    let tree = parser.parse(source, None)?;
    Some(count(lang, tree.root_node()))
}

fn count(lang: Lang, root: Node<'_>) -> u32 {
    let decisions = lang.decisions();
    let mut total = 0;
    let mut cursor = root.walk();
    loop {
        let node = cursor.node();
        if node.is_named() {
            if decisions.contains(&node.kind()) {
                total += 1;
            }
        } else if let Some(parent) = node.parent()
            && lang.counts_boolean_operator(node.kind(), parent.kind())
        {
            total += 1;
        }
        if cursor.goto_first_child() {
            continue;
        }
        loop {
            if cursor.goto_next_sibling() {
                break;
            }
            if !cursor.goto_parent() {
                return total;
            }
        }
    }
}

/// The change in decision points from the files `before` to the files `after` (`(path, source)`
/// pairs; a file added or removed counts whole, files in other languages not at all).
pub fn complexity_delta<P: AsRef<Path>, S: AsRef<str>>(before: &[(P, S)], after: &[(P, S)]) -> i64 {
    let sum = |files: &[(P, S)]| -> i64 {
        files.iter().filter_map(|(path, source)| complexity(path.as_ref(), source.as_ref())).map(i64::from).sum()
    };
    sum(after) - sum(before)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(path: &str, source: &str) -> u32 {
        complexity(Path::new(path), source).unwrap()
    }

    #[test]
    fn rust() {
        let source = r#"
fn f(x: Option<u32>, y: bool) -> Result<u32, E> {
    let c = || y;                       // a closure's `||` is not a decision
    if x.is_some() && y || !y {         // if, &&, ||
        return Ok(1);
    } else if let Some(v) = x && v > 2 { // else-if, let chain &&
        return Ok(v);
    }
    match x {                           // three arms
        Some(1) => {}
        Some(_) => {}
        None => {}
    }
    for _ in 0..3 {}                    // for
    while y {}                          // while
    loop { break; }                     // loop
    let v = g()?;                       // ?
    Ok(v)
}
"#;
        assert_eq!(of("a.rs", source), 12);
        assert_eq!(of("a.rs", "fn f() -> u32 { 1 + 2 }"), 0);
    }

    #[test]
    fn python() {
        let source = r#"
def f(x, y):
    if x and y or not x:          # if, and, or
        pass
    elif x:                       # elif
        pass
    else:
        pass
    for i in range(3):            # for
        while i:                  # while
            i -= 1
    try:
        pass
    except ValueError:            # except
        pass
    z = 1 if x else 2             # conditional
    w = [a for a in x if a]       # for clause, if clause
    match x:
        case 1:                   # case
            pass
        case _:                   # case
            pass
"#;
        assert_eq!(of("m.py", source), 12);
    }

    #[test]
    fn javascript_and_typescript() {
        let js = r#"
function f(x, y) {
  if (x && y) { } else if (x || y) { }   // if, &&, else-if, ||
  for (let i = 0; i < 3; i++) {}          // for
  for (const k in x) {}                   // for-in
  for (const k of x) {}                   // for-of
  while (x) {} do {} while (y);           // while, do
  switch (x) { case 1: break; case 2: break; default: break; } // 2 cases
  try {} catch (e) {}                     // catch
  const z = x ? 1 : 2;                    // ternary
}
"#;
        assert_eq!(of("a.js", js), 13);
        let ts = "function f(x: number | null): number { return x !== null && x > 0 ? x : 0; }";
        assert_eq!(of("a.ts", ts), 2);
        assert_eq!(of("a.tsx", "const A = (p: {x?: boolean}) => p.x ? <b/> : <i/>;"), 1);
    }

    #[test]
    fn go() {
        let source = r#"
package main

func f(x int, v interface{}, c chan int) {
	if x > 0 && x < 9 || x == 20 { // if, &&, ||
	} else if x < 0 {              // else-if
	}
	for i := 0; i < x; i++ {}      // for
	switch x {
	case 1:                        // case
	case 2, 3:                     // case
	default:
	}
	switch v.(type) {
	case int:                      // type case
	}
	select {
	case <-c:                      // communication case
	}
}
"#;
        assert_eq!(of("main.go", source), 9);
    }

    #[test]
    fn unknown_languages_do_not_count_and_deltas_add_up() {
        assert_eq!(complexity(Path::new("README.md"), "if"), None);
        let before = [("a.rs", "fn f(x: bool) { if x {} }"), ("notes.md", "if if if")];
        let after = [("a.rs", "fn f(x: bool) { if x {} else if !x {} }"), ("b.py", "while True:\n    pass\n")];
        assert_eq!(complexity_delta(&before, &after), 2);
        assert_eq!(complexity_delta(&after, &before), -2);
        let none: [(&str, &str); 0] = [];
        assert_eq!(complexity_delta(&none, &none), 0);
    }
}
