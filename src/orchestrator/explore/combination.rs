//! A recommended combination is a candidate too. When the synthesis agent recommends combining
//! hunks of several candidates, the combined change is built in a worktree of its own
//! (`combined`), measured exactly like every candidate (validation, per-test results, acceptance,
//! regressions, static findings, diff size) and added to the evidence matrix as its own row
//! before the promotion gate opens. The recommendation is then checked against that row like any
//! other, so a combination that fails what its parts passed is flagged, never adopted unseen.
//! A combination that does not apply (overlapping hunks) falls back to what the evidence alone
//! supports, saying why.

use std::collections::BTreeSet;
use std::path::PathBuf;

use super::agents::Crew;
use super::blocking;
use super::evaluate::{Subject, measure_subject};
use super::promote::recommend;
use crate::eval;
use crate::orchestrator::EngineError;
use crate::orchestrator::task_run::{TaskRun, ensure_worktree};
use crate::protocol::{Actor, Digest, EventKind, EvidenceMatrix, Recommendation, Synthesis};
use crate::workspace::{diff_against, reset_to};

/// The matrix and synthesis the promotion gate decides on: unchanged unless the synthesis
/// recommends a combination the matrix has not measured yet; then the combination's row is
/// added, and the synthesis re-checked against it, in one record.
pub(super) async fn with_combination(
    run: &mut TaskRun,
    matrix: (EvidenceMatrix, Digest),
    synthesis: Synthesis,
) -> Result<((EvidenceMatrix, Digest), Synthesis), EngineError> {
    let Recommendation::Combine { hunks: picks } = &synthesis.recommendation else {
        return Ok((matrix, synthesis));
    };
    if matrix.0.row(Recommendation::COMBINED).is_some() {
        return Ok((matrix, synthesis));
    }
    let (mut evidence, hash) = matrix;
    let task = run.task()?;
    let production = run.worktree().clone();
    let labels: BTreeSet<String> = picks.iter().map(|h| h.candidate.clone()).collect();
    let mut sources = Vec::new();
    for label in &labels {
        let path = task
            .worktrees
            .iter()
            .find(|w| &w.candidate == label)
            .map(|w| PathBuf::from(&w.path))
            .ok_or_else(|| EngineError::Refused(format!("candidate {label} has no worktree")))?;
        let base = production.base.clone();
        let patch = blocking(move || diff_against(&path, &base).map(|d| d.patch))
            .await?
            .map_err(|err| EngineError::Refused(format!("cannot read {label}'s change: {err}")))?;
        sources.push((label.clone(), patch));
    }
    let combined = match eval::combine(&sources, picks) {
        Ok(combined) => combined,
        Err(err) => {
            let (recommendation, reasons) = recommend(&evidence);
            let flags = eval::contradictions(&recommendation, &reasons, &evidence);
            let fallback = Synthesis { recommendation, reasons, matrix_hash: hash, flags };
            let note = format!(
                "the recommended combination does not apply ({err}); the evidence decides: `{}`",
                fallback.recommendation.label()
            );
            run.record(vec![
                run.event(Actor::Orchestrator, EventKind::Note { text: note }),
                run.event(Actor::Orchestrator, EventKind::SynthesisSubmitted { synthesis: fallback.clone() }),
            ])
            .await?;
            return Ok(((evidence, hash), fallback));
        }
    };

    let (worktree, _) = ensure_worktree(run.engine(), &task, Recommendation::COMBINED).await?;
    let (path, base, patch) = (worktree.path.clone(), worktree.base.clone(), combined.patch.clone());
    let diff = blocking(move || -> Result<_, String> {
        reset_to(&path, &base).map_err(|err| err.to_string())?;
        eval::apply(&path, &patch).map_err(|err| err.to_string())?;
        diff_against(&path, &base).map_err(|err| err.to_string())
    })
    .await?
    .map_err(|err| EngineError::Refused(format!("cannot build the recommended combination: {err}")))?;
    let subject = Subject {
        label: Recommendation::COMBINED.to_owned(),
        strategy: format!("combination of {}", labels.into_iter().collect::<Vec<_>>().join(" + ")),
        worktree,
        patch: diff.patch,
        files: diff.files,
    };
    let task = run.task()?;
    let acceptance = task.exploration.as_ref().and_then(|e| e.acceptance.clone()).unwrap_or_default();
    let eval_path = task.worktrees.iter().find(|w| w.candidate == "eval").map(|w| PathBuf::from(&w.path));
    let commands = run.validation_commands(&task);
    let crew = Crew::new(run, &task);
    let (row, _) = measure_subject(&crew, &task, &subject, &acceptance, eval_path, &commands).await?;
    evidence.rows.push(row);
    let hash = eval::matrix_hash(&evidence);
    let flags = eval::contradictions(&synthesis.recommendation, &synthesis.reasons, &evidence);
    let checked = Synthesis { matrix_hash: hash, flags, ..synthesis };
    run.record(vec![
        run.event(Actor::Orchestrator, EventKind::EvidenceRecorded { matrix: Box::new(evidence.clone()), hash }),
        run.event(Actor::Orchestrator, EventKind::SynthesisSubmitted { synthesis: checked.clone() }),
    ])
    .await?;
    Ok(((evidence, hash), checked))
}
