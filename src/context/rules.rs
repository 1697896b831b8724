//! What the symbol map takes from each language's syntax tree: which nodes define a name, which
//! refer to one, and where in the node the name is.
//!
//! The rules are the tree-sitter tag queries each grammar ships (`queries/tags.scm`) and the
//! patterns we add to them (references to types, paths and imports, and the scopes that have no
//! definition of their own, such as a Rust `impl` block), written as data for one walk over the
//! tree. On crate sources, running the queries through tree-sitter-tags added 63% to the
//! instructions spent parsing; a walk that looks up each node's kind in a table adds 15%. `rules_tests.rs` checks the rules against the queries they stand for. One
//! difference is deliberate: the JavaScript locals query, which drops calls of local variables,
//! is not applied, so such a call counts as a reference to any definition of that name.
//!
//! The walk does not go into the subtrees a language lists as *opaque*: those no rule can match
//! in: comments, plain strings, and the token trees of Rust macros (skipping them takes a third
//! off the walk).
//!
//! A name is found by a *path* from the rule's node, steps separated by spaces:
//! - `field:kind` — a child in that field, of that kind (`_`: any kind);
//! - `:kind` — any child of that kind; `:"impl"` — an anonymous child (a keyword);
//! - the empty path — the node itself.
//!
//! Every child a step accepts is followed, so one rule can name several references; a definition
//! takes the first name found.

/// What a rule's names are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Definitions of this syntax type (`function`, `class`, …).
    Definition(&'static str),
    /// A scope without a definition of its own, shown above the definitions inside it.
    Scope,
    /// References.
    Reference,
}

/// One tagging rule.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    /// The kind of node the rule applies to.
    pub node: &'static str,
    /// What the names are.
    pub role: Role,
    /// Where the names are, tried in order (see the module documentation).
    pub names: &'static [&'static str],
    /// The kinds the node's parent, grandparent, … must have, nearest first.
    pub ancestors: &'static [&'static str],
    /// A field of the node that must hold a child of one of these kinds.
    pub when: Option<(&'static str, &'static [&'static str])>,
    /// Names this rule never tags.
    pub except: &'static [&'static str],
}

const fn rule(node: &'static str, role: Role, names: &'static [&'static str]) -> Rule {
    Rule { node, role, names, ancestors: &[], when: None, except: &[] }
}

/// A definition of `kind` named at the first of `names` that resolves.
const fn def(node: &'static str, kind: &'static str, names: &'static [&'static str]) -> Rule {
    rule(node, Role::Definition(kind), names)
}

/// References named at every path of `names`.
const fn reference(node: &'static str, names: &'static [&'static str]) -> Rule {
    rule(node, Role::Reference, names)
}

impl Rule {
    /// Only under these ancestors, nearest first.
    const fn under(self, ancestors: &'static [&'static str]) -> Rule {
        Rule { ancestors, ..self }
    }

    /// Only when `field` holds one of `kinds`.
    const fn when(self, field: &'static str, kinds: &'static [&'static str]) -> Rule {
        Rule { when: Some((field, kinds)), ..self }
    }

    /// Never for these names.
    const fn except(self, names: &'static [&'static str]) -> Rule {
        Rule { except: names, ..self }
    }
}

/// The node itself.
const SELF: &[&str] = &[""];

/// Rust: the grammar's tags.scm, plus constants, statics, trait method signatures, `impl`
/// scopes, and references to types, paths and `use`d names.
pub const RUST: &[Rule] = &[
    def("struct_item", "class", &["name:type_identifier"]),
    def("enum_item", "class", &["name:type_identifier"]),
    def("union_item", "class", &["name:type_identifier"]),
    def("type_item", "class", &["name:type_identifier"]),
    def("function_item", "method", &["name:identifier"]).under(&["declaration_list"]),
    def("function_item", "function", &["name:identifier"]),
    def("trait_item", "interface", &["name:type_identifier"]),
    def("mod_item", "module", &["name:identifier"]),
    def("macro_definition", "macro", &["name:identifier"]),
    def("function_signature_item", "method", &["name:identifier"]),
    def("const_item", "constant", &["name:identifier"]),
    def("static_item", "constant", &["name:identifier"]),
    rule("impl_item", Role::Scope, &[":\"impl\""]),
    reference(
        "call_expression",
        &[
            "function:identifier",
            "function:field_expression field:field_identifier",
            "function:scoped_identifier name:identifier",
            "function:generic_function function:identifier",
        ],
    ),
    reference("macro_invocation", &["macro:identifier", "macro:scoped_identifier name:identifier"]),
    reference("type_identifier", SELF),
    reference("identifier", SELF).under(&["use_list"]),
    reference("use_declaration", &["argument:scoped_identifier name:identifier"]),
    reference("use_as_clause", &["path:scoped_identifier name:identifier"]),
];

