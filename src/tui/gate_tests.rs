//! Snapshots of the approval overlay for every kind of gate at 80×24, 200×60 and 300×80, and the
//! checks that every option, evidence row and key stays on screen and that the keys visibly move
//! the pick and scroll the reason.

use crossterm::event::{KeyCode, KeyEvent};

use super::app::{AppState, Msg, Overlay};
use super::render_tests::{PLAN_GATE, PROMOTION_GATE, TASK, busy_state, draw, event};
use crate::protocol::{
    Actor, Decision, Digest, EventKind, Finding, GateId, GateKind, PullRequest, Recommendation, Review, ReviewVerdict,
    Synthesis, SynthesisReason, TaskId, ValidationResult,
};

/// The sizes every gate is drawn at.
const SIZES: [(u16, u16); 3] = [(80, 24), (200, 60), (300, 80)];

const OTHER_GATE: u128 = 0x0193_0000_0000_0000_0000_0000_0000_0103;

/// The promotion gate's reason as the engine words it.
const PROMOTION_REASON: &str = "promotion: the synthesis recommends `adopt c1` (smallest diff with every test \
    passing; c2 fails validation and its acceptance test); approve to adopt it (or pick another option), send \
    back to keep the production change (your note goes to its next stages), or stop the task";

fn snap(name: &str, state: &AppState) {
    for (width, height) in SIZES {
        insta::assert_snapshot!(format!("gate_{name}_{width}x{height}"), draw(state, width, height));
    }
}

fn press(state: &mut AppState, code: KeyCode) {
    state.update(Msg::Key(KeyEvent::from(code)));
}

/// The busy state with its two gates decided and then only the events of `kinds` applied: the
/// overlay pops up for the first gate they open.
fn with_events(kinds: Vec<(Actor, EventKind)>) -> AppState {
    let mut state = busy_state();
    let id = TaskId::from_u128(TASK);
    let mut seq = 100;
    let mut apply = |state: &mut AppState, actor: Actor, kind: EventKind| {
        seq += 1;
        state.update(Msg::Engine(event(seq, id, actor, kind)));
    };
    for gate in [PLAN_GATE, PROMOTION_GATE] {
        let decided = EventKind::GateDecided {
            gate: GateId::from_u128(gate),
            decision: Decision::Approve,
            note: None,
            choice: None,
        };
        apply(&mut state, Actor::Orchestrator, decided);
    }
    assert!(state.approval.queue.is_empty());
    for (actor, kind) in kinds {
        apply(&mut state, actor, kind);
    }
    state.overlay = Some(Overlay::Approval);
    state.take_effects();
    state
}

fn gate(kind: GateKind, reason: &str, options: &[&str]) -> (Actor, EventKind) {
    let allowed = match kind {
        GateKind::Promotion => vec![Decision::Approve, Decision::SendBack, Decision::Stop],
        _ => Decision::OFFERED.to_vec(),
    };
    let evidence_hash = (kind == GateKind::Promotion).then_some(Digest([7; 32]));
    (
        Actor::Orchestrator,
        EventKind::GateOpened {
            gate: GateId::from_u128(OTHER_GATE),
            kind,
            reason: reason.into(),
            evidence_hash,
            allowed,
            options: options.iter().map(|o| (*o).to_owned()).collect(),
        },
    )
}

fn promotion_options() -> [&'static str; 4] {
    ["adopt c1", "keep production", "adopt c2", "reject all"]
}

fn promotion_state() -> AppState {
    with_events(vec![gate(GateKind::Promotion, PROMOTION_REASON, &promotion_options())])
}

/// Every option, every candidate row and the approve key are on screen at every size.
fn assert_complete(state: &AppState, rows: &[&str]) {
    let gate = state.current_gate().cloned().unwrap_or_else(|| panic!("no gate"));
    for (width, height) in SIZES {
        let screen = draw(state, width, height);
        for (i, option) in gate.options.iter().enumerate() {
            assert!(screen.contains(&format!("{} {option}", i + 1)), "{option} at {width}x{height}:\n{screen}");
        }
        for row in rows {
            let shown = screen.contains(&format!("  {row} ")) || screen.contains(&format!("▶ {row} "));
            assert!(shown, "row {row} at {width}x{height}:\n{screen}");
        }
        assert!(screen.contains("y approve"), "keys at {width}x{height}:\n{screen}");
    }
}

