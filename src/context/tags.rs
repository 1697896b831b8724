//! Tags of one source file (its definitions, scopes and referenced names) and their compact,
//! versioned byte encoding for the tag cache.

use std::collections::BTreeMap;

use tree_sitter::{Parser, Tree};

use super::lang::{Lang, SCOPE_KIND, taggers};
use super::rules::Role;

/// Bumped whenever the encoding or the meaning of tags changes; part of the cache fingerprint,
/// and the first byte of every cached value.
pub const FORMAT_VERSION: u8 = 2;

/// The longest source line kept for display, in bytes.
const MAX_TEXT: usize = 200;

/// A definition (or a scope such as a Rust `impl` block) in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Def {
    /// The defined name.
    pub name: String,
    /// The tag's syntax type: `function`, `method`, `class`, … or [`SCOPE_KIND`].
    pub kind: String,
    /// The 0-based line of the name.
    pub line: u32,
    /// The 0-based first line of the whole definition.
    pub start_line: u32,
    /// The 0-based last line of the whole definition.
    pub end_line: u32,
    /// The source line holding the name, right-trimmed and cut to a display width.
    pub text: String,
}

impl Def {
    /// Whether this is a definition, rather than a scope only.
    pub fn is_definition(&self) -> bool {
        self.kind != SCOPE_KIND
    }
}

/// What tagging a file produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tagged {
    /// Tags, possibly from a file with syntax errors.
    Tags(FileTags),
    /// The file holds a NUL byte: it is binary, not source.
    Binary,
    /// The parser gave up or the language's query is unavailable.
    Failed,
}

/// The tags of one file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileTags {
    /// Definitions and scopes, in source order.
    pub defs: Vec<Def>,
    /// Referenced names with their number of occurrences, sorted by name.
    pub refs: Vec<(String, u32)>,
    /// The number of lines in the file.
    pub lines: u32,
}

/// A thread's tagging state: a parser, reused across files.
pub struct Tagger {
    parser: Parser,
    lang: Option<Lang>,
}

impl Default for Tagger {
    fn default() -> Tagger {
        Tagger { parser: Parser::new(), lang: None }
    }
}

impl Tagger {
    fn parse(&mut self, lang: Lang, source: &[u8]) -> Option<Tree> {
        if self.lang != Some(lang) {
            self.parser.set_language(&lang.language()).ok()?;
            self.lang = Some(lang);
        }
        self.parser.parse(source, None)
    }
}

/// Tags `source` as `lang`.
pub fn tag(tagger: &mut Tagger, lang: Lang, source: &[u8]) -> Tagged {
    if memchr::memchr(0, source).is_some() {
        return Tagged::Binary;
    }
    let (Some(rules), Some(tree)) = (taggers().rules(lang), tagger.parse(lang, source)) else {
        return Tagged::Failed;
    };
    let mut raw = rules.tags(&tree, source);
    drop(tree);
    // The same name can be tagged by several rules: a definition wins over a reference, and the
    // first definition rule over later ones.
    raw.sort_by_key(|t| (t.name.start, t.name.end, !t.is_definition()));
    raw.dedup_by_key(|t| (t.name.start, t.name.end));

    let line_starts = line_starts(source);
    let mut defs = Vec::new();
    let mut refs: BTreeMap<String, u32> = BTreeMap::new();
    for tag in raw {
        let Some(name) = source.get(tag.name.clone()) else {
            continue;
        };
        let name = String::from_utf8_lossy(name);
        let kind = match tag.role {
            Role::Definition(kind) => kind,
            Role::Scope => SCOPE_KIND,
            Role::Reference => {
                if let Some(count) = refs.get_mut(name.as_ref()) {
                    *count += 1;
                } else {
                    refs.insert(name.into_owned(), 1);
                }
                continue;
            }
        };
        let (first, last) = tag.lines;
        defs.push(Def {
            name: name.into_owned(),
            kind: kind.to_owned(),
            line: clamp(tag.line),
            start_line: clamp(first.min(tag.line)),
            end_line: clamp(last.max(tag.line)),
            text: line_text(source, &line_starts, tag.line),
        });
    }
    defs.sort_by_key(|d| (d.line, d.start_line));
    Tagged::Tags(FileTags { defs, refs: refs.into_iter().collect(), lines: clamp(line_starts.len()) })
}

