//! Frame time of a busy control room: a 200×60 screen while 20 agents stream 200 tokens/s each.
//!
//! One frame (at 60 fps) is what the loop does between two draws: apply the ~67 deltas that 20
//! agents at 200 tokens/s produce in 16.7 ms (a line ends every 12 tokens), plus a tool call now
//! and then, and draw the whole screen, with a highlighted diff open in the lower area. Besides
//! criterion's estimate, the p50 and p99 of 3000 frames are printed (goal: p99 < 8 ms).

// Test and benchmark code may unwrap and panic: that is how it reports a failure (see clippy.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::Criterion;
use jiff::Timestamp;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use ambidex::protocol::{
    Actor, AgentIdentity, CandidateDiff, CandidatePlan, Delta, Digest, Event, EventKind, Risk, Role, Route, TaskId,
    TaskKind, TaskStatus, TaskSummary, ToolCallId, ToolCallRecord, Track, Update,
};
use ambidex::tui::app::{Msg, Pane, Tab};
use ambidex::tui::diff_doc::DiffDoc;
use ambidex::tui::{AppState, highlight};

const AGENTS: usize = 20;
const TOKENS_PER_SECOND: usize = 200;
const FPS: usize = 60;

fn agents() -> Vec<Actor> {
    let right = [Role::Planner, Role::Implementer, Role::Tester, Role::Reviewer];
    let mut actors: Vec<Actor> = right
        .iter()
        .map(|role| Actor::Agent(AgentIdentity { role: *role, track: Track::Right, candidate: None }))
        .collect();
    for c in 1..=(AGENTS - right.len()) {
        actors.push(Actor::Agent(AgentIdentity {
            role: Role::Challenger,
            track: Track::Left,
            candidate: Some(format!("c{c}")),
        }));
    }
    actors
}

fn event(seq: u64, task: TaskId, actor: Actor, kind: EventKind) -> Msg {
    Msg::Engine(Update::Event(Arc::new(Event {
        schema: ambidex::protocol::EVENT_SCHEMA,
        seq,
        at: Timestamp::UNIX_EPOCH,
        task: Some(task),
        actor,
        kind,
        prev_hash: Digest::GENESIS,
        hash: Digest::GENESIS,
    })))
}

fn patch(files: usize, hunks: usize) -> String {
    let mut text = String::new();
    for f in 0..files {
        text.push_str(&format!("diff --git a/src/m{f}.rs b/src/m{f}.rs\n--- a/src/m{f}.rs\n+++ b/src/m{f}.rs\n"));
        for h in 0..hunks {
            let start = h * 40 + 1;
            text.push_str(&format!("@@ -{start},7 +{start},7 @@ impl Thing {{\n"));
            text.push_str("     /// Returns the number of pages for `items`.\n");
            text.push_str("     pub fn page_count(&self, items: usize) -> usize {\n");
            text.push_str("-        items / self.size\n");
            text.push_str("+        items.div_ceil(self.size) // round up: \"partial\" pages count\n");
            text.push_str("     }\n");
            text.push_str("-    const LIMIT: u32 = 10;\n");
            text.push_str("+    const LIMIT: u32 = 12;\n");
        }
    }
    text
}

/// 12 tasks, the selected one with 20 agents (4 Right Hand, 16 challengers) and a big diff open.
fn busy() -> (AppState, TaskId) {
    let now = Timestamp::UNIX_EPOCH;
    let tasks: Vec<TaskSummary> = (0..12)
        .map(|i| TaskSummary {
            id: TaskId::from_u128(1000 + i),
            title: format!("Task number {i} with a reasonably long title"),
            status: if i % 3 == 0 { TaskStatus::AwaitingGate } else { TaskStatus::Running },
            kind: Some(TaskKind::Feature),
            risk: Some(Risk::Medium),
            route: Some(Route::RightAndLeft),
            created_at: now,
            open_gates: 0,
            cost_micros: 123_456,
        })
        .collect();
    let task = tasks[1].id;
    let mut state = AppState::new(tasks.clone(), 0, "/tmp/state.redb".into(), now);
    state.notifications.bell = false;
    state.notifications.osc9 = false;
    state.size = (200, 60);
    for summary in &tasks {
        state.update(Msg::History(summary.id, Ok(Vec::new())));
    }
    state.selected = 1;
    state.focus = Pane::Lower;
    state.tab = Tab::Diff;
    let candidates = (1..=16)
        .map(|c| CandidatePlan { label: format!("c{c}"), strategy: "minimal_diff".into(), ..Default::default() })
        .collect();
    let mut seq = 1;
    state.update(event(
        seq,
        task,
        Actor::Orchestrator,
        EventKind::WorktreeCreated {
            candidate: "production".into(),
            path: "/w".into(),
            branch: "b".into(),
            base: "0".into(),
        },
    ));
    seq += 1;
    state.update(event(
        seq,
        task,
        Actor::Orchestrator,
        EventKind::ExplorationStarted { trigger: "route".into(), evidence: String::new(), candidates },
    ));
    for role in [Role::Planner, Role::Implementer, Role::Tester, Role::Reviewer] {
        seq += 1;
        state.update(event(
            seq,
            task,
            Actor::Orchestrator,
            EventKind::StageStarted { stage: role.to_string(), role, kind: None, checkpoint: None },
        ));
    }
    let text = patch(40, 12);
    let doc = Arc::new(DiffDoc::parse(&text));
    let syntaxes = syntect::parsing::SyntaxSet::load_defaults_newlines();
    for file in doc.files.iter().take(3) {
        for hunk in &file.hunks {
            let lines: Vec<String> = hunk.lines.iter().map(|l| l.text.clone()).collect();
            let result = highlight::highlight(&syntaxes, file.extension(), &lines);
            state.update(Msg::Highlighted(hunk.key, Arc::new(result)));
        }
    }
    let diff = CandidateDiff { candidate: "production".into(), base: "0".into(), branch: "b".into(), patch: text };
    state.update(Msg::Diff((task, "production".into()), u64::MAX / 2, Ok((diff, doc))));
    state.take_effects();
    (state, task)
}

