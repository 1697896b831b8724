//! `ambidex eval` on fixture repositories with real bugs and real fixes (issue 18): the real
//! binary, real git repositories, real `cargo test` and `pytest` runs. Each candidate must get the
//! right fixed, broken, missing and did-not-run tests, and none of the traps (a test collected at
//! compile time, a changed test, a parametrised pytest test, a deleted test, a filter that
//! matches nothing, a base that does not build) may turn a wrong fix into a pass.

// Test and benchmark code may unwrap and panic: that is how it reports a failure (see clippy.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support {
    pub mod cli;
    pub mod truth;
}

use serde_json::Value;
use support::cli::Sandbox;
use support::truth::*;

/// Runs `ambidex eval … --json` and returns its rows.
fn eval_json(sandbox: &Sandbox, args: &[&str]) -> Vec<Value> {
    let mut all = vec!["eval"];
    all.extend_from_slice(args);
    all.push("--json");
    let stdout = sandbox.run(&all).ok();
    serde_json::from_str::<Value>(&stdout).unwrap().as_array().unwrap().clone()
}

fn row<'a>(rows: &'a [Value], name: &str) -> &'a Value {
    rows.iter().find(|r| r["candidate"] == name).unwrap_or_else(|| panic!("no row {name}: {rows:#?}"))
}

fn names(value: &Value) -> Vec<String> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {value}"))
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

/// Asserts a row's verdict: valid, fixed, broken, missing, did not run, acceptance passed/total,
/// acceptable.
#[allow(clippy::too_many_arguments)]
fn assert_row(
    rows: &[Value],
    name: &str,
    valid: bool,
    fixed: &[&str],
    broken: &[&str],
    missing: &[&str],
    did_not_run: &[&str],
    acceptance: (u64, u64),
    acceptable: bool,
) {
    let r = row(rows, name);
    let shown = serde_json::to_string_pretty(&{
        let mut r = r.clone();
        r["reports"] = Value::Null;
        r
    })
    .unwrap();
    assert_eq!(r["valid"], valid, "{name}: valid\n{shown}");
    assert_eq!(names(&r["fixed"]), fixed, "{name}: fixed\n{shown}");
    assert_eq!(names(&r["broken"]), broken, "{name}: broken\n{shown}");
    assert_eq!(names(&r["missing"]), missing, "{name}: missing\n{shown}");
    assert_eq!(names(&r["did_not_run"]), did_not_run, "{name}: did not run\n{shown}");
    let got = (r["acceptance"]["passed"].as_u64().unwrap(), r["acceptance"]["total"].as_u64().unwrap());
    assert_eq!(got, acceptance, "{name}: acceptance\n{shown}");
    assert_eq!(r["acceptable"], acceptable, "{name}: acceptable\n{shown}");
}

#[test]
fn the_fixture_really_is_a_stale_build_trap_for_cargo_alone() {
    let sandbox = Sandbox::new();
    rust_repo(&sandbox.repo());
    let cargo = |args: &[&str]| {
        let out = std::process::Command::new("cargo")
            .args(args)
            .current_dir(sandbox.repo())
            .env("CARGO_TARGET_DIR", sandbox.path("target"))
            .output()
            .unwrap();
        (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned())
    };
    assert!(cargo(&["test", "--test", "cases"]).0);
    let (path, text) = (RUST_TESTS[0].0, RUST_TESTS[0].1.unwrap());
    sandbox.write(&format!("repo/{path}"), text);
    let (ok, stdout) = cargo(&["test", "--test", "cases", "--", "--exact", "get_int::get_int_trims"]);
    assert!(ok && stdout.contains("running 0 tests"), "cargo reused the stale test binary:\n{stdout}");
}

#[test]
fn rust_fixes_are_judged_against_the_base_with_the_acceptance_tests() {
    let sandbox = Sandbox::new();
    let base = rust_repo(&sandbox.repo());
    let patch = ambidex::workspace::rev_patch(&sandbox.repo(), &base.to_string(), "wrong").unwrap();
    let wrong = sandbox.write("wrong.patch", &patch).display().to_string();
    let stale = patch.replace("text.parse().ok()", "text.parse::<i64>().ok()");
    let stale = sandbox.write("stale.patch", &stale).display().to_string();
    let rows = eval_json(
        &sandbox,
        &[
            "--tests",
            "upstream-fix",
            "--candidate",
            "upstream=upstream-fix",
            "--candidate",
            &format!("wrong={wrong}"),
            "--candidate",
            "deleter=deleter",
            "--candidate",
            "tests-only=upstream-tests",
            "--candidate",
            &format!("stale={stale}"),
            "--validate",
            "cargo test",
        ],
    );
    let acceptance = RUST_ACCEPTANCE;
    // The fix fixes the new test (collected at compile time) and the changed one.
    assert_row(&rows, "upstream", true, &acceptance, &[], &[], &[], (2, 2), true);
    // The wrong fix passes nothing and breaks nothing it did not already fail.
    assert_row(&rows, "wrong", false, &[], &[], &[], &[], (0, 2), false);
    // Breaking `sub` and deleting its test: every test that ran passes, but the test is missing.
    assert_row(&rows, "deleter", true, &acceptance, &[], &["tests::subtracts"], &[], (2, 2), false);
    // The test changes alone break nothing (the changed test is judged by its new expectation).
    assert_row(&rows, "tests-only", false, &[], &[], &[], &[], (0, 2), false);
    // A patch that does not apply to the base is judged as not run, saying why.
    assert_row(&rows, "stale", false, &[], &[], &[], &RUST_ACCEPTANCE, (0, 2), false);
    let why = row(&rows, "stale")["reports"][0]["tests"][0]["output"].as_str().unwrap();
    assert!(why.contains("does not apply to the base"), "{why}");
    let build = row(&rows, "upstream")["build"].as_str().unwrap();
    assert!(build.contains("marked changed"), "the evidence says how the build was made: {build}");

    // The table says the same.
    let text = sandbox
        .run(&["eval", "--tests", "upstream-fix", "--candidate", "deleter=deleter", "--validate", "cargo test"])
        .ok();
    assert!(text.contains("missing: tests::subtracts"), "{text}");
    assert!(text.contains("not acceptable: deletes or skips tests that passed: tests::subtracts"), "{text}");

    // The scratch worktrees and their branches are gone.
    let repo = git2::Repository::open(sandbox.repo()).unwrap();
    assert!(repo.worktrees().unwrap().is_empty());
    let branches: Vec<String> = repo
        .branches(None)
        .unwrap()
        .map(|b| b.unwrap().0.name().unwrap().unwrap().to_owned())
        .filter(|name| name.starts_with("ambidex/"))
        .collect();
    assert!(branches.is_empty(), "{branches:?}");
}