fn clamp(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn line_starts(source: &[u8]) -> Vec<usize> {
    let mut starts = vec![0];
    starts.extend(memchr::memchr_iter(b'\n', source).map(|i| i + 1));
    if starts.len() > 1 && starts.last() == Some(&source.len()) {
        starts.pop();
    }
    starts
}

fn line_text(source: &[u8], starts: &[usize], line: usize) -> String {
    let start = starts.get(line).copied().unwrap_or(source.len());
    let end = starts.get(line + 1).copied().unwrap_or(source.len());
    let raw = source.get(start..end).unwrap_or_default();
    let text = String::from_utf8_lossy(raw);
    let text = text.trim_end();
    if text.len() <= MAX_TEXT {
        return text.to_owned();
    }
    let mut cut = MAX_TEXT;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}…", &text[..cut])
}

/// Encodes `tagged` for the tag cache (which keys it by the content it was computed from).
pub fn encode(tagged: &Tagged) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    out.push(FORMAT_VERSION);
    match tagged {
        Tagged::Binary => out.push(1),
        Tagged::Failed => out.push(2),
        Tagged::Tags(tags) => {
            out.push(0);
            varint(&mut out, u64::from(tags.lines));
            varint(&mut out, tags.defs.len() as u64);
            for def in &tags.defs {
                string(&mut out, &def.name);
                string(&mut out, &def.kind);
                varint(&mut out, u64::from(def.line));
                varint(&mut out, u64::from(def.line - def.start_line.min(def.line)));
                varint(&mut out, u64::from(def.end_line.saturating_sub(def.line)));
                string(&mut out, &def.text);
            }
            varint(&mut out, tags.refs.len() as u64);
            for (name, count) in &tags.refs {
                string(&mut out, name);
                varint(&mut out, u64::from(*count));
            }
        }
    }
    out
}

/// Decodes a cached value; `None` when it is damaged or in another format.
pub fn decode(bytes: &[u8]) -> Option<Tagged> {
    if bytes.first() != Some(&FORMAT_VERSION) {
        return None;
    }
    let mut r = Reader { bytes, at: 1 };
    match r.byte()? {
        1 => return Some(Tagged::Binary),
        2 => return Some(Tagged::Failed),
        0 => {}
        _ => return None,
    }
    let lines = r.u32()?;
    let ndefs = r.len()?;
    let mut defs = Vec::with_capacity(ndefs);
    for _ in 0..ndefs {
        let name = r.string()?;
        let kind = r.string()?;
        let line = r.u32()?;
        let before = r.u32()?;
        let after = r.u32()?;
        let text = r.string()?;
        defs.push(Def {
            name,
            kind,
            line,
            start_line: line.checked_sub(before)?,
            end_line: line.checked_add(after)?,
            text,
        });
    }
    let nrefs = r.len()?;
    let mut refs = Vec::with_capacity(nrefs);
    for _ in 0..nrefs {
        let name = r.string()?;
        refs.push((name, r.u32()?));
    }
    (r.at == bytes.len()).then_some(Tagged::Tags(FileTags { defs, refs, lines }))
}

fn varint(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

fn string(out: &mut Vec<u8>, s: &str) {
    varint(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn byte(&mut self) -> Option<u8> {
        let b = *self.bytes.get(self.at)?;
        self.at += 1;
        Some(b)
    }

    fn varint(&mut self) -> Option<u64> {
        let mut n = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            n |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Some(n);
            }
        }
        None
    }

    fn u32(&mut self) -> Option<u32> {
        u32::try_from(self.varint()?).ok()
    }

    fn len(&mut self) -> Option<usize> {
        let n = usize::try_from(self.varint()?).ok()?;
        // A count can never exceed the bytes left: this bounds allocations on damaged input.
        (n <= self.bytes.len() - self.at).then_some(n)
    }

    fn string(&mut self) -> Option<String> {
        let n = self.len()?;
        let raw = self.bytes.get(self.at..self.at + n)?;
        self.at += n;
        String::from_utf8(raw.to_vec()).ok()
    }
}

#[cfg(test)]
#[path = "tags_tests.rs"]
mod tests;
