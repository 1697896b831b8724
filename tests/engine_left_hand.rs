//! The Left Hand end to end: the real binary, a real repository, the scripted model playing
//! every agent, and real `cargo test` runs measuring every candidate.

// Test and benchmark code may unwrap and panic: that is how it reports a failure (see clippy.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support {
    pub mod cli;
    pub mod engine;
}

use serde_json::Value;
use support::cli::Sandbox;
use support::engine::*;

/// A high-risk task: triage routes it to both hands.
fn task_file(sandbox: &Sandbox) -> String {
    let text = "+++\ntitle = \"Make page_count round up and accept a zero page size\"\nrisk = \"high\"\nkind = \"bug_fix\"\n\
                acceptance_criteria = [\"page_count(11, 5) returns 3\", \"page_count(3, 0) returns 0 instead of panicking\"]\n\
                validation = [\"cargo test\"]\n+++\n\n`page_count` in src/lib.rs rounds down and divides by zero.\n";
    sandbox.write("task.md", text).display().to_string()
}

fn events(sandbox: &Sandbox, id: &str) -> Vec<Value> {
    let shown: Value = serde_json::from_str(&sandbox.run(&["task", "show", id, "--json"]).ok()).unwrap();
    shown["events"].as_array().unwrap().clone()
}

fn event<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["kind"]["type"] == kind).collect()
}

/// The text of `path` at the tip of `branch` in the sandbox's repository, if it is there.
fn on_branch(sandbox: &Sandbox, branch: &str, path: &str) -> Option<String> {
    let repo = git2::Repository::open(sandbox.repo()).unwrap();
    let tip = repo.find_branch(branch, git2::BranchType::Local).unwrap().get().peel_to_commit().unwrap();
    let entry = tip.tree().unwrap().get_path(std::path::Path::new(path)).ok()?;
    let blob = entry.to_object(&repo).unwrap();
    Some(String::from_utf8(blob.as_blob().unwrap().content().to_vec()).unwrap())
}

fn only_task(sandbox: &Sandbox) -> (String, String) {
    let tasks: Value = serde_json::from_str(&sandbox.run(&["task", "list", "--json"]).ok()).unwrap();
    let id = tasks[0]["id"].as_str().unwrap().to_owned();
    let short = id[id.len() - 8..].to_lowercase();
    (id, short)
}