#[test]
fn promotion_shows_every_option_row_and_flag_at_every_size() {
    let state = promotion_state();
    assert_complete(&state, &["production", "c1", "c2"]);
    let small = draw(&state, 80, 24);
    assert!(small.contains("▶ 1 adopt c1 (recommended)"), "{small}");
    assert!(small.contains("recommends adopt c1"), "{small}");
    assert!(small.contains("c2: validation fails"), "the evidence flags show:\n{small}");
    assert!(small.contains("1 (1 serious)"), "the findings cell reads as the headless matrix:\n{small}");
    snap("promotion", &state);
}

#[test]
fn arrows_and_digits_visibly_move_the_pick_and_its_diff() {
    let mut state = promotion_state();
    press(&mut state, KeyCode::Right);
    let screen = draw(&state, 200, 60);
    assert!(screen.contains("▶ 2 keep production"), "{screen}");
    assert!(screen.contains("▶ production"), "the row the pick adopts is marked:\n{screen}");
    assert!(screen.contains("diff of production"), "{screen}");
    snap("promotion_keep_production_picked", &state);
    press(&mut state, KeyCode::Char('3'));
    let screen = draw(&state, 80, 24);
    assert!(screen.contains("▶ 3 adopt c2") && screen.contains("▶ c2"), "{screen}");
    press(&mut state, KeyCode::Left);
    press(&mut state, KeyCode::Left);
    let screen = draw(&state, 80, 24);
    assert!(screen.contains("▶ 1 adopt c1") && screen.contains("▶ c1"), "{screen}");
}

#[test]
fn a_long_reason_wraps_and_scrolls_and_never_pushes_the_options_out() {
    let long =
        format!("{PROMOTION_REASON}. {}", "The candidates differ in how they treat a token without `exp`. ".repeat(8));
    let mut state = with_events(vec![gate(GateKind::Promotion, &long, &promotion_options())]);
    state.size = (80, 24);
    let before = draw(&state, 80, 24);
    assert!(before.contains("more below"), "{before}");
    assert_complete(&state, &["production", "c1", "c2"]);
    press(&mut state, KeyCode::Char('j'));
    press(&mut state, KeyCode::PageDown);
    assert!(state.approval.scroll > 1, "{}", state.approval.scroll);
    let after = draw(&state, 80, 24);
    assert_ne!(before, after);
    assert!(after.contains("▶ 1 adopt c1"), "{after}");
    snap("promotion_long_reason_scrolled", &state);
    for _ in 0..50 {
        press(&mut state, KeyCode::PageDown);
    }
    let end = state.approval.scroll;
    press(&mut state, KeyCode::Up);
    assert_eq!(state.approval.scroll, end - 1, "scrolling stops at the end, and back up at once");
    let wheel = |kind| crossterm::event::MouseEvent {
        kind,
        column: 40,
        row: 12,
        modifiers: crossterm::event::KeyModifiers::NONE,
    };
    state.update(Msg::Mouse(wheel(crossterm::event::MouseEventKind::ScrollUp)));
    assert_eq!(state.approval.scroll, end - 4, "the wheel scrolls the gate's text");
}

#[test]
fn promotion_without_acceptance_tests() {
    let mut matrix = super::evidence_view::tests::matrix();
    matrix.acceptance_tests.clear();
    for row in &mut matrix.rows {
        row.acceptance_passed = 0;
        row.acceptance_total = 0;
    }
    let state = with_events(vec![
        (Actor::Orchestrator, EventKind::EvidenceRecorded { matrix: Box::new(matrix), hash: Digest([8; 32]) }),
        gate(GateKind::Promotion, PROMOTION_REASON, &promotion_options()),
    ]);
    let screen = draw(&state, 80, 24);
    assert!(screen.contains("no acceptance tests"), "{screen}");
    assert!(screen.contains("older evidence matrix"), "the synthesis read matrix 7, the gate shows 8:\n{screen}");
    assert_complete(&state, &["production", "c1", "c2"]);
    snap("promotion_no_acceptance_tests", &state);
}

