//! The Left Hand's vocabulary: parsed test results, static-analysis findings, the evidence matrix
//! that compares candidates, and the synthesis agent's recommendation. These travel in events, so
//! they hold only integers and strings (no floats enter hashed records).

use serde::{Deserialize, Serialize};

use super::event::Digest;
use super::museum::{ExhibitCheck, ExhibitOutcome};
use super::work::Finding;

/// How one test ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TestStatus {
    /// It passed.
    Passed,
    /// It failed (or panicked, or timed out).
    Failed,
    /// It was skipped or ignored.
    Skipped,
}

/// Where per-test results came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TestFramework {
    /// libtest's JSON events (`cargo test -- -Z unstable-options --format json`).
    Libtest,
    /// cargo-nextest's JUnit report.
    Nextest,
    /// pytest's JUnit XML report.
    Pytest,
    /// `go test -json`.
    GoTest,
    /// No per-test results: the command's exit code stands for one test.
    ExitCode,
}

/// One test's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestCase {
    /// The test's full name (`module::test`, `tests/test_x.py::test_y`, `pkg/TestZ`).
    pub name: String,
    /// How it ended.
    pub status: TestStatus,
    /// How long it took, when the framework says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    /// For failures: the end of its output (redacted, bounded).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub output: String,
}

/// One test command's parsed results.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestReport {
    /// The command as configured (before the engine added flags for structured output).
    pub command: String,
    /// Where the per-test results came from.
    pub framework: TestFramework,
    /// The exit code (`None` when killed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// Whether the command succeeded.
    pub ok: bool,
    /// Wall time of the command.
    pub duration_ms: u64,
    /// Every test it ran.
    pub tests: Vec<TestCase>,
}

impl TestReport {
    /// How many tests ended with `status`.
    pub fn count(&self, status: TestStatus) -> usize {
        self.tests.iter().filter(|t| t.status == status).count()
    }
}

/// A finding of a static analyzer on a changed line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaticFinding {
    /// `clippy`, `ruff`, …
    pub tool: String,
    /// The rule, e.g. `clippy::needless_range_loop` or `F401`.
    pub rule: String,
    /// The file, relative to the repository root.
    pub file: String,
    /// The 1-based line.
    pub line: u32,
    /// The analyzer's message.
    pub message: String,
}

/// Lines and files a diff changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DiffStats {
    /// Files changed.
    pub files: u32,
    /// Lines added.
    pub added: u32,
    /// Lines removed.
    pub removed: u32,
}

/// A candidate that worked on a task: the production diff or one of the Left Hand's challengers.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CandidatePlan {
    /// Its label (`production`, `c1`, `c2`, …), also its worktree's branch suffix.
    pub label: String,
    /// The strategy it follows (`minimal_diff`, `test_first`, `alternative_design`, …).
    pub strategy: String,
    /// The provider it runs on, when it has its own (`engine.challengers`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// The model it runs on, when it has its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The ACP agent (`[acp.agents.NAME]`) that plays it instead of a model, when one does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
}

/// One candidate's row of the evidence matrix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct EvidenceRow {
    /// The candidate's label.
    pub candidate: String,
    /// Its strategy.
    pub strategy: String,
    /// The provider and model (`openai/gpt-5`) its agents ran on, when the candidates ran on
    /// different ones (`engine.challengers`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub model: String,
    /// The branch its change lives on.
    pub branch: String,
    /// Whether every validation command passed.
    pub validation_ok: bool,
    /// Tests passed across the validation commands.
    pub tests_passed: u32,
    /// Tests failed across the validation commands.
    pub tests_failed: u32,
    /// Tests that failed on the base commit and pass here.
    pub fixed: Vec<String>,
    /// Tests that passed on the base commit and fail here (regressions).
    pub broken: Vec<String>,
    /// Tests that failed, then passed when re-run once.
    pub flaky: Vec<String>,
    /// Tests that passed on the baseline and did not run here, or were skipped (deleted, renamed,
    /// skipped): a candidate with any is never acceptable without a human's choice.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<String>,
    /// The eval designer's acceptance tests that pass here.
    pub acceptance_passed: u32,
    /// How many acceptance tests there are.
    pub acceptance_total: u32,
    /// Acceptance tests that fail here (or did not run).
    pub acceptance_failed: Vec<String>,
    /// Acceptance tests that matched no test this candidate's run reported: they did not run.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub acceptance_not_run: Vec<String>,
    /// How the build the tests ran on was made (what makes it as good as a cold build).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub build: String,
    /// Other candidates' new tests that fail on this candidate (differential testing), as
    /// `candidate: test`.
    pub differential_failed: Vec<String>,
    /// Static-analysis findings in the lines this candidate changed.
    pub new_findings: Vec<StaticFinding>,
    /// The failure analyst's findings.
    pub analyst_findings: Vec<Finding>,
    /// Diff size against the base.
    pub diff: DiffStats,
    /// Change in decision points (branches, loops, boolean operators) in the changed files.
    pub complexity_delta: i64,
    /// Model tokens the candidate used (input plus output).
    pub tokens: u64,
    /// Money, in micro-dollars.
    pub cost_micros: u64,
    /// Wall time of its agents and evaluation.
    pub wall_ms: u64,
    /// The parsed test reports behind the counts (for drilling into a cell).
    pub reports: Vec<TestReport>,
    /// The bug museum's exhibits relevant to the files this candidate changed, each run against
    /// it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub museum: Vec<ExhibitCheck>,
}

