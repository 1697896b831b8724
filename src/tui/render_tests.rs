//! Snapshots of every pane and overlay at 80×24 and 200×60, drawn with `TestBackend` from a busy
//! state built the way the engine builds it: from events.

use std::sync::Arc;

use jiff::Timestamp;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use super::app::{AppState, Confirm, DiffEntry, Msg, Overlay, Pane, Tab};
use super::diff_doc::DiffDoc;
use super::form::FormState;
use super::model::IntakeView;
use crate::protocol::{
    Actor, AgentIdentity, CandidateDiff, CandidatePlan, Decision, Delta, Digest, Event, EventKind, GateId, GateKind,
    IntakeVerdict, ModelUnavailable, Plan, Recommendation, Risk, Role, Route, StageKind, Synthesis, SynthesisReason,
    TaskId, TaskKind, TaskSpec, TaskStatus, TaskSummary, ToolCallId, ToolCallRecord, Update,
};

pub(crate) fn at(second: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + second).unwrap_or(Timestamp::UNIX_EPOCH)
}

pub(crate) const TASK: u128 = 0x0193_0000_0000_0000_0000_0000_0000_0002;
pub(crate) const PLAN_GATE: u128 = 0x0193_0000_0000_0000_0000_0000_0000_0101;
pub(crate) const PROMOTION_GATE: u128 = 0x0193_0000_0000_0000_0000_0000_0000_0102;

pub(crate) fn summary(id: u128, title: &str, status: TaskStatus, created: i64) -> TaskSummary {
    TaskSummary {
        id: TaskId::from_u128(id),
        title: title.into(),
        status,
        kind: Some(TaskKind::BugFix),
        risk: Some(Risk::Medium),
        route: Some(Route::RightAndLeft),
        created_at: at(created),
        open_gates: 0,
        cost_micros: 41_000,
    }
}

pub(crate) fn agent(role: Role, candidate: Option<&str>) -> Actor {
    Actor::Agent(AgentIdentity { role, track: role.track(), candidate: candidate.map(str::to_owned) })
}

pub(crate) fn event(seq: u64, task: TaskId, actor: Actor, kind: EventKind) -> Update {
    Update::Event(Arc::new(Event {
        schema: crate::protocol::EVENT_SCHEMA,
        seq,
        at: at(3000 + seq as i64),
        task: Some(task),
        actor,
        kind,
        prev_hash: Digest::GENESIS,
        hash: Digest::GENESIS,
    }))
}

fn tool(name: &str, arguments: serde_json::Value, ok: bool, exit_code: Option<i32>, output: &str) -> EventKind {
    EventKind::ToolCalled(Box::new(ToolCallRecord {
        call: ToolCallId::from_u128(7),
        tool: name.into(),
        arguments,
        workdir: "/w".into(),
        workspace: None,
        ok,
        exit_code,
        output: output.into(),
        started_at: at(0),
        finished_at: at(1),
        sandbox: None,
        policy: None,
    }))
}

pub(crate) const C1_PATCH: &str = "diff --git a/src/lib.rs b/src/lib.rs
--- a/src/lib.rs
+++ b/src/lib.rs
@@ -1,4 +1,4 @@
 /// Number of pages needed to show `items` items, `size` per page.
 pub fn page_count(items: usize, size: usize) -> usize {
-    items / size
+    (items + size - 1) / size
 }
";

