//! A language's tagging rules compiled against its grammar (kind and field names resolved to
//! ids, rules indexed by node kind), and the single walk over a syntax tree that applies them.

use std::num::NonZeroU16;
use std::ops::Range;

use tree_sitter::{Language, Node, Tree, TreeCursor};

use super::rules::{Role, Rule};

/// One tag found in a tree.
#[derive(Debug, Clone)]
pub struct RawTag {
    /// What the name is.
    pub role: Role,
    /// The bytes of the name.
    pub name: Range<usize>,
    /// The 0-based line of the name.
    pub line: usize,
    /// The 0-based first and last line of the node the rule matched.
    pub lines: (usize, usize),
}

impl RawTag {
    /// Whether this tag defines (or scopes) its name rather than refers to it.
    pub fn is_definition(&self) -> bool {
        self.role != Role::Reference
    }
}

/// Node kind ids; a rule names a handful at most.
type Kinds = Vec<u16>;

/// One step of a name path.
#[derive(Debug, Clone)]
struct Step {
    /// The field the child must be in, if any.
    field: Option<NonZeroU16>,
    /// The kinds the child may have (`None`: any).
    kinds: Option<Kinds>,
}

#[derive(Debug, Clone)]
struct CompiledRule {
    role: Role,
    paths: Vec<Vec<Step>>,
    ancestors: Vec<Kinds>,
    when: Option<(NonZeroU16, Kinds)>,
    except: &'static [&'static str],
}

/// The rules of one language, ready to walk trees of its grammar.
#[derive(Debug)]
pub struct RuleSet {
    /// The rules that apply to each node kind, by kind id.
    by_kind: Vec<Vec<CompiledRule>>,
    /// Whether the walk skips the inside of each node kind, by kind id.
    opaque: Vec<bool>,
    /// The longest name path, in steps.
    depth: usize,
}

impl RuleSet {
    /// Compiles `rules` for `language`, to walk around the inside of `opaque` kinds; an error
    /// names a kind or field the grammar lacks.
    pub fn compile(language: &Language, rules: &[&[Rule]], opaque: &[&str]) -> Result<RuleSet, String> {
        let count = language.node_kind_count();
        let mut by_kind: Vec<Vec<CompiledRule>> = (0..count).map(|_| Vec::new()).collect();
        let mut opaque_kinds = vec![false; count];
        for id in kind_set(language, opaque)? {
            if let Some(opaque) = opaque_kinds.get_mut(usize::from(id)) {
                *opaque = true;
            }
        }
        let mut depth = 0;
        for rule in rules.iter().copied().flatten() {
            let paths = rule.names.iter().map(|path| compile_path(language, path)).collect::<Result<Vec<_>, _>>()?;
            depth = paths.iter().map(Vec::len).fold(depth, usize::max);
            let ancestors =
                rule.ancestors.iter().map(|kind| kind_ids(language, kind, true)).collect::<Result<_, _>>()?;
            let when = match rule.when {
                Some((field, kinds)) => Some((field_id(language, field)?, kind_set(language, kinds)?)),
                None => None,
            };
            let compiled = CompiledRule { role: rule.role, paths, ancestors, when, except: rule.except };
            for id in kind_ids(language, rule.node, true)? {
                if let Some(rules) = by_kind.get_mut(usize::from(id)) {
                    rules.push(compiled.clone());
                }
            }
        }
        Ok(RuleSet { by_kind, opaque: opaque_kinds, depth })
    }

    /// Every tag in `tree`, in the order the walk meets them (for one node: rule order).
    pub fn tags(&self, tree: &Tree, source: &[u8]) -> Vec<RawTag> {
        let mut out = Vec::new();
        let mut cursors: Vec<TreeCursor> = (0..self.depth).map(|_| tree.walk()).collect();
        let mut found = Vec::new();
        let mut ancestors: Vec<u16> = Vec::new();
        let mut cursor = tree.walk();
        loop {
            let node = cursor.node();
            let kind = usize::from(node.kind_id());
            if let Some(rules) = self.by_kind.get(kind) {
                for rule in rules {
                    rule.apply(node, &ancestors, source, &mut cursors, &mut found, &mut out);
                }
            }
            if !self.opaque.get(kind).copied().unwrap_or(false) && cursor.goto_first_child() {
                ancestors.push(node.kind_id());
                continue;
            }
            while !cursor.goto_next_sibling() {
                if !cursor.goto_parent() {
                    return out;
                }
                ancestors.pop();
            }
        }
    }
}

