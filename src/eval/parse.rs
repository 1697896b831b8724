//! From a test command's output to a [`TestReport`]: the dispatch to each framework's parser and
//! the rules every report follows.
//!
//! - A report is `ok` exactly when none of its tests failed. So that this also holds when the
//!   command failed without any test failing, a pseudo-test stands for the failure:
//!   [`BUILD_TEST`] when no test ran at all (cargo's "could not compile"), [`EXIT_TEST`] when
//!   tests ran and passed but the command still failed (a crashed binary, a timeout, a failing
//!   step after the tests). "Acceptance tests that do not compile" thus count as failing.
//! - A command of a test framework that succeeded without running a single test (its filter
//!   matched nothing, its target is missing, a stale test binary lacks the test) is not a pass:
//!   the pseudo-test [`NO_TESTS`] fails in its place. Every requested test runs, or the report
//!   says it did not. Likewise each test a `cargo test` command names (`cargo test NAME`,
//!   `-- --exact A B`) that matched none of the tests that ran is a failing `<did not run: NAME>`.
//! - Names are unique within a report (a repeated name gets ` #2`, ` #3`, … appended).
//! - A failure keeps the end of its output: at most [`OUTPUT_LINES`] lines and
//!   [`OUTPUT_BYTES`] bytes.
//! - When a framework's structured output is missing (the command did not run the framework, or
//!   redirected its output), the report falls back to [`TestFramework::ExitCode`], except for
//!   cargo's frameworks, where a failing command without results is a [`BUILD_TEST`] failure.

use std::collections::HashMap;

use crate::protocol::{TestCase, TestFramework, TestReport, TestStatus};

/// The pseudo-test of a command that failed before any test ran (e.g. a compile error).
pub const BUILD_TEST: &str = "<build>";
/// The pseudo-test of a command that failed although none of its tests did.
pub const EXIT_TEST: &str = "<exit>";
/// The pseudo-test of a command that was not run at all (refused, could not start, or its
/// candidate's change did not apply).
pub const NOT_RUN: &str = "<not run>";
/// The pseudo-test of a test command that succeeded without running any test.
pub const NO_TESTS: &str = "<no tests>";
/// Lines of output kept for a failure.
pub const OUTPUT_LINES: usize = 40;
/// Bytes of output kept for a failure.
pub const OUTPUT_BYTES: usize = 8 * 1024;

/// Parses one test command's output. `command` is the command as configured (before
/// instrumentation); `report` is the content of the report file the framework wrote, if any.
pub fn parse(
    framework: TestFramework,
    command: &str,
    stdout: &str,
    stderr: &str,
    exit_code: Option<i32>,
    duration_ms: u64,
    report: Option<&str>,
) -> TestReport {
    let run = Run { command, stdout, stderr, exit_code, duration_ms };
    let parsed = match framework {
        TestFramework::Libtest => super::libtest::parse(stdout, stderr),
        TestFramework::Nextest | TestFramework::Pytest => report.and_then(|r| super::junit::parse(framework, r)),
        TestFramework::GoTest => super::gotest::parse(stdout),
        TestFramework::ExitCode => None,
    };
    match parsed {
        Some(mut tests) if framework == TestFramework::Libtest => {
            requested(command, &mut tests);
            finish(framework, &run, tests)
        }
        Some(tests) => finish(framework, &run, tests),
        None if matches!(framework, TestFramework::Libtest | TestFramework::Nextest) => {
            finish(framework, &run, Vec::new())
        }
        None => exit_code_report(command, stdout, stderr, exit_code, duration_ms),
    }
}

/// The pseudo-test of a test filter of the command that matched no test: `<did not run: NAME>`.
pub fn did_not_run_test(filter: &str) -> String {
    format!("<did not run: {filter}>")
}

