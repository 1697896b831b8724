//! The Playbooks tab: the registry read through the read port when the tab comes into view,
//! `playbook_changed` and `autonomy_changed` events applied in place, the selection, promoting an
//! evaluated proposal after the confirmation, and its drawing at 80×24 and 200×60.

use crossterm::event::{KeyCode, KeyEvent};

use super::app::{AppState, Confirm, Effect, Msg, Overlay, Pane, Tab};
use super::render_tests::{TASK, at, busy_state, draw, event};
use crate::protocol::{
    Actor, Artifact, Author, AutonomyChange, AutonomyEvidence, AutonomyLevel, AutonomyState, Command, EventKind,
    ExhibitId, PlaybookChange, PlaybookList, PlaybookVersion, RegistryEdit, ReplayCase, ReplayOutcome, ReplaySource,
    TaskId, TaskKind, VersionEvaluation, VersionRun, VersionStatus,
};

const BUILT_IN: &str = "9f8e7d6c5b4a39281706f5e4d3c2b1a098765432aabbccddeeff001122334455";
const DERIVED: &str = "a1b2c3d4e5f60718293a4b5c6d7e8f9001122334455667788990aabbccddeeff";
const HAND_WRITTEN: &str = "c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00";
const OLD: &str = "0123456789ab0123456789ab0123456789ab0123456789ab0123456789ab0123";

fn version(hash: &str, name: &str, status: VersionStatus, created: i64) -> PlaybookVersion {
    PlaybookVersion {
        hash: hash.into(),
        artifact: Artifact::Playbook,
        name: name.into(),
        classes: vec![TaskKind::BugFix, TaskKind::Feature],
        parent: None,
        author: Author::File { path: "built-in playbooks/right_hand.toml".into() },
        summary: String::new(),
        created: at(created),
        status,
        decision: None,
        evaluation: None,
        retirement: Vec::new(),
        text: "name = \"right_hand\"\n".into(),
    }
}

fn outcome(
    resolved: bool,
    ending: &str,
    send_backs: u32,
    cost_micros: u64,
    millis: u64,
    diff_lines: u64,
) -> ReplayOutcome {
    ReplayOutcome { resolved, ending: ending.into(), send_backs, cost_micros, millis, diff_lines }
}

/// Two museum exhibits and two held-out tasks, replayed with the derived playbook and the
/// built-in one: the proposal resolves one more case with fewer send-backs but breaks one the
/// active version resolved.
fn evaluation() -> VersionEvaluation {
    let case = |source, title: &str| ReplayCase { source, title: title.into(), base: "9f8e7d6c5b".into() };
    VersionEvaluation {
        at: at(3000),
        model: "anthropic/claude-sonnet-4".into(),
        budget_micros: 5_000_000,
        cases: vec![
            case(
                ReplaySource::Exhibit { id: ExhibitId::from_u128(0x0193_0000_0000_0000_0000_0000_0000_2001) },
                "c2 broke pages::last_page_is_partial",
            ),
            case(
                ReplaySource::Exhibit { id: ExhibitId::from_u128(0x0193_0000_0000_0000_0000_0000_0000_2002) },
                "get_int sign-extends short reads",
            ),
            case(
                ReplaySource::Task { id: TaskId::from_u128(0x0193_0000_0000_0000_0000_0000_0000_0001) },
                "Fix the off-by-one in pagination",
            ),
            case(
                ReplaySource::Task { id: TaskId::from_u128(0x0193_0000_0000_0000_0000_0000_0000_0004) },
                "Retry idempotent requests once on 503",
            ),
        ],
        proposal: VersionRun {
            version: DERIVED.into(),
            outcomes: vec![
                outcome(true, "pr", 0, 380_000, 41_200, 14),
                outcome(true, "pr", 0, 290_000, 33_900, 9),
                outcome(true, "pr", 1, 520_000, 88_000, 22),
                outcome(false, "failed: validation", 2, 610_000, 120_500, 61),
            ],
        },
        baseline: VersionRun {
            version: BUILT_IN.into(),
            outcomes: vec![
                outcome(false, "exhibit broken: last_page_is_partial", 1, 410_000, 52_000, 31),
                outcome(true, "pr", 1, 300_000, 35_100, 12),
                outcome(true, "pr", 2, 700_000, 96_400, 40),
                outcome(true, "pr", 1, 650_000, 101_000, 48),
            ],
        },
    }
}

