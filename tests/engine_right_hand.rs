//! The engine end to end: real repositories, the scripted model, real validation commands, the
//! real binary.

// Test and benchmark code may unwrap and panic: that is how it reports a failure (see clippy.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support {
    pub mod cli;
    pub mod engine;
}

use support::cli::Sandbox;
use support::engine::*;

#[test]
fn a_bug_fix_reaches_a_local_pr_with_the_fix_a_test_and_the_results() {
    let sandbox = Sandbox::new();
    pagination_repo(&sandbox);
    let script = script(&sandbox, "happy", &happy_script());
    let task = task_file(&sandbox, "low");
    let run = run_scripted(&sandbox, &script, &["run", "--task-file", &task, "--approve", "all"]);
    assert_eq!(run.code, 0, "stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("PR ready: Round page counts up"), "{}", run.stdout);

    let tasks: serde_json::Value = serde_json::from_str(&sandbox.run(&["task", "list", "--json"]).ok()).unwrap();
    let task = &tasks[0];
    assert_eq!(task["status"], "pr_ready");
    let id = task["id"].as_str().unwrap();
    let short = &id[id.len() - 8..];
    let branch = format!("ambidex/{}/production", short.to_lowercase());

    let repo = git2::Repository::open(sandbox.repo()).unwrap();
    let tip = repo.find_branch(&branch, git2::BranchType::Local).unwrap().get().peel_to_commit().unwrap();
    let blob = tip.tree().unwrap().get_path(std::path::Path::new("src/lib.rs")).unwrap().to_object(&repo).unwrap();
    let lib = String::from_utf8(blob.as_blob().unwrap().content().to_vec()).unwrap();
    assert!(lib.contains("items.div_ceil(size)") && lib.contains("fn partial_last_page"), "{lib}");
    assert_eq!(repo.head().unwrap().shorthand().unwrap(), "master", "the user's branch is untouched");
    assert!(std::fs::read_to_string(sandbox.repo().join("src/lib.rs")).unwrap().contains("items / size"));

    let doc = sandbox.run(&["pr", "show", short, "--markdown"]).ok();
    assert!(doc.starts_with("# Round page counts up"), "{doc}");
    assert!(doc.contains("| `cargo test` | passed |"), "{doc}");
    assert!(doc.contains("## Review") && doc.contains("## Audit") && doc.contains("ambidex audit log --task"), "{doc}");
    let summary = sandbox.run(&["pr", "show", short]).ok();
    assert!(summary.contains(&branch) && summary.contains("1 of 1 validation commands passed"), "{summary}");
    assert!(sandbox.run(&["audit", "verify"]).ok().starts_with("ok:"));
    // A task whose PR is made is not rewound: its work is delivered.
    let refused = sandbox.run(&["task", "rewind", short, "--to", "implement", "--yes"]).fails();
    assert!(refused.contains("is pr_ready") && refused.contains("only a task that stopped"), "{refused}");

    // Cleaning refuses to throw away uncommitted work unless told to; the branch stays either way.
    let shown: serde_json::Value = serde_json::from_str(&sandbox.run(&["task", "show", short, "--json"]).ok()).unwrap();
    let worktree = std::path::PathBuf::from(shown["task"]["worktrees"][0]["path"].as_str().unwrap());
    std::fs::write(worktree.join("notes.txt"), "half a thought").unwrap();
    let refused = sandbox.run(&["task", "clean", short]).fails();
    assert!(refused.contains("uncommitted changes: notes.txt") && refused.contains("--force"), "{refused}");
    assert!(worktree.join("notes.txt").exists(), "nothing was removed");
    let cleaned = sandbox.run(&["task", "clean", short, "--force"]).ok();
    assert!(cleaned.contains("removed 1 worktree") && cleaned.contains("its branch is kept"), "{cleaned}");
    assert!(!worktree.exists());
    assert!(repo.find_branch(&branch, git2::BranchType::Local).is_ok());
    assert!(sandbox.run(&["task", "show", short]).ok().contains("worktree production removed"));
    assert!(sandbox.run(&["audit", "verify"]).ok().starts_with("ok:"));
}

#[test]
fn a_high_risk_task_stops_at_the_plan_gate_and_continues_after_approval() {
    let sandbox = Sandbox::new();
    pagination_repo(&sandbox);
    let script = script(&sandbox, "happy", &happy_script());
    let task = task_file(&sandbox, "high");
    // The production track alone: with challengers, a high-risk task is explored too
    // (tests/engine_left_hand.rs).
    let first = run_scripted(&sandbox, &script, &["-c", "engine.challengers=0", "run", "--task-file", &task]);
    assert_eq!(first.code, 2, "{}\n{}", first.stdout, first.stderr);
    assert!(first.stdout.contains("stopped at the plan gate"), "{}", first.stdout);
    let gates: serde_json::Value = serde_json::from_str(&sandbox.run(&["gate", "list", "--json"]).ok()).unwrap();
    assert_eq!(gates[0]["kind"], "plan");
    let gate = gates[0]["gate"].as_str().unwrap();
    let id = gates[0]["task"].as_str().unwrap().to_owned();
    let refused = sandbox.run(&["task", "clean", &id]).fails();
    assert!(refused.contains("only a finished task"), "{refused}");

    // Nothing the task says can skip the gate; a human decides it.
    sandbox.run(&["gate", "approve", &gate[gate.len() - 8..], "--note", "plan looks right"]).ok();
    // The scripted planner already played; a new run continues from the implementation.
    let second = run_scripted(&sandbox, &script, &["-c", "engine.challengers=0", "run", "--task", &id]);
    // The PR gate is next (the script's planner turns are spent, so only later roles play).
    assert_eq!(second.code, 2, "{}\n{}", second.stdout, second.stderr);
    assert!(second.stdout.contains("stopped at the pull_request gate"), "{}", second.stdout);
    let gates: serde_json::Value = serde_json::from_str(&sandbox.run(&["gate", "list", "--json"]).ok()).unwrap();
    let gate = gates[0]["gate"].as_str().unwrap();
    sandbox.run(&["gate", "approve", &gate[gate.len() - 8..]]).ok();
    let third = run_scripted(&sandbox, &script, &["-c", "engine.challengers=0", "run", "--task", &id]);
    assert_eq!(third.code, 0, "{}\n{}", third.stdout, third.stderr);
    let history = sandbox.run(&["task", "show", &id]).ok();
    assert_eq!(history.matches("gate_opened").count() + history.matches("opened:").count(), 2, "{history}");
}

/// The shipped production playbook, as a repository would copy it into `.ambidex/playbooks/`.
const SHIPPED_PLAYBOOK: &str = include_str!("../playbooks/right_hand.toml");

#[test]
fn a_playbook_that_renames_its_stages_keeps_every_gate() {
    let sandbox = Sandbox::new();
    pagination_repo(&sandbox);
    let renamed = SHIPPED_PLAYBOOK.replace("name = \"implement\"", "name = \"code\"");
    sandbox.write("repo/.ambidex/playbooks/right_hand.toml", &renamed);
    commit_all(&sandbox.repo(), "our playbook");
    let checked = sandbox.run(&["playbook", "check"]).ok();
    assert!(checked.contains("plan → code (implement) → test"), "{checked}");

    let script = script(&sandbox, "happy", &happy_script());
    let task = task_file(&sandbox, "high");
    let first = run_scripted(&sandbox, &script, &["-c", "engine.challengers=0", "run", "--task-file", &task]);
    assert_eq!(first.code, 2, "{}\n{}", first.stdout, first.stderr);
    assert!(first.stdout.contains("stopped at the plan gate"), "the rename skipped the plan gate: {}", first.stdout);
    let gates: serde_json::Value = serde_json::from_str(&sandbox.run(&["gate", "list", "--json"]).ok()).unwrap();
    let gate = gates[0]["gate"].as_str().unwrap();
    let id = gates[0]["task"].as_str().unwrap().to_owned();
    sandbox.run(&["gate", "approve", &gate[gate.len() - 8..]]).ok();

    let second = run_scripted(&sandbox, &script, &["-c", "engine.challengers=0", "run", "--task", &id]);
    assert!(second.stdout.contains("stopped at the pull_request gate"), "{}\n{}", second.stdout, second.stderr);
    let shown: serde_json::Value = serde_json::from_str(&sandbox.run(&["task", "show", &id, "--json"]).ok()).unwrap();
    let code = shown["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"]["type"] == "stage_started" && e["kind"]["stage"] == "code")
        .unwrap_or_else(|| panic!("the renamed stage ran: {shown}"));
    assert_eq!(code["kind"]["kind"], "implement");
}

