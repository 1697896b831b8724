use super::*;
use crate::eval::compare::tests::report;

use TestStatus::{Failed as F, Passed as P, Skipped as S};

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn the_baseline_holds_the_acceptance_tests_so_a_fix_shows_as_fixed() {
    // The base: `sub` and an old `parse` test pass. The acceptance tests add `parse_crlf` and change
    // `parse` to expect the fix.
    let plain = [report("cargo test", &[("sub", P), ("parse", P)])];
    let with_tests = [report("cargo test", &[("sub", P), ("parse", F), ("parse_crlf", F)])];
    let acceptance = acceptance_tests(&plain, &with_tests, &[]);
    assert_eq!(acceptance, ["parse", "parse_crlf"], "a new test and a changed one");
    let baseline = baseline(&plain, &with_tests, &acceptance);
    assert_eq!(baseline, with_tests);

    let fix = judge(&baseline, &acceptance, &[report("cargo test", &[("sub", P), ("parse", P), ("parse_crlf", P)])]);
    assert!(fix.valid);
    assert_eq!(fix.fixed, ["parse", "parse_crlf"]);
    assert!(fix.broken.is_empty() && fix.missing.is_empty());
    assert_eq!((fix.acceptance_passed, fix.acceptance_total), (2, 2));

    // A candidate that does not fix the bug breaks nothing it did not already fail.
    let noop = judge(&baseline, &acceptance, &with_tests);
    assert!(!noop.valid && noop.broken.is_empty() && noop.fixed.is_empty(), "{noop:?}");
    assert_eq!(noop.acceptance_failed, ["parse", "parse_crlf"]);

    // A wrong fix that breaks `sub` and deletes its test: missing, not hidden.
    let sneaky = judge(&baseline, &acceptance, &[report("cargo test", &[("parse", P), ("parse_crlf", P)])]);
    assert!(sneaky.valid, "every test that ran passed");
    assert_eq!(sneaky.missing, ["sub"]);
    // Skipping it is the same.
    let skipping =
        judge(&baseline, &acceptance, &[report("cargo test", &[("sub", S), ("parse", P), ("parse_crlf", P)])]);
    assert_eq!(skipping.missing, ["sub"]);
}

#[test]
fn an_acceptance_test_that_matches_nothing_did_not_run_and_is_never_a_pass() {
    let acceptance = names(&["tests/test_p.py::test_parse_stream", "test_get_int"]);
    let reports = [report(
        "pytest",
        &[("tests/test_p.py::test_parse_stream[lf]", P), ("tests/test_p.py::test_parse_stream[crlf]", P)],
    )];
    let verdict = judge(&[], &acceptance, &reports);
    assert_eq!((verdict.acceptance_passed, verdict.acceptance_total), (1, 2));
    assert_eq!(verdict.not_run, ["test_get_int"]);
    assert_eq!(verdict.acceptance_failed, ["test_get_int"]);
    let none = judge(&[], &acceptance, &[report("cargo test --exact test_get_int", &[(NO_TESTS, F)])]);
    assert!(!none.valid);
    assert_eq!(none.not_run, acceptance);
}

#[test]
fn acceptance_tests_that_do_not_build_on_the_base_leave_the_base_run_as_the_baseline() {
    let plain = [report("cargo test", &[("sub", P), ("parse", F)])];
    let with_tests = [report("cargo test", &[(BUILD_TEST, F)])];
    let acceptance = names(&["parse_new_api"]);
    let baseline = baseline(&plain, &with_tests, &acceptance);
    let statuses: Vec<(&str, TestStatus)> = baseline[0].tests.iter().map(|t| (t.name.as_str(), t.status)).collect();
    assert_eq!(statuses, [("sub", P), ("parse", F), ("parse_new_api", F)]);
    let fix = judge(&baseline, &acceptance, &[report("cargo test", &[("sub", P), ("parse", P), ("parse_new_api", P)])]);
    assert_eq!(fix.fixed, ["parse", "parse_new_api"]);
    let broken = judge(&baseline, &acceptance, &[report("cargo test", &[(BUILD_TEST, F)])]);
    assert_eq!(broken.broken, ["sub"], "a candidate that does not build breaks what passed");
}

#[test]
fn a_base_that_does_not_build_or_run_is_no_baseline() {
    assert_eq!(baseline_failure(&[report("cargo test", &[("a", P), ("b", F)])], true), None, "a failing test is a bug");
    let mut offline = report("cargo test", &[(BUILD_TEST, F)]);
    offline.tests[0].output =
        "error: failed to get `serde` as a dependency\nCould not resolve host: index.crates.io\n".into();
    let why = baseline_failure(&[offline], true).unwrap();
    assert!(why.starts_with("environment failure: `cargo test` does not build"), "{why}");
    let compile = report("cargo test", &[(BUILD_TEST, F)]);
    let why = baseline_failure(&[compile], true).unwrap();
    assert!(why.starts_with("`cargo test` does not build on the base commit"), "{why}");
    let nothing = report("cargo test --exact x", &[(NO_TESTS, F)]);
    assert_eq!(baseline_failure(std::slice::from_ref(&nothing), true), None, "it may name only the new tests");
    assert!(
        baseline_failure(&[nothing], false).unwrap().contains("ran no test on the base commit with the acceptance")
    );
    let refused = not_run_report("make check", "the command policy says Deny".into());
    assert!(baseline_failure(&[refused], true).unwrap().contains("was not run"));
    let mut missing = report("pytest", &[("pytest", F)]);
    missing.framework = TestFramework::ExitCode;
    missing.exit_code = Some(127);
    assert!(baseline_failure(&[missing], true).unwrap().starts_with("environment failure:"));
    assert!(baseline_failure(&[], true).is_some());
}

#[test]
fn declared_names_come_first_and_cover_what_they_denote() {
    let plain = [report("pytest", &[("t.py::old", P)])];
    let with_tests = [report("pytest", &[("t.py::old", P), ("t.py::f[a]", F), ("t.py::f[b]", F), ("t.py::g", F)])];
    let found = acceptance_tests(&plain, &with_tests, &names(&["t.py::f"]));
    assert_eq!(found, ["t.py::f", "t.py::g"]);
}

#[test]
fn a_verdict_fills_a_row() {
    let verdict = Verdict {
        valid: true,
        missing: names(&["sub"]),
        not_run: names(&["x"]),
        acceptance_total: 1,
        ..Verdict::default()
    };
    let mut row = EvidenceRow::default();
    verdict.fill(&mut row);
    assert!(row.validation_ok);
    assert_eq!((row.missing.as_slice(), row.acceptance_not_run.as_slice()), (&names(&["sub"])[..], &names(&["x"])[..]));
}

#[test]
fn missing_tests_make_a_row_unacceptable_and_show_among_its_regressions() {
    let mut row =
        EvidenceRow { validation_ok: true, acceptance_total: 1, acceptance_passed: 1, ..EvidenceRow::default() };
    assert!(row.acceptable());
    assert_eq!(regressions(&row), "none");
    row.missing = names(&["tests::subtracts"]);
    assert!(!row.acceptable(), "deleting a test that passed needs a human's choice");
    assert_eq!(regressions(&row), "missing: tests::subtracts");
    assert!(row.shortcomings().join("; ").contains("deletes or skips tests that passed: tests::subtracts"));
    row.broken = names(&["a"]);
    assert_eq!(regressions(&row), "a; missing: tests::subtracts");
    row.acceptance_not_run = names(&["x"]);
    assert!(row.shortcomings().join("; ").contains("acceptance tests did not run: x"));
}
