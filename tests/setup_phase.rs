//! Validation that fails for a cause in the environment (a registry out of reach, a command not
//! installed) stops at the environment gate with the cause and the fix: no implementation attempt
//! is spent on it, no exploration starts from it, and stopping there fails the task with it.

// Test and benchmark code may unwrap and panic: that is how it reports a failure (see clippy.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support {
    pub mod cli;
    pub mod engine;
}

use support::cli::Sandbox;
use support::engine::*;

fn events_of(sandbox: &Sandbox, id: &str) -> Vec<serde_json::Value> {
    let shown: serde_json::Value = serde_json::from_str(&sandbox.run(&["task", "show", id, "--json"]).ok()).unwrap();
    shown["events"].as_array().unwrap().clone()
}

fn only_task_id(sandbox: &Sandbox) -> String {
    let tasks: serde_json::Value = serde_json::from_str(&sandbox.run(&["task", "list", "--json"]).ok()).unwrap();
    tasks[0]["id"].as_str().unwrap().to_owned()
}

/// The script: the plan, then an implementer and a tester that only finish (three times over,
/// so a run that wrongly retried would find turns to play).
fn lazy_script(sandbox: &Sandbox) -> std::path::PathBuf {
    let lazy =
        "[[turn]]\nrole = \"implementer\"\n[[turn.tool_call]]\nname = \"finish\"\narguments = { summary = \"done\" }\n";
    let test = "[[turn]]\nrole = \"tester\"\n[[turn.tool_call]]\nname = \"finish\"\narguments = { summary = \"nothing to add\" }\n";
    script(sandbox, "lazy", &[PLAN, &lazy.repeat(3), &test.repeat(3)].concat())
}

/// Runs the pagination task headless with `--approve all` and the validation `command`.
fn run_with_validation(sandbox: &Sandbox, command: &str) -> support::cli::Run {
    let script = lazy_script(sandbox);
    run_scripted(
        sandbox,
        &script,
        &[
            "run",
            "--title",
            "Fix page_count rounding for a partial last page",
            "--criteria",
            "page_count(11, 5) returns 3",
            "--risk",
            "low",
            "--kind",
            "bug_fix",
            "--approve",
            "all",
            "--validate",
            command,
        ],
    )
}

/// Asserts the run stopped at the environment gate after one implementation, with no retry and
/// no exploration; returns the task's id and the gate's reason.
fn stopped_at_environment_gate(sandbox: &Sandbox, run: support::cli::Run) -> (String, String) {
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("stopped at the environment gate"), "{}", run.stdout);
    let id = only_task_id(sandbox);
    let events = events_of(sandbox, &id);
    let implementations =
        events.iter().filter(|e| e["kind"]["type"] == "stage_started" && e["kind"]["kind"] == "implement").count();
    assert_eq!(implementations, 1, "no implementation attempt is spent on the environment");
    let implementer_requests =
        events.iter().filter(|e| e["kind"]["type"] == "model_called" && e["actor"].to_string().contains("implementer"));
    assert!(implementer_requests.count() <= 1, "the implementer was asked once at most");
    assert!(!events.iter().any(|e| e["kind"]["type"] == "exploration_started"), "no exploration starts");
    assert!(!events.iter().any(|e| e["kind"]["type"] == "breaker_tripped"), "no breaker counts it");
    let gate = events
        .iter()
        .find(|e| e["kind"]["type"] == "gate_opened" && e["kind"]["kind"] == "environment")
        .expect("an environment gate was opened");
    (id, gate["kind"]["reason"].as_str().unwrap().to_owned())
}

#[test]
fn a_validation_command_not_installed_stops_at_the_environment_gate() {
    let sandbox = Sandbox::new();
    pagination_repo(&sandbox);
    let run = run_with_validation(&sandbox, "no-such-linter-ambidex --check");
    let (id, reason) = stopped_at_environment_gate(&sandbox, run);
    assert!(reason.contains("`no-such-linter-ambidex --check` (missing_command)"), "{reason}");
    assert!(reason.contains("Fix: install the tool"), "{reason}");
    assert!(reason.contains("no-such-linter-ambidex: not found"), "the output's end is shown: {reason}");

    // Stopping at the gate fails the task with the cause.
    let gates = sandbox.run(&["gate", "list"]).ok();
    assert!(gates.contains("environment"), "{gates}");
    let events = events_of(&sandbox, &id);
    let opened = events.iter().find(|e| e["kind"]["type"] == "gate_opened" && e["kind"]["kind"] == "environment");
    let gate = opened.unwrap()["kind"]["gate"].as_str().unwrap().to_owned();
    sandbox.run(&["gate", "reject", &gate, "--stop", "--note", "install the linter first"]).ok();
    let list = sandbox.run(&["task", "list"]).ok();
    assert!(list.contains("failed"), "{list}");
    let events = events_of(&sandbox, &id);
    let failed = events
        .iter()
        .rev()
        .find(|e| e["kind"]["type"] == "status_changed" && e["kind"]["to"] == "failed")
        .expect("the task failed");
    let why = failed["kind"]["reason"].as_str().unwrap();
    assert!(why.contains("environment gate") && why.contains("missing_command"), "{why}");
}

#[test]
fn a_registry_out_of_reach_stops_at_the_environment_gate_with_the_fetch_as_fix() {
    let sandbox = Sandbox::new();
    pagination_repo(&sandbox);
    // What `cargo test` prints when the crate's dependencies were never fetched and the sandbox
    // has no network.
    sandbox.write(
        "repo/ci/offline.sh",
        "echo 'error: failed to get `serde` as a dependency of package `pagination v0.1.0`' >&2\n\
         echo '' >&2\necho 'Caused by:' >&2\necho '  Could not connect to index.crates.io' >&2\nexit 101\n",
    );
    commit_all(&sandbox.repo(), "the offline check");
    let run = run_with_validation(&sandbox, "sh ci/offline.sh");
    let (_, reason) = stopped_at_environment_gate(&sandbox, run);
    assert!(reason.contains("`sh ci/offline.sh` (network)"), "{reason}");
    assert!(reason.contains("dependencies not fetched"), "{reason}");
    assert!(reason.contains("cargo fetch") && reason.contains("commit the lockfile"), "{reason}");
    assert!(reason.contains("Could not connect to index.crates.io"), "{reason}");
}
