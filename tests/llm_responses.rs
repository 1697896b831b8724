//! The OpenAI Responses client against a real HTTP server on 127.0.0.1 replaying recorded
//! streams: the conformance suite every provider runs, the exact request, reasoning items sent
//! back with the reply they came with, and a task run by the real binary against a server that
//! speaks only this API.

// Test and benchmark code may unwrap and panic: that is how it reports a failure (see clippy.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support {
    pub mod cli;
    pub mod engine;
}
#[path = "support/fake_model.rs"]
mod fake_model;
#[path = "support/fake_model_cases.rs"]
mod fake_model_cases;
#[path = "support/openai_turns.rs"]
mod openai_turns;

use serde_json::json;

use ambidex::config::ProviderKind;
use ambidex::llm::{FinishReason, Message, ModelEvent, ModelRequest, ToolCall, ToolDefinition, Usage};

use fake_model::*;
use fake_model_cases as cases;
use fake_model_cases::Api;

const API: Api = Api {
    kind: ProviderKind::OpenaiResponses,
    prefix: "responses",
    path: "/v1/responses",
    base_suffix: "/v1",
    text_usage: (57, 9),
    tools_text: "",
    tool_ids: ["call_FthC9qRpsL5kBpwwyw6c7j4k", "call_uI3Ts8Jw1ZfgY2Rmmg1jDWyt"],
    tools_usage: (120, 48),
    tools_cached: 64,
    malformed_ids: ["call_bad1", "call_ok2"],
    malformed_usage: (80, 30),
    error_words: "server_error: The server had an error",
};

cases::conformance_tests!(API);

fn reasoning_item() -> serde_json::Value {
    json!({"id": "rs_68af5101", "type": "reasoning", "encrypted_content": "gAAAAABor1EBencryptedThoughts==", "summary": []})
}

#[tokio::test]
async fn reasoning_items_arrive_as_reasoning_events_before_the_call() {
    let server = FakeServer::start(vec![Reply::chunked(&API.fixture("reasoning"), 41)]).await;
    let client = API.client(&server, fast_policy(0, 2000));
    let events = collect(client.as_ref(), hello_request()).await;
    assert_eq!(
        events,
        vec![
            ModelEvent::Reasoning(reasoning_item()),
            ModelEvent::ToolCall(ToolCall {
                id: "call_R1".into(),
                name: "read_file".into(),
                arguments: json!({"path": "src/lib.rs"}),
            }),
            ModelEvent::Usage(Usage { input_tokens: 300, output_tokens: 90, cost_micros: 300 * 2 + 90 * 8 }),
            ModelEvent::Finished(FinishReason::ToolCalls),
        ]
    );
}

