//! Static analysis: which analyzer to run, its findings parsed into
//! [`StaticFinding`]s, and only those on the lines a candidate changed.
//!
//! - clippy: `cargo clippy --all-targets --message-format=json` prints one JSON object per line;
//!   `compiler-message`s carry a diagnostic with a level, a `code.code` (`clippy::eq_op`,
//!   `unused_variables`) and spans, one of them primary. Findings are deduplicated (with
//!   `--all-targets` the library's warnings come once per target).
//! - ruff: `ruff check --output-format json` prints one array of diagnostics with absolute
//!   file names, made relative to the repository here.

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::path::Path;

use serde::Deserialize;

use super::hunks::ChangedLines;
use crate::protocol::StaticFinding;

/// An analyzer we know how to run and read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Analyzer {
    /// `cargo clippy` (rustc's lints included).
    Clippy,
    /// `ruff check`.
    Ruff,
}

/// The analyzer to run on a repository, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnalysisCommand {
    /// The analyzer.
    pub analyzer: Analyzer,
    /// The command line, run at the repository's root.
    pub command: String,
}

impl AnalysisCommand {
    /// Reads the command's standard output.
    pub fn parse(&self, stdout: &str, repo_root: &Path) -> Vec<StaticFinding> {
        match self.analyzer {
            Analyzer::Clippy => parse_clippy(stdout, repo_root),
            Analyzer::Ruff => parse_ruff(stdout, repo_root),
        }
    }
}

/// The clippy command line.
pub const CLIPPY_COMMAND: &str = "cargo clippy --all-targets --message-format=json";
/// The ruff command line.
pub const RUFF_COMMAND: &str = "ruff check --output-format json .";

/// Which analyzer to run on the repository at `repo_root`, whose languages are `languages`
/// (names like `Rust`, `Python`, largest first, as context discovery reports them): the first
/// language with a usable analyzer decides. Clippy needs a `Cargo.toml` at the root; ruff needs
/// `ruff` on `PATH` (it is never installed for you).
pub fn analysis_command(repo_root: &Path, languages: &[String]) -> Option<AnalysisCommand> {
    analysis_command_with(repo_root, languages, std::env::var_os("PATH").as_deref())
}

fn analysis_command_with(repo_root: &Path, languages: &[String], path: Option<&OsStr>) -> Option<AnalysisCommand> {
    for language in languages {
        match language.to_ascii_lowercase().as_str() {
            "rust" if repo_root.join("Cargo.toml").is_file() => {
                return Some(AnalysisCommand { analyzer: Analyzer::Clippy, command: CLIPPY_COMMAND.into() });
            }
            "python" if on_path("ruff", path) => {
                return Some(AnalysisCommand { analyzer: Analyzer::Ruff, command: RUFF_COMMAND.into() });
            }
            _ => {}
        }
    }
    None
}

fn on_path(program: &str, path: Option<&OsStr>) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let Some(path) = path else {
        return false;
    };
    std::env::split_paths(path).any(|dir| {
        std::fs::metadata(dir.join(program)).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    })
}

#[derive(Deserialize)]
struct CargoMessage {
    reason: String,
    #[serde(default)]
    message: Option<Diagnostic>,
}

#[derive(Deserialize)]
struct Diagnostic {
    message: String,
    #[serde(default)]
    code: Option<Code>,
    level: String,
    #[serde(default)]
    spans: Vec<Span>,
}

#[derive(Deserialize)]
struct Code {
    code: String,
}

#[derive(Deserialize)]
struct Span {
    file_name: String,
    line_start: u32,
    is_primary: bool,
}

/// Findings from `cargo clippy --message-format=json` output (other lines skipped).
pub fn parse_clippy(stdout: &str, repo_root: &Path) -> Vec<StaticFinding> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for line in stdout.lines() {
        let Ok(message) = serde_json::from_str::<CargoMessage>(line.trim()) else {
            continue;
        };
        let Some(diagnostic) = message.message.filter(|_| message.reason == "compiler-message") else {
            continue;
        };
        if !matches!(diagnostic.level.as_str(), "warning" | "error") {
            continue;
        }
        let Some(span) = diagnostic.spans.iter().find(|s| s.is_primary) else {
            continue;
        };
        let rule = diagnostic.code.map_or_else(|| diagnostic.level.clone(), |c| c.code);
        let tool = if rule.starts_with("clippy::") { "clippy" } else { "rustc" };
        let finding = StaticFinding {
            tool: tool.into(),
            rule,
            file: relative(&span.file_name, repo_root),
            line: span.line_start,
            message: diagnostic.message,
        };
        if seen.insert((finding.file.clone(), finding.line, finding.rule.clone(), finding.message.clone())) {
            out.push(finding);
        }
    }
    out
}

#[derive(Deserialize)]
struct RuffDiagnostic {
    #[serde(default)]
    code: Option<String>,
    filename: String,
    location: RuffLocation,
    message: String,
}

#[derive(Deserialize)]
struct RuffLocation {
    row: u32,
}

