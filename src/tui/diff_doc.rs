//! A unified diff parsed for display: files with their stats, hunks, numbered lines, and the
//! changed words of lines that were edited (intra-line highlighting). Parsing happens once, off
//! the render path, when a diff is loaded.

use std::hash::{Hash, Hasher};
use std::ops::Range;

/// The most tokens compared per line pair; longer lines are marked changed whole.
const MAX_TOKENS: usize = 400;

/// What a diff line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineKind {
    /// Added.
    Plus,
    /// Removed.
    Minus,
    /// Unchanged.
    Context,
    /// `\ No newline at end of file` and the like.
    Meta,
}

/// One line of a hunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiffLine {
    /// What it is.
    pub kind: LineKind,
    /// The text, without the leading `+`, `-` or space and without the newline.
    pub text: String,
    /// Its number in the old file.
    pub old_no: Option<u32>,
    /// Its number in the new file.
    pub new_no: Option<u32>,
    /// Byte ranges of `text` that changed against its paired line (empty: none known).
    pub words: Vec<Range<usize>>,
}

/// One hunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hunk {
    /// The `@@ -a,b +c,d @@ …` line.
    pub header: String,
    /// Its lines.
    pub lines: Vec<DiffLine>,
    /// A hash of the file's extension and the hunk's text: the key of its syntax highlighting.
    pub key: u64,
}

/// One file of a diff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiffFile {
    /// The path (the new one for renames).
    pub path: String,
    /// `added`, `deleted`, `renamed`, `modified`, `binary`.
    pub status: String,
    /// Lines added.
    pub added: u32,
    /// Lines removed.
    pub removed: u32,
    /// Its hunks.
    pub hunks: Vec<Hunk>,
}

impl DiffFile {
    /// The file's extension, for syntax highlighting.
    pub fn extension(&self) -> &str {
        self.path.rsplit_once('.').map_or("", |(_, ext)| ext)
    }
}

/// What one display row of a diff shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Row {
    /// A file's header.
    File(usize),
    /// A hunk's header.
    Hunk(usize, usize),
    /// A line: file, hunk, line.
    Line(usize, usize, usize),
}

/// A parsed diff.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DiffDoc {
    /// The files, in diff order.
    pub files: Vec<DiffFile>,
    /// The display rows, in order.
    pub rows: Vec<Row>,
}

impl DiffDoc {
    /// Parses `git diff` output.
    pub fn parse(patch: &str) -> DiffDoc {
        let mut files: Vec<DiffFile> = Vec::new();
        let (mut old_no, mut new_no) = (0u32, 0u32);
        let mut old_path = String::new();
        for raw in patch.lines() {
            if let Some(rest) = raw.strip_prefix("diff --git ") {
                let path = rest.rsplit_once(" b/").map_or(rest, |(_, b)| b).to_owned();
                files.push(DiffFile { path, status: "modified".into(), added: 0, removed: 0, hunks: Vec::new() });
                continue;
            }
            let in_hunk = files.last().is_some_and(|f| !f.hunks.is_empty());
            if !in_hunk || !matches!(raw.as_bytes().first(), Some(b'+' | b'-' | b' ' | b'\\')) {
                if let Some(file) = files.last_mut() {
                    if raw.starts_with("new file mode") {
                        file.status = "added".into();
                    } else if raw.starts_with("deleted file mode") {
                        file.status = "deleted".into();
                    } else if raw.starts_with("rename from ") {
                        file.status = "renamed".into();
                    } else if raw.starts_with("Binary files") {
                        file.status = "binary".into();
                    } else if let Some(path) = raw.strip_prefix("--- ") {
                        old_path = path.trim_start_matches("a/").to_owned();
                        continue;
                    } else if let Some(path) = raw.strip_prefix("+++ ") {
                        let path = path.trim_start_matches("b/");
                        if path != "/dev/null" {
                            file.path = path.to_owned();
                        } else if old_path != "/dev/null" {
                            file.path = old_path.clone();
                        }
                        continue;
                    }
                }
                if raw.starts_with("@@") {
                    let (old, new) = hunk_starts(raw);
                    (old_no, new_no) = (old, new);
                    if files.is_empty() {
                        files.push(DiffFile {
                            path: String::new(),
                            status: "modified".into(),
                            added: 0,
                            removed: 0,
                            hunks: Vec::new(),
                        });
                    }
                    if let Some(file) = files.last_mut() {
                        file.hunks.push(Hunk { header: raw.to_owned(), lines: Vec::new(), key: 0 });
                    }
                }
                continue;
            }
            let Some(file) = files.last_mut() else { continue };
            let Some(hunk) = file.hunks.last_mut() else { continue };
            let (kind, text) = match raw.as_bytes()[0] {
                b'+' => (LineKind::Plus, &raw[1..]),
                b'-' => (LineKind::Minus, &raw[1..]),
                b' ' => (LineKind::Context, &raw[1..]),
                _ => (LineKind::Meta, raw),
            };
            let (old, new) = match kind {
                LineKind::Plus => {
                    new_no += 1;
                    file.added += 1;
                    (None, Some(new_no - 1))
                }
                LineKind::Minus => {
                    old_no += 1;
                    file.removed += 1;
                    (Some(old_no - 1), None)
                }
                LineKind::Context => {
                    old_no += 1;
                    new_no += 1;
                    (Some(old_no - 1), Some(new_no - 1))
                }
                LineKind::Meta => (None, None),
            };
            hunk.lines.push(DiffLine { kind, text: text.to_owned(), old_no: old, new_no: new, words: Vec::new() });
        }
        for file in &mut files {
            let ext = file.extension().to_owned();
            for hunk in &mut file.hunks {
                mark_words(&mut hunk.lines);
                hunk.key = hunk_key(&ext, &hunk.lines);
            }
        }
        let mut rows = Vec::new();
        for (f, file) in files.iter().enumerate() {
            rows.push(Row::File(f));
            for (h, hunk) in file.hunks.iter().enumerate() {
                rows.push(Row::Hunk(f, h));
                rows.extend((0..hunk.lines.len()).map(|l| Row::Line(f, h, l)));
            }
        }
        DiffDoc { files, rows }
    }

