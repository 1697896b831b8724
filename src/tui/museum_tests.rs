//! The Museum tab: exhibits from the snapshot and from `exhibit_changed` events, the review keys,
//! going to an exhibit's task, and its drawing at 80×24 and 200×60.

use super::app::{AppState, Msg, Pane, Tab};
use super::render_tests::{TASK, at, busy_state, draw, event};
use crate::protocol::{
    Actor, Command, EventKind, Exhibit, ExhibitChange, ExhibitId, ExhibitLinks, ExhibitSource, ExhibitStatus, GateId,
    MuseumEdit, Reproducer, TaskId, Verification,
};
use crossterm::event::{KeyCode, KeyEvent};

const FIRST_TASK: u128 = 0x0193_0000_0000_0000_0000_0000_0000_0001;

fn exhibit(n: u128, title: &str, source: ExhibitSource, status: ExhibitStatus) -> Exhibit {
    Exhibit {
        id: ExhibitId::from_u128(0x0193_0000_0000_0000_0000_0000_0000_2000 + n),
        repo: "/src/pagination".into(),
        title: title.into(),
        base: "9f8e7d6c5b4a39281706f5e4d3c2b1a098765432".into(),
        reproducer: Reproducer::default(),
        bug_patch: None,
        fix_patch: None,
        files: Vec::new(),
        root_cause: String::new(),
        check: String::new(),
        links: ExhibitLinks { task: source.task(), ..ExhibitLinks::default() },
        source,
        status,
        created: at(100),
        verification: None,
    }
}

fn reproduces(detail: &str) -> Option<Verification> {
    Some(Verification { at: at(200), reproduces: true, detail: detail.into() })
}

/// A proposal from a candidate that broke a test, an imported upstream fix (kept, verified), and
/// a change sent back at the PR gate (kept, no reproducer yet).
fn museum_state() -> AppState {
    let mut state = busy_state();
    let broke = ExhibitSource::Candidate { task: TaskId::from_u128(TASK), candidate: "c2".into() };
    let mut first = exhibit(1, "c2 broke pages::last_page_is_partial", broke, ExhibitStatus::Pending);
    first.reproducer = Reproducer {
        command: "cargo test pages".into(),
        tests: vec!["pages::last_page_is_partial".into()],
        tests_patch: None,
    };
    first.bug_patch = Some("diff --git a/src/pages.rs b/src/pages.rs\n".into());
    first.files = vec!["src/pages.rs".into()];
    first.links.candidate = Some("c2".into());
    first.root_cause = "page_count divided without rounding up, so the last partial page was lost.".into();
    first.verification = reproduces("1 of 1 named tests failed with the bug");
    let fix = "1a2b3c4d5e6f708192a3b4c5d6e7f80912a3b4c5".to_owned();
    let mut second = exhibit(
        2,
        "get_int sign-extends short reads",
        ExhibitSource::Imported { fix: fix.clone() },
        ExhibitStatus::Kept,
    );
    second.reproducer = Reproducer {
        command: "cargo test --test test_buf".into(),
        tests: vec!["test_get_int".into()],
        tests_patch: Some("diff --git a/tests/test_buf.rs b/tests/test_buf.rs\n".into()),
    };
    second.links.commit = Some(fix);
    second.check = "test_get_int".into();
    second.verification = reproduces("test_get_int failed before the fix and passed after it");
    let sent_back = ExhibitSource::SentBack {
        task: TaskId::from_u128(FIRST_TASK),
        gate: GateId::from_u128(0x0193_0000_0000_0000_0000_0000_0000_0103),
    };
    let mut third = exhibit(3, "PR dropped the empty-page check", sent_back, ExhibitStatus::Kept);
    third.root_cause = "An empty collection has one (empty) page; the change returned zero.".into();
    state.museum = vec![first, second, third];
    state.focus = Pane::Lower;
    state.tab = Tab::Museum;
    state
}

fn key(code: KeyCode) -> Msg {
    Msg::Key(KeyEvent::from(code))
}

#[test]
fn museum_tab_lists_the_exhibits_and_details_the_selected_one() {
    let mut state = museum_state();
    insta::assert_snapshot!("museum_tab_80x24", draw(&state, 80, 24));
    insta::assert_snapshot!("museum_tab_200x60", draw(&state, 200, 60));
    state.views.museum = 1;
    insta::assert_snapshot!("museum_tab_imported_200x60", draw(&state, 200, 60));
}

