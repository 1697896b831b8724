//! The engineer's "no" steers the work: a gate sent back with a note returns the work to the
//! stage that produced it, with the note; a stopped task stays stopped; automatic approval has a
//! ceiling. The real binary, a real repository, the scripted model.

// Test and benchmark code may unwrap and panic: that is how it reports a failure (see clippy.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support {
    pub mod cli;
    pub mod engine;
}

use support::cli::Sandbox;
use support::engine::*;

fn json(sandbox: &Sandbox, args: &[&str]) -> serde_json::Value {
    serde_json::from_str(&sandbox.run(args).ok()).unwrap()
}

/// The one open gate: its id and its task.
fn open_gate(sandbox: &Sandbox) -> (String, String, String) {
    let gates = json(sandbox, &["gate", "list", "--json"]);
    assert_eq!(gates.as_array().unwrap().len(), 1, "{gates}");
    let gate = gates[0]["gate"].as_str().unwrap().to_owned();
    (gate, gates[0]["task"].as_str().unwrap().to_owned(), gates[0]["kind"].as_str().unwrap().to_owned())
}

fn events(sandbox: &Sandbox, id: &str) -> Vec<serde_json::Value> {
    json(sandbox, &["task", "show", id, "--json"])["events"].as_array().unwrap().clone()
}

fn count(events: &[serde_json::Value], kind: &str) -> usize {
    events.iter().filter(|e| e["kind"]["type"] == kind).count()
}

/// Turns played only by agents whose instructions carry `note`: each `ambidex run` is a new
/// process whose scripted model starts from the first turn, so the agents after a send-back find
/// their turns by the engineer's note in their instructions.
fn after_note(note: &str, turns: &str) -> String {
    turns.replace("role = ", &format!("task = \"{note}\"\nrole = "))
}

/// A second plan, made after the engineer's note.
const REPLAN: &str = r#"
[[turn]]
role = "planner"
[[turn.tool_call]]
name = "submit_plan"
arguments = { summary = "Use usize::div_ceil as the engineer asked.", steps = ["src/lib.rs: items.div_ceil(size)"], expected_files = ["src/lib.rs"], validation = ["cargo test"], rollback = "revert the commit", confidence = 95 }
"#;

#[test]
fn a_plan_sent_back_with_a_note_is_planned_again_with_it_then_approved() {
    let sandbox = Sandbox::new();
    pagination_repo(&sandbox);
    let note = "use usize::div_ceil, no hand-written rounding";
    let script =
        script(&sandbox, "replan", &[PLAN, &after_note(note, &[REPLAN, FIX, TEST, REVIEW, PR].concat())].concat());
    let task = task_file(&sandbox, "high");
    let run = |args: &[&str]| {
        let mut all = vec!["-c", "engine.challengers=0", "run"];
        all.extend_from_slice(args);
        run_scripted(&sandbox, &script, &all)
    };
    let first = run(&["--task-file", &task]);
    assert_eq!(first.code, 2, "{}\n{}", first.stdout, first.stderr);
    let (gate, id, kind) = open_gate(&sandbox);
    assert_eq!(kind, "plan");

    // A send-back needs a note.
    let refused = sandbox.run(&["gate", "reject", &gate]).fails();
    assert!(refused.contains("--note") && refused.contains("--stop"), "{refused}");
    sandbox.run(&["gate", "reject", &gate, "--note", note]).ok();

    let second = run(&["--task", &id]);
    assert_eq!(second.code, 2, "{}\n{}", second.stdout, second.stderr);
    let (gate, _, kind) = open_gate(&sandbox);
    assert_eq!(kind, "plan", "the new plan waits for approval");
    let shown = json(&sandbox, &["task", "show", &id, "--json"]);
    assert_eq!(shown["task"]["plan"]["summary"], "Use usize::div_ceil as the engineer asked.");
    let log = events(&sandbox, &id);
    let sent = log.iter().find(|e| e["kind"]["type"] == "sent_back").expect("a sent_back event");
    assert_eq!(sent["kind"]["to"], "plan");
    assert_eq!(count(&log, "plan_submitted"), 2);

    sandbox.run(&["gate", "approve", &gate]).ok();
    let third = run(&["--task", &id, "--approve", "all"]);
    assert_eq!(third.code, 0, "{}\n{}", third.stdout, third.stderr);
    let short = &id[id.len() - 8..];
    let doc = sandbox.run(&["pr", "show", short, "--markdown"]).ok();
    assert!(doc.contains("## The engineer's notes"), "{doc}");
    assert!(
        doc.contains("Sent back from the plan gate to the plan stage: use usize::div_ceil")
            && doc.contains("the plan stage did it again: Use usize::div_ceil"),
        "{doc}"
    );
}

