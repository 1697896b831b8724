//! Shadow evaluation end to end, on a real crate with a real bug, a kept bug museum exhibit and a
//! past task that reached a PR: a proposed playbook whose implementer (scripted to follow only
//! its prompt) breaks the code is replayed against the active playbook on the exhibit and the
//! task, in scratch engines and worktrees that are gone afterwards; the version in the store
//! carries the matrix, with its regressions. A budget too small for one replay stops the
//! evaluation before anything is recorded, and cleans up all the same.

// Test and benchmark code may unwrap and panic: that is how it reports a failure (see clippy.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support {
    pub mod cli;
    pub mod engine;
}

use std::path::{Path, PathBuf};
use std::sync::Arc;

use ambidex::config::{LoadOptions, load};
use ambidex::orchestrator::shadow::{self, Options, Progress};
use ambidex::orchestrator::{Engine, EngineSetup, sandbox_gaps};
use ambidex::protocol::{Actor, ReplaySource, VersionStatus};
use ambidex::redact::Redactor;
use ambidex::store::StoreReader;
use ambidex::tools::sandbox;
use support::cli::Sandbox;
use support::engine::*;

/// A test that fails while `page_count` rounds down: the exhibit's reproducer.
const ROUNDING_TEST: &str = "use pagination::page_count;\n\n#[test]\nfn rounds_up_partial_pages() {\n    assert_eq!(page_count(11, 5), 3);\n}\n";

/// The phrase only the proposal's implementer prompt holds: the scripted model's turns for it
/// are played by the proposal's implementer alone.
const MARKER: &str = "SHADOW-PROPOSAL-MARKER";

/// The proposal's implementer: a change that breaks `exact_pages`, and nothing more to say.
const BAD_FIX: &str = r#"
[[turn]]
role = "implementer"
task = "SHADOW-PROPOSAL-MARKER"
[[turn.tool_call]]
name = "edit_file"
arguments = { path = "src/lib.rs", old = "    items / size\n", new = "    items / size + 1\n" }

[[turn]]
role = "implementer"
task = "SHADOW-PROPOSAL-MARKER"
[[turn.tool_call]]
name = "finish"
arguments = { summary = "page_count adds a page." }
"#;

/// The shipped production playbook, narrowed to bug fixes, with the marker in its implementer's
/// prompt.
fn proposal_text() -> String {
    let shipped = include_str!("../playbooks/right_hand.toml");
    let all = "kinds = [\"bug_fix\", \"feature\", \"refactor\", \"test_work\", \"ci_repair\", \"dependency_update\", \"security_change\", \"migration\", \"documentation\"]";
    assert!(shipped.contains(all) && shipped.contains("You are the implementer."));
    shipped
        .replacen("name = \"right_hand\"", "name = \"bug_fix_shadowed\"", 1)
        .replacen(all, "kinds = [\"bug_fix\"]", 1)
        .replacen("You are the implementer.", &format!("{MARKER} You are the implementer."), 1)
}

/// An engine over the sandbox's store, set up as the binary sets it up, with the scripted model
/// playing `script` at a price (so replays cost something).
fn engine(sandbox: &Sandbox, script: &Path) -> Engine {
    let mut options = LoadOptions {
        repo_dir: Some(sandbox.repo()),
        user_file: Some(sandbox.path("config/none.toml")),
        env: Vec::new(),
        flags: Vec::new(),
    };
    for (key, value) in [
        ("providers.script.kind", "scripted".to_owned()),
        ("providers.script.script", script.display().to_string()),
        ("providers.script.input_price_per_mtok", "3".into()),
        ("providers.script.output_price_per_mtok", "15".into()),
        ("models.default_provider", "script".into()),
        ("state_dir", sandbox.path("data/ambidex").display().to_string()),
    ] {
        options.flag(format!("-c {key}"), key, value);
    }
    let config = load(&options).unwrap().config;
    let root = ambidex::workspace::repo_root(&sandbox.repo()).unwrap();
    let probe = sandbox::probe();
    let level = sandbox::choose(None, &probe).unwrap();
    let helper = PathBuf::from(env!("CARGO_BIN_EXE_ambidex"));
    let mut setup = EngineSetup::new(config, &root, level, helper).unwrap();
    setup.sandbox_gaps = sandbox_gaps(&probe.table(), level, &setup.config.sandbox.accept_gaps);
    let redactor = Arc::new(Redactor::from_env(std::iter::empty()));
    Engine::open_with(&sandbox.store(), redactor, Some(setup)).unwrap()
}

