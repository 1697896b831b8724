//! Which reported tests an expected test name denotes, per ecosystem, and which paths hold tests.
//!
//! An acceptance test is named by whoever wrote it (an eval designer, an engineer on the command
//! line, an upstream fix's test files); the reports name tests the way their framework does. A
//! name matches a reported test when:
//! - they are equal;
//! - one is the other qualified by a module or suite path (libtest: `acceptance::last_page` and
//!   `last_page`; `tests/api.rs::tests::same` and `tests::same`);
//! - the expected name is a pytest node id without parameters and the reported one is one of its
//!   parameter cases (`tests/test_p.py::test_parse` covers `tests/test_p.py::test_parse[a-1]`), or
//!   the expected name is a test file (`tests/test_p.py` covers every test in it);
//! - the expected name is a JUnit `classname.name` (`tests.test_p.TestA.test_b`) of a pytest
//!   node id (`tests/test_p.py::TestA::test_b`);
//! - the reported name is a Go test of a package (`example.com/m/pkg/TestX`) and the expected
//!   one is its name (`TestX`) or a subtest path under it (`TestX/case`), or the reported test is
//!   a subtest of the expected one.
//!
//! An expected name that covers several reported tests (a parametrised pytest function) passed
//! only when every case ran and none failed; one that matches nothing did not run.

use crate::protocol::{TestCase, TestReport, TestStatus};

/// What became of one expected test in a set of reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Every reported test it covers passed (skipped cases aside), and at least one ran.
    Passed,
    /// One of the reported tests it covers failed.
    Failed,
    /// It matched no reported test, or every match was skipped.
    NotRun,
}

/// Whether the expected test name `expected` denotes the reported test `reported`.
pub fn matches(expected: &str, reported: &str) -> bool {
    let (expected, reported) = (expected.trim(), reported.trim());
    if expected.is_empty() || reported.is_empty() {
        return false;
    }
    if expected == reported {
        return true;
    }
    // Qualified by a module or suite path, either way (libtest, nextest, pytest's `::`).
    if qualified(reported, expected, "::") || qualified(expected, reported, "::") {
        return true;
    }
    // A pytest function covers its parameter cases; a file covers its tests.
    if let Some((function, params)) = reported.split_once('[')
        && params.ends_with(']')
        && (matches(expected, function) && !expected.contains('['))
    {
        return true;
    }
    if expected.ends_with(".py") && (reported.starts_with(&format!("{expected}::")) || reported == expected) {
        return true;
    }
    // A JUnit `classname.name` against a pytest node id.
    if !expected.contains("::") && reported.contains(".py::") && expected == junit_form(reported) {
        return true;
    }
    // Go: `pkg/TestX` and its subtests `pkg/TestX/case`.
    if expected.starts_with("Test") || expected.contains("/Test") {
        if qualified(reported, expected, "/") || reported.starts_with(&format!("{expected}/")) {
            return true;
        }
        if let Some(at) = reported.find("/Test") {
            let (_, test) = reported.split_at(at + 1);
            if test.starts_with(&format!("{expected}/")) {
                return true;
            }
        }
    }
    false
}

/// Whether `long` is `short` qualified by a path ending in `separator`.
fn qualified(long: &str, short: &str, separator: &str) -> bool {
    long.len() > short.len() + separator.len()
        && long.ends_with(short)
        && long[..long.len() - short.len()].ends_with(separator)
}

/// `tests/test_p.py::TestA::test_b[x]` as JUnit's `classname.name`: `tests.test_p.TestA.test_b[x]`.
fn junit_form(node_id: &str) -> String {
    let (file, rest) = node_id.split_once("::").unwrap_or((node_id, ""));
    let module = file.trim_end_matches(".py").replace('/', ".");
    if rest.is_empty() { module } else { format!("{module}.{}", rest.replace("::", ".")) }
}

/// The reported tests `expected` denotes, across `reports`.
pub fn covered<'a>(expected: &str, reports: &'a [TestReport]) -> Vec<&'a TestCase> {
    reports.iter().flat_map(|r| &r.tests).filter(|t| !is_pseudo(&t.name) && matches(expected, &t.name)).collect()
}

/// What became of the expected test `expected` in `reports` (see [`Outcome`]).
pub fn outcome(expected: &str, reports: &[TestReport]) -> Outcome {
    let found = covered(expected, reports);
    if found.iter().any(|t| t.status == TestStatus::Failed) {
        Outcome::Failed
    } else if found.iter().any(|t| t.status == TestStatus::Passed) {
        Outcome::Passed
    } else {
        Outcome::NotRun
    }
}

