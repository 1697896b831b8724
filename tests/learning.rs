//! The learning loop end to end, with the real binary, a real repository and the scripted model:
//! a Left Hand strategy that wins three tasks of a class becomes a playbook proposal that only a
//! person promotes; a class whose tasks pass the autonomy thresholds gets a proposal, a person
//! grants it, and a revert of one of its changes tightens the class again at once.

// Test and benchmark code may unwrap and panic: that is how it reports a failure (see clippy.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support {
    pub mod cli;
    pub mod engine;
}

use serde_json::Value;
use support::cli::Sandbox;
use support::engine::*;

/// A high-risk bug fix: triage routes it to both hands.
fn explored_task(sandbox: &Sandbox) -> String {
    let text = "+++\ntitle = \"Make page_count round up and accept a zero page size\"\nrisk = \"high\"\nkind = \"bug_fix\"\n\
                acceptance_criteria = [\"page_count(11, 5) returns 3\", \"page_count(3, 0) returns 0 instead of panicking\"]\n\
                validation = [\"cargo test\"]\n+++\n\n`page_count` in src/lib.rs rounds down and divides by zero.\n";
    sandbox.write("explored.md", text).display().to_string()
}

fn json(sandbox: &Sandbox, args: &[&str]) -> Value {
    serde_json::from_str(&sandbox.run(args).ok()).unwrap()
}

fn versions(sandbox: &Sandbox) -> Vec<Value> {
    json(sandbox, &["playbook", "list", "--all", "--json"]).as_array().unwrap().clone()
}