#[test]
fn a_playbook_without_a_plan_stage_is_refused_with_its_file_and_line() {
    let sandbox = Sandbox::new();
    pagination_repo(&sandbox);
    let start = SHIPPED_PLAYBOOK.find("[[stage]]\nname = \"plan\"").unwrap();
    let end = SHIPPED_PLAYBOOK.find("[[stage]]\nname = \"implement\"").unwrap();
    let without_plan = format!("{}{}", &SHIPPED_PLAYBOOK[..start], &SHIPPED_PLAYBOOK[end..]);
    let line = 1 + without_plan[..start].matches('\n').count();
    sandbox.write("repo/.ambidex/playbooks/right_hand.toml", &without_plan);
    commit_all(&sandbox.repo(), "a playbook without a plan");

    let checked = sandbox.run(&["playbook", "check"]);
    assert_eq!(checked.code, 1, "{}", checked.stdout);
    let verdict = format!("right_hand.toml:{line}: the playbook has no stage of kind `plan`");
    assert!(checked.stdout.contains(&verdict), "{}", checked.stdout);

    let script = script(&sandbox, "happy", &happy_script());
    let task = task_file(&sandbox, "high");
    let run = run_scripted(&sandbox, &script, &["-c", "engine.challengers=0", "run", "--task-file", &task]);
    assert_ne!(run.code, 0, "{}", run.stdout);
    assert!(run.stderr.contains(&verdict), "the engine refuses with the same verdict: {}", run.stderr);
}
