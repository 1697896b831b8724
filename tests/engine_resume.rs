//! A run killed with SIGKILL in the middle of implementation resumes on the next start and ends
//! with exactly one PR: no lost work, no repeated side effects.

// Test and benchmark code may unwrap and panic: that is how it reports a failure (see clippy.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support {
    pub mod cli;
    pub mod engine;
}

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use support::cli::Sandbox;
use support::engine::*;

/// The implementer first runs something slow, then makes the usual fix.
const SLOW: &str = r#"
[[turn]]
role = "implementer"
[[turn.tool_call]]
name = "run"
arguments = { command = "sleep 4" }
"#;

/// Starts a run whose implementer runs something slow and SIGKILLs it there; returns the task id.
fn killed_during_implementation(sandbox: &Sandbox, script: &std::path::Path) -> String {
    let mut args = scripted(script);
    args.extend(
        [
            "run",
            "--title",
            "Fix page_count rounding for a partial last page",
            "--criteria",
            "page_count(11, 5) returns 3",
        ]
        .map(String::from),
    );
    args.extend(["--validate", "cargo test", "--risk", "low", "--approve", "all"].map(String::from));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut child = sandbox.command(&refs).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut id = String::new();
    let mut lines = BufReader::new(stdout).lines();
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(rest) = line.strip_prefix("task ") {
            id = rest.split_whitespace().next().unwrap().to_owned();
        }
        if line.contains("tool run `sleep 4`") || line.contains("gate") && line.contains("sleep 4") {
            break;
        }
        assert!(Instant::now() < deadline, "the run never reached the implementation");
    }
    // Keep reading: the run must die of the kill, not of a closed stdout.
    let drain = std::thread::spawn(move || lines.count());
    std::thread::sleep(Duration::from_millis(300));
    child.kill().unwrap();
    child.wait().unwrap();
    drain.join().unwrap();

    id
}

#[test]
fn sigkill_during_implementation_then_restart_completes_with_exactly_one_pr() {
    let sandbox = Sandbox::new();
    pagination_repo(&sandbox);
    let script = script(&sandbox, "slow", &[PLAN, SLOW, FIX, TEST, REVIEW, PR].concat());
    let id = killed_during_implementation(&sandbox, &script);

    let shown: serde_json::Value = serde_json::from_str(&sandbox.run(&["task", "show", &id, "--json"]).ok()).unwrap();
    assert_eq!(shown["task"]["stage"]["kind"], "implement", "killed inside the implementation stage");
    assert_eq!(shown["task"]["status"], "running", "the log says it was running when it died");
    // What a dying process may leave that the log never recorded: it must not reach the PR.
    let worktree = std::path::PathBuf::from(shown["task"]["worktrees"][0]["path"].as_str().unwrap());
    std::fs::write(worktree.join("src/stray.rs"), "pub fn half_written(\n").unwrap();

    let resumed = run_scripted(&sandbox, &script, &["run", "--task", &id, "--approve", "all"]);
    assert_eq!(resumed.code, 0, "{}\n{}", resumed.stdout, resumed.stderr);
    // The engine marked the killed run interrupted when it took the store; this run resumed it.
    assert!(resumed.stdout.contains("interrupted → running"), "{}", resumed.stdout);

    let shown: serde_json::Value = serde_json::from_str(&sandbox.run(&["task", "show", &id, "--json"]).ok()).unwrap();
    let kinds: Vec<&str> =
        shown["events"].as_array().unwrap().iter().map(|e| e["kind"]["type"].as_str().unwrap()).collect();
    assert_eq!(kinds.iter().filter(|k| **k == "pr_created").count(), 1);
    let interrupted = shown["events"].as_array().unwrap().iter().any(|e| {
        e["kind"]["type"] == "status_changed" && e["kind"]["from"] == "running" && e["kind"]["to"] == "interrupted"
    });
    assert!(interrupted, "the killed run was marked interrupted: {kinds:?}");
    assert_eq!(kinds.iter().filter(|k| **k == "worktree_created").count(), 1, "the worktree was reused: {kinds:?}");
    assert_eq!(kinds.iter().filter(|k| **k == "plan_submitted").count(), 1, "the plan was not redone");
    assert_eq!(shown["task"]["status"], "pr_ready");
    assert!(sandbox.run(&["audit", "verify"]).ok().starts_with("ok:"));
    // The interrupted stage started again from its checkpoint; what it left is kept on a ref.
    let restored = shown["events"].as_array().unwrap().iter().find(|e| e["kind"]["type"] == "checkpoint_restored");
    let restored = restored.unwrap_or_else(|| panic!("no checkpoint_restored event: {kinds:?}"));
    let repo = git2::Repository::open(sandbox.repo()).unwrap();
    let kept = repo.find_reference(restored["kind"]["abandoned"].as_str().unwrap()).unwrap().peel_to_tree().unwrap();
    assert!(kept.get_path(std::path::Path::new("src/stray.rs")).is_ok(), "the stray file is kept on the ref");
    let branch = shown["task"]["pr"]["branch"].as_str().unwrap();
    let pr = repo.find_branch(branch, git2::BranchType::Local).unwrap().get().peel_to_tree().unwrap();
    assert!(pr.get_path(std::path::Path::new("src/stray.rs")).is_err(), "nothing the log missed reaches the PR");
    let lib = pr.get_path(std::path::Path::new("src/lib.rs")).unwrap().to_object(&repo).unwrap();
    let lib = String::from_utf8_lossy(lib.as_blob().unwrap().content()).into_owned();
    assert_eq!(lib.matches("div_ceil").count(), 1, "the fix is applied once: {lib}");

    // Running it again changes nothing.
    let again = run_scripted(&sandbox, &script, &["run", "--task", &id]);
    assert_eq!(again.code, 0, "{}", again.stdout);
    let shown: serde_json::Value = serde_json::from_str(&sandbox.run(&["task", "show", &id, "--json"]).ok()).unwrap();
    let prs = shown["events"].as_array().unwrap().iter().filter(|e| e["kind"]["type"] == "pr_created").count();
    assert_eq!(prs, 1);
}

