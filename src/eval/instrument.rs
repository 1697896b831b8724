//! Turning a configured test command into one that also reports per-test results.
//!
//! - `cargo test …` gets `--no-fail-fast` (every test binary runs, so every regression shows) and
//!   libtest's JSON events: `-- -Z unstable-options --format json --report-time`, merged with an
//!   existing `--` (its `--quiet`/`-q`, `--format …` and duplicate `-Z unstable-options` dropped),
//!   with `RUSTC_BOOTSTRAP=1` in the environment so a stable toolchain accepts the flag. cargo's
//!   own `--quiet` goes too: its `Running …` lines name the test binaries.
//! - `cargo nextest run …` writes a JUnit report: a tool configuration file (layered under the
//!   repository's own `.config/nextest.toml`) sets `junit.path` for the profile in use, which is
//!   `ambidex-eval` (inheriting the repository's `default` profile) unless the command names one.
//!   The JUnit report is stable, unlike the experimental `--message-format libtest-json`.
//! - `pytest …` / `python -m pytest …` get `--junitxml=<report file>`.
//! - `go test …` gets `-json`.
//! - Anything else is judged by its exit code.
//!
//! The command may be a chain (`cd crate && cargo test`): the parts that run the test framework are
//! instrumented, the rest is left as written. The first framework found decides; a second command
//! of a framework that writes a report file is left alone (its exit code still counts).

use std::ops::Range;
use std::path::{Path, PathBuf};

use crate::protocol::TestFramework;

/// The nextest profile used when the command names none (it inherits the repository's `default`).
pub const NEXTEST_PROFILE: &str = "ambidex-eval";

/// A test command made to report per-test results.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instrumented {
    /// The command line to run.
    pub command: String,
    /// Variables to add to the command's environment.
    pub env: Vec<(String, String)>,
    /// Where the per-test results will come from.
    pub framework: TestFramework,
    /// The report file the command writes (JUnit XML), when results do not come on stdout.
    pub report_file: Option<PathBuf>,
    /// Files to write before running the command (nextest's tool configuration).
    pub files: Vec<(PathBuf, String)>,
}

/// Instruments `command` so it reports per-test results; report files go in `report_dir`
/// (absolute, so a `cd` in the command does not matter; it must be writable by the command).
pub fn instrument(command: &str, report_dir: &Path) -> Instrumented {
    let mut plain = Instrumented {
        command: command.to_owned(),
        env: Vec::new(),
        framework: TestFramework::ExitCode,
        report_file: None,
        files: Vec::new(),
    };
    let segments = segments(command);
    let mut framework = None;
    let mut edits: Vec<Edit> = Vec::new();
    for range in segments {
        let words = words(&command[range.clone()], range.start);
        let Some((kind, at)) = recognize(&words) else {
            continue;
        };
        match framework {
            None => framework = Some(kind),
            Some(found) if found != kind => continue,
            Some(_) if matches!(kind, TestFramework::Nextest | TestFramework::Pytest) => continue,
            Some(_) => {}
        }
        let end = words.last().map_or(range.end, |w| w.range.end);
        match kind {
            TestFramework::Libtest => libtest_edits(&words, at, end, &mut edits),
            TestFramework::Nextest => {
                let (profile, config) = nextest_edits(&words, at, report_dir, &mut edits);
                let report = report_dir.join("nextest-junit.xml");
                plain.files.push((config, nextest_config(&profile, &report)));
                plain.report_file = Some(report);
            }
            TestFramework::Pytest => {
                let report = report_dir.join("pytest-junit.xml");
                let arg = format!("--junitxml={}", report.display());
                edits.push(Edit { range: end..end, text: format!(" {}", shell_quote(&arg)) });
                plain.report_file = Some(report);
            }
            TestFramework::GoTest => {
                if !words[at + 1..].iter().any(|w| w.text == "-json" || w.text == "--json") {
                    let after = words[at].range.end;
                    edits.push(Edit { range: after..after, text: " -json".into() });
                }
            }
            TestFramework::ExitCode => {}
        }
    }
    let Some(framework) = framework else {
        return plain;
    };
    if framework == TestFramework::Libtest {
        plain.env.push(("RUSTC_BOOTSTRAP".into(), "1".into()));
    }
    plain.framework = framework;
    plain.command = apply_edits(command, edits);
    plain
}

