//! `update` tests: messages in, whole command lists (and effects) out.

use std::sync::Arc;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::app::{AppState, Effect, Msg, Overlay, Pane, Tab};
use super::model::Loaded;
use super::render_tests::{PLAN_GATE, PROMOTION_GATE, TASK, at, busy_state, event, summary};
use crate::protocol::{
    Actor, Command, Decision, EventKind, GateId, GateKind, IntakeVerdict, Risk, TaskId, TaskSpec, TaskStatus, Update,
};

fn key(code: KeyCode) -> Msg {
    Msg::Key(KeyEvent::from(code))
}

fn ctrl(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL))
}

fn typed(state: &mut AppState, text: &str) -> Vec<Command> {
    text.chars().flat_map(|c| state.update(key(if c == '\n' { KeyCode::Enter } else { KeyCode::Char(c) }))).collect()
}

fn human() -> Actor {
    Actor::Human { name: None }
}

#[test]
fn the_form_adds_a_task_and_a_clarification_is_answered_with_a_revision() {
    let mut state = AppState::new(Vec::new(), 0, "test".into(), at(0));
    assert_eq!(state.update(key(KeyCode::Char('n'))), vec![]);
    assert!(matches!(state.overlay, Some(Overlay::Form(_))));
    let mut commands = typed(&mut state, "Fix login\nlogin works");
    commands.extend(state.update(key(KeyCode::Tab)));
    commands.extend(state.update(key(KeyCode::Tab)));
    commands.extend(typed(&mut state, "h"));
    commands.extend(state.update(ctrl('s')));
    let mut spec = TaskSpec::titled("Fix login");
    spec.acceptance_criteria = vec!["login works".into()];
    spec.risk = Some(Risk::High);
    assert_eq!(commands, vec![Command::AddTask { spec: spec.clone() }]);

    // The engine answers: the task exists, intake has questions; they show in the form.
    let id = TaskId::from_u128(42);
    state.update(Msg::Engine(event(1, id, human(), EventKind::TaskCreated { spec: spec.clone() })));
    state.update(Msg::Engine(event(
        2,
        id,
        Actor::Orchestrator,
        EventKind::IntakeAssessed {
            verdict: IntakeVerdict::NeedsClarification,
            reasons: vec!["vague: the objective has 2 words".into()],
            questions: vec!["What exactly should change?".into()],
            suggested_split: Vec::new(),
        },
    )));
    let Some(Overlay::Form(form)) = &state.overlay else { panic!("the form stays open") };
    assert_eq!(form.task, Some(id));
    assert_eq!(form.intake.as_ref().map(|i| i.questions.len()), Some(1));
    state.update(Msg::Engine(event(
        3,
        id,
        Actor::Orchestrator,
        EventKind::StatusChanged {
            from: TaskStatus::Received,
            to: TaskStatus::NeedsClarification,
            reason: "vague".into(),
        },
    )));

    // Answering: the objective gets more words; ctrl-s revises the same task.
    state.update(key(KeyCode::Tab));
    typed(&mut state, " when the password has a colon");
    let commands = state.update(ctrl('s'));
    let mut revised = spec.clone();
    revised.title = "Fix login when the password has a colon".into();
    assert_eq!(commands, vec![Command::ReviseTask { task: id, spec: revised.clone() }]);

    state.update(Msg::Engine(event(4, id, human(), EventKind::TaskRevised { spec: revised })));
    state.update(Msg::Engine(event(
        5,
        id,
        Actor::Orchestrator,
        EventKind::IntakeAssessed {
            verdict: IntakeVerdict::Accepted,
            reasons: Vec::new(),
            questions: Vec::new(),
            suggested_split: Vec::new(),
        },
    )));
    assert!(state.overlay.is_none(), "an accepted task closes the form");
    assert_eq!(state.selected_task().map(|t| t.id), Some(id));
}

/// The engine's news that task `id`'s plan gate opened.
fn plan_gate_opened(id: TaskId) -> Msg {
    Msg::Engine(event(
        1,
        id,
        Actor::Orchestrator,
        EventKind::GateOpened {
            gate: GateId::from_u128(PLAN_GATE),
            kind: GateKind::Plan,
            reason: "approve the plan".into(),
            evidence_hash: None,
            allowed: vec![Decision::Approve, Decision::SendBack, Decision::Stop],
            options: Vec::new(),
        },
    ))
}

