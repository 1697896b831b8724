//! Finding every simple command a shell command line will run, so each can be judged alone.
//!
//! The line is parsed with the real bash grammar (tree-sitter-bash), not split on `&&`: every
//! part of a pipeline or list, subshells, groups, `if`/`for`/`while`/`case` bodies, function
//! bodies, command and process substitutions (also inside strings, redirections and heredocs)
//! are all found. Then what a command runs on behalf of its arguments is opened up: wrappers
//! (`env`, `timeout`, `nice`, `nohup`, `command`, `exec`, `xargs`, `sudo`, …), `find -exec`,
//! `sh -c`/`bash -c` bodies, `eval` arguments, and `git`'s global options before its
//! subcommand (`wrappers.rs`).
//!
//! What cannot be decided from the text (a program name computed at run time, inline code for an
//! interpreter, an alias, a line that does not parse) is reported as a [`Finding`] so the policy
//! can ask a human.

use tree_sitter::{Node, Parser};

use super::commands::Verdict;

/// One simple command: its words after quote removal.
pub type Words = Vec<String>;

/// A command that will run, and what runs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Simple {
    /// The words, after quote and escape removal (dynamic parts keep their source text).
    pub words: Words,
    /// The wrappers it was found inside, outermost first (`xargs`, `find -exec`, `bash -c`, …).
    pub via: Vec<String>,
}

impl Simple {
    /// The command as shown in a reason: its words, and what ran it.
    pub fn shown(&self) -> String {
        let words = self.words.join(" ");
        if self.via.is_empty() { words } else { format!("{words}` (run by `{}`)", self.via.join("` → `")) }
    }
}

/// Something about the line that is at least as strict as `verdict`, with why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The least strict verdict the line can get.
    pub verdict: Verdict,
    /// Why, naming the part of the line.
    pub reason: String,
}

/// Every command a line runs, and what could not be seen through.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Split {
    /// Every simple command, in source order (inner ones after the command that runs them).
    pub commands: Vec<Simple>,
    /// What could not be analysed, or is decided without a rule.
    pub findings: Vec<Finding>,
}

impl Split {
    pub(super) fn opaque(&mut self, reason: String) {
        self.findings.push(Finding { verdict: Verdict::Prompt, reason });
    }

    pub(super) fn forbid(&mut self, reason: String) {
        self.findings.push(Finding { verdict: Verdict::Forbid, reason });
    }
}

/// How deeply `bash -c`, `eval` and wrappers may nest before the line is called opaque.
pub(super) const MAX_DEPTH: usize = 8;

/// One word of a command: its value, and whether that value is fixed before the line runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Word {
    /// The value after quote removal, or the source text when it is not literal.
    pub text: String,
    /// False when the word contains an expansion, a substitution, a glob or a brace expansion.
    pub literal: bool,
}

/// Finds every simple command `line` runs.
pub fn split(line: &str) -> Split {
    let mut out = Split::default();
    split_into(line, &[], 0, &mut out);
    out
}

/// Parses `line` (found inside `via`) and adds what it runs to `out`.
pub(super) fn split_into(line: &str, via: &[String], depth: usize, out: &mut Split) {
    if depth > MAX_DEPTH {
        out.opaque(format!("shell wrappers nested more than {MAX_DEPTH} deep"));
        return;
    }
    let mut parser = Parser::new();
    if parser.set_language(&tree_sitter_bash::LANGUAGE.into()).is_err() {
        out.opaque("the shell grammar could not be loaded, so the line cannot be checked".into());
        return;
    }
    let Some(tree) = parser.parse(line, None) else {
        out.opaque("the line could not be parsed as shell".into());
        return;
    };
    let root = tree.root_node();
    if root.has_error() {
        out.opaque("the line is not valid shell (it does not parse), so not every part can be checked".into());
    }
    walk(root, line.as_bytes(), via, depth, out);
}

/// Visits `node`, adding every command under it.
fn walk(node: Node<'_>, src: &[u8], via: &[String], depth: usize, out: &mut Split) {
    match node.kind() {
        "command" => command(node, src, via, depth, out),
        "file_redirect" | "herestring_redirect" => {
            let text = node.utf8_text(src).unwrap_or_default();
            if text.contains("/dev/tcp/") || text.contains("/dev/udp/") {
                out.forbid(format!("`{text}` opens a network connection; agents have no network access"));
            }
            walk_children(node, src, via, depth, out);
        }
        _ => walk_children(node, src, via, depth, out),
    }
}

fn walk_children(node: Node<'_>, src: &[u8], via: &[String], depth: usize, out: &mut Split) {
    let mut cursor = node.walk();
    for child in node.named_children(&mut cursor) {
        walk(child, src, via, depth, out);
    }
}