/// The `ambidex/…` branches, the linked worktrees and the tasks with private refs
/// (`refs/ambidex/<task>/…`) of the sandbox's repository.
fn leftovers(sandbox: &Sandbox) -> (Vec<String>, Vec<String>, std::collections::BTreeSet<String>) {
    let repo = git2::Repository::open(sandbox.repo()).unwrap();
    let branches = repo
        .branches(Some(git2::BranchType::Local))
        .unwrap()
        .map(|b| b.unwrap().0.name().unwrap().unwrap().to_owned())
        .filter(|name| name.starts_with("ambidex/"))
        .collect();
    let worktrees = repo.worktrees().unwrap().iter().flatten().flatten().map(str::to_owned).collect();
    let refs = repo
        .references_glob("refs/ambidex/*")
        .unwrap()
        .flatten()
        .filter_map(|r| r.name().ok().and_then(|n| n.split('/').nth(2)).map(str::to_owned))
        .collect();
    (branches, worktrees, refs)
}

/// A past bug fix that reached a PR with the active (shipped) playbook, then the proposal;
/// returns the proposal's short hash.
fn past_task_and_proposal(sandbox: &Sandbox) -> String {
    let happy = script(sandbox, "happy", &happy_script());
    let task = task_file(sandbox, "low");
    let run = run_scripted(sandbox, &happy, &["run", "--task-file", &task, "--approve", "all"]);
    assert_eq!(run.code, 0, "stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    let proposal = sandbox.write("proposal.toml", &proposal_text());
    let proposed = sandbox.run(&["playbook", "propose", &proposal.display().to_string()]).ok();
    assert!(proposed.contains("proposed bug_fix_shadowed"), "{proposed}");
    proposed.split_whitespace().nth(2).unwrap().to_owned()
}

#[test]
fn a_proposal_is_replayed_against_the_active_version_and_the_store_keeps_the_matrix() {
    let sandbox = Sandbox::new();
    pagination_repo(&sandbox);
    sandbox.write("repo/tests/rounding.rs", ROUNDING_TEST);
    commit_all(&sandbox.repo(), "a test that shows the bug");
    let kept = sandbox
        .run(&[
            "museum",
            "add",
            "--title",
            "page_count drops the last partial page",
            "--command",
            "cargo test",
            "--test",
            "rounds_up_partial_pages",
            "--root-cause",
            "integer division rounds down",
        ])
        .ok();
    assert!(kept.contains("kept"), "{kept}");

    past_task_and_proposal(&sandbox);
    let (branches_before, worktrees_before, refs_before) = leftovers(&sandbox);
    assert_eq!((branches_before.len(), worktrees_before.len(), refs_before.len()), (1, 1, 1), "the past task's");

    let script = script(&sandbox, "shadow", &[happy_script(), BAD_FIX.to_owned()].concat());
    let engine = engine(&sandbox, &script);
    let plan = shadow::plan(&engine, "bug_fix_shadowed", None).unwrap_err();
    assert!(plan.to_string().contains("no version"), "versions are named by hash: {plan}");
    let registry = engine.registry().unwrap();
    let version = registry.versions().iter().find(|v| v.name == "bug_fix_shadowed").unwrap().clone();
    let active = registry.versions().iter().find(|v| v.name == "right_hand").unwrap().clone();
    let plan = shadow::plan(&engine, version.short(), None).unwrap();
    assert_eq!(plan.baseline.hash, active.hash, "the proposal's parent is the active version");
    assert!(plan.skipped.is_empty(), "{:?}", plan.skipped);
    let sources: Vec<&str> = plan
        .cases
        .iter()
        .map(|c| match c.case.source {
            ReplaySource::Exhibit { .. } => "exhibit",
            ReplaySource::Task { .. } => "task",
        })
        .collect();
    assert_eq!(sources, ["exhibit", "task"]);
    assert_eq!(plan.estimate_micros(), 2 * 2 * 2_000_000, "two cases, two versions, $2 each (shipped policy)");
    let scratch = sandbox.path("data/ambidex/scratch");
    let runtime = tokio::runtime::Runtime::new().unwrap();

    // A budget too small for one replay: the first is stopped, nothing is recorded, nothing is left.
    let tight = Options { scratch: scratch.clone(), budget_micros: Some(1) };
    let stopped = runtime.block_on(shadow::run(&engine, &plan, &tight, &mut |_| {})).unwrap();
    assert!(stopped.stopped.as_deref().unwrap().contains("budget was spent"), "{:?}", stopped.stopped);
    assert!(stopped.evaluation.cases.is_empty() && stopped.evaluation.proposal.outcomes.is_empty());
    assert!(stopped.spent_micros > 0);
    assert_eq!(
        leftovers(&sandbox),
        (branches_before.clone(), worktrees_before.clone(), refs_before.clone()),
        "cleaned up after a stop"
    );

    let mut seen = Vec::new();
    let options = Options { scratch: scratch.clone(), budget_micros: None };
    let shadow = runtime
        .block_on(shadow::run(&engine, &plan, &options, &mut |event| {
            if let Progress::Finished { index, column, outcome } = event {
                seen.push(format!("{index} {column} {} {}", outcome.resolved, outcome.ending));
            }
        }))
        .unwrap();
    assert_eq!(shadow.stopped, None);
    assert!(shadow.warnings.is_empty(), "{:?}", shadow.warnings);
    assert_eq!(seen.len(), 4, "each case with each version: {seen:#?}");
    let recorded =
        runtime.block_on(shadow::record(&engine, &plan.proposal, shadow.evaluation, Actor::local_human())).unwrap();
    assert_eq!(recorded.status, VersionStatus::Proposed, "an evaluation promotes nothing");
    engine.shutdown();

    // The store keeps the matrix on the proposal.
    let reader = StoreReader::open(&sandbox.store()).unwrap().unwrap();
    let stored = reader.playbooks().unwrap().into_iter().find(|v| v.hash == version.hash).unwrap();
    let eval = stored.evaluation.as_deref().expect("the evaluation is recorded");
    assert_eq!(eval.cases.len(), 2);
    assert_eq!(
        (eval.proposal.version.as_str(), eval.baseline.version.as_str()),
        (version.hash.as_str(), active.hash.as_str())
    );
    assert_eq!(eval.model, "script", "the provider (a scripted one names no model)");
    let old = &eval.baseline.outcomes;
    assert!(old.iter().all(|o| o.resolved), "the active playbook fixes both: {old:#?}");
    assert!(old[0].ending.contains("pr") && old[0].ending.contains("exhibit held"), "{}", old[0].ending);
    let new = &eval.proposal.outcomes;
    assert!(
        new.iter().all(|o| !o.resolved && o.ending.starts_with("failed")),
        "the proposal breaks the code: {new:#?}"
    );
    assert_eq!(eval.regressions().len(), 2, "both are regressions");
    assert_eq!(eval.failed_exhibits().len(), 1);
    for outcome in new.iter().chain(old) {
        assert!(outcome.cost_micros > 0 && outcome.millis > 0 && outcome.diff_lines > 0, "{outcome:#?}");
        assert_eq!(outcome.send_backs, 0, "every review approved");
    }
    drop(reader);

    // Every scratch worktree, branch and checkpoint ref is gone; the user's checkout is untouched.
    assert_eq!(leftovers(&sandbox), (branches_before, worktrees_before, refs_before));
    assert_eq!(std::fs::read_dir(&scratch).unwrap().count(), 0, "no scratch directory is left");
    let lib = std::fs::read_to_string(sandbox.repo().join("src/lib.rs")).unwrap();
    assert!(lib.contains("    items / size\n"), "{lib}");
    let shown = sandbox.run(&["playbook", "show", version.short()]).ok();
    assert!(shown.contains("regressions: ") && shown.contains("✗ passes the relevant evals"), "{shown}");

    // The command line: the evaluation with its budget shown first, the promotion gate (its
    // criteria unmet, promoted anyway by a person who says why), and a rollback.
    let evaluated = run_scripted(&sandbox, &script, &["playbook", "evaluate", version.short()]);
    assert_eq!(evaluated.code, 0, "stdout:\n{}\nstderr:\n{}", evaluated.stdout, evaluated.stderr);
    assert!(evaluated.stderr.contains("budget: up to $8.00 in all (2 cases × 2 versions"), "{}", evaluated.stderr);
    assert!(
        evaluated.stdout.contains("regressions: ") && evaluated.stdout.contains("recorded on"),
        "{}",
        evaluated.stdout
    );
    let promoted = sandbox.run(&["playbook", "promote", version.short(), "--yes", "--note", "try it on live work"]);
    assert_eq!(promoted.code, 0, "{}\n{}", promoted.stdout, promoted.stderr);
    assert!(promoted.stdout.contains("criteria are not met") || promoted.stdout.contains("✗"), "{}", promoted.stdout);
    assert!(promoted.stdout.contains("bug_fix_shadowed") && promoted.stdout.contains("is active for bug_fix"));
    let history = sandbox.run(&["playbook", "history", "bug_fix"]).ok();
    assert!(history.contains("promoted by human") && history.contains("try it on live work"), "{history}");
    let rolled = sandbox.run(&["playbook", "rollback", "bug_fix"]).ok();
    assert!(rolled.contains("bug_fix tasks now run with right_hand"), "{rolled}");
    let listed = sandbox.run(&["playbook", "list", "--all"]).ok();
    let row = listed.lines().find(|l| l.contains("bug_fix_shadowed")).unwrap();
    assert!(row.contains("retired"), "{listed}");
}

#[test]
fn an_evaluation_killed_mid_replay_leaves_nothing_the_next_one_does_not_clear() {
    let sandbox = Sandbox::new();
    pagination_repo(&sandbox);
    let short = past_task_and_proposal(&sandbox);
    let before = leftovers(&sandbox);

    // Killed at the first checkpoint of the first replay: its worktree, branch, refs and scratch
    // store are left behind, as a power cut would leave them.
    let script = script(&sandbox, "shadow", &[happy_script(), BAD_FIX.to_owned()].concat());
    let mut args: Vec<String> = scripted(&script);
    args.extend(["playbook", "evaluate", short.as_str()].map(str::to_owned));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let killed = sandbox.run_with(&refs, &[("KILL_AMBIDEX_AT", "checkpoint.written")]);
    assert_ne!(killed.code, 0, "the kill happened: {}", killed.stderr);
    assert_ne!(leftovers(&sandbox), before, "the killed replay left its work behind");
    let scratch = sandbox.path("data/ambidex/scratch");
    assert_eq!(std::fs::read_dir(&scratch).unwrap().count(), 1, "its scratch directory");

    let again = sandbox.run(&refs);
    assert_eq!(again.code, 0, "stdout:\n{}\nstderr:\n{}", again.stdout, again.stderr);
    assert!(again.stdout.contains("recorded on"), "{}", again.stdout);
    assert_eq!(leftovers(&sandbox), before, "the next evaluation cleared what the killed one left");
    assert_eq!(std::fs::read_dir(&scratch).unwrap().count(), 0);
}