#[test]
fn a_gate_that_opens_rings_notifies_and_pops_the_overlay() {
    let mut state = AppState::new(vec![summary(TASK, "Harden", TaskStatus::Running, 0)], 0, "test".into(), at(0));
    let id = TaskId::from_u128(TASK);
    state.update(Msg::History(id, Ok(Vec::new())));
    state.take_effects();
    state.update(plan_gate_opened(id));
    let effects = state.take_effects();
    assert!(effects.contains(&Effect::Bell), "{effects:?}");
    assert!(effects.contains(&Effect::Notify("Ambidex: plan gate: Harden — approve the plan".into())), "{effects:?}");
    assert!(matches!(state.overlay, Some(Overlay::Approval)));
    assert_eq!(state.tasks[0].open_gates, 1);

    // `a` is not allowed on this gate: nothing is sent and the footer says why.
    assert_eq!(state.update(key(KeyCode::Char('a'))), vec![]);
    assert!(state.status.as_ref().is_some_and(|(text, error)| *error && text.contains("approve, send_back, stop")));

    // A note, then `y`.
    state.update(key(KeyCode::Char('e')));
    typed(&mut state, "keep it small");
    state.update(key(KeyCode::Enter));
    let commands = state.update(key(KeyCode::Char('y')));
    assert_eq!(
        commands,
        vec![Command::DecideGate {
            gate: GateId::from_u128(PLAN_GATE),
            decision: Decision::Approve,
            note: Some("keep it small".into()),
            choice: None,
        }]
    );
    assert!(state.overlay.is_none(), "the queue is empty");
    assert_eq!(state.update(key(KeyCode::Char('y'))), vec![], "a second y sends nothing");
}

#[test]
fn the_queue_of_gates_is_worked_through_and_the_promotion_choice_is_sent() {
    let mut state = busy_state();
    assert_eq!(state.approval.queue.len(), 2);
    state.update(key(KeyCode::Char('o')));
    assert!(matches!(state.overlay, Some(Overlay::Approval)));
    let mut commands = state.update(key(KeyCode::Char('y')));
    assert!(matches!(state.overlay, Some(Overlay::Approval)), "the next request is shown");
    commands.extend(state.update(key(KeyCode::Right)));
    commands.extend(state.update(key(KeyCode::Right)));
    commands.extend(state.update(key(KeyCode::Char('2'))));
    commands.extend(state.update(key(KeyCode::Char('y'))));
    assert_eq!(
        commands,
        vec![
            Command::DecideGate {
                gate: GateId::from_u128(PLAN_GATE),
                decision: Decision::Approve,
                note: None,
                choice: None
            },
            Command::DecideGate {
                gate: GateId::from_u128(PROMOTION_GATE),
                decision: Decision::Approve,
                note: None,
                choice: Some("keep production".into()),
            },
        ]
    );
    assert!(state.overlay.is_none());
}

#[test]
fn sending_back_asks_for_the_note_first_and_stopping_sends_no_choice() {
    let mut state = busy_state();
    state.update(key(KeyCode::Char('o')));
    assert_eq!(state.update(key(KeyCode::Esc)), vec![]);
    assert!(state.overlay.is_none());
    assert_eq!(state.approval.queue.len(), 2, "esc decides nothing");
    state.update(key(KeyCode::Char('o')));
    // `n` without a note opens the note; `enter` on an empty note sends nothing.
    assert_eq!(state.update(key(KeyCode::Char('n'))), vec![]);
    assert!(state.approval.editing_note && state.approval.send_back_on_enter);
    assert_eq!(state.update(key(KeyCode::Enter)), vec![]);
    state.update(key(KeyCode::Char('n')));
    typed(&mut state, "plan the migration first");
    let commands = state.update(key(KeyCode::Enter));
    assert_eq!(
        commands,
        vec![Command::DecideGate {
            gate: GateId::from_u128(PLAN_GATE),
            decision: Decision::SendBack,
            note: Some("plan the migration first".into()),
            choice: None
        }]
    );
    let commands = state.update(key(KeyCode::Char('s')));
    assert_eq!(
        commands,
        vec![Command::DecideGate {
            gate: GateId::from_u128(PROMOTION_GATE),
            decision: Decision::Stop,
            note: None,
            choice: None
        }]
    );
}

#[test]
fn the_engine_deciding_a_gate_elsewhere_takes_it_off_the_queue() {
    let mut state = busy_state();
    let id = TaskId::from_u128(TASK);
    state.update(Msg::Engine(event(
        40,
        id,
        human(),
        EventKind::GateDecided {
            gate: GateId::from_u128(PLAN_GATE),
            decision: Decision::Approve,
            note: None,
            choice: None,
        },
    )));
    assert_eq!(state.approval.queue, vec![(id, GateId::from_u128(PROMOTION_GATE))]);
    assert_eq!(state.tasks[1].open_gates, 1);
}

