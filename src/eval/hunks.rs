//! Unified diffs (git's patch text, as `workspace::diff_against` returns it) parsed into files and
//! hunks; the new-side lines a diff adds or modifies; its size.
//!
//! A hunk's body is read by counting the lines its header announces, so a removed line that
//! happens to start with `--` or an added one starting with `++` is never mistaken for a file
//! header.

use std::collections::BTreeMap;
use std::ops::RangeInclusive;

use crate::protocol::DiffStats;

/// Per file (new path), the new-side line ranges a diff adds or modifies.
pub type ChangedLines = BTreeMap<String, Vec<RangeInclusive<u32>>>;

/// One file's part of a diff.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FilePatch {
    /// The path before (`None` for a new file).
    pub old_path: Option<String>,
    /// The path after (`None` for a deleted file).
    pub new_path: Option<String>,
    /// The lines before the first hunk (`diff --git`, `index`, `---`, `+++`, modes, renames), each
    /// without its newline.
    pub header: Vec<String>,
    /// The hunks.
    pub hunks: Vec<Hunk>,
    /// Whether git reported the file as binary (no hunks).
    pub binary: bool,
}

impl FilePatch {
    /// The path the file has after the change (or had, when deleted).
    pub fn path(&self) -> &str {
        self.new_path.as_deref().or(self.old_path.as_deref()).unwrap_or_default()
    }

    /// Whether the change creates, deletes or renames the file (or changes its mode), rather than
    /// only editing its lines.
    pub fn is_structural(&self) -> bool {
        self.old_path.is_none()
            || self.new_path.is_none()
            || self.old_path != self.new_path
            || self.header.iter().any(|l| l.starts_with("old mode") || l.starts_with("new mode"))
    }

    /// The file as patch text (header and hunks).
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for line in &self.header {
            out.push_str(line);
            out.push('\n');
        }
        for hunk in &self.hunks {
            out.push_str(&hunk.to_text());
        }
        out
    }
}

/// One hunk: `@@ -old_start,old_lines +new_start,new_lines @@ section` and its lines.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Hunk {
    /// First line of the old side (0 for an empty side).
    pub old_start: u32,
    /// Lines of the old side.
    pub old_lines: u32,
    /// First line of the new side.
    pub new_start: u32,
    /// Lines of the new side.
    pub new_lines: u32,
    /// The text after the second `@@` (git's function context), without the leading space.
    pub section: String,
    /// The body, each line with its prefix (` `, `-`, `+`, `\`) and without its newline.
    pub lines: Vec<String>,
}

impl Hunk {
    /// The header as [`HunkSource`](crate::protocol::HunkSource) names it:
    /// `@@ -12,4 +12,6 @@` (counts always written).
    pub fn header(&self) -> String {
        format!("@@ -{},{} +{},{} @@", self.old_start, self.old_lines, self.new_start, self.new_lines)
    }

    /// Lines added.
    pub fn added(&self) -> u32 {
        self.lines.iter().filter(|l| l.starts_with('+')).count() as u32
    }

    /// Lines removed.
    pub fn removed(&self) -> u32 {
        self.lines.iter().filter(|l| l.starts_with('-')).count() as u32
    }

    /// The hunk as patch text.
    pub fn to_text(&self) -> String {
        let mut out = self.header();
        if !self.section.is_empty() {
            out.push(' ');
            out.push_str(&self.section);
        }
        out.push('\n');
        for line in &self.lines {
            out.push_str(line);
            out.push('\n');
        }
        out
    }

    /// Whether `header` (`@@ -a,b +c,d @@`, counts optional, anything after the second `@@`
    /// ignored) names this hunk.
    pub fn matches(&self, header: &str) -> bool {
        parse_header(header).is_some_and(|(a, b, c, d, _)| {
            (a, b, c, d) == (self.old_start, self.old_lines, self.new_start, self.new_lines)
        })
    }
}

