//! The CLI in a second terminal while `ambidex serve` holds the store: `task add` and
//! `gate approve` go through the running engine's API, the engine runs the task to its PR, and
//! SIGTERM stops it cleanly.

// Test and benchmark code may unwrap and panic: that is how it reports a failure (see clippy.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support {
    pub mod cli;
    pub mod engine;
}

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use support::cli::Sandbox;
use support::engine::*;

fn wait_for<T>(what: &str, limit: Duration, mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(found) = probe() {
            return found;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn open_gates(sandbox: &Sandbox) -> serde_json::Value {
    serde_json::from_str(&sandbox.run(&["gate", "list", "--json"]).ok()).unwrap()
}

fn approve_next_gate(sandbox: &Sandbox, kind: &str) {
    let gate = wait_for(&format!("the {kind} gate"), Duration::from_secs(180), || {
        let gates = open_gates(sandbox);
        let first = gates.as_array()?.first()?.clone();
        (first["kind"] == kind).then(|| first["gate"].as_str().unwrap().to_owned())
    });
    let approved = sandbox.run(&["gate", "approve", &gate[gate.len() - 8..], "--note", "looks right"]).ok();
    assert!(approved.contains("through the running engine at http://127.0.0.1:"), "{approved}");
}

/// Starts `ambidex serve` with the scripted model on a free port and waits for its announcement.
fn start_serve(sandbox: &Sandbox, script: &std::path::Path) -> Child {
    let mut args = scripted(script);
    // The production track alone: these tests are about the API, not the Left Hand.
    args.extend(["-c".into(), "api.port=0".into(), "-c".into(), "engine.challengers=0".into(), "serve".into()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let serve = sandbox.command(&args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let announcement = sandbox.path("data/ambidex/api.json");
    wait_for("api.json", Duration::from_secs(30), || announcement.exists().then_some(()));
    serve
}

/// Stops `ambidex serve` with SIGTERM; asserts a clean exit and returns what it printed.
fn stop_serve(serve: &mut Child) -> String {
    let stopped = std::process::Command::new("kill").args(["-TERM", &serve.id().to_string()]).status().unwrap();
    assert!(stopped.success());
    let output = wait_for("serve to stop", Duration::from_secs(30), || serve.try_wait().unwrap()).code();
    let mut stdout = String::new();
    std::io::Read::read_to_string(serve.stdout.as_mut().unwrap(), &mut stdout).unwrap();
    assert_eq!(output, Some(0), "{stdout}");
    stdout
}

#[test]
fn task_add_and_gate_approve_reach_a_running_engine_through_its_api() {
    let sandbox = Sandbox::new();
    pagination_repo(&sandbox);
    let script = script(&sandbox, "happy", &happy_script());
    let mut serve = start_serve(&sandbox, &script);
    let announcement = sandbox.path("data/ambidex/api.json");

    let task = sandbox.write(
        "task.md",
        "+++\ntitle = \"Fix page_count rounding for a partial last page\"\nrisk = \"high\"\nkind = \"bug_fix\"\n\
         acceptance_criteria = [\"page_count(11, 5) returns 3\", \"existing tests still pass\"]\n\
         validation = [\"cargo test\"]\n+++\n\n`page_count` in src/lib.rs rounds down, so the last partial page is lost.\n",
    );
    // Without the API this would fail: the serving process holds the store for writing.
    let added = sandbox.run(&["task", "add", "--file", &task.display().to_string()]).ok();
    assert!(added.starts_with("added task "), "{added}");

    approve_next_gate(&sandbox, "plan");
    approve_next_gate(&sandbox, "pull_request");
    let tasks = wait_for("the PR", Duration::from_secs(180), || {
        let tasks: serde_json::Value = serde_json::from_str(&sandbox.run(&["task", "list", "--json"]).ok()).unwrap();
        (tasks[0]["status"] == "pr_ready").then_some(tasks)
    });
    let id = tasks[0]["id"].as_str().unwrap();
    let history = sandbox.run(&["task", "show", id, "--json"]).ok();
    assert!(history.contains("\"note\": \"looks right\""), "the decisions came from the CLI: {history}");

    let stdout = stop_serve(&mut serve);
    assert!(stdout.contains("listening on http://127.0.0.1:") && stdout.contains("ambidex serve: stopped"), "{stdout}");
    assert!(stdout.contains(&format!("task {}: PR ready", id[id.len() - 8..].to_lowercase())), "{stdout}");
    assert!(!announcement.exists(), "a clean stop removes api.json");

    // With no engine running, the CLI holds the store itself again.
    let local =
        sandbox.run(&["task", "add", "--title", "Add a last_page helper", "--criteria", "last_page(11, 5) is 3"]);
    assert!(local.ok().starts_with("added task "));
    assert!(sandbox.run(&["audit", "verify"]).ok().starts_with("ok:"));
}

#[test]
fn a_vague_task_is_answered_and_noted_through_a_running_engine() {
    let sandbox = Sandbox::new();
    pagination_repo(&sandbox);
    // Once accepted, the task runs; this model has nothing useful to say, which does not matter here.
    let script = script(&sandbox, "idle", "[[turn]]\ntext = \"unused\"\n");
    let mut serve = start_serve(&sandbox, &script);

    let added = sandbox.run(&["task", "add", "--title", "fix it"]).ok();
    assert!(added.contains("not accepted (needs_clarification)"), "{added}");
    let tasks: serde_json::Value = serde_json::from_str(&sandbox.run(&["task", "list", "--json"]).ok()).unwrap();
    let id = tasks[0]["id"].as_str().unwrap().to_owned();
    let short = id[id.len() - 8..].to_lowercase();

    let noted = sandbox.run(&["task", "note", &short, "page_count lives in src/lib.rs"]).ok();
    assert!(noted.contains("through the running engine at http://127.0.0.1:"), "{noted}");
    let answer = sandbox.write("answer.md", "+++\nacceptance_criteria = [\"page_count(11, 5) returns 3\"]\n+++\n");
    let title = "Fix page_count rounding for a partial last page";
    let revised =
        sandbox.run(&["task", "revise", &short, "--file", &answer.display().to_string(), "--title", title]).ok();
    assert!(revised.starts_with(&format!("revised task {short} ({id}): {title}")), "{revised}");
    assert!(revised.contains("accepted by intake: "), "{revised}");

    // Accepted now, so intake waits on it no more: the running engine refuses a second revision.
    let refused = sandbox.run(&["task", "revise", &short, "--risk", "high"]).fails();
    assert!(
        refused.contains("the running engine refused") && refused.contains("only a task that needs clarification"),
        "{refused}"
    );
    let shown = sandbox.run(&["task", "show", &short]).ok();
    assert!(
        shown.contains("note: page_count lives in src/lib.rs") && shown.contains(&format!("revised: {title}")),
        "{shown}"
    );
    assert!(shown.contains("acceptance criteria:\n  - page_count(11, 5) returns 3"), "{shown}");
    stop_serve(&mut serve);
}

#[test]
fn a_stale_announcement_is_ignored_and_a_store_held_without_an_api_is_explained() {
    let sandbox = Sandbox::new();
    // A leftover announcement from a process that is gone.
    sandbox.write(
        "data/ambidex/api.json",
        r#"{"pid": 4294967294, "port": 9, "url": "http://127.0.0.1:9", "token_file": "/nonexistent", "started_at": "2026-01-01T00:00:00Z"}"#,
    );
    let added =
        sandbox.run(&["task", "add", "--title", "Add a last_page helper", "--criteria", "last_page(11, 5) is 3"]);
    assert!(added.ok().starts_with("added task "), "a stale api.json does not stand in the way");

    // A process that holds the store without serving the API: the CLI says so and what to do.
    let holder = ambidex::orchestrator::Engine::open(&sandbox.store()).unwrap();
    let held = sandbox.run(&["task", "add", "--title", "Add a first_page helper", "--criteria", "first_page() is 1"]);
    let message = held.fails();
    assert!(message.contains("is in use by another Ambidex process") && message.contains("serves no API"), "{message}");
    holder.shutdown();

    // `ambidex serve` with the API off refuses to start, saying how to turn it on.
    let refused = sandbox.run(&["-c", "api.enabled=false", "serve"]).fails();
    assert!(refused.contains("-c api.enabled=true"), "{refused}");
}