#[test]
fn quitting_with_running_tasks_asks_first() {
    let mut state = busy_state();
    assert_eq!(state.update(key(KeyCode::Char('q'))), vec![]);
    assert!(!state.quit);
    state.update(key(KeyCode::Char('n')));
    assert!(!state.quit);
    assert!(matches!(state.overlay, Some(Overlay::Approval)), "the gates that wait come back");
    state.update(key(KeyCode::Esc));
    state.update(key(KeyCode::Char('q')));
    assert_eq!(state.update(key(KeyCode::Char('y'))), vec![]);
    assert!(state.quit);

    let mut idle = AppState::new(Vec::new(), 0, "test".into(), at(0));
    idle.update(ctrl('c'));
    assert!(idle.quit, "nothing runs: quit at once");
}

#[test]
fn cancel_and_resume_send_their_commands() {
    let mut state = busy_state();
    state.update(key(KeyCode::Char('x')));
    let commands = state.update(key(KeyCode::Char('y')));
    assert_eq!(
        commands,
        vec![Command::CancelTask { task: TaskId::from_u128(TASK), reason: "cancelled from the control room".into() }]
    );
    assert_eq!(state.update(key(KeyCode::Char('r'))), vec![], "a running task is not resumed");
    state.tasks[1].status = TaskStatus::Interrupted;
    assert_eq!(state.update(key(KeyCode::Char('r'))), vec![Command::ResumeTask { task: TaskId::from_u128(TASK) }]);
}

#[test]
fn only_a_finished_task_is_cleaned_after_a_yes() {
    let mut state = busy_state();
    assert_eq!(state.update(key(KeyCode::Char('X'))), vec![]);
    assert!(state.overlay.is_none(), "a running task is not offered for cleaning");
    assert!(
        state.status.as_ref().is_some_and(|(text, error)| *error && text.contains("cancel it")),
        "{:?}",
        state.status
    );
    state.tasks[1].status = TaskStatus::PrReady;
    state.update(key(KeyCode::Char('X')));
    let clean = vec![Command::CleanTask { task: TaskId::from_u128(TASK), force: false }];
    assert_eq!(state.update(key(KeyCode::Char('y'))), clean);
    state.update(key(KeyCode::Char('X')));
    assert_eq!(state.update(key(KeyCode::Char('n'))), vec![], "no means no");
}

#[test]
fn focus_tabs_scrolling_and_the_log_filter() {
    let mut state = busy_state();
    state.update(key(KeyCode::Tab));
    assert_eq!(state.focus, Pane::Right);
    state.update(Msg::Key(KeyEvent::new(KeyCode::BackTab, KeyModifiers::SHIFT)));
    assert_eq!(state.focus, Pane::Queue);
    state.update(key(KeyCode::Char('3')));
    assert_eq!((state.focus, state.tab), (Pane::Lower, Tab::Evidence));
    state.update(key(KeyCode::Char('j')));
    state.update(key(KeyCode::Char('l')));
    assert_eq!(state.views.evidence, (1, 1));
    state.update(key(KeyCode::Char('/')));
    typed(&mut state, "gate_opened");
    state.update(key(KeyCode::Enter));
    assert_eq!(state.tab, Tab::Log);
    assert_eq!(state.log_matches.len(), 2, "{:?}", state.log_matches);
    state.update(key(KeyCode::Char('1')));
    state.update(key(KeyCode::Char(']')));
    state.update(key(KeyCode::Char(']')));
    assert_eq!(state.views.diff_scroll, 7, "the second hunk's header");
    state.update(key(KeyCode::Char('}')));
    assert_eq!(state.views.diff_scroll, 15, "the second file");
}

