//! Hooks end to end: the real binary with hooks in the user's config runs a scripted task. The
//! lifecycle hooks see every task, stage, gate and PR event on stdin; a `pre_tool_call` hook
//! blocks a command with its own message and lets the others through; a hook that hangs is
//! killed at its timeout without holding up the task; every run is a `hook_ran` event; and a
//! repository's config cannot add hooks.

// Test and benchmark code may unwrap and panic: that is how it reports a failure (see clippy.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support {
    pub mod cli;
    pub mod engine;
}

use serde_json::Value;
use support::cli::Sandbox;
use support::engine::*;

/// The implementer tries a command the hook forbids, then one it allows, then fixes the code.
const GUARDED_FIX: &str = r#"
[[turn]]
role = "implementer"
[[turn.tool_call]]
name = "run"
arguments = { command = "echo deploying to production" }

[[turn]]
role = "implementer"
[[turn.tool_call]]
name = "run"
arguments = { command = "echo just looking" }
"#;

fn events(sandbox: &Sandbox) -> Vec<Value> {
    let out = sandbox.run(&["audit", "log", "--json", "--limit", "100000"]).ok();
    out.lines().filter_map(|l| serde_json::from_str(l).ok()).collect()
}

#[test]
fn hooks_see_the_lifecycle_guard_tool_calls_and_never_hold_up_the_task() {
    let sandbox = Sandbox::new();
    pagination_repo(&sandbox);
    let log = sandbox.path("hooks.log");
    let guard = sandbox.write(
        "guard.sh",
        "#!/bin/sh\nif grep -q deploying; then echo 'no deploys from agents (ask the release team)'; exit 1; fi\n",
    );
    let config = format!(
        r#"
[[hooks]]
event = "task_created"
command = "cat >> {log}; echo >> {log}"

[[hooks]]
event = "gate_opened"
command = "cat >> {log}; echo >> {log}"

[[hooks]]
event = "pr_created"
command = "cat >> {log}; echo >> {log}"

[[hooks]]
event = "stage_finished"
command = "sleep 30"
timeout_secs = 1

[[hooks]]
event = "pre_tool_call"
tools = ["run"]
command = "sh {guard}"

[[hooks]]
event = "post_tool_call"
command = "echo post >> {log}"
"#,
        log = log.display(),
        guard = guard.display()
    );
    sandbox.write("config/ambidex/config.toml", &config);
    let turns = [PLAN, GUARDED_FIX, FIX, TEST, REVIEW, PR].concat();
    let script = script(&sandbox, "hooks", &turns);
    let task = task_file(&sandbox, "medium");
    let run = run_scripted(&sandbox, &script, &["run", "--task-file", &task, "--approve", "all"]);
    assert_eq!(run.code, 0, "stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);

    let logged = std::fs::read_to_string(&log).unwrap();
    let payloads: Vec<Value> = logged.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    let hooks: Vec<&str> = payloads.iter().map(|p| p["hook"].as_str().unwrap()).collect();
    assert_eq!(hooks.first(), Some(&"task_created"), "{logged}");
    assert!(hooks.contains(&"gate_opened") && hooks.contains(&"pr_created"), "{hooks:?}");
    let created = &payloads[0];
    assert_eq!(created["event"]["type"], "task_created");
    assert!(created["task"].is_string() && created["seq"].is_u64(), "{created:#}");
    assert!(logged.lines().filter(|l| *l == "post").count() >= 2, "post_tool_call ran after each call: {logged}");

    let events = events(&sandbox);
    let ran: Vec<&Value> = events.iter().filter(|e| e["kind"]["type"] == "hook_ran").collect();
    let blocked: Vec<&&Value> = ran.iter().filter(|e| e["kind"]["blocked"] == true).collect();
    assert_eq!(blocked.len(), 1, "{ran:#?}");
    assert_eq!(blocked[0]["kind"]["hook"], "pre_tool_call");
    let calls: Vec<&Value> = events
        .iter()
        .filter(|e| e["kind"]["type"] == "tool_called" && e["kind"]["tool"] == "run")
        .filter(|e| e["kind"]["arguments"]["command"].as_str().unwrap().starts_with("echo "))
        .collect();
    assert_eq!(calls.len(), 2, "both calls are audited");
    let refused = calls[0]["kind"]["output"].as_str().unwrap();
    assert!(refused.contains("blocked by a pre_tool_call hook: no deploys from agents"), "{refused}");
    assert!(calls[0]["kind"]["exit_code"].is_null(), "the blocked command never ran");
    assert!(calls[1]["kind"]["output"].as_str().unwrap().contains("just looking"), "{:#}", calls[1]);
    let slow: Vec<&&Value> = ran.iter().filter(|e| e["kind"]["hook"] == "stage_finished").collect();
    assert!(!slow.is_empty() && slow.iter().all(|e| e["kind"]["timed_out"] == true), "{slow:#?}");
}

#[test]
fn a_repository_cannot_set_hooks() {
    let sandbox = Sandbox::new();
    pagination_repo(&sandbox);
    sandbox.write("repo/.ambidex/config.toml", "[[hooks]]\nevent = \"task_created\"\ncommand = \"touch /tmp/owned\"\n");
    let err = sandbox.run(&["task", "list"]).fails();
    assert!(err.contains("hooks") && err.contains("user config"), "{err}");
}
