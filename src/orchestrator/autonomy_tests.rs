//! Autonomy over a scripted history: no proposal below the thresholds, one when they pass (and
//! only once), a person's grant, and a revert or a failure streak among the relaxed tasks that
//! tightens the class at once.

use serde_json::json;

use super::*;
use crate::orchestrator::metrics::tests::History;
use crate::protocol::{ExhibitId, TaskId};

fn rules() -> AutonomyRules {
    AutonomyRules {
        window_days: 30,
        min_tasks: 3,
        min_completion: 0.9,
        max_escaped_defects: 0,
        max_send_backs_per_task: 1.0,
        failure_streak: 2,
    }
}

/// `done` bug fixes that reached a PR, one every 100 s from `start`, then `failed` that failed.
fn tasks(h: &mut History, start: i64, done: usize, failed: usize) -> Vec<TaskId> {
    let mut ids = Vec::new();
    for i in 0..done + failed {
        let id = TaskId::new();
        let at = start + 100 * i as i64;
        h.created(id, at, "bug_fix");
        h.status(id, at + 50, "running", if i < done { "pr_ready" } else { "failed" });
        ids.push(id);
    }
    ids
}

fn at(h: &History) -> Timestamp {
    h.events.last().unwrap().at
}

fn change(event: &NewEvent) -> (AutonomyChange, AutonomyState) {
    match &event.kind {
        EventKind::AutonomyChanged { change, state } => (*change, state.clone()),
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_next_level_is_proposed_only_when_every_threshold_passes_and_only_a_person_grants_it() {
    let mut h = History::new();
    tasks(&mut h, 0, 2, 0);
    let supervised = state_of(&[], TaskKind::BugFix);
    assert!(review(&h.fold(), &supervised, &rules(), at(&h)).is_none(), "two tasks are not enough");
    let evidence = evidence(&h.fold(), TaskKind::BugFix, &rules(), at(&h));
    assert_eq!(shortfalls(&evidence, &rules()), ["2 finished tasks (needs 3)"]);

    tasks(&mut h, 1_000, 1, 0);
    let (kind, proposed) = change(&review(&h.fold(), &supervised, &rules(), at(&h)).unwrap());
    assert_eq!(kind, AutonomyChange::Proposed);
    assert_eq!((proposed.level, proposed.proposed), (AutonomyLevel::Supervised, Some(AutonomyLevel::TrustedPlan)));
    assert_eq!(proposed.evidence.finished, 3);
    assert!(proposed.reason.contains("3 tasks finished in 30 days, 100% completed"), "{}", proposed.reason);
    assert!(review(&h.fold(), &proposed, &rules(), at(&h)).is_none(), "a proposal waits for its answer");

    let states = [proposed];
    let grant = AutonomyEdit::Grant { class: TaskKind::BugFix };
    let refused = edit_events(&states, grant.clone(), &Actor::Orchestrator, at(&h)).unwrap_err();
    assert!(refused.to_string().contains("only a person"), "{refused}");
    let (kind, granted) = change(&edit_events(&states, grant, &Actor::Human { name: None }, at(&h)).unwrap()[0]);
    assert_eq!((kind, granted.level, granted.proposed), (AutonomyChange::Granted, AutonomyLevel::TrustedPlan, None));
    let nothing = edit_events(
        std::slice::from_ref(&granted),
        AutonomyEdit::Grant { class: TaskKind::BugFix },
        &Actor::Human { name: None },
        at(&h),
    );
    assert!(nothing.unwrap_err().to_string().contains("no autonomy proposal waits"));
    assert!(review(&h.fold(), &granted, &rules(), at(&h)).is_none(), "the next step needs tasks run since the grant");
}

#[test]
fn a_waiting_proposal_whose_evidence_no_longer_holds_is_withdrawn() {
    let mut h = History::new();
    tasks(&mut h, 0, 3, 0);
    let supervised = state_of(&[], TaskKind::BugFix);
    let (_, proposed) = change(&review(&h.fold(), &supervised, &rules(), at(&h)).unwrap());
    tasks(&mut h, 1_000, 0, 1);
    let (kind, withdrawn) = change(&review(&h.fold(), &proposed, &rules(), at(&h)).unwrap());
    assert_eq!(
        (kind, withdrawn.level, withdrawn.proposed),
        (AutonomyChange::Declined, AutonomyLevel::Supervised, None)
    );
    assert!(withdrawn.reason.contains("completion 75% (needs 90%)"), "{}", withdrawn.reason);
}

#[test]
fn a_revert_or_a_failure_streak_among_relaxed_tasks_tightens_the_class_at_once() {
    let mut h = History::new();
    tasks(&mut h, 0, 3, 0);
    let granted = AutonomyState {
        level: AutonomyLevel::TrustedPlan,
        at: at(&h),
        since: at(&h),
        ..state_of(&[], TaskKind::BugFix)
    };
    let relaxed = tasks(&mut h, 1_000, 1, 0);
    let early = review(&h.fold(), &granted, &rules(), at(&h));
    assert!(early.is_none(), "{early:?}");

    let mut with_revert = History::new();
    with_revert.events = h.events.clone();
    let exhibit = json!({"type": "exhibit_changed", "change": "proposed", "exhibit": {
        "id": ExhibitId::new().to_string(), "repo": "/r", "title": "reverted", "base": "abc", "reproducer": {},
        "source": {"type": "reverted", "task": relaxed[0].to_string(), "revert": "def"},
        "status": "pending", "created": "2026-09-21T00:00:00Z"}});
    with_revert.at(None, 2_000, Actor::Orchestrator, exhibit);
    let reverted = with_revert.fold();
    let (kind, tightened) = change(&review(&reverted, &granted, &rules(), at(&with_revert)).unwrap());
    assert_eq!((kind, tightened.level), (AutonomyChange::Tightened, AutonomyLevel::Supervised));
    assert!(tightened.reason.contains("was reverted"), "{}", tightened.reason);

    let streak = tasks(&mut h, 3_000, 0, 2);
    let (_, tightened) = change(&review(&h.fold(), &granted, &rules(), at(&h)).unwrap());
    assert!(tightened.reason.contains("2 tasks in a row failed"), "{}", tightened.reason);
    assert!(tightened.reason.contains(&streak[1].short()), "{}", tightened.reason);
}

#[test]
fn relaxed_gates_stay_for_high_risk_and_a_tightened_class_caps_its_tasks() {
    assert!(skips_plan(AutonomyLevel::TrustedPlan, Risk::Medium));
    assert!(!skips_plan(AutonomyLevel::TrustedPlan, Risk::High));
    assert!(!skips_pr(AutonomyLevel::TrustedPlan, Risk::Low));
    assert!(skips_pr(AutonomyLevel::TrustedPr, Risk::Low));
    let mut task = crate::domain::task::fresh(crate::protocol::TaskSpec::titled("t"));
    task.triage = Some(crate::protocol::Triage {
        kind: TaskKind::BugFix,
        risk: Risk::Medium,
        novelty: 0,
        route: crate::protocol::Route::RightOnly,
        reasons: Vec::new(),
        budgets: None,
        gates: vec![crate::protocol::GatePlan::Plan, crate::protocol::GatePlan::PullRequest],
        areas: Vec::new(),
        policy_version: String::new(),
        autonomy: AutonomyLevel::TrustedPr,
    });
    let policy = crate::playbooks::Policy::built_in().unwrap();
    assert!(super::super::gate_plan::required(&task, &policy).is_empty(), "a trusted class skips plan and PR gates");
    let capped = capped(&task, AutonomyLevel::Supervised);
    let required = super::super::gate_plan::required(&capped, &policy);
    assert!(
        required.contains(&crate::protocol::GatePlan::Plan)
            && required.contains(&crate::protocol::GatePlan::PullRequest)
    );
}