impl EvidenceRow {
    /// The museum's exhibits that held here (their tests pass).
    pub fn exhibits_held(&self) -> usize {
        self.museum.iter().filter(|c| c.outcome == ExhibitOutcome::Held).count()
    }

    /// The museum's exhibits this candidate brings back.
    pub fn exhibits_broken(&self) -> Vec<&ExhibitCheck> {
        self.museum.iter().filter(|c| matches!(c.outcome, ExhibitOutcome::Broken { .. })).collect()
    }

    /// Blocker or major findings of the failure analyst.
    pub fn serious_findings(&self) -> usize {
        self.analyst_findings.iter().filter(|f| matches!(f.severity.as_str(), "blocker" | "major")).count()
    }
}

/// Every candidate's evidence, side by side. Decisions made from it record its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct EvidenceMatrix {
    /// The base commit everything was measured against.
    pub base: String,
    /// The baseline reports: the validation commands on the base commit with the acceptance tests.
    pub baseline: Vec<TestReport>,
    /// The acceptance tests' names.
    pub acceptance_tests: Vec<String>,
    /// Acceptance tests that already passed on the base commit (weak).
    pub weak_acceptance: Vec<String>,
    /// One row per candidate, production first when it took part.
    pub rows: Vec<EvidenceRow>,
}

impl EvidenceMatrix {
    /// The row of `candidate`.
    pub fn row(&self, candidate: &str) -> Option<&EvidenceRow> {
        self.rows.iter().find(|r| r.candidate == candidate)
    }
}

/// Which candidate a hunk of an adopted change came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HunkSource {
    /// The candidate's label.
    pub candidate: String,
    /// The file.
    pub file: String,
    /// The hunk's header (`@@ -12,4 +12,6 @@`), or `*` for every hunk of the file.
    pub hunk: String,
}

/// An acceptance test and the acceptance criterion it demonstrates (1-based, in the task's
/// order), as the eval designer declared it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CriterionCoverage {
    /// The criterion's number.
    pub criterion: u32,
    /// The test's name, as the runner prints it.
    pub test: String,
}

/// What an adoption did with a file the production change had touched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileFate {
    /// Production's version stays (its own tests, which the adopted change does not touch).
    Kept,
    /// The adopted change has its own version of the file.
    Replaced,
    /// The adopted change leaves the file as on the base: production's change to it is gone.
    Dropped,
}

/// A file of the production change and what the adoption did with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductionFile {
    /// The file.
    pub path: String,
    /// What happened to production's change to it.
    pub fate: FileFate,
    /// Why, in words.
    pub why: String,
}

/// What the synthesis agent recommends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Recommendation {
    /// Adopt one candidate's change whole.
    Adopt {
        /// The candidate.
        candidate: String,
    },
    /// Combine hunks of several candidates.
    Combine {
        /// Each hunk and where it comes from.
        hunks: Vec<HunkSource>,
    },
    /// Keep the production diff.
    KeepProduction,
    /// None is good enough: escalate to a human.
    RejectAll,
}

impl Recommendation {
    /// The evidence matrix row of a recommended combination: the combined change is measured
    /// like any candidate before the promotion gate opens.
    pub const COMBINED: &'static str = "combined";

    /// The matrix row this recommendation stands on, when it names one.
    pub fn row(&self) -> Option<&str> {
        match self {
            Recommendation::Adopt { candidate } => Some(candidate),
            Recommendation::Combine { .. } => Some(Recommendation::COMBINED),
            Recommendation::KeepProduction => Some("production"),
            Recommendation::RejectAll => None,
        }
    }

    /// A short label for lists and gates: `adopt c2`, `combine 3 hunks`, `keep production`, `reject all`.
    pub fn label(&self) -> String {
        match self {
            Recommendation::Adopt { candidate } => format!("adopt {candidate}"),
            Recommendation::Combine { hunks } => format!("combine {} hunks", hunks.len()),
            Recommendation::KeepProduction => "keep production".into(),
            Recommendation::RejectAll => "reject all".into(),
        }
    }
}

/// One reason behind a recommendation, tied to matrix rows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SynthesisReason {
    /// The reason.
    pub text: String,
    /// The candidates (matrix rows) it rests on.
    #[serde(default)]
    pub rows: Vec<String>,
}

/// The synthesis agent's recommendation, with the matrix it was made from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Synthesis {
    /// What to do.
    pub recommendation: Recommendation,
    /// Why, each reason tied to rows.
    pub reasons: Vec<SynthesisReason>,
    /// The hash of the evidence matrix it read.
    pub matrix_hash: Digest,
    /// Where the recommendation or its reasons contradict the matrix, found by code (each starts
    /// "contradicts the evidence:"). Policy never chooses a flagged recommendation.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<String>,
}
