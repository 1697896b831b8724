//! The evidence matrix as text cells: one source of truth for every place a human reads it (the
//! control room, `ambidex gate show`, `gate list`, the PR document), so they agree cell for cell.
//! Each [`EvidenceColumn`] has its header, its cell text for a row, the value it ranks by and
//! which way is better; [`matrix_cells`] and [`EvidenceMatrix::cells`] are rows made of them.

use super::evidence::{EvidenceMatrix, EvidenceRow};

/// The matrix's columns, in the order every view shows them.
pub const MATRIX_HEADERS: [&str; 17] = [
    "CANDIDATE",
    "STRATEGY",
    "VALID",
    "PASS",
    "FAIL",
    "FIXED",
    "BROKEN",
    "MISSING",
    "FLAKY",
    "ACCEPT",
    "OTHERS' TESTS",
    "MUSEUM",
    "FINDINGS",
    "STATIC",
    "DIFF",
    "CPLX",
    "COST",
];

/// A row's cells, one per [`MATRIX_HEADERS`] entry.
pub fn matrix_cells(row: &EvidenceRow) -> [String; 17] {
    COLUMNS.map(|column| column.text(row))
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

/// The label of the production track's candidate (its worktree, its matrix row).
pub const PRODUCTION: &str = "production";

/// Which way is better in a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Better {
    /// More is better.
    Higher,
    /// Less is better.
    Lower,
    /// Not ranked.
    None,
}

/// A column of the evidence matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EvidenceColumn {
    /// The candidate's label.
    Candidate,
    /// Its strategy.
    Strategy,
    /// Whether every validation command passed.
    Valid,
    /// Tests passed.
    Passed,
    /// Tests failed.
    Failed,
    /// Tests fixed (failed on the base commit, pass here).
    Fixed,
    /// Tests broken (passed on the base commit, fail here).
    Broken,
    /// Tests that passed on the baseline and did not run here (deleted or skipped).
    Missing,
    /// Tests that failed, then passed when re-run.
    Flaky,
    /// Acceptance tests passing, of all.
    Acceptance,
    /// Other candidates' new tests that fail here.
    FailsOthers,
    /// The bug museum's exhibits relevant to the change that hold here, of those run.
    Museum,
    /// The failure analyst's findings, and how many are serious.
    Findings,
    /// Static-analysis findings in the changed lines.
    Static,
    /// The diff's size.
    Diff,
    /// The change in decision points.
    Complexity,
    /// Money spent.
    Cost,
}

impl EvidenceColumn {
    /// Every column, in the order every view shows them (the order of [`MATRIX_HEADERS`]).
    pub const ALL: &'static [EvidenceColumn] = &COLUMNS;
}

/// The columns as an array, one per [`MATRIX_HEADERS`] entry.
const COLUMNS: [EvidenceColumn; 17] = [
    EvidenceColumn::Candidate,
    EvidenceColumn::Strategy,
    EvidenceColumn::Valid,
    EvidenceColumn::Passed,
    EvidenceColumn::Failed,
    EvidenceColumn::Fixed,
    EvidenceColumn::Broken,
    EvidenceColumn::Missing,
    EvidenceColumn::Flaky,
    EvidenceColumn::Acceptance,
    EvidenceColumn::FailsOthers,
    EvidenceColumn::Museum,
    EvidenceColumn::Findings,
    EvidenceColumn::Static,
    EvidenceColumn::Diff,
    EvidenceColumn::Complexity,
    EvidenceColumn::Cost,
];

