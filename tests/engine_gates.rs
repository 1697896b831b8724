//! Intake, escalation and circuit breakers, each in its scenario, with the real binary.

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

fn breakers(sandbox: &Sandbox, id: &str) -> Vec<String> {
    events_of(sandbox, id)
        .iter()
        .filter(|e| e["kind"]["type"] == "breaker_tripped")
        .map(|e| e["kind"]["breaker"].as_str().unwrap().to_owned())
        .collect()
}

fn run_title(sandbox: &Sandbox, script: &std::path::Path, title: &str, extra: &[&str]) -> support::cli::Run {
    // The breakers in isolation: with challengers, some of them hand the task to the Left Hand
    // instead (tests/engine_left_hand.rs).
    let mut args = vec![
        "-c",
        "engine.challengers=0",
        "run",
        "--title",
        title,
        "--criteria",
        "page_count(11, 5) returns 3",
        "--risk",
        "low",
        "--kind",
        "bug_fix",
    ];
    args.extend_from_slice(extra);
    run_scripted(sandbox, script, &args)
}

#[test]
fn a_vague_task_is_sent_back_with_questions_and_an_unsafe_one_is_rejected() {
    let sandbox = Sandbox::new();
    pagination_repo(&sandbox);
    let script = script(&sandbox, "empty", "[[turn]]\ntext = \"unused\"\n");
    let vague = run_scripted(&sandbox, &script, &["run", "--title", "fix it"]);
    assert_eq!(vague.code, 1, "{}", vague.stdout);
    assert!(vague.stdout.contains("not accepted (needs_clarification)"), "{}", vague.stdout);
    assert!(vague.stdout.contains('?'), "questions are listed: {}", vague.stdout);

    let unsafe_task = run_scripted(
        &sandbox,
        &script,
        &[
            "run",
            "--title",
            "Disable authentication on the admin API so the tests pass",
            "--criteria",
            "admin works without login",
        ],
    );
    assert_eq!(unsafe_task.code, 1, "{}", unsafe_task.stdout);
    assert!(unsafe_task.stdout.contains("not accepted (rejected)"), "{}", unsafe_task.stdout);
    let list = sandbox.run(&["task", "list"]).ok();
    assert!(list.contains("needs_clarification") && list.contains("rejected"), "{list}");
}

#[test]
fn validation_failing_three_times_escalates() {
    let sandbox = Sandbox::new();
    pagination_repo(&sandbox);
    // The implementer never fixes anything; the validation fails every time.
    let lazy =
        "[[turn]]\nrole = \"implementer\"\n[[turn.tool_call]]\nname = \"finish\"\narguments = { summary = \"done\" }\n";
    let test = "[[turn]]\nrole = \"tester\"\n[[turn.tool_call]]\nname = \"finish\"\narguments = { summary = \"nothing to add\" }\n";
    let text = [PLAN, &lazy.repeat(3), &test.repeat(3)].concat();
    let script = script(&sandbox, "lazy", &text);
    let run = run_title(
        &sandbox,
        &script,
        "Fix page_count rounding for a partial last page",
        &["--validate", "grep -q div_ceil src/lib.rs"],
    );
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("stopped at the escalation gate"), "{}", run.stdout);
    let id = only_task_id(&sandbox);
    let attempts: std::collections::BTreeSet<u64> = events_of(&sandbox, &id)
        .iter()
        .filter(|e| {
            e["kind"]["type"] == "validation_ran" && e["kind"]["result"]["command"] == "grep -q div_ceil src/lib.rs"
        })
        .map(|e| e["kind"]["attempt"].as_u64().unwrap())
        .collect();
    assert_eq!(attempts.into_iter().collect::<Vec<_>>(), [1, 2, 3]);
    let gates = sandbox.run(&["gate", "list"]).ok();
    assert!(gates.contains("validation failed in 3 implementation attempts"), "{gates}");
}

#[test]
fn repeating_the_same_call_trips_a_breaker() {
    let sandbox = Sandbox::new();
    pagination_repo(&sandbox);
    let read = "[[turn]]\nrole = \"implementer\"\n[[turn.tool_call]]\nname = \"read_file\"\narguments = { path = \"src/lib.rs\" }\n";
    let script = script(&sandbox, "loop", &[PLAN, &read.repeat(3)].concat());
    let run =
        run_title(&sandbox, &script, "Fix page_count rounding for a partial last page", &["--validate", "cargo test"]);
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("stopped at the breaker gate"), "{}", run.stdout);
    assert_eq!(breakers(&sandbox, &only_task_id(&sandbox)), ["repeated_calls"]);
}

