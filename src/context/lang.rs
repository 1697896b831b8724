//! The languages the symbol map understands: their grammars, the tag queries run on them, and the
//! fingerprint that ties cached tags to exactly these grammars and queries.
//!
//! Each grammar ships a `tags.scm`; we run it with a few extra patterns of our own that add the
//! references the stock queries miss (type names, paths, imports) and the scopes that have no
//! definition of their own (a Rust `impl` block), so a method can be shown under its `impl` line.

use std::path::Path;
use std::sync::OnceLock;

use sha2::{Digest, Sha256};
use tree_sitter_tags::TagsConfiguration;

/// A language we can tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lang {
    /// Rust (`.rs`).
    Rust,
    /// Python (`.py`, `.pyi`).
    Python,
    /// JavaScript, JSX included (`.js`, `.jsx`, `.mjs`, `.cjs`).
    JavaScript,
    /// TypeScript (`.ts`, `.mts`, `.cts`).
    TypeScript,
    /// TypeScript with JSX (`.tsx`).
    Tsx,
    /// Go (`.go`).
    Go,
}

impl Lang {
    /// Every language.
    pub const ALL: [Lang; 6] = [Lang::Rust, Lang::Python, Lang::JavaScript, Lang::TypeScript, Lang::Tsx, Lang::Go];

    /// The language of a file, from its extension.
    pub fn of_path(path: &Path) -> Option<Lang> {
        let ext = path.extension()?.to_str()?;
        Some(match ext {
            "rs" => Lang::Rust,
            "py" | "pyi" => Lang::Python,
            "js" | "jsx" | "mjs" | "cjs" => Lang::JavaScript,
            "ts" | "mts" | "cts" => Lang::TypeScript,
            "tsx" => Lang::Tsx,
            "go" => Lang::Go,
            _ => return None,
        })
    }

    /// A display name.
    pub fn name(self) -> &'static str {
        match self {
            Lang::Rust => "Rust",
            Lang::Python => "Python",
            Lang::JavaScript => "JavaScript",
            Lang::TypeScript | Lang::Tsx => "TypeScript",
            Lang::Go => "Go",
        }
    }

    fn index(self) -> usize {
        match self {
            Lang::Rust => 0,
            Lang::Python => 1,
            Lang::JavaScript => 2,
            Lang::TypeScript => 3,
            Lang::Tsx => 4,
            Lang::Go => 5,
        }
    }

    /// The tree-sitter grammar.
    pub(crate) fn language(self) -> tree_sitter::Language {
        match self {
            Lang::Rust => tree_sitter_rust::LANGUAGE.into(),
            Lang::Python => tree_sitter_python::LANGUAGE.into(),
            Lang::JavaScript => tree_sitter_javascript::LANGUAGE.into(),
            Lang::TypeScript => tree_sitter_typescript::LANGUAGE_TYPESCRIPT.into(),
            Lang::Tsx => tree_sitter_typescript::LANGUAGE_TSX.into(),
            Lang::Go => tree_sitter_go::LANGUAGE.into(),
        }
    }

    /// The locals query (used to drop references to local variables) and the tags query.
    fn queries(self) -> (&'static str, Vec<&'static str>) {
        use tree_sitter_javascript as js;
        use tree_sitter_typescript as ts;
        match self {
            Lang::Rust => ("", vec![tree_sitter_rust::TAGS_QUERY, RUST_EXTRA]),
            Lang::Python => ("", vec![tree_sitter_python::TAGS_QUERY, PYTHON_EXTRA]),
            Lang::JavaScript => (js::LOCALS_QUERY, vec![js::TAGS_QUERY, JS_EXTRA, JSX_EXTRA]),
            Lang::TypeScript => (ts::LOCALS_QUERY, vec![js::TAGS_QUERY, ts::TAGS_QUERY, JS_EXTRA, TS_EXTRA]),
            Lang::Tsx => (ts::LOCALS_QUERY, vec![js::TAGS_QUERY, ts::TAGS_QUERY, JS_EXTRA, TS_EXTRA, JSX_EXTRA]),
            Lang::Go => ("", vec![tree_sitter_go::TAGS_QUERY]),
        }
    }
}

/// The syntax type of the tags that only open a scope (they are not definitions).
pub const SCOPE_KIND: &str = "scope";

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

/// The tag configurations of every language, each compiled on first use (compiling a query
/// takes milliseconds, and a warm run that finds every file in the cache needs none).
pub struct Taggers {
    configs: Vec<OnceLock<Result<TagsConfiguration, String>>>,
    /// Identifies the grammars, the queries and the tag format: cached tags are valid only for
    /// the fingerprint they were made with.
    pub fingerprint: u64,
}

impl Taggers {
    /// The configuration for `lang`, if its query compiles.
    pub fn config(&self, lang: Lang) -> Option<&TagsConfiguration> {
        self.configs.get(lang.index())?.get_or_init(|| compile(lang)).as_ref().ok()
    }

    /// The languages whose query failed to compile so far, with the reason (a bug: reported,
    /// never fatal).
    pub fn errors(&self) -> Vec<String> {
        self.configs.iter().filter_map(|c| c.get().and_then(|r| r.as_ref().err().cloned())).collect()
    }
}

/// The process-wide taggers.
pub fn taggers() -> &'static Taggers {
    static TAGGERS: OnceLock<Taggers> = OnceLock::new();
    TAGGERS.get_or_init(|| Taggers {
        configs: Lang::ALL.iter().map(|_| OnceLock::new()).collect(),
        fingerprint: fingerprint(),
    })
}

fn compile(lang: Lang) -> Result<TagsConfiguration, String> {
    let (locals, parts) = lang.queries();
    TagsConfiguration::new(lang.language(), &parts.concat(), locals)
        .map_err(|err| format!("{} tag query: {err}", lang.name()))
}

fn fingerprint() -> u64 {
    let mut hasher = Sha256::new();
    hasher.update([super::tags::FORMAT_VERSION]);
    for lang in Lang::ALL {
        let language = lang.language();
        let (locals, parts) = lang.queries();
        hasher.update(lang.name().as_bytes());
        hasher.update(language.abi_version().to_le_bytes());
        hasher.update(language.node_kind_count().to_le_bytes());
        hasher.update(language.parse_state_count().to_le_bytes());
        if let Some(meta) = language.metadata() {
            hasher.update([meta.major_version, meta.minor_version, meta.patch_version]);
        }
        hasher.update(locals.as_bytes());
        for part in parts {
            hasher.update(part.as_bytes());
        }
    }
    let digest = hasher.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(first)
}
