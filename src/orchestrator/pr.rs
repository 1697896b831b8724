//! The local pull request: the task's work committed on its `ambidex/…` branch, and a Markdown
//! document holding the summary, the tests run with their results, the review, risks, rollback and
//! the audit reference. Created once: a resumed task finds the PR it already has. With
//! `forges.delivery` = `github` or `gitlab`, `deliver` takes over after the commit.

use std::sync::Arc;

use super::artifacts::Output;
use super::flow::Ending;
use super::{Engine, EngineError, EngineSetup};
use crate::domain::{Adoption, PlaybookRef, RecordedMatrix, Task, ValidationRun};
use crate::eval::identity::{Outcome, outcome};
use crate::forge::{ForgeKind, Local};
use crate::protocol::{
    Actor, ArtifactKind, EventKind, FileFate, MATRIX_HEADERS, NewEvent, PRODUCTION, PullRequest, TaskId, TaskStatus,
    matrix_cells,
};
use crate::workspace::{Author, Worktree, commit_all, head_commit, head_name};

/// The branch the PR targets: the task's target branch, else the branch checked out in the
/// user's repository.
fn base_branch(task: &Task, worktree: &Worktree) -> String {
    if let Some(branch) = &task.spec.target_branch {
        return branch.clone();
    }
    head_name(&worktree.repo).unwrap_or_else(|| "main".into())
}

/// The alternatives the Left Hand tried, how each did and why it lost.
fn alternatives(task: &Task) -> String {
    let Some(exploration) = &task.exploration else {
        return "\n## Alternatives\nOnly the production track worked on this task.\n".into();
    };
    let mut out = format!(
        "\n## Alternatives\nThe Left Hand explored this task ({}: {}).\n",
        exploration.trigger,
        exploration.evidence.trim()
    );
    let adopted = exploration.adopted.as_ref().map(|a| a.choice.as_str()).unwrap_or("nothing");
    if let Some(RecordedMatrix { matrix, hash }) = &exploration.matrix {
        out.push_str(&format!("Evidence matrix `{}`; adopted: `{adopted}`.\n\n", &hash.to_string()[..12]));
        let headers: Vec<&str> = MATRIX_HEADERS.iter().copied().chain(["OUTCOME"]).collect();
        out.push_str(&format!("| {} |\n|{}\n", headers.join(" | "), "---|".repeat(headers.len())));
        for row in &matrix.rows {
            let chosen = adopted == format!("adopt {}", row.candidate)
                || (row.candidate == "production" && adopted == "keep production");
            let outcome = if chosen {
                "adopted".to_owned()
            } else if row.acceptable() {
                "acceptable, not chosen".to_owned()
            } else {
                format!("lost: {}", row.shortcomings().join("; "))
            };
            let cells = matrix_cells(row).map(|cell| cell.replace('|', "\\|"));
            out.push_str(&format!("| {} | {outcome} |\n", cells.join(" | ")));
        }
    }
    if let Some(synthesis) = &exploration.synthesis {
        out.push_str(&format!("\nSynthesis recommended `{}`:\n", synthesis.recommendation.label()));
        for reason in &synthesis.reasons {
            out.push_str(&format!("- {} [{}]\n", reason.text, reason.rows.join(", ")));
        }
        for flag in &synthesis.flags {
            out.push_str(&format!("- ⚠ {flag}\n"));
        }
    }
    for (label, outcome) in exploration.finished.iter().filter(|(_, o)| !o.ok) {
        out.push_str(&format!("- {label} produced no usable change: {}\n", outcome.summary));
    }
    if let Some(Adoption { hunks, .. }) = &exploration.adopted
        && !hunks.is_empty()
    {
        let mut by_source: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
        for hunk in hunks {
            *by_source.entry(hunk.candidate.as_str()).or_default() += 1;
        }
        let sources: Vec<String> = by_source.iter().map(|(c, n)| format!("{n} from {c}")).collect();
        out.push_str(&format!("\nProvenance of the adopted hunks: {}.\n", sources.join(", ")));
    }
    if let Some(Adoption { production_files, .. }) = &exploration.adopted
        && !production_files.is_empty()
    {
        out.push_str("\nWhat the adoption did with the production change:\n");
        for file in production_files {
            let fate = match file.fate {
                FileFate::Kept => "kept",
                FileFate::Replaced => "replaced",
                FileFate::Dropped => "removed from the PR",
            };
            out.push_str(&format!("- `{}`: {fate} ({})\n", file.path, file.why));
        }
    }
    out
}

