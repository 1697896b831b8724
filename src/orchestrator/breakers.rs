//! Circuit breakers: conditions that pause a task at a gate with its state intact. They are pure
//! checks over the task's projection, its diff and its validation history; the runner records a
//! `breaker_tripped` event and opens the gate.

use std::collections::{BTreeMap, BTreeSet};

use crate::domain::Task;
use crate::protocol::{GateKind, ValidationResult};
use crate::workspace::WorkDiff;

/// Something that holds the PR back until a human decides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hold {
    /// The gate to open.
    pub kind: GateKind,
    /// What the human should know.
    pub reason: String,
    /// The breaker that tripped, if this is one.
    pub breaker: Option<&'static str>,
}

/// Whether a path is a test file by common conventions (the evaluation layer's rule).
pub use crate::eval::is_test_path;

/// Lock files that tools rewrite on their own when they build or test.
fn is_lockfile(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    matches!(
        name,
        "Cargo.lock" | "package-lock.json" | "yarn.lock" | "pnpm-lock.yaml" | "poetry.lock" | "go.sum" | "uv.lock"
    )
}

/// The change reaches beyond the plan: files it did not name (tests aside), or more lines than
/// the budget allows.
pub fn scope(task: &Task, diff: &WorkDiff, max_diff_lines: Option<u64>) -> Option<String> {
    let plan = task.plan.as_ref()?;
    let planned: BTreeSet<&str> = plan.expected_files.iter().map(|f| f.trim_start_matches("./")).collect();
    let outside: Vec<&str> = diff
        .files
        .iter()
        .map(|f| f.path.as_str())
        .filter(|path| !planned.contains(path) && !is_test_path(path) && !is_lockfile(path))
        .collect();
    let lines = (diff.added() + diff.removed()) as u64;
    let mut evidence = Vec::new();
    if !outside.is_empty() {
        evidence.push(format!("files outside the plan: {}", outside.join(", ")));
    }
    if let Some(limit) = max_diff_lines.filter(|limit| lines > *limit) {
        evidence.push(format!("{lines} changed lines, over the budget of {limit}"));
    }
    (!evidence.is_empty()).then(|| evidence.join("; "))
}

/// Added tests that assert nothing.
pub fn weak_tests(diff: &WorkDiff) -> Option<String> {
    let markers = ["assert", "expect(", "expect!", "should", "t.error", "t.fatal", "require.", "panic!", "raises("];
    let mut current: Option<String> = None;
    let mut added_in_tests: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in diff.patch.lines() {
        if let Some(path) = line.strip_prefix("+++ b/") {
            current = is_test_path(path).then(|| path.to_owned());
        } else if let (Some(path), Some(added)) = (&current, line.strip_prefix('+')) {
            added_in_tests.entry(path.clone()).or_default().push(added.to_ascii_lowercase());
        }
    }
    let weak: Vec<String> = added_in_tests
        .into_iter()
        .filter(|(_, lines)| !lines.iter().any(|l| markers.iter().any(|m| l.contains(m))))
        .map(|(path, _)| path)
        .collect();
    (!weak.is_empty()).then(|| format!("tests added without any assertion in: {}", weak.join(", ")))
}

/// The same validation commands failed in the last two attempts while the implementer kept
/// editing the same files: more rounds of the same will not help.
pub fn repeated_edits(
    history: &[(u32, ValidationResult)],
    files_by_attempt: &BTreeMap<u32, BTreeSet<String>>,
) -> Option<String> {
    let failing = |attempt: u32| -> BTreeSet<&str> {
        history.iter().filter(|(a, r)| *a == attempt && !r.ok).map(|(_, r)| r.command.as_str()).collect()
    };
    let last = history.iter().map(|(a, _)| *a).max()?;
    if last < 2 {
        return None;
    }
    let (now, before) = (failing(last), failing(last - 1));
    let same_files = match (files_by_attempt.get(&last), files_by_attempt.get(&(last - 1))) {
        (Some(a), Some(b)) => !a.is_empty() && a == b,
        _ => false,
    };
    (!now.is_empty() && now == before && same_files).then(|| {
        let files: Vec<&str> = files_by_attempt[&last].iter().map(String::as_str).collect();
        format!(
            "attempts {} and {last} edited the same files ({}) and the same checks still fail ({})",
            last - 1,
            files.join(", "),
            now.into_iter().collect::<Vec<_>>().join(", ")
        )
    })
}

/// What must be settled before the PR is created: validation that never ran (a breaker), then
/// the PR gate itself.
pub fn before_pr(task: &Task, pr_gate_due: bool) -> Option<Hold> {
    let decided = |kind: GateKind, about: &str| {
        task.decided_gates.iter().any(|g| g.kind == kind && g.decision.approves() && g.reason.contains(about))
    };
    if task.validation.is_empty() && !decided(GateKind::Breaker, "validation was skipped") {
        return Some(Hold {
            kind: GateKind::Breaker,
            reason: "validation was skipped: no validation command was given or discovered. Approve with a note \
                     documenting why the change needs none, send it back with a note to have the implementer add \
                     validation, or stop the task."
                .into(),
            breaker: Some("validation_skipped"),
        });
    }
    if pr_gate_due {
        let title = task.pr_draft.as_ref().map(|d| d.title.clone()).unwrap_or_else(|| task.spec.title.clone());
        let passed = task.validation.iter().filter(|run| run.result.ok).count();
        return Some(Hold {
            kind: GateKind::PullRequest,
            reason: format!(
                "create the draft PR \"{title}\" ({passed} of {} validation commands passed); send back with a note to \
                 have the implementer rework the change",
                task.validation.len()
            ),
            breaker: None,
        });
    }
    None
}

#[cfg(test)]
#[path = "breakers_tests.rs"]
mod tests;