/// Flags of `cargo test` (before `--`) that take a value.
const CARGO_VALUE_FLAGS: &[&str] = &[
    "--test",
    "--bench",
    "--example",
    "--bin",
    "-p",
    "--package",
    "--exclude",
    "--features",
    "-F",
    "--manifest-path",
    "--target",
    "--target-dir",
    "-j",
    "--jobs",
    "--profile",
    "--color",
    "--config",
    "-Z",
    "--message-format",
    "--lockfile-path",
];
/// Flags of libtest (after `--`) that take a value.
const LIBTEST_VALUE_FLAGS: &[&str] =
    &["--skip", "--test-threads", "--format", "-Z", "--color", "--logfile", "--shuffle-seed", "--report-time"];

/// The test-name filters of the first `cargo test` in `command` (its positional argument and
/// libtest's after `--`), and whether they are exact (`--exact`).
pub(crate) fn libtest_filters(command: &str) -> (Vec<String>, bool) {
    let mut filters = Vec::new();
    let mut exact = false;
    for range in segments(command) {
        let words = words(&command[range.clone()], range.start);
        let Some((TestFramework::Libtest, at)) = recognize(&words) else { continue };
        let mut after_dashes = false;
        let mut skip_value = false;
        for word in &words[at + 1..] {
            let w = word.text.as_str();
            if skip_value {
                skip_value = false;
            } else if w == "--" && !after_dashes {
                after_dashes = true;
            } else if w == "--exact" && after_dashes {
                exact = true;
            } else if w.starts_with('-') {
                let flags = if after_dashes { LIBTEST_VALUE_FLAGS } else { CARGO_VALUE_FLAGS };
                // `--report-time` takes no value in libtest's stable form.
                skip_value = !w.contains('=') && flags.contains(&w) && w != "--report-time";
            } else {
                filters.push(w.to_owned());
            }
        }
        break;
    }
    (filters, exact)
}

/// One change to the command line: replace `range` with `text`.
#[derive(Debug)]
struct Edit {
    range: Range<usize>,
    text: String,
}

fn apply_edits(command: &str, mut edits: Vec<Edit>) -> String {
    edits.sort_by_key(|e| (e.range.start, e.range.end));
    let mut out = String::with_capacity(command.len() + 64);
    let mut at = 0;
    for edit in edits {
        if edit.range.start < at {
            continue;
        }
        out.push_str(&command[at..edit.range.start]);
        out.push_str(&edit.text);
        at = edit.range.end;
    }
    out.push_str(&command[at..]);
    out
}

/// A word of a simple command: where it is in the line and its text after quote removal.
#[derive(Debug, Clone)]
struct Word {
    range: Range<usize>,
    text: String,
}

/// Byte ranges of the simple commands of `line`, split at unquoted `&&`, `||`, `;`, `|`, `&` and
/// newlines.
fn segments(line: &str) -> Vec<Range<usize>> {
    let bytes = line.as_bytes();
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    let mut quote: Option<u8> = None;
    while i < bytes.len() {
        let b = bytes[i];
        match quote {
            Some(q) => {
                if b == b'\\' && q == b'"' {
                    i += 1;
                } else if b == q {
                    quote = None;
                }
            }
            None => match b {
                b'\\' => i += 1,
                b'\'' | b'"' => quote = Some(b),
                b';' | b'\n' | b'&' | b'|' => {
                    // `2>&1` and `&>` are redirections, not control operators.
                    let redirect = b == b'&' && (i > 0 && bytes[i - 1] == b'>' || bytes.get(i + 1) == Some(&b'>'));
                    if !redirect {
                        out.push(start..i);
                        if matches!(b, b'&' | b'|') && bytes.get(i + 1) == Some(&b) {
                            i += 1;
                        }
                        start = i + 1;
                    }
                }
                _ => {}
            },
        }
        i += 1;
    }
    out.push(start..line.len());
    out.retain(|r| !line[r.clone()].trim().is_empty());
    out
}