impl CompiledRule {
    fn apply<'tree>(
        &self,
        node: Node<'tree>,
        ancestors: &[u16],
        source: &[u8],
        cursors: &mut [TreeCursor<'tree>],
        found: &mut Vec<Node<'tree>>,
        out: &mut Vec<RawTag>,
    ) {
        let mut up = ancestors.iter().rev();
        if !self.ancestors.iter().all(|kinds| up.next().is_some_and(|kind| kinds.contains(kind))) {
            return;
        }
        if let Some((field, kinds)) = &self.when
            && !node.child_by_field_id(field.get()).is_some_and(|child| kinds.contains(&child.kind_id()))
        {
            return;
        }
        found.clear();
        let defines = self.role != Role::Reference;
        for path in &self.paths {
            resolve(node, path, cursors, found);
            if defines && !found.is_empty() {
                break;
            }
        }
        let lines = node_lines(node);
        let names = found.iter().filter(|name| {
            let text = source.get(name.byte_range()).unwrap_or_default();
            !self.except.iter().any(|except| except.as_bytes() == text)
        });
        for name in names.take(if defines { 1 } else { usize::MAX }) {
            out.push(RawTag { role: self.role, name: name.byte_range(), line: name.start_position().row, lines });
        }
    }
}

/// Collects the nodes at the end of `path` from `node`, using one cursor per step.
fn resolve<'tree>(node: Node<'tree>, path: &[Step], cursors: &mut [TreeCursor<'tree>], found: &mut Vec<Node<'tree>>) {
    let (Some((step, rest)), Some((cursor, deeper))) = (path.split_first(), cursors.split_first_mut()) else {
        found.push(node);
        return;
    };
    cursor.reset(node);
    if !cursor.goto_first_child() {
        return;
    }
    loop {
        let child = cursor.node();
        let in_field = step.field.is_none_or(|field| cursor.field_id() == Some(field));
        if in_field && step.kinds.as_ref().is_none_or(|kinds| kinds.contains(&child.kind_id())) {
            resolve(child, rest, deeper, found);
        }
        if !cursor.goto_next_sibling() {
            return;
        }
    }
}

/// The first and last line of `node`, not counting a trailing newline.
fn node_lines(node: Node) -> (usize, usize) {
    let start = node.start_position().row;
    let end = node.end_position();
    let last = if end.column == 0 && end.row > start { end.row - 1 } else { end.row };
    (start, last)
}

fn compile_path(language: &Language, path: &str) -> Result<Vec<Step>, String> {
    path.split_whitespace()
        .map(|step| {
            let (field, kind) = step.split_once(':').ok_or_else(|| format!("step `{step}` has no `:`"))?;
            let field = if field.is_empty() { None } else { Some(field_id(language, field)?) };
            let kinds = match kind {
                "_" => None,
                quoted if quoted.len() > 1 && quoted.starts_with('"') && quoted.ends_with('"') => {
                    Some(kind_ids(language, &quoted[1..quoted.len() - 1], false)?)
                }
                named => Some(kind_ids(language, named, true)?),
            };
            Ok(Step { field, kinds })
        })
        .collect()
}

/// The ids a node of kind `name` can have (a grammar can give one name several symbols).
fn kind_ids(language: &Language, name: &str, named: bool) -> Result<Kinds, String> {
    let ids: Kinds = (0..language.node_kind_count())
        .filter_map(|id| u16::try_from(id).ok())
        .filter(|&id| {
            language.node_kind_for_id(id) == Some(name)
                && language.node_kind_is_named(id) == named
                && language.node_kind_is_visible(id)
        })
        .collect();
    if ids.is_empty() {
        let what = if named { "node kind" } else { "token" };
        return Err(format!("no {what} `{name}`"));
    }
    Ok(ids)
}

/// The ids of every named kind in `names`.
fn kind_set(language: &Language, names: &[&str]) -> Result<Kinds, String> {
    Ok(names.iter().map(|name| kind_ids(language, name, true)).collect::<Result<Vec<_>, _>>()?.concat())
}

fn field_id(language: &Language, name: &str) -> Result<NonZeroU16, String> {
    language.field_id_for_name(name).ok_or_else(|| format!("no field `{name}`"))
}
