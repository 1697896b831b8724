//! The engineer's note reaches the model over the real OpenAI wire: a plan sent back with a note
//! is planned again, and the planner's next request (recorded by a fake server on 127.0.0.1) holds
//! the note; a note written later reaches the implementer's request too.

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
use openai_turns::plan;
use support::cli::Sandbox;
use support::engine::*;

const KEY_ENV: &str = "FAKE_VOICE_MODEL_KEY";

fn openai(sandbox: &Sandbox, url: &str, args: &[&str]) -> support::cli::Run {
    FakeModel { kind: "openai", url, key_env: KEY_ENV }.run(
        sandbox,
        &[],
        args,
        &[(KEY_ENV, "sk-fake-voice-0123456789")],
    )
}

/// Every text the request's system prompt and messages hold.
fn said(request: &serde_json::Value) -> String {
    request["messages"].as_array().unwrap().iter().map(|m| m["content"].to_string()).collect::<Vec<_>>().join("\n")
}

#[test]
fn a_note_at_the_plan_gate_is_in_the_planners_next_request_and_a_task_note_in_the_implementers() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let implementer_error = Reply::status(400, r#"{"error":{"message":"the test ends here"}}"#);
    let server = runtime.block_on(FakeServer::start(vec![
        plan("Round up."),
        plan("Round up with div_ceil."),
        implementer_error,
    ]));
    let sandbox = Sandbox::new();
    pagination_repo(&sandbox);
    let task = task_file(&sandbox, "high");

    let first = openai(&sandbox, &server.url, &["run", "--task-file", &task]);
    assert_eq!(first.code, 2, "{}\n{}", first.stdout, first.stderr);
    let gates: serde_json::Value = serde_json::from_str(&sandbox.run(&["gate", "list", "--json"]).ok()).unwrap();
    let (gate, id) = (gates[0]["gate"].as_str().unwrap().to_owned(), gates[0]["task"].as_str().unwrap().to_owned());
    let note = "use usize::div_ceil instead of hand-written rounding";
    sandbox.run(&["gate", "reject", &gate, "--note", note]).ok();

    let second = openai(&sandbox, &server.url, &["run", "--task", &id]);
    assert_eq!(second.code, 2, "the new plan waits at the gate: {}\n{}", second.stdout, second.stderr);
    let requests = server.requests();
    assert_eq!(requests.len(), 2, "one planning request per run");
    assert!(!said(&requests[0].body).contains(note), "the first planner knew nothing of it");
    let replanned = said(&requests[1].body);
    assert!(replanned.contains(note) && replanned.contains("Sent back to you"), "{replanned}");

    let message = "keep the public signature of page_count";
    sandbox.run(&["task", "note", &id, message]).ok();
    let gates: serde_json::Value = serde_json::from_str(&sandbox.run(&["gate", "list", "--json"]).ok()).unwrap();
    sandbox.run(&["gate", "approve", gates[0]["gate"].as_str().unwrap()]).ok();
    let third = openai(&sandbox, &server.url, &["run", "--task", &id]);
    assert_ne!(third.code, 0, "the fake server ends the test at the implementer");
    let requests = server.requests();
    assert_eq!(requests.len(), 3, "{}\n{}", third.stdout, third.stderr);
    let implementing = said(&requests[2].body);
    assert!(implementing.contains(message) && implementing.contains(note), "{implementing}");
    assert!(requests.iter().all(|r| r.headers["authorization"] == "Bearer sk-fake-voice-0123456789"));
}