#[test]
fn an_empty_museum_says_where_exhibits_come_from() {
    let mut state = museum_state();
    state.museum.clear();
    insta::assert_snapshot!("museum_tab_empty_80x24", draw(&state, 80, 24));
}

#[test]
fn plus_keeps_and_minus_rejects_only_a_proposal() {
    let mut state = museum_state();
    let proposal = state.museum[0].id;
    assert_eq!(
        state.update(key(KeyCode::Char('+'))),
        vec![Command::EditMuseum { edit: MuseumEdit::Accept { id: proposal } }]
    );
    assert_eq!(
        state.update(key(KeyCode::Char('-'))),
        vec![Command::EditMuseum { edit: MuseumEdit::Reject { id: proposal } }]
    );
    state.update(key(KeyCode::Char('j')));
    assert!(state.update(key(KeyCode::Char('+'))).is_empty(), "a kept exhibit is no proposal");
    assert!(state.status.as_ref().is_some_and(|(text, error)| *error && text.contains("only a proposal")));
    state.tab = Tab::Diff;
    assert!(state.update(key(KeyCode::Char('-'))).is_empty(), "no proposal is in view on the Diff tab");
    assert!(state.status.as_ref().is_some_and(|(text, _)| text.contains("press 6 (Memory) or 8 (Museum)")));
}

#[test]
fn enter_goes_to_the_task_an_exhibit_came_from_on_the_tab_that_shows_why() {
    let mut state = museum_state();
    state.selected = 2;
    state.update(key(KeyCode::Enter));
    assert_eq!(state.selected_task().map(|t| t.id), Some(TaskId::from_u128(TASK)));
    assert_eq!(state.tab, Tab::Evidence, "a candidate's broken tests are in its evidence");

    state.tab = Tab::Museum;
    state.views.museum = 1;
    state.update(key(KeyCode::Enter));
    assert_eq!(state.tab, Tab::Museum, "an imported fix has no task");
    assert!(state.status.as_ref().is_some_and(|(text, _)| text.contains("not from a task")));

    state.views.museum = 2;
    state.update(key(KeyCode::Enter));
    assert_eq!(state.selected_task().map(|t| t.id), Some(TaskId::from_u128(FIRST_TASK)));
    assert_eq!(state.tab, Tab::Gates, "a send-back is a gate decision");

    let mut gone = museum_state();
    gone.museum[0].links.task = Some(TaskId::from_u128(0x0193_0000_0000_0000_0000_0000_0000_0999));
    gone.update(key(KeyCode::Enter));
    assert_eq!(gone.tab, Tab::Museum);
    assert!(gone.status.as_ref().is_some_and(|(text, error)| *error && text.contains("ambidex task show")));
}

#[test]
fn exhibit_changes_arrive_as_events() {
    let mut state = museum_state();
    let human = Actor::Human { name: None };
    let mut kept = state.museum[0].clone();
    kept.status = ExhibitStatus::Kept;
    let change = EventKind::ExhibitChanged { change: ExhibitChange::Accepted, exhibit: Box::new(kept.clone()) };
    state.update(Msg::Engine(event(900, TaskId::from_u128(TASK), human.clone(), change)));
    assert_eq!(state.museum[0], kept);

    let mut removed = state.museum[2].clone();
    removed.status = ExhibitStatus::Removed;
    state.views.museum = 2;
    let change = EventKind::ExhibitChanged { change: ExhibitChange::Removed, exhibit: Box::new(removed) };
    state.update(Msg::Engine(event(901, TaskId::from_u128(TASK), human.clone(), change)));
    assert_eq!(state.museum.len(), 2);
    assert_eq!(state.views.museum, 1, "the selection stays on a row");

    let proposed = exhibit(
        4,
        "breaker repeated_test_failures tripped",
        ExhibitSource::Breaker { task: TaskId::from_u128(TASK), breaker: "repeated_test_failures".into() },
        ExhibitStatus::Pending,
    );
    let change = EventKind::ExhibitChanged { change: ExhibitChange::Proposed, exhibit: Box::new(proposed.clone()) };
    state.update(Msg::Engine(event(902, TaskId::from_u128(TASK), human, change)));
    assert_eq!(state.museum.last(), Some(&proposed));
}
