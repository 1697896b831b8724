//! The bug museum in the engine: a human's edits become `exhibit_changed` events (each carries
//! the exhibit's whole new state); what went wrong in a task (a candidate that broke tests, a
//! change sent back with a note, a breaker trip) becomes a pending exhibit a human keeps or
//! rejects; and a candidate is checked against the kept exhibits its change touches.

use jiff::Timestamp;

use super::EngineError;
use crate::domain::Task;
use crate::protocol::{
    Actor, EventKind, EvidenceRow, Exhibit, ExhibitChange, ExhibitId, ExhibitLinks, ExhibitSource, ExhibitStatus,
    GateId, MuseumEdit, NewEvent, NewExhibit, Reproducer, TaskId, Verification,
};
use crate::workspace::RevertCommit;

/// Longest patch an exhibit keeps (bug, fix or tests), in bytes.
pub const MAX_PATCH: usize = 256 * 1024;
/// Longest title, in characters.
pub const MAX_TITLE: usize = 200;
/// Longest root cause or check, in characters.
pub const MAX_TEXT: usize = 4_000;

fn refused<T>(why: impl Into<String>) -> Result<T, EngineError> {
    Err(EngineError::Refused(why.into()))
}

/// The events that carry out `edit` on the museum `exhibits` hold now.
pub(crate) fn edit_events(exhibits: &[Exhibit], edit: MuseumEdit, actor: Actor) -> Result<Vec<NewEvent>, EngineError> {
    let find = |id: ExhibitId| {
        exhibits.iter().find(|e| e.id == id).cloned().ok_or_else(|| {
            EngineError::Refused(format!("no exhibit {}; `ambidex museum list --all` shows them", id.short()))
        })
    };
    let open = |exhibit: &Exhibit, wanted: &[ExhibitStatus], what: &str| {
        if wanted.contains(&exhibit.status) {
            Ok(())
        } else {
            refused(format!("exhibit {} is {}: it cannot be {what}", exhibit.id.short(), exhibit.status))
        }
    };
    let (change, exhibit) = match edit {
        MuseumEdit::Add { exhibit } => (ExhibitChange::Added, added(exhibits, *exhibit)?),
        MuseumEdit::Accept { id } => {
            let mut exhibit = find(id)?;
            open(&exhibit, &[ExhibitStatus::Pending], "kept (it is not pending)")?;
            exhibit.status = ExhibitStatus::Kept;
            (ExhibitChange::Accepted, exhibit)
        }
        MuseumEdit::Reject { id } => {
            let mut exhibit = find(id)?;
            open(&exhibit, &[ExhibitStatus::Pending], "rejected (it is not pending)")?;
            exhibit.status = ExhibitStatus::Rejected;
            (ExhibitChange::Rejected, exhibit)
        }
        MuseumEdit::Remove { id } => {
            let mut exhibit = find(id)?;
            open(&exhibit, &[ExhibitStatus::Pending, ExhibitStatus::Kept], "removed again")?;
            exhibit.status = ExhibitStatus::Removed;
            (ExhibitChange::Removed, exhibit)
        }
        MuseumEdit::Edit { id, title, root_cause, check, command, tests } => {
            let mut exhibit = find(id)?;
            open(&exhibit, &[ExhibitStatus::Pending, ExhibitStatus::Kept], "edited")?;
            if title.is_none() && root_cause.is_none() && check.is_none() && command.is_none() && tests.is_none() {
                return refused("nothing to change: give a new title, root cause, check, command or tests");
            }
            if let Some(title) = title {
                exhibit.title = checked_title(&title)?;
            }
            if let Some(text) = root_cause {
                exhibit.root_cause = checked_text(&text, "root cause")?;
            }
            if let Some(text) = check {
                exhibit.check = checked_text(&text, "check")?;
            }
            if command.is_some() || tests.is_some() {
                if let Some(command) = command {
                    exhibit.reproducer.command = command.trim().to_owned();
                }
                if let Some(tests) = tests {
                    exhibit.reproducer.tests = clean_names(tests);
                }
                exhibit.verification = None;
            }
            (ExhibitChange::Edited, exhibit)
        }
        MuseumEdit::Verified { id, verification } => {
            let mut exhibit = find(id)?;
            open(&exhibit, &[ExhibitStatus::Pending, ExhibitStatus::Kept], "verified")?;
            exhibit.verification = Some(verification);
            (ExhibitChange::Verified, exhibit)
        }
    };
    Ok(vec![NewEvent::global(actor, EventKind::ExhibitChanged { change, exhibit: Box::new(exhibit) })])
}