/// A `cargo test` filter (`cargo test NAME`, `-- NAME…`, exact with `--exact`) that matched none of
/// the tests that ran is a failing pseudo-test: every requested test runs, or the report says it did
/// not. (When no test ran at all, [`NO_TESTS`] says so instead.)
fn requested(command: &str, tests: &mut Vec<TestCase>) {
    if tests.is_empty() {
        return;
    }
    let (filters, exact) = super::instrument::libtest_filters(command);
    for filter in filters {
        let found = tests.iter().any(|t| {
            if exact {
                t.name == filter || t.name.ends_with(&format!("::{filter}"))
            } else {
                t.name.contains(filter.as_str())
            }
        });
        if !found {
            tests.push(TestCase {
                name: did_not_run_test(&filter),
                status: TestStatus::Failed,
                duration_ms: None,
                output: format!("the command asked for `{filter}`, and no test of that name ran\n"),
            });
        }
    }
}

/// The report of a command without per-test results: one test named after the command.
pub fn exit_code_report(
    command: &str,
    stdout: &str,
    stderr: &str,
    exit_code: Option<i32>,
    duration_ms: u64,
) -> TestReport {
    let run = Run { command, stdout, stderr, exit_code, duration_ms };
    let passed = run.succeeded();
    let test = TestCase {
        name: command.trim().to_owned(),
        status: if passed { TestStatus::Passed } else { TestStatus::Failed },
        duration_ms: Some(duration_ms),
        output: if passed { String::new() } else { run.output_tail() },
    };
    TestReport {
        command: command.to_owned(),
        framework: TestFramework::ExitCode,
        exit_code,
        ok: passed,
        duration_ms,
        tests: vec![test],
    }
}

/// The command's run, as the parsers see it.
struct Run<'a> {
    command: &'a str,
    stdout: &'a str,
    stderr: &'a str,
    exit_code: Option<i32>,
    duration_ms: u64,
}

impl Run<'_> {
    fn succeeded(&self) -> bool {
        self.exit_code == Some(0)
    }

    /// The end of stdout and stderr together (stderr last: that is where errors go).
    fn output_tail(&self) -> String {
        let mut text = String::new();
        for part in [self.stdout, self.stderr] {
            if !part.trim().is_empty() {
                text.push_str(part);
                if !part.ends_with('\n') {
                    text.push('\n');
                }
            }
        }
        if self.exit_code.is_none() {
            text.push_str("[the command was killed (timeout or signal)]\n");
        }
        tail(&text)
    }
}

/// Applies the rules every report follows (see the module documentation).
fn finish(framework: TestFramework, run: &Run<'_>, mut tests: Vec<TestCase>) -> TestReport {
    let any_failed = tests.iter().any(|t| t.status == TestStatus::Failed);
    // pytest says "no tests collected or all deselected" with exit code 5.
    let pytest_ran_none = framework == TestFramework::Pytest && run.exit_code == Some(5);
    if (run.succeeded() || pytest_ran_none) && tests.is_empty() {
        let mut output = run.output_tail();
        output.push_str(
            "[the command succeeded without running any test: its filter matched nothing, or its target is missing]\n",
        );
        tests.push(TestCase { name: NO_TESTS.to_owned(), status: TestStatus::Failed, duration_ms: None, output });
    } else if !run.succeeded() && !any_failed {
        let name = if tests.is_empty() { BUILD_TEST } else { EXIT_TEST };
        tests.push(TestCase {
            name: name.to_owned(),
            status: TestStatus::Failed,
            duration_ms: None,
            output: run.output_tail(),
        });
    }
    unique_names(&mut tests);
    TestReport {
        command: run.command.to_owned(),
        framework,
        exit_code: run.exit_code,
        ok: !tests.iter().any(|t| t.status == TestStatus::Failed),
        duration_ms: run.duration_ms,
        tests,
    }
}

/// Appends ` #2`, ` #3`, … to repeated names.
pub(crate) fn unique_names(tests: &mut [TestCase]) {
    let mut seen: HashMap<String, usize> = HashMap::new();
    for test in tests.iter_mut() {
        let count = seen.entry(test.name.clone()).or_insert(0);
        *count += 1;
        if *count > 1 {
            test.name = format!("{} #{count}", test.name);
        }
    }
}