fn autonomy(class: TaskKind, level: AutonomyLevel, proposed: Option<AutonomyLevel>) -> AutonomyState {
    AutonomyState {
        class,
        level,
        proposed,
        evidence: AutonomyEvidence {
            window_days: 30,
            finished: 14,
            completion_rate: Some(0.93),
            escaped_defects: 0,
            send_backs_per_task: Some(0.1),
        },
        reason: if level.is_supervised() { "the policy's gates, as written".into() } else { "granted by ana".into() },
        at: at(1000),
        since: if level.is_supervised() { jiff::Timestamp::UNIX_EPOCH } else { at(1000) },
    }
}

/// The registry as the engine answers it (oldest first): the built-in playbook, the exploration
/// playbook and the policy, an older playbook it replaced, a rejected proposal, a Left Hand
/// strategy's evaluated proposal and a person's proposal not yet evaluated.
pub(super) fn registry() -> PlaybookList {
    let mut old = version(OLD, "right_hand", VersionStatus::Retired, -90_000);
    old.decision = Some("retired: replaced by 9f8e7d6c5b4a".into());
    let mut built_in = version(BUILT_IN, "right_hand", VersionStatus::Active, -80_000);
    built_in.parent = Some(OLD.into());
    built_in.decision = Some("promoted by ana: fewer send-backs on bug fixes".into());
    built_in.retirement = vec!["send-backs per task rose from 0.3 to 0.9 over 30 days".into()];
    let exploration = PlaybookVersion {
        artifact: Artifact::Exploration,
        classes: Vec::new(),
        author: Author::File { path: "built-in playbooks/left_hand.toml".into() },
        ..version(
            "e1e2e3e4e5e6e7e8e9e0e1e2e3e4e5e6e7e8e9e0e1e2e3e4e5e6e7e8e9e0e1e2",
            "left_hand",
            VersionStatus::Active,
            -79_000,
        )
    };
    let policy = PlaybookVersion {
        artifact: Artifact::Policy,
        classes: Vec::new(),
        author: Author::File { path: ".ambidex/policy.toml".into() },
        ..version(
            "b0b1b2b3b4b5b6b7b8b9b0b1b2b3b4b5b6b7b8b9b0b1b2b3b4b5b6b7b8b9b0b1",
            "policy",
            VersionStatus::Active,
            -78_000,
        )
    };
    let mut rejected = version("dead0000beef", "right_hand_terse", VersionStatus::Rejected, -50_000);
    rejected.author = Author::Person { name: "bo".into() };
    rejected.decision = Some("rejected by ana: drops the review stage".into());
    let mut derived = version(DERIVED, "bug_fix_minimal_diff", VersionStatus::Proposed, 2000);
    derived.classes = vec![TaskKind::BugFix];
    derived.parent = Some(BUILT_IN.into());
    derived.author = Author::Strategy {
        strategy: "minimal_diff".into(),
        class: TaskKind::BugFix,
        tasks: vec![
            TaskId::from_u128(0x0193_0000_0000_0000_0000_0000_0000_0001),
            TaskId::from_u128(TASK),
            TaskId::from_u128(0x0193_0000_0000_0000_0000_0000_0000_0004),
        ],
    };
    derived.summary =
        "The Left Hand's minimal_diff strategy won 3 bug_fix promotion gates: its brief goes first.".into();
    derived.evaluation = Some(Box::new(evaluation()));
    let mut hand_written = version(HAND_WRITTEN, "right_hand_docs", VersionStatus::Proposed, 2500);
    hand_written.classes = vec![TaskKind::Documentation];
    hand_written.parent = Some(BUILT_IN.into());
    hand_written.author = Author::Person { name: "ana".into() };
    hand_written.summary = "Skip the Left Hand for documentation.".into();
    let mut states: Vec<AutonomyState> =
        TaskKind::ALL.iter().map(|&class| autonomy(class, AutonomyLevel::Supervised, None)).collect();
    states[0] = autonomy(TaskKind::BugFix, AutonomyLevel::TrustedPlan, Some(AutonomyLevel::TrustedPr));
    states[8] = autonomy(TaskKind::Documentation, AutonomyLevel::TrustedPr, None);
    states[1] = autonomy(TaskKind::Feature, AutonomyLevel::Supervised, Some(AutonomyLevel::TrustedPlan));
    PlaybookList {
        versions: vec![old, built_in, exploration, policy, rejected, derived, hand_written],
        autonomy: states,
    }
}

