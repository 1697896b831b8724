//! The synthesis agent's recommendation checked by code against the evidence matrix before the
//! promotion gate opens. A model may say "keep production: production passes validation" while
//! the matrix shows production failing every acceptance test; each such contradiction becomes a
//! flag ("contradicts the evidence: …", with the cells), shown in the gate, and a flagged
//! recommendation is never chosen by policy.
//!
//! Two checks: the recommended row must not have worse validation, acceptance or regression
//! cells than another row (and "reject all" must not pass over an acceptable row), and every
//! positive claim a reason makes about a candidate ("passes validation", "passes the acceptance
//! tests", "no regressions") must hold in that candidate's row. Which rows are acceptable is
//! `EvidenceRow::acceptable`.

use crate::protocol::{EvidenceMatrix, EvidenceRow, Recommendation, SynthesisReason};

/// Every way `recommendation` and its `reasons` contradict `matrix`, each as one line that
/// starts with "contradicts the evidence:" and names the cells.
pub fn contradictions(
    recommendation: &Recommendation,
    reasons: &[SynthesisReason],
    matrix: &EvidenceMatrix,
) -> Vec<String> {
    let mut flags = Vec::new();
    let label = recommendation.label();
    match recommendation.row() {
        // A combination is checked once its own row is measured (before the gate opens).
        Some(row) => flags.extend(outranked(&label, row, matrix)),
        None => {
            for row in matrix.rows.iter().filter(|row| row.acceptable()) {
                flags.push(format!(
                    "contradicts the evidence: recommends `{label}`, but {} is acceptable ({})",
                    row.candidate,
                    cells(row)
                ));
            }
        }
    }
    for reason in reasons {
        flags.extend(false_claims(&reason.text, matrix));
    }
    flags.dedup();
    flags
}

/// The three columns a recommendation must not lose on, each higher is better.
fn standing(row: &EvidenceRow) -> [i64; 3] {
    [
        i64::from(row.validation_ok),
        i64::from(row.acceptance_passed) - row.acceptance_failed.len() as i64,
        -(row.broken.len() as i64),
    ]
}

/// The rows better than `candidate`'s on validation, acceptance or regressions and no worse on
/// the others, as flags.
fn outranked(label: &str, candidate: &str, matrix: &EvidenceMatrix) -> Vec<String> {
    let Some(chosen) = matrix.row(candidate) else {
        return Vec::new();
    };
    let mine = standing(chosen);
    matrix
        .rows
        .iter()
        .filter(|other| other.candidate != candidate)
        .filter(|other| {
            let theirs = standing(other);
            theirs.iter().zip(mine).all(|(t, m)| *t >= m) && theirs.iter().zip(mine).any(|(t, m)| *t > m)
        })
        .map(|other| {
            format!(
                "contradicts the evidence: recommends `{label}`, but {} has better evidence than {candidate} ({} vs {})",
                other.candidate,
                cells(other),
                cells(chosen)
            )
        })
        .collect()
}

/// A row's validation, acceptance and regression cells, as the matrix shows them.
fn cells(row: &EvidenceRow) -> String {
    format!(
        "{}: validation {}, acceptance {}/{}, {} regressions",
        row.candidate,
        if row.validation_ok { "passes" } else { "FAILS" },
        row.acceptance_passed,
        row.acceptance_total,
        row.broken.len()
    )
}

/// What a positive claim asserts about a row.
#[derive(Clone, Copy)]
enum Claim {
    PassesValidation,
    PassesAcceptance,
    NoRegressions,
}

/// The phrases that make each claim (matched on lowercase text).
const CLAIMS: &[(&str, Claim)] = &[
    ("passes validation", Claim::PassesValidation),
    ("validation passes", Claim::PassesValidation),
    ("passes all tests", Claim::PassesValidation),
    ("passes every test", Claim::PassesValidation),
    ("passes every existing test", Claim::PassesValidation),
    ("passes all existing tests", Claim::PassesValidation),
    ("all tests pass", Claim::PassesValidation),
    ("passes the acceptance", Claim::PassesAcceptance),
    ("passes both acceptance", Claim::PassesAcceptance),
    ("passes all acceptance", Claim::PassesAcceptance),
    ("passes every acceptance", Claim::PassesAcceptance),
    ("acceptance tests pass", Claim::PassesAcceptance),
    ("no regressions", Claim::NoRegressions),
    ("breaks nothing", Claim::NoRegressions),
    ("no regression", Claim::NoRegressions),
];

/// Words that turn a claim around when they stand between its subject and its phrase.
const NEGATIONS: &[&str] = &["not ", "n't ", "never ", "fails ", "unless ", "if "];

/// The claims in `text` that the rows they are about contradict. A claim is about the last
/// candidate named before it within the same clause (clauses end at `;`, `.` or `:`).
fn false_claims(text: &str, matrix: &EvidenceMatrix) -> Vec<String> {
    let mut flags = Vec::new();
    for clause in text.split([';', '.', ':']) {
        let lower = clause.to_lowercase();
        for (phrase, claim) in CLAIMS {
            let Some(at) = lower.find(phrase) else { continue };
            let Some((row, from)) = subject(&lower[..at], matrix) else { continue };
            if NEGATIONS.iter().any(|word| lower[from..at].contains(word)) {
                continue;
            }
            let holds = match claim {
                Claim::PassesValidation => row.validation_ok && row.tests_failed == 0,
                Claim::PassesAcceptance => row.acceptance_total > 0 && row.acceptance_failed.is_empty(),
                Claim::NoRegressions => row.broken.is_empty(),
            };
            if !holds {
                flags.push(format!(
                    "contradicts the evidence: the synthesis says \"{}\", but the matrix shows {}",
                    clause.trim(),
                    cells(row)
                ));
            }
        }
    }
    flags
}

/// The row of the candidate named last in `before`, with where its name ends.
fn subject<'m>(before: &str, matrix: &'m EvidenceMatrix) -> Option<(&'m EvidenceRow, usize)> {
    matrix
        .rows
        .iter()
        .filter_map(|row| last_word(before, &row.candidate.to_lowercase()).map(|end| (row, end)))
        .max_by_key(|(_, end)| *end)
}

/// Where the last whole-word occurrence of `word` in `text` ends.
fn last_word(text: &str, word: &str) -> Option<usize> {
    let boundary = |c: Option<char>| c.is_none_or(|c| !c.is_alphanumeric() && c != '_' && c != '-');
    text.rmatch_indices(word)
        .find(|(at, _)| boundary(text[..*at].chars().next_back()) && boundary(text[at + word.len()..].chars().next()))
        .map(|(at, _)| at + word.len())
}

#[cfg(test)]
#[path = "evidence_check_tests.rs"]
mod tests;
