//! The evaluation layer as a tool of its own (`ambidex eval`): any patches or branches (an
//! engineer's own, another agent's, a colleague's PR) evaluated against a base commit with
//! acceptance tests, in a scratch worktree, into the same evidence matrix the Left Hand records.
//!
//! The steps, each through the functions the Left Hand uses ([`measure`], [`judge`](super::judge)):
//! 1. the base commit alone is measured; if it does not build, run or run a test, the evaluation
//!    stops with [`baseline_failure`]'s reason;
//! 2. the acceptance tests are applied (a patch as it is; a revision's test files only, so an
//!    upstream fix commit gives its test changes) and the base is measured again: that is the
//!    baseline, and the tests it added or changed are the acceptance tests (with any named ones);
//! 3. each candidate: the scratch worktree is reset to the base, the candidate's change applied,
//!    the acceptance files written over it, the worktree freshened and measured, and judged.
//!
//! The scratch worktree and its branch are removed at the end, whatever happened.

use std::path::{Path, PathBuf};

use super::bench::{Bench, measure};
use super::hunks::diff_stats;
use super::identity::{Outcome, is_test_path, outcome};
use super::judge::{acceptance_tests, baseline, baseline_failure, judge, not_run_report};
use crate::protocol::{EvidenceMatrix, EvidenceRow, TaskId};
use crate::workspace::{
    Worktree, WorktreeRequest, apply_patch, create, delete_branch, diff_against, remove, reset_to, resolve_commit,
    rev_patch,
};

/// Where a change comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A unified diff (the text of a patch file).
    Patch(String),
    /// A revision: a branch, tag or commit; its change since it left the base.
    Rev(String),
}

/// One candidate to evaluate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// Its name in the matrix.
    pub name: String,
    /// Its change.
    pub change: Change,
}

/// What to evaluate.
#[derive(Debug, Clone)]
pub struct Request {
    /// The repository (any path inside it).
    pub repo: PathBuf,
    /// The base revision (`HEAD` when `None`).
    pub base: Option<String>,
    /// The acceptance tests, if any.
    pub tests: Option<Change>,
    /// Acceptance test names to expect besides those the tests add or change.
    pub expect: Vec<String>,
    /// The candidates.
    pub candidates: Vec<Candidate>,
    /// The validation commands.
    pub commands: Vec<String>,
    /// Where the scratch worktree goes (a directory of its own is made inside and removed).
    pub scratch: PathBuf,
}

/// Why an evaluation could not be made.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// The base cannot serve as a baseline: nothing was scored.
    #[error("no baseline, so no candidate was scored: {0}")]
    Baseline(String),
    /// The request cannot be carried out (a bad revision, a patch that does not apply to the base).
    #[error("{0}")]
    Request(String),
}

fn request_error(what: &str) -> impl FnOnce(crate::workspace::WorkspaceError) -> SessionError + '_ {
    move |err| SessionError::Request(format!("{what}: {err}"))
}

/// The acceptance files as the base plus the tests have them: content, or `None` when deleted.
type Snapshot = Vec<(String, Option<Vec<u8>>)>;

/// Runs the evaluation (see the module documentation). Blocking git work runs on this thread:
/// call it from a runtime that may block (the CLI's).
pub async fn evaluate(request: &Request, bench: &Bench<'_>) -> Result<EvidenceMatrix, SessionError> {
    let base_rev = request.base.clone().unwrap_or_else(|| "HEAD".into());
    let base = resolve_commit(&request.repo, &base_rev).map_err(request_error("cannot read the base"))?;
    std::fs::create_dir_all(&request.scratch)
        .map_err(|err| SessionError::Request(format!("cannot create {}: {err}", request.scratch.display())))?;
    let worktree = create(&WorktreeRequest {
        repo: request.repo.clone(),
        task: TaskId::new(),
        candidate: "eval".into(),
        base: Some(base.clone()),
        root: request.scratch.clone(),
    })
    .map_err(request_error("cannot create the scratch worktree"))?;
    let result = run(request, bench, &worktree, &base).await;
    // Best effort: a scratch worktree left behind is only disk space, and `ambidex clean` finds it.
    let _ = remove(&worktree, true);
    let _ = delete_branch(&worktree.repo, &worktree.branch);
    result
}

async fn run(
    request: &Request,
    bench: &Bench<'_>,
    worktree: &Worktree,
    base: &str,
) -> Result<EvidenceMatrix, SessionError> {
    let path = worktree.path.as_path();
    let plain = measure(bench, path, &request.commands, "base").await;
    if let Some(why) = baseline_failure(&plain.reports, true) {
        return Err(SessionError::Baseline(why));
    }
    let snapshot = match &request.tests {
        Some(tests) => acceptance_snapshot(request, path, base, tests)?,
        None => Vec::new(),
    };
    write_snapshot(path, &snapshot)?;
    let with_tests = measure(bench, path, &request.commands, "base-with-tests").await;
    let acceptance = acceptance_tests(&plain.reports, &with_tests.reports, &request.expect);
    let baseline = baseline(&plain.reports, &with_tests.reports, &acceptance);
    if let Some(why) = baseline_failure(&baseline, false) {
        return Err(SessionError::Baseline(why));
    }
    let weak =
        acceptance.iter().filter(|name| outcome(name, &with_tests.reports) == Outcome::Passed).cloned().collect();
    let mut rows = Vec::with_capacity(request.candidates.len());
    for candidate in &request.candidates {
        rows.push(candidate_row(request, bench, path, base, candidate, &snapshot, &baseline, &acceptance).await?);
    }
    Ok(EvidenceMatrix { base: base.to_owned(), baseline, acceptance_tests: acceptance, weak_acceptance: weak, rows })
}