/// The Playbooks tab in view with the registry read, the derived proposal selected.
fn playbooks_state() -> AppState {
    let mut state = busy_state();
    state.focus = Pane::Lower;
    state.tab = Tab::Playbooks;
    // The tab comes into view (the read is asked for), then the answer.
    state.update(Msg::Tick(state.now));
    state.update(Msg::Playbooks(Ok(Box::new(registry()))));
    state.views.playbook = position(&state, DERIVED);
    state.effects.clear();
    state
}

fn position(state: &AppState, hash: &str) -> usize {
    state.playbook_versions().iter().position(|v| v.hash == hash).unwrap_or(usize::MAX)
}

fn key(code: KeyCode) -> Msg {
    Msg::Key(KeyEvent::from(code))
}

#[test]
fn the_playbooks_tab_lists_versions_active_first_and_details_the_selected_one() {
    let mut state = playbooks_state();
    let statuses: Vec<VersionStatus> = state.playbook_versions().iter().map(|v| v.status).collect();
    assert_eq!(statuses[..3], [VersionStatus::Active; 3]);
    assert_eq!(statuses[3..5], [VersionStatus::Proposed; 2]);
    assert_eq!(position(&state, HAND_WRITTEN), 3, "the newest proposal first");
    insta::assert_snapshot!("playbooks_tab_80x24", draw(&state, 80, 24));
    insta::assert_snapshot!("playbooks_tab_200x60", draw(&state, 200, 60));
    state.size = (80, 24);
    state.update(key(KeyCode::PageDown));
    insta::assert_snapshot!("playbooks_tab_details_scrolled_80x24", draw(&state, 80, 24));
    state.views.playbook = position(&state, BUILT_IN);
    state.views.playbook_scroll = 0;
    insta::assert_snapshot!("playbooks_tab_active_200x60", draw(&state, 200, 60));
}

#[test]
fn the_playbooks_tab_says_what_it_is_waiting_for() {
    let mut state = busy_state();
    state.focus = Pane::Lower;
    state.tab = Tab::Playbooks;
    state.update(Msg::Tick(state.now));
    assert!(state.insights.playbooks.loading);
    insta::assert_snapshot!("playbooks_tab_reading_80x24", draw(&state, 80, 24));
    let nothing = PlaybookList { versions: Vec::new(), autonomy: registry().autonomy };
    state.update(Msg::Playbooks(Ok(Box::new(nothing))));
    insta::assert_snapshot!("playbooks_tab_empty_80x24", draw(&state, 80, 24));
}

#[test]
fn opening_the_tab_reads_the_registry_and_the_arrows_pick_a_version() {
    let mut state = busy_state();
    state.effects.clear();
    state.update(key(KeyCode::Char('9')));
    assert_eq!((state.tab, state.focus), (Tab::Playbooks, Pane::Lower));
    assert_eq!(state.take_effects(), vec![Effect::LoadPlaybooks]);
    state.update(Msg::Playbooks(Ok(Box::new(registry()))));
    assert!(state.take_effects().is_empty());
    assert_eq!(state.selected_version().map(|v| v.hash.as_str()), Some(BUILT_IN), "the first active one");
    state.update(key(KeyCode::Char('j')));
    state.update(key(KeyCode::Char('j')));
    assert_eq!(state.selected_version().map(|v| v.name.as_str()), Some("policy"));
    state.update(key(KeyCode::Char('G')));
    assert_eq!(state.selected_version().map(|v| v.status), Some(VersionStatus::Rejected));
    state.update(key(KeyCode::Char('R')));
    assert_eq!(state.take_effects(), vec![Effect::LoadPlaybooks], "R reads it again");
    state.update(Msg::Playbooks(Err("the store is busy".into())));
    assert!(state.insights.playbooks.value.is_some(), "a failed read keeps the last list");
    assert_eq!(state.selected_version().map(|v| v.status), Some(VersionStatus::Rejected));
}

