//! The Memory tab: entries from the snapshot and from `memory_changed` events, the review keys,
//! and its drawing at 80×24 and 200×60.

use super::app::{AppState, Msg, Pane, Tab};
use super::render_tests::{TASK, at, busy_state, draw, event};
use crate::protocol::{
    Actor, Command, EventKind, MemoryChange, MemoryEdit, MemoryEntry, MemoryId, MemoryKind, MemorySource, MemoryStatus,
    TaskId,
};
use crossterm::event::{KeyCode, KeyEvent};

fn entry(n: u128, kind: MemoryKind, text: &str, scope: &[&str], status: MemoryStatus) -> MemoryEntry {
    MemoryEntry {
        id: MemoryId::from_u128(0x0193_0000_0000_0000_0000_0000_0000_1000 + n),
        repo: "/src/pagination".into(),
        kind,
        text: text.into(),
        scope: scope.iter().map(|s| s.to_string()).collect(),
        source: MemorySource::Observed { task: TaskId::from_u128(TASK), what: "the setup step".into() },
        status,
        created: at(100),
        confirmed: at(100),
    }
}

fn memory_state() -> AppState {
    let mut state = busy_state();
    state.memory = vec![
        entry(
            1,
            MemoryKind::Setup,
            "Dependencies are fetched with `cargo fetch` and need the network.",
            &[],
            MemoryStatus::Pending,
        ),
        entry(2, MemoryKind::Convention, "Public functions carry a doc comment.", &["src/**"], MemoryStatus::Active),
        entry(
            3,
            MemoryKind::FlakyTest,
            "pages::slow_case fails one run in ten.",
            &["tests/pages.rs"],
            MemoryStatus::Active,
        ),
    ];
    state.focus = Pane::Lower;
    state.tab = Tab::Memory;
    state
}

fn key(c: char) -> Msg {
    Msg::Key(KeyEvent::from(KeyCode::Char(c)))
}

#[test]
fn memory_tab_with_a_proposal_to_review() {
    let state = memory_state();
    insta::assert_snapshot!("memory_tab_80x24", draw(&state, 80, 24));
    insta::assert_snapshot!("memory_tab_200x60", draw(&state, 200, 60));
}

#[test]
fn plus_accepts_and_minus_rejects_only_a_proposal() {
    let mut state = memory_state();
    let proposal = state.memory[0].id;
    assert_eq!(
        state.update(key('+')),
        vec![Command::EditMemory { edit: MemoryEdit::Accept { id: proposal, text: None } }]
    );
    assert_eq!(state.update(key('-')), vec![Command::EditMemory { edit: MemoryEdit::Reject { id: proposal } }]);
    state.update(key('j'));
    assert!(state.update(key('+')).is_empty(), "an active entry is no proposal");
    assert!(state.status.as_ref().is_some_and(|(text, error)| *error && text.contains("only a proposal")));
    state.tab = Tab::Diff;
    assert!(state.update(key('+')).is_empty());
}

#[test]
fn memory_changes_arrive_as_events() {
    let mut state = memory_state();
    let mut accepted = state.memory[0].clone();
    accepted.status = MemoryStatus::Active;
    let change = EventKind::MemoryChanged { change: MemoryChange::Accepted, entry: accepted.clone() };
    state.update(Msg::Engine(event(900, TaskId::from_u128(TASK), Actor::Human { name: None }, change)));
    assert_eq!(state.memory[0], accepted);
    let mut removed = state.memory[2].clone();
    removed.status = MemoryStatus::Removed;
    state.views.memory = 2;
    let change = EventKind::MemoryChanged { change: MemoryChange::Removed, entry: removed };
    state.update(Msg::Engine(event(901, TaskId::from_u128(TASK), Actor::Human { name: None }, change)));
    assert_eq!(state.memory.len(), 2);
    assert_eq!(state.views.memory, 1, "the selection stays on a row");
    let added =
        entry(4, MemoryKind::Ownership, "src/auth/ is reviewed by the security team.", &[], MemoryStatus::Active);
    let change = EventKind::MemoryChanged { change: MemoryChange::Added, entry: added };
    state.update(Msg::Engine(event(902, TaskId::from_u128(TASK), Actor::Human { name: None }, change)));
    assert_eq!(state.memory.len(), 3);
}