#[test]
fn a_challenger_that_passes_the_acceptance_tests_is_promoted_over_production() {
    let sandbox = Sandbox::new();
    pagination_repo(&sandbox);
    let script =
        [PLAN.to_owned(), FIX.to_owned(), TEST.to_owned(), left_hand_win(), REVIEW.to_owned(), PR.to_owned()].concat();
    let script = support::engine::script(&sandbox, "left", &script);
    let task = task_file(&sandbox);
    let run = run_scripted(&sandbox, &script, &["run", "--task-file", &task, "--approve", "all"]);
    assert_eq!(run.code, 0, "stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);

    let (id, short) = only_task(&sandbox);
    let events = events(&sandbox, &id);
    let started = event(&events, "exploration_started");
    assert_eq!(started.len(), 1);
    assert_eq!(started[0]["kind"]["trigger"], "route");

    let written = event(&events, "acceptance_tests_written")[0];
    assert_eq!(written["kind"]["failing_on_base"].as_array().unwrap().len(), 2, "{written}");
    assert!(written["kind"]["passing_on_base"].as_array().unwrap().is_empty());

    let recorded = event(&events, "evidence_recorded")[0];
    let rows = recorded["kind"]["matrix"]["rows"].as_array().unwrap();
    let row = |label: &str| rows.iter().find(|r| r["candidate"] == label).unwrap().clone();
    assert_eq!(row("c1")["acceptance_passed"], 2, "{rows:#?}");
    assert_eq!(row("c1")["validation_ok"], true);
    assert_eq!(row("production")["acceptance_passed"], 1);
    assert!(row("c2")["broken"].as_array().unwrap().iter().any(|t| t == "tests::exact_pages"), "{:#?}", row("c2"));
    assert!(row("production")["broken"].as_array().unwrap().is_empty());
    let matrix: ambidex::protocol::EvidenceMatrix = serde_json::from_value(recorded["kind"]["matrix"].clone()).unwrap();
    assert_eq!(ambidex::eval::rank(&matrix), ["c1", "production", "c2"], "a candidate that breaks a test ranks last");

    let hash = recorded["kind"]["hash"].as_str().unwrap();
    let decided = event(&events, "gate_decided");
    let opened = event(&events, "gate_opened");
    let promotion = opened.iter().find(|e| e["kind"]["kind"] == "promotion").unwrap();
    assert_eq!(promotion["kind"]["evidence_hash"], hash, "the gate shows the matrix it decides on");
    assert_eq!(promotion["kind"]["options"][0], "adopt c1");
    assert!(decided.iter().any(|e| e["kind"]["gate"] == promotion["kind"]["gate"]));

    let adopted = event(&events, "change_adopted")[0];
    assert_eq!(adopted["kind"]["choice"], "adopt c1");
    assert_eq!(adopted["kind"]["matrix_hash"], hash);
    let hunks = adopted["kind"]["hunks"].as_array().unwrap();
    assert!(hunks.iter().any(|h| h["candidate"] == "c1" && h["file"] == "src/lib.rs"), "{hunks:#?}");
    assert!(hunks.iter().any(|h| h["candidate"] == "eval" && h["file"] == "tests/acceptance.rs"), "{hunks:#?}");

    // Production re-validated the adopted change before its PR.
    let adopted_at = adopted["seq"].as_u64().unwrap();
    assert!(
        event(&events, "validation_ran")
            .iter()
            .any(|e| e["seq"].as_u64().unwrap() > adopted_at && e["kind"]["result"]["ok"] == true)
    );

    let read = |branch: &str, path: &str| on_branch(&sandbox, branch, path).unwrap();
    let production = format!("ambidex/{short}/production");
    assert!(read(&production, "src/lib.rs").contains("if size == 0"), "production adopted c1's change");
    assert!(read(&production, "tests/acceptance.rs").contains("accept_zero_page_size"));
    assert!(read(&format!("ambidex/{short}/c2"), "src/lib.rs").contains("items / size + 1"), "c2 kept on its branch");

    let doc = sandbox.run(&["pr", "show", &short, "--markdown"]).ok();
    assert!(doc.contains("## Alternatives") && doc.contains("The Left Hand explored this task"), "{doc}");
    assert!(doc.contains("| c1 | test_first |") && doc.contains("| adopted |"), "{doc}");
    assert!(doc.contains("lost: ") && doc.contains("breaks tests::exact_pages"), "{doc}");
    assert!(sandbox.run(&["audit", "verify"]).ok().starts_with("ok:"));
}

#[test]
fn a_challenger_on_a_model_of_its_own_is_played_by_it_and_named_in_the_matrix() {
    let sandbox = Sandbox::new();
    pagination_repo(&sandbox);
    // The first model plays every agent but the challenger: were c1 asked of it, its script
    // would run out and c1 would have no change.
    let first = [
        PLAN.to_owned(),
        FIX.to_owned(),
        TEST.to_owned(),
        eval_designer(ACCEPTANCE, &["accept_partial_last_page", "accept_zero_page_size"]),
        analyst("production"),
        analyst("c1"),
        synthesis("adopt", "c1"),
        REVIEW.to_owned(),
        PR.to_owned(),
    ]
    .concat();
    let first = support::engine::script(&sandbox, "first", &first);
    let second = support::engine::script(&sandbox, "second", &challenger("c1", GUARDED));
    let task = task_file(&sandbox);
    let second_provider = format!("providers.second.script={}", second.display());
    let run = run_scripted(
        &sandbox,
        &first,
        &[
            "-c",
            "providers.second.kind=scripted",
            "-c",
            &second_provider,
            "-c",
            r#"engine.challengers=[{ strategy = "test_first", provider = "second" }]"#,
            "run",
            "--task-file",
            &task,
            "--approve",
            "all",
        ],
    );
    assert_eq!(run.code, 0, "stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    let (id, short) = only_task(&sandbox);
    let events = events(&sandbox, &id);
    let started = event(&events, "exploration_started")[0];
    assert_eq!(started["kind"]["candidates"][0]["provider"], "second", "{started:#}");
    let rows = event(&events, "evidence_recorded")[0]["kind"]["matrix"]["rows"].as_array().unwrap().clone();
    let model = |label: &str| rows.iter().find(|r| r["candidate"] == label).unwrap()["model"].clone();
    assert_eq!(model("c1"), "second", "{rows:#?}");
    assert_eq!(model("production"), "script");
    let shown = sandbox.run(&["task", "show", &short]).ok();
    assert!(shown.contains("test_first · second"), "{shown}");
}

#[test]
fn when_every_candidate_fails_the_task_escalates_to_a_human() {
    let sandbox = Sandbox::new();
    pagination_repo(&sandbox);
    let script = [
        PLAN.to_owned(),
        FIX.to_owned(),
        TEST.to_owned(),
        eval_designer(ACCEPTANCE, &["accept_partial_last_page", "accept_zero_page_size"]),
        challenger("c1", OFF_BY_ONE),
        challenger("c2", r"    items * 0 / size\n"),
        analyst("production"),
        analyst("c1"),
        analyst("c2"),
        synthesis("reject_all", "c1"),
    ]
    .concat();
    let script = support::engine::script(&sandbox, "fail", &script);
    let task = task_file(&sandbox);
    let run = run_scripted(&sandbox, &script, &["run", "--task-file", &task, "--approve", "none"]);
    assert_eq!(run.code, 2, "parked at the plan gate\n{}\n{}", run.stdout, run.stderr);
    let (id, short) = only_task(&sandbox);
    let approve_open = |kind: &str| {
        let gates: Value = serde_json::from_str(&sandbox.run(&["gate", "list", "--json"]).ok()).unwrap();
        let gate = gates.as_array().unwrap().iter().find(|g| g["kind"] == kind).unwrap_or_else(|| panic!("{gates:#}"));
        let gate = gate["gate"].as_str().unwrap().to_owned();
        sandbox.run(&["gate", "approve", &gate]).ok();
        gate
    };
    approve_open("plan");
    let run = run_scripted(&sandbox, &script, &["run", "--task", &short, "--approve", "none"]);
    assert_eq!(run.code, 2, "parked at the promotion gate\n{}\n{}", run.stdout, run.stderr);
    let gates: Value = serde_json::from_str(&sandbox.run(&["gate", "list", "--json"]).ok()).unwrap();
    assert_eq!(gates[0]["kind"], "promotion");
    assert_eq!(gates[0]["options"][0], "reject all", "{gates:#}");
    approve_open("promotion");

    let run = run_scripted(&sandbox, &script, &["run", "--task", &short, "--approve", "none"]);
    assert_eq!(run.code, 2, "escalated\n{}\n{}", run.stdout, run.stderr);
    let gates: Value = serde_json::from_str(&sandbox.run(&["gate", "list", "--json"]).ok()).unwrap();
    assert_eq!(gates[0]["kind"], "escalation", "{gates:#}");
    assert!(gates[0]["reason"].as_str().unwrap().contains("every candidate falls short"), "{gates:#}");
    let events = events(&sandbox, &id);
    let rows = event(&events, "evidence_recorded")[0]["kind"]["matrix"]["rows"].as_array().unwrap().clone();
    assert!(rows.iter().all(|r| r["acceptance_passed"].as_u64().unwrap() < 2), "{rows:#?}");
}

#[test]
fn acceptance_tests_that_pass_on_the_base_commit_are_flagged_weak_at_a_gate() {
    let sandbox = Sandbox::new();
    pagination_repo(&sandbox);
    let weak = r"\n#[test]\nfn accept_exact_pages() {\n    assert_eq!(page_count(10, 5), 2);\n}\n";
    let script =
        [PLAN.to_owned(), FIX.to_owned(), TEST.to_owned(), eval_designer(weak, &["accept_exact_pages"])].concat();
    let script = support::engine::script(&sandbox, "weak", &script);
    let task = task_file(&sandbox);
    let run = run_scripted(&sandbox, &script, &["run", "--task-file", &task, "--approve", "none"]);
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    let (id, short) = only_task(&sandbox);
    let gates: Value = serde_json::from_str(&sandbox.run(&["gate", "list", "--json"]).ok()).unwrap();
    let plan = gates[0]["gate"].as_str().unwrap().to_owned();
    sandbox.run(&["gate", "approve", &plan]).ok();
    let run = run_scripted(&sandbox, &script, &["run", "--task", &short, "--approve", "none"]);
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    let gates: Value = serde_json::from_str(&sandbox.run(&["gate", "list", "--json"]).ok()).unwrap();
    assert_eq!(gates[0]["kind"], "breaker", "{gates:#}");
    let reason = gates[0]["reason"].as_str().unwrap();
    assert!(reason.contains("weak_acceptance_tests") && reason.contains("accept_exact_pages"), "{reason}");
    let events = events(&sandbox, &id);
    let written = event(&events, "acceptance_tests_written")[0];
    assert_eq!(written["kind"]["passing_on_base"][0], "accept_exact_pages");
}

#[test]
fn repeated_test_failures_start_exploration_and_agents_without_answers_fail_safe() {
    let sandbox = Sandbox::new();
    pagination_repo(&sandbox);
    // The implementer never fixes anything, and the script has no Left Hand turns at all: every
    // Left Hand agent fails, and the evidence alone decides.
    let lazy =
        "[[turn]]\nrole = \"implementer\"\n[[turn.tool_call]]\nname = \"finish\"\narguments = { summary = \"done\" }\n";
    let test =
        "[[turn]]\nrole = \"tester\"\n[[turn.tool_call]]\nname = \"finish\"\narguments = { summary = \"none\" }\n";
    let text = [PLAN, &lazy.repeat(2), &test.repeat(2)].concat();
    let script = support::engine::script(&sandbox, "lazy", &text);
    let run = run_scripted(
        &sandbox,
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
            "--validate",
            "grep -q div_ceil src/lib.rs",
        ],
    );
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    let (id, _) = only_task(&sandbox);
    let events = events(&sandbox, &id);
    let started = event(&events, "exploration_started");
    assert_eq!(started[0]["kind"]["trigger"], "repeated_test_failures", "{:#}", started[0]);
    let finished = event(&events, "candidate_finished");
    assert_eq!(finished.len(), 2);
    assert!(
        finished
            .iter()
            .all(|e| e["kind"]["ok"] == false && e["kind"]["summary"].as_str().unwrap().contains("model failed"))
    );
    let synthesis = event(&events, "synthesis_submitted")[0];
    assert_eq!(synthesis["kind"]["synthesis"]["recommendation"]["action"], "reject_all");
    let gates: Value = serde_json::from_str(&sandbox.run(&["gate", "list", "--json"]).ok()).unwrap();
    assert_eq!(gates[0]["kind"], "promotion", "{gates:#}");
    assert_eq!(gates[0]["options"][0], "reject all");
}

/// c2 documents the crate and brings a test of its own that production's change fails.
const C2_DOCUMENTS: &str = r##"
[[turn]]
role = "challenger"
candidate = "c2"
[[turn.tool_call]]
name = "edit_file"
arguments = { path = "Cargo.toml", old = "edition = \"2021\"\n", new = "edition = \"2021\"\ndescription = \"Page arithmetic\"\n" }

[[turn]]
role = "challenger"
candidate = "c2"
[[turn.tool_call]]
name = "write_file"
arguments = { path = "tests/empty_pages.rs", content = "#[test]\nfn no_items_no_size() {\n    assert_eq!(pagination::page_count(0, 0), 0);\n}\n" }

[[turn]]
role = "challenger"
candidate = "c2"
[[turn.tool_call]]
name = "finish"
arguments = { summary = "documented, with a test" }
"##;

#[test]
fn a_combined_adoption_keeps_the_provenance_of_every_hunk_and_tests_cross_candidates() {
    let sandbox = Sandbox::new();
    pagination_repo(&sandbox);
    let combine = r#"
[[turn]]
role = "synthesis"
[[turn.tool_call]]
name = "submit_recommendation"
arguments = { action = "combine", hunks = [{ candidate = "c1", file = "src/lib.rs", hunk = "*" }, { candidate = "c2", file = "Cargo.toml", hunk = "*" }], reasons = [{ text = "c1 fixes the code, c2 documents the crate", rows = ["c1", "c2"] }] }
"#;
    let script = [
        PLAN.to_owned(),
        FIX.to_owned(),
        TEST.to_owned(),
        eval_designer(ACCEPTANCE, &["accept_partial_last_page", "accept_zero_page_size"]),
        challenger("c1", GUARDED),
        C2_DOCUMENTS.to_owned(),
        analyst("production"),
        analyst("c1"),
        analyst("c2"),
        combine.to_owned(),
        REVIEW.to_owned(),
        PR.to_owned(),
    ]
    .concat();
    let script = support::engine::script(&sandbox, "combine", &script);
    let task = task_file(&sandbox);
    let run = run_scripted(&sandbox, &script, &["run", "--task-file", &task, "--approve", "all"]);
    assert_eq!(run.code, 0, "stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    let (id, short) = only_task(&sandbox);
    let events = events(&sandbox, &id);

    let recorded = event(&events, "evidence_recorded");
    assert_eq!(recorded.len(), 2, "the combination is measured before the gate opens");
    let rows = recorded[1]["kind"]["matrix"]["rows"].as_array().unwrap().clone();
    let row = |label: &str| rows.iter().find(|r| r["candidate"] == label).unwrap().clone();
    let combined = row("combined");
    assert_eq!(combined["strategy"], "combination of c1 + c2", "{combined:#}");
    assert_eq!((combined["validation_ok"].clone(), combined["acceptance_passed"].clone()), (true.into(), 2.into()));
    let synthesis = event(&events, "synthesis_submitted").last().unwrap()["kind"]["synthesis"].clone();
    assert_eq!(synthesis["matrix_hash"], recorded[1]["kind"]["hash"], "checked against the combination's row");
    assert!(synthesis["flags"].as_array().is_none_or(Vec::is_empty), "{synthesis:#}");
    let production_failed = row("production")["differential_failed"].clone();
    assert_eq!(production_failed, serde_json::json!(["c2: no_items_no_size"]), "{rows:#?}");
    assert_eq!(row("c1")["differential_failed"], serde_json::json!([]), "c1 handles an empty page size");

    let adopted = event(&events, "change_adopted")[0];
    assert_eq!(adopted["kind"]["choice"], "combine 2 hunks");
    let sources: Vec<(String, String)> = adopted["kind"]["hunks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| (h["candidate"].as_str().unwrap().to_owned(), h["file"].as_str().unwrap().to_owned()))
        .collect();
    for expected in [("c1", "src/lib.rs"), ("c2", "Cargo.toml"), ("eval", "tests/acceptance.rs")] {
        assert!(sources.contains(&(expected.0.to_owned(), expected.1.to_owned())), "{sources:?}");
    }
    let production = format!("ambidex/{short}/production");
    let read = |path: &str| on_branch(&sandbox, &production, path);
    assert!(read("src/lib.rs").unwrap().contains("if size == 0"));
    assert!(read("Cargo.toml").unwrap().contains("Page arithmetic"));
    assert_eq!(read("tests/empty_pages.rs"), None, "not picked");
    let doc = sandbox.run(&["pr", "show", &short, "--markdown"]).ok();
    assert!(doc.contains("Provenance of the adopted hunks") && doc.contains("from c2"), "{doc}");
}

#[test]
fn a_combination_that_loses_what_its_parts_passed_is_measured_flagged_and_left_to_a_human() {
    let sandbox = Sandbox::new();
    pagination_repo(&sandbox);
    // Only c2's documentation is picked: the fix c1 and production bring is left out.
    let combine = r#"
[[turn]]
role = "synthesis"
[[turn.tool_call]]
name = "submit_recommendation"
arguments = { action = "combine", hunks = [{ candidate = "c2", file = "Cargo.toml", hunk = "*" }], reasons = [{ text = "c2's documentation is all the crate needs", rows = ["c2"] }] }
"#;
    let script = [
        PLAN.to_owned(),
        FIX.to_owned(),
        TEST.to_owned(),
        eval_designer(ACCEPTANCE, &["accept_partial_last_page", "accept_zero_page_size"]),
        challenger("c1", GUARDED),
        C2_DOCUMENTS.to_owned(),
        analyst("production"),
        analyst("c1"),
        analyst("c2"),
        combine.to_owned(),
    ]
    .concat();
    let script = support::engine::script(&sandbox, "combine-loses", &script);
    let task = task_file(&sandbox);
    let run = run_scripted(&sandbox, &script, &["run", "--task-file", &task, "--approve", "all"]);
    assert_eq!(run.code, 2, "a flagged combination waits for a human:\n{}\n{}", run.stdout, run.stderr);
    let (id, _) = only_task(&sandbox);
    let events = events(&sandbox, &id);
    let recorded = event(&events, "evidence_recorded");
    let rows = recorded.last().unwrap()["kind"]["matrix"]["rows"].as_array().unwrap().clone();
    let combined = rows.iter().find(|r| r["candidate"] == "combined").expect("the combination has its own row");
    assert_eq!(combined["acceptance_passed"], 0, "{combined:#}");
    let synthesis = event(&events, "synthesis_submitted").last().unwrap()["kind"]["synthesis"].clone();
    let flags = synthesis["flags"].to_string();
    assert!(flags.contains("contradicts the evidence") && flags.contains("c1"), "{synthesis:#}");
    let gates: Value = serde_json::from_str(&sandbox.run(&["gate", "list", "--json"]).ok()).unwrap();
    assert_eq!(gates[0]["kind"], "promotion", "{gates:#}");
    assert_eq!(gates[0]["options"][0], "combine 1 hunks");
    assert!(!gates[0]["options"].to_string().contains("adopt combined"), "{gates:#}");
    let shown = sandbox.run(&["gate", "show", gates[0]["gate"].as_str().unwrap()]).ok();
    assert!(shown.contains("combined") && shown.contains("combination of c2"), "{shown}");
}

/// The synthesis keeps production with a claim the matrix contradicts: production fails an
/// acceptance test that c1 passes.
const FALSE_SYNTHESIS: &str = r#"
[[turn]]
role = "synthesis"
[[turn.tool_call]]
name = "submit_recommendation"
arguments = { action = "keep_production", reasons = [{ text = "keep production: production passes the acceptance tests and is the smallest change", rows = ["production"] }] }
"#;

/// The tester pins the fix with a regression test file of production's own.
const TEST_FILE: &str = r##"
[[turn]]
role = "tester"
[[turn.tool_call]]
name = "write_file"
arguments = { path = "tests/regression.rs", content = "#[test]\nfn partial_last_page_counts() {\n    assert_eq!(pagination::page_count(11, 5), 3);\n}\n" }

[[turn]]
role = "tester"
[[turn.tool_call]]
name = "finish"
arguments = { summary = "added tests/regression.rs" }
"##;

#[test]
fn a_synthesis_that_contradicts_the_matrix_is_flagged_everywhere_and_never_chosen_automatically() {
    let sandbox = Sandbox::new();
    pagination_repo(&sandbox);
    // Policy would choose on its own: promotions are not gated.
    let policy = ambidex::playbooks::DEFAULT_POLICY.replace("promotion = true", "promotion = false");
    assert_ne!(policy, ambidex::playbooks::DEFAULT_POLICY);
    sandbox.write("repo/.ambidex/policy.toml", &policy);
    let script = [
        PLAN.to_owned(),
        FIX.to_owned(),
        TEST_FILE.to_owned(),
        eval_designer(ACCEPTANCE, &["accept_partial_last_page", "accept_zero_page_size"]),
        challenger("c1", GUARDED),
        challenger("c2", OFF_BY_ONE),
        analyst("production"),
        analyst("c1"),
        analyst("c2"),
        FALSE_SYNTHESIS.to_owned(),
        REVIEW.to_owned(),
        PR.to_owned(),
    ]
    .concat();
    let script = support::engine::script(&sandbox, "false", &script);
    let task = task_file(&sandbox);
    // Even `--approve all` leaves a flagged recommendation to a human.
    let run = run_scripted(&sandbox, &script, &["run", "--task-file", &task, "--approve", "all"]);
    assert_eq!(run.code, 2, "parked at the promotion gate\n{}\n{}", run.stdout, run.stderr);
    let (id, short) = only_task(&sandbox);

    let events = events(&sandbox, &id);
    let synthesis = &event(&events, "synthesis_submitted")[0]["kind"]["synthesis"];
    let flags: Vec<&str> = synthesis["flags"].as_array().unwrap().iter().map(|f| f.as_str().unwrap()).collect();
    assert!(
        flags.iter().any(|f| f.contains("recommends `keep production`, but c1 has better evidence than production")),
        "{flags:#?}"
    );
    assert!(
        flags.iter().any(|f| f.contains("the synthesis says \"production passes the acceptance tests")),
        "{flags:#?}"
    );
    assert!(event(&events, "change_adopted").is_empty(), "nothing was adopted without a human");

    let gates: Value = serde_json::from_str(&sandbox.run(&["gate", "list", "--json"]).ok()).unwrap();
    let gate = &gates[0];
    assert_eq!(gate["kind"], "promotion", "{gates:#}");
    assert!(gate["reason"].as_str().unwrap().contains("⚠ contradicts the evidence"), "{gate:#}");
    assert!(gate["matrix"].as_str().unwrap().contains("c1: valid yes, accept 2/2, broken 0"), "{gate:#}");
    let gate_id = gate["gate"].as_str().unwrap().to_owned();

    let shown = sandbox.run(&["gate", "show", &gate_id[gate_id.len() - 6..]]).ok();
    for expected in [
        "Which change goes to production?",
        "1. keep production  (recommended)",
        "adopt c1",
        "CANDIDATE",
        "OTHERS' TESTS",
        "production acceptance failed: accept_zero_page_size",
        "⚠ contradicts the evidence",
    ] {
        assert!(shown.contains(expected), "`{expected}` missing from gate show:\n{shown}");
    }
    let task_shown = sandbox.run(&["task", "show", &short]).ok();
    assert!(task_shown.contains("evidence matrix") && task_shown.contains("OTHERS' TESTS"), "{task_shown}");
    assert!(task_shown.contains("⚠ contradicts the evidence"), "{task_shown}");
    let json: Value = serde_json::from_str(&sandbox.run(&["gate", "show", &gate_id, "--json"]).ok()).unwrap();
    assert_eq!(json["matrix"]["columns"][0], "CANDIDATE");
    assert_eq!(json["matrix"]["rows"].as_array().unwrap().len(), 3, "{json:#}");
    assert!(!json["flags"].as_array().unwrap().is_empty(), "{json:#}");

    // Over the API, as a remote client sees it.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let engine = std::sync::Arc::new(ambidex::orchestrator::Engine::open(&sandbox.store()).unwrap());
        let config = ambidex::config::ApiConfig { enabled: true, port: 0, max_body_bytes: 1 << 20 };
        let state = sandbox.store().parent().unwrap().to_owned();
        let handle = ambidex::api::serve(engine, &config, &state, None).await.unwrap();
        let token = std::fs::read_to_string(handle.token_path()).unwrap();
        let task: Value = reqwest::Client::new()
            .get(format!("{}/v1/tasks/{id}", handle.base_url()))
            .bearer_auth(token.trim())
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let flags = &task["exploration"]["synthesis"]["flags"];
        assert!(flags[0].as_str().unwrap().starts_with("contradicts the evidence"), "{task:#}");
    });

    // The human chooses c1; production's own regression test stays, and the PR says what the
    // adoption did with each file of the production change.
    sandbox.run(&["gate", "approve", &gate_id, "--choose", "adopt c1"]).ok();
    let run = run_scripted(&sandbox, &script, &["run", "--task", &short, "--approve", "all"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let events = self::events(&sandbox, &id);
    let adopted = &event(&events, "change_adopted")[0]["kind"];
    assert_eq!(adopted["choice"], "adopt c1");
    let production = format!("ambidex/{short}/production");
    assert!(on_branch(&sandbox, &production, "src/lib.rs").unwrap().contains("if size == 0"), "c1's fix");
    let regression = on_branch(&sandbox, &production, "tests/regression.rs");
    assert!(regression.is_some_and(|t| t.contains("partial_last_page_counts")), "production's test was dropped");
    let doc = sandbox.run(&["pr", "show", &short, "--markdown"]).ok();
    assert!(doc.contains("- `tests/regression.rs`: kept (production's test; adopt c1 does not change it)"), "{doc}");
    assert!(doc.contains("- `src/lib.rs`: replaced (adopt c1 has its own version)"), "{doc}");
    assert!(doc.contains("- ⚠ contradicts the evidence"), "the PR keeps the flags: {doc}");
}

#[test]
fn a_candidate_that_broke_a_test_becomes_an_exhibit_and_a_later_one_that_brings_it_back_is_marked() {
    let sandbox = Sandbox::new();
    pagination_repo(&sandbox);
    let script =
        [PLAN.to_owned(), FIX.to_owned(), TEST.to_owned(), left_hand_win(), REVIEW.to_owned(), PR.to_owned()].concat();
    let task = task_file(&sandbox);
    let first = support::engine::script(&sandbox, "first", &script);
    let run = run_scripted(&sandbox, &first, &["run", "--task-file", &task, "--approve", "all"]);
    assert_eq!(run.code, 0, "stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    let (first_task, _) = only_task(&sandbox);

    // c2's off-by-one broke a test that passed on the base: a pending exhibit, not yet evidence.
    let listed: Value = serde_json::from_str(&sandbox.run(&["museum", "list", "--json"]).ok()).unwrap();
    let exhibits = listed.as_array().unwrap();
    assert_eq!(exhibits.len(), 1, "{listed:#}");
    let exhibit = &exhibits[0];
    assert_eq!((exhibit["status"].as_str(), exhibit["source"]["candidate"].as_str()), (Some("pending"), Some("c2")));
    assert_eq!(exhibit["reproducer"]["tests"], serde_json::json!(["tests::exact_pages"]));
    assert_eq!(exhibit["reproducer"]["command"], "cargo test");
    assert_eq!(exhibit["files"], serde_json::json!(["src/lib.rs"]));
    assert!(exhibit["bug_patch"].as_str().unwrap().contains("items / size + 1"));
    let id = exhibit["id"].as_str().unwrap();
    let short = &id[id.len() - 8..];

    let kept = sandbox.run(&["museum", "accept", short]).ok();
    assert!(kept.contains("is kept"), "{kept}");
    let verified = sandbox.run(&["museum", "verify", short]).ok();
    assert!(verified.contains("reproduces: c2's change broke tests::exact_pages"), "{verified}");

    // A later task whose challenger makes the same mistake: the matrix marks it, and the same
    // failure is not proposed twice.
    let second = support::engine::script(&sandbox, "second", &script);
    let run = run_scripted(&sandbox, &second, &["run", "--task-file", &task, "--approve", "all"]);
    assert_eq!(run.code, 0, "stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    let tasks: Value = serde_json::from_str(&sandbox.run(&["task", "list", "--json"]).ok()).unwrap();
    let later = tasks.as_array().unwrap().iter().map(|t| t["id"].as_str().unwrap()).find(|t| *t != first_task);
    let events = events(&sandbox, later.unwrap());
    let recorded = events.iter().rev().find(|e| e["kind"]["type"] == "evidence_recorded").unwrap();
    let matrix: ambidex::protocol::EvidenceMatrix = serde_json::from_value(recorded["kind"]["matrix"].clone()).unwrap();
    let c2 = matrix.row("c2").unwrap();
    assert_eq!(c2.museum.len(), 1, "{:#?}", c2.museum);
    assert_eq!(
        c2.museum[0].outcome,
        ambidex::protocol::ExhibitOutcome::Broken { tests: vec!["tests::exact_pages".into()] }
    );
    assert_eq!(ambidex::protocol::EvidenceColumn::Museum.text(c2), "0/1");
    assert!(c2.shortcomings().iter().any(|s| s.starts_with("brings back museum exhibits")), "{:?}", c2.shortcomings());
    assert_eq!(ambidex::protocol::EvidenceColumn::Museum.text(matrix.row("c1").unwrap()), "1/1");
    let listed: Value = serde_json::from_str(&sandbox.run(&["museum", "list", "--all", "--json"]).ok()).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed:#}");
}
