//! libtest's JSON events (`cargo test -- -Z unstable-options --format json --report-time`).
//!
//! One `cargo test` runs several test binaries (the library's unit tests, each binary's, each
//! integration test file, the doctests), each printing its own `suite` events on stdout; cargo
//! names each binary on stderr (`Running tests/api.rs (target/debug/deps/api-…)`,
//! `Doc-tests mycrate`) in the same order. Those names label the suites: a test name that occurs
//! in more than one suite is prefixed with its suite's label (`tests/api.rs::tests::same`).
//!
//! The reader is lenient: lines that are not libtest events (a test's `--nocapture` output, a
//! build script's noise, cargo's own lines when stderr was merged into stdout) are skipped, and a
//! JSON event preceded by noise on the same line is still read. A test that started but never
//! ended (its binary crashed or was killed) counts as failed.

use std::sync::OnceLock;

use regex::Regex;
use serde::Deserialize;

use super::parse::{qualify, seconds_to_ms, tail};
use crate::protocol::{TestCase, TestStatus};

/// One libtest event (the fields we read).
#[derive(Debug, Deserialize)]
struct Event {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    event: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    stdout: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    exec_time: Option<f64>,
}

#[derive(Debug, Default)]
struct Suite {
    tests: Vec<TestCase>,
    pending: Vec<String>,
}

impl Suite {
    /// Tests that started and never ended count as failed.
    fn close(&mut self, why: &str) {
        for name in std::mem::take(&mut self.pending) {
            self.tests.push(TestCase {
                name,
                status: TestStatus::Failed,
                duration_ms: None,
                output: format!("{why}\n"),
            });
        }
    }
}

/// Parses libtest's JSON events from `stdout` (suites labelled from cargo's `stderr`); `None` when
/// there are none.
pub fn parse(stdout: &str, stderr: &str) -> Option<Vec<TestCase>> {
    let mut suites: Vec<Suite> = Vec::new();
    let mut open = false;
    let mut seen = false;
    let mut labels_in_stdout = Vec::new();
    for line in stdout.lines() {
        let Some(event) = event_in(line) else {
            if let Some(label) = suite_label(line) {
                labels_in_stdout.push(label);
            }
            continue;
        };
        seen = true;
        match (event.kind.as_str(), event.event.as_deref()) {
            ("suite", Some("started")) => {
                if open && let Some(last) = suites.last_mut() {
                    last.close("the test binary stopped before this test reported a result");
                }
                suites.push(Suite::default());
                open = true;
            }
            ("suite", Some(_)) => {
                if let Some(last) = suites.last_mut() {
                    last.close("the test did not report a result");
                }
                open = false;
            }
            ("test", Some(what)) => {
                let Some(name) = event.name.clone() else {
                    continue;
                };
                if suites.is_empty() || !open {
                    suites.push(Suite::default());
                    open = true;
                }
                let Some(suite) = suites.last_mut() else {
                    continue;
                };
                let status = match what {
                    "started" => {
                        suite.pending.push(name);
                        continue;
                    }
                    "ok" => TestStatus::Passed,
                    "failed" => TestStatus::Failed,
                    "ignored" => TestStatus::Skipped,
                    _ => continue,
                };
                suite.pending.retain(|p| *p != name);
                let output = if status == TestStatus::Failed { failure_output(&event) } else { String::new() };
                suite.tests.push(TestCase {
                    name,
                    status,
                    duration_ms: event.exec_time.and_then(seconds_to_ms),
                    output,
                });
            }
            _ => {}
        }
    }
    if !seen {
        return None;
    }
    if open && let Some(last) = suites.last_mut() {
        last.close("the test binary stopped before this test reported a result (crash, abort or timeout)");
    }
    let labels =
        if labels_in_stdout.is_empty() { stderr.lines().filter_map(suite_label).collect() } else { labels_in_stdout };
    let labels = distinct_labels(labels, suites.len());
    let tests = suites
        .into_iter()
        .zip(labels)
        .flat_map(|(suite, label)| suite.tests.into_iter().map(move |t| (label.clone(), t)));
    Some(qualify(tests.collect(), "::"))
}

/// The libtest event on `line`, if there is one (after any noise printed before it).
fn event_in(line: &str) -> Option<Event> {
    let start = line.find('{')?;
    let event: Event = serde_json::from_str(line[start..].trim_end()).ok()?;
    matches!(event.kind.as_str(), "suite" | "test").then_some(event)
}

