//! The OpenAI chat-completions client against a real HTTP server on 127.0.0.1 replaying recorded
//! streams.

// Test and benchmark code may unwrap and panic: that is how it reports a failure (see clippy.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/fake_model.rs"]
mod fake_model;
#[path = "support/fake_model_cases.rs"]
mod fake_model_cases;

use serde_json::json;

use ambidex::config::ProviderKind;
use ambidex::llm::{FinishReason, Message, ModelEvent, ModelRequest, ToolCall, ToolDefinition};

use fake_model::*;
use fake_model_cases as cases;
use fake_model_cases::Api;

const API: Api = Api {
    kind: ProviderKind::Openai,
    prefix: "openai",
    path: "/v1/chat/completions",
    base_suffix: "/v1",
    text_usage: (57, 9),
    tools_text: "",
    tool_ids: ["call_FthC9qRpsL5kBpwwyw6c7j4k", "call_uI3Ts8Jw1ZfgY2Rmmg1jDWyt"],
    tools_usage: (120, 48),
    tools_cached: 0,
    malformed_ids: ["call_bad1", "call_ok2"],
    malformed_usage: (80, 30),
    error_words: "The server had an error",
};

cases::conformance_tests!(API);

#[tokio::test]
async fn exact_request_with_tools_and_tool_results() {
    let server = FakeServer::start(vec![Reply::chunked(&API.fixture("text"), 512)]).await;
    let client = API.client(&server, fast_policy(0, 2000));
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
                reasoning: Vec::new(),
            },
            Message::tool_result("call_1", "fn main() {}"),
            Message::Tool { call_id: "call_2".into(), content: "denied".into(), is_error: true },
        ],
        tools: vec![ToolDefinition {
            name: "read_file".into(),
            description: "Read a file.".into(),
            parameters: json!({
                "type": "object",
                "properties": {"path": {"type": "string"}},
                "required": ["path"],
            }),
        }],
        max_tokens: 1000,
        temperature: Some(0.25),
        reasoning_effort: None,
        role: None,
        candidate: None,
    };
    let events = collect(client.as_ref(), request).await;
    assert_eq!(events.last(), Some(&ModelEvent::Finished(FinishReason::Stop)));
    let requests = server.requests();
    let sent = &requests[0];
    assert_eq!(sent.method, "POST");
    assert_eq!(sent.path, "/v1/chat/completions");
    assert_eq!(sent.headers.get("authorization").map(String::as_str), Some(format!("Bearer {TEST_KEY}").as_str()));
    assert_eq!(sent.headers["content-type"], "application/json");
    assert_eq!(sent.headers["accept"], "text/event-stream");
    assert_eq!(sent.headers["x-extra"], "yes");
    assert!(sent.headers["user-agent"].starts_with("ambidex/"));
    assert!(!sent.headers.contains_key("x-api-key"));
    assert_eq!(
        sent.body,
        json!({
            "model": "override-model",
            "messages": [
                {"role": "system", "content": "You are the implementer."},
                {"role": "user", "content": "Fix the bug."},
                {"role": "assistant", "content": "Reading it.", "tool_calls": [{
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "read_file", "arguments": "{\"path\":\"src/lib.rs\"}"},
                }]},
                {"role": "tool", "tool_call_id": "call_1", "content": "fn main() {}"},
                {"role": "tool", "tool_call_id": "call_2", "content": "error: denied"},
            ],
            "tools": [{"type": "function", "function": {
                "name": "read_file",
                "description": "Read a file.",
                "parameters": {
                    "type": "object",
                    "properties": {"path": {"type": "string"}},
                    "required": ["path"],
                },
            }}],
            "max_tokens": 1000,
            "temperature": 0.25,
            "stream": true,
            "stream_options": {"include_usage": true},
        })
    );
}

#[tokio::test]
async fn lenient_local_server_without_ids_index_usage_or_done() {
    let server = FakeServer::start(vec![Reply::chunked(&API.fixture("lenient"), 33)]).await;
    let client = API.client(&server, fast_policy(0, 2000));
    let events = collect(client.as_ref(), hello_request()).await;
    assert_eq!(
        events,
        vec![
            ModelEvent::TextDelta("Checking.".into()),
            ModelEvent::ToolCall(ToolCall {
                id: "call_1".into(),
                name: "list_files".into(),
                arguments: json!({"path": "."}),
            }),
            ModelEvent::ToolCall(ToolCall {
                id: "call_2".into(),
                name: "run".into(),
                arguments: json!({"command": "cargo test"}),
            }),
            ModelEvent::Finished(FinishReason::ToolCalls),
        ]
    );
}

#[tokio::test]
async fn json_instead_of_a_stream_is_explained() {
    let server =
        FakeServer::start(vec![Reply::status(200, r#"{"error":{"message":"streaming is not supported"}}"#)]).await;
    let client = API.client(&server, fast_policy(0, 2000));
    let events = collect(client.as_ref(), hello_request()).await;
    let [ModelEvent::Error(err)] = events.as_slice() else {
        panic!("expected one error: {events:?}");
    };
    assert!(err.message.contains("instead of an event stream"), "{err}");
    assert!(err.message.contains("streaming is not supported"), "{err}");
}