/// A new exhibit from a human's or an import's description, checked.
fn added(exhibits: &[Exhibit], new: NewExhibit) -> Result<Exhibit, EngineError> {
    if !matches!(new.source, ExhibitSource::Human | ExhibitSource::Imported { .. }) {
        return refused("an exhibit added by hand comes from a human or an import; the engine proposes the others");
    }
    if new.base.trim().is_empty() {
        return refused("an exhibit needs the base commit its reproducer is set up on");
    }
    for (patch, what) in [(&new.bug_patch, "bug"), (&new.fix_patch, "fix"), (&new.reproducer.tests_patch, "tests")] {
        if patch.as_ref().is_some_and(|p| p.len() > MAX_PATCH) {
            return refused(format!(
                "the {what} patch is over {} KiB: an exhibit keeps a small reproducer, not a whole history",
                MAX_PATCH / 1024
            ));
        }
    }
    if let ExhibitSource::Imported { fix } = &new.source
        && let Some(same) = exhibits.iter().find(|e| {
            e.repo == new.repo && e.status != ExhibitStatus::Removed && e.links.commit.as_deref() == Some(fix.as_str())
        })
    {
        return refused(format!("exhibit {} already holds fix {fix} ({})", same.id.short(), same.status));
    }
    let reproducer = Reproducer {
        command: new.reproducer.command.trim().to_owned(),
        tests: clean_names(new.reproducer.tests),
        ..new.reproducer
    };
    Ok(Exhibit {
        id: ExhibitId::new(),
        repo: new.repo,
        title: checked_title(&new.title)?,
        base: new.base.trim().to_owned(),
        reproducer,
        bug_patch: new.bug_patch,
        fix_patch: new.fix_patch,
        files: new.files,
        root_cause: checked_text(&new.root_cause, "root cause")?,
        check: checked_text(&new.check, "check")?,
        source: new.source,
        links: new.links,
        status: ExhibitStatus::Kept,
        created: Timestamp::now(),
        verification: new.verification,
    })
}

fn checked_title(title: &str) -> Result<String, EngineError> {
    let title = title.trim();
    if title.is_empty() {
        return refused("an exhibit needs a title: what went wrong, in a line");
    }
    if title.chars().count() > MAX_TITLE || title.contains('\n') {
        return refused(format!("a title is one line of at most {MAX_TITLE} characters; put the rest in --root-cause"));
    }
    Ok(title.to_owned())
}

fn checked_text(text: &str, what: &str) -> Result<String, EngineError> {
    let text = text.trim();
    if text.chars().count() > MAX_TEXT {
        return refused(format!("the {what} holds at most {MAX_TEXT} characters"));
    }
    Ok(text.to_owned())
}

fn clean_names(names: Vec<String>) -> Vec<String> {
    let mut names: Vec<String> = names.into_iter().map(|n| n.trim().to_owned()).filter(|n| !n.is_empty()).collect();
    names.sort();
    names.dedup();
    names
}

/// The exhibits a candidate of `repo` changing `files` is checked against: kept ones with a
/// verified reproducer whose files it touches (an exhibit naming no file concerns every
/// candidate of its repository).
pub fn relevant<'a>(exhibits: &'a [Exhibit], repo: &str, files: &[String]) -> Vec<&'a Exhibit> {
    exhibits
        .iter()
        .filter(|e| e.repo == repo && e.is_evidence())
        .filter(|e| e.files.is_empty() || e.files.iter().any(|f| files.contains(f)))
        .collect()
}