/// The words of one simple command (`offset`: where `text` starts in the whole line).
fn words(text: &str, offset: usize) -> Vec<Word> {
    let mut out = Vec::new();
    let mut current: Option<(usize, String)> = None;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c.is_whitespace() {
            if let Some((start, word)) = current.take() {
                out.push(Word { range: offset + start..offset + i, text: word });
            }
            continue;
        }
        let (_, word) = current.get_or_insert_with(|| (i, String::new()));
        match c {
            '\'' => {
                for (_, q) in chars.by_ref() {
                    if q == '\'' {
                        break;
                    }
                    word.push(q);
                }
            }
            '"' => {
                while let Some((_, q)) = chars.next() {
                    match q {
                        '"' => break,
                        '\\' => {
                            if let Some((_, next)) = chars.next() {
                                word.push(next);
                            }
                        }
                        _ => word.push(q),
                    }
                }
            }
            '\\' => {
                if let Some((_, next)) = chars.next() {
                    word.push(next);
                }
            }
            _ => word.push(c),
        }
    }
    if let Some((start, word)) = current {
        out.push(Word { range: offset + start..offset + text.len(), text: word });
    }
    out
}

fn is_assignment(word: &str) -> bool {
    word.split_once('=')
        .is_some_and(|(name, _)| !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
}

/// The framework a simple command runs, with the index of the word naming its test subcommand
/// (`test` of `cargo test`, `run` of `cargo nextest run`, `pytest`, `test` of `go test`).
fn recognize(words: &[Word]) -> Option<(TestFramework, usize)> {
    let mut i = 0;
    while i < words.len() {
        let w = words[i].text.as_str();
        if is_assignment(w) || matches!(w, "env" | "time" | "nice" | "command" | "exec") {
            i += 1;
            continue;
        }
        if matches!(w, "uv" | "poetry" | "pipenv" | "pdm" | "hatch" | "rye")
            && words.get(i + 1).is_some_and(|n| n.text == "run")
        {
            i += 2;
            while words.get(i).is_some_and(|n| n.text.starts_with('-')) {
                i += 1;
            }
            continue;
        }
        break;
    }
    let program = words.get(i)?.text.rsplit('/').next()?.to_owned();
    match program.as_str() {
        "cargo" => {
            let mut j = i + 1;
            while let Some(word) = words.get(j) {
                let w = word.text.as_str();
                if w.starts_with('+') {
                    j += 1;
                } else if matches!(w, "--manifest-path" | "--config" | "-C" | "-Z" | "--color") {
                    j += 2;
                } else if w.starts_with('-') {
                    j += 1;
                } else {
                    break;
                }
            }
            match words.get(j)?.text.as_str() {
                "test" | "t" => Some((TestFramework::Libtest, j)),
                "nextest" => {
                    let sub = words.get(j + 1)?;
                    matches!(sub.text.as_str(), "run" | "r").then_some((TestFramework::Nextest, j + 1))
                }
                _ => None,
            }
        }
        "pytest" | "py.test" => Some((TestFramework::Pytest, i)),
        name if name.starts_with("python") => {
            let m = words.iter().skip(i + 1).position(|w| w.text == "-m")? + i + 1;
            (words.get(m + 1)?.text == "pytest").then_some((TestFramework::Pytest, m + 1))
        }
        "go" => (words.get(i + 1)?.text == "test").then_some((TestFramework::GoTest, i + 1)),
        _ => None,
    }
}

/// The libtest flags we add after `--`.
const LIBTEST_FLAGS: &str = "-Z unstable-options --format json --report-time";

fn libtest_edits(words: &[Word], at: usize, end: usize, edits: &mut Vec<Edit>) {
    let separator = words.iter().skip(at + 1).position(|w| w.text == "--").map(|p| p + at + 1);
    let cargo_args = &words[at + 1..separator.unwrap_or(words.len())];
    if !cargo_args.iter().any(|w| w.text == "--no-fail-fast") {
        let after = words[at].range.end;
        edits.push(Edit { range: after..after, text: " --no-fail-fast".into() });
    }
    // cargo's `--quiet` hides the `Running …` lines that name each test binary.
    for (k, word) in words.iter().enumerate().take(separator.unwrap_or(words.len())).skip(1) {
        if matches!(word.text.as_str(), "-q" | "--quiet") {
            edits.push(Edit { range: words[k - 1].range.end..word.range.end, text: String::new() });
        }
    }
    let Some(separator) = separator else {
        edits.push(Edit { range: end..end, text: format!(" -- {LIBTEST_FLAGS}") });
        return;
    };
    let after = words[separator].range.end;
    edits.push(Edit { range: after..after, text: format!(" {LIBTEST_FLAGS}") });
    // Drop what would clash with the flags we add.
    let rest = &words[separator..];
    let mut k = 1;
    while k < rest.len() {
        let w = rest[k].text.as_str();
        // A removal takes the space before the word with it.
        let start = rest[k - 1].range.end;
        let drop_two = (w == "--format" || w == "-Z") && rest.get(k + 1).is_some();
        let drop_one =
            matches!(w, "-q" | "--quiet" | "--report-time" | "-Zunstable-options") || w.starts_with("--format=");
        if drop_two && (w == "--format" || rest[k + 1].text == "unstable-options") {
            edits.push(Edit { range: start..rest[k + 1].range.end, text: String::new() });
            k += 2;
        } else if drop_one {
            edits.push(Edit { range: start..rest[k].range.end, text: String::new() });
            k += 1;
        } else {
            k += 1;
        }
    }
}

/// Adds the nextest flags; returns the profile in use and the tool configuration's path.
fn nextest_edits(words: &[Word], at: usize, report_dir: &Path, edits: &mut Vec<Edit>) -> (String, PathBuf) {
    let separator = words.iter().skip(at + 1).position(|w| w.text == "--").map_or(words.len(), |p| p + at + 1);
    let args = &words[at + 1..separator];
    let mut profile = None;
    for (k, word) in args.iter().enumerate() {
        let w = word.text.as_str();
        if w == "--profile" || w == "-P" {
            profile = args.get(k + 1).map(|n| n.text.clone());
        } else if let Some(value) = w.strip_prefix("--profile=") {
            profile = Some(value.to_owned());
        } else if let Some(value) = w.strip_prefix("-P").filter(|v| !v.is_empty()) {
            profile = Some(value.to_owned());
        }
    }
    let config = report_dir.join("nextest-ambidex.toml");
    let mut added = String::new();
    if !args.iter().any(|w| w.text == "--no-fail-fast") {
        added.push_str(" --no-fail-fast");
    }
    added.push_str(&format!(" --tool-config-file {}", shell_quote(&format!("ambidex:{}", config.display()))));
    let profile = profile.unwrap_or_else(|| {
        added.push_str(&format!(" --profile {NEXTEST_PROFILE}"));
        NEXTEST_PROFILE.to_owned()
    });
    let after = words[at].range.end;
    edits.push(Edit { range: after..after, text: added });
    (profile, config)
}

/// The nextest tool configuration that writes the JUnit report of `profile` to `report`.
fn nextest_config(profile: &str, report: &Path) -> String {
    let key = toml::Value::String(profile.to_owned());
    let path = toml::Value::String(report.display().to_string());
    format!(
        "# Written by ambidex for one evaluation run.\n[profile.{key}.junit]\npath = {path}\n\
         store-success-output = false\nstore-failure-output = true\n"
    )
}

/// `text` quoted for `/bin/sh` when it needs to be.
pub fn shell_quote(text: &str) -> String {
    let safe = !text.is_empty()
        && text.chars().all(|c| {
            c.is_ascii_alphanumeric() || matches!(c, '_' | '@' | '%' | '+' | '=' | ':' | ',' | '.' | '/' | '-')
        });
    if safe { text.to_owned() } else { format!("'{}'", text.replace('\'', "'\\''")) }
}

#[cfg(test)]
#[path = "instrument_tests.rs"]
mod tests;