/// The acceptance criteria as a checklist: a criterion is ticked when an acceptance test the
/// eval designer said demonstrates it passes in the evidence row of the change this PR holds
/// (the adopted candidate, or production when it was kept); the others stay for a human to check.
fn criteria_checklist(task: &Task) -> String {
    let exploration = task.exploration.as_ref();
    let covers = exploration.and_then(|e| e.acceptance.as_ref()).map(|a| a.covers.as_slice()).unwrap_or_default();
    let held = exploration.and_then(|e| {
        let choice = e.adopted.as_ref()?.choice.as_str();
        let label = if choice == "keep production" { PRODUCTION } else { choice.strip_prefix("adopt ")? };
        e.matrix.as_ref()?.matrix.row(label)
    });
    let mut out = String::new();
    for (index, criterion) in task.spec.acceptance_criteria.iter().enumerate() {
        let passing: Vec<&str> = covers
            .iter()
            .filter(|c| c.criterion as usize == index + 1)
            .filter(|c| held.is_some_and(|row| outcome(&c.test, &row.reports) == Outcome::Passed))
            .map(|c| c.test.as_str())
            .collect();
        match passing.as_slice() {
            [] => out.push_str(&format!("- [ ] {criterion}\n")),
            tests => out.push_str(&format!("- [x] {criterion} (shown by `{}`, which passes)\n", tests.join("`, `"))),
        }
    }
    out
}

/// What the engineer said along the way, and what each send-back changed.
fn engineer_section(task: &Task) -> String {
    if task.notes.is_empty() && task.send_backs.is_empty() {
        return String::new();
    }
    let mut out = String::from("\n## The engineer's notes\n");
    // Feedback on the PR is listed once, with its send-back below.
    for note in task.notes.iter().filter(|note| note.from.is_none()) {
        out.push_str(&format!("- {}{}\n", note.text, super::task_run::note_origin(note)));
    }
    for back in &task.send_backs {
        let changed = match &back.outcome {
            Some(summary) => {
                format!("the {} stage did it again: {}", back.to, summary.lines().next().unwrap_or_default())
            }
            None => format!("the {} stage has not finished again", back.to),
        };
        let from = match (&back.feedback, back.gate) {
            (Some(reviewers), _) => format!("Sent back by feedback on the PR from {reviewers}"),
            (None, Some(gate)) => format!("Sent back from the {gate} gate"),
            (None, None) => "Rewound".to_owned(),
        };
        out.push_str(&format!("- {from} to the {} stage: {}; {changed}\n", back.to, back.note));
    }
    out
}

/// The PR document.
pub fn document(task: &Task, draft: &PullRequest, head_seq: u64, head_hash: &str) -> String {
    let mut out = format!("# {}\n\n{}\n", draft.title, draft.body.trim());
    out.push_str(&format!("\n## Task\n{} (`{}`)\n", task.spec.title, task.id));
    if let Some(triage) = &task.triage {
        out.push_str(&format!("Triage: {}, risk {}, route {}.\n", triage.kind, triage.risk, triage.route));
    }
    out.push_str(&criteria_checklist(task));
    if let Some(plan) = &task.plan {
        out.push_str(&format!("\n## Plan\n{}\n", plan.summary.trim()));
        for step in &plan.steps {
            out.push_str(&format!("- {step}\n"));
        }
    }
    out.push_str("\n## Tests run\n");
    if task.validation.is_empty() {
        out.push_str("No validation ran (approved at a gate; see the audit log for the reason).\n");
    } else {
        out.push_str("| command | result | attempt | time |\n|---|---|---|---|\n");
        for ValidationRun { attempt, result } in &task.validation {
            let outcome = if result.ok { "passed".to_owned() } else { format!("FAILED (exit {:?})", result.exit_code) };
            out.push_str(&format!(
                "| `{}` | {outcome} | {attempt} | {:.1} s |\n",
                result.command,
                result.duration_ms as f64 / 1000.0
            ));
        }
    }
    if let Some(review) = &task.review {
        out.push_str(
            &format!("\n## Review\n{:?}: {}\n", review.verdict, review.summary.trim()).replace("Approve:", "Approved:"),
        );
        for finding in &review.findings {
            out.push_str(&format!("- [{}] {}: {}\n", finding.severity, finding.category, finding.message));
        }
    }
    if let Some(plan) = task.plan.as_ref().filter(|p| !p.rollback.trim().is_empty())
        && !draft.body.contains("## Rollback")
    {
        out.push_str(&format!("\n## Rollback\n{}\n", plan.rollback.trim()));
    }
    out.push_str(&alternatives(task));
    out.push_str(&engineer_section(task));
    let decided: Vec<String> = task.decided_gates.iter().map(|g| format!("{} gate: {}", g.kind, g.decision)).collect();
    if !decided.is_empty() {
        out.push_str(&format!("\n## Approvals\n{}\n", decided.join("; ")));
    }
    out.push_str(&format!(
        "\n## Audit\nTask `{}`, {} events; log head #{head_seq} `{head_hash}`.\nSee `ambidex audit log --task {}`.\n",
        task.id,
        task.event_count,
        task.id.short()
    ));
    if let Some(PlaybookRef { name, version, policy_version: policy }) = &task.playbook {
        out.push_str(&format!(
            "Playbook `{name}` {}, policy {}.\n",
            &version[..version.len().min(12)],
            &policy[..policy.len().min(12)]
        ));
    }
    out
}