/// Whether `name` is a pseudo-test (`<build>`, `<exit>`, `<no tests>`, `<not run>`, or a Go
/// package's `pkg/<build>`) rather than a test a framework reported.
pub fn is_pseudo(name: &str) -> bool {
    name.ends_with('>') && (name.starts_with('<') || name.contains("/<"))
}

/// Whether `path` (relative, `/`-separated) holds tests by the usual conventions of Rust,
/// Python, Go and JavaScript projects.
pub fn is_test_path(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    path.starts_with("tests/")
        || path.contains("/tests/")
        || path.contains("/test/")
        || path.starts_with("test/")
        || name.starts_with("test_")
        || name.contains("_test.")
        || name.contains("_tests.")
        || name.contains(".test.")
        || name.contains(".spec.")
        || name == "conftest.py"
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::TestFramework;

    #[test]
    fn libtest_paths_match_when_qualified_either_way() {
        assert!(matches("accept_zero", "accept_zero"));
        assert!(matches("acceptance::accept_zero", "accept_zero"));
        assert!(matches("accept_zero", "tests/acceptance.rs::accept_zero"));
        assert!(!matches("zero", "accept_zero"), "a suffix of a name is not the name");
        assert!(!matches("tests::a", "tests::ab"));
    }

    #[test]
    fn a_pytest_function_covers_its_parameter_cases_and_a_file_its_tests() {
        let case = "tests/test_parser.py::test_parse_stream[crlf-2]";
        assert!(matches("tests/test_parser.py::test_parse_stream", case));
        assert!(matches("test_parse_stream", case));
        assert!(matches("tests/test_parser.py", case));
        assert!(!matches("tests/test_parser.py::test_parse_stream[lf-1]", case), "another case");
        assert!(!matches("tests/test_parser.py::test_parse", case));
        assert!(matches("tests.test_parser.TestA.test_b", "tests/test_parser.py::TestA::test_b"), "JUnit form");
    }

    #[test]
    fn go_tests_match_by_name_package_and_subtest() {
        assert!(matches("TestParse", "example.com/m/parse/TestParse"));
        assert!(matches("TestParse", "example.com/m/parse/TestParse/empty"));
        assert!(matches("TestParse/empty", "example.com/m/parse/TestParse/empty"));
        assert!(matches("example.com/m/parse/TestParse", "example.com/m/parse/TestParse/empty"));
        assert!(!matches("TestParse", "example.com/m/parse/TestParseAll"));
    }

    fn report(tests: &[(&str, TestStatus)]) -> TestReport {
        TestReport {
            command: "pytest".into(),
            framework: TestFramework::Pytest,
            exit_code: Some(0),
            ok: true,
            duration_ms: 1,
            tests: tests
                .iter()
                .map(|(name, status)| TestCase {
                    name: (*name).into(),
                    status: *status,
                    duration_ms: None,
                    output: String::new(),
                })
                .collect(),
        }
    }

    #[test]
    fn every_parameter_case_must_pass_and_nothing_matched_did_not_run() {
        use TestStatus::{Failed as F, Passed as P, Skipped as S};
        let reports = [report(&[("t.py::f[a]", P), ("t.py::f[b]", F), ("t.py::g[a]", P), ("t.py::h", S)])];
        assert_eq!(outcome("t.py::f", &reports), Outcome::Failed);
        assert_eq!(outcome("t.py::g", &reports), Outcome::Passed);
        assert_eq!(outcome("t.py::h", &reports), Outcome::NotRun, "skipped is not run");
        assert_eq!(outcome("t.py::missing", &reports), Outcome::NotRun);
        let pseudo = [report(&[("<build>", F)])];
        assert_eq!(outcome("<build>", &pseudo), Outcome::NotRun, "a pseudo-test is never an expected test");
    }

    #[test]
    fn test_paths_and_pseudo_tests() {
        assert!(is_test_path("tests/acceptance.rs") && is_test_path("pkg/x_test.go") && is_test_path("conftest.py"));
        assert!(!is_test_path("src/lib.rs"));
        assert!(is_pseudo("<build>") && is_pseudo("<no tests>") && is_pseudo("example.com/m/<build>"));
        assert!(!is_pseudo("tests::a") && !is_pseudo("t.py::f[<a>]"));
    }
}
