//! The evaluation layer against real tools: a small crate with passing, failing and ignored tests
//! run through `cargo test` (libtest JSON) and `cargo nextest run` (JUnit), a crate that does not
//! compile, clippy on a crate with known lints, and recorded pytest and `go test -json` output.
//!
//! The crates are built once per run of this binary (each fixture behind a `OnceLock`), with their
//! own `CARGO_TARGET_DIR` under this test's temporary directory.

// Test and benchmark code may unwrap and panic: that is how it reports a failure (see clippy.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use ambidex::eval::{self, BUILD_TEST, RunTests};
use ambidex::protocol::{TestFramework, TestReport, TestStatus};
use ambidex::tools::sandbox::SandboxLevel;

/// This binary's scratch directory, emptied once per run.
fn scratch() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("eval_parsers");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    })
}

fn target_dir() -> PathBuf {
    scratch().join("target")
}

fn write(root: &Path, files: &[(&str, &str)]) {
    for (path, text) in files {
        let full = root.join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, text).unwrap();
    }
}

const DEMO_LIB: &str = r#"//! A crate whose tests pass, fail and are ignored.

/// Adds.
///
/// ```
/// assert_eq!(demo::add(1, 1), 2);
/// ```
pub fn add(a: i32, b: i32) -> i32 {
    a + b
}

#[cfg(test)]
mod tests {
    #[test]
    fn passes() {
        assert_eq!(super::add(1, 2), 3);
    }

    #[test]
    fn fails() {
        println!("some output line");
        assert_eq!(super::add(1, 2), 4);
    }

    #[test]
    fn fails_loudly() {
        for i in 0..100 {
            println!("noisy line {i}");
        }
        panic!("loud failure");
    }

    #[test]
    #[ignore]
    fn ignored() {}

    #[test]
    fn same() {}
}
"#;

const DEMO_INTEG: &str = r#"#[test]
fn integ_pass() {}

#[test]
fn integ_fail() {
    panic!("boom");
}

mod tests {
    #[test]
    fn same() {}
}
"#;

/// The demo crate, written once.
fn demo() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = scratch().join("demo");
        write(
            &dir,
            &[
                ("Cargo.toml", "[package]\nname = \"demo\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n"),
                ("src/lib.rs", DEMO_LIB),
                ("tests/integ.rs", DEMO_INTEG),
            ],
        );
        dir
    })
}

fn run(worktree: &Path, command: &str) -> TestReport {
    let env = [("CARGO_TARGET_DIR".to_owned(), target_dir().display().to_string())];
    let reports = scratch().join("reports");
    let spec = RunTests {
        worktree,
        command,
        level: SandboxLevel::None,
        helper: Path::new("/nonexistent"),
        timeout: Duration::from_secs(600),
        report_dir: &reports,
        env: &env,
        redactor: None,
    };
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(eval::run_tests(spec)).unwrap()
}

/// `cargo test` on the demo crate, run once.
fn libtest_report() -> &'static TestReport {
    static REPORT: OnceLock<TestReport> = OnceLock::new();
    REPORT.get_or_init(|| run(demo(), "cargo test"))
}

fn test<'a>(report: &'a TestReport, name: &str) -> &'a ambidex::protocol::TestCase {
    report.tests.iter().find(|t| t.name == name).unwrap_or_else(|| panic!("no test {name} in {report:#?}"))
}

