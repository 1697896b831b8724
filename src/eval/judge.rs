//! Judging one candidate's test reports: the baseline they are compared with (the base commit
//! *with* the acceptance tests), which tests are the acceptance tests, whether the base can serve
//! as a baseline at all, and the verdict (fixed, broken, missing, acceptance passed or not run).
//!
//! The rules (issue 18, "evidence you can bet on"):
//! - The baseline is the base commit plus the acceptance tests, so a new test fails there and a
//!   changed test is judged by its new expectation: a fix shows as *fixed*, and a candidate that
//!   leaves the bug in place breaks nothing it did not already fail. When the acceptance tests keep
//!   the suite from building on the base (they call an API the fix adds), the base's own run
//!   stands in for the other tests and the acceptance tests count as failing there.
//! - An acceptance test is never a regression: it is judged against its expectation (pass), not
//!   against the base. One that matches no reported test *did not run*, which is not a pass.
//! - Tests that passed on the baseline and did not run (or were skipped) are *missing*.
//! - A base that does not build, does not run, or runs no test is no baseline: the caller stops
//!   with [`baseline_failure`]'s reason instead of scoring candidates against nothing.

use std::collections::BTreeSet;

use super::compare::compare_with;
use super::identity::{self, Outcome, is_pseudo};
use super::parse::{BUILD_TEST, NO_TESTS};
use crate::protocol::{EvidenceRow, TestCase, TestFramework, TestReport, TestStatus};

pub use super::parse::NOT_RUN;

/// The report of a command that was not run, saying why.
pub fn not_run_report(command: &str, why: String) -> TestReport {
    TestReport {
        command: command.to_owned(),
        framework: TestFramework::ExitCode,
        exit_code: None,
        ok: false,
        duration_ms: 0,
        tests: vec![TestCase { name: NOT_RUN.into(), status: TestStatus::Failed, duration_ms: None, output: why }],
    }
}

/// Why the base commit's run `plain` cannot serve as a baseline, if it cannot: a command was not
/// run, did not build, was killed or ran no test. An environment failure (a missing program, no
/// network for dependencies) says so. Check the base alone with `before_tests` (a command may
/// name only tests the acceptance tests bring, so running none there is fine) and the baseline
/// (the base with the acceptance tests) without.
pub fn baseline_failure(plain: &[TestReport], before_tests: bool) -> Option<String> {
    if plain.is_empty() {
        return Some("there is no validation command to measure candidates with".into());
    }
    let mut reasons = Vec::new();
    for report in plain {
        let real = report.tests.iter().any(|t| !is_pseudo(&t.name));
        let pseudo = report.tests.iter().find(|t| t.status == TestStatus::Failed && is_pseudo(&t.name));
        let why = match pseudo {
            Some(test) if test.name == NOT_RUN => Some("was not run".to_owned()),
            Some(test) if test.name == NO_TESTS && !before_tests => Some("ran no test".to_owned()),
            Some(test) if test.name == NO_TESTS => None,
            Some(test) if !real && (test.name == BUILD_TEST || test.name.ends_with(BUILD_TEST)) => {
                Some("does not build".to_owned())
            }
            _ if report.exit_code.is_none() && !real => Some("was killed before it reported a test".to_owned()),
            _ if report.framework == TestFramework::ExitCode && matches!(report.exit_code, Some(126 | 127)) => {
                Some("could not start (command not found or not executable)".to_owned())
            }
            _ => None,
        };
        if let Some(why) = why {
            let output: String = report.tests.iter().map(|t| t.output.as_str()).collect::<Vec<_>>().join("\n");
            let kind = if environmental(&output) || matches!(report.exit_code, Some(126 | 127)) {
                "environment failure: "
            } else {
                ""
            };
            let last = output.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("").trim();
            let on = if before_tests { "on the base commit" } else { "on the base commit with the acceptance tests" };
            reasons.push(format!("{kind}`{}` {why} {on} ({last})", report.command));
        }
    }
    (!reasons.is_empty()).then(|| reasons.join("; "))
}

/// Whether a failure's output says the environment, not the code, is at fault.
fn environmental(output: &str) -> bool {
    let output = output.to_lowercase();
    [
        "could not resolve host",
        "failed to download",
        "failed to get",
        "failed to query replaced source",
        "network",
        "no matching package named",
        "command not found",
        "no module named pytest",
        "no such file or directory",
        "permission denied",
        "no space left on device",
    ]
    .iter()
    .any(|needle| output.contains(needle))
}

