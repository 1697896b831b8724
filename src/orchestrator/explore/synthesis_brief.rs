//! What the synthesis agent reads besides the matrix: for every candidate its strategy, what it
//! said it did, its matrix cells, the failure analyst's findings in full, and its diff (bounded,
//! saying when it was cut). A recommendation, hunk-level "combine" above all, cannot be made
//! from the matrix's numbers alone.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::blocking;
use crate::domain::Task;
use crate::orchestrator::EngineError;
use crate::orchestrator::task_run::candidate_worktree;
use crate::protocol::{EvidenceMatrix, EvidenceRow};
use crate::workspace::{Worktree, diff_against};

/// The most diff text shown for all candidates together.
const DIFF_CHARS: usize = 40_000;
/// The least shown for one candidate, however many there are.
const MIN_DIFF_CHARS: usize = 4_000;

/// The `{{candidates}}` section of the synthesis prompt (one block per matrix row), and each
/// candidate's whole patch by label, for checking the hunks a recommendation names.
pub(super) async fn candidates(
    task: &Task,
    production: &Worktree,
    matrix: &EvidenceMatrix,
) -> Result<(String, BTreeMap<String, String>), EngineError> {
    let per_candidate = (DIFF_CHARS / matrix.rows.len().max(1)).max(MIN_DIFF_CHARS);
    let mut out = String::from("## Candidates\n");
    let mut patches = BTreeMap::new();
    for row in &matrix.rows {
        let worktree = if row.candidate == "production" {
            Some(production.clone())
        } else {
            candidate_worktree(task, &production.repo, &row.candidate)
        };
        let patch = match worktree {
            Some(worktree) => {
                let (path, base): (PathBuf, String) = (worktree.path, worktree.base);
                blocking(move || diff_against(&path, &base).map(|d| d.patch)).await?.unwrap_or_default()
            }
            None => String::new(),
        };
        let said = task
            .exploration
            .as_ref()
            .and_then(|e| e.finished.get(&row.candidate))
            .map_or("the production track's change", |outcome| outcome.summary.as_str());
        out.push_str(&block(row, said, &patch, per_candidate));
        patches.insert(row.candidate.clone(), patch);
    }
    Ok((out, patches))
}

/// One candidate's block.
fn block(row: &EvidenceRow, said: &str, patch: &str, limit: usize) -> String {
    let mut out = format!("\n### {} ({})\nWhat it says it did: {}\n", row.candidate, row.strategy, said.trim());
    out.push_str(&format!(
        "Matrix: validation {}, {} tests passed and {} failed, fixed: {}, broken: {}, acceptance {}/{}{}\n",
        if row.validation_ok { "passes" } else { "FAILS" },
        row.tests_passed,
        row.tests_failed,
        list(&row.fixed),
        list(&row.broken),
        row.acceptance_passed,
        row.acceptance_total,
        if row.acceptance_failed.is_empty() {
            String::new()
        } else {
            format!(" (fails {})", row.acceptance_failed.join(", "))
        },
    ));
    if !row.differential_failed.is_empty() {
        out.push_str(&format!("Other candidates' tests that fail on it: {}\n", row.differential_failed.join(", ")));
    }
    if row.analyst_findings.is_empty() {
        out.push_str("Failure analyst: no findings\n");
    } else {
        out.push_str("Failure analyst:\n");
        for finding in &row.analyst_findings {
            let file = finding.file.as_deref().map_or_else(String::new, |f| format!(" {f}"));
            out.push_str(&format!("- [{} {}]{file} {}\n", finding.severity, finding.category, finding.message));
        }
    }
    if patch.trim().is_empty() {
        out.push_str("Diff: (no change)\n");
        return out;
    }
    let shown: String = patch.chars().take(limit).collect();
    out.push_str(&format!("Diff against the base commit:\n```diff\n{shown}\n```\n"));
    if shown.len() < patch.len() {
        let hidden = patch[shown.len()..].lines().count();
        out.push_str(&format!("(diff cut: {hidden} more lines; read the files for the rest)\n"));
    }
    out
}

fn list(items: &[String]) -> String {
    if items.is_empty() { "none".into() } else { items.join(", ") }
}
