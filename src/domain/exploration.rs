//! The Left Hand's part of a task's projection: why exploration started, the acceptance tests,
//! each candidate's outcome and analysis, the evidence matrix, the recommendation and what the
//! production track adopted. The driver reads it to resume exploration where it stopped.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::protocol::{
    CandidatePlan, CriterionCoverage, Digest, EventKind, EvidenceMatrix, Finding, HunkSource, ProductionFile,
    Synthesis, TestReport,
};

/// The acceptance tests the eval designer wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct AcceptanceTests {
    /// The files written.
    pub files: Vec<String>,
    /// The tests they hold.
    pub tests: Vec<String>,
    /// Tests that fail on the base commit, as they should.
    pub failing_on_base: Vec<String>,
    /// Tests that already pass on the base commit (weak).
    pub passing_on_base: Vec<String>,
    /// The baseline: the validation commands' results on the base commit with the acceptance
    /// tests (see `EventKind::AcceptanceTestsWritten`).
    pub baseline: Vec<TestReport>,
    /// Which acceptance criterion each test demonstrates.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub covers: Vec<CriterionCoverage>,
}

/// A challenger's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CandidateOutcome {
    /// Whether it produced a change.
    pub ok: bool,
    /// What it did, or why it failed.
    pub summary: String,
}

/// The evidence matrix as recorded, with the hash decisions made from it name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedMatrix {
    /// The matrix.
    pub matrix: EvidenceMatrix,
    /// The SHA-256 of its canonical JSON.
    pub hash: Digest,
}

/// What the production track adopted from the Left Hand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Adoption {
    /// What was chosen at the promotion gate (`adopt c1`, `combine`, `keep production`, …).
    pub choice: String,
    /// Every hunk taken and the candidate it came from.
    pub hunks: Vec<HunkSource>,
    /// What became of each file the production change had touched.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub production_files: Vec<ProductionFile>,
}

/// What the Left Hand has done for a task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Exploration {
    /// What started it.
    pub trigger: String,
    /// The evidence behind the trigger.
    pub evidence: String,
    /// The challengers and their strategies.
    pub candidates: Vec<CandidatePlan>,
    /// The eval designer's tests, once written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acceptance: Option<AcceptanceTests>,
    /// Each finished challenger's outcome, by label.
    #[serde(default)]
    pub finished: BTreeMap<String, CandidateOutcome>,
    /// The failure analyst's findings, by candidate label.
    #[serde(default)]
    pub analyses: BTreeMap<String, Vec<Finding>>,
    /// The latest evidence matrix and its hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matrix: Option<RecordedMatrix>,
    /// The latest recommendation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub synthesis: Option<Synthesis>,
    /// What the production track adopted, once it did: the choice and the hunks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adopted: Option<Adoption>,
}

impl Exploration {
    /// Folds one Left Hand event into `slot`; other events, and Left Hand events before an
    /// `exploration_started`, change nothing.
    pub fn apply(slot: &mut Option<Exploration>, kind: &EventKind) {
        if let EventKind::ExplorationStarted { trigger, evidence, candidates } = kind {
            *slot = Some(Exploration {
                trigger: trigger.clone(),
                evidence: evidence.clone(),
                candidates: candidates.clone(),
                ..Exploration::default()
            });
            return;
        }
        let Some(exploration) = slot.as_mut() else { return };
        match kind {
            EventKind::AcceptanceTestsWritten { files, tests, failing_on_base, passing_on_base, baseline, covers } => {
                exploration.acceptance = Some(AcceptanceTests {
                    files: files.clone(),
                    tests: tests.clone(),
                    failing_on_base: failing_on_base.clone(),
                    passing_on_base: passing_on_base.clone(),
                    baseline: baseline.clone(),
                    covers: covers.clone(),
                });
            }
            EventKind::CandidateFinished { candidate, ok, summary, .. } => {
                exploration.finished.insert(candidate.clone(), CandidateOutcome { ok: *ok, summary: summary.clone() });
            }
            EventKind::CandidateAnalyzed { candidate, findings } => {
                exploration.analyses.insert(candidate.clone(), findings.clone());
            }
            EventKind::EvidenceRecorded { matrix, hash } => {
                exploration.matrix = Some(RecordedMatrix { matrix: (**matrix).clone(), hash: *hash })
            }
            EventKind::SynthesisSubmitted { synthesis } => exploration.synthesis = Some(synthesis.clone()),
            EventKind::ChangeAdopted { choice, hunks, production_files, .. } => {
                exploration.adopted = Some(Adoption {
                    choice: choice.clone(),
                    hunks: hunks.clone(),
                    production_files: production_files.clone(),
                })
            }
            _ => {}
        }
    }
}