/// The acceptance tests: the `declared` names, then every test the acceptance files brought
/// (in `with_tests`, not in `plain`) and every test they changed (passed in `plain`, fails in
/// `with_tests`) that no declared name already denotes.
pub fn acceptance_tests(plain: &[TestReport], with_tests: &[TestReport], declared: &[String]) -> Vec<String> {
    let before: std::collections::HashMap<&str, TestStatus> =
        plain.iter().flat_map(|r| &r.tests).map(|t| (t.name.as_str(), t.status)).collect();
    let mut out: Vec<String> = Vec::new();
    for name in declared {
        if !out.contains(name) {
            out.push(name.clone());
        }
    }
    let found: BTreeSet<String> = with_tests
        .iter()
        .flat_map(|r| &r.tests)
        .filter(|t| !is_pseudo(&t.name))
        .filter(|t| match before.get(t.name.as_str()) {
            None => true,
            Some(status) => *status == TestStatus::Passed && t.status == TestStatus::Failed,
        })
        .map(|t| t.name.clone())
        .collect();
    for name in found {
        if !declared.iter().any(|d| identity::matches(d, &name)) {
            out.push(name);
        }
    }
    out
}

/// The baseline candidates are compared with: the run of the base with the acceptance tests,
/// where it ran tests; where the acceptance tests kept a command from running any (they do not
/// build on the base), the base's own run with the acceptance tests added as failing.
pub fn baseline(plain: &[TestReport], with_tests: &[TestReport], acceptance: &[String]) -> Vec<TestReport> {
    let mut out = Vec::with_capacity(plain.len().max(with_tests.len()));
    for report in with_tests {
        let ran = report.tests.iter().any(|t| !is_pseudo(&t.name));
        let Some(own) = plain.iter().find(|p| p.command == report.command).filter(|_| !ran) else {
            out.push(report.clone());
            continue;
        };
        let why = report.tests.iter().map(|t| t.output.as_str()).collect::<String>();
        let mut merged = own.clone();
        for name in acceptance {
            if !merged.tests.iter().any(|t| identity::matches(name, &t.name)) {
                merged.tests.push(TestCase {
                    name: name.clone(),
                    status: TestStatus::Failed,
                    duration_ms: None,
                    output: format!("[with the acceptance tests, the base did not run its tests]\n{why}"),
                });
            }
        }
        merged.ok = !merged.tests.iter().any(|t| t.status == TestStatus::Failed);
        out.push(merged);
    }
    out.extend(plain.iter().filter(|p| !with_tests.iter().any(|w| w.command == p.command)).cloned());
    out
}

/// One candidate's judged evidence.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Verdict {
    /// Every validation command ran and passed.
    pub valid: bool,
    /// Failed on the baseline, pass here.
    pub fixed: Vec<String>,
    /// Passed on the baseline, fail here (acceptance tests never).
    pub broken: Vec<String>,
    /// Passed on the baseline, did not run or were skipped here (deleted, renamed, skipped).
    pub missing: Vec<String>,
    /// Acceptance tests that passed.
    pub acceptance_passed: u32,
    /// How many acceptance tests there are.
    pub acceptance_total: u32,
    /// Acceptance tests that failed or did not run.
    pub acceptance_failed: Vec<String>,
    /// Acceptance tests that matched no reported test (a subset of `acceptance_failed`).
    pub not_run: Vec<String>,
    /// Tests passed across the reports.
    pub passed: u32,
    /// Tests failed across the reports.
    pub failed: u32,
}

impl Verdict {
    /// Copies the verdict into a matrix row.
    pub fn fill(self, row: &mut EvidenceRow) {
        row.validation_ok = self.valid;
        row.tests_passed = self.passed;
        row.tests_failed = self.failed;
        row.fixed = self.fixed;
        row.broken = self.broken;
        row.missing = self.missing;
        row.acceptance_passed = self.acceptance_passed;
        row.acceptance_total = self.acceptance_total;
        row.acceptance_failed = self.acceptance_failed;
        row.acceptance_not_run = self.not_run;
    }
}

/// Judges a candidate's `reports` against `baseline` and the `acceptance` test names.
pub fn judge(baseline: &[TestReport], acceptance: &[String], reports: &[TestReport]) -> Verdict {
    let comparison = compare_with(baseline, reports, acceptance);
    let mut verdict = Verdict {
        valid: !reports.is_empty() && reports.iter().all(|r| r.ok),
        fixed: comparison.fixed,
        broken: comparison.broken,
        missing: comparison.missing,
        acceptance_total: acceptance.len() as u32,
        passed: comparison.passed,
        failed: comparison.failed,
        ..Verdict::default()
    };
    for name in acceptance {
        match identity::outcome(name, reports) {
            Outcome::Passed => verdict.acceptance_passed += 1,
            Outcome::Failed => verdict.acceptance_failed.push(name.clone()),
            Outcome::NotRun => {
                verdict.acceptance_failed.push(name.clone());
                verdict.not_run.push(name.clone());
            }
        }
    }
    verdict
}

/// A row's regressions in words: the broken tests, then the missing ones; `none`.
pub fn regressions(row: &EvidenceRow) -> String {
    match (row.broken.is_empty(), row.missing.is_empty()) {
        (true, true) => "none".to_owned(),
        (false, true) => row.broken.join(", "),
        (true, false) => format!("missing: {}", row.missing.join(", ")),
        (false, false) => format!("{}; missing: {}", row.broken.join(", "), row.missing.join(", ")),
    }
}

#[cfg(test)]
#[path = "judge_tests.rs"]
mod tests;