/// Node kinds of Rust with no taggable node inside: macro arguments and bodies are bare tokens.
pub const RUST_OPAQUE: &[&str] =
    &["token_tree", "token_tree_pattern", "line_comment", "block_comment", "string_literal", "raw_string_literal"];

/// Python: the grammar's tags.scm, plus base classes, type annotations, imported names and
/// decorators.
pub const PYTHON: &[Rule] = &[
    def("assignment", "constant", &["left:identifier"]).under(&["expression_statement", "module"]),
    def("class_definition", "class", &["name:identifier"]),
    def("function_definition", "function", &["name:identifier"]),
    reference("call", &["function:identifier", "function:attribute attribute:identifier"]),
    reference(
        "class_definition",
        &["superclasses:argument_list :identifier", "superclasses:argument_list :attribute attribute:identifier"],
    ),
    reference("type", &[":identifier"]),
    reference(
        "import_from_statement",
        &["name:dotted_name :identifier", "name:aliased_import name:dotted_name :identifier"],
    ),
    reference("decorator", &[":identifier"]),
];

const FUNCTION_VALUES: &[&str] = &["arrow_function", "function_expression"];

/// JavaScript, and the part of TypeScript that is JavaScript: the grammar's tags.scm, plus
/// imported names.
pub const JAVASCRIPT: &[Rule] = &[
    def("method_definition", "method", &["name:property_identifier"]).except(&["constructor"]),
    def("class", "class", &["name:_"]),
    def("class_declaration", "class", &["name:_"]),
    def("function_expression", "function", &["name:identifier"]),
    def("function_declaration", "function", &["name:identifier"]),
    def("generator_function", "function", &["name:identifier"]),
    def("generator_function_declaration", "function", &["name:identifier"]),
    def("variable_declarator", "function", &["name:identifier"])
        .under(&["lexical_declaration"])
        .when("value", FUNCTION_VALUES),
    def("variable_declarator", "function", &["name:identifier"])
        .under(&["variable_declaration"])
        .when("value", FUNCTION_VALUES),
    def(
        "assignment_expression",
        "function",
        &["left:identifier", "left:member_expression property:property_identifier"],
    )
    .when("right", FUNCTION_VALUES),
    def("pair", "function", &["key:property_identifier"]).when("value", FUNCTION_VALUES),
    def("assignment_expression", "constant", &["left:identifier"]).under(&["export_statement"]).when(
        "right",
        &[
            "number",
            "string",
            "identifier",
            "undefined",
            "null",
            "new_expression",
            "binary_expression",
            "call_expression",
        ],
    ),
    reference("call_expression", &["function:identifier"]).except(&["require"]),
    reference("call_expression", &["function:member_expression property:property_identifier"]),
    reference("new_expression", &["constructor:_"]),
    reference("import_specifier", &["name:identifier"]),
];

/// Node kinds of JavaScript and TypeScript with no taggable node inside (a template string can
/// hold calls, so it is not one of them).
pub const JAVASCRIPT_OPAQUE: &[&str] = &["string", "regex"];

/// JSX elements, in JavaScript and TSX.
pub const JSX: &[Rule] = &[
    reference("jsx_opening_element", &["name:identifier"]),
    reference("jsx_self_closing_element", &["name:identifier"]),
];

/// TypeScript beyond JavaScript: the grammar's tags.scm, plus type aliases, enums, classes named
/// by a type identifier, and every type reference.
pub const TYPESCRIPT: &[Rule] = &[
    def("function_signature", "function", &["name:identifier"]),
    def("method_signature", "method", &["name:property_identifier"]),
    def("abstract_method_signature", "method", &["name:property_identifier"]),
    def("abstract_class_declaration", "class", &["name:type_identifier"]),
    def("module", "module", &["name:identifier"]),
    def("interface_declaration", "interface", &["name:type_identifier"]),
    def("type_alias_declaration", "type", &["name:type_identifier"]),
    def("enum_declaration", "enum", &["name:identifier"]),
    reference("type_identifier", SELF),
];

/// Go: the grammar's tags.scm.
pub const GO: &[Rule] = &[
    def("function_declaration", "function", &["name:identifier"]),
    def("method_declaration", "method", &["name:field_identifier"]),
    def("type_spec", "type", &["name:type_identifier"]),
    reference(
        "call_expression",
        &[
            "function:identifier",
            "function:parenthesized_expression :identifier",
            "function:selector_expression field:field_identifier",
            "function:parenthesized_expression :selector_expression field:field_identifier",
        ],
    ),
    reference("type_identifier", SELF),
];

/// Node kinds of Go with no taggable node inside.
pub const GO_OPAQUE: &[&str] = &["interpreted_string_literal", "raw_string_literal"];

#[cfg(test)]
#[path = "rules_tests.rs"]
mod tests;
