//! The evaluation layer's building blocks: everything the Left Hand needs to compare candidates
//! with evidence rather than opinion (DESIGN §8). Each piece is pure and separately tested; the
//! engine composes them.
//!
//! - [`instrument`]: makes a configured test command report per-test results.
//! - [`parse`]: turns a test command's output into a [`TestReport`](crate::protocol::TestReport)
//!   (libtest JSON, nextest and pytest JUnit XML, `go test -json`, or the exit code alone).
//! - [`compare`]: fail→pass and pass→fail against the baseline, flaky re-runs.
//! - [`identity`]: which reported tests an expected test name denotes, per ecosystem.
//! - [`human`]: a test command's plain output read for a run of no test (the validation stage).
//! - [`hunks`]: unified diffs parsed into files and hunks, changed lines, diff stats; [`combine`]
//!   builds one patch from hunks of several candidates, with provenance, and applies it.
//! - [`analysis`]: clippy and ruff findings, kept only on changed lines.
//! - [`complexity`]: decision points from a tree-sitter parse, and their change.
//! - [`evidence_check`]: a synthesis recommendation checked against the matrix.
//! - [`score`]: dominance, ranking and best values of the evidence matrix, and its hash.
//! - [`run`]: instrument, run in the sandbox, parse.
//! - [`bench`]: a worktree measured: fresh builds, every command run, flaky re-runs.
//! - [`session`]: patches or branches evaluated against a base with acceptance tests in a
//!   scratch worktree (`ambidex eval`).
//! - [`judge`]: the baseline (base + acceptance tests), the acceptance tests, the verdict.

pub mod analysis;
pub mod bench;
pub mod combine;
pub mod compare;
pub mod complexity;
pub mod evidence_check;
pub mod exhibit;
pub mod gotest;
pub mod human;
pub mod hunks;
pub mod identity;
pub mod instrument;
pub mod judge;
pub mod junit;
pub mod libtest;
pub mod parse;
pub mod run;
pub mod score;
pub mod session;

pub use analysis::{AnalysisCommand, Analyzer, analysis_command, new_in_changed, parse_clippy, parse_ruff};
pub use bench::{Bench, Measured, freshen, measure, run_all};
pub use combine::{CombineError, Combined, apply, combine};
pub use compare::{Comparison, compare, compare_with, flaky_candidates, merge_rerun};
pub use complexity::{complexity, complexity_delta};
pub use evidence_check::contradictions;
pub use human::{no_tests_ran, requested_not_run};
pub use hunks::{ChangedLines, FilePatch, Hunk, changed_lines, diff_stats, diff_stats_excluding, parse_patch};
pub use identity::{Outcome, is_test_path};
pub use instrument::{Instrumented, instrument};
pub use judge::{NOT_RUN, Verdict, acceptance_tests, baseline, baseline_failure, judge, not_run_report, regressions};
pub use parse::{BUILD_TEST, EXIT_TEST, NO_TESTS, exit_code_report, parse};
pub use run::{RunTests, RunTestsError, run_tests};
pub use score::{COLUMNS, best_per_column, dominates, matrix_hash, rank};
