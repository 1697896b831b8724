//! The setup step with network, then none: a crate without a committed `Cargo.lock` whose
//! dependency only a registry on 127.0.0.1 serves (standing in for crates.io). Its first task
//! fetches offline, fails for want of the network and asks at the `network` gate, before any
//! model is called; approved, the fetch runs with network, the lockfile it generates stays out
//! of the change, and validation runs the crate's plain `cargo test` offline to a PR. The next
//! task of the repository fetches with network without asking.

// Test and benchmark code may unwrap and panic: that is how it reports a failure (see clippy.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support {
    pub mod cli;
    pub mod engine;
    pub mod fake_registry;
}

use serde_json::Value;
use support::cli::Sandbox;
use support::engine::*;
use support::fake_registry::FakeRegistry;

fn events_of(sandbox: &Sandbox, id: &str) -> Vec<Value> {
    let shown: Value = serde_json::from_str(&sandbox.run(&["task", "show", id, "--json"]).ok()).unwrap();
    shown["events"].as_array().unwrap().clone()
}

fn of_type<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["kind"]["type"] == kind).collect()
}

/// The pagination crate, depending on `tinyadd` from `registry`, with no lockfile committed.
fn crate_needing_the_network(sandbox: &Sandbox, registry: &FakeRegistry) {
    sandbox.write(
        "repo/Cargo.toml",
        "[package]\nname = \"pagination\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\ntinyadd = \"0.1\"\n",
    );
    sandbox.write("repo/.cargo/config.toml", &registry.cargo_config());
    sandbox.write("repo/src/lib.rs", &format!("{LIB_RS}\npub use tinyadd::add;\n"));
    sandbox.write("repo/.gitignore", "/target\n");
    commit_all(&sandbox.repo(), "pagination, with a dependency");
}

/// Runs `ambidex` with the happy-path script, a cargo home of the sandbox's own, and `args`.
fn run(sandbox: &Sandbox, args: &[&str]) -> support::cli::Run {
    let script = script(sandbox, "happy", &happy_script());
    let mut all = scripted(&script);
    all.extend(args.iter().map(|a| a.to_string()));
    let all: Vec<&str> = all.iter().map(String::as_str).collect();
    let cargo_home = sandbox.path("cargo-home");
    std::fs::create_dir_all(&cargo_home).unwrap();
    sandbox.run_with(&all, &[("CARGO_HOME", cargo_home.to_str().unwrap())])
}

fn new_task(sandbox: &Sandbox, title: &str) -> support::cli::Run {
    let args = ["run", "--title", title, "--criteria", "page_count(11, 5) returns 3", "--risk", "low"];
    run(sandbox, &[&args[..], &["--kind", "bug_fix", "--approve", "all", "--validate", "cargo test"]].concat())
}

/// The task whose id is not `known`'s.
fn other_task(sandbox: &Sandbox, known: &str) -> (String, String) {
    let tasks: Value = serde_json::from_str(&sandbox.run(&["task", "list", "--json"]).ok()).unwrap();
    let mut ids = tasks.as_array().unwrap().iter().map(|t| t["id"].as_str().unwrap().to_owned());
    let id = ids.rfind(|id| id != known).unwrap();
    let short = id[id.len() - 8..].to_owned();
    (id, short)
}

