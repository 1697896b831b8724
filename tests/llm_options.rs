//! Provider options on the wire, against a real HTTP server on 127.0.0.1: a reply limit, a
//! reasoning effort and a temperature go out only when set (as `max_completion_tokens` where
//! configured), extra body fields are merged, a server that refuses `max_tokens` gets an error
//! naming the setting to change, Anthropic's stable prefix is marked for prompt caching, and
//! cached tokens are costed at their own price.

// Test and benchmark code may unwrap and panic: that is how it reports a failure (see clippy.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/fake_model.rs"]
mod fake_model;

use serde_json::json;

use ambidex::config::ProviderKind;
use ambidex::llm::{ModelEvent, ModelRequest, ToolDefinition, Usage};

use fake_model::*;

fn tool() -> ToolDefinition {
    ToolDefinition {
        name: "read_file".into(),
        description: "Read a file.".into(),
        parameters: json!({"type": "object"}),
    }
}

#[tokio::test]
async fn nothing_unset_is_sent() {
    let server = FakeServer::start(vec![Reply::chunked(&fixture("openai_text.sse"), 512)]).await;
    let client = client("p", &provider(ProviderKind::Openai, &format!("{}/v1", server.url), "m"), fast_policy(0, 2000));
    let request = ModelRequest { max_tokens: 0, ..hello_request() };
    collect(client.as_ref(), request).await;
    let body = &server.requests()[0].body;
    for absent in ["max_tokens", "max_completion_tokens", "temperature", "reasoning_effort"] {
        assert!(body.get(absent).is_none(), "{absent} was sent: {body}");
    }
}

#[tokio::test]
async fn a_reasoning_model_gets_max_completion_tokens_its_effort_and_the_extra_fields() {
    let server = FakeServer::start(vec![Reply::chunked(&fixture("openai_text.sse"), 512)]).await;
    let mut config = provider(ProviderKind::Openai, &format!("{}/v1", server.url), "gpt-5.5");
    config.max_tokens_field = Some("max_completion_tokens".into());
    config.extra_body = [("service_tier".to_owned(), toml::Value::String("flex".into()))].into();
    let client = client("openai", &config, fast_policy(0, 2000));
    let request = ModelRequest { max_tokens: 32000, reasoning_effort: Some("high".into()), ..hello_request() };
    collect(client.as_ref(), request).await;
    let body = &server.requests()[0].body;
    assert_eq!(body["max_completion_tokens"], 32000, "{body}");
    assert!(body.get("max_tokens").is_none());
    assert_eq!(body["reasoning_effort"], "high");
    assert_eq!(body["service_tier"], "flex");
}