#[test]
fn a_worktree_broken_by_the_kill_is_made_again_not_reused() {
    let sandbox = Sandbox::new();
    pagination_repo(&sandbox);
    let script = script(&sandbox, "slow", &[PLAN, SLOW, FIX, TEST, REVIEW, PR].concat());
    let id = killed_during_implementation(&sandbox, &script);
    let shown: serde_json::Value = serde_json::from_str(&sandbox.run(&["task", "show", &id, "--json"]).ok()).unwrap();
    let worktree = std::path::PathBuf::from(shown["task"]["worktrees"][0]["path"].as_str().unwrap());
    // Only `.git` is left, as after a kill in the middle of the checkout.
    for entry in std::fs::read_dir(&worktree).unwrap() {
        let path = entry.unwrap().path();
        if path.file_name().unwrap() != ".git" {
            if path.is_dir() { std::fs::remove_dir_all(&path).unwrap() } else { std::fs::remove_file(&path).unwrap() }
        }
    }

    let resumed = run_scripted(&sandbox, &script, &["run", "--task", &id, "--approve", "all"]);
    assert_eq!(resumed.code, 0, "{}\n{}", resumed.stdout, resumed.stderr);
    let shown: serde_json::Value = serde_json::from_str(&sandbox.run(&["task", "show", &id, "--json"]).ok()).unwrap();
    let events = shown["events"].as_array().unwrap();
    let recreated = events.iter().find(|e| e["kind"]["type"] == "worktree_issue" && e["kind"]["issue"] == "recreated");
    assert!(recreated.is_some(), "no recreated event: {events:?}");
    assert_eq!(events.iter().filter(|e| e["kind"]["type"] == "worktree_created").count(), 2);
    assert_eq!(shown["task"]["status"], "pr_ready");
    let repo = git2::Repository::open(sandbox.repo()).unwrap();
    let branch = shown["task"]["pr"]["branch"].as_str().unwrap();
    let pr = repo.find_branch(branch, git2::BranchType::Local).unwrap().get().peel_to_tree().unwrap();
    assert!(pr.get_path(std::path::Path::new("src/lib.rs")).is_ok(), "the sources survive in the PR");
    assert!(pr.get_path(std::path::Path::new("Cargo.toml")).is_ok(), "the sources survive in the PR");
}
