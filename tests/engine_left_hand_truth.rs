//! The Left Hand judged on a real fix (issue 18): the Rust fixture whose test binary collects
//! `tests/cases/*.rs` at compile time, production with a wrong fix, a correct challenger and one
//! that breaks `sub()` and deletes its test. The matrix must name what each fixed and what went
//! missing, and the wrong fix must not reach "PR ready" when production is re-validated with the
//! acceptance tests (the original report: a stale test binary ran without the new test).

// Test and benchmark code may unwrap and panic: that is how it reports a failure (see clippy.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support {
    pub mod cli;
    pub mod engine;
    pub mod truth;
}

use serde_json::Value;
use support::cli::Sandbox;
use support::engine::{run_scripted, script};

const PLAN: &str = r#"
[[turn]]
role = "planner"
[[turn.tool_call]]
name = "submit_plan"
arguments = { summary = "get_int must accept padded numbers.", steps = ["src/lib.rs: trim"], expected_files = ["src/lib.rs"], validation = ["cargo test"], rollback = "revert", confidence = 90 }
"#;

/// Production's wrong fix: only leading blanks are trimmed.
const WRONG_FIX: &str = r#"
[[turn]]
role = "implementer"
[[turn.tool_call]]
name = "edit_file"
arguments = { path = "src/lib.rs", old = "    text.parse().ok()\n", new = "    text.trim_start().parse().ok()\n" }

[[turn]]
role = "implementer"
[[turn.tool_call]]
name = "finish"
arguments = { summary = "get_int trims." }
"#;

const NO_TEST: &str = r#"
[[turn]]
role = "tester"
[[turn.tool_call]]
name = "finish"
arguments = { summary = "the existing tests cover it" }
"#;

/// A new case file (collected at compile time) and a changed test.
const DESIGNER: &str = r##"
[[turn]]
role = "eval_designer"
[[turn.tool_call]]
name = "write_file"
arguments = { path = "tests/cases/get_int.rs", content = "#[test]\nfn get_int_trims() {\n    assert_eq!(calc::get_int(\" 42 \"), Some(42));\n}\n" }

[[turn]]
role = "eval_designer"
[[turn.tool_call]]
name = "edit_file"
arguments = { path = "tests/cases/parse.rs", old = "get_int(\" 1 \"), None)", new = "get_int(\" 1\"), Some(1))" }

[[turn]]
role = "eval_designer"
[[turn.tool_call]]
name = "submit_tests"
arguments = { files = ["tests/cases/get_int.rs", "tests/cases/parse.rs"], tests = ["get_int::get_int_trims"], summary = "padded numbers parse" }
"##;

fn challenger(label: &str, edits: &[(&str, &str)]) -> String {
    let mut out = String::new();
    for (old, new) in edits {
        out.push_str(&format!(
            "\n[[turn]]\nrole = \"challenger\"\ncandidate = \"{label}\"\n[[turn.tool_call]]\nname = \"edit_file\"\n\
             arguments = {{ path = \"src/lib.rs\", old = \"{old}\", new = \"{new}\" }}\n"
        ));
    }
    out.push_str(&format!(
        "\n[[turn]]\nrole = \"challenger\"\ncandidate = \"{label}\"\n[[turn.tool_call]]\nname = \"finish\"\n\
         arguments = {{ summary = \"{label} done\" }}\n"
    ));
    out
}

fn analyst(label: &str) -> String {
    format!(
        "\n[[turn]]\nrole = \"failure_analyst\"\ncandidate = \"{label}\"\n[[turn.tool_call]]\nname = \"submit_findings\"\n\
         arguments = {{ findings = [], summary = \"nothing found\" }}\n"
    )
}

/// The synthesis agent wrongly keeps production: the re-validation must catch it.
const KEEP_PRODUCTION: &str = r#"
[[turn]]
role = "synthesis"
[[turn.tool_call]]
name = "submit_recommendation"
arguments = { action = "keep_production", reasons = [{ text = "production is smallest", rows = ["production"] }] }
"#;