#[test]
fn a_crate_without_a_lockfile_fetches_once_with_network_then_validates_offline_to_a_pr() {
    let sandbox = Sandbox::new();
    let registry =
        FakeRegistry::serve("tinyadd", "pub fn add(a: u32, b: u32) -> u32 { a + b }\n", &sandbox.path("reg"));
    crate_needing_the_network(&sandbox, &registry);

    let first = new_task(&sandbox, "Fix page_count rounding for a partial last page");
    assert_eq!(first.code, 2, "{}\n{}", first.stdout, first.stderr);
    assert!(first.stdout.contains("stopped at the network gate"), "{}", first.stdout);
    let (id, short) = other_task(&sandbox, "");
    let events = events_of(&sandbox, &id);
    let setups = of_type(&events, "setup_ran");
    assert_eq!(setups.len(), 1, "{events:#?}");
    assert_eq!(setups[0]["kind"]["network"], false, "the first fetch is offline");
    assert_eq!(setups[0]["kind"]["results"][0]["command"], "cargo fetch", "discovered from Cargo.toml");
    assert_eq!(setups[0]["kind"]["results"][0]["ok"], false);
    assert!(of_type(&events, "model_called").is_empty(), "no model is asked before setup");
    assert!(registry.seen().is_empty(), "the offline fetch never reached the registry: {:?}", registry.seen());
    let gate = of_type(&events, "gate_opened")[0]["kind"].clone();
    assert_eq!(gate["kind"], "network");
    let reason = gate["reason"].as_str().unwrap();
    assert!(reason.contains("`cargo fetch`") && reason.contains("remembered for this repository"), "{reason}");
    // `--approve all` does not open the network: only a human does.
    let gates: Value = serde_json::from_str(&sandbox.run(&["gate", "list", "--json"]).ok()).unwrap();
    let gate_id = gates[0]["gate"].as_str().unwrap().to_owned();
    sandbox.run(&["gate", "approve", &gate_id]).ok();

    let second = run(&sandbox, &["run", "--task", &short, "--approve", "all"]);
    assert_eq!(second.code, 0, "{}\n{}", second.stdout, second.stderr);
    let events = events_of(&sandbox, &id);
    assert_eq!(of_type(&events, "setup_network_allowed").len(), 1);
    let setup = of_type(&events, "setup_ran").last().unwrap()["kind"].clone();
    assert_eq!(setup["network"], true);
    assert_eq!(setup["results"][0]["ok"], true, "{setup:#}");
    assert_eq!(setup["baseline"], serde_json::json!(["Cargo.lock"]), "{setup:#}");
    let seen = registry.seen();
    assert!(seen.iter().any(|p| p == "/dl/tinyadd/0.1.0.crate"), "the crate was downloaded: {seen:?}");
    let validations = of_type(&events, "validation_ran");
    assert!(!validations.is_empty());
    for validation in &validations {
        assert_eq!(validation["kind"]["result"]["command"], "cargo test", "the plain command, no --offline");
    }
    assert_eq!(validations.last().unwrap()["kind"]["result"]["ok"], true, "{validations:#?}");

    // The PR's commit holds the fix, not the lockfile setup generated.
    let shown: Value = serde_json::from_str(&sandbox.run(&["task", "show", &id, "--json"]).ok()).unwrap();
    let branch = shown["task"]["pr"]["branch"].as_str().unwrap();
    let repo = git2::Repository::open(sandbox.repo()).unwrap();
    let tip = repo.find_branch(branch, git2::BranchType::Local).unwrap().get().peel_to_commit().unwrap();
    let tree = tip.tree().unwrap();
    assert!(tree.get_name("Cargo.lock").is_none(), "the generated lockfile is not part of the change");
    let lib = repo.find_blob(tree.get_path(std::path::Path::new("src/lib.rs")).unwrap().id()).unwrap();
    assert!(String::from_utf8_lossy(lib.content()).contains("div_ceil"), "the fix is");

    // Learned, then reviewed: the fetch that needed the network is proposed for the memory.
    let pending: Value = serde_json::from_str(&sandbox.run(&["memory", "pending", "--json"]).ok()).unwrap();
    let proposal = &pending.as_array().unwrap()[0];
    assert_eq!((proposal["kind"].as_str(), proposal["status"].as_str()), (Some("setup"), Some("pending")));
    assert!(proposal["text"].as_str().unwrap().contains("`cargo fetch`"), "{proposal:#}");
    let proposal_id = proposal["id"].as_str().unwrap().to_owned();
    let accepted = sandbox.run(&["memory", "accept", &proposal_id[proposal_id.len() - 8..]]).ok();
    assert!(accepted.contains("is active"), "{accepted}");

    // The next task of the repository fetches with network at once: the allowance holds.
    let before = registry.seen().len();
    let next = new_task(&sandbox, "Round the page count of the export up as well");
    assert!(!next.stdout.contains("network gate"), "{}\n{}", next.stdout, next.stderr);
    let (next_id, _) = other_task(&sandbox, &id);
    let events = events_of(&sandbox, &next_id);
    let setup = of_type(&events, "setup_ran")[0]["kind"].clone();
    assert_eq!(setup["network"], true, "{setup:#}");
    assert_eq!(setup["results"][0]["ok"], true, "{setup:#}");
    assert!(of_type(&events, "gate_opened").iter().all(|g| g["kind"]["kind"] != "network"));
    assert!(registry.seen().len() > before, "it asked the registry again");
    let used = of_type(&events, "memory_used");
    assert_eq!(used[0]["kind"]["entries"][0], proposal_id.as_str(), "its agents read the accepted entry");
    let still: Value = serde_json::from_str(&sandbox.run(&["memory", "list", "--all", "--json"]).ok()).unwrap();
    assert_eq!(still.as_array().unwrap().len(), 1, "the same fetch is not proposed twice: {still:#}");
}

#[test]
fn with_the_network_never_allowed_a_fetch_that_needs_it_stops_at_the_environment_gate() {
    let sandbox = Sandbox::new();
    let registry =
        FakeRegistry::serve("tinyadd", "pub fn add(a: u32, b: u32) -> u32 { a + b }\n", &sandbox.path("reg"));
    crate_needing_the_network(&sandbox, &registry);
    sandbox.write("repo/.ambidex/config.toml", "[setup]\nnetwork = \"never\"\ncommands = [\"cargo fetch\"]\n");
    commit_all(&sandbox.repo(), "setup offline only");

    let run = new_task(&sandbox, "Fix page_count rounding for a partial last page");
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("stopped at the environment gate"), "{}", run.stdout);
    let (id, _) = other_task(&sandbox, "");
    let events = events_of(&sandbox, &id);
    let gate = of_type(&events, "gate_opened")[0]["kind"].clone();
    let reason = gate["reason"].as_str().unwrap();
    assert!(reason.contains("the setup step failed") && reason.contains("`cargo fetch` (network)"), "{reason}");
    assert!(reason.contains("fetch on this machine and commit the lockfile"), "{reason}");
    assert!(of_type(&events, "stage_started").is_empty(), "no agent ran");
    assert!(registry.seen().is_empty(), "{:?}", registry.seen());
}