#[test]
fn a_filter_for_the_new_test_runs_it_and_a_filter_that_matches_nothing_never_passes() {
    let sandbox = Sandbox::new();
    rust_repo(&sandbox.repo());
    // Only the acceptance test: it does not exist on the base alone, and the build that ran there
    // must not be reused once the case file is in.
    let only_new = "cargo test --test cases -- --exact get_int::get_int_trims";
    let rows = eval_json(
        &sandbox,
        &[
            "--tests",
            "upstream-fix",
            "--candidate",
            "upstream=upstream-fix",
            "--candidate",
            "wrong=wrong",
            "--validate",
            only_new,
        ],
    );
    assert_row(&rows, "upstream", true, &["get_int::get_int_trims"], &[], &[], &[], (1, 1), true);
    assert_row(&rows, "wrong", false, &[], &[], &[], &[], (0, 1), false);

    // One of two named tests does not exist: the run that found the other is still not a pass.
    let partly = "cargo test --test cases -- --exact get_int::get_int_trims test_get_int";
    let rows =
        eval_json(&sandbox, &["--tests", "upstream-fix", "--candidate", "upstream=upstream-fix", "--validate", partly]);
    assert_row(&rows, "upstream", false, &["get_int::get_int_trims"], &[], &[], &[], (1, 1), false);
    let tests = &row(&rows, "upstream")["reports"][0]["tests"];
    assert!(tests.as_array().unwrap().iter().any(|t| t["name"] == "<did not run: test_get_int>"), "{tests:#}");

    // A filter that matches nothing anywhere: no baseline, nothing scored.
    let stderr = sandbox
        .run(&[
            "eval",
            "--tests",
            "upstream-fix",
            "--candidate",
            "upstream=upstream-fix",
            "--validate",
            "cargo test --test cases -- --exact test_get_int",
        ])
        .fails();
    assert!(stderr.contains("no baseline") && stderr.contains("ran no test"), "{stderr}");

    // An expected test that matches nothing did not run, and is never a pass.
    let rows = eval_json(
        &sandbox,
        &["--candidate", "upstream=upstream-fix", "--expect", "test_get_int", "--validate", "cargo test"],
    );
    assert_row(&rows, "upstream", true, &[], &[], &[], &["test_get_int"], (0, 1), false);
}

#[test]
fn a_base_that_does_not_build_or_run_stops_the_evaluation_with_the_reason() {
    let sandbox = Sandbox::new();
    let base = rust_repo(&sandbox.repo());
    let broken = RUST_LIB.replace("pub fn sub(", "pub fn sub(,");
    commit(&sandbox.repo(), &[("src/lib.rs", Some(&broken))], "broken");
    let stderr = sandbox.run(&["eval", "--candidate", "upstream=upstream-fix", "--validate", "cargo test"]).fails();
    assert!(stderr.contains("no baseline") && stderr.contains("`cargo test` does not build on the base"), "{stderr}");
    let stderr = sandbox
        .run(&[
            "eval",
            "--base",
            &base.to_string(),
            "--candidate",
            "upstream=upstream-fix",
            "--validate",
            "no-such-test-runner-xyz",
        ])
        .fails();
    assert!(stderr.contains("environment failure"), "{stderr}");
}

#[test]
fn python_fixes_are_judged_with_parametrised_node_ids() {
    let Some(python) = python_with_pytest() else { return };
    let sandbox = Sandbox::new();
    python_repo(&sandbox.repo());
    let pytest = format!("{python} -m pytest -q -p no:cacheprovider");
    let rows = eval_json(
        &sandbox,
        &[
            "--tests",
            "upstream-fix",
            "--expect",
            "tests/test_parser.py::test_parse_stream",
            "--candidate",
            "upstream=upstream-fix",
            "--candidate",
            "wrong=wrong",
            "--candidate",
            "deleter=deleter",
            "--candidate",
            "tests-only=upstream-tests",
            "--validate",
            &pytest,
        ],
    );
    let fixed = ["tests/test_parser.py::test_parse_stream[crlf]", "tests/test_textproc.py::test_parse_stream_keeps_cr"];
    // The function-level id covers both parameter cases.
    assert_row(&rows, "upstream", true, &fixed, &[], &[], &[], (2, 2), true);
    // Splitting on CRLF only: the LF case (it passed on the base) now fails, and being an acceptance
    // case it counts against the acceptance tests, not as a regression.
    assert_row(&rows, "wrong", false, &fixed, &[], &[], &[], (1, 2), false);
    assert_row(&rows, "deleter", true, &fixed, &[], &["tests/test_math.py::test_sub"], &[], (2, 2), false);
    assert_row(&rows, "tests-only", false, &[], &[], &[], &[], (0, 2), false);
}
