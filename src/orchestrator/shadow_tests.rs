//! Which cases a shadow evaluation replays, and with which playbooks.

use super::*;
use crate::domain::WorktreeRef;
use crate::domain::task::fresh;
use crate::playbooks::playbook::BUILT_IN;
use crate::protocol::{ExhibitId, ExhibitLinks, ExhibitSource, ExhibitStatus, PullRequest, Verification};

const REPO: &str = "/repo";

fn exhibit(title: &str, source: ExhibitSource) -> Exhibit {
    Exhibit {
        id: ExhibitId::new(),
        repo: REPO.into(),
        title: title.into(),
        base: format!("base-of-{title}"),
        reproducer: Reproducer { command: "cargo test".into(), tests: vec!["rounds_up".into()], tests_patch: None },
        bug_patch: None,
        fix_patch: None,
        files: Vec::new(),
        root_cause: "integer division rounds down".into(),
        check: String::new(),
        source,
        links: ExhibitLinks::default(),
        status: ExhibitStatus::Kept,
        created: Timestamp::UNIX_EPOCH,
        verification: Some(Verification { at: Timestamp::UNIX_EPOCH, reproduces: true, detail: "ok".into() }),
    }
}

/// A past task of `kind` whose production worktree started from `base`, with a PR when `pr`.
fn task(title: &str, kind: TaskKind, base: &str, pr: bool, second: i64) -> Task {
    let mut spec = TaskSpec::titled(title);
    spec.repo = Some(REPO.into());
    spec.source = TaskSource::Issue { url: "https://github.com/o/r/issues/1".into() };
    let mut task = fresh(spec);
    task.spec.kind = Some(kind);
    task.created_at = Timestamp::from_second(1_700_000_000 + second).unwrap();
    task.removed_worktrees.push(WorktreeRef {
        candidate: PRODUCTION.into(),
        path: "/w".into(),
        branch: "ambidex/x/production".into(),
        base: base.into(),
        set_up: true,
    });
    if pr {
        task.pr = Some(PullRequest {
            branch: "b".into(),
            base_branch: "main".into(),
            commit: "c".into(),
            title: title.into(),
            body: String::new(),
            draft: true,
            location: String::new(),
        });
    }
    task
}

fn titles(cases: &[(Case, Risk)]) -> Vec<&str> {
    cases.iter().map(|(c, _)| c.case.title.as_str()).collect()
}

#[test]
fn exhibits_of_the_class_come_first_then_the_last_held_out_tasks_the_proposal_did_not_win() {
    let tasks = vec![
        task("oldest fix", TaskKind::BugFix, "b1", true, 1),
        task("won by the strategy", TaskKind::BugFix, "b2", true, 2),
        task("a feature", TaskKind::Feature, "b3", true, 3),
        task("no pr", TaskKind::BugFix, "b4", false, 4),
        task("recent fix", TaskKind::BugFix, "b5", true, 5),
        task("latest fix", TaskKind::BugFix, "b6", true, 6),
        task("the exhibit's task", TaskKind::BugFix, "b7", true, 7),
    ];
    let origin = tasks[6].id;
    let mut of_fix = exhibit("broke rounding", ExhibitSource::Candidate { task: origin, candidate: "c1".into() });
    of_fix.bug_patch = Some("diff".into());
    let of_feature = exhibit("feature bug", ExhibitSource::Candidate { task: tasks[2].id, candidate: "c2".into() });
    let mut unverified = exhibit("unverified", ExhibitSource::Human);
    unverified.verification = None;
    let mut elsewhere = exhibit("elsewhere", ExhibitSource::Human);
    elsewhere.repo = "/other".into();
    let exhibits = vec![of_feature, of_fix, unverified, elsewhere];
    let won = vec![tasks[1].id];
    let pool =
        Pool { tasks: &tasks, exhibits: &exhibits, repo: REPO, classes: &[TaskKind::BugFix], held_out: 2, won: &won };
    let (cases, skipped) = choose(&pool);
    assert!(skipped.is_empty(), "{skipped:?}");
    assert_eq!(titles(&cases), ["broke rounding", "recent fix", "latest fix"]);

    let (exhibit_case, _) = &cases[0];
    assert_eq!(exhibit_case.case.source, ReplaySource::Exhibit { id: exhibits[1].id });
    assert_eq!(exhibit_case.spec.title, "the exhibit's task", "an exhibit with a task replays that task");
    assert_eq!(exhibit_case.spec.target_branch.as_deref(), Some("base-of-broke rounding"), "from the exhibit's base");
    assert!(exhibit_case.exhibit.is_some());
    let (task_case, _) = &cases[2];
    assert_eq!(task_case.case.source, ReplaySource::Task { id: tasks[5].id });
    assert_eq!((task_case.case.base.as_str(), task_case.spec.target_branch.as_deref()), ("b6", Some("b6")));
    assert_eq!(task_case.spec.kind, Some(TaskKind::BugFix));
    assert_eq!(task_case.spec.source, TaskSource::Manual, "a replay never comments on the issue");
    assert!(task_case.exhibit.is_none());
}