/// Findings from `ruff check --output-format json` output (empty when it is not that JSON).
pub fn parse_ruff(stdout: &str, repo_root: &Path) -> Vec<StaticFinding> {
    let start = stdout.find('[').unwrap_or(0);
    let Ok(diagnostics) = serde_json::from_str::<Vec<RuffDiagnostic>>(stdout[start..].trim()) else {
        return Vec::new();
    };
    diagnostics
        .into_iter()
        .map(|d| StaticFinding {
            tool: "ruff".into(),
            rule: d.code.unwrap_or_else(|| "syntax-error".into()),
            file: relative(&d.filename, repo_root),
            line: d.location.row,
            message: d.message,
        })
        .collect()
}

/// `file` relative to `root` when it lies under it (also when `root` is given through a symlink).
fn relative(file: &str, root: &Path) -> String {
    let path = Path::new(file);
    if path.is_relative() {
        return file.strip_prefix("./").unwrap_or(file).to_owned();
    }
    let canonical_root = root.canonicalize().ok();
    let roots = std::iter::once(root.to_path_buf()).chain(canonical_root);
    for root in roots {
        if let Ok(rest) = path.strip_prefix(&root) {
            return rest.to_string_lossy().into_owned();
        }
    }
    file.to_owned()
}

/// The findings on lines the diff added or modified.
pub fn new_in_changed(findings: &[StaticFinding], changed: &ChangedLines) -> Vec<StaticFinding> {
    findings
        .iter()
        .filter(|f| changed.get(&f.file).is_some_and(|ranges| ranges.iter().any(|r| r.contains(&f.line))))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn fixture(name: &str) -> String {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/eval").join(name);
        std::fs::read_to_string(path).unwrap()
    }

    #[test]
    fn clippy_json_from_a_real_run() {
        // Recorded from `cargo clippy --message-format=json` on tests/fixtures/eval/clippy_lib.rs.
        let findings = parse_clippy(&fixture("clippy.jsonl"), Path::new("/work/lintme"));
        let summary: Vec<(&str, &str, &str, u32)> =
            findings.iter().map(|f| (f.tool.as_str(), f.rule.as_str(), f.file.as_str(), f.line)).collect();
        assert_eq!(
            summary,
            [
                ("rustc", "unused_variables", "src/lib.rs", 14),
                ("clippy", "clippy::needless_range_loop", "src/lib.rs", 6),
                ("clippy", "clippy::eq_op", "src/lib.rs", 15),
            ]
        );
        assert_eq!(findings[0].message, "unused variable: `unused`");
    }

    #[test]
    fn clippy_duplicates_and_noise_are_dropped() {
        let line = fixture("clippy.jsonl").lines().next().unwrap().to_owned();
        let doubled = format!("   Compiling x\n{line}\n{line}\n{{\"reason\":\"build-finished\",\"success\":true}}\n");
        assert_eq!(parse_clippy(&doubled, Path::new("/")).len(), 1);
    }

    #[test]
    fn ruff_json_with_absolute_paths_and_a_syntax_error() {
        let findings = parse_ruff(&fixture("ruff.json"), Path::new("/home/dev/shop"));
        let summary: Vec<(&str, &str, u32)> =
            findings.iter().map(|f| (f.rule.as_str(), f.file.as_str(), f.line)).collect();
        assert_eq!(
            summary,
            [
                ("F401", "app/util.py", 1),
                ("E711", "app/cart.py", 14),
                ("F841", "app/cart.py", 22),
                ("syntax-error", "app/broken.py", 3)
            ]
        );
        assert!(findings.iter().all(|f| f.tool == "ruff"));
        assert!(parse_ruff("error: not json", Path::new("/")).is_empty());
    }

    #[test]
    fn only_findings_on_changed_lines_are_new() {
        let findings = parse_ruff(&fixture("ruff.json"), Path::new("/home/dev/shop"));
        let changed: ChangedLines = [("app/cart.py".to_owned(), vec![10..=14, 30..=31])].into_iter().collect();
        let new = new_in_changed(&findings, &changed);
        assert_eq!(new.len(), 1);
        assert_eq!(new[0].rule, "E711");
    }

    #[test]
    fn the_analyzer_follows_the_languages_and_what_is_installed() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        let langs = |names: &[&str]| names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>();
        let path = Some(bin.as_os_str());
        assert_eq!(analysis_command_with(dir.path(), &langs(&["Rust", "Python"]), path), None);

        std::fs::write(dir.path().join("Cargo.toml"), "[package]\n").unwrap();
        let rust = analysis_command_with(dir.path(), &langs(&["Rust", "Python"]), path).unwrap();
        assert_eq!(rust.analyzer, Analyzer::Clippy);
        assert_eq!(rust.command, CLIPPY_COMMAND);
        assert_eq!(analysis_command_with(dir.path(), &langs(&["Python"]), path), None, "no ruff on PATH");

        use std::os::unix::fs::PermissionsExt;
        let ruff = bin.join("ruff");
        std::fs::write(&ruff, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&ruff, std::fs::Permissions::from_mode(0o755)).unwrap();
        let python = analysis_command_with(dir.path(), &langs(&["Python", "Rust"]), path).unwrap();
        assert_eq!(python.analyzer, Analyzer::Ruff);
        assert_eq!(analysis_command_with(dir.path(), &langs(&["Go"]), path), None);
    }
}
