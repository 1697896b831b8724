//! The Anthropic messages client against a real HTTP server on 127.0.0.1 replaying recorded
//! streams.

// Test and benchmark code may unwrap and panic: that is how it reports a failure (see clippy.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/fake_model.rs"]
mod fake_model;
#[path = "support/fake_model_cases.rs"]
mod fake_model_cases;

use serde_json::json;

use ambidex::config::ProviderKind;
use ambidex::llm::{FinishReason, Message, ModelErrorKind, ModelEvent, ModelRequest, ToolCall, ToolDefinition};

use fake_model::*;
use fake_model_cases as cases;
use fake_model_cases::Api;

const API: Api = Api {
    kind: ProviderKind::Anthropic,
    prefix: "anthropic",
    path: "/v1/messages",
    base_suffix: "",
    text_usage: (25, 15),
    tools_text: "I'll read both.",
    tool_ids: ["toolu_01T1x1fJ34qAmk2tNTrN7Up6", "toolu_01VYZ9o8n6wC2b2hS1pHqk5G"],
    tools_usage: (572, 89),
    tools_cached: 100,
    malformed_ids: ["toolu_bad1", "toolu_ok2"],
    malformed_usage: (80, 30),
    error_words: "overloaded_error: Overloaded",
};

cases::conformance_tests!(API);

#[tokio::test]
async fn overloaded_error_before_content_is_retried() {
    let text = API.fixture("text");
    let start_end = find(&text, "event: content_block_start");
    let mut overloaded = text[..start_end].to_vec();
    overloaded.extend_from_slice(
        b"event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n",
    );
    let server = FakeServer::start(vec![Reply::chunked(&overloaded, 64), Reply::chunked(&text, 64)]).await;
    let client = API.client(&server, fast_policy(1, 2000));
    let events = collect(client.as_ref(), hello_request()).await;
    assert!(
        matches!(&events[0], ModelEvent::Retry { reason, .. } if reason.contains("overloaded_error")),
        "{events:?}"
    );
    assert_eq!(events[1..], cases::text_events(&API)[..]);
}

#[tokio::test]
async fn exact_request_with_system_tools_and_tool_results() {
    let server = FakeServer::start(vec![Reply::chunked(&API.fixture("text"), 512)]).await;
    let client = API.client(&server, fast_policy(0, 2000));
    let request = ModelRequest {
        system: "You are the reviewer.".into(),
        messages: vec![
            Message::user("Review the diff."),
            Message::Assistant {
                content: String::new(),
                tool_calls: vec![
                    ToolCall { id: "toolu_1".into(), name: "git_diff".into(), arguments: json!({}) },
                    ToolCall {
                        id: "toolu_2".into(),
                        name: "read_file".into(),
                        arguments: json!({"path": "src/café.rs"}),
                    },
                ],
                reasoning: Vec::new(),
            },
            Message::tool_result("toolu_1", "+ added line"),
            Message::Tool { call_id: "toolu_2".into(), content: "no such file".into(), is_error: true },
        ],
        tools: vec![ToolDefinition {
            name: "git_diff".into(),
            description: "Show the diff.".into(),
            parameters: json!({"type": "object", "properties": {}}),
        }],
        max_tokens: 0,
        temperature: None,
        ..ModelRequest::default()
    };
    let events = collect(client.as_ref(), request).await;
    assert_eq!(events.last(), Some(&ModelEvent::Finished(FinishReason::Stop)));
    let requests = server.requests();
    let sent = &requests[0];
    assert_eq!(sent.method, "POST");
    assert_eq!(sent.path, "/v1/messages");
    assert_eq!(sent.headers["x-api-key"], TEST_KEY);
    assert_eq!(sent.headers["anthropic-version"], "2023-06-01");
    assert_eq!(sent.headers["content-type"], "application/json");
    assert_eq!(sent.headers["accept"], "text/event-stream");
    assert_eq!(sent.headers["x-extra"], "yes");
    assert!(!sent.headers.contains_key("authorization"));
    assert_eq!(
        sent.body,
        json!({
            "model": "test-model",
            "max_tokens": ModelRequest::ANTHROPIC_DEFAULT_MAX_TOKENS,
            "system": [{"type": "text", "text": "You are the reviewer.", "cache_control": {"type": "ephemeral"}}],
            "messages": [
                {"role": "user", "content": [{"type": "text", "text": "Review the diff."}]},
                {"role": "assistant", "content": [
                    {"type": "tool_use", "id": "toolu_1", "name": "git_diff", "input": {}},
                    {"type": "tool_use", "id": "toolu_2", "name": "read_file",
                     "input": {"path": "src/café.rs"}},
                ]},
                {"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_1", "content": "+ added line"},
                    {"type": "tool_result", "tool_use_id": "toolu_2", "content": "no such file",
                     "is_error": true},
                ]},
            ],
            "tools": [{
                "name": "git_diff",
                "description": "Show the diff.",
                "input_schema": {"type": "object", "properties": {}},
                "cache_control": {"type": "ephemeral"},
            }],
            "stream": true,
        })
    );
}

