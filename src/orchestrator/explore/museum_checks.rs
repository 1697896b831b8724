//! The evidence matrix's museum column: each candidate against the bug museum's kept exhibits
//! that concern the files it changed. An exhibit whose tests are in the repository and run by a
//! validation command is read off the candidate's own reports; one that brings test changes has
//! them applied over the candidate (base, change, acceptance tests) and its command run there.

use std::path::Path;

use super::agents::Crew;
use super::blocking;
use super::evaluate::{Subject, prepare, run_commands};
use crate::domain::{AcceptanceTests, Task};
use crate::eval;
use crate::orchestrator::EngineError;
use crate::orchestrator::museum;
use crate::protocol::{EvidenceRow, Exhibit, ExhibitCheck, ExhibitOutcome, NewEvent};
use crate::workspace::{Worktree, apply_patch};

/// Fills each row's museum column, running what its reports do not already show.
#[allow(clippy::too_many_arguments)]
pub(super) async fn check_exhibits(
    crew: &Crew,
    task: &Task,
    subjects: &[Subject],
    scratches: &[Worktree],
    rows: &mut [EvidenceRow],
    acceptance: &AcceptanceTests,
    eval_path: Option<&Path>,
    commands: &[String],
) -> Result<(), EngineError> {
    let exhibits = crew.engine.reader().museum()?;
    let repo = task.spec.repo.clone().unwrap_or_else(|| ".".to_owned());
    for (index, subject) in subjects.iter().enumerate() {
        let files: Vec<String> = subject.files.iter().map(|f| f.path.clone()).collect();
        let relevant = museum::relevant(&exhibits, &repo, &files);
        let mut checks = Vec::with_capacity(relevant.len());
        for exhibit in relevant {
            let outcome = match read_off(exhibit, &rows[index], commands) {
                Some(outcome) => outcome,
                None => {
                    let scratch = &scratches[index];
                    run_exhibit(crew, exhibit, subject, scratch, acceptance, eval_path).await?
                }
            };
            checks.push(ExhibitCheck { exhibit: exhibit.id, title: exhibit.title.clone(), outcome });
        }
        rows[index].museum = checks;
    }
    Ok(())
}

/// The exhibit's outcome from the candidate's own reports, when its tests are in the repository
/// and one of the validation commands is its command and ran them.
fn read_off(exhibit: &Exhibit, row: &EvidenceRow, commands: &[String]) -> Option<ExhibitOutcome> {
    let reproducer = &exhibit.reproducer;
    if reproducer.tests_patch.is_some() || reproducer.tests.is_empty() || !commands.contains(&reproducer.command) {
        return None;
    }
    let reports: Vec<_> = row.reports.iter().filter(|r| r.command == reproducer.command).cloned().collect();
    match eval::exhibit::outcome(&reproducer.tests, &reports) {
        ExhibitOutcome::NotRun { .. } => None,
        outcome => Some(outcome),
    }
}

/// Runs the exhibit's command over the candidate in its scratch worktree, its test changes
/// applied.
async fn run_exhibit(
    crew: &Crew,
    exhibit: &Exhibit,
    subject: &Subject,
    scratch: &Worktree,
    acceptance: &AcceptanceTests,
    eval_path: Option<&Path>,
) -> Result<ExhibitOutcome, EngineError> {
    prepare(scratch, subject, acceptance, eval_path.map(Path::to_owned), Vec::new()).await?;
    if let Some(patch) = exhibit.reproducer.tests_patch.clone() {
        let path = scratch.path.clone();
        if let Err(err) = blocking(move || apply_patch(&path, &patch)).await? {
            return Ok(ExhibitOutcome::NotRun {
                why: format!("its test changes do not apply over this candidate: {err}"),
            });
        }
    }
    let purpose = format!("{}-museum-{}", subject.label, exhibit.id.short());
    let (reports, _) = run_commands(crew, scratch, std::slice::from_ref(&exhibit.reproducer.command), &purpose).await?;
    Ok(eval::exhibit::outcome(&exhibit.reproducer.tests, &reports))
}

/// The pending exhibits the candidates that broke tests leave (one per reproducer).
pub(super) fn broken_proposals(
    exhibits: &[Exhibit],
    task: &Task,
    base: &str,
    subjects: &[Subject],
    rows: &[EvidenceRow],
) -> Vec<NewEvent> {
    let mut known = exhibits.to_vec();
    let mut proposals = Vec::new();
    for (subject, row) in subjects.iter().zip(rows) {
        let files: Vec<String> = subject.files.iter().map(|f| f.path.clone()).collect();
        if let Some(event) = museum::broken_proposal(&known, task, base, row, &subject.patch, &files) {
            if let crate::protocol::EventKind::ExhibitChanged { exhibit, .. } = &event.kind {
                known.push((**exhibit).clone());
            }
            proposals.push(event);
        }
    }
    proposals
}
