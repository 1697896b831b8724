//! From evidence to production: the synthesis agent recommends (adopt one candidate, combine
//! hunks, keep production, or reject all — each reason tied to matrix rows), the promotion gate
//! lets a human choose (policy chooses for low risk when one candidate strictly dominates), and
//! the production track adopts the choice onto its own worktree, keeping per-hunk provenance,
//! then re-runs validation and review. Exploratory output reaches a PR only this way.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::agents::{Crew, copy_files, mirror_change};
use super::blocking;
use super::production_files::ProductionChange;
use crate::agents::prompt::task_section;
use crate::agents::{AgentOutcome, Submission};
use crate::eval;
use crate::orchestrator::EngineError;
use crate::orchestrator::flow::{Ending, Flow, GateRequest};
use crate::orchestrator::gates::GateOutcome;
use crate::orchestrator::task_run::TaskRun;
use crate::protocol::{
    Actor, AgentIdentity, Decision, Digest, EventKind, EvidenceMatrix, EvidenceRow, GateKind, HunkSource, NewEvent,
    Recommendation, Risk, Synthesis, SynthesisReason, Track,
};
use crate::workspace::{diff_against, reset_to};

/// How the escalation after "reject all" begins.
const ESCALATION: &str = "every candidate falls short";

/// The recommendation the evidence alone supports: the best-ranked acceptable candidate, else
/// reject all. Used when the synthesis agent cannot answer, and to check policy auto-choice.
pub(super) fn recommend(matrix: &EvidenceMatrix) -> (Recommendation, Vec<SynthesisReason>) {
    let ranked = eval::rank(matrix);
    let mut reasons = Vec::new();
    let best = ranked.iter().filter_map(|label| matrix.row(label)).find(|row| row.acceptable());
    for row in matrix.rows.iter().filter(|row| !row.acceptable()) {
        reasons.push(SynthesisReason {
            text: format!("{} is not acceptable: {}", row.candidate, row.shortcomings().join("; ")),
            rows: vec![row.candidate.clone()],
        });
    }
    let Some(best) = best else {
        if matrix.rows.is_empty() {
            reasons.push(SynthesisReason { text: "no candidate produced a change".into(), rows: Vec::new() });
        }
        return (Recommendation::RejectAll, reasons);
    };
    reasons.insert(
        0,
        SynthesisReason {
            text: format!(
                "{} ranks best among acceptable candidates: validation passes, {} of {} acceptance tests pass, no \
                 regressions, {} lines changed",
                best.candidate,
                best.acceptance_passed,
                best.acceptance_total,
                best.diff.added + best.diff.removed
            ),
            rows: vec![best.candidate.clone()],
        },
    );
    let recommendation = if best.candidate == "production" {
        Recommendation::KeepProduction
    } else {
        Recommendation::Adopt { candidate: best.candidate.clone() }
    };
    (recommendation, reasons)
}

/// The matrix as the synthesis agent reads it.
fn render_matrix(matrix: &EvidenceMatrix) -> String {
    let mut out = String::from(
        "## Evidence matrix\n| candidate | strategy | validation | tests passed/failed | regressions | acceptance | \
         other candidates' tests failed | analyst findings (serious) | static findings | diff +/- | complexity Δ | \
         cost $ |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for row in &matrix.rows {
        out.push_str(&format!(
            "| {} | {} | {} | {}/{} | {} | {}/{} | {} | {} ({}) | {} | +{} -{} | {:+} | {:.4} |\n",
            row.candidate,
            row.strategy,
            if row.validation_ok { "pass" } else { "FAIL" },
            row.tests_passed,
            row.tests_failed,
            eval::regressions(row),
            row.acceptance_passed,
            row.acceptance_total,
            row.differential_failed.len(),
            row.analyst_findings.len(),
            row.serious_findings(),
            row.new_findings.len(),
            row.diff.added,
            row.diff.removed,
            row.complexity_delta,
            row.cost_micros as f64 / 1e6,
        ));
    }
    out.push_str(&format!("\nRanking by the evidence (best first): {}\n", eval::rank(matrix).join(", ")));
    if !matrix.weak_acceptance.is_empty() {
        out.push_str(&format!(
            "Weak acceptance tests (pass on the base commit): {}\n",
            matrix.weak_acceptance.join(", ")
        ));
    }
    out
}