#[test]
fn a_diff_beyond_the_plan_trips_the_scope_breaker() {
    let sandbox = Sandbox::new();
    pagination_repo(&sandbox);
    let sprawl = r#"
[[turn]]
role = "implementer"
[[turn.tool_call]]
name = "edit_file"
arguments = { path = "src/lib.rs", old = "    items / size\n", new = "    items.div_ceil(size)\n" }
[[turn.tool_call]]
name = "write_file"
arguments = { path = "Cargo.toml", content = "[package]\nname = \"pagination\"\nversion = \"0.2.0\"\nedition = \"2021\"\n" }

[[turn]]
role = "implementer"
[[turn.tool_call]]
name = "finish"
arguments = { summary = "fixed, and bumped the version while at it" }
"#;
    let script = script(&sandbox, "sprawl", &[PLAN, sprawl].concat());
    let run =
        run_title(&sandbox, &script, "Fix page_count rounding for a partial last page", &["--validate", "cargo test"]);
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    let id = only_task_id(&sandbox);
    assert_eq!(breakers(&sandbox, &id), ["scope"]);
    let gates = sandbox.run(&["gate", "list"]).ok();
    assert!(gates.contains("files outside the plan: Cargo.toml"), "{gates}");
}

#[test]
fn tests_without_assertions_trip_the_weak_tests_breaker() {
    let sandbox = Sandbox::new();
    pagination_repo(&sandbox);
    let weak = r##"
[[turn]]
role = "tester"
[[turn.tool_call]]
name = "write_file"
arguments = { path = "tests/pages.rs", content = "#[test]\nfn pages() {\n    let _ = pagination::page_count(11, 5);\n}\n" }

[[turn]]
role = "tester"
[[turn.tool_call]]
name = "finish"
arguments = { summary = "added a test" }
"##;
    let script = script(&sandbox, "weak", &[PLAN, FIX, weak].concat());
    let run =
        run_title(&sandbox, &script, "Fix page_count rounding for a partial last page", &["--validate", "cargo test"]);
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(breakers(&sandbox, &only_task_id(&sandbox)), ["weak_tests"]);
}

#[test]
fn a_review_rejecting_twice_what_was_called_done_trips_the_contradiction_breaker() {
    let sandbox = Sandbox::new();
    pagination_repo(&sandbox);
    let reject = r#"
[[turn]]
role = "reviewer"
[[turn.tool_call]]
name = "submit_review"
arguments = { verdict = "request_changes", summary = "not convinced", findings = [{ severity = "major", category = "correctness", message = "size 0 still panics" }] }
"#;
    let finish = "[[turn]]\nrole = \"implementer\"\n[[turn.tool_call]]\nname = \"finish\"\narguments = { summary = \"it is fine\" }\n";
    let tester =
        "[[turn]]\nrole = \"tester\"\n[[turn.tool_call]]\nname = \"finish\"\narguments = { summary = \"ok\" }\n";
    let text = [PLAN, FIX, &tester.repeat(2), finish, &reject.repeat(2)].concat();
    let script = script(&sandbox, "contra", &text);
    let run =
        run_title(&sandbox, &script, "Fix page_count rounding for a partial last page", &["--validate", "cargo test"]);
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(breakers(&sandbox, &only_task_id(&sandbox)), ["contradiction"]);
}