#[test]
fn three_wins_of_one_strategy_make_a_proposal_that_only_the_promotion_gate_makes_active() {
    let sandbox = Sandbox::new();
    pagination_repo(&sandbox);
    let script = [PLAN, FIX, TEST, &left_hand_win(), REVIEW, PR].concat();
    let script = support::engine::script(&sandbox, "left", &script);
    let task = explored_task(&sandbox);
    for round in 1..=3 {
        let run = run_scripted(&sandbox, &script, &["run", "--task-file", &task, "--approve", "all"]);
        assert_eq!(run.code, 0, "round {round}\nstdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
        let proposals: Vec<Value> = versions(&sandbox).into_iter().filter(|v| v["status"] == "proposed").collect();
        assert_eq!(proposals.len(), usize::from(round == 3), "round {round}: {proposals:#?}");
    }
    let all = versions(&sandbox);
    let proposal = all.iter().find(|v| v["status"] == "proposed").unwrap();
    assert_eq!(proposal["name"], "bug_fix_test_first");
    assert_eq!(proposal["classes"], serde_json::json!(["bug_fix"]));
    assert_eq!(proposal["author"]["by"], "strategy");
    assert_eq!(proposal["author"]["strategy"], "test_first");
    assert_eq!(proposal["author"]["tasks"].as_array().unwrap().len(), 3, "the three tasks it won");
    let right_hand = all.iter().find(|v| v["name"] == "right_hand" && v["status"] == "active").unwrap();
    assert_eq!(proposal["parent"], right_hand["hash"], "derived from the playbook the class ran with");
    let tasks = json(&sandbox, &["task", "list", "--json"]);
    for task in tasks.as_array().unwrap() {
        let id = task["id"].as_str().unwrap();
        let shown = json(&sandbox, &["task", "show", id, "--json"]);
        assert_eq!(shown["task"]["playbook"]["version"], right_hand["hash"], "each task names the version it ran with");
    }

    // The gate: without evidence a promotion is refused and says what to run.
    let hash = proposal["hash"].as_str().unwrap();
    let short = &hash[..12];
    let refused = sandbox.run(&["playbook", "promote", short, "--yes"]);
    assert_ne!(refused.code, 0);
    assert!(refused.stderr.contains("ambidex playbook evaluate"), "{}", refused.stderr);
    assert!(refused.stdout.contains("✗ passes the relevant evals"), "the gate shows the criteria: {}", refused.stdout);
    let diff = sandbox.run(&["playbook", "diff", short]).ok();
    assert!(diff.contains("+name = \"bug_fix_test_first\"") && diff.contains("test_first strategy"), "{diff}");
    let shown = sandbox.run(&["playbook", "show", short]).ok();
    assert!(shown.contains("Left Hand strategy test_first, winner of bug_fix tasks"), "{shown}");
    let active = sandbox.run(&["playbook", "show", &right_hand["hash"].as_str().unwrap()[..12]]).ok();
    assert!(active.contains("measured  3 tasks · 100% completed"), "how its tasks did: {active}");
    assert!(sandbox.run(&["audit", "verify"]).ok().starts_with("ok:"));
}

/// A repository policy with the shipped rules and autonomy thresholds small enough to reach.
fn small_thresholds(sandbox: &Sandbox) {
    let shipped = ambidex::playbooks::DEFAULT_POLICY
        .replace("min_tasks = 20", "min_tasks = 2")
        .replace("failure_streak = 3", "failure_streak = 2");
    sandbox.write("repo/.ambidex/policy.toml", &shipped);
    commit_all(&sandbox.repo(), "policy");
}

fn autonomy(sandbox: &Sandbox, class: &str) -> Value {
    let states = json(sandbox, &["autonomy", "show", "--json"]);
    states.as_array().unwrap().iter().find(|s| s["class"] == class).unwrap().clone()
}

#[test]
fn a_class_that_passes_the_thresholds_is_proposed_granted_by_a_person_and_tightened_by_a_revert() {
    let sandbox = Sandbox::new();
    pagination_repo(&sandbox);
    small_thresholds(&sandbox);
    let script = support::engine::script(&sandbox, "happy", &happy_script());
    let task = task_file(&sandbox, "low");
    for _ in 0..2 {
        let run = run_scripted(&sandbox, &script, &["run", "--task-file", &task, "--approve", "all"]);
        assert_eq!(run.code, 0, "stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    }
    let state = autonomy(&sandbox, "bug_fix");
    assert_eq!(state["level"], "supervised");
    assert_eq!(state["proposed"], "trusted_plan", "two clean tasks pass the thresholds: {state:#}");
    let table = sandbox.run(&["autonomy"]).ok();
    assert!(table.contains("trusted_plan (grant?)"), "{table}");

    let granted = sandbox.run(&["autonomy", "grant", "bug_fix"]).ok();
    assert!(granted.contains("bug_fix is trusted_plan"), "{granted}");
    assert_eq!(autonomy(&sandbox, "bug_fix")["level"], "trusted_plan");

    // A medium-risk task of the class now runs without a plan gate, and records why.
    let medium = task_file(&sandbox, "medium");
    let run = run_scripted(&sandbox, &script, &["run", "--task-file", &medium, "--approve", "all", "--json"]);
    assert_eq!(run.code, 0, "stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    let events: Vec<Value> = run.stdout.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    let triaged = events.iter().find(|e| e["kind"]["type"] == "task_triaged").unwrap();
    assert_eq!(triaged["kind"]["autonomy"], "trusted_plan");
    assert!(!events.iter().any(|e| e["kind"]["type"] == "gate_opened" && e["kind"]["kind"] == "plan"), "no plan gate");

    // The repository reverts one of those changes: the next task finds the revert and the class
    // goes back under every gate.
    let tasks = json(&sandbox, &["task", "list", "--json"]);
    let last = tasks.as_array().unwrap().iter().find(|t| t["id"] == triaged["task"]).unwrap();
    let shown = json(&sandbox, &["task", "show", last["id"].as_str().unwrap(), "--json"]);
    let title = shown["task"]["pr"]["title"].as_str().unwrap().to_owned();
    sandbox.write("repo/NOTES.md", "reverted\n");
    commit_all(&sandbox.repo(), &format!("Revert \"{title}\"\n\nThis reverts the change."));
    let run = run_scripted(&sandbox, &script, &["run", "--task-file", &task, "--approve", "all"]);
    assert_eq!(run.code, 0, "stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    let state = autonomy(&sandbox, "bug_fix");
    assert_eq!(state["level"], "supervised", "{state:#}");
    assert!(state["reason"].as_str().unwrap().contains("was reverted"), "{state:#}");
    let log = sandbox.run(&["audit", "log", "--json"]).ok();
    assert!(log.contains("\"tightened\""), "the tightening is in the audit trail");
}