/// A pending exhibit, unless one of `repo` with the same reproducer exists in any state (a
/// rejected proposal is not made again).
fn propose(exhibits: &[Exhibit], task: TaskId, exhibit: Exhibit) -> Option<NewEvent> {
    let same = exhibits.iter().any(|e| {
        e.repo == exhibit.repo
            && e.reproducer.command == exhibit.reproducer.command
            && e.reproducer.tests == exhibit.reproducer.tests
            && (!exhibit.reproducer.tests.is_empty() || e.source == exhibit.source)
    });
    if same {
        return None;
    }
    let change = EventKind::ExhibitChanged { change: ExhibitChange::Proposed, exhibit: Box::new(exhibit) };
    Some(NewEvent::for_task(task, Actor::Orchestrator, change))
}

fn pending(repo: String, title: String, base: String, source: ExhibitSource, links: ExhibitLinks) -> Exhibit {
    Exhibit {
        id: ExhibitId::new(),
        repo,
        title,
        base,
        reproducer: Reproducer::default(),
        bug_patch: None,
        fix_patch: None,
        files: Vec::new(),
        root_cause: String::new(),
        check: String::new(),
        source,
        links,
        status: ExhibitStatus::Pending,
        created: Timestamp::now(),
        verification: None,
    }
}

/// What a candidate's change that broke tests leaves the museum: a pending exhibit whose bug is
/// that change (`patch`, over `base`) and whose reproducer is the broken tests and the command
/// that ran them; the evaluation that saw them pass on the base and fail here is its check.
pub(crate) fn broken_proposal(
    exhibits: &[Exhibit],
    task: &Task,
    base: &str,
    row: &EvidenceRow,
    patch: &str,
    files: &[String],
) -> Option<NewEvent> {
    if row.broken.is_empty() || patch.len() > MAX_PATCH {
        return None;
    }
    let command =
        row.reports.iter().find(|r| r.tests.iter().any(|t| row.broken.contains(&t.name))).map(|r| r.command.clone())?;
    let repo = task.spec.repo.clone().unwrap_or_else(|| ".".to_owned());
    let source = ExhibitSource::Candidate { task: task.id, candidate: row.candidate.clone() };
    let links = ExhibitLinks { task: Some(task.id), candidate: Some(row.candidate.clone()), ..ExhibitLinks::default() };
    let title = format!("{}'s change broke {}", row.candidate, row.broken.join(", "));
    let mut exhibit = pending(repo, title.chars().take(MAX_TITLE).collect(), base.to_owned(), source, links);
    exhibit.reproducer = Reproducer { command, tests: clean_names(row.broken.clone()), tests_patch: None };
    exhibit.bug_patch = Some(patch.to_owned());
    exhibit.files = files.iter().filter(|f| !crate::eval::is_test_path(f)).cloned().collect();
    exhibit.root_cause =
        format!("candidate {} of task {} ({}): {}", row.candidate, task.id.short(), row.strategy, task.spec.title);
    exhibit.check = format!(
        "`{}`: {} pass on the base and fail with the change",
        exhibit.reproducer.command,
        row.broken.join(", ")
    );
    exhibit.verification = Some(Verification {
        at: Timestamp::now(),
        reproduces: true,
        detail: format!(
            "the evaluation of task {} saw them pass on the base and fail with the change",
            task.id.short()
        ),
    });
    propose(exhibits, task.id, exhibit)
}

/// What a change sent back at a gate with a note leaves the museum: a pending exhibit of the
/// production change as it stood (its base, the drafted PR's commit), the note as its root
/// cause; its reproducer is for the human to give when keeping it.
pub(crate) fn sent_back_proposal(exhibits: &[Exhibit], task: &Task, gate: GateId, note: &str) -> Option<NewEvent> {
    let note = note.trim();
    let base = production_base(task)?;
    if note.is_empty() {
        return None;
    }
    let repo = task.spec.repo.clone().unwrap_or_else(|| ".".to_owned());
    let first = note.lines().next().unwrap_or_default();
    let title = format!("sent back: {}", first.chars().take(MAX_TITLE - 11).collect::<String>());
    let pr = task.pr_draft.as_ref().or(task.pr.as_ref());
    let links = ExhibitLinks {
        task: Some(task.id),
        gate: Some(gate),
        pr: pr.map(|p| p.location.clone()).filter(|l| !l.is_empty()),
        commit: pr.map(|p| p.commit.clone()).filter(|c| !c.is_empty()),
        candidate: None,
    };
    let mut exhibit = pending(repo, title, base, ExhibitSource::SentBack { task: task.id, gate }, links);
    exhibit.root_cause = note.chars().take(MAX_TEXT).collect();
    propose(exhibits, task.id, exhibit)
}

