//! The repository memory in the engine: a human's edits become `memory_changed` events (each
//! carries the entry's whole new state); what Ambidex observes becomes a proposal that waits for
//! a human; and a task's agents get the active entries that concern its files, within a budget,
//! with the version they saw recorded on the task.

use globset::Glob;
use jiff::Timestamp;

use super::EngineError;
use crate::context::OwnerRule;
use crate::domain::Task;
use crate::protocol::{
    Actor, EventKind, EvidenceMatrix, MemoryChange, MemoryEdit, MemoryEntry, MemoryId, MemoryKind, MemorySource,
    MemoryStatus, NewEvent, Review, TaskId,
};

/// Days after which an entry nobody confirmed is proposed for removal.
pub const STALE_AFTER_DAYS: i64 = 180;

/// Longest entry text accepted, in characters.
pub const MAX_TEXT: usize = 2_000;
/// Characters of memory a task's prompts carry at most (about 600 tokens).
pub const PROMPT_BUDGET: usize = 2_400;

/// The events that carry out `edit` on the memory `entries` hold now.
pub(crate) fn edit_events(
    entries: &[MemoryEntry],
    edit: MemoryEdit,
    actor: Actor,
) -> Result<Vec<NewEvent>, EngineError> {
    let now = Timestamp::now();
    let refused = |why: String| Err(EngineError::Refused(why));
    let find = |id: MemoryId| {
        entries.iter().find(|e| e.id == id).cloned().ok_or_else(|| {
            EngineError::Refused(format!("no memory entry {}; `ambidex memory list --all` shows them", id.short()))
        })
    };
    let (change, entry) = match edit {
        MemoryEdit::Add { repo, kind, text, scope } => {
            let text = checked_text(&text)?;
            let scope = checked_scope(scope)?;
            if let Some(same) = entries
                .iter()
                .find(|e| e.repo == repo && e.kind == kind && e.text == text && e.status != MemoryStatus::Removed)
            {
                return refused(format!("memory entry {} already says that ({})", same.id.short(), same.status));
            }
            let entry = MemoryEntry {
                id: MemoryId::new(),
                repo,
                kind,
                text,
                scope,
                source: MemorySource::Human,
                status: MemoryStatus::Active,
                created: now,
                confirmed: now,
            };
            (MemoryChange::Added, entry)
        }
        MemoryEdit::Edit { id, text, kind, scope } => {
            let mut entry = find(id)?;
            if !matches!(entry.status, MemoryStatus::Active | MemoryStatus::Pending) {
                return refused(format!("memory entry {} is {}: add a new one instead", id.short(), entry.status));
            }
            if text.is_none() && kind.is_none() && scope.is_none() {
                return refused("nothing to change: give a new text, kind or scope".into());
            }
            if let Some(text) = text {
                entry.text = checked_text(&text)?;
            }
            if let Some(kind) = kind {
                entry.kind = kind;
            }
            if let Some(scope) = scope {
                entry.scope = checked_scope(scope)?;
            }
            entry.confirmed = now;
            (MemoryChange::Edited, entry)
        }
        MemoryEdit::Accept { id, text } => {
            let mut entry = find(id)?;
            if !matches!(entry.status, MemoryStatus::Pending | MemoryStatus::Observed) {
                return refused(format!("memory entry {} is {}, not pending", id.short(), entry.status));
            }
            if let Some(text) = text {
                entry.text = checked_text(&text)?;
            }
            entry.status = MemoryStatus::Active;
            entry.confirmed = now;
            (MemoryChange::Accepted, entry)
        }
        MemoryEdit::Reject { id } => {
            let mut entry = find(id)?;
            if !matches!(entry.status, MemoryStatus::Pending | MemoryStatus::Observed) {
                return refused(format!("memory entry {} is {}, not pending", id.short(), entry.status));
            }
            entry.status = MemoryStatus::Rejected;
            (MemoryChange::Rejected, entry)
        }
        MemoryEdit::Remove { id } => {
            let mut entry = find(id)?;
            if !matches!(entry.status, MemoryStatus::Active | MemoryStatus::Pending | MemoryStatus::Observed) {
                return refused(format!("memory entry {} is {} already", id.short(), entry.status));
            }
            entry.status = MemoryStatus::Removed;
            (MemoryChange::Removed, entry)
        }
    };
    Ok(vec![NewEvent::global(actor, EventKind::MemoryChanged { change, entry })])
}