impl EvidenceColumn {
    /// The columns a decision needs at least, for narrow surfaces (the gate's overlay): the
    /// others may be left out when they do not fit.
    pub const ESSENTIAL: &'static [EvidenceColumn] = &[
        EvidenceColumn::Candidate,
        EvidenceColumn::Valid,
        EvidenceColumn::Fixed,
        EvidenceColumn::Broken,
        EvidenceColumn::Acceptance,
        EvidenceColumn::FailsOthers,
        EvidenceColumn::Museum,
        EvidenceColumn::Findings,
        EvidenceColumn::Diff,
        EvidenceColumn::Cost,
    ];

    /// The column's header, as [`MATRIX_HEADERS`] has it.
    pub fn header(self) -> &'static str {
        match self {
            EvidenceColumn::FailsOthers => "OTHERS' TESTS",
            other => other.short_header(),
        }
    }

    /// The column's header in as few letters as can say it, for narrow screens.
    pub fn short_header(self) -> &'static str {
        match self {
            EvidenceColumn::Candidate => "CANDIDATE",
            EvidenceColumn::Strategy => "STRATEGY",
            EvidenceColumn::Valid => "VALID",
            EvidenceColumn::Passed => "PASS",
            EvidenceColumn::Failed => "FAIL",
            EvidenceColumn::Fixed => "FIXED",
            EvidenceColumn::Broken => "BROKEN",
            EvidenceColumn::Missing => "MISSING",
            EvidenceColumn::Flaky => "FLAKY",
            EvidenceColumn::Acceptance => "ACCEPT",
            EvidenceColumn::FailsOthers => "OTHERS'",
            EvidenceColumn::Museum => "MUSEUM",
            EvidenceColumn::Findings => "FINDINGS",
            EvidenceColumn::Static => "STATIC",
            EvidenceColumn::Diff => "DIFF",
            EvidenceColumn::Complexity => "CPLX",
            EvidenceColumn::Cost => "COST",
        }
    }

    /// What the column means, in words (for legends and `--help`-like listings).
    pub fn meaning(self) -> &'static str {
        match self {
            EvidenceColumn::Candidate => "the candidate",
            EvidenceColumn::Strategy => "its strategy",
            EvidenceColumn::Valid => "every validation command passed",
            EvidenceColumn::Passed => "tests passed",
            EvidenceColumn::Failed => "tests failed",
            EvidenceColumn::Fixed => "tests failing on the base commit that pass here",
            EvidenceColumn::Broken => "tests passing on the base commit that fail here",
            EvidenceColumn::Missing => "tests passing on the base commit that did not run here (deleted or skipped)",
            EvidenceColumn::Flaky => "tests that failed, then passed when re-run",
            EvidenceColumn::Acceptance => "acceptance tests passing, of all",
            EvidenceColumn::FailsOthers => "other candidates' new tests failing here",
            EvidenceColumn::Museum => "bug museum exhibits touching the change that hold here, of those run",
            EvidenceColumn::Findings => "failure analyst findings (blocker or major ones are serious)",
            EvidenceColumn::Static => "static-analysis findings in the changed lines",
            EvidenceColumn::Diff => "lines added and removed against the base",
            EvidenceColumn::Complexity => "change in decision points",
            EvidenceColumn::Cost => "model cost",
        }
    }

    /// Which way is better.
    pub fn better(self) -> Better {
        match self {
            EvidenceColumn::Candidate | EvidenceColumn::Strategy => Better::None,
            EvidenceColumn::Valid
            | EvidenceColumn::Passed
            | EvidenceColumn::Fixed
            | EvidenceColumn::Acceptance
            | EvidenceColumn::Museum => Better::Higher,
            _ => Better::Lower,
        }
    }

    /// The value a row is ranked by in this column (0 for unranked columns).
    pub fn value(self, row: &EvidenceRow) -> i64 {
        let len = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
        match self {
            EvidenceColumn::Candidate | EvidenceColumn::Strategy => 0,
            EvidenceColumn::Valid => i64::from(row.validation_ok),
            EvidenceColumn::Passed => i64::from(row.tests_passed),
            EvidenceColumn::Failed => i64::from(row.tests_failed),
            EvidenceColumn::Fixed => len(row.fixed.len()),
            EvidenceColumn::Broken => len(row.broken.len()),
            EvidenceColumn::Missing => len(row.missing.len()),
            EvidenceColumn::Flaky => len(row.flaky.len()),
            EvidenceColumn::Acceptance => i64::from(row.acceptance_passed),
            EvidenceColumn::FailsOthers => len(row.differential_failed.len()),
            // A re-broken exhibit weighs more than any number held.
            EvidenceColumn::Museum => {
                len(row.exhibits_held()).saturating_sub(len(row.exhibits_broken().len()).saturating_mul(1000))
            }
            // Serious findings weigh more than any number of minor ones.
            EvidenceColumn::Findings => {
                len(row.serious_findings()).saturating_mul(1000).saturating_add(len(row.analyst_findings.len()))
            }
            EvidenceColumn::Static => len(row.new_findings.len()),
            EvidenceColumn::Diff => i64::from(row.diff.added) + i64::from(row.diff.removed),
            EvidenceColumn::Complexity => row.complexity_delta,
            EvidenceColumn::Cost => i64::try_from(row.cost_micros).unwrap_or(i64::MAX),
        }
    }

    /// The cell's text for `row`.
    pub fn text(self, row: &EvidenceRow) -> String {
        match self {
            EvidenceColumn::Candidate => row.candidate.clone(),
            EvidenceColumn::Strategy if row.model.is_empty() => row.strategy.clone(),
            EvidenceColumn::Strategy => format!("{} · {}", row.strategy, row.model),
            EvidenceColumn::Valid => if row.validation_ok { "yes" } else { "no" }.to_owned(),
            EvidenceColumn::Passed => row.tests_passed.to_string(),
            EvidenceColumn::Failed => row.tests_failed.to_string(),
            EvidenceColumn::Fixed => row.fixed.len().to_string(),
            EvidenceColumn::Broken => row.broken.len().to_string(),
            EvidenceColumn::Missing => row.missing.len().to_string(),
            EvidenceColumn::Flaky => row.flaky.len().to_string(),
            EvidenceColumn::Acceptance => format!("{}/{}", row.acceptance_passed, row.acceptance_total),
            EvidenceColumn::FailsOthers => row.differential_failed.len().to_string(),
            EvidenceColumn::Museum if row.museum.is_empty() => "-".to_owned(),
            EvidenceColumn::Museum => format!("{}/{}", row.exhibits_held(), row.museum.len()),
            EvidenceColumn::Findings => format!("{} ({} serious)", row.analyst_findings.len(), row.serious_findings()),
            EvidenceColumn::Static => row.new_findings.len().to_string(),
            EvidenceColumn::Diff => format!("+{} -{}", row.diff.added, row.diff.removed),
            EvidenceColumn::Complexity => format!("{:+}", row.complexity_delta),
            EvidenceColumn::Cost => money(row.cost_micros),
        }
    }
}

