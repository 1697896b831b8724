//! Comparing candidates on the evidence matrix: dominance, a ranking, the best value of each
//! column, and the matrix's hash that every decision made from it records.
//!
//! The criteria, in ranking order (each is also a column, by its stable name):
//!
//! | column | better |
//! |---|---|
//! | `validation` | every validation command passed |
//! | `regressions` | fewer `broken` plus `missing` plus `differential_failed` |
//! | `acceptance` | more acceptance tests passed |
//! | `findings` | fewer serious analyst findings (blocker or major) |
//! | `static` | fewer new static-analysis findings |
//! | `diff` | fewer lines added plus removed |
//! | `complexity` | lower complexity delta |
//! | `cost` | lower cost |
//! | `time` | lower wall time |
//!
//! [`rank`] orders rows lexicographically by these criteria; rows equal on all of them keep the
//! matrix's order (production first when it took part).

use std::cmp::Ordering;
use std::collections::BTreeMap;

use sha2::{Digest as _, Sha256};

use crate::protocol::Digest;
use crate::protocol::{EvidenceMatrix, EvidenceRow};

/// The columns, in ranking order.
pub const COLUMNS: [&str; 9] =
    ["validation", "regressions", "acceptance", "findings", "static", "diff", "complexity", "cost", "time"];

/// A row's value in each column, as a number where smaller is better.
fn keys(row: &EvidenceRow) -> [i128; 9] {
    let len = |n: usize| n as i128;
    [
        i128::from(!row.validation_ok),
        len(row.broken.len() + row.missing.len() + row.differential_failed.len()),
        -i128::from(row.acceptance_passed),
        len(row.serious_findings()),
        len(row.new_findings.len()),
        i128::from(row.diff.added) + i128::from(row.diff.removed),
        i128::from(row.complexity_delta),
        i128::from(row.cost_micros),
        i128::from(row.wall_ms),
    ]
}

/// Whether `a` is at least as good as `b` on every criterion and strictly better on one.
pub fn dominates(a: &EvidenceRow, b: &EvidenceRow) -> bool {
    let (a, b) = (keys(a), keys(b));
    a.iter().zip(&b).all(|(x, y)| x <= y) && a.iter().zip(&b).any(|(x, y)| x < y)
}

/// The candidates' labels, best first (see the module documentation for the order).
pub fn rank(matrix: &EvidenceMatrix) -> Vec<String> {
    let mut rows: Vec<&EvidenceRow> = matrix.rows.iter().collect();
    rows.sort_by_cached_key(|r| keys(r));
    rows.into_iter().map(|r| r.candidate.clone()).collect()
}

/// For each column (all of [`COLUMNS`]), the labels of the rows with its best value; empty when
/// every row has the same value there (nothing stands out).
pub fn best_per_column(matrix: &EvidenceMatrix) -> BTreeMap<&'static str, Vec<String>> {
    let all: Vec<(&str, [i128; 9])> = matrix.rows.iter().map(|r| (r.candidate.as_str(), keys(r))).collect();
    COLUMNS
        .iter()
        .enumerate()
        .map(|(i, column)| {
            let best = all.iter().map(|(_, k)| k[i]).min();
            let distinct = all.iter().any(|(_, k)| Some(k[i]).cmp(&best) != Ordering::Equal);
            let labels = match best {
                Some(best) if distinct => {
                    all.iter().filter(|(_, k)| k[i] == best).map(|(label, _)| (*label).to_owned()).collect()
                }
                _ => Vec::new(),
            };
            (*column, labels)
        })
        .collect()
}

