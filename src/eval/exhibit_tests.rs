use super::*;
use crate::eval::compare::tests::report;
use crate::eval::parse::NO_TESTS;

use TestStatus::{Failed as F, Passed as P};

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

fn state(tests: &[(&str, TestStatus)]) -> StateRun {
    StateRun { reports: vec![report("cargo test", tests)], rewritten: Vec::new() }
}

#[test]
fn tests_that_fail_with_the_bug_and_pass_with_the_fix_reproduce_it() {
    let broken = state(&[("old", P), ("sign_extends", F), ("other_new", F)]);
    let fixed = state(&[("old", P), ("sign_extends", P), ("other_new", F)]);
    let found = judge(&[], &broken, Some(&fixed)).unwrap();
    assert_eq!(found.failing, ["sign_extends"], "a test failing either way is not the bug's");
    assert!(found.detail.contains("pass with the fix"), "{}", found.detail);
    assert_eq!(judge(&names(&["sign_extends"]), &broken, Some(&fixed)).unwrap().failing, ["sign_extends"]);
}

#[test]
fn tests_that_pass_before_the_fix_do_not_reproduce_it() {
    let both = state(&[("sign_extends", P)]);
    let err = judge(&[], &both, Some(&both)).unwrap_err();
    assert!(matches!(err, ReproduceError::Not(ref why) if why.contains("do not catch it")), "{err}");
    let err = judge(&names(&["sign_extends"]), &both, Some(&both)).unwrap_err();
    assert!(err.to_string().contains("`sign_extends` passes with the bug"), "{err}");
}

#[test]
fn a_filter_that_matches_nothing_is_refused_not_taken_for_a_pass() {
    let none =
        StateRun { reports: vec![report("cargo test nothing_matches", &[(NO_TESTS, F)])], rewritten: Vec::new() };
    let err = judge(&[], &none, Some(&none)).unwrap_err();
    assert!(err.to_string().contains("ran no test with the bug"), "{err}");
    let elsewhere = state(&[("unrelated", P)]);
    let err = judge(&names(&["sign_extends"]), &elsewhere, Some(&elsewhere)).unwrap_err();
    assert!(err.to_string().contains("did not run with the bug"), "{err}");
}

#[test]
fn a_run_that_rewrites_a_snapshot_is_refused() {
    let mut broken = state(&[("snap", P)]);
    broken.rewritten = names(&["tests/snapshots/x.snap"]);
    let err = judge(&[], &broken, Some(&state(&[("snap", P)]))).unwrap_err();
    assert!(err.to_string().contains("rewrote tests/snapshots/x.snap with the bug"), "{err}");
}

#[test]
fn an_outcome_against_a_candidate_is_held_broken_or_not_run() {
    let tests = names(&["a", "b"]);
    assert_eq!(outcome(&tests, &[report("t", &[("a", P), ("b", P), ("c", F)])]), ExhibitOutcome::Held);
    assert_eq!(outcome(&tests, &[report("t", &[("a", P), ("b", F)])]), ExhibitOutcome::Broken { tests: names(&["b"]) });
    assert!(
        matches!(outcome(&tests, &[report("t", &[("a", P)])]), ExhibitOutcome::NotRun { why } if why.contains("b"))
    );
    let refused = crate::eval::not_run_report("t", "the policy refused it".into());
    assert!(matches!(outcome(&tests, &[refused]), ExhibitOutcome::NotRun { why } if why.contains("policy refused")));
    assert_eq!(outcome(&[], &[report("t", &[("a", F)])]), ExhibitOutcome::Broken { tests: Vec::new() });
}
