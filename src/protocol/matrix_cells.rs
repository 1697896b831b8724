//! The evidence matrix as text cells: one source of truth for every place a human reads it (the
//! control room, `ambidex gate show`, `gate list`, the PR document), so they agree cell for cell.

use super::evidence::{EvidenceMatrix, EvidenceRow};

/// The matrix's columns, in the order every view shows them.
pub const MATRIX_HEADERS: [&str; 15] = [
    "CANDIDATE",
    "STRATEGY",
    "VALID",
    "PASS",
    "FAIL",
    "FIXED",
    "BROKEN",
    "FLAKY",
    "ACCEPT",
    "OTHERS' TESTS",
    "FINDINGS",
    "STATIC",
    "DIFF",
    "CPLX",
    "COST",
];

/// A row's cells, one per [`MATRIX_HEADERS`] entry.
pub fn matrix_cells(row: &EvidenceRow) -> [String; 15] {
    [
        row.candidate.clone(),
        row.strategy.clone(),
        if row.validation_ok { "yes" } else { "no" }.into(),
        row.tests_passed.to_string(),
        row.tests_failed.to_string(),
        row.fixed.len().to_string(),
        row.broken.len().to_string(),
        row.flaky.len().to_string(),
        format!("{}/{}", row.acceptance_passed, row.acceptance_total),
        row.differential_failed.len().to_string(),
        format!("{} ({} serious)", row.analyst_findings.len(), row.serious_findings()),
        row.new_findings.len().to_string(),
        format!("+{} -{}", row.diff.added, row.diff.removed),
        format!("{:+}", row.complexity_delta),
        format!("${:.2}", row.cost_micros as f64 / 1e6),
    ]
}

/// One line per matrix: each candidate with its validation, acceptance and regressions, e.g.
/// `production: valid no, accept 0/2, broken 0 · c1: valid yes, accept 2/2, broken 0`.
pub fn matrix_summary(matrix: &EvidenceMatrix) -> String {
    matrix
        .rows
        .iter()
        .map(|row| {
            format!(
                "{}: valid {}, accept {}/{}, broken {}",
                row.candidate,
                if row.validation_ok { "yes" } else { "no" },
                row.acceptance_passed,
                row.acceptance_total,
                row.broken.len()
            )
        })
        .collect::<Vec<_>>()
        .join(" · ")
}