fn checked_text(text: &str) -> Result<String, EngineError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(EngineError::Refused("a memory entry needs a text: what should the agents know?".into()));
    }
    if text.chars().count() > MAX_TEXT {
        return Err(EngineError::Refused(format!(
            "a memory entry holds at most {MAX_TEXT} characters; split it, or point to a file in the repository"
        )));
    }
    Ok(text.to_owned())
}

fn checked_scope(scope: Vec<String>) -> Result<Vec<String>, EngineError> {
    let scope: Vec<String> = scope.into_iter().map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect();
    for glob in &scope {
        Glob::new(glob).map_err(|err| EngineError::Refused(format!("scope `{glob}` is not a glob: {err}")))?;
    }
    Ok(scope)
}

/// Whether `entry` concerns a task touching `paths` (an unscoped entry concerns every task; a
/// scoped one, a task that names none of its paths yet, too: the plan may still reach them).
fn concerns(entry: &MemoryEntry, paths: &[String]) -> bool {
    if entry.scope.is_empty() || paths.is_empty() {
        return true;
    }
    entry.scope.iter().filter_map(|glob| Glob::new(glob).ok()).any(|glob| {
        let matcher = glob.compile_matcher();
        paths.iter().any(|path| matcher.is_match(path) || path.starts_with(glob.glob().trim_end_matches("**")))
    })
}

/// The active entries of `repo` a task touching `paths` should know, scoped ones that match
/// first, then by kind, within [`PROMPT_BUDGET`]; and the prompt section that lists them (empty
/// when there are none).
pub(crate) fn for_task<'a>(entries: &'a [MemoryEntry], repo: &str, paths: &[String]) -> (Vec<&'a MemoryEntry>, String) {
    let mut relevant: Vec<&MemoryEntry> =
        entries.iter().filter(|e| e.status == MemoryStatus::Active && e.repo == repo && concerns(e, paths)).collect();
    relevant.sort_by_key(|e| (e.scope.is_empty(), e.kind, std::cmp::Reverse(e.confirmed)));
    let mut given = Vec::new();
    let mut section = String::new();
    for entry in relevant {
        let scope = if entry.scope.is_empty() { String::new() } else { format!(" [{}]", entry.scope.join(", ")) };
        let line = format!("- ({}){scope} {}\n", entry.kind, entry.text.replace('\n', " "));
        if section.len() + line.len() > PROMPT_BUDGET {
            break;
        }
        section.push_str(&line);
        given.push(entry);
    }
    if given.is_empty() {
        return (given, String::new());
    }
    let header = "## Repository memory (reviewed by the team; follow it unless the task says otherwise)\n";
    (given, format!("{header}{section}"))
}

/// A proposal from what `task` showed: a new pending entry; or, when an active entry of `repo`
/// says the same, its confirmation (at most daily); or `None` when any other entry says it (a
/// rejected or removed proposal is not made again).
pub(crate) fn propose(
    entries: &[MemoryEntry],
    task: TaskId,
    repo: &str,
    kind: MemoryKind,
    text: String,
    what: &str,
) -> Option<NewEvent> {
    let now = Timestamp::now();
    if let Some(same) = entries.iter().find(|e| e.repo == repo && e.kind == kind && e.text == text) {
        let stale = now.duration_since(same.confirmed).as_secs() >= 86_400;
        if same.status != MemoryStatus::Active || !stale {
            return None;
        }
        let entry = MemoryEntry { confirmed: now, ..same.clone() };
        let change = EventKind::MemoryChanged { change: MemoryChange::Confirmed, entry };
        return Some(NewEvent::for_task(task, Actor::Orchestrator, change));
    }
    let entry = MemoryEntry {
        id: MemoryId::new(),
        repo: repo.to_owned(),
        kind,
        text,
        scope: Vec::new(),
        source: MemorySource::Observed { task, what: what.to_owned() },
        status: MemoryStatus::Pending,
        created: now,
        confirmed: now,
    };
    let change = EventKind::MemoryChanged { change: MemoryChange::Proposed, entry };
    Some(NewEvent::for_task(task, Actor::Orchestrator, change))
}