#[test]
fn promoting_asks_first_and_only_for_an_evaluated_proposal() {
    let mut state = playbooks_state();
    state.views.playbook = position(&state, BUILT_IN);
    assert!(state.update(key(KeyCode::Char('P'))).is_empty());
    assert!(state.overlay.is_none());
    assert!(state.status.as_ref().is_some_and(|(text, error)| *error && text.contains("only a proposal")));

    state.views.playbook = position(&state, HAND_WRITTEN);
    assert!(state.update(key(KeyCode::Char('P'))).is_empty());
    assert!(state.overlay.is_none());
    assert!(
        state.status.as_ref().is_some_and(|(text, _)| text.contains("ambidex playbook evaluate c0ffee00c0ff")),
        "{:?}",
        state.status
    );

    state.views.playbook = position(&state, DERIVED);
    assert!(state.update(key(KeyCode::Char('P'))).is_empty(), "nothing is sent before the confirmation");
    assert!(
        matches!(&state.overlay, Some(Overlay::Confirm(Confirm::Promote { version, scroll: 0 })) if version == DERIVED)
    );
    insta::assert_snapshot!("playbooks_confirm_promote_80x24", draw(&state, 80, 24));
    insta::assert_snapshot!("playbooks_confirm_promote_200x60", draw(&state, 200, 60));
    state.size = (80, 24);
    for _ in 0..30 {
        assert!(state.update(key(KeyCode::Char('j'))).is_empty(), "the arrows scroll the evidence");
    }
    assert!(matches!(&state.overlay, Some(Overlay::Confirm(Confirm::Promote { scroll, .. })) if *scroll > 0));
    insta::assert_snapshot!("playbooks_confirm_promote_scrolled_80x24", draw(&state, 80, 24));
    assert!(state.update(key(KeyCode::Char('n'))).is_empty());
    assert!(matches!(state.overlay, None | Some(Overlay::Approval)), "cancelled: the gates waiting come back");
    state.overlay = None;

    state.update(key(KeyCode::Char('P')));
    let sent = state.update(key(KeyCode::Char('y')));
    assert_eq!(
        sent,
        vec![Command::EditRegistry {
            edit: RegistryEdit::Promote { version: DERIVED.into(), note: "from the control room".into() }
        }]
    );
    assert!(state.overlay.is_none());

    state.tab = Tab::Diff;
    assert!(state.update(key(KeyCode::Char('P'))).is_empty());
    assert!(state.status.as_ref().is_some_and(|(text, _)| text.contains("press 9 (Playbooks)")));
}

#[test]
fn registry_and_autonomy_changes_arrive_as_events() {
    let mut state = playbooks_state();
    let human = Actor::Human { name: Some("ana".into()) };
    let task = TaskId::from_u128(TASK);
    let mut promoted = registry().versions[5].clone();
    promoted.status = VersionStatus::Active;
    promoted.decision = Some("promoted by ana: from the control room".into());
    let change = EventKind::PlaybookChanged { change: PlaybookChange::Promoted, version: Box::new(promoted.clone()) };
    state.update(Msg::Engine(event(900, task, human.clone(), change)));
    assert_eq!(state.selected_version(), Some(&promoted), "the selection follows the version to its new place");
    assert_eq!(position(&state, DERIVED), 0, "active ones first, by artifact and name");
    assert!(state.take_effects().is_empty(), "the event carries the whole version: nothing to read");

    let mut proposal = registry().versions[6].clone();
    proposal.hash = "feed0000feed0000".into();
    proposal.created = at(2600);
    let change = EventKind::PlaybookChanged { change: PlaybookChange::Proposed, version: Box::new(proposal) };
    state.update(Msg::Engine(event(901, task, human.clone(), change)));
    assert_eq!(position(&state, "feed0000feed0000"), 4, "a new proposal is listed first among the proposals");
    assert_eq!(state.playbook_versions().len(), 8);

    let granted = autonomy(TaskKind::BugFix, AutonomyLevel::TrustedPr, None);
    let change = EventKind::AutonomyChanged { change: AutonomyChange::Granted, state: granted.clone() };
    state.update(Msg::Engine(event(902, task, human, change)));
    let list = state.insights.playbooks.value.as_ref().map(|l| l.autonomy.clone()).unwrap_or_default();
    assert_eq!(list[0], granted);
    assert_eq!(list.len(), TaskKind::ALL.len());
}