#[tokio::test]
async fn exact_request_with_tools_results_and_reasoning_sent_back() {
    let server = FakeServer::start(vec![Reply::chunked(&API.fixture("text"), 512)]).await;
    let client = API.client(&server, fast_policy(0, 2000));
    let stale = json!({"id": "rs_old", "type": "reasoning", "summary": []});
    let request = ModelRequest {
        model: "override-model".into(),
        system: "You are the implementer.".into(),
        messages: vec![
            Message::user("Fix the bug."),
            Message::Assistant {
                content: "Reading it.".into(),
                tool_calls: vec![ToolCall {
                    id: "call_1".into(),
                    name: "read_file".into(),
                    arguments: json!({"path": "src/lib.rs"}),
                }],
                reasoning: vec![stale, reasoning_item()],
            },
            Message::tool_result("call_1", "fn main() {}"),
            Message::Tool { call_id: "call_2".into(), content: "denied".into(), is_error: true },
        ],
        tools: vec![ToolDefinition {
            name: "read_file".into(),
            description: "Read a file.".into(),
            parameters: json!({"type": "object", "properties": {"path": {"type": "string"}}}),
        }],
        max_tokens: 1000,
        temperature: Some(0.25),
        reasoning_effort: Some("high".into()),
        role: None,
        candidate: None,
    };
    let events = collect(client.as_ref(), request).await;
    assert_eq!(events.last(), Some(&ModelEvent::Finished(FinishReason::Stop)));
    let requests = server.requests();
    let sent = &requests[0];
    assert_eq!(sent.path, "/v1/responses");
    assert_eq!(sent.headers.get("authorization").map(String::as_str), Some(format!("Bearer {TEST_KEY}").as_str()));
    assert_eq!(
        sent.body,
        json!({
            "model": "override-model",
            "instructions": "You are the implementer.",
            "input": [
                {"role": "user", "content": "Fix the bug."},
                reasoning_item(),
                {"role": "assistant", "content": "Reading it."},
                {"type": "function_call", "call_id": "call_1", "name": "read_file", "arguments": "{\"path\":\"src/lib.rs\"}"},
                {"type": "function_call_output", "call_id": "call_1", "output": "fn main() {}"},
                {"type": "function_call_output", "call_id": "call_2", "output": "error: denied"},
            ],
            "tools": [{
                "type": "function",
                "name": "read_file",
                "description": "Read a file.",
                "parameters": {"type": "object", "properties": {"path": {"type": "string"}}},
                "strict": false,
            }],
            "max_output_tokens": 1000,
            "reasoning": {"effort": "high"},
            "temperature": 0.25,
            "store": false,
            "include": ["reasoning.encrypted_content"],
            "stream": true,
        }),
        "a reasoning item without encrypted content cannot be resolved by a server that stores nothing"
    );
}

#[test]
fn a_task_runs_against_a_server_that_speaks_only_the_responses_api() {
    use support::cli::Sandbox;
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let plan = json!({
        "summary": "Round up.", "steps": ["src/lib.rs: use div_ceil"], "expected_files": ["src/lib.rs"],
        "validation": ["cargo test"], "rollback": "revert the commit", "confidence": 90,
    });
    let replies = vec![
        openai_turns::responses_tool_call("submit_plan", plan, "gAAAAthePlannersThoughts"),
        openai_turns::responses_tool_call("read_file", json!({"path": "src/lib.rs"}), "gAAAAtheImplementersThoughts"),
        Reply::status(400, r#"{"error":{"message":"the test ends here"}}"#),
    ];
    let server = runtime.block_on(FakeServer::start(replies));
    let sandbox = Sandbox::new();
    support::engine::pagination_repo(&sandbox);
    let task = support::engine::task_file(&sandbox, "low");
    let model =
        support::engine::FakeModel { kind: "openai_responses", url: &server.url, key_env: "FAKE_RESPONSES_KEY" };
    model.run_task(&sandbox, &task, &["providers.fake.reasoning_effort=high".into()]);
    let requests = server.requests();
    assert_eq!(requests.len(), 3, "plan, a read, then the server's refusal");
    assert!(requests.iter().all(|r| r.path == "/v1/responses"));
    assert_eq!(requests[0].body["reasoning"], json!({"effort": "high"}));
    let input = requests[2].body["input"].as_array().unwrap().clone();
    let thought = input.iter().position(|item| item["encrypted_content"] == "gAAAAtheImplementersThoughts");
    let call = input.iter().position(|item| item["type"] == "function_call" && item["call_id"] == "call_read_file");
    let output = input.iter().position(|item| item["type"] == "function_call_output");
    assert!(
        matches!((thought, call, output), (Some(t), Some(c), Some(o)) if t < c && c < o),
        "the reasoning goes back before its call, the result after it: {input:#?}"
    );
    assert!(output.is_some_and(|o| input[o]["output"].as_str().unwrap().contains("fn ")), "the file was read");
    assert!(
        !input.iter().any(|item| item["encrypted_content"] == "gAAAAthePlannersThoughts"),
        "another agent's reasoning is not this one's"
    );
}