/// The messages of one frame: each agent's tokens, with a tool call every ~2 s per agent.
fn frame(frame_no: usize, task: TaskId, actors: &[Actor], seq: &mut u64) -> Vec<Msg> {
    let per_frame = TOKENS_PER_SECOND as f64 / FPS as f64;
    let mut out = Vec::new();
    for (a, actor) in actors.iter().enumerate() {
        let from = (frame_no as f64 * per_frame) as usize;
        let to = ((frame_no + 1) as f64 * per_frame) as usize;
        for token in from..to {
            let text = if token % 12 == 11 { " done.\n".to_owned() } else { format!(" tok{}", (token + a) % 97) };
            out.push(Msg::Engine(Update::Delta(Delta { task, actor: actor.clone(), text })));
        }
        if (frame_no + a * 7).is_multiple_of(120) {
            *seq += 1;
            let record = ToolCallRecord {
                call: ToolCallId::from_u128(*seq as u128),
                tool: "run".into(),
                arguments: serde_json::json!({"command": "cargo test"}),
                workdir: "/w".into(),
                workspace: None,
                ok: true,
                exit_code: Some(0),
                output: "running 12 tests\ntest result: ok. 12 passed".into(),
                started_at: Timestamp::UNIX_EPOCH,
                finished_at: Timestamp::UNIX_EPOCH,
                sandbox: None,
                policy: None,
            };
            out.push(event(*seq, task, actor.clone(), EventKind::ToolCalled(Box::new(record))));
        }
    }
    out
}

fn percentiles() {
    let (mut state, task) = busy();
    let actors = agents();
    let mut terminal = match Terminal::new(TestBackend::new(200, 60)) {
        Ok(terminal) => terminal,
        Err(err) => panic!("{err}"),
    };
    let mut seq = 1000;
    let mut times = Vec::with_capacity(3000);
    for n in 0..3300 {
        let messages = frame(n, task, &actors, &mut seq);
        let start = Instant::now();
        for message in messages {
            state.update(message);
        }
        state.take_effects();
        if let Err(err) = terminal.draw(|f| f.render_widget(&state, f.area())) {
            panic!("{err}");
        }
        if n >= 300 {
            times.push(start.elapsed());
        }
        if n.is_multiple_of(600) {
            // Scroll the diff now and then, as a user would.
            state.views.diff_scroll = (state.views.diff_scroll + 37) % 3000;
        }
    }
    times.sort();
    let at = |p: f64| times[((times.len() as f64 * p) as usize).min(times.len() - 1)];
    let p50: Duration = at(0.50);
    let p99: Duration = at(0.99);
    println!(
        "tui frame (200x60, {AGENTS} agents x {TOKENS_PER_SECOND} tokens/s): p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms (goal: p99 < 8 ms)",
        p50.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3,
        times[times.len() - 1].as_secs_f64() * 1e3
    );
}

fn bench(c: &mut Criterion) {
    let (mut state, task) = busy();
    let actors = agents();
    let mut terminal = match Terminal::new(TestBackend::new(200, 60)) {
        Ok(terminal) => terminal,
        Err(err) => panic!("{err}"),
    };
    let mut n = 0;
    let mut seq = 1000;
    c.bench_function("tui_frame_200x60_20_agents", |b| {
        b.iter(|| {
            for message in frame(n, task, &actors, &mut seq) {
                state.update(message);
            }
            state.take_effects();
            n += 1;
            if let Err(err) = terminal.draw(|f| f.render_widget(&state, f.area())) {
                panic!("{err}");
            }
        })
    });
}

fn main() {
    percentiles();
    let mut criterion = Criterion::default().configure_from_args();
    bench(&mut criterion);
    criterion.final_summary();
}