#[tokio::test]
async fn base_url_ending_in_v1_is_not_doubled() {
    let server = FakeServer::start(vec![Reply::chunked(&API.fixture("text"), 512)]).await;
    let base = format!("{}/v1/", server.url);
    let client = client("fake", &provider(ProviderKind::Anthropic, &base, "m"), fast_policy(0, 2000));
    let events = collect(client.as_ref(), hello_request()).await;
    assert!(!events.iter().any(|e| matches!(e, ModelEvent::Error(_))), "{events:?}");
    assert_eq!(server.requests()[0].path, "/v1/messages");
}

#[tokio::test]
async fn authentication_error_event_is_not_retried() {
    let stream = b"event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"authentication_error\",\"message\":\"invalid x-api-key\"}}\n\n";
    let server = FakeServer::start(vec![Reply::chunked(stream, 64)]).await;
    let client = API.client(&server, fast_policy(3, 2000));
    let events = collect(client.as_ref(), hello_request()).await;
    let [ModelEvent::Error(err)] = events.as_slice() else {
        panic!("expected one error: {events:?}");
    };
    assert_eq!(err.kind, ModelErrorKind::Auth { env_var: KEY_ENV.into() });
}

fn thinking_blocks() -> Vec<serde_json::Value> {
    vec![
        json!({"type": "thinking", "thinking": "The bug is in page_count; read lib.rs first.",
               "signature": "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxsIgnature=="}),
        json!({"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpP"}),
    ]
}

#[tokio::test]
async fn thinking_blocks_arrive_whole_with_their_signature() {
    let server = FakeServer::start(vec![Reply::chunked(&API.fixture("thinking"), 37)]).await;
    let client = API.client(&server, fast_policy(0, 2000));
    let events = collect(client.as_ref(), hello_request()).await;
    let [first, second] = thinking_blocks().try_into().unwrap();
    assert_eq!(
        events[..3],
        [
            ModelEvent::Reasoning(first),
            ModelEvent::Reasoning(second),
            ModelEvent::ToolCall(ToolCall {
                id: "toolu_R1".into(),
                name: "read_file".into(),
                arguments: json!({"path": "src/lib.rs"}),
            }),
        ]
    );
    assert_eq!(events.last(), Some(&ModelEvent::Finished(FinishReason::ToolCalls)));
}

#[tokio::test]
async fn a_reasoning_effort_asks_for_thinking_and_sends_earlier_thinking_back_first() {
    let server = FakeServer::start(vec![Reply::chunked(&API.fixture("text"), 512)]).await;
    let client = API.client(&server, fast_policy(0, 2000));
    let request = ModelRequest {
        messages: vec![
            Message::user("Fix it."),
            Message::Assistant {
                content: "Reading.".into(),
                tool_calls: vec![ToolCall { id: "toolu_R1".into(), name: "read_file".into(), arguments: json!({}) }],
                // An item of another API is not this API's to send.
                reasoning: [thinking_blocks(), vec![json!({"type": "reasoning", "encrypted_content": "x"})]].concat(),
            },
            Message::tool_result("toolu_R1", "fn page_count() {}"),
        ],
        max_tokens: 4000,
        temperature: Some(0.2),
        reasoning_effort: Some("medium".into()),
        ..ModelRequest::default()
    };
    collect(client.as_ref(), request).await;
    let body = &server.requests()[0].body;
    assert_eq!(body["thinking"], json!({"type": "enabled", "budget_tokens": 8192}));
    assert_eq!(body["max_tokens"], json!(8192 + ModelRequest::ANTHROPIC_DEFAULT_MAX_TOKENS), "above the budget");
    assert!(body.get("temperature").is_none(), "thinking takes only the default temperature");
    let assistant = body["messages"][1]["content"].as_array().unwrap();
    assert_eq!(assistant[..2], thinking_blocks()[..], "thinking goes back first, unchanged");
    assert_eq!(assistant[2], json!({"type": "text", "text": "Reading."}));
    assert_eq!(assistant.len(), 4);
}