#[test]
fn promotion_without_a_matrix() {
    let mut state = with_events(Vec::new());
    let id = TaskId::from_u128(TASK);
    // A task whose exploration recorded no evidence: its detail is rebuilt without the matrix.
    if let Some(detail) = state.details.get_mut(&id) {
        detail.matrix = None;
        detail.synthesis = Some(Synthesis {
            recommendation: Recommendation::Adopt { candidate: "c1".into() },
            reasons: vec![SynthesisReason { text: "the only candidate that finished".into(), rows: Vec::new() }],
            matrix_hash: Digest([0; 32]),
            flags: Vec::new(),
        });
    }
    let (actor, kind) = gate(GateKind::Promotion, PROMOTION_REASON, &["adopt c1", "keep production", "reject all"]);
    state.update(Msg::Engine(event(200, id, actor, kind)));
    state.overlay = Some(Overlay::Approval);
    let screen = draw(&state, 80, 24);
    assert!(screen.contains("no evidence matrix"), "{screen}");
    assert_complete(&state, &[]);
    snap("promotion_no_matrix", &state);
}

#[test]
fn plan_gate_keeps_its_validation_and_confidence() {
    let long = "risk is medium: approve the plan before implementation. The plan touches src/auth/token.rs, which \
                policy marks sensitive; the reviewer will look at it again before the PR.";
    let state = with_events(vec![gate(GateKind::Plan, long, &[])]);
    for (width, height) in SIZES {
        let screen = draw(&state, width, height);
        assert!(screen.contains("validation cargo test"), "{width}x{height}:\n{screen}");
        assert!(screen.contains("confidence 80%"), "{width}x{height}:\n{screen}");
        assert!(!screen.contains("esc lat\""), "no hint cut mid-word:\n{screen}");
    }
    assert_complete(&state, &[]);
    snap("plan", &state);
}

#[test]
fn pull_request_gate() {
    let pr = PullRequest {
        branch: "ambidex/00000002/production".into(),
        base_branch: "main".into(),
        commit: "0123456789abcdef".into(),
        title: "Harden session token checks".into(),
        body: String::new(),
        draft: true,
        location: "/tmp/pr.md".into(),
    };
    let review = Review {
        verdict: ReviewVerdict::Approve,
        findings: vec![Finding {
            severity: "minor".into(),
            category: "naming".into(),
            file: Some("src/auth/token.rs".into()),
            message: "`check` could say what it checks".into(),
        }],
        summary: "Expiry is checked before the signature; tests cover expired and missing `exp`.".into(),
    };
    let validation = ValidationResult {
        command: "cargo test".into(),
        ok: true,
        exit_code: Some(0),
        duration_ms: 900,
        summary: "12 passed".into(),
    };
    let state = with_events(vec![
        (Actor::Orchestrator, EventKind::ValidationRan { attempt: 1, result: validation }),
        (Actor::Orchestrator, EventKind::ReviewSubmitted { review }),
        (Actor::Orchestrator, EventKind::PrDrafted { pr }),
        gate(GateKind::PullRequest, "approve creating the pull request (risk medium)", &[]),
    ]);
    let screen = draw(&state, 80, 24);
    assert!(screen.contains("review     approve, 1 findings (0 serious)"), "{screen}");
    assert!(screen.contains("1 of 1 commands passed"), "{screen}");
    assert_complete(&state, &[]);
    snap("pull_request", &state);
}

