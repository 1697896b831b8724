//! A test command's human-readable output, read for the one result that must never pass: a run
//! that ran no test. The validation stage runs its commands through the audited `run` tool and
//! sees their text, not structured reports; `cargo test --exact test_get_int` against a binary
//! that lacks the test prints `running 0 tests … 4 filtered out` and exits 0.
//!
//! Recognised: libtest (`running N tests` lines, all zero), pytest (`no tests ran`, `collected 0
//! items`) and `go test` (every package `[no tests to run]` or `[no test files]`). A cut output
//! (the run tool keeps its head and tail) is judged only when what is left is unambiguous: one
//! line that ran tests anywhere means tests ran. [`requested_not_run`] also names a test a
//! `cargo test` command asks for that is not among the tests that ran.

use std::sync::OnceLock;

use regex::Regex;

/// Why `command`'s output says a test it asked for did not run, if it says so: no test ran at
/// all ([`no_tests_ran`]), or a test `cargo test` names (`-- --exact A B`) is not among the
/// `test NAME ... ok|FAILED|ignored` lines (judged only on an output the run tool did not cut).
pub fn requested_not_run(command: &str, output: &str) -> Option<String> {
    if let Some(why) = no_tests_ran(output) {
        return Some(why);
    }
    if output.contains(" bytes cut from the middle of ") {
        return None;
    }
    static RESULT: OnceLock<Option<Regex>> = OnceLock::new();
    let result = RESULT.get_or_init(|| Regex::new(r"(?m)^test (.+?) \.\.\. (ok|FAILED|ignored)").ok()).as_ref()?;
    let ran: Vec<&str> = result.captures_iter(output).filter_map(|c| Some(c.get(1)?.as_str())).collect();
    if ran.is_empty() {
        return None;
    }
    let (filters, exact) = super::instrument::libtest_filters(command);
    let missing: Vec<String> = filters
        .into_iter()
        .filter(|f| {
            !ran.iter().any(|t| if exact { *t == f || t.ends_with(&format!("::{f}")) } else { t.contains(f.as_str()) })
        })
        .collect();
    (!missing.is_empty()).then(|| format!("ran no test named {}: the command asked for it", missing.join(", ")))
}

/// Why the output says no test ran, if it says so.
pub fn no_tests_ran(output: &str) -> Option<String> {
    static RUNNING: OnceLock<Option<Regex>> = OnceLock::new();
    static GO: OnceLock<Option<Regex>> = OnceLock::new();
    let running = RUNNING.get_or_init(|| Regex::new(r"(?m)^running (\d+) tests?\s*$").ok()).as_ref()?;
    let counts: Vec<u64> = running.captures_iter(output).filter_map(|c| c.get(1)?.as_str().parse().ok()).collect();
    if !counts.is_empty() {
        return counts.iter().all(|n| *n == 0).then(|| {
            let filtered = output.lines().find(|l| l.contains("filtered out")).unwrap_or("").trim();
            format!("ran no test: every test binary reported `running 0 tests` ({filtered})")
        });
    }
    let lower = output.to_lowercase();
    if lower.contains("no tests ran") || lower.contains("collected 0 items") {
        return Some("ran no test: pytest collected or selected no test".into());
    }
    let go = GO.get_or_init(|| Regex::new(r"(?m)^(ok|\?|FAIL)\s+\S+.*$").ok()).as_ref()?;
    let packages: Vec<&str> = go.find_iter(output).map(|m| m.as_str()).collect();
    if !packages.is_empty()
        && packages.iter().all(|line| line.contains("[no tests to run]") || line.contains("[no test files]"))
    {
        return Some("ran no test: every Go package reported `[no tests to run]` or `[no test files]`".into());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_libtest_run_of_zero_tests_is_named() {
        let stale = "    Finished `test` profile [unoptimized + debuginfo] target(s) in 0.02s\n     Running tests/all.rs \
                     (target/debug/deps/all-0123456789abcdef)\n\nrunning 0 tests\n\ntest result: ok. 0 passed; 0 failed; \
                     0 ignored; 0 measured; 4 filtered out; finished in 0.00s\n\n";
        let why = no_tests_ran(stale).unwrap();
        assert!(why.contains("running 0 tests") && why.contains("4 filtered out"), "{why}");
        let ran = "running 1 test\ntest cases::acceptance::get_int ... ok\n\nrunning 0 tests\n";
        assert_eq!(no_tests_ran(ran), None, "one binary ran a test");
    }

    #[test]
    fn a_named_test_missing_from_the_run_is_named() {
        let out = "running 1 test\ntest get_int::get_int_trims ... ok\n\ntest result: ok. 1 passed; 0 failed; 3 filtered out\n";
        let command = "cargo test --test cases -- --exact get_int::get_int_trims test_get_int";
        assert_eq!(
            requested_not_run(command, out).as_deref(),
            Some("ran no test named test_get_int: the command asked for it")
        );
        assert_eq!(requested_not_run("cargo test --test cases -- --exact get_int_trims", out), None);
        assert_eq!(requested_not_run("cargo test", out), None);
        let cut = format!("{out}\n[… 10 bytes cut from the middle of 99 bytes of output; narrow …]\n");
        assert_eq!(requested_not_run(command, &cut), None, "a cut output is not judged");
    }

    #[test]
    fn pytest_and_go_runs_of_no_test_are_named_and_plain_output_is_not() {
        assert!(no_tests_ran("===== 4 deselected in 0.01s =====\nno tests ran in 0.01s\n").is_some());
        assert!(
            no_tests_ran("ok  \texample.com/m\t0.002s [no tests to run]\n?   \texample.com/m/cmd\t[no test files]\n")
                .is_some()
        );
        assert_eq!(no_tests_ran("ok  \texample.com/m\t0.002s\n"), None);
        assert_eq!(no_tests_ran("3 passed in 0.02s\n"), None);
        assert_eq!(no_tests_ran("all good\n"), None);
    }
}