#[tokio::test]
async fn a_server_that_refuses_max_tokens_gets_an_error_naming_the_setting() {
    let refusal = r#"{"error":{"message":"Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.","type":"invalid_request_error","param":"max_tokens","code":"unsupported_parameter"}}"#;
    let server = FakeServer::start(vec![Reply::status(400, refusal)]).await;
    let client =
        client("openai", &provider(ProviderKind::Openai, &format!("{}/v1", server.url), "o9"), fast_policy(0, 2000));
    let events = collect(client.as_ref(), hello_request()).await;
    let Some(ModelEvent::Error(err)) = events.last() else { panic!("{events:?}") };
    let said = err.to_string();
    assert!(said.contains("providers.openai.max_tokens_field = \"max_completion_tokens\""), "{said}");
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn a_bad_option_value_is_a_configuration_error() {
    let mut config = provider(ProviderKind::Openai, "http://127.0.0.1:9/v1", "m");
    config.api_key_env = String::new();
    config.reasoning_effort = Some("extreme".into());
    let err = ambidex::llm::client_for("p", &config, String::new()).err().unwrap();
    assert!(err.to_string().contains("minimal, low, medium, high"), "{err}");
    config.reasoning_effort = None;
    config.max_tokens_field = Some("tokens".into());
    let err = ambidex::llm::client_for("p", &config, String::new()).err().unwrap();
    assert!(err.to_string().contains("max_completion_tokens"), "{err}");
}

#[tokio::test]
async fn anthropic_marks_the_system_prompt_and_tools_for_caching_and_costs_cached_tokens() {
    let cached = fixture("anthropic_text.sse");
    let cached = String::from_utf8(cached).unwrap().replace(
        r#""input_tokens":25,"cache_creation_input_tokens":0,"cache_read_input_tokens":0"#,
        r#""input_tokens":25,"cache_creation_input_tokens":100,"cache_read_input_tokens":1000"#,
    );
    let server = FakeServer::start(vec![Reply::chunked(cached.as_bytes(), 512)]).await;
    let config = provider(ProviderKind::Anthropic, &server.url, "claude-sonnet-4-6");
    let client = client("anthropic", &config, fast_policy(0, 2000));
    let request =
        ModelRequest { tools: vec![tool(), ToolDefinition { name: "write_file".into(), ..tool() }], ..hello_request() };
    let events = collect(client.as_ref(), request).await;
    let body = &server.requests()[0].body;
    assert_eq!(body["system"][0]["text"], "Be brief.");
    assert_eq!(body["system"][0]["cache_control"]["type"], "ephemeral", "{body}");
    assert!(body["tools"][0].get("cache_control").is_none());
    assert_eq!(body["tools"][1]["cache_control"]["type"], "ephemeral");
    assert_eq!(body["max_tokens"], 64);
    // $2 input, so $0.20 cached and $2.50 written; $8 output: 25 × 2 + 1000 × 0.2 + 100 × 2.5 + 15 × 8.
    let usage = events.iter().find_map(|e| match e {
        ModelEvent::Usage(usage) => Some(*usage),
        _ => None,
    });
    assert_eq!(usage, Some(Usage { input_tokens: 1125, output_tokens: 15, cost_micros: 50 + 200 + 250 + 120 }));
}

#[tokio::test]
async fn anthropic_without_caching_sends_a_plain_system_prompt_and_its_default_limit() {
    let server = FakeServer::start(vec![Reply::chunked(&fixture("anthropic_text.sse"), 512)]).await;
    let mut config = provider(ProviderKind::Anthropic, &server.url, "claude-sonnet-4-6");
    config.prompt_caching = false;
    let client = client("anthropic", &config, fast_policy(0, 2000));
    collect(client.as_ref(), ModelRequest { max_tokens: 0, ..hello_request() }).await;
    let body = &server.requests()[0].body;
    assert_eq!(body["system"], "Be brief.");
    assert_eq!(body["max_tokens"], ModelRequest::ANTHROPIC_DEFAULT_MAX_TOKENS, "Anthropic requires a limit");
}

#[tokio::test]
async fn openai_cached_prompt_tokens_cost_the_cached_price() {
    let text = String::from_utf8(fixture("openai_text.sse")).unwrap();
    let usage_line = text.lines().find(|l| l.contains("\"usage\"") && l.contains("prompt_tokens")).unwrap().to_owned();
    let mut chunk: serde_json::Value = serde_json::from_str(usage_line.trim_start_matches("data: ")).unwrap();
    chunk["usage"]["prompt_tokens_details"] = json!({ "cached_tokens": 50 });
    let replaced = text.replace(&usage_line, &format!("data: {chunk}"));
    let server = FakeServer::start(vec![Reply::chunked(replaced.as_bytes(), 512)]).await;
    let mut config = provider(ProviderKind::Openai, &format!("{}/v1", server.url), "m");
    config.cached_input_price_per_mtok = Some(0.2);
    let client = client("p", &config, fast_policy(0, 2000));
    let events = collect(client.as_ref(), hello_request()).await;
    let usage = events.iter().find_map(|e| match e {
        ModelEvent::Usage(usage) => Some(*usage),
        _ => None,
    });
    // 57 prompt tokens (50 cached) and 9 completion tokens: 7 × 2 + 50 × 0.2 + 9 × 8.
    assert_eq!(usage, Some(Usage { input_tokens: 57, output_tokens: 9, cost_micros: 14 + 10 + 72 }));
}

#[tokio::test]
async fn a_responses_model_without_encrypted_reasoning_names_the_setting_that_stops_asking() {
    let refusal = r#"{"error":{"message":"Encrypted content is not supported with this model.","type":"invalid_request_error","param":"include","code":null}}"#;
    let server = FakeServer::start(vec![Reply::status(400, refusal)]).await;
    let base = format!("{}/v1", server.url);
    let client = client("openai-responses", &provider(ProviderKind::OpenaiResponses, &base, "m"), fast_policy(0, 2000));
    let events = collect(client.as_ref(), hello_request()).await;
    let Some(ModelEvent::Error(err)) = events.last() else { panic!("{events:?}") };
    assert!(err.to_string().contains("providers.openai-responses.extra_body = { include = [] }"), "{err}");
}

#[tokio::test]
async fn an_anthropic_provider_takes_a_thinking_budget_and_others_only_named_efforts() {
    let mut config = provider(ProviderKind::Anthropic, "http://127.0.0.1:9", "m");
    config.api_key_env = String::new();
    config.reasoning_effort = Some("16000".into());
    assert!(ambidex::llm::client_for("a", &config, String::new()).is_ok());
    config.kind = ProviderKind::OpenaiResponses;
    let err = ambidex::llm::client_for("r", &config, String::new()).err().unwrap();
    assert!(err.to_string().contains("use one of none, minimal"), "{err}");
}