/// Money in micro-dollars, as `$0.12`.
pub fn money(micros: u64) -> String {
    format!("${:.2}", micros as f64 / 1e6)
}

/// One labelled cell of a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvidenceCell {
    /// Its column.
    pub column: EvidenceColumn,
    /// The text shown.
    pub text: String,
    /// Whether it holds the best value of its column (none is best when every row ties).
    pub best: bool,
}

impl EvidenceMatrix {
    /// The rows holding the best value of `column` (none when every row ties or it is not ranked).
    pub fn best(&self, column: EvidenceColumn) -> Vec<usize> {
        let values: Vec<i64> = self.rows.iter().map(|row| column.value(row)).collect();
        let target = match column.better() {
            Better::Higher => values.iter().max(),
            Better::Lower => values.iter().min(),
            Better::None => None,
        };
        match target {
            Some(target) if values.iter().any(|v| v != target) => {
                values.iter().enumerate().filter(|(_, v)| *v == target).map(|(i, _)| i).collect()
            }
            _ => Vec::new(),
        }
    }

    /// Row `index` as labelled display cells, one per column of `columns`, the best of each column
    /// marked. This is the one way the matrix becomes text: the control room, `gate show`, `task
    /// show` and the PR document all show these cells.
    pub fn cells(&self, index: usize, columns: &[EvidenceColumn]) -> Vec<EvidenceCell> {
        let Some(row) = self.rows.get(index) else { return Vec::new() };
        columns
            .iter()
            .map(|column| EvidenceCell {
                column: *column,
                text: column.text(row),
                best: self.best(*column).contains(&index),
            })
            .collect()
    }
}

impl EvidenceRow {
    /// Whether the row is good enough to adopt: validation passes, nothing regresses, no test
    /// that passed on the baseline went missing (deleted or skipped: only a human may accept
    /// that), every acceptance test ran and passes, no other candidate's test fails on it, and the
    /// failure analyst found nothing serious.
    pub fn acceptable(&self) -> bool {
        self.shortcomings().is_empty()
    }