/// The commit message: the PR's title and body, or for a rework, what it answers.
fn commit_message(task: &Task, draft: &PullRequest) -> String {
    match &task.rework {
        Some(rework) => format!(
            "{}: address the feedback from {}\n\n{}\n\nAmbidex task {}",
            draft.title,
            rework.from,
            rework.note.trim(),
            task.id
        ),
        None => format!("{}\n\n{}\n\nAmbidex task {}", draft.title, draft.body.trim(), task.id),
    }
}

/// What a delivered PR leaves in the artifact store: its document and its change as a patch.
async fn delivered_outputs(worktree: &Worktree, pr: &PullRequest) -> Vec<Output> {
    let document = format!("# {}\n\n{}", pr.title, pr.body);
    let mut outputs = vec![Output::new(ArtifactKind::PrDocument, format!("PR on {}", pr.branch), document)];
    let (path, base, branch) = (worktree.path.clone(), worktree.base.clone(), worktree.branch.clone());
    let patch = tokio::task::spawn_blocking(move || crate::workspace::branch_patch(&path, &base, &branch)).await;
    if let Ok(Ok(patch)) = patch {
        outputs.push(Output::new(ArtifactKind::Patch, format!("change on {}", pr.branch), patch));
    }
    outputs
}

/// Commits the worktree and records the PR, unless the task has one already that no feedback
/// sent back (a rework commits again on the same branch and updates the PR).
pub async fn create_local(
    engine: &Arc<Engine>,
    setup: &EngineSetup,
    id: TaskId,
    worktree: &Worktree,
) -> Result<Ending, EngineError> {
    let task = engine.task(id)?;
    let delivery = super::deliver::target(setup)?;
    if let Some(pr) = task.pr.clone().filter(|_| task.rework.is_none()) {
        if task.status == TaskStatus::Running && delivery != ForgeKind::Local {
            return super::deliver::finish(engine, setup, &task, pr, delivery).await;
        }
        if task.status == TaskStatus::Running {
            engine
                .append(vec![NewEvent::for_task(
                    id,
                    Actor::Orchestrator,
                    EventKind::StatusChanged {
                        from: TaskStatus::Running,
                        to: TaskStatus::PrReady,
                        reason: "the PR exists".into(),
                    },
                )])
                .await?;
        }
        return Ok(Ending::PrReady(pr));
    }
    let draft = task.pr_draft.clone().unwrap_or_else(|| PullRequest {
        branch: worktree.branch.clone(),
        base_branch: String::new(),
        commit: String::new(),
        title: task.spec.title.clone(),
        body: String::new(),
        draft: true,
        location: String::new(),
    });
    let author = Author { name: setup.config.git.author_name.clone(), email: setup.config.git.author_email.clone() };
    let message = commit_message(&task, &draft);
    let path = worktree.path.clone();
    let committed = tokio::task::spawn_blocking(move || commit_all(&path, &author, &message))
        .await
        .map_err(|err| EngineError::Refused(format!("commit stopped: {err}")))?
        .map_err(|err| EngineError::Refused(err.to_string()))?;
    let commit = match committed {
        Some(commit) => commit,
        None => head_commit(&worktree.path).map_err(|err| EngineError::Refused(err.to_string()))?,
    };
    let head = engine.reader().head()?;
    let mut pr = draft;
    pr.commit = commit;
    pr.branch = worktree.branch.clone();
    pr.base_branch = base_branch(&task, worktree);
    pr.body = document(&task, &pr, head.seq, &head.hash.to_string());
    let kept = engine.keep(id, delivered_outputs(worktree, &pr).await).await;
    if delivery != ForgeKind::Local {
        engine.append(kept.into_iter().collect()).await?;
        return super::deliver::deliver(engine, setup, &task, worktree, pr, delivery).await;
    }
    let file = Local::new(engine.state_dir().join("prs"))
        .write_document(id, &pr.body)
        .map_err(|err| EngineError::Refused(err.to_string()))?;
    pr.location = file.display().to_string();
    let mut events: Vec<NewEvent> = kept.into_iter().collect();
    events.push(NewEvent::for_task(id, super::deliver::pr_agent(), EventKind::PrCreated { pr: pr.clone() }));
    if task.rework.is_some() {
        // A local document answers feedback by being written again.
        let answer = EventKind::PrAnswered { url: pr.location.clone(), commit: pr.commit.clone() };
        events.push(NewEvent::for_task(id, Actor::Orchestrator, answer));
    }
    let ready = EventKind::StatusChanged {
        from: TaskStatus::Running,
        to: TaskStatus::PrReady,
        reason: format!("draft PR ready on {}", pr.branch),
    };
    events.push(NewEvent::for_task(id, Actor::Orchestrator, ready));
    engine.append(events).await?;
    Ok(Ending::PrReady(pr))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{AcceptanceTests, Exploration};
    use crate::eval::compare::tests::report;
    use crate::protocol::{CriterionCoverage, Digest, EvidenceMatrix, EvidenceRow, TaskSpec, TestStatus};

    /// A task whose eval designer tied `accept_a` to criterion 1 and `accept_b` to criterion 2,
    /// where c1 passes `accept_a`, fails `accept_b`, and `choice` was adopted.
    fn task(choice: &str) -> Task {
        let mut spec = TaskSpec::titled("Round pages up");
        spec.acceptance_criteria = vec!["rounds up".into(), "zero size is 0".into(), "docs say so".into()];
        let mut task = crate::domain::task::fresh(spec);
        let cover = |criterion, test: &str| CriterionCoverage { criterion, test: test.into() };
        let row = |label: &str, tests: &[(&str, TestStatus)]| EvidenceRow {
            candidate: label.into(),
            reports: vec![report("cargo test", tests)],
            ..EvidenceRow::default()
        };
        let matrix = EvidenceMatrix {
            rows: vec![
                row("production", &[("accept_a", TestStatus::Failed), ("accept_b", TestStatus::Passed)]),
                row("c1", &[("accept_a", TestStatus::Passed), ("accept_b", TestStatus::Failed)]),
            ],
            ..EvidenceMatrix::default()
        };
        task.exploration = Some(Exploration {
            acceptance: Some(AcceptanceTests {
                covers: vec![cover(1, "accept_a"), cover(2, "accept_b"), cover(3, "accept_gone")],
                ..AcceptanceTests::default()
            }),
            matrix: Some(RecordedMatrix { matrix, hash: Digest::GENESIS }),
            adopted: Some(Adoption { choice: choice.into(), hunks: Vec::new(), production_files: Vec::new() }),
            ..Exploration::default()
        });
        task
    }

    #[test]
    fn only_criteria_whose_declared_test_passes_in_the_adopted_row_are_ticked() {
        let adopted = criteria_checklist(&task("adopt c1"));
        assert_eq!(
            adopted, "- [x] rounds up (shown by `accept_a`, which passes)\n- [ ] zero size is 0\n- [ ] docs say so\n",
            "a failing test and a test that never ran tick nothing"
        );
        // The same tests judged in production's row when production was kept.
        let kept = criteria_checklist(&task("keep production"));
        assert!(kept.starts_with("- [ ] rounds up\n- [x] zero size is 0"), "{kept}");
        // A combination has no row of its own: nothing is claimed for it.
        assert!(!criteria_checklist(&task("combine 3 hunks")).contains("[x]"));
        let mut untouched = task("adopt c1");
        untouched.exploration = None;
        assert_eq!(criteria_checklist(&untouched).matches("- [ ]").count(), 3);
    }
}