/// Why a recommendation cannot be followed: a candidate not in the matrix, or a hunk its
/// candidate's diff does not have (`patches` by label). `None` when it can.
fn invalid(
    recommendation: &Recommendation,
    matrix: &EvidenceMatrix,
    patches: &BTreeMap<String, String>,
) -> Option<String> {
    let unknown = |candidate: &str| format!("it named {candidate}, which is not in the matrix");
    match recommendation {
        Recommendation::Adopt { candidate } if matrix.row(candidate).is_none() => Some(unknown(candidate)),
        Recommendation::Combine { hunks } => hunks.iter().find_map(|h| {
            let Some(patch) = patches.get(&h.candidate).filter(|_| matrix.row(&h.candidate).is_some()) else {
                return Some(unknown(&h.candidate));
            };
            let file = eval::parse_patch(patch).into_iter().find(|f| f.path() == h.file);
            let exists = file.is_some_and(|f| h.hunk == "*" || f.hunks.iter().any(|hunk| hunk.header() == h.hunk));
            (!exists).then(|| {
                format!("it named hunk `{}` of {} in {}, which its diff does not have", h.hunk, h.file, h.candidate)
            })
        }),
        _ => None,
    }
}

/// Runs the synthesis agent and records its recommendation (or, when it cannot give a valid
/// one, the recommendation the evidence alone supports, saying so).
pub(super) async fn synthesize(
    run: &mut TaskRun,
    matrix: &EvidenceMatrix,
    hash: Digest,
) -> Result<Synthesis, EngineError> {
    let task = run.task()?;
    let crew = Crew::new(run, &task);
    let stage = crew.setup.playbooks.left_hand.synthesis.clone();
    let worktree = run.worktree().clone();
    let (candidates, patches) = super::synthesis_brief::candidates(&task, &worktree, matrix).await?;
    let values = BTreeMap::from([
        ("matrix", render_matrix(matrix)),
        ("candidates", candidates),
        ("task", task_section(&task.spec)),
    ]);
    let outcome = crew.run(&stage, "synthesis", worktree, values).await?;
    let agent =
        Actor::Agent(AgentIdentity { role: stage.role, track: Track::Left, candidate: Some("synthesis".into()) });
    let refused = match &outcome {
        AgentOutcome::Submitted(Submission::Recommendation(submitted)) => {
            invalid(&submitted.recommendation, matrix, &patches)
        }
        _ => None,
    };
    let (synthesis, actor, note) = match outcome {
        AgentOutcome::Submitted(Submission::Recommendation(submitted)) if refused.is_none() => {
            let recommendation = match submitted.recommendation {
                Recommendation::Adopt { candidate } if candidate == "production" => Recommendation::KeepProduction,
                other => other,
            };
            let flags = eval::contradictions(&recommendation, &submitted.reasons, matrix);
            (Synthesis { recommendation, reasons: submitted.reasons, matrix_hash: hash, flags }, agent, None)
        }
        other => {
            let why = match other {
                AgentOutcome::Submitted(_) => refused.unwrap_or_else(|| "it ended with the wrong call".to_owned()),
                AgentOutcome::ModelFailed(message) => format!("the model failed: {message}"),
                _ => "it did not submit a recommendation".to_owned(),
            };
            let (recommendation, reasons) = recommend(matrix);
            let note = format!("the synthesis agent gave no usable recommendation ({why}); the evidence decides");
            let flags = eval::contradictions(&recommendation, &reasons, matrix);
            (Synthesis { recommendation, reasons, matrix_hash: hash, flags }, Actor::Orchestrator, Some(note))
        }
    };
    let mut events = Vec::new();
    if let Some(text) = note {
        events.push(NewEvent::for_task(task.id, Actor::Orchestrator, EventKind::Note { text }));
    }
    events.push(NewEvent::for_task(task.id, actor, EventKind::SynthesisSubmitted { synthesis: synthesis.clone() }));
    crew.engine.append(events).await?;
    Ok(synthesis)
}

