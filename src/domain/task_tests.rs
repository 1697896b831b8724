use super::*;
use crate::protocol::{Actor, Decision, Digest};

fn event(seq: u64, kind: EventKind) -> Event {
    Event {
        schema: crate::protocol::EVENT_SCHEMA,
        seq,
        at: Timestamp::from_second(1_700_000_000 + seq as i64).unwrap(),
        task: None,
        actor: Actor::Orchestrator,
        kind,
        prev_hash: Digest::GENESIS,
        hash: Digest::GENESIS,
    }
}

fn new_task() -> Task {
    let spec = TaskSpec::titled("Fix the off-by-one in pagination");
    let created = event(1, EventKind::TaskCreated { spec: spec.clone() });
    Task::created(TaskId::new(), spec, &created)
}

fn status(from: TaskStatus, to: TaskStatus) -> EventKind {
    EventKind::StatusChanged { from, to, reason: "test".into() }
}

#[test]
fn status_changes_follow_the_state_machine() {
    let mut task = new_task();
    task.apply(&event(2, status(TaskStatus::Received, TaskStatus::Queued))).unwrap();
    assert_eq!(task.status, TaskStatus::Queued);
    let err = task.apply(&event(3, status(TaskStatus::Queued, TaskStatus::PrReady))).unwrap_err();
    assert!(matches!(err, ApplyError::Illegal(_)), "{err}");
    assert_eq!(task.status, TaskStatus::Queued);
    assert_eq!(task.last_seq, 2);
    assert_eq!(task.event_count, 2);
}

#[test]
fn a_stale_from_status_is_refused() {
    let mut task = new_task();
    let err = task.apply(&event(2, status(TaskStatus::Queued, TaskStatus::Running))).unwrap_err();
    assert_eq!(
        err,
        ApplyError::StaleStatus { task: task.id, actual: TaskStatus::Received, claimed: TaskStatus::Queued }
    );
}

#[test]
fn gates_open_and_close_once() {
    let mut task = new_task();
    let gate = GateId::new();
    task.apply(&event(
        2,
        EventKind::GateOpened {
            gate,
            kind: GateKind::Plan,
            reason: "risk is medium".into(),
            evidence_hash: None,
            allowed: vec![Decision::Approve, Decision::Reject],
            options: Vec::new(),
        },
    ))
    .unwrap();
    assert_eq!(task.open_gates.len(), 1);
    assert_eq!(task.open_gates[0].opened_seq, 2);
    let decided = EventKind::GateDecided { gate, decision: Decision::Approve, note: None, choice: None };
    task.apply(&event(3, decided.clone())).unwrap();
    assert!(task.open_gates.is_empty());
    assert_eq!(task.apply(&event(4, decided)).unwrap_err(), ApplyError::GateNotOpen { task: task.id, gate });
}

#[test]
fn only_a_task_waiting_on_intake_can_be_revised() {
    let mut task = new_task();
    let revised = EventKind::TaskRevised { spec: TaskSpec::titled("Clearer") };
    assert!(matches!(task.apply(&event(2, revised.clone())).unwrap_err(), ApplyError::NotRevisable { .. }));
    task.apply(&event(2, status(TaskStatus::Received, TaskStatus::NeedsClarification))).unwrap();
    task.apply(&event(3, revised)).unwrap();
    assert_eq!(task.spec.title, "Clearer");
}

#[test]
fn usage_adds_up_and_triage_overrides_declared_values() {
    let mut task = new_task();
    task.spec.risk = Some(Risk::Low);
    assert_eq!(task.risk(), Some(Risk::Low));
    for seq in 2..4 {
        task.apply(&event(seq, EventKind::UsageRecorded { input_tokens: 10, output_tokens: 5, cost_micros: 7 }))
            .unwrap();
    }
    assert_eq!((task.input_tokens, task.output_tokens, task.cost_micros), (20, 10, 14));
    task.apply(&event(
        4,
        EventKind::TaskTriaged(crate::protocol::Triage {
            kind: TaskKind::BugFix,
            risk: Risk::High,
            novelty: 10,
            route: Route::RightAndLeft,
            reasons: vec!["touches auth/".into()],
            budgets: None,
            gates: Vec::new(),
            areas: Vec::new(),
            policy_version: String::new(),
            autonomy: Default::default(),
        }),
    ))
    .unwrap();
    assert_eq!(task.risk(), Some(Risk::High));
    assert_eq!(task.route(), Some(Route::RightAndLeft));
}

#[test]
fn a_removed_worktree_is_remembered_only_while_its_branch_is_kept() {
    let mut task = new_task();
    for (seq, candidate) in [(2, "production"), (3, "eval-c1")] {
        let created = EventKind::WorktreeCreated {
            candidate: candidate.into(),
            path: format!("/w/{candidate}"),
            branch: format!("ambidex/x/{candidate}"),
            base: "abc".into(),
        };
        task.apply(&event(seq, created)).unwrap();
    }
    let removed = |candidate: &str, deleted: bool| EventKind::WorktreeRemoved {
        candidate: candidate.into(),
        path: format!("/w/{candidate}"),
        branch_deleted: deleted.then(|| format!("ambidex/x/{candidate}")),
        bytes: 10,
    };
    task.apply(&event(4, removed("production", false))).unwrap();
    task.apply(&event(5, removed("eval-c1", true))).unwrap();
    assert!(task.worktrees.is_empty());
    let remembered: Vec<&str> = task.removed_worktrees.iter().map(|w| w.candidate.as_str()).collect();
    assert_eq!(remembered, ["production"], "its branch still holds the change to show");
}

#[test]
fn the_projection_names_its_parts_in_json() {
    let mut task = new_task();
    let selected = EventKind::PlaybookSelected {
        playbook: "right_hand".into(),
        playbook_version: "acae".into(),
        policy_version: "dc37".into(),
        exploration_version: String::new(),
    };
    task.apply(&event(2, selected)).unwrap();
    let result = |command: &str, ok: bool| crate::protocol::ValidationResult {
        command: command.into(),
        ok,
        exit_code: Some(if ok { 0 } else { 101 }),
        duration_ms: 5,
        summary: String::new(),
    };
    task.apply(&event(3, EventKind::ValidationRan { attempt: 1, result: result("cargo test", false) })).unwrap();
    task.apply(&event(4, EventKind::ValidationRan { attempt: 1, result: result("cargo fmt --check", true) })).unwrap();
    task.apply(&event(5, EventKind::ValidationRan { attempt: 2, result: result("cargo test", true) })).unwrap();

    let json = serde_json::to_value(&task).unwrap();
    assert_eq!(
        json["playbook"],
        serde_json::json!({"name": "right_hand", "version": "acae", "policy_version": "dc37"})
    );
    let runs: Vec<(u64, &str, bool)> = json["validation"]
        .as_array()
        .unwrap()
        .iter()
        .map(|run| {
            (run["attempt"].as_u64().unwrap(), run["result"]["command"].as_str().unwrap(), run["result"]["ok"] == true)
        })
        .collect();
    assert_eq!(runs, [(1, "cargo fmt --check", true), (2, "cargo test", true)], "the latest run of each command");
    assert_eq!(serde_json::from_value::<Task>(json).unwrap(), task);
}
