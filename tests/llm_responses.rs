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

#[tokio::test]
async fn plain_text_with_usage() {
    cases::plain_text(&API).await;
}

#[tokio::test]
async fn parallel_tool_calls_split_at_awkward_boundaries() {
    cases::parallel_tool_calls_split_awkwardly(&API).await;
}

#[tokio::test]
async fn malformed_tool_arguments_become_tool_call_errors() {
    cases::malformed_tool_arguments(&API).await;
}

#[tokio::test]
async fn a_failed_response_mid_stream_ends_the_stream() {
    cases::error_event_mid_stream(&API).await;
}

#[tokio::test]
async fn rate_limited_with_retry_after_then_success() {
    cases::rate_limited_then_success(&API).await;
}

#[tokio::test]
async fn server_errors_are_retried_until_the_limit() {
    cases::server_errors_until_the_limit(&API).await;
}

#[tokio::test]
async fn dropped_connection_before_content_is_retried() {
    cases::dropped_before_content_is_retried(&API).await;
}

#[tokio::test]
async fn dropped_connection_after_content_is_an_error() {
    cases::dropped_after_content_is_an_error(&API).await;
}

#[tokio::test]
async fn stall_before_content_is_retried() {
    cases::stall_before_content_is_retried(&API).await;
}

#[tokio::test]
async fn stall_after_content_is_an_error() {
    cases::stall_after_content_is_an_error(&API).await;
}

#[tokio::test]
async fn bad_key_names_the_variable() {
    cases::bad_key_names_the_variable_and_is_redacted(&API).await;
}

#[tokio::test]
async fn missing_model_names_the_model() {
    cases::missing_model_names_the_model(&API).await;
}

#[tokio::test]
async fn context_length_is_not_retried() {
    cases::context_length_is_not_retried(&API).await;
}

#[tokio::test]
async fn unreachable_server_names_the_url() {
    cases::unreachable_names_the_url(&API).await;
}

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
    let key_env = "FAKE_RESPONSES_MODEL_KEY";
    let config: Vec<String> = [
        "providers.fake.kind=openai_responses".to_owned(),
        format!("providers.fake.base_url={}/v1", server.url),
        "providers.fake.model=fake-model".into(),
        format!("providers.fake.api_key_env={key_env}"),
        "providers.fake.max_retries=0".into(),
        "providers.fake.reasoning_effort=high".into(),
        "models.default_provider=fake".into(),
        "engine.challengers=0".into(),
    ]
    .into_iter()
    .flat_map(|pair| ["-c".to_owned(), pair])
    .chain(["run", "--task-file", &task, "--approve", "all"].map(String::from))
    .collect();
    let args: Vec<&str> = config.iter().map(String::as_str).collect();
    sandbox.run_with(&args, &[(key_env, "sk-fake-responses-0123456789")]);
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