/// `@@ -a[,b] +c[,d] @@[ section]` → (a, b, c, d, section).
fn parse_header(line: &str) -> Option<(u32, u32, u32, u32, String)> {
    let rest = line.trim().strip_prefix("@@ -")?;
    let (ranges, section) = rest.split_once(" @@").unwrap_or((rest.trim_end_matches('@').trim(), ""));
    let (old, new) = ranges.split_once(" +")?;
    let range = |text: &str| -> Option<(u32, u32)> {
        match text.split_once(',') {
            Some((start, len)) => Some((start.trim().parse().ok()?, len.trim().parse().ok()?)),
            None => Some((text.trim().parse().ok()?, 1)),
        }
    };
    let (a, b) = range(old)?;
    let (c, d) = range(new)?;
    Some((a, b, c, d, section.strip_prefix(' ').unwrap_or(section).to_owned()))
}

/// A path from a `---`/`+++` line: `None` for `/dev/null`; the `a/`/`b/` prefix removed.
fn side_path(text: &str) -> Option<String> {
    let text = text.split('\t').next().unwrap_or(text).trim_end();
    let text = unquote(text);
    if text == "/dev/null" {
        return None;
    }
    Some(text.strip_prefix("a/").or_else(|| text.strip_prefix("b/")).unwrap_or(&text).to_owned())
}

