//! The kill test: the demo's two tasks (one for the Right Hand, one for both hands) are killed
//! with SIGKILL at an event boundary or inside a git step (worktree creation, checkpoint, commit,
//! adoption), then resumed with `run --task`; every task must end with exactly one PR whose tree
//! equals the uninterrupted run's, and `audit verify` must pass.
//!
//! The kills come from the crash points of `src/crash.rs`, armed in this debug build through
//! `KILL_AMBIDEX_AFTER_EVENT` and `KILL_AMBIDEX_AT`. CI samples a few event boundaries;
//! `KILL_TEST_EVERY_EVENT=1` (what `bench/kill-every-event.sh` sets) kills at every one.

// Test and benchmark code may unwrap and panic: that is how it reports a failure (see clippy.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support {
    pub mod cli;
}

use std::collections::BTreeMap;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::sync::OnceLock;

use serde_json::Value;
use support::cli::Sandbox;

/// Each task's PR tree, by task title.
type Trees = BTreeMap<String, String>;

/// What an uninterrupted demo ends with.
struct Reference {
    trees: Trees,
    events: u64,
    /// The event that created the demo's last task: a kill before it leaves a task uncreated,
    /// which no resume can make (the demo is run again instead).
    setup: u64,
}

fn demo_dir(sandbox: &Sandbox) -> PathBuf {
    sandbox.path("data/ambidex/demo")
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|err| panic!("{err}: {text}"))
}

/// Runs the headless demo with `env` added; returns whether the crash point killed it. The
/// demo's configuration becomes the sandbox's, so later commands work on the demo's store.
fn demo(sandbox: &Sandbox, env: &[(&str, String)]) -> bool {
    let mut command = sandbox.command(&["demo", "--headless"]);
    for (name, value) in env {
        command.env(name, value);
    }
    let output = command.output().unwrap();
    let config = std::fs::read_to_string(demo_dir(sandbox).join("config.toml")).unwrap();
    sandbox.write("config/ambidex/config.toml", &config);
    if output.status.signal() == Some(libc::SIGKILL) {
        return true;
    }
    assert!(
        output.status.success(),
        "the demo failed without being killed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    false
}

/// The demo's tasks as `task list --json` shows them.
fn tasks(sandbox: &Sandbox) -> Vec<Value> {
    let listed = sandbox.command(&["task", "list", "--json"]).current_dir(demo_dir(sandbox)).output().unwrap();
    assert!(listed.status.success(), "{}", String::from_utf8_lossy(&listed.stderr));
    json(&String::from_utf8_lossy(&listed.stdout)).as_array().unwrap().clone()
}

/// Drives every task that is not PR-ready yet to its PR with the demo's configuration, as the
/// engineer would after the crash.
fn resume(sandbox: &Sandbox) {
    for task in tasks(sandbox) {
        if task["status"] == "pr_ready" {
            continue;
        }
        let id = task["id"].as_str().unwrap();
        let resumed = sandbox
            .command(&["run", "--task", id, "--approve", "all"])
            .current_dir(demo_dir(sandbox).join("textstats"))
            .output()
            .unwrap();
        assert!(
            resumed.status.success(),
            "resuming {id} ({}) failed:\n{}\n{}",
            task["status"],
            String::from_utf8_lossy(&resumed.stdout),
            String::from_utf8_lossy(&resumed.stderr)
        );
    }
}

/// Every task's PR tree (each task must have exactly one PR) and the number of events.
fn outcome(sandbox: &Sandbox) -> Reference {
    let repo = git2::Repository::open(demo_dir(sandbox).join("textstats")).unwrap();
    let mut trees = Trees::new();
    let mut setup = 0;
    for task in tasks(sandbox) {
        let id = task["id"].as_str().unwrap();
        let shown = sandbox.command(&["task", "show", id, "--json"]).current_dir(demo_dir(sandbox)).output().unwrap();
        let shown = json(&String::from_utf8_lossy(&shown.stdout));
        assert_eq!(shown["task"]["status"], "pr_ready", "{id} did not reach its PR");
        let prs = shown["events"].as_array().unwrap().iter().filter(|e| e["kind"]["type"] == "pr_created").count();
        assert_eq!(prs, 1, "{id} has {prs} PRs");
        let created = shown["events"].as_array().unwrap().iter().find(|e| e["kind"]["type"] == "task_created");
        setup = setup.max(created.and_then(|e| e["seq"].as_u64()).unwrap_or(0));
        let branch = shown["task"]["pr"]["branch"].as_str().unwrap();
        let tree = repo.find_branch(branch, git2::BranchType::Local).unwrap().get().peel_to_tree().unwrap();
        trees.insert(task["spec"]["title"].as_str().unwrap().to_owned(), tree.id().to_string());
    }
    let verified = sandbox.command(&["audit", "verify"]).current_dir(demo_dir(sandbox)).output().unwrap();
    let verified = String::from_utf8_lossy(&verified.stdout).into_owned();
    assert!(verified.starts_with("ok:"), "the audit trail does not verify: {verified}");
    let events = verified.split_whitespace().nth(1).and_then(|n| n.parse().ok()).unwrap();
    Reference { trees, events, setup }
}

/// The uninterrupted run, made once per test binary.
fn reference() -> &'static Reference {
    static REFERENCE: OnceLock<Reference> = OnceLock::new();
    REFERENCE.get_or_init(|| {
        let sandbox = Sandbox::new();
        assert!(!demo(&sandbox, &[]), "nothing should kill the reference run");
        let reference = outcome(&sandbox);
        assert_eq!(reference.trees.len(), 2, "the demo has two tasks");
        reference
    })
}

