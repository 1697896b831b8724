//! Every role has what it needs, over the real OpenAI wire: the planner sees the task's
//! validation commands and the repository; the implementer sees the repository summary and a
//! symbol map focused on the task and its plan, in which the function the task names is shown
//! even when a busier part of the repository would crowd it out.

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
use support::cli::Sandbox;
use support::engine::*;

const KEY_ENV: &str = "FAKE_ROLES_CONTEXT_KEY";

/// A busy module: many well-used helpers that would fill the symbol map on their own.
fn busy_repo(sandbox: &Sandbox) {
    for module in 0..40 {
        let mut text = String::new();
        for f in 0..12 {
            text.push_str(&format!("pub fn shared_helper_{module}_{f}(x: u64) -> u64 {{ x + {f} }}\n"));
        }
        for other in 0..40 {
            text.push_str(&format!(
                "pub fn use_{other}() -> u64 {{ crate::busy{other}::shared_helper_{other}_0(1) }}\n"
            ));
        }
        sandbox.write(&format!("repo/src/busy{module}.rs"), &text);
    }
    pagination_repo(sandbox);
}

fn system_prompt(body: &serde_json::Value) -> String {
    body["messages"][0]["content"].as_str().unwrap().to_owned()
}

#[test]
fn the_planner_sees_the_validation_and_the_implementer_a_map_focused_on_the_task() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let replies = vec![
        plan("Round up in page_count."),
        tool_call("read_file", serde_json::json!({ "path": "src/lib.rs" })),
        Reply::status(400, r#"{"error":{"message":"the test ends here"}}"#),
    ];
    let server = runtime.block_on(FakeServer::start(replies));
    let sandbox = Sandbox::new();
    busy_repo(&sandbox);
    let task = task_file(&sandbox, "low");
    FakeModel { kind: "openai", url: &server.url, key_env: KEY_ENV }.run_task(&sandbox, &task, &[]);
    let requests = server.requests();
    assert!(requests.len() >= 2, "the planner and the implementer were asked");
    let planner = system_prompt(&requests[0].body);
    let validation = planner.split("validated with these commands").nth(1).unwrap_or_default();
    assert!(validation.trim_start().lines().take(3).any(|l| l.trim() == "cargo test"), "{planner}");
    assert!(planner.contains("## Repository"), "{planner}");
    let implementer = system_prompt(&requests[1].body);
    assert!(implementer.contains("## Repository"), "the implementer gets the repository context");
    assert!(implementer.contains("shared_helper_"), "the map shows the busy helpers too");
    let map = implementer.split("## Repository").nth(1).unwrap();
    assert!(map.contains("fn page_count"), "the function the task names is in the map: {map}");
}