    /// The row where file `index` starts.
    pub fn file_row(&self, index: usize) -> Option<usize> {
        self.rows.iter().position(|r| *r == Row::File(index))
    }

    /// The file shown at `row`.
    pub fn file_at(&self, row: usize) -> Option<usize> {
        self.rows.get(row).map(|r| match r {
            Row::File(f) | Row::Hunk(f, _) | Row::Line(f, _, _) => *f,
        })
    }

    /// The next (or previous) row holding a hunk header after (before) `row`.
    pub fn hunk_row(&self, row: usize, forward: bool) -> Option<usize> {
        let is_hunk = |r: &Row| matches!(r, Row::Hunk(..));
        if forward {
            self.rows.iter().enumerate().skip(row + 1).find(|(_, r)| is_hunk(r)).map(|(i, _)| i)
        } else {
            self.rows.iter().enumerate().take(row).rev().find(|(_, r)| is_hunk(r)).map(|(i, _)| i)
        }
    }

    /// Total lines added.
    pub fn added(&self) -> u32 {
        self.files.iter().map(|f| f.added).sum()
    }

    /// Total lines removed.
    pub fn removed(&self) -> u32 {
        self.files.iter().map(|f| f.removed).sum()
    }
}

fn hunk_starts(header: &str) -> (u32, u32) {
    let mut parts = header.split_whitespace().skip(1);
    let start = |part: Option<&str>| -> u32 {
        part.and_then(|p| p.get(1..)).and_then(|p| p.split(',').next()).and_then(|n| n.parse().ok()).unwrap_or(1)
    };
    let old = start(parts.next());
    let new = start(parts.next());
    (old, new)
}

fn hunk_key(ext: &str, lines: &[DiffLine]) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    ext.hash(&mut hasher);
    for line in lines {
        line.text.hash(&mut hasher);
    }
    hasher.finish()
}

/// Pairs each run of removed lines with the added lines after it and marks the words that differ.
fn mark_words(lines: &mut [DiffLine]) {
    let mut i = 0;
    while i < lines.len() {
        if lines[i].kind != LineKind::Minus {
            i += 1;
            continue;
        }
        let minus_start = i;
        while i < lines.len() && lines[i].kind == LineKind::Minus {
            i += 1;
        }
        let plus_start = i;
        while i < lines.len() && lines[i].kind == LineKind::Plus {
            i += 1;
        }
        let pairs = (plus_start - minus_start).min(i - plus_start);
        for k in 0..pairs {
            let (old, new) = word_diff(&lines[minus_start + k].text, &lines[plus_start + k].text);
            lines[minus_start + k].words = old;
            lines[plus_start + k].words = new;
        }
    }
}

fn tokens(text: &str) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut start = None;
    for (at, c) in text.char_indices() {
        let word = c.is_alphanumeric() || c == '_';
        match (start, word) {
            (None, true) => start = Some(at),
            (Some(s), false) => {
                out.push(s..at);
                start = None;
            }
            _ => {}
        }
        if !word {
            out.push(at..at + c.len_utf8());
        }
    }
    if let Some(s) = start {
        out.push(s..text.len());
    }
    out
}