/// A `command` node: its words become a command; substitutions inside it are walked too.
fn command(node: Node<'_>, src: &[u8], via: &[String], depth: usize, out: &mut Split) {
    let mut words = Vec::new();
    let mut cursor = node.walk();
    for child in node.named_children(&mut cursor) {
        match child.kind() {
            "variable_assignment" | "file_redirect" | "herestring_redirect" | "heredoc_redirect" => {}
            "command_name" => {
                if let Some(inner) = child.named_child(0) {
                    words.push(word(inner, src));
                }
            }
            _ => words.push(word(child, src)),
        }
    }
    // The words' own substitutions (and the assignments' and redirections') run too.
    walk_children(node, src, via, depth, out);
    super::wrappers::expand(words, via, depth, out);
}

/// The value of one word node.
pub(super) fn word(node: Node<'_>, src: &[u8]) -> Word {
    let raw = node.utf8_text(src).unwrap_or_default().to_owned();
    match value(node, src) {
        Some(text) => Word { text, literal: true },
        None => Word { text: raw, literal: false },
    }
}

/// The literal value of a word node, or `None` when it is only known at run time.
fn value(node: Node<'_>, src: &[u8]) -> Option<String> {
    let text = node.utf8_text(src).ok()?;
    match node.kind() {
        "word" | "number" => {
            // Globs, brace expansion and tildes make the shell compute the word.
            if text.contains(['*', '?', '[', '{', '~']) && !text.starts_with('-') {
                return None;
            }
            Some(unescape_bare(text))
        }
        "raw_string" => text.strip_prefix('\'').and_then(|t| t.strip_suffix('\'')).map(str::to_owned),
        "ansi_c_string" => text.strip_prefix("$'").and_then(|t| t.strip_suffix('\'')).and_then(unescape_ansi_c),
        "string" | "translated_string" => {
            let mut cursor = node.walk();
            let only_content =
                node.named_children(&mut cursor).all(|c| c.kind() == "string_content" || c.kind() == "string");
            if !only_content {
                return None;
            }
            let inner = text.trim_start_matches('$');
            let inner = inner.strip_prefix('"').and_then(|t| t.strip_suffix('"'))?;
            Some(unescape_double(inner))
        }
        "concatenation" => {
            let mut cursor = node.walk();
            let mut joined = String::new();
            for child in node.named_children(&mut cursor) {
                joined.push_str(&value(child, src)?);
            }
            Some(joined)
        }
        _ => None,
    }
}

/// Backslash removal in an unquoted word: `g\it` is `git`.
fn unescape_bare(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('\n') | None => {}
                Some(next) => out.push(next),
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Backslash removal inside double quotes: only `\" \\ \$ \`` and a newline are escapes.
fn unescape_double(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\'
            && let Some(&next) = chars.peek()
            && matches!(next, '"' | '\\' | '$' | '`' | '\n')
        {
            chars.next();
            if next != '\n' {
                out.push(next);
            }
            continue;
        }
        out.push(c);
    }
    out
}

/// The value of a `$'…'` string; `None` for an escape this does not know.
fn unescape_ansi_c(text: &str) -> Option<String> {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    let digits = |chars: &mut std::iter::Peekable<std::str::Chars<'_>>, radix: u32, max: usize| {
        let mut value = 0u32;
        let mut count = 0;
        while count < max
            && let Some(d) = chars.peek().and_then(|c| c.to_digit(radix))
        {
            value = value * radix + d;
            chars.next();
            count += 1;
        }
        (count > 0).then_some(value)
    };
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let escaped = match chars.next()? {
            'n' => '\n',
            't' => '\t',
            'r' => '\r',
            'a' => '\u{7}',
            'b' => '\u{8}',
            'e' | 'E' => '\u{1b}',
            'f' => '\u{c}',
            'v' => '\u{b}',
            c @ ('\\' | '\'' | '"' | '?') => c,
            'x' => char::from_u32(digits(&mut chars, 16, 2)?)?,
            'u' => char::from_u32(digits(&mut chars, 16, 4)?)?,
            'U' => char::from_u32(digits(&mut chars, 16, 8)?)?,
            d @ '0'..='7' => {
                let mut value = d.to_digit(8)?;
                for _ in 0..2 {
                    match chars.peek().and_then(|c| c.to_digit(8)) {
                        Some(next) => {
                            value = value * 8 + next;
                            chars.next();
                        }
                        None => break,
                    }
                }
                char::from_u32(value)?
            }
            _ => return None,
        };
        out.push(escaped);
    }
    Some(out)
}

#[cfg(test)]
#[path = "shell_tests.rs"]
mod tests;