/// The patch text of `change` against `base`.
fn patch_of(request: &Request, base: &str, change: &Change) -> Result<String, SessionError> {
    match change {
        Change::Patch(text) => Ok(text.clone()),
        Change::Rev(rev) => rev_patch(&request.repo, base, rev).map_err(request_error(&format!("cannot read `{rev}`"))),
    }
}

/// The acceptance files: what applying `tests` to the base changes (for a revision, only its test
/// files), read back from the worktree, which is left at the base.
fn acceptance_snapshot(request: &Request, path: &Path, base: &str, tests: &Change) -> Result<Snapshot, SessionError> {
    let patch = patch_of(request, base, tests)?;
    reset_to(path, base).map_err(request_error("cannot reset the scratch worktree"))?;
    apply_patch(path, &patch).map_err(request_error("the acceptance tests do not apply to the base"))?;
    let diff = diff_against(path, base).map_err(request_error("cannot read the acceptance tests"))?;
    let only_tests = matches!(tests, Change::Rev(_));
    let mut snapshot = Vec::new();
    for file in diff.files.iter().filter(|f| !only_tests || is_test_path(&f.path)) {
        let content = if file.status == "deleted" {
            None
        } else {
            let full = path.join(&file.path);
            Some(std::fs::read(&full).map_err(|err| {
                SessionError::Request(format!("cannot read the acceptance file {}: {err}", full.display()))
            })?)
        };
        snapshot.push((file.path.clone(), content));
    }
    if snapshot.is_empty() {
        return Err(SessionError::Request(
            "the acceptance tests change no test file (for a revision, only its test files count)".into(),
        ));
    }
    reset_to(path, base).map_err(request_error("cannot reset the scratch worktree"))?;
    Ok(snapshot)
}

/// Writes the acceptance files into the worktree at `path` (over whatever is there).
fn write_snapshot(path: &Path, snapshot: &Snapshot) -> Result<(), SessionError> {
    for (file, content) in snapshot {
        let target = path.join(file);
        let written = match content {
            Some(bytes) => {
                target.parent().map_or(Ok(()), std::fs::create_dir_all).and_then(|()| std::fs::write(&target, bytes))
            }
            None => match std::fs::remove_file(&target) {
                Err(err) if err.kind() != std::io::ErrorKind::NotFound => Err(err),
                _ => Ok(()),
            },
        };
        written.map_err(|err| SessionError::Request(format!("cannot write {}: {err}", target.display())))?;
    }
    Ok(())
}

/// One candidate's row: its change applied to the base, the acceptance files over it, measured.
#[allow(clippy::too_many_arguments)]
async fn candidate_row(
    request: &Request,
    bench: &Bench<'_>,
    path: &Path,
    base: &str,
    candidate: &Candidate,
    snapshot: &Snapshot,
    baseline: &[crate::protocol::TestReport],
    acceptance: &[String],
) -> Result<EvidenceRow, SessionError> {
    let started = std::time::Instant::now();
    let mut row = EvidenceRow {
        candidate: candidate.name.clone(),
        branch: match &candidate.change {
            Change::Rev(rev) => rev.clone(),
            Change::Patch(_) => String::new(),
        },
        ..EvidenceRow::default()
    };
    reset_to(path, base).map_err(request_error("cannot reset the scratch worktree"))?;
    let applied = patch_of(request, base, &candidate.change)
        .and_then(|patch| apply_patch(path, &patch).map_err(request_error("it does not apply to the base")));
    if let Err(err) = applied {
        let reports: Vec<_> = request
            .commands
            .iter()
            .map(|command| not_run_report(command, format!("{}: {err}", candidate.name)))
            .collect();
        judge(baseline, acceptance, &reports).fill(&mut row);
        row.reports = reports;
        return Ok(row);
    }
    let change = diff_against(path, base).map_err(request_error("cannot read the candidate's change"))?;
    row.diff = diff_stats(&change.patch);
    write_snapshot(path, snapshot)?;
    let measured = measure(bench, path, &request.commands, &candidate.name).await;
    judge(baseline, acceptance, &measured.reports).fill(&mut row);
    row.flaky = measured.flaky;
    row.build = measured.build;
    row.reports = measured.reports;
    row.wall_ms = started.elapsed().as_millis() as u64;
    Ok(row)
}