#[test]
fn history_is_loaded_for_the_selected_task_and_diffs_for_the_visible_tab() {
    let tasks = vec![summary(1, "done", TaskStatus::PrReady, 0), summary(2, "waits", TaskStatus::AwaitingGate, 0)];
    let mut state = AppState::new(tasks, 10, "test".into(), at(0));
    let (one, two) = (TaskId::from_u128(1), TaskId::from_u128(2));
    assert_eq!(state.take_effects(), vec![Effect::LoadHistory(two), Effect::LoadHistory(one)]);
    let history = vec![
        event(
            3,
            two,
            Actor::Orchestrator,
            EventKind::WorktreeCreated {
                candidate: "production".into(),
                path: "/w".into(),
                branch: "b".into(),
                base: "0".into(),
            },
        ),
        event(
            4,
            two,
            Actor::Orchestrator,
            EventKind::GateOpened {
                gate: GateId::from_u128(9),
                kind: GateKind::PullRequest,
                reason: "create the PR".into(),
                evidence_hash: None,
                allowed: vec![Decision::Approve, Decision::Reject],
                options: Vec::new(),
            },
        ),
    ]
    .into_iter()
    .filter_map(|u| match u {
        Update::Event(e) => Some(e),
        _ => None,
    })
    .collect::<Vec<Arc<_>>>();
    state.update(Msg::History(two, Ok(history)));
    assert_eq!(state.details[&two].loaded, Loaded::Yes);
    assert!(matches!(state.overlay, Some(Overlay::Approval)), "a gate from before the restart waits");
    let effects = state.take_effects();
    assert!(effects.contains(&Effect::LoadDiff((two, "production".into()), 1)), "{effects:?}");
    assert!(!effects.iter().any(|e| matches!(e, Effect::Bell)), "old gates do not ring");
}

#[test]
fn a_key_pressed_as_a_gate_pops_up_decides_nothing() {
    let mut state = AppState::new(vec![summary(TASK, "Harden", TaskStatus::Running, 0)], 0, "test".into(), at(0));
    state.gate_key_guard = std::time::Duration::from_secs(3600);
    let id = TaskId::from_u128(TASK);
    state.update(Msg::History(id, Ok(Vec::new())));
    state.update(plan_gate_opened(id));
    assert!(matches!(state.overlay, Some(Overlay::Approval)), "the gate popped up");
    assert_eq!(state.update(key(KeyCode::Char('y'))), vec![], "too soon after it popped up");
    assert!(state.status.as_ref().is_some_and(|(text, _)| text.contains("a gate just opened")));

    // Opened on purpose, the same key decides at once.
    state.update(key(KeyCode::Esc));
    state.update(key(KeyCode::Char('o')));
    let commands = state.update(key(KeyCode::Char('y')));
    assert!(matches!(commands.as_slice(), [Command::DecideGate { decision: Decision::Approve, .. }]), "{commands:?}");
}

#[test]
fn only_real_candidates_are_diffed_and_compare_opens_on_the_recommended_one() {
    use crate::protocol::{Digest, Recommendation, Synthesis};
    let mut state = busy_state();
    state.focus = Pane::Lower;
    state.tab = Tab::Diff;
    let id = TaskId::from_u128(TASK);
    // The evaluation's worktrees: the acceptance tests' and one scratch copy per candidate.
    for (seq, label) in ["eval", "eval-production", "eval-c1", "eval-c2", "c1", "c2"].into_iter().enumerate() {
        let created = EventKind::WorktreeCreated {
            candidate: label.into(),
            path: format!("/w/{label}"),
            branch: format!("ambidex/00000002/{label}"),
            base: "0123".into(),
        };
        state.update(Msg::Engine(event(100 + seq as u64, id, Actor::Orchestrator, created)));
    }
    assert_eq!(state.candidates(), ["production", "c1", "c2"]);
    assert_eq!(state.compare_candidates(), Some(("production".into(), "c1".into())));
    let synthesis = Synthesis {
        recommendation: Recommendation::Adopt { candidate: "c2".into() },
        reasons: Vec::new(),
        matrix_hash: Digest([7; 32]),
        flags: Vec::new(),
    };
    state.update(Msg::Engine(event(120, id, Actor::Orchestrator, EventKind::SynthesisSubmitted { synthesis })));
    assert_eq!(state.compare_candidates(), Some(("production".into(), "c2".into())), "the recommended one");
    state.tab = Tab::Compare;
    state.update(key(KeyCode::Char('c')));
    assert_eq!(state.compare_candidates(), Some(("production".into(), "c1".into())), "c moves the right side on");
    state.update(key(KeyCode::Char('b')));
    assert_eq!(state.compare_candidates(), Some(("c1".into(), "production".into())), "b moves the left side on");

    // The full diff from a promotion gate opens on the picked option's candidate.
    state.open_approval();
    state.update(key(KeyCode::Char('y')));
    assert_eq!(state.current_gate().map(|g| g.kind), Some(GateKind::Promotion));
    state.update(key(KeyCode::Char('3')));
    state.update(key(KeyCode::Char('d')));
    assert_eq!((state.tab, state.diff_candidate()), (Tab::Diff, Some("c2".into())));
}