/// git quotes unusual paths C-style: `"a/sp\303\251cial"`.
fn unquote(text: &str) -> String {
    let Some(inner) = text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) else {
        return text.to_owned();
    };
    let mut bytes = Vec::with_capacity(inner.len());
    let mut chars = inner.bytes().peekable();
    while let Some(b) = chars.next() {
        if b != b'\\' {
            bytes.push(b);
            continue;
        }
        match chars.next() {
            Some(b'n') => bytes.push(b'\n'),
            Some(b't') => bytes.push(b'\t'),
            Some(d @ b'0'..=b'7') => {
                let mut value = u32::from(d - b'0');
                for _ in 0..2 {
                    if let Some(&next @ b'0'..=b'7') = chars.peek() {
                        value = value * 8 + u32::from(next - b'0');
                        chars.next();
                    }
                }
                bytes.push(value as u8);
            }
            Some(other) => bytes.push(other),
            None => {}
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Paths from `diff --git a/x b/y` (used when `---`/`+++` lines are absent: renames, modes,
/// binary files).
fn git_line_paths(line: &str) -> Option<(String, String)> {
    let rest = line.strip_prefix("diff --git ")?;
    if let Some(quoted) = rest.strip_prefix('"') {
        let end = quoted.find("\" ")? + 2;
        let old = side_path(&rest[..end])?;
        let new = side_path(rest[end..].trim_start())?;
        return Some((old, new));
    }
    // Without quotes, the two paths are the same length when unrenamed: split in the middle.
    let half = rest.len() / 2;
    if rest.len() % 2 == 1 && rest.as_bytes().get(half) == Some(&b' ') {
        let (old, new) = (&rest[..half], &rest[half + 1..]);
        if old.strip_prefix("a/") == new.strip_prefix("b/") {
            return Some((side_path(old)?, side_path(new)?));
        }
    }
    let split = rest.find(" b/")?;
    Some((side_path(&rest[..split])?, side_path(&rest[split + 1..])?))
}

/// Parses a unified diff into its files.
pub fn parse_patch(patch: &str) -> Vec<FilePatch> {
    let lines: Vec<&str> = patch.lines().collect();
    let mut files: Vec<FilePatch> = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let starts_file = line.starts_with("diff --git ")
            || (line.starts_with("--- ") && lines.get(i + 1).is_some_and(|n| n.starts_with("+++ ")))
                && files.last().is_none_or(|f| !f.hunks.is_empty() || f.header.iter().any(|h| h.starts_with("+++ ")));
        if starts_file {
            let mut file = FilePatch::default();
            if let Some((old, new)) = git_line_paths(line) {
                file.old_path = Some(old);
                file.new_path = Some(new);
            }
            files.push(file);
        }
        let Some(file) = files.last_mut() else {
            i += 1;
            continue;
        };
        if let Some((old_start, old_lines, new_start, new_lines, section)) =
            line.starts_with("@@ ").then(|| parse_header(line)).flatten()
        {
            let mut hunk = Hunk { old_start, old_lines, new_start, new_lines, section, lines: Vec::new() };
            let (mut old_left, mut new_left) = (old_lines, new_lines);
            i += 1;
            while i < lines.len() {
                let body = lines[i];
                let first = body.chars().next();
                if old_left == 0 && new_left == 0 {
                    if first == Some('\\') {
                        hunk.lines.push(body.to_owned());
                        i += 1;
                    }
                    break;
                }
                match first {
                    Some('+') => new_left = new_left.saturating_sub(1),
                    Some('-') => old_left = old_left.saturating_sub(1),
                    Some('\\') => {}
                    Some(' ') | None => {
                        old_left = old_left.saturating_sub(1);
                        new_left = new_left.saturating_sub(1);
                    }
                    Some(_) => break,
                }
                // Some tools strip the space of an empty context line.
                hunk.lines.push(if first.is_none() { " ".to_owned() } else { body.to_owned() });
                i += 1;
            }
            file.hunks.push(hunk);
            continue;
        }
        if file.hunks.is_empty() {
            if let Some(path) = line.strip_prefix("--- ") {
                file.old_path = side_path(path);
            } else if let Some(path) = line.strip_prefix("+++ ") {
                file.new_path = side_path(path);
            } else if line.starts_with("new file mode") {
                file.old_path = None;
            } else if line.starts_with("deleted file mode") {
                file.new_path = None;
            } else if let Some(path) = line.strip_prefix("rename to ") {
                file.new_path = Some(unquote(path));
            } else if let Some(path) = line.strip_prefix("rename from ") {
                file.old_path = Some(unquote(path));
            } else if line.starts_with("Binary files ") || line == "GIT binary patch" {
                file.binary = true;
            }
            file.header.push(line.to_owned());
        }
        i += 1;
    }
    files
}

/// The new-side lines each file's diff adds or modifies, as sorted, merged ranges. Deleted files
/// and pure deletions have none.
pub fn changed_lines(patch: &str) -> ChangedLines {
    let mut out = ChangedLines::new();
    for file in parse_patch(patch) {
        let Some(path) = file.new_path.clone() else {
            continue;
        };
        let mut ranges: Vec<RangeInclusive<u32>> = Vec::new();
        for hunk in &file.hunks {
            let mut line = hunk.new_start;
            for body in &hunk.lines {
                match body.chars().next() {
                    Some('+') => {
                        match ranges.last_mut() {
                            Some(last) if *last.end() + 1 == line => *last = *last.start()..=line,
                            _ => ranges.push(line..=line),
                        }
                        line += 1;
                    }
                    Some(' ') => line += 1,
                    _ => {}
                }
            }
        }
        if !ranges.is_empty() {
            out.entry(path).or_default().extend(ranges);
        }
    }
    out
}

/// Files, added and removed lines of a diff.
pub fn diff_stats(patch: &str) -> DiffStats {
    diff_stats_excluding(patch, &[])
}

/// Like [`diff_stats`], leaving out the files in `excluded`: the shared acceptance tests every
/// challenger's worktree holds, so that every candidate's size is measured the same way.
pub fn diff_stats_excluding(patch: &str, excluded: &[String]) -> DiffStats {
    let files: Vec<FilePatch> =
        parse_patch(patch).into_iter().filter(|f| !excluded.iter().any(|e| e == f.path())).collect();
    DiffStats {
        files: files.len() as u32,
        added: files.iter().flat_map(|f| &f.hunks).map(Hunk::added).sum(),
        removed: files.iter().flat_map(|f| &f.hunks).map(Hunk::removed).sum(),
    }
}

#[cfg(test)]
#[path = "hunks_tests.rs"]
mod tests;
