//! The repository's own instructions to contributors and agents: every `AGENTS.md` from the root
//! down to the working directory, `CONTRIBUTING.md`, and the setup, build and test sections of
//! the README. Each document is capped so the summary stays small.

use std::path::Path;

use serde::Serialize;

/// The most kept of one `AGENTS.md`, in bytes.
const AGENTS_CAP: usize = 8 * 1024;
/// The most kept of all `AGENTS.md` together.
const AGENTS_TOTAL_CAP: usize = 16 * 1024;
/// The most kept of `CONTRIBUTING.md`.
const CONTRIBUTING_CAP: usize = 4 * 1024;
/// The most kept of the README's setup sections.
const README_CAP: usize = 4 * 1024;

/// A document of conventions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConventionDoc {
    /// Its path relative to the root (for README sections: the README's path).
    pub path: String,
    /// `agents`, `contributing` or `readme`.
    pub kind: String,
    /// The text kept.
    pub text: String,
    /// Whether the text was cut to the cap.
    pub truncated: bool,
}

/// The convention documents of the repository at `root`, for work in `working_dir` (a directory
/// under `root`; `None` means the root).
pub fn gather(root: &Path, working_dir: Option<&Path>) -> Vec<ConventionDoc> {
    let mut docs = Vec::new();
    let mut dirs = vec![root.to_owned()];
    if let Some(rel) = working_dir.and_then(|w| w.strip_prefix(root).ok()) {
        let mut dir = root.to_owned();
        for part in rel.components() {
            dir.push(part);
            dirs.push(dir.clone());
        }
    }
    let mut agents_left = AGENTS_TOTAL_CAP;
    for dir in dirs {
        if agents_left == 0 {
            break;
        }
        let path = dir.join("AGENTS.md");
        let Some(text) = read(&path) else {
            continue;
        };
        let (text, truncated) = cap(&text, AGENTS_CAP.min(agents_left));
        agents_left -= text.len();
        docs.push(ConventionDoc { path: super::walk::relative(root, &path), kind: "agents".into(), text, truncated });
    }
    for rel in ["CONTRIBUTING.md", ".github/CONTRIBUTING.md", "docs/CONTRIBUTING.md"] {
        if let Some(text) = read(&root.join(rel)) {
            let (text, truncated) = cap(&text, CONTRIBUTING_CAP);
            docs.push(ConventionDoc { path: rel.into(), kind: "contributing".into(), text, truncated });
            break;
        }
    }
    for rel in ["README.md", "README.markdown", "readme.md", "Readme.md"] {
        let Some(text) = read(&root.join(rel)) else {
            continue;
        };
        let sections = setup_sections(&text);
        if !sections.is_empty() {
            let (text, truncated) = cap(&sections, README_CAP);
            docs.push(ConventionDoc { path: rel.into(), kind: "readme".into(), text, truncated });
        }
        break;
    }
    docs
}

fn read(path: &Path) -> Option<String> {
    use std::io::Read;
    let file = std::fs::File::open(path).ok()?;
    let mut bytes = Vec::new();
    file.take(1024 * 1024).read_to_end(&mut bytes).ok()?;
    let text = String::from_utf8_lossy(&bytes).trim().to_owned();
    (!text.is_empty()).then_some(text)
}

/// `text` cut to at most `max` bytes at a line (or char) boundary.
pub fn cap(text: &str, max: usize) -> (String, bool) {
    if text.len() <= max {
        return (text.to_owned(), false);
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let cut = &text[..end];
    let cut = match cut.rfind('\n') {
        Some(at) if at > max / 2 => &cut[..at],
        _ => cut,
    };
    (cut.trim_end().to_owned(), true)
}

/// Words that mark a README heading as being about setting up, building or testing.
const SETUP_WORDS: [&str; 12] = [
    "install",
    "setup",
    "set up",
    "getting started",
    "quick start",
    "quickstart",
    "build",
    "develop",
    "test",
    "running",
    "requirements",
    "prerequisite",
];

/// The Markdown sections of a README whose heading is about setup, building or testing, each
/// with its subsections.
pub fn setup_sections(markdown: &str) -> String {
    let mut out = String::new();
    let mut keeping: Option<usize> = None;
    let mut fence = false;
    for line in markdown.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            fence = !fence;
        }
        let level =
            if fence || trimmed.starts_with("```") || trimmed.starts_with("~~~") { 0 } else { heading_level(line) };
        if level > 0 {
            if keeping.is_some_and(|kept| level <= kept) {
                keeping = None;
            }
            if keeping.is_none() {
                let title = line.trim_start_matches('#').trim().to_lowercase();
                if SETUP_WORDS.iter().any(|w| title.contains(w)) {
                    keeping = Some(level);
                    if !out.is_empty() {
                        out.push('\n');
                    }
                }
            }
        }
        if keeping.is_some() {
            out.push_str(line);
            out.push('\n');
        }
    }
    out.trim_end().to_owned()
}

fn heading_level(line: &str) -> usize {
    let hashes = line.chars().take_while(|&c| c == '#').count();
    if (1..=6).contains(&hashes) && line[hashes..].starts_with(' ') { hashes } else { 0 }
}

#[cfg(test)]
#[path = "conventions_tests.rs"]
mod tests;