/// A state with three tasks; the selected one went through both hands and waits at two gates.
pub(crate) fn busy_state() -> AppState {
    let tasks = vec![
        TaskSummary {
            route: Some(Route::RightOnly),
            ..summary(
                0x0193_0000_0000_0000_0000_0000_0000_0001,
                "Fix the off-by-one in pagination",
                TaskStatus::PrReady,
                0,
            )
        },
        summary(TASK, "Harden session token checks", TaskStatus::Running, 3000),
        TaskSummary {
            risk: None,
            kind: None,
            route: None,
            ..summary(0x0193_0000_0000_0000_0000_0000_0000_0003, "Document the retry policy", TaskStatus::Queued, 3590)
        },
    ];
    let mut state = AppState::new(tasks, 2, "/tmp/state.redb".into(), at(3600));
    state.notifications.bell = false;
    state.notifications.osc9 = false;
    let id = TaskId::from_u128(TASK);
    state.update(Msg::History(id, Ok(Vec::new())));
    state.selected = 1;
    let planner = agent(Role::Planner, None);
    let c1 = agent(Role::Challenger, Some("c1"));
    let c2 = agent(Role::Challenger, Some("c2"));
    let mut spec = TaskSpec::titled("Harden session token checks");
    spec.acceptance_criteria = vec!["expired tokens are refused".into()];
    let plan = Plan {
        summary: "Check expiry before the signature; refuse tokens without `exp`.".into(),
        steps: vec!["src/auth/token.rs: check exp first".into(), "tests: expired and missing exp".into()],
        expected_files: vec!["src/auth/token.rs".into()],
        validation: vec!["cargo test".into()],
        rollback: "revert".into(),
        confidence: Some(80),
    };
    let matrix = super::evidence_view::tests::matrix();
    let events = vec![
        (Actor::Orchestrator, EventKind::TaskCreated { spec }),
        (
            Actor::Orchestrator,
            EventKind::StageStarted {
                stage: "plan".into(),
                role: Role::Planner,
                kind: Some(StageKind::Plan),
                checkpoint: Some("5d41402abc4b2a76b9719d911017c592ae0f3b1c".into()),
            },
        ),
        (planner.clone(), EventKind::AgentMessage { text: "Reading the token checks first.".into() }),
        (
            planner.clone(),
            tool(
                "read_file",
                serde_json::json!({"path": "src/auth/token.rs"}),
                true,
                None,
                "  1│pub fn check(token: &Token) -> bool {\n  2│    token.signature_ok()\n  3│}",
            ),
        ),
        (planner.clone(), EventKind::PlanSubmitted { plan }),
        (
            Actor::Orchestrator,
            EventKind::StageFinished { stage: "plan".into(), ok: true, summary: "plan submitted".into(), kind: None },
        ),
        (
            Actor::Orchestrator,
            EventKind::GateOpened {
                gate: GateId::from_u128(PLAN_GATE),
                kind: GateKind::Plan,
                reason: "risk is medium: approve the plan before implementation".into(),
                evidence_hash: None,
                allowed: Decision::OFFERED.to_vec(),
                options: Vec::new(),
            },
        ),
        (
            Actor::Orchestrator,
            EventKind::WorktreeCreated {
                candidate: "production".into(),
                path: "/w/p".into(),
                branch: "ambidex/00000002/production".into(),
                base: "0123456789abcdef".into(),
            },
        ),
        (
            Actor::Orchestrator,
            EventKind::StageStarted {
                stage: "implement".into(),
                role: Role::Implementer,
                kind: Some(StageKind::Implement),
                checkpoint: Some("7215ee9c7d9dc229d2921a40e899ec5f22c1a0e4".into()),
            },
        ),
        (
            agent(Role::Implementer, None),
            tool(
                "run",
                serde_json::json!({"command": "cargo test auth"}),
                false,
                Some(101),
                "running 3 tests\ntest auth::expired ... FAILED\nfailures: 1",
            ),
        ),
        (
            agent(Role::Implementer, None),
            EventKind::ModelRetry { attempt: 1, reason: "HTTP 429: rate limited".into(), delay_ms: 2000 },
        ),
        (
            Actor::Orchestrator,
            EventKind::ExplorationStarted {
                trigger: "repeated_test_failures".into(),
                evidence: "cargo test failed twice".into(),
                candidates: vec![
                    CandidatePlan { label: "c1".into(), strategy: "minimal_diff".into(), ..Default::default() },
                    CandidatePlan { label: "c2".into(), strategy: "alternative_design".into(), ..Default::default() },
                ],
            },
        ),
        (c1.clone(), EventKind::AgentMessage { text: "Smallest change: compare exp before the signature.".into() }),
        (c1.clone(), tool("edit_file", serde_json::json!({"path": "src/auth/token.rs"}), true, None, "edited 1 line")),
        (
            Actor::Orchestrator,
            EventKind::CandidateFinished {
                candidate: "c1".into(),
                strategy: "minimal_diff".into(),
                ok: true,
                summary: "exp checked first".into(),
            },
        ),
        (c2.clone(), EventKind::AgentMessage { text: "Introduce a Validator with explicit claims.".into() }),
        (Actor::Orchestrator, EventKind::EvidenceRecorded { matrix: Box::new(matrix), hash: Digest([7; 32]) }),
        (
            agent(Role::Synthesis, None),
            EventKind::SynthesisSubmitted {
                synthesis: Synthesis {
                    recommendation: Recommendation::Adopt { candidate: "c1".into() },
                    reasons: vec![SynthesisReason {
                        text: "smallest diff with every test passing".into(),
                        rows: vec!["c1".into()],
                    }],
                    matrix_hash: Digest([7; 32]),
                    flags: Vec::new(),
                },
            },
        ),
        (
            Actor::Orchestrator,
            EventKind::GateOpened {
                gate: GateId::from_u128(PROMOTION_GATE),
                kind: GateKind::Promotion,
                reason: "promote an exploratory result into production".into(),
                evidence_hash: Some(Digest([7; 32])),
                allowed: vec![Decision::Approve, Decision::SendBack, Decision::Stop],
                options: vec!["adopt c1".into(), "keep production".into(), "adopt c2".into()],
            },
        ),
    ];
    for (seq, (actor, kind)) in events.into_iter().enumerate() {
        state.update(Msg::Engine(event(seq as u64 + 3, id, actor, kind)));
    }
    state.update(Msg::Engine(Update::Delta(Delta {
        task: id,
        actor: c2,
        text: "Drafting the Validator type…".into(),
    })));
    let diff = |candidate: &str, patch: &str| {
        let diff = CandidateDiff {
            candidate: candidate.into(),
            base: "0123".into(),
            branch: format!("ambidex/00000002/{candidate}"),
            patch: patch.into(),
        };
        let doc = Arc::new(DiffDoc::parse(patch));
        Msg::Diff((id, candidate.into()), 100, Ok((diff, doc)))
    };
    state.update(diff("production", super::diff_doc::tests::PATCH));
    state.update(diff("c1", C1_PATCH));
    state.overlay = None;
    state.take_effects();
    state
}

