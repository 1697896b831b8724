use std::path::Path;

use super::*;

fn inst(command: &str) -> Instrumented {
    instrument(command, Path::new("/r"))
}

#[test]
fn cargo_test_gets_libtest_json_and_the_bootstrap_variable() {
    let out = inst("cargo test");
    assert_eq!(out.framework, TestFramework::Libtest);
    assert_eq!(out.command, "cargo test --no-fail-fast -- -Z unstable-options --format json --report-time");
    assert_eq!(out.env, vec![("RUSTC_BOOTSTRAP".to_owned(), "1".to_owned())]);
    assert_eq!(out.report_file, None);
    assert!(out.files.is_empty());
}

#[test]
fn an_existing_separator_is_merged_and_quiet_and_format_are_dropped() {
    let out = inst("cargo test --workspace -q -- --quiet --format pretty --test-threads 2");
    assert_eq!(
        out.command,
        "cargo test --no-fail-fast --workspace -- -Z unstable-options --format json --report-time --test-threads 2"
    );
    let out = inst("cargo --quiet test --quiet --no-fail-fast -- -Z unstable-options --nocapture");
    assert_eq!(out.command, "cargo test --no-fail-fast -- -Z unstable-options --format json --report-time --nocapture");
}

#[test]
fn only_the_cargo_part_of_a_chain_is_instrumented() {
    let out = inst("cd 'my crate' && RUST_LOG=debug cargo +stable test --lib 2>&1; echo done");
    assert_eq!(
        out.command,
        "cd 'my crate' && RUST_LOG=debug cargo +stable test --no-fail-fast --lib 2>&1 -- -Z unstable-options --format json --report-time; echo done"
    );
    // `cargo test` twice: both report on stdout.
    let out = inst("cargo test --lib && cargo test --doc");
    assert_eq!(out.command.matches("--format json").count(), 2);
    // Quotes hide control operators.
    let out = inst("echo 'a && cargo test'");
    assert_eq!(out.framework, TestFramework::ExitCode);
    assert_eq!(out.command, "echo 'a && cargo test'");
}

#[test]
fn nextest_writes_junit_through_a_tool_configuration() {
    let out = inst("cargo nextest run --workspace -- filter");
    assert_eq!(out.framework, TestFramework::Nextest);
    assert_eq!(
        out.command,
        "cargo nextest run --no-fail-fast --tool-config-file ambidex:/r/nextest-ambidex.toml --profile ambidex-eval --workspace -- filter"
    );
    assert_eq!(out.report_file.as_deref(), Some(Path::new("/r/nextest-junit.xml")));
    let (path, text) = &out.files[0];
    assert_eq!(path, Path::new("/r/nextest-ambidex.toml"));
    let parsed: toml::Value = toml::from_str(text).unwrap();
    assert_eq!(parsed["profile"]["ambidex-eval"]["junit"]["path"].as_str(), Some("/r/nextest-junit.xml"));
    assert!(out.env.is_empty());
}

#[test]
fn nextest_keeps_the_profile_the_command_names() {
    for command in ["cargo nextest run -P ci", "cargo nextest run --profile=ci", "cargo nextest r --profile ci"] {
        let out = inst(command);
        assert!(!out.command.contains(NEXTEST_PROFILE), "{command}: {}", out.command);
        let parsed: toml::Value = toml::from_str(&out.files[0].1).unwrap();
        assert!(parsed["profile"]["ci"]["junit"]["path"].is_str(), "{command}");
    }
}

#[test]
fn pytest_in_its_spellings_gets_a_junit_report() {
    for command in ["pytest -x tests", "python3 -m pytest -q", "uv run pytest", "cd py && python -m pytest"] {
        let out = inst(command);
        assert_eq!(out.framework, TestFramework::Pytest, "{command}");
        assert_eq!(out.command, format!("{command} --junitxml=/r/pytest-junit.xml"));
        assert_eq!(out.report_file.as_deref(), Some(Path::new("/r/pytest-junit.xml")));
    }
    let out = instrument("pytest", Path::new("/a dir"));
    assert_eq!(out.command, "pytest '--junitxml=/a dir/pytest-junit.xml'");
}

#[test]
fn go_test_gets_json_once() {
    assert_eq!(inst("go test ./...").command, "go test -json ./...");
    assert_eq!(inst("go test -json ./...").command, "go test -json ./...");
    assert_eq!(inst("go test ./...").framework, TestFramework::GoTest);
}

#[test]
fn anything_else_is_judged_by_its_exit_code() {
    for command in ["make test", "npm test", "cargo build", "go vet ./...", "python script.py"] {
        let out = inst(command);
        assert_eq!(out.framework, TestFramework::ExitCode, "{command}");
        assert_eq!(out.command, command);
        assert!(out.env.is_empty() && out.report_file.is_none());
    }
}

#[test]
fn the_first_framework_decides() {
    let out = inst("pytest && cargo test");
    assert_eq!(out.framework, TestFramework::Pytest);
    assert!(!out.command.contains("--format json"));
    let out = inst("pytest a && pytest b");
    assert_eq!(out.command.matches("--junitxml").count(), 1);
}

#[test]
fn quoting() {
    assert_eq!(shell_quote("plain/path-1.xml"), "plain/path-1.xml");
    assert_eq!(shell_quote("it's"), "'it'\\''s'");
    assert_eq!(shell_quote(""), "''");
}

#[test]
fn libtest_filters_are_the_positional_arguments_of_cargo_and_libtest() {
    assert_eq!(libtest_filters("cargo test"), (Vec::<String>::new(), false));
    assert_eq!(libtest_filters("cargo test --test cases -- --exact a::b c"), (vec!["a::b".into(), "c".into()], true));
    assert_eq!(
        libtest_filters("cd x && cargo test -p core --features f parse -- --test-threads 1 --skip slow"),
        (vec!["parse".into()], false)
    );
    assert_eq!(libtest_filters("pytest -k x"), (Vec::<String>::new(), false));
}