fn names(value: &Value) -> Vec<&str> {
    value.as_array().unwrap_or_else(|| panic!("not a list: {value}")).iter().map(|v| v.as_str().unwrap()).collect()
}

#[test]
fn the_left_hand_judges_a_real_fix_and_a_wrong_fix_never_reaches_pr_ready() {
    let sandbox = Sandbox::new();
    support::truth::rust_repo(&sandbox.repo());
    let trim = (r"    text.parse().ok()\n", r"    text.trim().parse().ok()\n");
    let break_sub = (r"    a - b\n", r"    a - b + 1\n");
    let delete_test = (r"    #[test]\n    fn subtracts() {\n        assert_eq!(sub(5, 3), 2);\n    }\n\n", "");
    let text = [
        PLAN.to_owned(),
        WRONG_FIX.to_owned(),
        NO_TEST.to_owned(),
        DESIGNER.to_owned(),
        challenger("c1", &[trim]),
        challenger("c2", &[trim, break_sub, delete_test]),
        analyst("production"),
        analyst("c1"),
        analyst("c2"),
        KEEP_PRODUCTION.to_owned(),
    ]
    .concat();
    let script = script(&sandbox, "truth", &text);
    let task = sandbox.write(
        "task.md",
        "+++\ntitle = \"Make get_int accept padded numbers\"\nrisk = \"high\"\nkind = \"bug_fix\"\n\
         acceptance_criteria = [\"get_int(\\\" 42 \\\") is Some(42)\"]\nvalidation = [\"cargo test\"]\n+++\n\n\
         `get_int` in src/lib.rs rejects numbers with blanks around them.\n",
    );
    let run = run_scripted(&sandbox, &script, &["run", "--task-file", &task.display().to_string(), "--approve", "all"]);

    let tasks: Value = serde_json::from_str(&sandbox.run(&["task", "list", "--json"]).ok()).unwrap();
    let id = tasks[0]["id"].as_str().unwrap().to_owned();
    let shown: Value = serde_json::from_str(&sandbox.run(&["task", "show", &id, "--json"]).ok()).unwrap();
    let events = shown["events"].as_array().unwrap();
    let of = |kind: &'static str| events.iter().filter(move |e| e["kind"]["type"] == kind);

    let written = of("acceptance_tests_written").next().unwrap_or_else(|| panic!("{events:#?}"));
    assert_eq!(names(&written["kind"]["tests"]), ["get_int::get_int_trims", "parse::parse_padded"], "{written:#}");
    assert_eq!(names(&written["kind"]["failing_on_base"]), ["get_int::get_int_trims", "parse::parse_padded"]);

    let recorded = of("evidence_recorded").next().unwrap();
    let rows = recorded["kind"]["matrix"]["rows"].as_array().unwrap();
    let row = |label: &str| rows.iter().find(|r| r["candidate"] == label).unwrap_or_else(|| panic!("{rows:#?}"));
    let both = ["get_int::get_int_trims", "parse::parse_padded"];
    let production = row("production");
    assert_eq!(names(&production["fixed"]), ["parse::parse_padded"], "{production:#}");
    assert_eq!(names(&production["acceptance_failed"]), ["get_int::get_int_trims"]);
    assert_eq!(production["validation_ok"], false);
    let c1 = row("c1");
    assert_eq!(names(&c1["fixed"]), both, "{c1:#}");
    assert_eq!((c1["acceptance_passed"].as_u64(), c1["validation_ok"].as_bool()), (Some(2), Some(true)));
    let c2 = row("c2");
    assert_eq!(names(&c2["fixed"]), both, "{c2:#}");
    assert_eq!(names(&c2["missing"]), ["tests::subtracts"], "deleting a test is shown: {c2:#}");
    for r in rows {
        assert!(r["broken"].as_array().unwrap().is_empty(), "nothing broke what passed on the baseline: {r:#}");
        assert!(r["build"].as_str().unwrap().contains("marked changed"), "{r:#}");
    }
    let matrix: ambidex::protocol::EvidenceMatrix = serde_json::from_value(recorded["kind"]["matrix"].clone()).unwrap();
    let acceptable: Vec<&str> = matrix.rows.iter().filter(|r| r.acceptable()).map(|r| r.candidate.as_str()).collect();
    assert_eq!(acceptable, ["c1"], "the test-deleting fix is not acceptable without a human");

    // Keeping production contradicts the matrix (c1 passes what production fails): the synthesis
    // is flagged and the promotion left to a human, even under `--approve all`.
    assert_eq!(run.code, 2, "parked at the promotion gate\n{}\n{}", run.stdout, run.stderr);
    let synthesis = &of("synthesis_submitted").next().unwrap()["kind"]["synthesis"];
    assert!(!synthesis["flags"].as_array().unwrap().is_empty(), "{synthesis:#}");
    assert_eq!(of("change_adopted").count(), 0);
    let gates: Value = serde_json::from_str(&sandbox.run(&["gate", "list", "--json"]).ok()).unwrap();
    let gate = gates[0]["gate"].as_str().unwrap();
    sandbox.run(&["gate", "approve", gate, "--choose", "keep production"]).ok();
    let run = run_scripted(&sandbox, &script, &["run", "--task", &id, "--approve", "all"]);
    assert_ne!(run.code, 0, "the wrong fix must not reach PR ready\nstdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    let shown: Value = serde_json::from_str(&sandbox.run(&["task", "show", &id, "--json"]).ok()).unwrap();
    let events = shown["events"].as_array().unwrap();
    let of = |kind: &'static str| events.iter().filter(move |e| e["kind"]["type"] == kind);

    // Production kept its wrong fix and took the acceptance tests: re-validated on a fresh build,
    // the new case runs and fails.
    let adopted = of("change_adopted").next().unwrap()["seq"].as_u64().unwrap();
    let after: Vec<&Value> = of("validation_ran").filter(|e| e["seq"].as_u64().unwrap() > adopted).collect();
    assert!(!after.is_empty(), "production was validated again");
    assert!(after.iter().all(|e| e["kind"]["result"]["ok"] == false), "{after:#?}");
    assert!(after[0]["kind"]["result"]["summary"].as_str().unwrap().contains("get_int_trims"), "{:#}", after[0]);
    assert_eq!(of("pr_drafted").count(), 0, "no PR for a wrong fix");
}

fn task_events(sandbox: &Sandbox) -> Vec<Value> {
    let tasks: Value = serde_json::from_str(&sandbox.run(&["task", "list", "--json"]).ok()).unwrap();
    let id = tasks[0]["id"].as_str().unwrap().to_owned();
    let shown: Value = serde_json::from_str(&sandbox.run(&["task", "show", &id, "--json"]).ok()).unwrap();
    shown["events"].as_array().unwrap().clone()
}

fn count(events: &[Value], kind: &str) -> usize {
    events.iter().filter(|e| e["kind"]["type"] == kind).count()
}

#[test]
fn a_validation_filter_that_matches_nothing_fails_and_exploration_does_not_start_from_it() {
    let sandbox = Sandbox::new();
    support::truth::rust_repo(&sandbox.repo());
    let filter = "cargo test --test cases -- --exact test_get_int";
    let plan = PLAN.replace(r#"validation = ["cargo test"]"#, &format!("validation = [\"{filter}\"]"));
    let fix = WRONG_FIX.replace("trim_start()", "trim()");
    let script = script(&sandbox, "filter", &[plan, fix, NO_TEST.to_owned()].concat());
    let task = sandbox.write(
        "task.md",
        &format!(
            "+++\ntitle = \"Make get_int accept padded numbers\"\nrisk = \"high\"\nkind = \"bug_fix\"\n\
             acceptance_criteria = [\"get_int(\\\" 42 \\\") is Some(42)\"]\nvalidation = [\"{filter}\"]\n+++\n\n\
             `get_int` in src/lib.rs rejects numbers with blanks around them.\n"
        ),
    );
    let run = run_scripted(&sandbox, &script, &["run", "--task-file", &task.display().to_string(), "--approve", "all"]);
    assert_ne!(run.code, 0, "stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    let events = task_events(&sandbox);
    let ran: Vec<&Value> = events.iter().filter(|e| e["kind"]["type"] == "validation_ran").collect();
    assert!(!ran.is_empty(), "{events:#?}");
    for event in &ran {
        let result = &event["kind"]["result"];
        assert_eq!(result["exit_code"], 0, "cargo itself exited 0: {result:#}");
        assert_eq!(result["ok"], false, "0 tests ran: {result:#}");
        assert!(result["summary"].as_str().unwrap().starts_with("FAILED: ran no test"), "{result:#}");
    }
    assert_eq!(count(&events, "exploration_started"), 0, "no exploration from a validation that ran nothing");
    assert_eq!(count(&events, "pr_drafted"), 0);
}

/// A dependency that cannot be fetched offline is the environment's failure, not the code's: the
/// setup step stops at the network gate before any agent runs; with the network allowed and the
/// fetch still failing (no such crate, or no route to the registry here), at the environment gate
/// with the cause. No implementation attempt, no exploration.
#[test]
fn a_base_whose_dependencies_cannot_be_fetched_stops_before_any_agent() {
    let sandbox = Sandbox::new();
    support::truth::rust_repo(&sandbox.repo());
    // A dependency that cannot be fetched: the base cannot build here, whatever the candidates do.
    let manifest = support::truth::RUST_BASE[0]
        .1
        .replace("[dependencies]\n", "[dependencies]\nno-such-crate-ambidex-xyz = \"1\"\n");
    support::truth::commit(&sandbox.repo(), &[("Cargo.toml", Some(&manifest))], "a dependency");
    let lazy =
        "[[turn]]\nrole = \"implementer\"\n[[turn.tool_call]]\nname = \"finish\"\narguments = { summary = \"done\" }\n";
    let test =
        "[[turn]]\nrole = \"tester\"\n[[turn.tool_call]]\nname = \"finish\"\narguments = { summary = \"none\" }\n";
    let text = [PLAN, &lazy.repeat(2), &test.repeat(2)].concat();
    let script = script(&sandbox, "offline", &text);
    let args = [
        "run",
        "--title",
        "Make get_int accept padded numbers",
        "--criteria",
        "get_int(\" 42 \") is Some(42)",
        "--risk",
        "low",
        "--kind",
        "bug_fix",
        "--validate",
        "cargo test",
    ];
    let run = run_scripted(&sandbox, &script, &args);
    assert_ne!(run.code, 0, "stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    let events = task_events(&sandbox);
    let gate = events.iter().find(|e| e["kind"]["type"] == "gate_opened").unwrap_or_else(|| panic!("{events:#?}"));
    assert_eq!(gate["kind"]["kind"], "network", "{gate:#}");
    let reason = gate["kind"]["reason"].as_str().unwrap();
    assert!(reason.contains("`cargo fetch`") && reason.contains("index.crates.io"), "{reason}");
    assert_eq!(count(&events, "stage_started"), 0, "no agent runs before setup");

    let gates: serde_json::Value = serde_json::from_str(&sandbox.run(&["gate", "list", "--json"]).ok()).unwrap();
    sandbox.run(&["gate", "approve", gates[0]["gate"].as_str().unwrap()]).ok();
    let id = events[0]["task"].as_str().unwrap().to_owned();
    let run = run_scripted(&sandbox, &script, &["run", "--task", &id[id.len() - 8..]]);
    assert_ne!(run.code, 0, "stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    let events = task_events(&sandbox);
    let gate = events.iter().rev().find(|e| e["kind"]["type"] == "gate_opened").unwrap();
    assert_eq!(gate["kind"]["kind"], "environment", "{gate:#}");
    let reason = gate["kind"]["reason"].as_str().unwrap();
    assert!(reason.contains("the setup step failed") && reason.contains("`cargo fetch`"), "{reason}");
    assert_eq!(count(&events, "stage_started"), 0, "no implementation attempt is spent on the environment");
    assert_eq!(count(&events, "exploration_started"), 0, "no exploration against a base that cannot build here");
    let last = events.iter().rev().find(|e| e["kind"]["type"] == "status_changed").unwrap();
    assert_eq!(last["kind"]["to"], "awaiting_gate", "{last:#}");
}

/// The Python fixture through the Left Hand: a parametrised acceptance test named by its function,
/// a changed test, production's change that fixes nothing, a fix and a test-deleting fix.
#[test]
fn the_left_hand_judges_python_candidates_by_their_pytest_node_ids() {
    let Some(python) = support::truth::python_with_pytest() else { return };
    let sandbox = Sandbox::new();
    support::truth::python_repo(&sandbox.repo());
    // `python3 -m pytest` is what the command policy allows: the Python with pytest goes first on PATH.
    let bin = std::path::Path::new(&python).parent().filter(|p| !p.as_os_str().is_empty());
    let path = match bin {
        Some(bin) => format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default()),
        None => std::env::var("PATH").unwrap_or_default(),
    };
    let pytest = "python3 -m pytest -q -p no:cacheprovider";
    let plan = PLAN.replace(r#"validation = ["cargo test"]"#, &format!("validation = [\"{pytest}\"]"));
    let noop = r#"
[[turn]]
role = "implementer"
[[turn.tool_call]]
name = "edit_file"
arguments = { path = "textproc.py", old = "def parse_stream(text):\n", new = "def parse_stream(text):\n    # Lines of a stream.\n" }

[[turn]]
role = "implementer"
[[turn.tool_call]]
name = "finish"
arguments = { summary = "documented" }
"#;
    let designer = r##"
[[turn]]
role = "eval_designer"
[[turn.tool_call]]
name = "write_file"
arguments = { path = "tests/test_parser.py", content = "import pytest\n\nfrom textproc import parse_stream\n\n\n@pytest.mark.parametrize(\"text\", [\"a\\nb\", \"a\\r\\nb\"], ids=[\"lf\", \"crlf\"])\ndef test_parse_stream(text):\n    assert parse_stream(text) == [\"a\", \"b\"]\n" }

[[turn]]
role = "eval_designer"
[[turn.tool_call]]
name = "edit_file"
arguments = { path = "tests/test_textproc.py", old = "[\"a\\r\", \"b\"]", new = "[\"a\", \"b\"]" }

[[turn]]
role = "eval_designer"
[[turn.tool_call]]
name = "submit_tests"
arguments = { files = ["tests/test_parser.py", "tests/test_textproc.py"], tests = ["tests/test_parser.py::test_parse_stream"], summary = "CRLF and LF streams" }
"##;
    let split = r#"    return text.split(\"\\n\")\n"#;
    let fixed = r"    return text.splitlines()\n";
    let py_challenger = |label: &str, edits: &[(&str, &str, &str)]| {
        let mut out = String::new();
        for (file, old, new) in edits {
            out.push_str(&format!(
                "\n[[turn]]\nrole = \"challenger\"\ncandidate = \"{label}\"\n[[turn.tool_call]]\nname = \"edit_file\"\n\
                 arguments = {{ path = \"{file}\", old = \"{old}\", new = \"{new}\" }}\n"
            ));
        }
        out.push_str(&format!(
            "\n[[turn]]\nrole = \"challenger\"\ncandidate = \"{label}\"\n[[turn.tool_call]]\nname = \"finish\"\n\
             arguments = {{ summary = \"{label} done\" }}\n"
        ));
        out
    };
    let text = [
        plan,
        noop.to_owned(),
        NO_TEST.to_owned(),
        designer.to_owned(),
        py_challenger("c1", &[("textproc.py", split, fixed)]),
        py_challenger(
            "c2",
            &[
                ("textproc.py", split, fixed),
                ("textproc.py", r"    return a - b\n", r"    return a - b + 1\n"),
                ("tests/test_math.py", r"def test_sub():\n    assert sub(5, 3) == 2\n", ""),
            ],
        ),
        analyst("production"),
        analyst("c1"),
        analyst("c2"),
        KEEP_PRODUCTION.to_owned(),
    ]
    .concat();
    let script = script(&sandbox, "python", &text);
    let task = sandbox.write(
        "task.md",
        &format!(
            "+++\ntitle = \"Split CRLF streams into lines\"\nrisk = \"high\"\nkind = \"bug_fix\"\n\
             acceptance_criteria = [\"parse_stream drops the CR of CRLF line ends\"]\nvalidation = [\"{pytest}\"]\n+++\n\n\
             `parse_stream` in textproc.py keeps the CR of CRLF line ends.\n"
        ),
    );
    let mut args: Vec<String> = support::engine::scripted(&script);
    args.extend(["run", "--task-file", &task.display().to_string(), "--approve", "none"].map(str::to_owned));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    // Parked at the first gate this run may not approve; the matrix is recorded before the promotion gate.
    let mut run = sandbox.run_with(&args, &[("PATH", &path)]);
    for _ in 0..4 {
        let gates: Value = serde_json::from_str(&sandbox.run(&["gate", "list", "--json"]).ok()).unwrap();
        let Some(gate) = gates.as_array().unwrap().first() else { break };
        if gate["kind"] == "promotion" {
            break;
        }
        sandbox.run(&["gate", "approve", gate["gate"].as_str().unwrap()]).ok();
        let tasks: Value = serde_json::from_str(&sandbox.run(&["task", "list", "--json"]).ok()).unwrap();
        let id = tasks[0]["id"].as_str().unwrap().to_owned();
        let mut again: Vec<String> = support::engine::scripted(&script);
        again.extend(["run", "--task", &id, "--approve", "none"].map(str::to_owned));
        let again: Vec<&str> = again.iter().map(String::as_str).collect();
        run = sandbox.run_with(&again, &[("PATH", &path)]);
    }
    let events = task_events(&sandbox);
    let recorded = events
        .iter()
        .find(|e| e["kind"]["type"] == "evidence_recorded")
        .unwrap_or_else(|| panic!("no matrix\nstdout:\n{}\nstderr:\n{}\n{events:#?}", run.stdout, run.stderr));
    let matrix = &recorded["kind"]["matrix"];
    let acceptance = ["tests/test_parser.py::test_parse_stream", "tests/test_textproc.py::test_parse_stream_keeps_cr"];
    assert_eq!(names(&matrix["acceptance_tests"]), acceptance, "{matrix:#}");
    let rows = matrix["rows"].as_array().unwrap();
    let row = |label: &str| rows.iter().find(|r| r["candidate"] == label).unwrap_or_else(|| panic!("{rows:#?}"));
    let fixed = ["tests/test_parser.py::test_parse_stream[crlf]", "tests/test_textproc.py::test_parse_stream_keeps_cr"];
    let production = row("production");
    assert!(names(&production["fixed"]).is_empty() && names(&production["broken"]).is_empty(), "{production:#}");
    assert_eq!(production["acceptance_passed"], 0, "{production:#}");
    let c1 = row("c1");
    assert_eq!(names(&c1["fixed"]), fixed, "{c1:#}");
    assert_eq!((c1["acceptance_passed"].as_u64(), c1["validation_ok"].as_bool()), (Some(2), Some(true)), "{c1:#}");
    let c2 = row("c2");
    assert_eq!(names(&c2["fixed"]), fixed, "{c2:#}");
    assert_eq!(names(&c2["missing"]), ["tests/test_math.py::test_sub"], "{c2:#}");
    assert!(names(&c2["broken"]).is_empty(), "{c2:#}");
}