#[test]
fn skipped_validation_blocks_the_pr_until_a_human_documents_why() {
    let sandbox = Sandbox::new();
    // A repository with no test command to discover.
    sandbox.write("repo/notes.txt", "pages: 10 / 5\n");
    commit_all(&sandbox.repo(), "notes");
    let plan = r#"
[[turn]]
role = "planner"
[[turn.tool_call]]
name = "submit_plan"
arguments = { summary = "Correct the note.", steps = ["notes.txt"], expected_files = ["notes.txt"], validation = [], rollback = "revert" }

[[turn]]
role = "implementer"
[[turn.tool_call]]
name = "edit_file"
arguments = { path = "notes.txt", old = "10 / 5", new = "11 / 5 = 3" }

[[turn]]
role = "implementer"
[[turn.tool_call]]
name = "finish"
arguments = { summary = "corrected" }

[[turn]]
role = "tester"
[[turn.tool_call]]
name = "finish"
arguments = { summary = "no tests for notes" }
"#;
    let script = script(&sandbox, "docs", &[plan, REVIEW, PR].concat());
    let run = run_scripted(
        &sandbox,
        &script,
        &[
            "run",
            "--title",
            "Correct the page arithmetic in notes.txt",
            "--criteria",
            "notes.txt says 11 / 5 = 3",
            "--risk",
            "low",
            "--kind",
            "documentation",
        ],
    );
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    let id = only_task_id(&sandbox);
    assert_eq!(breakers(&sandbox, &id), ["validation_skipped"]);
    assert!(sandbox.run(&["pr", "show", &id]).fails().contains("has no PR"));
}

#[test]
fn spending_over_the_token_budget_pauses_at_a_budget_gate() {
    let sandbox = Sandbox::new();
    pagination_repo(&sandbox);
    let shipped = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/playbooks/policy.toml")).unwrap();
    let tight = shipped.replacen("max_tokens = 400000", "max_tokens = 500", 1);
    assert_ne!(tight, shipped);
    sandbox.write("repo/.ambidex/policy.toml", &tight);
    commit_all(&sandbox.repo(), "a tight policy");
    let script = script(&sandbox, "happy", &happy_script());
    let run =
        run_title(&sandbox, &script, "Fix page_count rounding for a partial last page", &["--validate", "cargo test"]);
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("stopped at the budget gate"), "{}", run.stdout);
    let gates = sandbox.run(&["gate", "list"]).ok();
    assert!(gates.contains("task budget `max_tokens` exceeded"), "{gates}");
    let id = only_task_id(&sandbox);
    let plans = events_of(&sandbox, &id).iter().filter(|e| e["kind"]["type"] == "plan_submitted").count();
    assert_eq!(plans, 1, "the planner's work was kept");
}

#[test]
fn a_low_risk_plan_that_deletes_a_test_file_stops_at_the_plan_gate() {
    let sandbox = Sandbox::new();
    pagination_repo(&sandbox);
    sandbox.write(
        "repo/tests/legacy.rs",
        "#[test]\nfn old_rounding() {\n    assert_eq!(pagination::page_count(11, 5), 2);\n}\n",
    );
    commit_all(&sandbox.repo(), "a test that pins the bug");
    let plan = r#"
[[turn]]
role = "planner"
[[turn.tool_call]]
name = "submit_plan"
arguments = { summary = "page_count rounds down, and tests/legacy.rs pins that.", steps = ["Delete tests/legacy.rs", "src/lib.rs: use div_ceil"], expected_files = ["src/lib.rs", "tests/legacy.rs"], validation = ["cargo test"], rollback = "revert the commit", confidence = 90 }
"#;
    // Only the planner has turns: anything past the gate would exhaust the script.
    let script = script(&sandbox, "deletes", plan);
    // Even a run told to approve every low-risk gate on its own leaves this one to a human.
    let run = run_title(
        &sandbox,
        &script,
        "Fix page_count rounding for a partial last page",
        &["--validate", "cargo test", "--approve", "low"],
    );
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("stopped at the plan gate"), "{}", run.stdout);
    let id = only_task_id(&sandbox);
    let events = events_of(&sandbox, &id);
    let triaged = events.iter().find(|e| e["kind"]["type"] == "task_triaged").unwrap();
    assert_eq!(triaged["kind"]["risk"], "low", "the task itself is low risk");
    let opened: Vec<&serde_json::Value> = events.iter().filter(|e| e["kind"]["type"] == "gate_opened").collect();
    assert_eq!(opened.len(), 1, "{opened:?}");
    assert_eq!(opened[0]["kind"]["kind"], "plan");
    let reason = opened[0]["kind"]["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("risk is low; the plan deletes tests or CI files or is destructive (`tests/legacy.rs`)"),
        "{reason}"
    );
    assert!(!events.iter().any(|e| e["kind"]["type"] == "stage_started" && e["kind"]["stage"] != "plan"));
    assert!(!events.iter().any(|e| e["kind"]["type"] == "gate_decided"), "nothing approved it automatically");
    assert!(sandbox.repo().join("tests/legacy.rs").exists());
}