/// `state` drawn on a `width`×`height` test terminal.
pub(super) fn draw(state: &AppState, width: u16, height: u16) -> String {
    let mut state = state.clone();
    state.size = (width, height);
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap_or_else(|err| panic!("{err}"));
    terminal.draw(|frame| frame.render_widget(&state, frame.area())).unwrap_or_else(|err| panic!("{err}"));
    terminal.backend().to_string()
}

fn snap(name: &str, state: &AppState) {
    insta::assert_snapshot!(format!("{name}_80x24"), draw(state, 80, 24));
    insta::assert_snapshot!(format!("{name}_200x60"), draw(state, 200, 60));
}

fn with(mut state: AppState, change: impl FnOnce(&mut AppState)) -> AppState {
    change(&mut state);
    state
}

#[test]
fn queue_and_streams() {
    snap("queue_and_streams", &busy_state());
}

#[test]
fn empty_queue() {
    snap("empty_queue", &AppState::new(Vec::new(), 0, "/tmp/state.redb".into(), at(0)));
}

#[test]
fn right_hand_stream_focused_with_outputs_unfolded() {
    snap(
        "right_hand",
        &with(busy_state(), |s| {
            s.focus = Pane::Right;
            s.views.right_unfolded = true;
        }),
    );
}

#[test]
fn left_hand_stream_focused() {
    snap("left_hand", &with(busy_state(), |s| s.focus = Pane::Left));
}

#[test]
fn every_tab() {
    for tab in Tab::ALL {
        let name = format!("tab_{}", tab.title().to_lowercase());
        snap(
            &name,
            &with(busy_state(), |s| {
                s.focus = Pane::Lower;
                s.tab = tab;
            }),
        );
    }
}

