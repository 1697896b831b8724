//! A candidate's test results against the baseline (the same commands on the base commit):
//! which tests it fixed, which it broke, which disappeared; and the flaky re-run.
//!
//! Reports are matched by command. A test that passed on the base and fails on the candidate is
//! *broken*; one that failed and now passes is *fixed*. A test that passed on the base and is
//! absent from the candidate's run is *missing*, except when the candidate's run did not get to
//! run tests at all (a [`BUILD_TEST`] failure, or `pkg/<build>` for the tests of one Go package):
//! then every such test that passed on the base is broken, since a change that stops the tests
//! from compiling breaks them all.
//!
//! A test that passed on the base and was skipped here is missing too: a candidate that deletes
//! or skips tests that passed hides what it breaks. The acceptance tests are judged on their own
//! (see [`judge`](super::judge)): one is never a regression nor missing here, even when it passed
//! on the base.
//!
//! A command that was not run at all ([`NOT_RUN`]: refused, or the change did not apply) is
//! compared with nothing: the candidate is not valid and its acceptance tests did not run, but it
//! is not said to break or lose tests it never ran.
//!
//! Flakiness: [`flaky_candidates`] names the failed tests worth running once more; the engine
//! re-runs them and [`merge_rerun`] keeps a test that passed the second time as passed and lists
//! it as flaky.

use std::collections::{BTreeSet, HashMap};

use super::identity::{self, is_pseudo};
use super::parse::{BUILD_TEST, EXIT_TEST, NOT_RUN};
use crate::protocol::{TestReport, TestStatus};

/// More failures than this in one report is not flakiness: nothing is re-run.
pub const MAX_RERUN: usize = 50;

/// How a candidate's tests compare to the baseline's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Comparison {
    /// Failed on the base, pass here (sorted).
    pub fixed: Vec<String>,
    /// Passed on the base, fail here: regressions (sorted).
    pub broken: Vec<String>,
    /// Passed on the base, did not run here although the tests ran (deleted or renamed?) (sorted).
    pub missing: Vec<String>,
    /// Tests passed across the candidate's reports.
    pub passed: u32,
    /// Tests failed across the candidate's reports.
    pub failed: u32,
    /// Tests skipped across the candidate's reports.
    pub skipped: u32,
}

/// Compares the candidate's reports with the baseline's (matched by command; a candidate report
/// without a baseline, such as the acceptance tests, only counts towards the totals).
pub fn compare(baseline: &[TestReport], candidate: &[TestReport]) -> Comparison {
    compare_with(baseline, candidate, &[])
}

/// [`compare`], leaving out of `broken` and `missing` every test one of the `acceptance` names
/// denotes (they are judged against their own expectation, not against the base).
pub fn compare_with(baseline: &[TestReport], candidate: &[TestReport], acceptance: &[String]) -> Comparison {
    let accepted = |name: &str| acceptance.iter().any(|a| identity::matches(a, name));
    let mut fixed = BTreeSet::new();
    let mut broken = BTreeSet::new();
    let mut missing = BTreeSet::new();
    for after in candidate {
        let Some(before) = baseline.iter().find(|b| b.command == after.command) else {
            continue;
        };
        // A command that was not run measured nothing: nothing is fixed, broken or missing by it.
        if after.tests.iter().any(|t| t.name == NOT_RUN) {
            continue;
        }
        let statuses: HashMap<&str, TestStatus> = after.tests.iter().map(|t| (t.name.as_str(), t.status)).collect();
        // Build failures: of the whole run (`<build>`) or of one Go package (`pkg/<build>`).
        let unbuilt: Vec<&str> = after
            .tests
            .iter()
            .filter(|t| t.status == TestStatus::Failed)
            .filter_map(|t| if t.name == BUILD_TEST { Some("") } else { t.name.strip_suffix(BUILD_TEST) })
            .collect();
        let did_not_run = |name: &str| unbuilt.iter().any(|prefix| name.starts_with(prefix));
        for test in &before.tests {
            let now = statuses.get(test.name.as_str()).copied();
            if test.status == TestStatus::Passed && accepted(&test.name) {
                continue;
            }
            match (test.status, now) {
                (TestStatus::Passed, Some(TestStatus::Failed)) => {
                    broken.insert(test.name.clone());
                }
                (TestStatus::Passed, None) if did_not_run(&test.name) => {
                    broken.insert(test.name.clone());
                }
                (TestStatus::Passed, None | Some(TestStatus::Skipped)) => {
                    missing.insert(test.name.clone());
                }
                (TestStatus::Failed, Some(TestStatus::Passed)) => {
                    fixed.insert(test.name.clone());
                }
                // The base did not build (or exited badly) and the candidate's tests run cleanly.
                (TestStatus::Failed, None) if is_pseudo(&test.name) && after.ok => {
                    fixed.insert(test.name.clone());
                }
                _ => {}
            }
        }
    }
    let count = |status| candidate.iter().map(|r| r.count(status)).sum::<usize>() as u32;
    Comparison {
        fixed: fixed.into_iter().collect(),
        broken: broken.into_iter().collect(),
        missing: missing.into_iter().collect(),
        passed: count(TestStatus::Passed),
        failed: count(TestStatus::Failed),
        skipped: count(TestStatus::Skipped),
    }
}