/// The base commit of the task's production worktree.
fn production_base(task: &Task) -> Option<String> {
    let all = task.worktrees.iter().chain(&task.removed_worktrees);
    all.filter(|w| w.candidate == crate::protocol::PRODUCTION).map(|w| w.base.clone()).find(|b| !b.is_empty())
}

/// What a breaker trip leaves the museum: a pending exhibit of the task's state when it tripped,
/// with the tests its last validation failed (if any) as the reproducer.
pub(crate) fn breaker_proposal(exhibits: &[Exhibit], task: &Task, breaker: &str, evidence: &str) -> Option<NewEvent> {
    let base = production_base(task)?;
    let repo = task.spec.repo.clone().unwrap_or_else(|| ".".to_owned());
    let source = ExhibitSource::Breaker { task: task.id, breaker: breaker.to_owned() };
    let links = ExhibitLinks { task: Some(task.id), ..ExhibitLinks::default() };
    let title = format!("breaker {breaker} stopped task {}: {}", task.id.short(), task.spec.title);
    let mut exhibit = pending(repo, title.chars().take(MAX_TITLE).collect(), base, source, links);
    exhibit.root_cause = evidence.chars().take(MAX_TEXT).collect();
    if let Some(last) = task.validation.last().filter(|v| !v.result.ok) {
        exhibit.reproducer.command = last.result.command.clone();
    }
    propose(exhibits, task.id, exhibit)
}

/// Commits of history scanned for reverts of delivered changes.
pub const REVERT_SCAN: usize = 300;

/// What reverts of changes Ambidex delivered leave the museum: for each revert that names a
/// delivered PR's commit, or whose summary is `Revert "<the PR's title>…"`, a pending exhibit of
/// that change (its reproducer is for the human to give). `delivered` are the repository's tasks.
pub(crate) fn reverted_proposals(exhibits: &[Exhibit], delivered: &[Task], reverts: &[RevertCommit]) -> Vec<NewEvent> {
    let mut known = exhibits.to_vec();
    let mut proposals = Vec::new();
    for task in delivered {
        let Some(pr) = &task.pr else { continue };
        let titled = format!("Revert \"{}", pr.title);
        let names = |sha: &str| sha.len() >= 7 && (pr.commit.starts_with(sha) || sha.starts_with(&pr.commit));
        let Some(revert) = reverts.iter().find(|r| {
            r.reverted.as_deref().is_some_and(names)
                || r.summary.strip_prefix(&titled).is_some_and(|rest| rest.starts_with('"') || rest.starts_with(" (#"))
        }) else {
            continue;
        };
        let Some(base) = production_base(task) else { continue };
        let repo = task.spec.repo.clone().unwrap_or_else(|| ".".to_owned());
        let source = ExhibitSource::Reverted { task: task.id, revert: revert.id.clone() };
        let links = ExhibitLinks {
            task: Some(task.id),
            pr: Some(pr.location.clone()).filter(|l| !l.is_empty()),
            commit: Some(revert.id.clone()),
            ..ExhibitLinks::default()
        };
        let title = format!("reverted: {}", pr.title);
        let mut exhibit = pending(repo, title.chars().take(MAX_TITLE).collect(), base, source, links);
        exhibit.root_cause = format!(
            "the change of task {} ({}) was reverted in the repository by {} ({})",
            task.id.short(),
            pr.commit.chars().take(10).collect::<String>(),
            revert.id.chars().take(10).collect::<String>(),
            revert.summary
        );
        if let Some(event) = propose(&known, task.id, exhibit) {
            if let EventKind::ExhibitChanged { exhibit, .. } = &event.kind {
                known.push((**exhibit).clone());
            }
            proposals.push(event);
        }
    }
    proposals
}

#[cfg(test)]
#[path = "museum_tests.rs"]
mod tests;
