//! The languages the symbol map understands: their grammars, the tagging rules applied to them
//! (see [`super::rules`]), and the fingerprint that ties cached tags to exactly these grammars and
//! rules.

use std::path::Path;
use std::sync::OnceLock;

use sha2::{Digest, Sha256};

use super::rule_walk::RuleSet;
use super::rules::{self, Rule};

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

    /// The tagging rules, in the order they apply.
    pub(crate) fn rules(self) -> &'static [&'static [Rule]] {
        match self {
            Lang::Rust => &[rules::RUST],
            Lang::Python => &[rules::PYTHON],
            Lang::JavaScript => &[rules::JAVASCRIPT, rules::JSX],
            Lang::TypeScript => &[rules::JAVASCRIPT, rules::TYPESCRIPT],
            Lang::Tsx => &[rules::JAVASCRIPT, rules::TYPESCRIPT, rules::JSX],
            Lang::Go => &[rules::GO],
        }
    }

    /// The node kinds the tagging walk need not enter.
    pub(crate) fn opaque(self) -> &'static [&'static str] {
        match self {
            Lang::Rust => rules::RUST_OPAQUE,
            Lang::Python => &[],
            Lang::JavaScript | Lang::TypeScript | Lang::Tsx => rules::JAVASCRIPT_OPAQUE,
            Lang::Go => rules::GO_OPAQUE,
        }
    }
}

/// The syntax type of the tags that only open a scope (they are not definitions).
pub const SCOPE_KIND: &str = "scope";

/// The tagging rules of every language, each compiled on first use (a warm run that finds every
/// file in the cache needs none).
pub struct Taggers {
    rule_sets: Vec<OnceLock<Result<RuleSet, String>>>,
    /// Identifies the grammars, the rules and the tag format: cached tags are valid only for
    /// the fingerprint they were made with.
    pub fingerprint: u64,
}

impl Taggers {
    /// The compiled rules for `lang`, if they compile.
    pub fn rules(&self, lang: Lang) -> Option<&RuleSet> {
        self.rule_sets.get(lang.index())?.get_or_init(|| compile(lang)).as_ref().ok()
    }

    /// The languages whose rules failed to compile so far, with the reason (a bug: reported,
    /// never fatal).
    pub fn errors(&self) -> Vec<String> {
        self.rule_sets.iter().filter_map(|c| c.get().and_then(|r| r.as_ref().err().cloned())).collect()
    }
}

/// The process-wide taggers.
pub fn taggers() -> &'static Taggers {
    static TAGGERS: OnceLock<Taggers> = OnceLock::new();
    TAGGERS.get_or_init(|| Taggers {
        rule_sets: Lang::ALL.iter().map(|_| OnceLock::new()).collect(),
        fingerprint: fingerprint(),
    })
}

fn compile(lang: Lang) -> Result<RuleSet, String> {
    RuleSet::compile(&lang.language(), lang.rules(), lang.opaque())
        .map_err(|err| format!("{} tagging rules: {err}", lang.name()))
}

fn fingerprint() -> u64 {
    let mut hasher = Sha256::new();
    hasher.update([super::tags::FORMAT_VERSION]);
    for lang in Lang::ALL {
        let language = lang.language();
        hasher.update(lang.name().as_bytes());
        hasher.update(language.abi_version().to_le_bytes());
        hasher.update(language.node_kind_count().to_le_bytes());
        hasher.update(language.parse_state_count().to_le_bytes());
        if let Some(meta) = language.metadata() {
            hasher.update([meta.major_version, meta.minor_version, meta.patch_version]);
        }
        hasher.update(format!("{:?} {:?}", lang.rules(), lang.opaque()).as_bytes());
    }
    let digest = hasher.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(first)
}