/// SHA-256 of the matrix's JSON serialization.
pub fn matrix_hash(matrix: &EvidenceMatrix) -> Digest {
    // The matrix holds only strings, integers and booleans: serializing it cannot fail.
    let bytes = serde_json::to_vec(matrix).unwrap_or_default();
    Digest(Sha256::digest(&bytes).into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Finding;
    use crate::protocol::{DiffStats, StaticFinding};

    fn row(label: &str) -> EvidenceRow {
        EvidenceRow {
            candidate: label.into(),
            validation_ok: true,
            acceptance_passed: 3,
            acceptance_total: 3,
            diff: DiffStats { files: 1, added: 10, removed: 2 },
            complexity_delta: 1,
            cost_micros: 1_000,
            wall_ms: 60_000,
            ..EvidenceRow::default()
        }
    }

    fn matrix(rows: Vec<EvidenceRow>) -> EvidenceMatrix {
        EvidenceMatrix { base: "abc".into(), rows, ..EvidenceMatrix::default() }
    }

    fn finding(severity: &str) -> Finding {
        Finding { severity: severity.into(), category: "correctness".into(), file: None, message: "m".into() }
    }

    #[test]
    fn dominance_needs_one_strict_improvement_and_no_loss() {
        let a = row("a");
        let mut b = row("b");
        assert!(!dominates(&a, &b) && !dominates(&b, &a), "equal rows do not dominate");
        b.cost_micros = 2_000;
        assert!(dominates(&a, &b));
        assert!(!dominates(&b, &a));
        b.wall_ms = 1;
        assert!(!dominates(&a, &b) && !dominates(&b, &a), "a trade-off dominates neither way");
    }

    #[test]
    fn rank_follows_the_documented_order() {
        let production = row("production");
        let mut failing = row("failing");
        failing.validation_ok = false;
        failing.cost_micros = 0;
        let mut regressing = row("regressing");
        regressing.differential_failed = vec!["c1: t".into()];
        let mut fewer_acceptance = row("fewer_acceptance");
        fewer_acceptance.acceptance_passed = 2;
        let mut serious = row("serious");
        serious.analyst_findings = vec![finding("major"), finding("nit")];
        let mut linty = row("linty");
        linty.new_findings = vec![StaticFinding {
            tool: "clippy".into(),
            rule: "clippy::eq_op".into(),
            file: "src/lib.rs".into(),
            line: 1,
            message: "m".into(),
        }];
        let mut big = row("big");
        big.diff.added = 500;
        let mut complex = row("complex");
        complex.complexity_delta = 9;
        let mut pricey = row("pricey");
        pricey.cost_micros = 5_000;
        let mut slow = row("slow");
        slow.wall_ms = 90_000;
        let mut small = row("small");
        small.diff.added = 1;
        small.cost_micros = 9_999_999;

        let m = matrix(vec![
            slow,
            pricey,
            complex,
            big,
            linty,
            serious,
            fewer_acceptance,
            regressing,
            failing,
            production,
            small,
        ]);
        assert_eq!(
            rank(&m),
            [
                "small",
                "production",
                "slow",
                "pricey",
                "complex",
                "big",
                "linty",
                "serious",
                "fewer_acceptance",
                "regressing",
                "failing"
            ]
        );
    }

    #[test]
    fn ties_keep_the_matrix_order() {
        let m = matrix(vec![row("production"), row("c1"), row("c2")]);
        assert_eq!(rank(&m), ["production", "c1", "c2"]);
    }

    #[test]
    fn best_per_column_marks_ties_and_skips_uniform_columns() {
        let mut c1 = row("c1");
        c1.diff = DiffStats { files: 1, added: 1, removed: 1 };
        c1.complexity_delta = -2;
        let mut c2 = row("c2");
        c2.diff = DiffStats { files: 1, added: 2, removed: 0 };
        c2.validation_ok = false;
        let best = best_per_column(&matrix(vec![row("production"), c1, c2]));
        assert_eq!(best.keys().copied().collect::<Vec<_>>(), {
            let mut sorted = COLUMNS.to_vec();
            sorted.sort_unstable();
            sorted
        });
        assert_eq!(best["diff"], ["c1", "c2"]);
        assert_eq!(best["complexity"], ["c1"]);
        assert_eq!(best["validation"], ["production", "c1"]);
        assert!(best["cost"].is_empty() && best["time"].is_empty() && best["acceptance"].is_empty());
        assert!(best_per_column(&matrix(Vec::new())).values().all(Vec::is_empty));
    }

    #[test]
    fn the_hash_changes_with_the_matrix() {
        let a = matrix(vec![row("production")]);
        let mut b = a.clone();
        assert_eq!(matrix_hash(&a), matrix_hash(&b));
        b.rows[0].wall_ms += 1;
        assert_ne!(matrix_hash(&a), matrix_hash(&b));
        let expected: [u8; 32] = Sha256::digest(serde_json::to_vec(&a).unwrap()).into();
        assert_eq!(matrix_hash(&a), Digest(expected));
    }
}
