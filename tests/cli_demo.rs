//! `ambidex demo --headless` end to end: the real binary builds the sample repository, plays the
//! embedded script through both hands with real `cargo test` runs, and leaves a real repository
//! whose PR branches pass their tests when run by hand.

// Test and benchmark code may unwrap and panic: that is how it reports a failure (see clippy.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support {
    pub mod cli;
}

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use support::cli::Sandbox;

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|err| panic!("{err}: {text}"))
}

/// Checks the branch out into a fresh worktree (on a branch of its own at the same commit) and
/// runs `cargo test` there with its own target directory, as a user would by hand.
fn cargo_test_on(repo: &Path, branch: &str, scratch: &Path) -> (bool, String) {
    let git = git2::Repository::open(repo).unwrap();
    let tip = git.find_branch(branch, git2::BranchType::Local).unwrap().get().peel_to_commit().unwrap();
    let name = format!("verify-{}", branch.replace('/', "-"));
    let local = git.branch(&name, &tip, false).unwrap();
    let mut options = git2::WorktreeAddOptions::new();
    options.reference(Some(local.get()));
    let path = scratch.join(&name);
    git.worktree(&name, &path, Some(&options)).unwrap();
    let output = Command::new("cargo")
        .arg("test")
        .current_dir(&path)
        .env_remove("CARGO_TARGET_DIR")
        .env("CARGO_TARGET_DIR", scratch.join(format!("{name}-target")))
        .output()
        .unwrap();
    let text = format!("{}\n{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.success(), text)
}

fn read(repo: &git2::Repository, branch: &str, path: &str) -> Option<String> {
    let tip = repo.find_branch(branch, git2::BranchType::Local).ok()?.get().peel_to_commit().ok()?;
    let blob = tip.tree().ok()?.get_path(Path::new(path)).ok()?.to_object(repo).ok()?;
    Some(String::from_utf8_lossy(blob.as_blob()?.content()).into_owned())
}

#[test]
fn the_headless_demo_takes_both_tasks_to_real_prs() {
    let sandbox = Sandbox::new();
    let run = sandbox.run(&["demo", "--headless"]);
    assert_eq!(run.code, 0, "stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    let out = &run.stdout;

    // The progress and both PR documents.
    assert!(out.contains("exploration started (route): c1 (test_first), c2 (alternative_design)"), "{out}");
    assert!(out.contains("evidence matrix: 3 candidates"), "{out}");
    assert!(out.contains("# Round reading time up to the started minute"), "{out}");
    assert!(out.contains("# Count words case-insensitively in top_words"), "{out}");
    assert!(out.contains("The Left Hand explored this task") && out.contains("| c1 | test_first |"), "{out}");
    // The criteria the acceptance tests demonstrate are ticked; the Right Hand's stay for a human.
    assert!(out.contains("(shown by `accept_non_ascii_capitals_fold_too`, which passes)"), "{out}");
    assert!(out.contains("- [x] words() still returns words as written"), "{out}");
    assert!(out.contains("- [ ] reading_minutes(401, 200) returns 3"), "{out}");
    assert!(out.contains("Only the production track worked on this task."), "{out}");
    assert!(out.contains("log --all --oneline"), "{out}");
    assert!(out.lines().last().is_some_and(|l| l.starts_with("done in ") && l.ends_with(" s")), "{out}");

    // Both tasks reached their PR, in the demo's own state directory.
    let root = sandbox.path("data/ambidex/demo");
    let state = root.join("state").display().to_string();
    let tasks = json(&sandbox.run(&["--state-dir", &state, "task", "list", "--json"]).ok());
    let tasks = tasks.as_array().unwrap();
    assert_eq!(tasks.len(), 2, "{tasks:#?}");
    let by_title = |words: &str| tasks.iter().find(|t| t["spec"]["title"].as_str().unwrap().contains(words)).unwrap();
    let (fix, fold) = (by_title("reading_minutes"), by_title("top_words"));
    for task in [fix, fold] {
        assert_eq!(task["status"], "pr_ready", "{task:#}");
    }
    assert_eq!(fix["triage"]["route"], "right_only", "{fix:#}");
    assert_eq!(fold["triage"]["route"], "right_and_left", "{fold:#}");
    assert!(!sandbox.path("data/ambidex/state.redb").exists(), "the user's own store is untouched");

    // The Left Hand's evidence matrix for task 2, with both challengers.
    let fold_id = fold["id"].as_str().unwrap();
    let shown = json(&sandbox.run(&["--state-dir", &state, "task", "show", fold_id, "--json"]).ok());
    let events = shown["events"].as_array().unwrap();
    let recorded = events.iter().find(|e| e["kind"]["type"] == "evidence_recorded").expect("an evidence matrix");
    let rows = recorded["kind"]["matrix"]["rows"].as_array().unwrap();
    let row = |label: &str| rows.iter().find(|r| r["candidate"] == label).unwrap_or_else(|| panic!("{rows:#?}"));
    assert_eq!((row("c1")["acceptance_passed"].as_u64(), row("c1")["validation_ok"].as_bool()), (Some(2), Some(true)));
    assert_eq!(row("production")["acceptance_passed"], 1, "production folds ASCII only");
    assert!(!row("c2")["broken"].as_array().unwrap().is_empty(), "c2 breaks an existing test: {:#}", row("c2"));
    let adopted = events.iter().find(|e| e["kind"]["type"] == "change_adopted").expect("an adoption");
    assert_eq!(adopted["kind"]["choice"], "adopt c1");

    // The metrics see both PRs and the exploration that changed task 2's outcome.
    let metrics = json(&sandbox.run(&["--state-dir", &state, "metrics", "--json"]).ok());
    let overall = &metrics["overall"];
    assert_eq!(overall["delivery"]["completed"], 2, "{metrics:#}");
    assert_eq!(overall["delivery"]["completion_rate"], 1.0, "{metrics:#}");
    assert_eq!(
        (overall["exploration"]["explored"].as_u64(), overall["exploration"]["changed_outcome"].as_u64()),
        (Some(1), Some(1))
    );
    let strategies = metrics["strategies"].as_array().unwrap();
    assert!(strategies.iter().any(|s| s["strategy"] == "test_first" && s["wins"] == 1), "{strategies:#?}");
    let text = sandbox.run(&["--state-dir", &state, "metrics", "--class", "feature"]).ok();
    assert!(
        text.starts_with("Metrics of ") && text.contains("of class feature") && text.contains("Exploration"),
        "{text}"
    );
    let refused = sandbox.run(&["--state-dir", &state, "metrics", "--since", "yesterday-ish"]).fails();
    assert!(refused.contains("`7d`"), "{refused}");

    // The demo repository is real: its branches, and PR branches whose tests pass by hand.
    let repo_path: PathBuf = root.join("textstats");
    let repo = git2::Repository::open(&repo_path).unwrap();
    let short = |task: &Value| {
        let id = task["id"].as_str().unwrap();
        id[id.len() - 8..].to_lowercase()
    };
    let (fix_branch, fold_branch) =
        (format!("ambidex/{}/production", short(fix)), format!("ambidex/{}/production", short(fold)));
    assert_eq!(fix["pr"]["branch"], fix_branch.as_str());
    assert_eq!(fold["pr"]["branch"], fold_branch.as_str());
    let log = Command::new("git")
        .args(["-C", &repo_path.display().to_string(), "log", "--all", "--oneline", "--decorate"])
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&log.stdout);
    for branch in [
        fix_branch.clone(),
        fold_branch.clone(),
        format!("ambidex/{}/c1", short(fold)),
        format!("ambidex/{}/c2", short(fold)),
    ] {
        assert!(log.contains(&branch), "`git log --all` shows {branch}:\n{log}");
    }
    assert!(read(&repo, &fix_branch, "src/summary.rs").unwrap().contains("words.div_ceil(per_minute)"));
    let words = read(&repo, &fold_branch, "src/words.rs").unwrap();
    assert!(words.contains("word.to_lowercase()") && !words.contains("to_ascii_lowercase"), "c1's change:\n{words}");
    assert!(read(&repo, &fold_branch, "tests/acceptance.rs").is_some(), "the acceptance tests came along");

    // Cleaning gives the disk back: every worktree goes, the branches with the work stay, and the
    // evaluation's scratch branches go with their worktrees.
    let eval_branches = |repo: &git2::Repository| {
        let branches = repo.branches(Some(git2::BranchType::Local)).unwrap();
        branches.map(|b| b.unwrap().0.name().unwrap().unwrap().to_owned()).filter(|n| n.contains("/eval-")).count()
    };
    assert!(eval_branches(&repo) > 0, "the evaluation made scratch branches");
    let doctor = sandbox.run(&["--state-dir", &state, "doctor"]).ok();
    assert!(doctor.contains("2 finished tasks still hold") && doctor.contains("task clean --finished"), "{doctor}");
    let cleaned = sandbox.run(&["--state-dir", &state, "task", "clean", "--finished"]).ok();
    for task in [fix, fold] {
        assert!(cleaned.contains(&format!("task {}: removed", short(task))), "{cleaned}");
    }
    assert!(cleaned.contains("scratch branch ambidex/") && cleaned.contains("freed"), "{cleaned}");
    assert_eq!(repo.worktrees().unwrap().len(), 0, "git knows no worktree any more");
    let worktrees = root.join("state/worktrees");
    assert!(!worktrees.exists() || std::fs::read_dir(&worktrees).unwrap().next().is_none(), "{cleaned}");
    assert_eq!(eval_branches(&repo), 0);
    for branch in [&fix_branch, &fold_branch, &format!("ambidex/{}/c1", short(fold))] {
        assert!(repo.find_branch(branch, git2::BranchType::Local).is_ok(), "{branch} is kept");
    }
    let again = sandbox.run(&["--state-dir", &state, "task", "clean", "--finished"]).ok();
    assert_eq!(again.trim(), "no finished task has worktrees left");
    assert!(sandbox.run(&["--state-dir", &state, "doctor"]).ok().contains("none left by finished tasks"));

    let scratch = tempfile::tempdir().unwrap();
    for branch in [&fix_branch, &fold_branch] {
        let (ok, output) = cargo_test_on(&repo_path, branch, scratch.path());
        assert!(ok, "`cargo test` on {branch}:\n{output}");
        assert!(output.contains("test result: ok"), "{output}");
    }
    let (ok, _) = cargo_test_on(&repo_path, "main", scratch.path());
    assert!(ok, "the base commit's own suite passes too (the bug is one it misses)");
}