/// The promotion gate's options: the recommendation first, then every other acceptable choice.
fn options(matrix: &EvidenceMatrix, synthesis: &Synthesis) -> Vec<String> {
    let mut options = vec![synthesis.recommendation.label()];
    // The combination's row is offered as the combination itself, never as a candidate to adopt.
    let adoptable = |r: &&EvidenceRow| !["production", Recommendation::COMBINED].contains(&r.candidate.as_str());
    for row in matrix.rows.iter().filter(adoptable).filter(|r| r.acceptable()) {
        options.push(Recommendation::Adopt { candidate: row.candidate.clone() }.label());
    }
    options.push(Recommendation::KeepProduction.label());
    options.push(Recommendation::RejectAll.label());
    let mut seen = Vec::with_capacity(options.len());
    options.retain(|o| {
        let fresh = !seen.contains(o);
        seen.push(o.clone());
        fresh
    });
    options
}

/// The candidate that strictly dominates every other row, when one does and is acceptable.
fn dominant(matrix: &EvidenceMatrix) -> Option<&EvidenceRow> {
    matrix.rows.iter().find(|row| {
        row.acceptable()
            && matrix.rows.iter().all(|other| other.candidate == row.candidate || eval::dominates(row, other))
    })
}

/// The promotion gate, then adoption of the choice by the production track.
pub(super) async fn promote(
    run: &mut TaskRun,
    matrix: &EvidenceMatrix,
    hash: Digest,
    synthesis: &Synthesis,
) -> Result<Flow, EngineError> {
    let engine = run.engine().clone();
    let task = run.task()?;
    if task.exploration.as_ref().is_some_and(|e| e.adopted.is_some()) {
        return Ok(Flow::Next);
    }
    let options = options(matrix, synthesis);
    let decided = |task: &crate::domain::Task| {
        task.decided_gates
            .iter()
            .rev()
            .find(|g| g.kind == GateKind::Promotion && g.evidence_hash == Some(hash))
            .cloned()
    };
    let mut choice = decided(&task).map(|g| (g.decision, g.choice));
    if choice.is_none() {
        let summary = synthesis.reasons.iter().map(|r| r.text.as_str()).collect::<Vec<_>>().join("; ");
        let flagged = if synthesis.flags.is_empty() {
            String::new()
        } else {
            format!(
                " ⚠ {}. Only a human decides a recommendation the evidence contradicts.",
                synthesis.flags.join("; ")
            )
        };
        let reason = format!(
            "promotion: the synthesis recommends `{}` ({summary}).{flagged} Approve to adopt it (or pick another \
             option), send back to keep the production change (your note goes to its next stages), or stop the task",
            synthesis.recommendation.label()
        );
        // A recommendation the evidence contradicts is for a human to weigh, whatever policy says.
        let auto = if !synthesis.flags.is_empty() {
            None
        } else if !run.setup().policy.gates.promotion {
            Some(("policy does not gate promotions".to_owned(), options[0].clone()))
        } else if task.risk() == Some(Risk::Low)
            && let Some(row) = dominant(matrix)
        {
            let pick = if row.candidate == "production" {
                Recommendation::KeepProduction.label()
            } else {
                Recommendation::Adopt { candidate: row.candidate.clone() }.label()
            };
            let pick = if options.contains(&pick) { pick } else { options[0].clone() };
            Some((format!("low risk and {} strictly dominates every other candidate", row.candidate), pick))
        } else {
            None
        };
        choice = Some(match auto {
            Some((why, pick)) => {
                engine
                    .open_decided(task.id, GateKind::Promotion, reason, Some(hash), options.clone(), pick.clone(), why)
                    .await?;
                (Decision::Approve, Some(pick))
            }
            None => {
                let request = GateRequest::new(GateKind::Promotion, reason).human_only(!synthesis.flags.is_empty());
                match engine.choice_gate(task.id, request, Some(hash), options.clone()).await? {
                    GateOutcome::Parked(gate) => {
                        return Ok(Flow::End(Ending::Parked { gate, kind: GateKind::Promotion }));
                    }
                    GateOutcome::Decided(decision, _) => {
                        let picked = decided(&engine.task(task.id)?).and_then(|g| g.choice);
                        (decision, picked.or_else(|| options.first().cloned()))
                    }
                }
            }
        });
    }
    let (decision, picked) = choice.unwrap_or((Decision::Reject, None));
    if decision == Decision::Stop {
        // The decision's events failed the task.
        return Ok(Flow::Next);
    }
    // Sent back (or, in older logs, rejected): production keeps its own change; a note reaches
    // every later stage.
    let picked = if !decision.approves() {
        Recommendation::KeepProduction.label()
    } else {
        picked.unwrap_or_else(|| options[0].clone())
    };
    if picked == Recommendation::RejectAll.label() {
        let escalated = engine
            .task(task.id)?
            .decided_gates
            .iter()
            .any(|g| g.kind == GateKind::Escalation && g.reason.starts_with(ESCALATION) && !g.decision.stops());
        if escalated {
            return adopt(run, hash, synthesis, &Recommendation::KeepProduction.label()).await;
        }
        let reason = format!(
            "{ESCALATION} ({}); approve to let the production track go on with its own change, send back with a \
             note to have it rework that change, or stop the task",
            synthesis.reasons.iter().map(|r| r.text.as_str()).collect::<Vec<_>>().join("; ")
        );
        // Once approved or sent back, the next pass finds the escalation decided and keeps production.
        return Ok(Flow::ask(GateKind::Escalation, reason));
    }
    adopt(run, hash, synthesis, &picked).await
}