#[test]
fn cargo_test_reports_every_test_of_every_binary() {
    let report = libtest_report();
    assert_eq!(report.framework, TestFramework::Libtest, "{report:#?}");
    assert_eq!(report.command, "cargo test", "the report names the command as configured");
    assert_eq!(report.exit_code, Some(101));
    assert!(!report.ok);
    let mut names: Vec<(&str, TestStatus)> = report.tests.iter().map(|t| (t.name.as_str(), t.status)).collect();
    names.sort_by_key(|(name, _)| *name);
    assert_eq!(
        names,
        [
            ("integ_fail", TestStatus::Failed),
            ("integ_pass", TestStatus::Passed),
            ("src/lib.rs - add (line 5)", TestStatus::Passed),
            ("src/lib.rs::tests::same", TestStatus::Passed),
            ("tests/integ.rs::tests::same", TestStatus::Passed),
            ("tests::fails", TestStatus::Failed),
            ("tests::fails_loudly", TestStatus::Failed),
            ("tests::ignored", TestStatus::Skipped),
            ("tests::passes", TestStatus::Passed),
        ]
    );
    assert!(test(report, "tests::passes").duration_ms.is_some(), "--report-time gives durations");
}

#[test]
fn cargo_test_failures_keep_the_end_of_their_output() {
    let report = libtest_report();
    let fails = &test(report, "tests::fails").output;
    assert!(fails.contains("some output line") && fails.contains("left: 3"), "{fails}");
    assert!(test(report, "integ_fail").output.contains("boom"));
    let loud = &test(report, "tests::fails_loudly").output;
    assert!(loud.contains("loud failure") && loud.contains("noisy line 99"), "{loud}");
    assert!(!loud.contains("noisy line 10\n"), "only the last lines are kept: {loud}");
    assert!(loud.lines().count() <= eval::parse::OUTPUT_LINES + 1, "{loud}");
    assert_eq!(test(report, "tests::passes").output, "");
}

#[test]
fn a_crate_that_does_not_compile_is_one_build_failure() {
    let dir = scratch().join("broken");
    write(
        &dir,
        &[
            ("Cargo.toml", "[package]\nname = \"broken\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n"),
            ("src/lib.rs", "pub fn f() -> u32 { 1 }\n"),
            ("tests/acceptance.rs", "#[test]\nfn accepts() { assert_eq!(broken::g(), 2); }\n"),
        ],
    );
    let report = run(&dir, "cargo test");
    assert!(!report.ok);
    assert_eq!(report.framework, TestFramework::Libtest);
    assert_eq!(report.tests.len(), 1, "{report:#?}");
    assert_eq!(report.tests[0].name, BUILD_TEST);
    assert_eq!(report.tests[0].status, TestStatus::Failed);
    assert!(report.tests[0].output.contains("E0425"), "{}", report.tests[0].output);
}