/// The implementer's second pass after the PR gate sent the work back: a doc comment.
const REWORK: &str = r#"
[[turn]]
role = "implementer"
[[turn.tool_call]]
name = "edit_file"
arguments = { path = "src/lib.rs", old = "pub fn page_count", new = "/// Rounds up: a partial last page is a page.\npub fn page_count" }

[[turn]]
role = "implementer"
[[turn.tool_call]]
name = "finish"
arguments = { summary = "documented the rounding" }

[[turn]]
role = "tester"
[[turn.tool_call]]
name = "finish"
arguments = { summary = "the regression test already covers it" }
"#;

#[test]
fn a_pr_sent_back_is_reworked_revalidated_and_reviewed_again() {
    let sandbox = Sandbox::new();
    pagination_repo(&sandbox);
    let note = "document why it rounds up";
    let rework = after_note(note, &[REWORK, REVIEW, PR].concat());
    let script = script(&sandbox, "rework", &[PLAN, FIX, TEST, REVIEW, PR, &rework].concat());
    let task = task_file(&sandbox, "low");
    let first = run_scripted(&sandbox, &script, &["-c", "engine.challengers=0", "run", "--task-file", &task]);
    assert_eq!(first.code, 2, "{}\n{}", first.stdout, first.stderr);
    let (gate, id, kind) = open_gate(&sandbox);
    assert_eq!(kind, "pull_request");
    let before = events(&sandbox, &id);
    sandbox.run(&["gate", "reject", &gate, "--note", note]).ok();

    let second = run_scripted(&sandbox, &script, &["-c", "engine.challengers=0", "run", "--task", &id]);
    assert_eq!(second.code, 2, "{}\n{}", second.stdout, second.stderr);
    assert_eq!(open_gate(&sandbox).2, "pull_request", "the reworked change is asked again");
    let after = events(&sandbox, &id);
    let sent = after.iter().find(|e| e["kind"]["type"] == "sent_back").expect("sent_back");
    assert_eq!(sent["kind"]["to"], "implement");
    assert_eq!(count(&after, "validation_ran"), count(&before, "validation_ran") + 1, "validation ran again");
    assert_eq!(count(&after, "review_submitted"), 2, "review ran again");
    let worktree =
        json(&sandbox, &["task", "show", &id, "--json"])["task"]["worktrees"][0]["path"].as_str().unwrap().to_owned();
    let lib = std::fs::read_to_string(std::path::Path::new(&worktree).join("src/lib.rs")).unwrap();
    assert!(lib.contains("/// Rounds up") && lib.contains("div_ceil"), "{lib}");
}

#[test]
fn a_stopped_task_stays_stopped_until_the_engineer_resumes_it() {
    let sandbox = Sandbox::new();
    pagination_repo(&sandbox);
    let script = script(&sandbox, "happy", &happy_script());
    let task = task_file(&sandbox, "high");
    let first = run_scripted(&sandbox, &script, &["-c", "engine.challengers=0", "run", "--task-file", &task]);
    assert_eq!(first.code, 2, "{}\n{}", first.stdout, first.stderr);
    let (gate, id, _) = open_gate(&sandbox);
    sandbox.run(&["gate", "reject", &gate, "--stop", "--note", "we will not change the rounding"]).ok();

    let shown = json(&sandbox, &["task", "show", &id, "--json"]);
    assert_eq!(shown["task"]["status"], "failed");
    let again = run_scripted(&sandbox, &script, &["-c", "engine.challengers=0", "run", "--task", &id]);
    assert_eq!(again.code, 1, "{}", again.stdout);
    assert_eq!(json(&sandbox, &["task", "show", &id, "--json"])["task"]["status"], "failed", "it stays stopped");
    let log = events(&sandbox, &id);
    let reason = log
        .iter()
        .rev()
        .find_map(|e| (e["kind"]["to"] == "failed").then(|| e["kind"]["reason"].as_str().unwrap().to_owned()))
        .unwrap();
    assert_eq!(reason, "stopped by the engineer at the plan gate: we will not change the rounding");
    assert_eq!(count(&log, "gate_opened"), 1, "no gate was asked again");
    assert_eq!(count(&log, "stage_started"), 1, "only the planner ever ran");
}

