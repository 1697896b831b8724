use super::*;
use crate::protocol::{Plan, TaskSpec};
use crate::workspace::FileStat;

fn task_with_plan(files: &[&str]) -> Task {
    let mut task = crate::domain::task::fresh(TaskSpec::titled("t"));
    task.plan = Some(Plan { expected_files: files.iter().map(|f| f.to_string()).collect(), ..Plan::default() });
    task
}

fn diff(files: &[(&str, usize)], patch: &str) -> WorkDiff {
    WorkDiff {
        patch: patch.to_owned(),
        files: files
            .iter()
            .map(|(path, added)| FileStat {
                path: path.to_string(),
                added: *added,
                removed: 0,
                status: "modified".into(),
                binary: false,
            })
            .collect(),
    }
}

#[test]
fn scope_allows_planned_files_tests_and_lockfiles_only() {
    let task = task_with_plan(&["src/lib.rs"]);
    let fine = diff(&[("src/lib.rs", 3), ("tests/pages.rs", 9), ("Cargo.lock", 40)], "");
    assert_eq!(scope(&task, &fine, Some(100)), None);
    let sprawl = diff(&[("src/lib.rs", 3), ("src/other.rs", 2)], "");
    assert_eq!(scope(&task, &sprawl, None).unwrap(), "files outside the plan: src/other.rs");
    let big = diff(&[("src/lib.rs", 300)], "");
    assert_eq!(scope(&task, &big, Some(200)).unwrap(), "300 changed lines, over the budget of 200");
}

#[test]
fn weak_tests_are_test_files_without_assertions() {
    let patch = "+++ b/tests/a.rs\n+#[test]\n+fn a() { let _ = f(); }\n+++ b/tests/b.rs\n+fn b() { assert!(f()); }\n";
    assert_eq!(weak_tests(&diff(&[], patch)).unwrap(), "tests added without any assertion in: tests/a.rs");
    assert_eq!(weak_tests(&diff(&[], "+++ b/src/lib.rs\n+fn x() {}\n")), None);
    assert!(is_test_path("pkg/foo_test.go") && is_test_path("test_api.py") && !is_test_path("src/lib.rs"));
}

#[test]
fn repeated_edits_need_the_same_failures_and_the_same_files_twice() {
    let result = |command: &str, ok| ValidationResult {
        command: command.into(),
        ok,
        exit_code: Some(if ok { 0 } else { 1 }),
        duration_ms: 1,
        summary: String::new(),
    };
    let history = vec![(1, result("cargo test", false)), (2, result("cargo test", false))];
    let same: BTreeMap<u32, BTreeSet<String>> =
        BTreeMap::from([(1, BTreeSet::from(["src/a.rs".to_owned()])), (2, BTreeSet::from(["src/a.rs".to_owned()]))]);
    assert!(repeated_edits(&history, &same).unwrap().contains("attempts 1 and 2 edited the same files (src/a.rs)"));
    let moved: BTreeMap<u32, BTreeSet<String>> =
        BTreeMap::from([(1, BTreeSet::from(["src/a.rs".to_owned()])), (2, BTreeSet::from(["src/b.rs".to_owned()]))]);
    assert_eq!(repeated_edits(&history, &moved), None);
    assert_eq!(repeated_edits(&history[..1], &same), None);
}