fn failure_output(event: &Event) -> String {
    let mut text = event.stdout.clone().unwrap_or_default();
    if let Some(message) = &event.message {
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        text.push_str(message);
    }
    tail(&text)
}

/// A suite's label from one of cargo's lines: (label, binary stem).
fn suite_label(line: &str) -> Option<(String, String)> {
    static RUNNING: OnceLock<Option<Regex>> = OnceLock::new();
    static DOC: OnceLock<Option<Regex>> = OnceLock::new();
    let running = RUNNING.get_or_init(|| Regex::new(r"^\s*Running (?:unittests )?(\S.*?) \((.+)\)\s*$").ok());
    let doc = DOC.get_or_init(|| Regex::new(r"^\s*Doc-tests (\S+)\s*$").ok());
    if let Some(caps) = running.as_ref().and_then(|r| r.captures(line)) {
        let binary = caps.get(2).map_or("", |m| m.as_str());
        let file = binary.rsplit('/').next().unwrap_or(binary);
        let stem = match file.rsplit_once('-') {
            Some((stem, hash)) if hash.len() >= 8 && hash.chars().all(|c| c.is_ascii_hexdigit()) => stem,
            _ => file,
        };
        return Some((caps.get(1).map_or("", |m| m.as_str()).to_owned(), stem.to_owned()));
    }
    let caps = doc.as_ref().and_then(|r| r.captures(line))?;
    let krate = caps.get(1).map_or("", |m| m.as_str());
    Some((format!("doc-tests {krate}"), krate.to_owned()))
}

