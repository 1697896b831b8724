//! An agent's conversation stays inside its model's context window, over the real OpenAI wire:
//! an implementer (played by a fake server on 127.0.0.1) reads five large files; when the server
//! rejects the conversation as too long, the oldest results are elided (each replaced by a note
//! saying how to read it again) and the turn is tried once more; with a small configured window
//! they are elided before the server ever complains. The task and the latest turns stay whole.

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

const KEY_ENV: &str = "FAKE_CONTEXT_MODEL_KEY";
const FILES: usize = 5;

fn big_files(sandbox: &Sandbox) {
    for n in 1..=FILES {
        let text: String = (0..800).map(|line| format!("file {n} line {line:04}\n")).collect();
        sandbox.write(&format!("repo/data/big{n}.txt"), &text);
    }
    pagination_repo(sandbox);
}

fn reads() -> Vec<Reply> {
    (1..=FILES)
        .map(|n| tool_call("read_file", serde_json::json!({ "path": format!("data/big{n}.txt"), "max_lines": 2000 })))
        .collect()
}

fn run(sandbox: &Sandbox, url: &str, window: u32) {
    let task = task_file(sandbox, "low");
    let model = FakeModel { kind: "openai", url, key_env: KEY_ENV };
    model.run_task(sandbox, &task, &[format!("providers.fake.context_window={window}")]);
}

/// The text of every tool message of a recorded request, in order.
fn tool_results(body: &serde_json::Value) -> Vec<String> {
    body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["role"] == "tool")
        .map(|m| m["content"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn a_conversation_the_server_finds_too_long_is_tried_again_without_its_oldest_results() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let mut replies = vec![plan("Round up.")];
    replies.extend(reads());
    let too_long = r#"{"error":{"message":"This model's maximum context length is 8192 tokens. However, your messages resulted in 52000 tokens.","type":"invalid_request_error","code":"context_length_exceeded"}}"#;
    replies.push(Reply::status(400, too_long));
    replies.push(Reply::status(400, r#"{"error":{"message":"the test ends here"}}"#));
    let server = runtime.block_on(FakeServer::start(replies));
    let sandbox = Sandbox::new();
    big_files(&sandbox);
    run(&sandbox, &server.url, 1_000_000);
    let requests = server.requests();
    assert_eq!(requests.len(), 2 + FILES + 1, "the too-long turn was tried once more");
    let refused = tool_results(&requests[1 + FILES].body);
    assert!(refused.iter().all(|r| r.contains("line 0799")), "the rejected request had every result whole");
    let retried = tool_results(&requests[2 + FILES].body);
    assert_eq!(retried.len(), FILES);
    assert!(retried[0].starts_with("[elided") && retried[0].contains("call the tool again"), "{}", retried[0]);
    assert!(retried[FILES - 1].contains("file 5 line 0799"), "the latest result stays whole");
    let opening = &requests[2 + FILES].body["messages"][1]["content"];
    assert!(opening.as_str().unwrap().starts_with("Begin the"), "the task's opening stays: {opening}");
}

#[test]
fn a_small_configured_window_elides_before_the_server_complains() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let mut replies = vec![plan("Round up.")];
    replies.extend(reads());
    replies.push(Reply::status(400, r#"{"error":{"message":"the test ends here"}}"#));
    let server = runtime.block_on(FakeServer::start(replies));
    let sandbox = Sandbox::new();
    big_files(&sandbox);
    run(&sandbox, &server.url, 20_000);
    let requests = server.requests();
    assert_eq!(requests.len(), 2 + FILES);
    let last = tool_results(&requests[1 + FILES].body);
    assert!(last[0].starts_with("[elided"), "{}", &last[0][..80.min(last[0].len())]);
    assert!(last[FILES - 1].contains("file 5 line 0799"));
}