/// Kills the demo where `env` says, resumes it and compares it with the reference; returns
/// whether the kill happened.
fn killed_and_resumed(env: &[(&str, String)]) -> bool {
    let reference = reference();
    let sandbox = Sandbox::new();
    let killed = demo(&sandbox, env);
    resume(&sandbox);
    let recovered = outcome(&sandbox);
    let staged = leftovers(sandbox.dir.path(), ".adding-");
    assert!(staged.is_empty(), "after a kill at {env:?}, a worktree's staging place is left: {staged:?}");
    assert_eq!(
        recovered.trees, reference.trees,
        "after a kill at {env:?}, the PRs differ from the uninterrupted run's"
    );
    killed
}

/// Every directory under `dir` whose name starts with `prefix`.
fn leftovers(dir: &std::path::Path, prefix: &str) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir() && !t.is_symlink()) {
                if entry.file_name().to_string_lossy().starts_with(prefix) {
                    found.push(entry.path());
                } else if entry.file_name() != ".git" {
                    pending.push(entry.path());
                }
            }
        }
    }
    found
}

/// Kills at each of `boundaries` (event counts), `KILL_TEST_JOBS` (default 2) at a time.
fn kill_at_events(boundaries: Vec<u64>) {
    let jobs = std::env::var("KILL_TEST_JOBS").ok().and_then(|n| n.parse().ok()).unwrap_or(2);
    assert!(boundaries.iter().all(|b| *b >= reference().setup), "{boundaries:?} start before the demo's tasks exist");
    let count = boundaries.len();
    let (first, last) = (boundaries.iter().min().copied(), boundaries.iter().max().copied());
    let queue = std::sync::Mutex::new(boundaries);
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| {
                // A poisoned queue means another kill already failed: that failure is the report.
                while let Some(after) = queue.lock().ok().and_then(|mut queue| queue.pop()) {
                    let killed = killed_and_resumed(&[("KILL_AMBIDEX_AFTER_EVENT", after.to_string())]);
                    assert!(killed, "the demo ended before its event #{after}");
                }
            });
        }
    });
    // What bench/kill-every-event.sh reports.
    println!(
        "kill test: {count} event boundaries (#{}–#{}) killed and resumed to the uninterrupted PRs",
        first.unwrap_or(0),
        last.unwrap_or(0)
    );
}

#[test]
fn killed_at_event_boundaries_the_demo_resumes_to_the_same_prs() {
    let (total, setup) = (reference().events, reference().setup);
    let boundaries: Vec<u64> = if std::env::var_os("KILL_TEST_EVERY_EVENT").is_some() {
        // The last few events come after both PRs exist: a kill there leaves nothing to resume.
        (setup..total.saturating_sub(4)).collect()
    } else {
        [1, 5].into_iter().map(|sixth| total * sixth / 6).collect()
    };
    kill_at_events(boundaries);
}

#[test]
fn killed_in_the_middle_of_the_run_the_demo_resumes_to_the_same_prs() {
    if std::env::var_os("KILL_TEST_EVERY_EVENT").is_some() {
        return; // the boundaries test above covers every event then
    }
    let total = reference().events;
    kill_at_events([2, 3, 4].into_iter().map(|sixth| total * sixth / 6).collect());
}

/// Kills inside the git step `point` the `nth` time the run passes it.
fn kill_inside(point: &str, nth: u32) {
    assert!(ambidex::crash::POINTS.contains(&point), "{point} is not a crash point");
    let killed = killed_and_resumed(&[("KILL_AMBIDEX_AT", format!("{point}:{nth}"))]);
    assert!(killed, "the demo never passed {point} {nth} times");
    println!("kill test: killed at {point}:{nth} and resumed to the uninterrupted PRs");
}

#[test]
fn killed_while_making_a_worktree() {
    kill_inside("worktree.branch", 1);
    kill_inside("worktree.staged", 2);
    kill_inside("worktree.checkout", 3);
}

#[test]
fn killed_while_recording_a_checkpoint() {
    kill_inside("checkpoint.written", 2);
}

#[test]
fn killed_while_committing() {
    kill_inside("commit.index", 4);
    kill_inside("commit.written", 5);
}

#[test]
fn killed_while_adopting_a_candidate() {
    kill_inside("adopt.reset", 1);
    kill_inside("adopt.applied", 1);
}