/// Why an active or pending entry should go, if it should: its scope matches none of the
/// repository's `tracked` files any more (they were moved or deleted), or no one confirmed it for
/// [`STALE_AFTER_DAYS`] days.
pub fn staleness(entry: &MemoryEntry, tracked: &[String], now: Timestamp) -> Option<String> {
    if !matches!(entry.status, MemoryStatus::Active | MemoryStatus::Pending | MemoryStatus::Observed) {
        return None;
    }
    if !entry.scope.is_empty() && !tracked.is_empty() {
        let globs: Vec<_> = entry.scope.iter().filter_map(|g| Glob::new(g).ok()).map(|g| g.compile_matcher()).collect();
        if !tracked.iter().any(|file| globs.iter().any(|glob| glob.is_match(file))) {
            return Some(format!("no file matches its scope ({}) any more", entry.scope.join(", ")));
        }
    }
    let days = now.duration_since(entry.confirmed).as_secs() / 86_400;
    (days >= STALE_AFTER_DAYS).then(|| format!("no one confirmed it for {days} days"))
}

/// What a sighting of `text` adds: the first makes an `observed` entry, the second proposes it
/// (pending), and later ones confirm an active entry (as [`propose`] does).
pub(crate) fn observe(
    entries: &[MemoryEntry],
    task: TaskId,
    repo: &str,
    kind: MemoryKind,
    text: String,
    what: &str,
) -> Option<NewEvent> {
    let seen = entries.iter().find(|e| e.repo == repo && e.kind == kind && e.text == text);
    match seen {
        Some(entry) if entry.status == MemoryStatus::Observed => {
            let now = Timestamp::now();
            let source = MemorySource::Observed { task, what: format!("{what} (seen twice)") };
            let entry = MemoryEntry { status: MemoryStatus::Pending, confirmed: now, source, ..entry.clone() };
            let change = EventKind::MemoryChanged { change: MemoryChange::Proposed, entry };
            Some(NewEvent::for_task(task, Actor::Orchestrator, change))
        }
        Some(_) => propose(entries, task, repo, kind, text, what),
        None => {
            let mut event = propose(entries, task, repo, kind, text, what)?;
            if let EventKind::MemoryChanged { change, entry } = &mut event.kind {
                *change = MemoryChange::Observed;
                entry.status = MemoryStatus::Observed;
            }
            Some(event)
        }
    }
}

/// Sightings from an evidence matrix: each test that failed and then passed when re-run, on any
/// candidate, is observed as flaky (once per test name); seen a second time, it is proposed.
pub(crate) fn flaky_proposals(entries: &[MemoryEntry], task: &Task, matrix: &EvidenceMatrix) -> Vec<NewEvent> {
    let repo = task.spec.repo.clone().unwrap_or_else(|| ".".to_owned());
    let mut names: Vec<(&str, &str)> =
        matrix.rows.iter().flat_map(|row| row.flaky.iter().map(|t| (t.as_str(), row.candidate.as_str()))).collect();
    names.sort_unstable();
    names.dedup_by_key(|(name, _)| *name);
    let mut proposals = Vec::new();
    let mut known = entries.to_vec();
    for (name, candidate) in names {
        let text = format!("`{name}` is flaky: it failed, then passed when re-run. Re-run it before blaming a change.");
        let what = format!("it failed, then passed when re-run, on candidate {candidate}");
        if let Some(event) = observe(&known, task.id, &repo, MemoryKind::FlakyTest, text, &what) {
            if let EventKind::MemoryChanged { entry, .. } = &event.kind {
                known.push(entry.clone());
            }
            proposals.push(event);
        }
    }
    proposals
}