/// The end of `text`: at most [`OUTPUT_LINES`] lines and [`OUTPUT_BYTES`] bytes, with a note
/// saying how much was cut.
pub fn tail(text: &str) -> String {
    let text = text.trim_end_matches(['\n', '\r']);
    if text.is_empty() {
        return String::new();
    }
    let lines: Vec<&str> = text.lines().collect();
    let keep = lines.len().min(OUTPUT_LINES);
    let mut out = lines[lines.len() - keep..].join("\n");
    let mut cut = lines.len() > keep;
    if out.len() > OUTPUT_BYTES {
        let mut start = out.len() - OUTPUT_BYTES;
        while !out.is_char_boundary(start) {
            start += 1;
        }
        out.drain(..start);
        cut = true;
    }
    if cut {
        out.insert_str(0, "[… earlier output cut …]\n");
    }
    out.push('\n');
    out
}

/// Seconds (as frameworks print them) to whole milliseconds.
pub(crate) fn seconds_to_ms(seconds: f64) -> Option<u64> {
    (seconds.is_finite() && seconds >= 0.0).then(|| (seconds * 1000.0).round() as u64)
}

/// Prefixes a test's name with its suite's label when the same name occurs in more than one suite,
/// so names stay unique and, when they need no prefix, stay as the framework prints them.
pub(crate) fn qualify(tests: Vec<(String, TestCase)>, separator: &str) -> Vec<TestCase> {
    let mut suites_of: HashMap<&str, Vec<&str>> = HashMap::new();
    for (suite, test) in &tests {
        let suites = suites_of.entry(test.name.as_str()).or_default();
        if !suites.contains(&suite.as_str()) {
            suites.push(suite.as_str());
        }
    }
    let repeated: std::collections::HashSet<String> =
        suites_of.into_iter().filter(|(_, s)| s.len() > 1).map(|(n, _)| n.to_owned()).collect();
    tests
        .into_iter()
        .map(|(suite, mut test)| {
            if repeated.contains(&test.name) && !suite.is_empty() {
                test.name = format!("{suite}{separator}{}", test.name);
            }
            test
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_keeps_the_last_lines_and_says_what_it_cut() {
        let text: String = (1..=100).map(|i| format!("line {i}\n")).collect();
        let out = tail(&text);
        assert!(out.starts_with("[… earlier output cut …]\nline 61\n"), "{out}");
        assert!(out.ends_with("line 100\n"));
        assert_eq!(tail("short\n"), "short\n");
        assert_eq!(tail(""), "");
        let long = "é".repeat(OUTPUT_BYTES);
        let out = tail(&long);
        assert!(out.len() <= OUTPUT_BYTES + 40, "{}", out.len());
        assert!(out.starts_with("[… earlier output cut …]"));
    }

    #[test]
    fn a_failing_command_without_results_is_a_build_failure_for_cargo_and_an_exit_code_otherwise() {
        let report = parse(TestFramework::Libtest, "cargo test", "", "error[E0425]: x\n", Some(101), 9, None);
        assert!(!report.ok);
        assert_eq!(report.framework, TestFramework::Libtest);
        assert_eq!(report.tests.len(), 1);
        assert_eq!(report.tests[0].name, BUILD_TEST);
        assert!(report.tests[0].output.contains("E0425"));

        let report = parse(TestFramework::Pytest, "pytest", "", "pytest: not found\n", Some(127), 9, None);
        assert_eq!(report.framework, TestFramework::ExitCode);
        assert_eq!(report.tests[0].name, "pytest");
        assert_eq!(report.tests[0].status, TestStatus::Failed);
    }

    #[test]
    fn a_test_command_that_ran_no_test_fails_with_the_reason() {
        // `cargo test --exact test_get_int` against a binary without it: every suite ran 0 tests.
        let stdout = "{ \"type\": \"suite\", \"event\": \"started\", \"test_count\": 0 }\n\
            { \"type\": \"suite\", \"event\": \"ok\", \"passed\": 0, \"failed\": 0, \"ignored\": 0, \"measured\": 0, \"filtered_out\": 4, \"exec_time\": 0.0001 }\n";
        let report = parse(TestFramework::Libtest, "cargo test --exact test_get_int", stdout, "", Some(0), 9, None);
        assert!(!report.ok, "{report:#?}");
        assert_eq!(report.tests.len(), 1);
        assert_eq!(report.tests[0].name, NO_TESTS);
        assert!(report.tests[0].output.contains("without running any test"), "{}", report.tests[0].output);
        let report = parse(TestFramework::Libtest, "cargo test", "", "", Some(0), 9, None);
        assert_eq!(report.tests[0].name, NO_TESTS, "no libtest output at all");
        let empty = "<testsuites><testsuite name=\"pytest\" tests=\"0\"></testsuite></testsuites>";
        let report = parse(TestFramework::Pytest, "pytest -k nothing", "", "", Some(0), 9, Some(empty));
        assert_eq!((report.ok, report.tests[0].name.as_str()), (false, NO_TESTS));
        let go = "{\"Action\":\"start\",\"Package\":\"p\"}\n{\"Action\":\"output\",\"Package\":\"p\",\"Output\":\"ok  \\tp\\t0.1s [no tests to run]\\n\"}\n{\"Action\":\"pass\",\"Package\":\"p\",\"Elapsed\":0.1}\n";
        let report = parse(TestFramework::GoTest, "go test -run Nope ./...", go, "", Some(0), 9, None);
        assert_eq!((report.ok, report.tests[0].name.as_str()), (false, NO_TESTS), "{report:#?}");
        let report = parse(TestFramework::ExitCode, "make check", "", "", Some(0), 9, None);
        assert!(report.ok, "a plain command is judged by its exit code");
    }

    #[test]
    fn a_requested_test_that_did_not_run_fails_by_name() {
        let stdout = "{ \"type\": \"suite\", \"event\": \"started\", \"test_count\": 1 }\n\
            { \"type\": \"test\", \"event\": \"started\", \"name\": \"cases::get_int\" }\n\
            { \"type\": \"test\", \"name\": \"cases::get_int\", \"event\": \"ok\" }\n\
            { \"type\": \"suite\", \"event\": \"ok\", \"passed\": 1, \"failed\": 0, \"filtered_out\": 3 }\n";
        let command = "cargo test --test cases -- --exact cases::get_int test_get_int";
        let report = parse(TestFramework::Libtest, command, stdout, "", Some(0), 9, None);
        let names: Vec<(&str, TestStatus)> = report.tests.iter().map(|t| (t.name.as_str(), t.status)).collect();
        assert_eq!(
            names,
            [("cases::get_int", TestStatus::Passed), ("<did not run: test_get_int>", TestStatus::Failed)]
        );
        assert!(!report.ok);
        let report = parse(TestFramework::Libtest, "cargo test get_int", stdout, "", Some(0), 9, None);
        assert!(report.ok, "a substring filter that matched: {report:#?}");
        let report =
            parse(TestFramework::Libtest, "cargo test --test cases -- --exact get_int", stdout, "", Some(0), 9, None);
        assert!(report.ok, "the suite's qualification: {report:#?}");
    }

    #[test]
    fn exit_code_reports_name_the_command() {
        let report = exit_code_report(" make check ", "ok\n", "", Some(0), 5);
        assert!(report.ok);
        assert_eq!(report.tests[0].name, "make check");
        assert_eq!(report.tests[0].output, "");
        let report = exit_code_report("make check", "", "", None, 5);
        assert!(!report.ok);
        assert!(report.tests[0].output.contains("killed"));
    }

    #[test]
    fn qualify_prefixes_only_repeated_names() {
        let case = |name: &str| TestCase {
            name: name.into(),
            status: TestStatus::Passed,
            duration_ms: None,
            output: String::new(),
        };
        let tests = vec![
            ("src/lib.rs".to_owned(), case("tests::same")),
            ("src/lib.rs".to_owned(), case("tests::one")),
            ("tests/it.rs".to_owned(), case("tests::same")),
        ];
        let names: Vec<String> = qualify(tests, "::").into_iter().map(|t| t.name).collect();
        assert_eq!(names, ["src/lib.rs::tests::same", "tests::one", "tests/it.rs::tests::same"]);
    }
}