#[test]
fn command_gate() {
    let reason = "`cargo publish --dry-run`: matches the prompt rule `cargo publish*` (publishing needs a human); no \
                  sandbox is available on this machine, so every command needs approval";
    let state = with_events(vec![gate(GateKind::Command, reason, &[])]);
    let screen = draw(&state, 80, 24);
    assert!(screen.contains("cargo publish --dry-run"), "{screen}");
    assert!(!screen.contains("diff of"), "a command gate shows the command, not a diff:\n{screen}");
    assert_complete(&state, &[]);
    snap("command", &state);
}

#[test]
fn budget_breaker_and_escalation_gates() {
    let cases = [
        (
            GateKind::Budget,
            "budget exceeded in `implement`: task tokens at 412000 of 400000, stage cost_micros at 2100000 of \
             2000000; approve to double the budgets",
        ),
        (
            GateKind::Breaker,
            "circuit breaker `repeated_edits`: src/auth/token.rs edited 6 times without the tests changing; approve \
             to go on, send back with a note to have the implementer rework it, or stop the task",
        ),
        (
            GateKind::Escalation,
            "validation failed in 3 implementation attempts (cargo test, cargo clippy -- -D warnings); approve for \
             one more attempt, send back with a note to guide it, or stop the task",
        ),
        (GateKind::Sensitive, "the change touches a sensitive area (auth: src/auth/token.rs); approve to go on"),
        (
            GateKind::Environment,
            "validation failed for a cause in the environment, not the code: `cargo test` (network): dependencies \
             not fetched; approve to run validation again",
        ),
    ];
    for (kind, reason) in cases {
        let state = with_events(vec![gate(kind, reason, &[])]);
        let screen = draw(&state, 80, 24);
        let tail = reason.rsplit(' ').next().unwrap_or_default();
        assert!(screen.contains(tail), "the whole reason shows at 80x24:\n{screen}");
        assert_complete(&state, &[]);
        snap(&kind.to_string(), &state);
    }
}

#[test]
fn hints_shorten_before_they_are_cut() {
    let state = promotion_state();
    let small = draw(&state, 80, 24);
    let keys = small.lines().rev().nth(2).unwrap_or_default().to_owned();
    assert!(keys.contains("y approve") && keys.contains("n back") && keys.contains("s stop"), "{keys}");
    assert!(keys.contains("←/→ 1-4 pick"), "{keys}");
    let wide = draw(&state, 200, 60);
    assert!(wide.contains("n send back") && wide.contains("esc later") && wide.contains("←/→ 1-4 choose"), "{wide}");
}

#[test]
fn tiny_terminals_draw_every_gate_without_panicking() {
    let mut states = vec![promotion_state()];
    for kind in [GateKind::Plan, GateKind::Command, GateKind::PullRequest, GateKind::Budget] {
        states.push(with_events(vec![gate(kind, PROMOTION_REASON, &[])]));
    }
    for mut state in states {
        for (width, height) in [(1, 1), (20, 6), (40, 10), (60, 15)] {
            draw(&state, width, height);
            state.size = (width, height);
            press(&mut state, KeyCode::PageDown);
            press(&mut state, KeyCode::Down);
            press(&mut state, KeyCode::Up);
            draw(&state, width, height);
        }
    }
}

#[test]
fn the_engines_evidence_flags_show_with_the_recommendation() {
    let mut state = promotion_state();
    let flagged = "contradicts the evidence: c2 is recommended but c1 is better on validation (c2 VALID no, c1 VALID \
                   yes) and acceptance (c2 ACCEPT 0/1, c1 ACCEPT 1/1)";
    if let Some(synthesis) = state.details.get_mut(&TaskId::from_u128(TASK)).and_then(|d| d.synthesis.as_mut()) {
        synthesis.recommendation = Recommendation::Adopt { candidate: "c2".into() };
        synthesis.flags = vec![flagged.into()];
    }
    let screen = draw(&state, 80, 24);
    assert!(screen.contains("contradicts the evidence: c2 is recommended"), "{screen}");
    assert!(screen.contains("the recommended c2: validation fails"), "{screen}");
    assert_complete(&state, &["production", "c1", "c2"]);
    snap("promotion_flagged", &state);
}
