//! Tests of the message to a task's agents and of the rewind: keys in, whole command lists out.

use crossterm::event::{KeyCode, KeyEvent};

use super::app::{AppState, Confirm, Msg, Overlay};
use super::render_tests::{TASK, busy_state, event};
use crate::protocol::{Actor, Command, EventKind, StageKind, TaskId, TaskStatus};

fn key(code: KeyCode) -> Msg {
    Msg::Key(KeyEvent::from(code))
}

fn press(state: &mut AppState, c: char) -> Vec<Command> {
    state.update(key(KeyCode::Char(c)))
}

fn typed(state: &mut AppState, text: &str) -> Vec<Command> {
    text.chars().flat_map(|c| press(state, c)).collect()
}

fn status(state: &AppState) -> (String, bool) {
    state.status.clone().unwrap_or_default()
}

fn task() -> TaskId {
    TaskId::from_u128(TASK)
}

#[test]
fn the_message_key_sends_a_note_to_the_selected_task_and_says_so() {
    let mut state = busy_state();
    assert_eq!(press(&mut state, 'm'), vec![]);
    let Some(Overlay::Message(draft)) = &state.overlay else { panic!("{:?}", state.overlay) };
    assert_eq!(draft.task, task());
    // Keys of the panes are text here: `j`, `q`, `w` go into the message.
    let mut commands = typed(&mut state, "check the refresh path tooo");
    commands.extend(state.update(key(KeyCode::Backspace)));
    commands.extend(state.update(Msg::Paste(" (and\\nthe logout)".replace("\\n", "\n"))));
    commands.extend(state.update(key(KeyCode::Enter)));
    assert_eq!(
        commands,
        vec![Command::AddNote { task: task(), text: "check the refresh path too (and the logout)".into() }]
    );
    let (text, error) = status(&state);
    assert!(!error && text.contains("message sent to task 00000002"), "{text}");
    assert!(matches!(state.overlay, Some(Overlay::Approval)), "the gates that wait come back");
}

#[test]
fn an_empty_or_cancelled_message_sends_nothing() {
    let mut state = busy_state();
    state.approval.dismissed = true;
    press(&mut state, 'm');
    typed(&mut state, "   ");
    assert_eq!(state.update(key(KeyCode::Enter)), vec![]);
    assert!(state.overlay.is_none());
    assert!(status(&state).0.contains("nothing sent"), "{:?}", state.status);
    press(&mut state, 'm');
    typed(&mut state, "never mind");
    assert_eq!(state.update(key(KeyCode::Esc)), vec![]);
    assert!(state.overlay.is_none());

    state.selected = 0;
    assert_eq!(press(&mut state, 'm'), vec![]);
    assert!(state.overlay.is_none(), "a finished task has no agents to hear it");
    let (text, error) = status(&state);
    assert!(error && text.contains("pr_ready"), "{text}");
}

#[test]
fn a_stopped_task_is_rewound_to_the_stage_picked_with_its_note_after_a_yes() {
    let mut state = busy_state();
    state.tasks[1].status = TaskStatus::Failed;
    assert_eq!(press(&mut state, 'w'), vec![]);
    let Some(Overlay::Rewind(pick)) = &state.overlay else { panic!("{:?}", state.overlay) };
    let stages: Vec<&str> = pick.stages.iter().map(|s| s.stage.as_str()).collect();
    assert_eq!(stages, vec!["plan", "implement"]);
    assert_eq!(pick.selected, 1, "the stage that started last is offered first");
    let mut commands = state.update(key(KeyCode::Up));
    commands.extend(state.update(key(KeyCode::Up)));
    commands.extend(state.update(key(KeyCode::Enter)));
    commands.extend(typed(&mut state, "plan the migration first"));
    commands.extend(state.update(key(KeyCode::Enter)));
    assert_eq!(commands, vec![]);
    let confirm = Confirm::Rewind { task: task(), stage: "plan".into(), note: Some("plan the migration first".into()) };
    assert!(matches!(&state.overlay, Some(Overlay::Confirm(c)) if *c == confirm), "{:?}", state.overlay);
    assert_eq!(
        press(&mut state, 'y'),
        vec![Command::RewindTask { task: task(), to: "plan".into(), note: Some("plan the migration first".into()) }]
    );
    assert!(status(&state).0.contains("kept on a ref"), "{:?}", state.status);

    // The engine's event names the ref the work was kept on.
    let rewound = EventKind::Rewound {
        stage: "plan".into(),
        kind: StageKind::Plan,
        checkpoint: "5d41402a".into(),
        abandoned: "refs/ambidex/00000002/abandoned/40".into(),
        note: Some("plan the migration first".into()),
    };
    state.update(Msg::Engine(event(90, task(), Actor::Human { name: None }, rewound)));
    assert!(status(&state).0.contains("refs/ambidex/00000002/abandoned/40"), "{:?}", state.status);
}

#[test]
fn anything_but_y_cancels_a_rewind_and_an_empty_note_is_none() {
    let mut state = busy_state();
    state.tasks[1].status = TaskStatus::AwaitingGate;
    state.approval.dismissed = true;
    let to_confirm = |state: &mut AppState| {
        press(state, 'w');
        state.update(key(KeyCode::Enter));
        state.update(key(KeyCode::Enter));
    };
    for no in [KeyCode::Enter, KeyCode::Char('n'), KeyCode::Esc, KeyCode::Char('x')] {
        to_confirm(&mut state);
        assert!(matches!(state.overlay, Some(Overlay::Confirm(Confirm::Rewind { note: None, .. }))));
        assert_eq!(state.update(key(no)), vec![], "{no:?} does not rewind");
        assert!(state.overlay.is_none(), "{no:?} cancels");
        assert!(status(&state).0.contains("rewind cancelled"), "{:?}", state.status);
    }

    // `esc` in the note goes back to the stages, `esc` there closes the picker.
    press(&mut state, 'w');
    state.update(key(KeyCode::Enter));
    typed(&mut state, "x");
    state.update(key(KeyCode::Esc));
    assert!(matches!(&state.overlay, Some(Overlay::Rewind(pick)) if !pick.editing_note && pick.note == "x"));
    state.update(key(KeyCode::Esc));
    assert!(state.overlay.is_none());

    to_confirm(&mut state);
    assert_eq!(press(&mut state, 'y'), vec![Command::RewindTask { task: task(), to: "implement".into(), note: None }]);
}

#[test]
fn a_running_finished_loading_or_checkpointless_task_is_not_offered_a_rewind() {
    let mut state = busy_state();
    state.approval.dismissed = true;
    let refused = |state: &mut AppState, says: &str| {
        assert_eq!(press(state, 'w'), vec![]);
        assert!(state.overlay.is_none(), "{:?}", state.overlay);
        let (text, _) = status(state);
        assert!(text.contains(says), "{text:?} should say {says:?}");
    };
    refused(&mut state, "is running: rewind it once it stops");
    state.selected = 0;
    refused(&mut state, "only a stopped task (failed, interrupted, waiting at a gate or queued)");
    state.selected = 2;
    let queued = state.tasks[2].id;
    refused(&mut state, "still loading");
    state.update(Msg::History(queued, Ok(Vec::new())));
    refused(&mut state, "has no stage checkpoint to rewind to");
}

#[test]
fn the_queue_footer_shows_the_message_and_rewind_keys() {
    let state = busy_state();
    let hints = state.hints();
    assert!(hints.contains(&("m".into(), "message")), "{hints:?}");
    assert!(hints.contains(&("w".into(), "rewind")), "{hints:?}");
    assert_eq!(hints.last(), Some(&("q".into(), "quit")));
}
