//! Fills a store with finished tasks, for `bench/compare.sh`'s rows that compare a store of
//! 10,000 tasks with an empty one (the control room's first paint and memory, `serve`'s idle
//! memory, the bytes each event takes on disk).
//!
//! Each task carries the events a submission through the API leaves behind, plus the notes a
//! short run adds, in one commit per task: a store in use takes each task's events in commits of
//! their own, not in one large batch with a thousand other tasks' (which leaves the file about a
//! tenth larger).
//!
//! ```text
//! cargo run --release --example fill_store -- STATE_DIR TASKS
//! ```

// A bench tool reports a failure by panicking, as the benches do (see clippy.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ambidex::protocol::{
    Actor, EventKind, IntakeVerdict, NewEvent, Risk, Route, TaskId, TaskKind, TaskSpec, TaskStatus, Triage,
};
use ambidex::store::{STORE_FILE, Store};

/// What a short run says along the way: a plan, tool results and a review, as notes.
const NOTES: [&str; 6] = [
    "plan: add `page_count` to src/pager.rs, rounding up, with a test for an exact multiple and one for a remainder",
    "ran `cargo test -p pager` — 42 passed, 0 failed",
    "edited src/pager.rs: +14 −2 (page_count now uses usize::div_ceil)",
    "ran `cargo clippy --all-targets -- -D warnings`: clean",
    "review: approve — the change is minimal and the new tests fail on the old code",
    "draft PR written: Fix page_count rounding (2 files, +31 −2)",
];

fn task_events(n: usize) -> Vec<NewEvent> {
    let id = TaskId::new();
    let event = |actor: Actor, kind: EventKind| NewEvent::for_task(id, actor, kind);
    let status = |from: TaskStatus, to: TaskStatus, reason: &str| {
        event(Actor::Orchestrator, EventKind::StatusChanged { from, to, reason: reason.into() })
    };
    let mut spec = TaskSpec::titled(format!("Fix page_count rounding in pager number {n}"));
    spec.description = "page_count(10, 3) returns 3; it should round up to 4.".into();
    spec.acceptance_criteria = vec!["page_count rounds up".into(), "a test covers an exact multiple".into()];
    let mut events = vec![
        event(Actor::local_human(), EventKind::TaskCreated { spec }),
        event(
            Actor::Orchestrator,
            EventKind::IntakeAssessed {
                verdict: IntakeVerdict::Accepted,
                reasons: Vec::new(),
                questions: Vec::new(),
                suggested_split: Vec::new(),
            },
        ),
        event(
            Actor::Orchestrator,
            EventKind::TaskTriaged(Triage {
                kind: TaskKind::BugFix,
                risk: Risk::Low,
                novelty: 10,
                route: Route::RightOnly,
                reasons: vec!["kind: declared bug_fix".into()],
                budgets: None,
                gates: Vec::new(),
                areas: Vec::new(),
                policy_version: String::new(),
                autonomy: Default::default(),
            }),
        ),
        status(TaskStatus::Received, TaskStatus::Queued, "accepted"),
        status(TaskStatus::Queued, TaskStatus::Running, "a slot is free"),
    ];
    events.extend(NOTES.iter().map(|text| event(Actor::Orchestrator, EventKind::Note { text: (*text).into() })));
    events.push(status(TaskStatus::Running, TaskStatus::PrReady, "the draft PR is ready"));
    events
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [dir, tasks] = args.as_slice() else {
        eprintln!("usage: fill_store STATE_DIR TASKS");
        std::process::exit(2);
    };
    let tasks: usize = tasks.parse().expect("TASKS is a number");
    std::fs::create_dir_all(dir).unwrap();
    let store = Store::open(&std::path::Path::new(dir).join(STORE_FILE)).unwrap();
    for n in 0..tasks {
        store.append(task_events(n)).unwrap();
    }
    store.close();
}