    /// Why the row is not good enough to adopt, one phrase each (empty when it is).
    pub fn shortcomings(&self) -> Vec<String> {
        let mut out = Vec::new();
        if !self.validation_ok {
            out.push(format!("validation fails ({} tests failed)", self.tests_failed));
        }
        if !self.broken.is_empty() {
            out.push(format!("breaks {}", self.broken.join(", ")));
        }
        if !self.missing.is_empty() {
            out.push(format!("deletes or skips tests that passed: {}", self.missing.join(", ")));
        }
        if !self.acceptance_failed.is_empty() {
            out.push(format!("fails {} of {} acceptance tests", self.acceptance_failed.len(), self.acceptance_total));
        }
        if !self.acceptance_not_run.is_empty() {
            out.push(format!("acceptance tests did not run: {}", self.acceptance_not_run.join(", ")));
        }
        if !self.differential_failed.is_empty() {
            out.push(format!("fails other candidates' tests: {}", self.differential_failed.join(", ")));
        }
        let broken = self.exhibits_broken();
        if !broken.is_empty() {
            let titles: Vec<String> = broken.iter().map(|c| format!("{} ({})", c.title, c.exhibit.short())).collect();
            out.push(format!("brings back museum exhibits: {}", titles.join("; ")));
        }
        if self.serious_findings() > 0 {
            out.push(format!("{} serious analyst findings", self.serious_findings()));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{DiffStats, Finding};

    fn row(candidate: &str) -> EvidenceRow {
        EvidenceRow {
            candidate: candidate.into(),
            strategy: "plan".into(),
            validation_ok: true,
            acceptance_passed: 2,
            acceptance_total: 2,
            diff: DiffStats { files: 1, added: 4, removed: 1 },
            cost_micros: 12_345,
            wall_ms: 41_900,
            ..EvidenceRow::default()
        }
    }

    #[test]
    fn cells_read_as_the_headless_matrix_does() {
        let mut c1 = row("c1");
        c1.analyst_findings = vec![Finding {
            severity: "minor".into(),
            category: "style".into(),
            file: None,
            message: "long line".into(),
        }];
        c1.differential_failed = vec!["production: tests::x".into()];
        let matrix = EvidenceMatrix { rows: vec![row(PRODUCTION), c1], ..EvidenceMatrix::default() };
        let cells = matrix.cells(1, EvidenceColumn::ALL);
        let text = |column| cells.iter().find(|c| c.column == column).map(|c| c.text.clone()).unwrap_or_default();
        assert_eq!(text(EvidenceColumn::Findings), "1 (0 serious)");
        assert_eq!(text(EvidenceColumn::FailsOthers), "1");
        assert_eq!(text(EvidenceColumn::Valid), "yes");
        assert_eq!(text(EvidenceColumn::Acceptance), "2/2");
        assert_eq!(text(EvidenceColumn::Diff), "+4 -1");
        assert_eq!(text(EvidenceColumn::Cost), "$0.01");
        let headers: Vec<&str> = EvidenceColumn::ALL.iter().map(|c| c.header()).collect();
        assert_eq!(headers, MATRIX_HEADERS, "the columns are the matrix's, in its order");
        assert_eq!(matrix_cells(&matrix.rows[1]).to_vec(), cells.iter().map(|c| c.text.clone()).collect::<Vec<_>>());
        assert_eq!(matrix.best(EvidenceColumn::FailsOthers), vec![0]);
        assert!(matrix.cells(0, EvidenceColumn::ALL).iter().any(|c| c.best), "production is best somewhere");
        assert!(matrix.best(EvidenceColumn::Diff).is_empty(), "a tie marks nothing");
        assert!(matrix.cells(2, EvidenceColumn::ALL).is_empty());
    }

    #[test]
    fn money_shows_cents() {
        assert_eq!(money(0), "$0.00");
        assert_eq!(money(12_000), "$0.01");
        assert_eq!(money(1_230_000), "$1.23");
    }

    #[test]
    fn shortcomings_name_every_reason_a_row_is_not_adoptable() {
        assert!(row("c1").acceptable());
        let mut bad = row("c2");
        bad.validation_ok = false;
        bad.tests_failed = 1;
        bad.acceptance_failed = vec!["a".into()];
        assert_eq!(bad.shortcomings(), ["validation fails (1 tests failed)", "fails 1 of 2 acceptance tests"]);
    }
}