fn nextest_installed() -> bool {
    std::process::Command::new("cargo")
        .args(["nextest", "--version"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn cargo_nextest_reports_through_junit() {
    if !nextest_installed() {
        eprintln!("cargo-nextest is not installed: skipped");
        return;
    }
    let report = run(demo(), "cargo nextest run");
    assert_eq!(report.framework, TestFramework::Nextest, "{report:#?}");
    assert_eq!(report.command, "cargo nextest run");
    assert!(!report.ok);
    let mut names: Vec<(&str, TestStatus)> = report.tests.iter().map(|t| (t.name.as_str(), t.status)).collect();
    names.sort_by_key(|(name, _)| *name);
    // nextest runs no doctests and leaves ignored tests out of its JUnit report.
    assert_eq!(
        names,
        [
            ("demo::integ::tests::same", TestStatus::Passed),
            ("demo::tests::same", TestStatus::Passed),
            ("integ_fail", TestStatus::Failed),
            ("integ_pass", TestStatus::Passed),
            ("tests::fails", TestStatus::Failed),
            ("tests::fails_loudly", TestStatus::Failed),
            ("tests::passes", TestStatus::Passed),
        ]
    );
    assert!(test(&report, "tests::fails").output.contains("left: 3"));
    assert!(test(&report, "integ_pass").duration_ms.is_some());
}

#[test]
fn the_same_failures_in_libtest_and_nextest_compare_equal() {
    if !nextest_installed() {
        return;
    }
    let libtest = libtest_report();
    let failed = |r: &TestReport| {
        let mut names: Vec<String> =
            r.tests.iter().filter(|t| t.status == TestStatus::Failed).map(|t| t.name.clone()).collect();
        names.sort();
        names
    };
    let nextest = run(demo(), "cargo nextest run --no-fail-fast");
    assert_eq!(failed(libtest), failed(&nextest));
}

#[test]
fn clippy_findings_on_changed_lines_of_a_real_repository() {
    let dir = scratch().join("lintme");
    let linted =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/eval/clippy_lib.rs"))
            .unwrap();
    // The base has the loop lint already; the change adds an unused variable and `x == x`.
    let base = linted.replace("    let unused = 3;\n    x == x\n", "    x % 2 == 1\n");
    assert_ne!(base, linted);
    write(
        &dir,
        &[
            ("Cargo.toml", "[package]\nname = \"lintme\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n"),
            (".gitignore", "/target\n"),
            ("src/lib.rs", &base),
        ],
    );
    let repo = git2::Repository::init(&dir).unwrap();
    let mut index = repo.index().unwrap();
    index.add_all(["*"], git2::IndexAddOption::DEFAULT, None).unwrap();
    index.write().unwrap();
    let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
    let me = git2::Signature::now("T", "t@example.com").unwrap();
    let commit = repo.commit(Some("HEAD"), &me, &me, "base", &tree, &[]).unwrap().to_string();
    std::fs::write(dir.join("src/lib.rs"), &linted).unwrap();

    let command = eval::analysis_command(&dir, &["Rust".to_owned()]).expect("a Cargo project gets clippy");
    let output = std::process::Command::new("/bin/sh")
        .args(["-c", &command.command])
        .current_dir(&dir)
        .env("CARGO_TARGET_DIR", target_dir())
        .output()
        .unwrap();
    let findings = command.parse(&String::from_utf8_lossy(&output.stdout), &dir);
    let rules: Vec<&str> = findings.iter().map(|f| f.rule.as_str()).collect();
    assert!(rules.contains(&"clippy::needless_range_loop"), "{findings:#?}");
    assert!(rules.contains(&"clippy::eq_op") && rules.contains(&"unused_variables"), "{findings:#?}");

    let patch = ambidex::workspace::diff_against(&dir, &commit).unwrap().patch;
    let changed = eval::changed_lines(&patch);
    let new = eval::new_in_changed(&findings, &changed);
    let mut new_rules: Vec<&str> = new.iter().map(|f| f.rule.as_str()).collect();
    new_rules.sort();
    assert_eq!(new_rules, ["clippy::eq_op", "unused_variables"], "the loop lint predates the change");
    assert!(new.iter().all(|f| f.file == "src/lib.rs"));
}

fn fixture(name: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/eval").join(name)).unwrap()
}

#[test]
fn recorded_pytest_junit() {
    let xml = fixture("pytest-junit.xml");
    let report = eval::parse(TestFramework::Pytest, "pytest", "", "", Some(1), 412, Some(&xml));
    assert_eq!(report.framework, TestFramework::Pytest);
    assert!(!report.ok);
    let names: Vec<(&str, TestStatus)> = report.tests.iter().map(|t| (t.name.as_str(), t.status)).collect();
    assert_eq!(
        names,
        [
            ("tests.test_broken", TestStatus::Failed),
            ("tests/test_cart.py::test_add_item", TestStatus::Passed),
            ("tests/test_cart.py::test_total_with_discount", TestStatus::Failed),
            ("tests/test_cart.py::TestCheckout::test_pay[card]", TestStatus::Passed),
            ("tests/test_cart.py::TestCheckout::test_pay[cash]", TestStatus::Skipped),
            ("tests/test_db.py::test_connect", TestStatus::Skipped),
            ("tests/test_db.py::test_migrate", TestStatus::Failed),
            ("tests/test_util.py::test_slugify", TestStatus::Passed),
            ("tests/test_util.py::test_unicode", TestStatus::Passed),
        ]
    );
    let failure = &report.tests[2];
    assert_eq!(failure.duration_ms, Some(4));
    assert!(failure.output.contains("E       assert 90 == 85"), "{}", failure.output);
    assert!(failure.output.contains("<Cart items=2>"), "entities are decoded: {}", failure.output);
    assert!(failure.output.contains("applying SAVE10"), "captured stdout is kept: {}", failure.output);
    assert!(report.tests[0].output.contains("ModuleNotFoundError"));
    assert!(report.tests[6].output.contains("Connection refused"));
    assert_eq!(report.tests[4].output, "", "only failures keep output");
}

#[test]
fn recorded_parametrised_pytest_junit_matches_function_level_ids() {
    // Real pytest 9 output for the Python fixture of tests/eval_truth.rs (base + acceptance tests).
    let xml = fixture("pytest-parametrized-junit.xml");
    let report = eval::parse(TestFramework::Pytest, "python -m pytest -q", "", "", Some(1), 37, Some(&xml));
    let names: Vec<(&str, TestStatus)> = report.tests.iter().map(|t| (t.name.as_str(), t.status)).collect();
    assert_eq!(
        names,
        [
            ("tests/test_math.py::test_sub", TestStatus::Passed),
            ("tests/test_parser.py::test_parse_stream[lf]", TestStatus::Passed),
            ("tests/test_parser.py::test_parse_stream[crlf]", TestStatus::Failed),
        ]
    );
    let reports = [report];
    let function = "tests/test_parser.py::test_parse_stream";
    assert_eq!(eval::identity::covered(function, &reports).len(), 2, "a function's id covers its cases");
    assert_eq!(eval::identity::outcome(function, &reports), eval::Outcome::Failed);
    assert_eq!(eval::identity::outcome("tests/test_parser.py::test_parse_stream[lf]", &reports), eval::Outcome::Passed);
    assert_eq!(eval::identity::outcome("tests.test_math.test_sub", &reports), eval::Outcome::Passed, "JUnit form");
    assert_eq!(eval::identity::outcome("tests/test_parser.py::test_get_int", &reports), eval::Outcome::NotRun);

    // `-k` that deselects everything: pytest exits 5 with an empty suite. That ran no test.
    let xml = fixture("pytest-deselected-junit.xml");
    let report = eval::parse(TestFramework::Pytest, "python -m pytest -k x", "", "", Some(5), 24, Some(&xml));
    assert_eq!((report.ok, report.tests.len()), (false, 1));
    assert_eq!(report.tests[0].name, eval::NO_TESTS);
}

#[test]
fn recorded_go_test_json() {
    let stdout = fixture("go-test.jsonl");
    let report = eval::parse(TestFramework::GoTest, "go test ./...", &stdout, "", Some(1), 300, None);
    assert_eq!(report.framework, TestFramework::GoTest);
    assert!(!report.ok);
    let names: Vec<(&str, TestStatus)> = report.tests.iter().map(|t| (t.name.as_str(), t.status)).collect();
    assert_eq!(
        names,
        [
            ("example.com/shop/cart/TestAdd", TestStatus::Passed),
            ("example.com/shop/cart/TestTotal", TestStatus::Failed),
            ("example.com/shop/cart/TestTotal/empty", TestStatus::Passed),
            ("example.com/shop/cart/TestTotal/discount", TestStatus::Failed),
            ("example.com/shop/cart/TestCheckout", TestStatus::Skipped),
            ("example.com/shop/util/TestAdd", TestStatus::Passed),
        ]
    );
    let discount = &report.tests[3].output;
    assert!(discount.contains("Total() = 90, want 85"), "{discount}");
    assert!(!discount.contains("=== RUN   TestTotal/empty"), "output stays with its test: {discount}");
    assert_eq!(report.tests[5].duration_ms, Some(120));
}

#[test]
fn the_exit_code_stands_for_commands_without_structured_output() {
    let report = eval::parse(TestFramework::ExitCode, "make check", "all good\n", "", Some(0), 5, None);
    assert!(report.ok);
    assert_eq!(report.tests.len(), 1);
    assert_eq!(report.tests[0].name, "make check");
}