#[test]
fn a_model_that_never_submits_under_approve_all_stops_at_the_ceiling() {
    let sandbox = Sandbox::new();
    pagination_repo(&sandbox);
    // The implementer talks forever and never calls `finish`.
    let chatter = "[[turn]]\nrole = \"implementer\"\ntext = \"Still thinking about it.\"\n".repeat(400);
    let script = script(&sandbox, "chatter", &[PLAN, &chatter].concat());
    let task = task_file(&sandbox, "low");
    let run = run_scripted(
        &sandbox,
        &script,
        &["-c", "engine.challengers=0", "run", "--task-file", &task, "--approve", "all"],
    );
    assert_eq!(run.code, 2, "it stops at a gate: {}\n{}", run.stdout, run.stderr);
    let (_, id, kind) = open_gate(&sandbox);
    assert_eq!(kind, "escalation");
    let gates = json(&sandbox, &["gate", "list", "--json"]);
    let reason = gates[0]["reason"].as_str().unwrap();
    assert!(reason.contains("only a human can decide") && reason.contains("gates.auto_escalations = 2"), "{reason}");
    let log = events(&sandbox, &id);
    let requests = count(&log, "usage_recorded");
    assert!(requests <= 200, "{requests} model requests before the ceiling");
    let decided = log.iter().filter(|e| e["kind"]["type"] == "gate_decided").count();
    assert_eq!(decided, 2, "two escalations approved automatically, the third waits");
}

#[test]
fn a_rewind_restores_a_stage_checkpoint_keeps_the_work_and_runs_again_from_there() {
    let sandbox = Sandbox::new();
    pagination_repo(&sandbox);
    let note = "fix it without touching the tests this time";
    let again = after_note(note, &[FIX, TEST, REVIEW, PR].concat());
    let script = script(&sandbox, "rewind", &[PLAN, FIX, TEST, REVIEW, PR, &again].concat());
    let task = task_file(&sandbox, "low");
    let first = run_scripted(&sandbox, &script, &["-c", "engine.challengers=0", "run", "--task-file", &task]);
    assert_eq!(first.code, 2, "{}\n{}", first.stdout, first.stderr);
    let (_, id, kind) = open_gate(&sandbox);
    assert_eq!(kind, "pull_request");
    let shown = json(&sandbox, &["task", "show", &id, "--json"]);
    let worktree = std::path::PathBuf::from(shown["task"]["worktrees"][0]["path"].as_str().unwrap());
    let lib = || std::fs::read_to_string(worktree.join("src/lib.rs")).unwrap();
    assert!(lib().contains("div_ceil"));

    // Nothing is set aside without a yes.
    let unconfirmed = sandbox.run(&["task", "rewind", &id, "--to", "implement", "--note", note]).fails();
    assert!(unconfirmed.contains("--yes"), "{unconfirmed}");
    assert!(lib().contains("div_ceil"), "nothing changed");
    let unknown = sandbox.run(&["task", "rewind", &id, "--to", "deploy", "--yes"]).fails();
    assert!(unknown.contains("no checkpoint for a stage `deploy`"), "{unknown}");

    sandbox.run(&["task", "rewind", &id, "--to", "implement", "--note", note, "--yes"]).ok();
    assert!(
        lib().contains("items / size") && !lib().contains("partial_last_page"),
        "back at the checkpoint: {}",
        lib()
    );
    let log = events(&sandbox, &id);
    let rewound = log.iter().find(|e| e["kind"]["type"] == "rewound").expect("a rewound event");
    assert_eq!(rewound["kind"]["kind"], "implement");
    let kept = rewound["kind"]["abandoned"].as_str().unwrap();
    let repo = git2::Repository::open(sandbox.repo()).unwrap();
    let set_aside = repo.find_reference(kept).unwrap().peel_to_tree().unwrap();
    let blob = set_aside.get_path(std::path::Path::new("src/lib.rs")).unwrap().to_object(&repo).unwrap();
    assert!(String::from_utf8_lossy(blob.as_blob().unwrap().content()).contains("div_ceil"), "the work is kept");
    assert!(json(&sandbox, &["gate", "list", "--json"]).as_array().unwrap().is_empty(), "the PR gate was closed");
    assert_eq!(json(&sandbox, &["task", "show", &id, "--json"])["task"]["status"], "queued");

    let second = run_scripted(&sandbox, &script, &["-c", "engine.challengers=0", "run", "--task", &id]);
    assert_eq!(second.code, 2, "{}\n{}", second.stdout, second.stderr);
    assert_eq!(open_gate(&sandbox).2, "pull_request", "the PR gate is asked again for the new work");
    let log = events(&sandbox, &id);
    let after: Vec<&serde_json::Value> = log
        .iter()
        .skip_while(|e| e["kind"]["type"] != "rewound")
        .filter(|e| e["kind"]["type"] == "stage_started")
        .collect();
    assert_eq!(after[0]["kind"]["kind"], "implement", "it ran again from the implementation");
    assert!(lib().contains("div_ceil"));
}