#[test]
fn diff_with_syntax_highlighting_scrolled_to_the_second_hunk() {
    let mut state = with(busy_state(), |s| {
        s.focus = Pane::Lower;
        s.tab = Tab::Diff;
    });
    state.update(Msg::Key(crossterm::event::KeyEvent::from(crossterm::event::KeyCode::Char(']'))));
    state.update(Msg::Key(crossterm::event::KeyEvent::from(crossterm::event::KeyCode::Char(']'))));
    let syntaxes = syntect::parsing::SyntaxSet::load_defaults_newlines();
    if let Some(DiffEntry { doc: Ok((_, doc)), .. }) = state.diff(TaskId::from_u128(TASK), "production").cloned() {
        for file in &doc.files {
            for hunk in &file.hunks {
                let lines: Vec<String> = hunk.lines.iter().map(|l| l.text.clone()).collect();
                let result = super::highlight::highlight(&syntaxes, file.extension(), &lines);
                state.update(Msg::Highlighted(hunk.key, Arc::new(result)));
            }
        }
    }
    snap("diff_second_hunk", &state);
}

#[test]
fn approval_overlay_with_a_queued_request() {
    let state = with(busy_state(), |s| s.open_approval());
    assert_eq!(state.approval.queue.len(), 2);
    snap("approval_plan_with_one_queued", &state);
}

#[test]
fn approval_overlay_for_the_promotion_choice() {
    let mut state = with(busy_state(), |s| s.open_approval());
    state.update(Msg::Key(crossterm::event::KeyEvent::from(crossterm::event::KeyCode::Char('y'))));
    state.update(Msg::Key(crossterm::event::KeyEvent::from(crossterm::event::KeyCode::Right)));
    state.approval.note = "prefer the smaller diff".into();
    snap("approval_promotion", &state);
}

#[test]
fn help_overlay() {
    snap("help", &with(busy_state(), |s| s.overlay = Some(Overlay::Help { scroll: 0 })));
}

#[test]
fn new_task_form_with_intake_questions() {
    let mut form = FormState::revise(TaskId::from_u128(TASK), &TaskSpec::titled("Fix login"), None);
    form.assessed(IntakeView {
        verdict: IntakeVerdict::NeedsClarification,
        reasons: vec!["vague: the objective has 2 words".into()],
        questions: vec!["What exactly should change, and why?".into()],
        suggested_split: Vec::new(),
    });
    snap("form_needs_clarification", &with(busy_state(), |s| s.overlay = Some(Overlay::Form(Box::new(form)))));
}

#[test]
fn quit_confirmation_and_evidence_cell() {
    snap("confirm_quit", &with(busy_state(), |s| s.overlay = Some(Overlay::Confirm(Confirm::Quit { running: 1 }))));
    let clean = Confirm::Clean(TaskId::from_u128(TASK));
    snap("confirm_clean", &with(busy_state(), |s| s.overlay = Some(Overlay::Confirm(clean))));
    let mut state = with(busy_state(), |s| {
        s.focus = Pane::Lower;
        s.tab = Tab::Evidence;
        s.views.evidence = (2, 4);
    });
    state.update(Msg::Key(crossterm::event::KeyEvent::from(crossterm::event::KeyCode::Enter)));
    assert!(matches!(state.overlay, Some(Overlay::Cell { .. })));
    snap("evidence_cell", &state);
}

#[test]
fn message_editor_rewind_picker_note_and_confirmation() {
    let press = |state: &mut AppState, code| {
        state.update(Msg::Key(crossterm::event::KeyEvent::from(code)));
    };
    let typed = |state: &mut AppState, text: &str| {
        for c in text.chars() {
            state.update(Msg::Key(crossterm::event::KeyEvent::from(crossterm::event::KeyCode::Char(c))));
        }
    };
    use crossterm::event::KeyCode::{Char, Enter, Up};
    let mut state = busy_state();
    press(&mut state, Char('m'));
    typed(&mut state, "check the refresh path too");
    assert!(matches!(state.overlay, Some(Overlay::Message(_))));
    snap("message", &state);

    let mut state = with(busy_state(), |s| s.tasks[1].status = TaskStatus::Failed);
    press(&mut state, Char('w'));
    assert!(matches!(state.overlay, Some(Overlay::Rewind(_))));
    snap("rewind_pick", &state);
    press(&mut state, Up);
    press(&mut state, Enter);
    typed(&mut state, "plan the migration first");
    snap("rewind_note", &state);
    press(&mut state, Enter);
    assert!(matches!(state.overlay, Some(Overlay::Confirm(Confirm::Rewind { .. }))));
    snap("confirm_rewind", &state);
}