/// The failed tests of `report` worth re-running once: real tests (not a build failure or a bad
/// exit), and none when more than [`MAX_RERUN`] failed (that is a broken change, not flakiness).
pub fn flaky_candidates(report: &TestReport) -> Vec<String> {
    let failed: Vec<String> = report
        .tests
        .iter()
        .filter(|t| t.status == TestStatus::Failed && !is_pseudo(&t.name))
        .map(|t| t.name.clone())
        .collect();
    if failed.len() > MAX_RERUN { Vec::new() } else { failed }
}

/// Merges a re-run into the first run: a test that failed first and passed in `rerun` becomes
/// passed (its output cleared) and is returned as flaky; everything else keeps its first result.
/// The merged report is `ok` when no test is left failing.
pub fn merge_rerun(first: &TestReport, rerun: &TestReport) -> (TestReport, Vec<String>) {
    let again: HashMap<&str, TestStatus> = rerun.tests.iter().map(|t| (t.name.as_str(), t.status)).collect();
    let mut merged = first.clone();
    let mut flaky = Vec::new();
    for test in &mut merged.tests {
        if test.status == TestStatus::Failed
            && !is_pseudo(&test.name)
            && again.get(test.name.as_str()) == Some(&TestStatus::Passed)
        {
            test.status = TestStatus::Passed;
            test.output.clear();
            flaky.push(test.name.clone());
        }
    }
    // A bad exit that only the flaky tests caused goes with them.
    let real_failures = merged.tests.iter().any(|t| t.status == TestStatus::Failed && !is_pseudo(&t.name));
    if !flaky.is_empty() && !real_failures && rerun.ok {
        merged.tests.retain(|t| !(t.name == EXIT_TEST && t.status == TestStatus::Failed));
    }
    merged.ok = !merged.tests.iter().any(|t| t.status == TestStatus::Failed);
    merged.duration_ms = first.duration_ms.saturating_add(rerun.duration_ms);
    (merged, flaky)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::protocol::{TestCase, TestFramework};

    /// A libtest report of `command` with these tests (failed ones print "boom").
    pub(crate) fn report(command: &str, tests: &[(&str, TestStatus)]) -> TestReport {
        let tests: Vec<TestCase> = tests
            .iter()
            .map(|(name, status)| TestCase {
                name: (*name).into(),
                status: *status,
                duration_ms: None,
                output: if *status == TestStatus::Failed { "boom\n".into() } else { String::new() },
            })
            .collect();
        let ok = !tests.iter().any(|t| t.status == TestStatus::Failed);
        TestReport {
            command: command.into(),
            framework: TestFramework::Libtest,
            exit_code: Some(if ok { 0 } else { 101 }),
            ok,
            duration_ms: 10,
            tests,
        }
    }

    use TestStatus::{Failed as F, Passed as P, Skipped as S};

    #[test]
    fn fixed_broken_missing_and_counts() {
        let base = [report("cargo test", &[("a", P), ("b", F), ("c", P), ("d", P), ("e", S)])];
        let cand = [
            report("cargo test", &[("a", F), ("b", P), ("c", P), ("e", S), ("new", P)]),
            report("cargo test --test acceptance", &[("acc1", P), ("acc2", F)]),
        ];
        let cmp = compare(&base, &cand);
        assert_eq!(cmp.fixed, ["b"]);
        assert_eq!(cmp.broken, ["a"]);
        assert_eq!(cmp.missing, ["d"]);
        assert_eq!((cmp.passed, cmp.failed, cmp.skipped), (4, 2, 1));
    }

    #[test]
    fn skipped_tests_that_passed_are_missing_and_acceptance_tests_never_regress() {
        let base = [report("cargo test", &[("a", P), ("b", P), ("acc::weak", P), ("acc::new", F)])];
        let cand = [report("cargo test", &[("a", S), ("b", P), ("acc::weak", F)])];
        let cmp = compare_with(&base, &cand, &["weak".to_owned(), "acc::new".to_owned()]);
        assert_eq!(cmp.missing, ["a"], "skipping a passing test hides it");
        assert!(cmp.broken.is_empty(), "an acceptance test is judged on its own: {cmp:?}");
        assert_eq!(compare(&base, &cand).broken, ["acc::weak"]);
        let no_tests = [report("cargo test", &[(crate::eval::NO_TESTS, F)])];
        assert_eq!(compare(&base, &no_tests).missing, ["a", "acc::weak", "b"], "nothing ran: all missing");
    }

    #[test]
    fn a_command_that_was_not_run_compares_with_nothing() {
        let base = [report("cargo test", &[("a", P), ("b", F)])];
        let cand = [report("cargo test", &[(NOT_RUN, F)])];
        let cmp = compare(&base, &cand);
        assert!(cmp.fixed.is_empty() && cmp.broken.is_empty() && cmp.missing.is_empty(), "{cmp:?}");
        assert_eq!(cmp.failed, 1);
    }

    #[test]
    fn a_candidate_that_does_not_build_breaks_every_passing_test() {
        let base = [report("cargo test", &[("a", P), ("b", F)])];
        let cand = [report("cargo test", &[(BUILD_TEST, F)])];
        let cmp = compare(&base, &cand);
        assert_eq!(cmp.broken, ["a"]);
        assert!(cmp.fixed.is_empty() && cmp.missing.is_empty());
        assert_eq!(cmp.failed, 1);
    }

    #[test]
    fn a_go_package_that_does_not_build_breaks_only_its_own_tests() {
        let base = [report("go test ./...", &[("m/a/TestX", P), ("m/b/TestY", P), ("m/b/TestGone", P)])];
        let cand = [report("go test ./...", &[("m/a/<build>", F), ("m/b/TestY", P)])];
        let cmp = compare(&base, &cand);
        assert_eq!(cmp.broken, ["m/a/TestX"]);
        assert_eq!(cmp.missing, ["m/b/TestGone"]);
    }

    #[test]
    fn a_base_that_does_not_build_is_fixed_by_a_candidate_that_does() {
        let base = [report("cargo test", &[(BUILD_TEST, F)])];
        let cand = [report("cargo test", &[("a", P)])];
        assert_eq!(compare(&base, &cand).fixed, [BUILD_TEST]);
        let still_broken = [report("cargo test", &[("a", F)])];
        assert!(compare(&base, &still_broken).fixed.is_empty());
    }

    #[test]
    fn reports_match_by_command() {
        let base = [report("pytest", &[("a", P)])];
        let cand = [report("cargo test", &[("a", F)])];
        assert!(compare(&base, &cand).broken.is_empty());
    }

    #[test]
    fn flaky_candidates_skip_pseudo_tests_and_mass_failures() {
        let r = report("cargo test", &[("a", F), ("b", P), (BUILD_TEST, F), ("pkg/<exit>", F)]);
        assert_eq!(flaky_candidates(&r), ["a"]);
        let many: Vec<(String, TestStatus)> = (0..=MAX_RERUN).map(|i| (format!("t{i}"), F)).collect();
        let many: Vec<(&str, TestStatus)> = many.iter().map(|(n, s)| (n.as_str(), *s)).collect();
        assert!(flaky_candidates(&report("cargo test", &many)).is_empty());
    }

    #[test]
    fn merge_rerun_marks_flaky_tests_passed() {
        let first = report("cargo test", &[("a", F), ("b", F), ("c", P)]);
        let rerun = report("cargo test", &[("a", P), ("b", F)]);
        let (merged, flaky) = merge_rerun(&first, &rerun);
        assert_eq!(flaky, ["a"]);
        assert_eq!(merged.count(P), 2);
        assert_eq!(merged.count(F), 1);
        assert!(!merged.ok);
        assert_eq!(merged.duration_ms, 20);
        assert_eq!(merged.tests[0].output, "");

        let first = report("cargo test", &[("a", F), (EXIT_TEST, F)]);
        let rerun = report("cargo test", &[("a", P)]);
        let (merged, flaky) = merge_rerun(&first, &rerun);
        assert_eq!(flaky, ["a"]);
        assert!(merged.ok, "{merged:#?}");
    }
}