#[test]
fn without_exhibits_of_the_class_every_kept_one_is_replayed_as_a_fix_task_or_left_out_with_why() {
    let human = exhibit("page_count drops the last page", ExhibitSource::Human);
    let mut orphan = exhibit("a change broke it", ExhibitSource::Human);
    orphan.bug_patch = Some("diff".into());
    let exhibits = vec![human.clone(), orphan];
    let pool =
        Pool { tasks: &[], exhibits: &exhibits, repo: REPO, classes: &[TaskKind::BugFix], held_out: 3, won: &[] };
    let (cases, skipped) = choose(&pool);
    assert_eq!(titles(&cases), ["page_count drops the last page"]);
    assert_eq!(skipped.len(), 1);
    assert!(skipped[0].contains("no commit has the bug"), "{skipped:?}");
    let (case, risk) = &cases[0];
    assert_eq!(*risk, Risk::Low);
    assert_eq!(case.spec.title, "Fix: page_count drops the last page");
    assert_eq!(case.spec.validation, ["cargo test"]);
    assert_eq!(case.spec.acceptance_criteria[0], "`rounds_up` passes");
    assert!(case.spec.description.contains("integer division rounds down"), "{}", case.spec.description);
    assert_eq!(case.spec.target_branch.as_deref(), Some(human.base.as_str()));
    assert_eq!(case.spec.repo.as_deref(), Some(REPO));
}

/// The shipped playbook as `name`, for `kinds`.
fn playbook_text(name: &str, kinds: &str) -> String {
    let all = "kinds = [\"bug_fix\", \"feature\", \"refactor\", \"test_work\", \"ci_repair\", \"dependency_update\", \"security_change\", \"migration\", \"documentation\"]";
    assert!(BUILT_IN[0].1.contains(all));
    BUILT_IN[0].1.replacen("name = \"right_hand\"", &format!("name = \"{name}\""), 1).replacen(all, kinds, 1)
}

fn version_of(text: &str) -> PlaybookVersion {
    let playbook = Playbook::parse(text, "test").unwrap();
    PlaybookVersion {
        hash: playbook.version.clone(),
        artifact: Artifact::Playbook,
        name: playbook.name,
        classes: playbook.kinds,
        parent: None,
        author: Author::Person { name: "ana".into() },
        summary: String::new(),
        created: Timestamp::UNIX_EPOCH,
        status: crate::protocol::VersionStatus::Proposed,
        decision: None,
        evaluation: None,
        retirement: Vec::new(),
        text: text.to_owned(),
    }
}

#[test]
fn each_version_runs_its_classes_even_where_a_more_specific_playbook_is_loaded() {
    let mut loaded = Playbooks::built_in().unwrap();
    let specific = Playbook::parse(&playbook_text("fixes", "kinds = [\"bug_fix\"]"), "repo").unwrap();
    loaded.insert(specific);
    assert_eq!(loaded.for_kind(TaskKind::BugFix).unwrap().name, "fixes");

    let proposal = version_of(&playbook_text("fixes_v2", "kinds = [\"bug_fix\", \"feature\"]"));
    let with = playbooks_with(&loaded, &proposal, &[TaskKind::BugFix, TaskKind::Feature]).unwrap();
    assert_eq!(with.for_kind(TaskKind::BugFix).unwrap().version, proposal.hash, "the more specific one stands aside");
    assert_eq!(with.for_kind(TaskKind::Feature).unwrap().version, proposal.hash);
    assert_eq!(with.for_kind(TaskKind::Refactor).unwrap().name, "right_hand", "other classes are untouched");

    let baseline = version_of(BUILT_IN[0].1);
    let with = playbooks_with(&loaded, &baseline, &[TaskKind::BugFix]).unwrap();
    assert_eq!(with.for_kind(TaskKind::BugFix).unwrap().version, baseline.hash);

    let mut broken = proposal.clone();
    broken.text = "name = 1".into();
    let err = playbooks_with(&loaded, &broken, &[TaskKind::BugFix]).unwrap_err();
    assert!(err.to_string().contains("not a playbook the engine can run"), "{err}");
}

#[test]
fn the_estimate_is_every_case_with_both_versions() {
    let version = version_of(BUILT_IN[0].1);
    let case = |budget_micros| Case {
        case: ReplayCase { source: ReplaySource::Task { id: TaskId::new() }, title: "t".into(), base: "b".into() },
        spec: TaskSpec::titled("t"),
        exhibit: None,
        budget_micros,
    };
    let plan = Plan {
        proposal: version.clone(),
        baseline: version,
        classes: vec![TaskKind::BugFix],
        cases: vec![case(2_000_000), case(500_000)],
        skipped: Vec::new(),
        model: "script/scripted".into(),
    };
    assert_eq!(plan.estimate_micros(), 5_000_000);
}

#[test]
fn endings_are_said_in_a_few_words_and_validation_is_read_from_the_latest_attempt() {
    assert_eq!(ending_words(&Ok(Ending::Cancelled)), "cancelled");
    assert_eq!(ending_words(&Ok(Ending::Failed("no progress".into()))), "failed: no progress");
    let long = shorten(&"x".repeat(MAX_ENDING + 5));
    assert_eq!((long.chars().count(), long.ends_with('…')), (MAX_ENDING, true));
    let mut task = fresh(TaskSpec::titled("t"));
    assert!(validation_passed(&task).is_ok(), "nothing ran, nothing failed");
    let run = |attempt, ok| crate::domain::ValidationRun {
        attempt,
        result: crate::protocol::ValidationResult {
            command: "cargo test".into(),
            ok,
            exit_code: None,
            duration_ms: 1,
            summary: String::new(),
        },
    };
    task.validation = vec![run(1, false), run(2, true)];
    assert!(validation_passed(&task).is_ok());
    task.validation.push(run(3, false));
    assert_eq!(validation_passed(&task).unwrap_err(), "cargo test");
}