/// The changed byte ranges of `old` and `new`, by an LCS over their tokens. Lines with almost
/// nothing in common are not marked: the whole line is the change.
pub fn word_diff(old: &str, new: &str) -> (Vec<Range<usize>>, Vec<Range<usize>>) {
    let (a, b) = (tokens(old), tokens(new));
    if a.len() > MAX_TOKENS || b.len() > MAX_TOKENS || a.is_empty() || b.is_empty() {
        return (Vec::new(), Vec::new());
    }
    let (n, m) = (a.len(), b.len());
    let mut table = vec![0u16; (n + 1) * (m + 1)];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            table[i * (m + 1) + j] = if old[a[i].clone()] == new[b[j].clone()] {
                table[(i + 1) * (m + 1) + j + 1] + 1
            } else {
                table[(i + 1) * (m + 1) + j].max(table[i * (m + 1) + j + 1])
            };
        }
    }
    let common = usize::from(table[0]);
    if common * 3 < n.max(m) {
        return (Vec::new(), Vec::new());
    }
    let (mut keep_a, mut keep_b) = (vec![false; n], vec![false; m]);
    let (mut i, mut j) = (0, 0);
    while i < n && j < m {
        if old[a[i].clone()] == new[b[j].clone()] {
            keep_a[i] = true;
            keep_b[j] = true;
            i += 1;
            j += 1;
        } else if table[(i + 1) * (m + 1) + j] >= table[i * (m + 1) + j + 1] {
            i += 1;
        } else {
            j += 1;
        }
    }
    (merge(&a, &keep_a), merge(&b, &keep_b))
}

fn merge(tokens: &[Range<usize>], keep: &[bool]) -> Vec<Range<usize>> {
    let mut out: Vec<Range<usize>> = Vec::new();
    for (token, kept) in tokens.iter().zip(keep) {
        if *kept {
            continue;
        }
        match out.last_mut() {
            Some(last) if last.end == token.start => last.end = token.end,
            _ => out.push(token.clone()),
        }
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) const PATCH: &str = "diff --git a/src/lib.rs b/src/lib.rs
index 1111111..2222222 100644
--- a/src/lib.rs
+++ b/src/lib.rs
@@ -1,4 +1,4 @@
 /// Number of pages needed to show `items` items, `size` per page.
 pub fn page_count(items: usize, size: usize) -> usize {
-    items / size
+    items.div_ceil(size)
 }
@@ -10,3 +10,8 @@ mod tests {
     #[test]
+    fn partial_last_page() {
+        assert_eq!(page_count(11, 5), 3);
+    }
+
+    #[test]
     fn exact_pages() {
diff --git a/NOTES.md b/NOTES.md
new file mode 100644
--- /dev/null
+++ b/NOTES.md
@@ -0,0 +1 @@
+Rounding fixed.
";

    #[test]
    fn files_hunks_numbers_and_stats() {
        let doc = DiffDoc::parse(PATCH);
        assert_eq!(doc.files.len(), 2);
        let lib = &doc.files[0];
        assert_eq!((lib.path.as_str(), lib.added, lib.removed, lib.hunks.len()), ("src/lib.rs", 6, 1, 2));
        assert_eq!(lib.hunks[0].lines[2].old_no, Some(3));
        assert_eq!(lib.hunks[0].lines[3].new_no, Some(3));
        assert_eq!(lib.hunks[1].lines[1].new_no, Some(11));
        assert_eq!((doc.files[1].path.as_str(), doc.files[1].status.as_str()), ("NOTES.md", "added"));
        assert_eq!(doc.rows[0], Row::File(0));
        assert_eq!(doc.hunk_row(0, true), Some(1));
        let second = doc.hunk_row(1, true).unwrap();
        assert_eq!(doc.rows[second], Row::Hunk(0, 1));
        assert_eq!(doc.hunk_row(second, false), Some(1));
        assert_eq!(doc.file_at(doc.file_row(1).unwrap()), Some(1));
        assert_eq!((doc.added(), doc.removed()), (7, 1));
    }

    #[test]
    fn edited_lines_mark_only_the_changed_words() {
        let doc = DiffDoc::parse(PATCH);
        let lines = &doc.files[0].hunks[0].lines;
        let old = &lines[2];
        let new = &lines[3];
        let changed = |line: &DiffLine| line.words.iter().map(|r| line.text[r.clone()].to_owned()).collect::<Vec<_>>();
        assert_eq!(changed(old), vec![" / "]);
        assert_eq!(changed(new), vec![".div_ceil(", ")"]);
        let (a, b) = word_diff("completely different", "nothing shared here at all");
        assert!(a.is_empty() && b.is_empty(), "unrelated lines are changed whole");
    }
}
