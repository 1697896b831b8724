//! The repository memory as a user keeps it: entries written with `ambidex memory`, listed,
//! edited, removed, exported to a TOML file and imported from one; the active entries that concern
//! a task reach its agents over the real OpenAI wire (a removed one no more), and the task records
//! the memory version its agents saw. Bad input gets a clear error and changes nothing.

// Test and benchmark code may unwrap and panic: that is how it reports a failure (see clippy.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support {
    pub mod cli;
    pub mod engine;
}
#[path = "support/fake_model.rs"]
mod fake_model;
#[path = "support/openai_turns.rs"]
mod openai_turns;

use fake_model::{FakeServer, Reply};
use openai_turns::{plan, tool_call};
use serde_json::Value;
use support::cli::Sandbox;
use support::engine::*;

const KEY_ENV: &str = "FAKE_MEMORY_KEY";

fn listed(sandbox: &Sandbox, args: &[&str]) -> Vec<Value> {
    let out = sandbox.run(&[&["memory"], args, &["--json"]].concat()).ok();
    serde_json::from_str::<Value>(&out).unwrap().as_array().unwrap().clone()
}

fn id_in(said: &str) -> String {
    said.split_whitespace().nth(1).unwrap().to_owned()
}

#[test]
fn written_memory_reaches_the_agents_and_travels_as_a_reviewable_file() {
    let sandbox = Sandbox::new();
    pagination_repo(&sandbox);
    let said = sandbox
        .run(&["memory", "add", "--kind", "convention", "--scope", "src/**", "Public functions carry a doc comment."])
        .ok();
    assert!(said.starts_with("memory ") && said.contains("is active"), "{said}");
    let convention = id_in(&said);
    let said = sandbox.run(&["memory", "add", "--kind", "flaky_test", "pages::slow_case is flaky"]).ok();
    let flaky = id_in(&said);
    let edited = sandbox.run(&["memory", "edit", &flaky, "--text", "pages::slow_case fails one run in ten"]).ok();
    assert!(edited.contains("fails one run in ten"), "{edited}");
    sandbox.run(&["memory", "rm", &flaky]).ok();
    let active = listed(&sandbox, &["list"]);
    assert_eq!(active.len(), 1, "{active:#?}");
    assert_eq!(active[0]["text"], "Public functions carry a doc comment.");
    assert_eq!(listed(&sandbox, &["list", "--all"]).len(), 2, "the removed entry is kept in the record");
    assert!(sandbox.run(&["memory", "pending"]).ok().contains("no proposals"));

    // Bad input: a clear error, nothing changed.
    let unknown = sandbox.run(&["memory", "add", "--kind", "gossip", "x"]).fails();
    assert!(unknown.contains("unknown memory kind `gossip`") && unknown.contains("flaky_test"), "{unknown}");
    let empty = sandbox.run(&["memory", "add", "--kind", "setup", "   "]).fails();
    assert!(empty.contains("needs a text"), "{empty}");
    let again = sandbox.run(&["memory", "rm", &flaky]).fails();
    assert!(again.contains("removed already"), "{again}");
    assert!(sandbox.run(&["memory", "show", "ZZZZ"]).fails().contains("no memory entry ends in `ZZZZ`"));
    assert_eq!(listed(&sandbox, &["list", "--all"]).len(), 2);

    // The task's agents read the active entry, over the real wire.
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let replies = vec![
        plan("Round up in page_count."),
        tool_call("read_file", serde_json::json!({ "path": "src/lib.rs" })),
        Reply::status(400, r#"{"error":{"message":"the test ends here"}}"#),
    ];
    let server = runtime.block_on(FakeServer::start(replies));
    let task = task_file(&sandbox, "low");
    FakeModel { kind: "openai", url: &server.url, key_env: KEY_ENV }.run_task(&sandbox, &task, &[]);
    let requests = server.requests();
    let planner = requests[0].body["messages"][0]["content"].as_str().unwrap().to_owned();
    assert!(planner.contains("## Repository memory"), "{planner}");
    assert!(planner.contains("(convention) [src/**] Public functions carry a doc comment."), "{planner}");
    assert!(!planner.contains("slow_case"), "a removed entry reaches no agent");
    let tasks: Value = serde_json::from_str(&sandbox.run(&["task", "list", "--json"]).ok()).unwrap();
    let id = tasks[0]["id"].as_str().unwrap().to_owned();
    let shown: Value = serde_json::from_str(&sandbox.run(&["task", "show", &id, "--json"]).ok()).unwrap();
    let used: Vec<&Value> =
        shown["events"].as_array().unwrap().iter().filter(|e| e["kind"]["type"] == "memory_used").collect();
    assert_eq!(used.len(), 1, "recorded once while the memory stays the same: {used:#?}");
    assert!(used[0]["kind"]["entries"][0].as_str().unwrap().to_lowercase().ends_with(&convention));
    assert_eq!(shown["task"]["memory_version"], used[0]["kind"]["version"]);

    // Pruning: an entry whose files are gone is listed, then removed on --apply.
    let said = sandbox.run(&["memory", "add", "--kind", "ownership", "--scope", "src/net/**", "Net is Bo's."]).ok();
    let gone = id_in(&said);
    let listed_stale = sandbox.run(&["memory", "prune"]).ok();
    assert!(
        listed_stale.contains(&format!("{gone} is stale (no file matches its scope (src/net/**)")),
        "{listed_stale}"
    );
    assert!(!listed_stale.contains(&convention), "{listed_stale}");
    let applied = sandbox.run(&["memory", "prune", "--apply"]).ok();
    assert!(applied.contains(&format!("removed {gone}")), "{applied}");
    assert!(sandbox.run(&["memory", "prune"]).ok().contains("nothing stale"));

    // Export, then import into another clone of the repository's history.
    let exported = sandbox.run(&["memory", "export"]).ok();
    assert!(exported.contains("exported 1 active entries"), "{exported}");
    let file = std::fs::read_to_string(sandbox.repo().join(".ambidex/memory.toml")).unwrap();
    assert!(file.contains("[[entry]]") && file.contains("kind = \"convention\""), "{file}");
    let other = Sandbox::new();
    pagination_repo(&other);
    let path = sandbox.repo().join(".ambidex/memory.toml");
    let imported = other.run(&["memory", "import", path.to_str().unwrap()]).ok();
    assert!(imported.contains("imported 1 entries"), "{imported}");
    let twice = other.run(&["memory", "import", path.to_str().unwrap()]).ok();
    assert!(twice.contains("imported 0 entries") && twice.contains("1 were known already"), "{twice}");
    assert_eq!(listed(&other, &["list"])[0]["text"], "Public functions carry a doc comment.");
    other.write("bad.toml", "[[entry]]\nkind = \"convention\"\ntxt = \"typo\"\n");
    let bad = other.run(&["memory", "import", other.path("bad.toml").to_str().unwrap()]).fails();
    assert!(bad.contains("is not a memory file") && bad.contains("txt"), "{bad}");
}