/// One label per suite: the source path, with the binary's name when two paths are alike
/// (a workspace's crates all have `src/lib.rs`); `suite N` when cargo's lines do not match up.
fn distinct_labels(found: Vec<(String, String)>, suites: usize) -> Vec<String> {
    if found.len() != suites {
        return (1..=suites).map(|i| format!("suite {i}")).collect();
    }
    let paths: Vec<&str> = found.iter().map(|(p, _)| p.as_str()).collect();
    found
        .iter()
        .map(
            |(path, stem)| {
                if paths.iter().filter(|p| *p == path).count() > 1 { format!("{stem}:{path}") } else { path.clone() }
            },
        )
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const STDOUT: &str = r#"{ "type": "suite", "event": "started", "test_count": 3 }
{ "type": "test", "event": "started", "name": "tests::fails" }
{ "type": "test", "event": "started", "name": "tests::same" }
{ "type": "test", "name": "tests::same", "event": "ok", "exec_time": 0.0012 }
noise printed by a test with --nocapture
{ "type": "test", "name": "tests::ignored", "event": "ignored" }
{ "type": "test", "name": "tests::fails", "event": "failed", "exec_time": 0.25, "stdout": "left: 3\nright: 4\n", "message": "note: test did not panic as expected" }
{ "type": "suite", "event": "failed", "passed": 1, "failed": 1, "ignored": 1, "measured": 0, "filtered_out": 0, "exec_time": 0.26 }
{ "type": "suite", "event": "started", "test_count": 2 }
{ "type": "test", "event": "started", "name": "tests::same" }
{ "type": "test", "name": "tests::same", "event": "ok" }
{ "type": "test", "event": "started", "name": "only_here" }
{ "type": "test", "name": "only_here", "event": "ok" }
{ "type": "suite", "event": "ok", "passed": 2, "failed": 0, "ignored": 0, "measured": 0, "filtered_out": 0, "exec_time": 0.01 }
{ "type": "suite", "event": "started", "test_count": 1 }
{ "type": "test", "event": "started", "name": "src/lib.rs - add (line 3)" }
{ "type": "test", "name": "src/lib.rs - add (line 3)", "event": "ok", "exec_time": 0.2 }
{ "type": "suite", "event": "ok", "passed": 1, "failed": 0, "ignored": 0, "measured": 0, "filtered_out": 0, "exec_time": 0.2 }
"#;

    const STDERR: &str = "   Compiling demo v0.1.0 (/x/demo)
    Finished `test` profile [unoptimized + debuginfo] target(s) in 0.74s
     Running unittests src/lib.rs (/x/target/debug/deps/demo-8348ca7a80742723)
error: test failed, to rerun pass `--lib`
     Running tests/integ.rs (/x/target/debug/deps/integ-6a21baa472736a34)
   Doc-tests demo
";

    fn find<'a>(tests: &'a [TestCase], name: &str) -> &'a TestCase {
        tests.iter().find(|t| t.name == name).unwrap_or_else(|| panic!("no {name} in {tests:#?}"))
    }

    #[test]
    fn suites_are_labelled_from_cargo_and_repeated_names_prefixed() {
        let tests = parse(STDOUT, STDERR).unwrap();
        assert_eq!(tests.len(), 6);
        assert_eq!(find(&tests, "src/lib.rs::tests::same").status, TestStatus::Passed);
        assert_eq!(find(&tests, "src/lib.rs::tests::same").duration_ms, Some(1));
        assert_eq!(find(&tests, "tests/integ.rs::tests::same").status, TestStatus::Passed);
        assert_eq!(find(&tests, "only_here").status, TestStatus::Passed);
        assert_eq!(find(&tests, "tests::ignored").status, TestStatus::Skipped);
        let failed = find(&tests, "tests::fails");
        assert_eq!(failed.status, TestStatus::Failed);
        assert_eq!(failed.duration_ms, Some(250));
        assert_eq!(failed.output, "left: 3\nright: 4\nnote: test did not panic as expected\n");
        assert_eq!(find(&tests, "src/lib.rs - add (line 3)").status, TestStatus::Passed);
    }

    #[test]
    fn without_cargo_lines_suites_are_numbered() {
        let tests = parse(STDOUT, "").unwrap();
        assert!(tests.iter().any(|t| t.name == "suite 1::tests::same"));
        assert!(tests.iter().any(|t| t.name == "suite 2::tests::same"));
    }

    #[test]
    fn merged_stderr_in_stdout_still_labels_suites() {
        let merged: String = STDOUT
            .split_inclusive('\n')
            .enumerate()
            .flat_map(|(i, line)| {
                let label = match i {
                    0 => "     Running unittests src/lib.rs (target/debug/deps/demo-8348ca7a80742723)\n",
                    8 => "     Running tests/integ.rs (target/debug/deps/integ-6a21baa472736a34)\n",
                    15 => "   Doc-tests demo\n",
                    _ => "",
                };
                [label, line]
            })
            .collect();
        let tests = parse(&merged, "").unwrap();
        assert!(tests.iter().any(|t| t.name == "tests/integ.rs::tests::same"), "{tests:#?}");
    }

    #[test]
    fn workspace_crates_with_the_same_paths_get_their_binary_names() {
        let stdout = r#"{ "type": "suite", "event": "started", "test_count": 1 }
{ "type": "test", "name": "tests::it", "event": "ok" }
{ "type": "suite", "event": "ok" }
{ "type": "suite", "event": "started", "test_count": 1 }
{ "type": "test", "name": "tests::it", "event": "failed", "stdout": "boom" }
{ "type": "suite", "event": "failed" }
"#;
        let stderr = "     Running unittests src/lib.rs (target/debug/deps/alpha-0123456789abcdef)
     Running unittests src/lib.rs (target/debug/deps/beta-0123456789abcdef)
";
        let tests = parse(stdout, stderr).unwrap();
        let names: Vec<&str> = tests.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["alpha:src/lib.rs::tests::it", "beta:src/lib.rs::tests::it"]);
    }

    #[test]
    fn a_crashed_binary_fails_its_unfinished_tests() {
        let stdout = r#"{ "type": "suite", "event": "started", "test_count": 2 }
{ "type": "test", "event": "started", "name": "a" }
{ "type": "test", "event": "started", "name": "b" }
{ "type": "test", "name": "a", "event": "ok" }
"#;
        let tests = parse(stdout, "").unwrap();
        assert_eq!(find(&tests, "a").status, TestStatus::Passed);
        assert_eq!(find(&tests, "b").status, TestStatus::Failed);
        assert!(find(&tests, "b").output.contains("stopped"));
    }

    #[test]
    fn no_events_is_none_and_noise_before_json_is_read() {
        assert!(parse("running 3 tests\ntest a ... ok\n", "").is_none());
        let tests = parse(r#"partial line{ "type": "test", "name": "x", "event": "ok" }"#, "").unwrap();
        assert_eq!(tests[0].name, "x");
    }
}