/// Keeps production's change in a patch file beside the evidence, then puts the production
/// worktree back to its base for the adopted change (the promotion gate approved the discard).
fn reset_production(path: &Path, base: &str, saved: &Path, patch: &str) -> Result<(), String> {
    // A resumed adoption keeps what production had before the first attempt.
    if !saved.exists() {
        if let Some(parent) = saved.parent() {
            std::fs::create_dir_all(parent).map_err(|err| err.to_string())?;
        }
        std::fs::write(saved, patch)
            .map_err(|err| format!("cannot keep production's change in {}: {err}", saved.display()))?;
    }
    reset_to(path, base).map_err(|err| err.to_string())?;
    crate::crash::point("adopt.reset");
    Ok(())
}

/// Every hunk of a patch, attributed to `candidate`.
fn provenance(candidate: &str, patch: &str) -> Vec<HunkSource> {
    eval::parse_patch(patch)
        .into_iter()
        .flat_map(|file| {
            let path = file.path().to_owned();
            let headers: Vec<String> = file.hunks.iter().map(|h| h.header()).collect();
            let headers = if headers.is_empty() { vec!["*".to_owned()] } else { headers };
            headers.into_iter().map(move |hunk| HunkSource {
                candidate: candidate.to_owned(),
                file: path.clone(),
                hunk,
            })
        })
        .collect()
}