/// Proposals from the repository's CODEOWNERS rules: one `ownership` entry per rule, scoped to
/// its paths.
pub(crate) fn ownership_proposals(entries: &[MemoryEntry], task: &Task, rules: &[OwnerRule]) -> Vec<NewEvent> {
    let repo = task.spec.repo.clone().unwrap_or_else(|| ".".to_owned());
    rules
        .iter()
        .filter_map(|rule| {
            let text = format!("`{}` is owned by {}: they review changes there.", rule.pattern, rule.owners.join(" "));
            let mut event =
                propose(entries, task.id, &repo, MemoryKind::Ownership, text, "the repository's CODEOWNERS")?;
            if let EventKind::MemoryChanged { change: MemoryChange::Proposed, entry } = &mut event.kind {
                entry.scope = vec![rule.glob.clone()];
            }
            Some(event)
        })
        .collect()
}

/// Whether two remarks say the same: they share at least three significant words, and half of
/// either's.
fn same_remark(a: &str, b: &str) -> bool {
    let (ours, theirs) = (crate::domain::title_words(a), crate::domain::title_words(b));
    let shared = ours.intersection(&theirs).count();
    shared >= 3 && 2 * shared >= ours.len().max(theirs.len())
}

/// A proposal from a note the engineer sent work back with, when it repeats one said at a gate of
/// another task of the same repository ([`same_remark`]): a convention the team keeps having to
/// say.
pub(crate) fn repeated_note_proposal(
    entries: &[MemoryEntry],
    tasks: &[Task],
    task: &Task,
    note: &str,
) -> Option<NewEvent> {
    let earlier = tasks
        .iter()
        .filter(|t| t.id != task.id && t.spec.repo == task.spec.repo)
        .find(|t| t.notes.iter().any(|n| n.gate.is_some() && same_remark(note, &n.text)))?;
    let repo = task.spec.repo.clone().unwrap_or_else(|| ".".to_owned());
    let what = format!("sent back with the same note on tasks {} and {}", earlier.id.short(), task.id.short());
    propose(entries, task.id, &repo, MemoryKind::Convention, note.trim().to_owned(), &what)
}

/// Proposals from a review's findings that repeat a finding of another task's review in the same
/// repository ([`same_remark`]): a way changes here keep failing. Nits are left out.
pub(crate) fn repeated_finding_proposals(
    entries: &[MemoryEntry],
    tasks: &[Task],
    task: &Task,
    review: &Review,
) -> Vec<NewEvent> {
    let repo = task.spec.repo.clone().unwrap_or_else(|| ".".to_owned());
    let others: Vec<&Task> = tasks.iter().filter(|t| t.id != task.id && t.spec.repo == task.spec.repo).collect();
    let mut known = entries.to_vec();
    let mut proposals = Vec::new();
    for finding in review.findings.iter().filter(|f| f.severity != "nit") {
        let earlier = others.iter().find(|t| {
            t.review.as_ref().is_some_and(|r| r.findings.iter().any(|f| same_remark(&finding.message, &f.message)))
        });
        let Some(earlier) = earlier else { continue };
        let text = match &finding.file {
            Some(file) => format!("({}) {}: {}", finding.category, file, finding.message.trim()),
            None => format!("({}) {}", finding.category, finding.message.trim()),
        };
        let what = format!("the review found it on tasks {} and {}", earlier.id.short(), task.id.short());
        let mut event = propose(&known, task.id, &repo, MemoryKind::FailurePattern, text, &what);
        if let Some(EventKind::MemoryChanged { change: MemoryChange::Proposed, entry }) =
            event.as_mut().map(|e| &mut e.kind)
        {
            entry.scope = finding.file.iter().cloned().collect();
            known.push(entry.clone());
        }
        proposals.extend(event);
    }
    proposals
}

#[cfg(test)]
#[path = "memory_tests.rs"]
mod tests;