#[test]
fn every_theme_draws_the_busy_screen() {
    for (name, _) in super::theme::BUILT_IN {
        let state = with(busy_state(), |s| s.theme = super::theme::Theme::built_in(name).unwrap_or_default());
        let screen = draw(&state, 200, 60);
        assert!(screen.contains("Harden session"), "{name}");
    }
}

/// The README shows the control room as this test draws it (a promotion gate over the Evidence
/// tab), so the picture stays true. Run with
/// `AMBIDEX_UPDATE_README=1` to redraw it after a visible change.
#[test]
fn the_readme_shows_the_real_control_room() {
    let mut state = with(busy_state(), |s| {
        s.focus = Pane::Lower;
        s.tab = Tab::Evidence;
        s.open_approval();
    });
    // The plan gate is approved; the promotion gate comes next.
    state.update(Msg::Key(crossterm::event::KeyEvent::from(crossterm::event::KeyCode::Char('y'))));
    state.status = None;
    assert_eq!(state.current_gate().map(|g| g.kind), Some(GateKind::Promotion));
    let screen: Vec<String> =
        draw(&state, 150, 34).lines().map(|line| line.trim_matches('"').trim_end().to_owned()).collect();
    let screen = screen.join("\n");
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/README.md");
    let readme = std::fs::read_to_string(path).unwrap_or_else(|err| panic!("{err}"));
    let (open, close) = ("<!-- control-room:start -->\n```text\n", "\n```\n<!-- control-room:end -->");
    let start = readme.find(open).map(|at| at + open.len()).unwrap_or_else(|| panic!("README lacks {open:?}"));
    let end = start + readme[start..].find(close).unwrap_or_else(|| panic!("README lacks {close:?}"));
    if std::env::var_os("AMBIDEX_UPDATE_README").is_some() {
        let updated = format!("{}{screen}{}", &readme[..start], &readme[end..]);
        std::fs::write(path, updated).unwrap_or_else(|err| panic!("{err}"));
        return;
    }
    assert_eq!(&readme[start..end], screen, "the README's capture is stale: run with AMBIDEX_UPDATE_README=1");
}

#[test]
fn first_screen_banner_until_a_key() {
    let state =
        with(busy_state(), |s| s.banner = Some("Demo: both tasks are running. When a gate opens: y approve".into()));
    snap("banner", &state);
    let mut gone = state.clone();
    gone.update(Msg::Key(crossterm::event::KeyEvent::from(crossterm::event::KeyCode::Char('j'))));
    assert_eq!(gone.banner, None, "any key hides it");
}

#[test]
fn a_banner_names_the_missing_key_and_the_command_that_checks_it() {
    let unavailable = ModelUnavailable {
        provider: "openai".into(),
        problem: "OPENAI_API_KEY is not set".into(),
        env_var: Some("OPENAI_API_KEY".into()),
    };
    let mut state = busy_state();
    state.update(Msg::Engine(Update::Readiness { unavailable: Some(unavailable) }));
    snap("no_model_provider", &state);
    let wide = draw(&state, 200, 60);
    assert!(wide.contains("Tasks cannot run: OPENAI_API_KEY is not set (provider `openai`)"), "{wide}");
    assert!(wide.contains("`ambidex models check --provider openai`"), "{wide}");
    let small = draw(&state, 80, 24);
    assert!(small.contains("OPENAI_API_KEY is not set: tasks wait · check: `ambidex models check`"), "{small}");
    // Keys do not hide it; the engine saying tasks can run again does.
    let key = || Msg::Key(crossterm::event::KeyEvent::from(crossterm::event::KeyCode::Char('j')));
    state.update(key());
    assert!(draw(&state, 80, 24).contains("OPENAI_API_KEY is not set"));
    state.update(Msg::Engine(Update::Readiness { unavailable: None }));
    let mut plain = busy_state();
    plain.update(key());
    assert_eq!(draw(&state, 80, 24), draw(&plain, 80, 24), "gone, and the layout is back");
}