/// Adopts `picked` onto the production worktree and sends production back through validation
/// and review.
async fn adopt(run: &TaskRun, hash: Digest, synthesis: &Synthesis, picked: &str) -> Result<Flow, EngineError> {
    let engine = run.engine().clone();
    let task = run.task()?;
    let production = run.worktree().clone();
    let worktree_of =
        |label: &str| task.worktrees.iter().find(|w| w.candidate == label).map(|w| PathBuf::from(&w.path));
    let acceptance = task.exploration.as_ref().and_then(|e| e.acceptance.clone()).unwrap_or_default();
    let eval_path = worktree_of("eval");
    let (prod_path, base) = (production.path.clone(), production.base.clone());
    let (prod_patch, prod_change) = blocking(move || {
        let diff = diff_against(&prod_path, &base).unwrap_or_default();
        let change = ProductionChange::read(&prod_path, diff.files);
        (diff.patch, change)
    })
    .await?;
    let prod_change =
        prod_change.map_err(|err| EngineError::Refused(format!("cannot read production's change: {err}")))?;
    let mut adopted_files: Vec<String> = Vec::new();
    let saved = engine.state_dir().join("eval").join(task.id.short()).join("production-before-adoption.patch");

    let mut hunks = Vec::new();
    let recommendation = if picked == synthesis.recommendation.label() {
        synthesis.recommendation.clone()
    } else if let Some(candidate) = picked.strip_prefix("adopt ") {
        Recommendation::Adopt { candidate: candidate.to_owned() }
    } else {
        Recommendation::KeepProduction
    };
    match &recommendation {
        Recommendation::Adopt { candidate } => {
            let from = worktree_of(candidate)
                .ok_or_else(|| EngineError::Refused(format!("candidate {candidate} has no worktree")))?;
            let (path, base) = (from.clone(), production.base.clone());
            let diff = blocking(move || diff_against(&path, &base))
                .await?
                .map_err(|err| EngineError::Refused(format!("cannot read {candidate}'s change: {err}")))?;
            hunks = provenance(candidate, &diff.patch);
            adopted_files = diff.files.iter().map(|f| f.path.clone()).collect();
            for hunk in hunks.iter_mut().filter(|h| acceptance.files.contains(&h.file)) {
                hunk.candidate = "eval".into();
            }
            let (to, base, saved, kept) =
                (production.path.clone(), production.base.clone(), saved.clone(), prod_patch.clone());
            blocking(move || {
                reset_production(&to, &base, &saved, &kept)?;
                mirror_change(&from, &to, &diff.files).map_err(|err| err.to_string())
            })
            .await?
            .map_err(|err| EngineError::Refused(format!("cannot adopt {candidate}: {err}")))?;
        }
        Recommendation::Combine { hunks: picks } => {
            let mut sources = Vec::new();
            for label in picks.iter().map(|h| h.candidate.clone()).collect::<std::collections::BTreeSet<_>>() {
                let path = worktree_of(&label)
                    .ok_or_else(|| EngineError::Refused(format!("candidate {label} has no worktree")))?;
                let base = production.base.clone();
                let patch = blocking(move || diff_against(&path, &base).map(|d| d.patch))
                    .await?
                    .map_err(|err| EngineError::Refused(format!("cannot read {label}'s change: {err}")))?;
                sources.push((label, patch));
            }
            let combined = eval::combine(&sources, picks)
                .map_err(|err| EngineError::Refused(format!("the recommended combination does not apply: {err}")))?;
            hunks = combined.hunks.clone();
            adopted_files = combined.hunks.iter().map(|h| h.file.clone()).collect();
            let (to, base, saved, kept) =
                (production.path.clone(), production.base.clone(), saved.clone(), prod_patch.clone());
            blocking(move || {
                reset_production(&to, &base, &saved, &kept)?;
                eval::apply(&to, &combined.patch).map_err(|err| err.to_string())
            })
            .await?
            .map_err(|err| EngineError::Refused(format!("cannot apply the combination: {err}")))?;
        }
        Recommendation::KeepProduction | Recommendation::RejectAll => {}
    }
    let mut production_files = Vec::new();
    if matches!(recommendation, Recommendation::Adopt { .. } | Recommendation::Combine { .. }) {
        let (to, label, shared) = (production.path.clone(), recommendation.label(), acceptance.files.clone());
        let (fates, kept) = blocking(move || prod_change.settle(&to, &label, &adopted_files, &shared))
            .await?
            .map_err(|err| EngineError::Refused(format!("cannot keep production's tests: {err}")))?;
        production_files = fates;
        hunks.extend(kept);
    }
    if let Some(eval) = eval_path
        && !acceptance.files.is_empty()
    {
        let (to, files) = (production.path.clone(), acceptance.files.clone());
        blocking(move || copy_files(&eval, &to, &files))
            .await?
            .map_err(|err| EngineError::Refused(format!("cannot add the acceptance tests to production: {err}")))?;
        if !matches!(recommendation, Recommendation::Adopt { .. }) {
            hunks.extend(acceptance.files.iter().map(|file| HunkSource {
                candidate: "eval".into(),
                file: file.clone(),
                hunk: "*".into(),
            }));
        }
    }
    crate::crash::point("adopt.applied");
    // The adopted change stands for production's implementation and tests: the stages that
    // made them count as done, and validation and review run again on it.
    let summary = format!("adopted `{}` from the Left Hand ({} hunks)", recommendation.label(), hunks.len());
    let mut events = vec![run.event(
        Actor::Orchestrator,
        EventKind::ChangeAdopted { choice: recommendation.label(), hunks, matrix_hash: hash, production_files },
    )];
    for stage in run.playbook().stages.iter().filter(|s| s.kind.changes_files()) {
        let done = EventKind::StageFinished {
            stage: stage.name.clone(),
            ok: true,
            summary: summary.clone(),
            kind: Some(stage.kind),
        };
        events.push(run.event(Actor::Orchestrator, done));
    }
    run.record(events).await?;
    Ok(Flow::Next)
}

#[cfg(test)]
#[path = "promote_tests.rs"]
mod tests;
