//! Behaviour every HTTP provider must show, run against the fake server by `llm_openai`,
//! `llm_anthropic` and `llm_responses` with that API's recorded fixtures and expectations.
#![allow(dead_code)]

use std::time::Duration;

use serde_json::json;

use ambidex::config::ProviderKind;
use ambidex::llm::{FinishReason, ModelErrorKind, ModelEvent, ToolCall, Usage};

use crate::fake_model::*;

/// The suite as `#[tokio::test]` functions against `$api` (an [`Api`]): what each provider's test
/// file runs, so that no provider can skip a case.
macro_rules! conformance_tests {
    ($api:expr) => {
        #[tokio::test]
        async fn plain_text_with_usage() {
            crate::fake_model_cases::plain_text(&$api).await;
        }
        #[tokio::test]
        async fn parallel_tool_calls_split_at_awkward_boundaries() {
            crate::fake_model_cases::parallel_tool_calls_split_awkwardly(&$api).await;
        }
        #[tokio::test]
        async fn malformed_tool_arguments_become_tool_call_errors() {
            crate::fake_model_cases::malformed_tool_arguments(&$api).await;
        }
        #[tokio::test]
        async fn error_event_mid_stream_ends_the_stream() {
            crate::fake_model_cases::error_event_mid_stream(&$api).await;
        }
        #[tokio::test]
        async fn rate_limited_with_retry_after_then_success() {
            crate::fake_model_cases::rate_limited_then_success(&$api).await;
        }
        #[tokio::test]
        async fn server_errors_are_retried_until_the_limit() {
            crate::fake_model_cases::server_errors_until_the_limit(&$api).await;
        }
        #[tokio::test]
        async fn dropped_connection_before_content_is_retried() {
            crate::fake_model_cases::dropped_before_content_is_retried(&$api).await;
        }
        #[tokio::test]
        async fn dropped_connection_after_content_is_an_error() {
            crate::fake_model_cases::dropped_after_content_is_an_error(&$api).await;
        }
        #[tokio::test]
        async fn stall_before_content_is_retried() {
            crate::fake_model_cases::stall_before_content_is_retried(&$api).await;
        }
        #[tokio::test]
        async fn stall_after_content_is_an_error() {
            crate::fake_model_cases::stall_after_content_is_an_error(&$api).await;
        }
        #[tokio::test]
        async fn bad_key_names_the_variable() {
            crate::fake_model_cases::bad_key_names_the_variable_and_is_redacted(&$api).await;
        }
        #[tokio::test]
        async fn missing_model_names_the_model() {
            crate::fake_model_cases::missing_model_names_the_model(&$api).await;
        }
        #[tokio::test]
        async fn context_length_is_not_retried() {
            crate::fake_model_cases::context_length_is_not_retried(&$api).await;
        }
        #[tokio::test]
        async fn unreachable_server_names_the_url() {
            crate::fake_model_cases::unreachable_names_the_url(&$api).await;
        }
    };
}
pub(crate) use conformance_tests;

/// One API's fixtures and expectations.
pub struct Api {
    pub kind: ProviderKind,
    /// Fixture prefix: `openai` or `anthropic`.
    pub prefix: &'static str,
    /// The path requests must be posted to.
    pub path: &'static str,
    /// Appended to the server URL to make `base_url`.
    pub base_suffix: &'static str,
    /// Reported (input, output) tokens of the text fixture.
    pub text_usage: (u64, u64),
    /// Text before the tool calls in the tools fixture.
    pub tools_text: &'static str,
    /// The two tool-call ids of the tools fixture.
    pub tool_ids: [&'static str; 2],
    /// Reported (input, output) tokens of the tools fixture.
    pub tools_usage: (u64, u64),
    /// Of the tools fixture's input tokens, those read from the prompt cache (costed at a tenth
    /// of the input price where the provider's default says so: Anthropic's).
    pub tools_cached: u64,
    /// The two tool-call ids of the malformed fixture.
    pub malformed_ids: [&'static str; 2],
    /// Reported (input, output) tokens of the malformed fixture.
    pub malformed_usage: (u64, u64),
    /// Words the error event's message contains.
    pub error_words: &'static str,
}

impl Api {
    pub fn fixture(&self, name: &str) -> Vec<u8> {
        fixture(&format!("{}_{name}.sse", self.prefix))
    }

    pub fn client(
        &self,
        server: &FakeServer,
        policy: ambidex::llm::RetryPolicy,
    ) -> std::sync::Arc<dyn ambidex::llm::ModelClient> {
        let base = format!("{}{}", server.url, self.base_suffix);
        client("fake", &provider(self.kind, &base, "test-model"), policy)
    }
}

fn usage((input, output): (u64, u64)) -> ModelEvent {
    ModelEvent::Usage(Usage { input_tokens: input, output_tokens: output, cost_micros: input * 2 + output * 8 })
}

/// The events of the text fixture.
pub fn text_events(api: &Api) -> Vec<ModelEvent> {
    let mut events: Vec<ModelEvent> =
        ["Hello", " from", " the", " café", " ☕", "!"].into_iter().map(|t| ModelEvent::TextDelta(t.into())).collect();
    events.push(usage(api.text_usage));
    events.push(ModelEvent::Finished(FinishReason::Stop));
    events
}

pub async fn plain_text(api: &Api) {
    let server = FakeServer::start(vec![Reply::chunked(&api.fixture("text"), 97)]).await;
    let client = api.client(&server, fast_policy(0, 2000));
    let events = collect(client.as_ref(), hello_request()).await;
    assert_eq!(events, text_events(api));
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].method, "POST");
    assert_eq!(requests[0].path, api.path);
    assert_eq!(requests[0].body["model"], json!("test-model"));
    assert_eq!(requests[0].body["stream"], json!(true));
}

pub async fn parallel_tool_calls_split_awkwardly(api: &Api) {
    let bytes = api.fixture("tools");
    let text = std::str::from_utf8(&bytes).expect("utf-8 fixture");
    let mut cuts: Vec<usize> = (29..bytes.len()).step_by(29).collect();
    cuts.push(find(&bytes, "é") + 1);
    cuts.push(find(&bytes, "日本") + 2);
    cuts.push(find(&bytes, "☕") + 1);
    cuts.push(find(&bytes, "\n\n") + 1);
    cuts.push(find(&bytes, "data:") + 3);
    cuts.sort_unstable();
    cuts.dedup();
    let inside_chars = cuts.iter().filter(|&&c| !text.is_char_boundary(c)).count();
    assert!(inside_chars >= 3, "cuts must fall inside multi-byte characters");
    let server = FakeServer::start(vec![Reply::split_at(&bytes, &cuts)]).await;
    let client = api.client(&server, fast_policy(0, 2000));
    let events = collect(client.as_ref(), hello_request()).await;
    let mut expected = Vec::new();
    if !api.tools_text.is_empty() {
        assert_eq!(text_of(&events), api.tools_text);
        expected.extend(events.iter().filter(|e| matches!(e, ModelEvent::TextDelta(_))).cloned());
    }
    expected.push(ModelEvent::ToolCall(ToolCall {
        id: api.tool_ids[0].into(),
        name: "read_file".into(),
        arguments: json!({"path": "src/café.rs", "start": 10}),
    }));
    expected.push(ModelEvent::ToolCall(ToolCall {
        id: api.tool_ids[1].into(),
        name: "search".into(),
        arguments: json!({"pattern": "日本語 ☕", "max": 5}),
    }));
    let (input, output) = api.tools_usage;
    let cached_price = if api.kind == ProviderKind::Anthropic { 0.2 } else { 2.0 };
    let cost = ((input - api.tools_cached) as f64 * 2.0 + api.tools_cached as f64 * cached_price) as u64 + output * 8;
    expected.push(ModelEvent::Usage(Usage { input_tokens: input, output_tokens: output, cost_micros: cost }));
    expected.push(ModelEvent::Finished(FinishReason::ToolCalls));
    assert_eq!(events, expected);
}

pub async fn malformed_tool_arguments(api: &Api) {
    let server = FakeServer::start(vec![Reply::chunked(&api.fixture("malformed"), 50)]).await;
    let client = api.client(&server, fast_policy(0, 2000));
    let events = collect(client.as_ref(), hello_request()).await;
    let raw = r#"{"path": "src/main.rs", "old": "fn main() {", "new": "fn main() -> Result<()> {""#;
    match &events[0] {
        ModelEvent::ToolCallError { id, name, raw_arguments, error } => {
            assert_eq!(id, api.malformed_ids[0]);
            assert_eq!(name, "edit_file");
            assert_eq!(raw_arguments, raw);
            assert!(error.contains("not valid JSON"), "{error}");
        }
        other => panic!("expected a tool-call error, got {other:?}"),
    }
    assert_eq!(
        events[1..],
        [
            ModelEvent::ToolCall(ToolCall {
                id: api.malformed_ids[1].into(),
                name: "git_diff".into(),
                arguments: json!({}),
            }),
            usage(api.malformed_usage),
            ModelEvent::Finished(FinishReason::ToolCalls),
        ]
    );
}

pub async fn error_event_mid_stream(api: &Api) {
    let server =
        FakeServer::start(vec![Reply::chunked(&api.fixture("error"), 40), Reply::chunked(&api.fixture("text"), 40)])
            .await;
    let client = api.client(&server, fast_policy(3, 2000));
    let events = collect(client.as_ref(), hello_request()).await;
    assert_eq!(events[..2], [ModelEvent::TextDelta("Partial".into()), ModelEvent::TextDelta(" answer".into())]);
    assert_eq!(events.len(), 3, "{events:?}");
    let ModelEvent::Error(err) = &events[2] else {
        panic!("expected an error, got {:?}", events[2]);
    };
    assert_eq!(err.kind, ModelErrorKind::Server { status: None });
    assert!(err.message.contains(api.error_words), "{err}");
    assert!(err.message.contains("partial output"), "{err}");
    assert_eq!(server.requests().len(), 1, "no retry after content");
}

pub async fn rate_limited_then_success(api: &Api) {
    let server = FakeServer::start(vec![
        Reply::status_with(
            429,
            ("retry-after", "0.05"),
            r#"{"error":{"type":"rate_limit_error","message":"slow down"}}"#,
        ),
        Reply::chunked(&api.fixture("text"), 64),
    ])
    .await;
    let client = api.client(&server, fast_policy(2, 2000));
    let events = collect(client.as_ref(), hello_request()).await;
    match &events[0] {
        ModelEvent::Retry { attempt, reason, delay } => {
            assert_eq!(*attempt, 1);
            assert!(reason.contains("rate limited") && reason.contains("slow down"), "{reason}");
            assert_eq!(*delay, Duration::from_millis(50), "Retry-After is honoured");
        }
        other => panic!("expected a retry, got {other:?}"),
    }
    assert_eq!(events[1..], text_events(api)[..]);
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].body, requests[1].body);
}

pub async fn server_errors_until_the_limit(api: &Api) {
    let failing = || Reply::status(500, r#"{"error":{"message":"upstream exploded"}}"#);
    let server =
        FakeServer::start(vec![failing(), failing(), failing(), Reply::chunked(&api.fixture("text"), 64)]).await;
    let client = api.client(&server, fast_policy(2, 2000));
    let events = collect(client.as_ref(), hello_request()).await;
    assert_eq!(events.len(), 3, "{events:?}");
    for (n, event) in events[..2].iter().enumerate() {
        assert!(
            matches!(event, ModelEvent::Retry { attempt, reason, .. }
                if *attempt == n as u32 + 1 && reason.contains("HTTP 500")),
            "{event:?}"
        );
    }
    let ModelEvent::Error(err) = &events[2] else {
        panic!("expected an error");
    };
    assert_eq!(err.kind, ModelErrorKind::Server { status: Some(500) });
    assert!(err.message.contains("gave up after 3 attempts"), "{err}");
    assert!(err.message.contains("upstream exploded"), "{err}");
    assert_eq!(server.requests().len(), 3);
    assert_eq!(server.unused_replies(), 1);
}

pub async fn dropped_before_content_is_retried(api: &Api) {
    let bytes = api.fixture("text");
    let server =
        FakeServer::start(vec![Reply::prefix(&bytes, find(&bytes, "Hello"), End::Drop), Reply::chunked(&bytes, 64)])
            .await;
    let client = api.client(&server, fast_policy(2, 2000));
    let events = collect(client.as_ref(), hello_request()).await;
    assert!(
        matches!(&events[0], ModelEvent::Retry { attempt: 1, reason, .. } if reason.contains("connection dropped")),
        "{:?}",
        events[0]
    );
    assert_eq!(events[1..], text_events(api)[..]);
}

pub async fn dropped_after_content_is_an_error(api: &Api) {
    let bytes = api.fixture("text");
    let server =
        FakeServer::start(vec![Reply::prefix(&bytes, find(&bytes, "café"), End::Drop), Reply::chunked(&bytes, 64)])
            .await;
    let client = api.client(&server, fast_policy(2, 2000));
    let events = collect(client.as_ref(), hello_request()).await;
    assert_eq!(text_of(&events), "Hello from the");
    let Some(ModelEvent::Error(err)) = events.last() else {
        panic!("expected an error: {events:?}");
    };
    assert_eq!(err.kind, ModelErrorKind::Interrupted);
    assert!(err.message.contains("partial output"), "{err}");
    assert!(!events.iter().any(|e| matches!(e, ModelEvent::Retry { .. })));
    assert_eq!(server.requests().len(), 1);
}

pub async fn stall_before_content_is_retried(api: &Api) {
    let bytes = api.fixture("text");
    let server =
        FakeServer::start(vec![Reply::prefix(&bytes, find(&bytes, "Hello"), End::Stall), Reply::chunked(&bytes, 64)])
            .await;
    let client = api.client(&server, fast_policy(1, 300));
    let events = collect(client.as_ref(), hello_request()).await;
    assert!(
        matches!(&events[0], ModelEvent::Retry { attempt: 1, reason, .. } if reason.contains("no data for 300 ms")),
        "{:?}",
        events[0]
    );
    assert_eq!(events[1..], text_events(api)[..]);
}

pub async fn stall_after_content_is_an_error(api: &Api) {
    let bytes = api.fixture("text");
    let server =
        FakeServer::start(vec![Reply::prefix(&bytes, find(&bytes, "café"), End::Stall), Reply::chunked(&bytes, 64)])
            .await;
    let client = api.client(&server, fast_policy(2, 300));
    let events = collect(client.as_ref(), hello_request()).await;
    assert_eq!(text_of(&events), "Hello from the");
    let Some(ModelEvent::Error(err)) = events.last() else {
        panic!("expected an error: {events:?}");
    };
    assert_eq!(err.kind, ModelErrorKind::Timeout { after: Duration::from_millis(300) });
    assert!(err.message.contains("idle_timeout_secs"), "{err}");
    assert_eq!(server.requests().len(), 1);
}

pub async fn bad_key_names_the_variable_and_is_redacted(api: &Api) {
    let echo = format!(r#"{{"error":{{"type":"authentication_error","message":"invalid x-api-key {TEST_KEY}"}}}}"#);
    let server = FakeServer::start(vec![Reply::status(401, &echo)]).await;
    let client = api.client(&server, fast_policy(3, 2000));
    let events = collect(client.as_ref(), hello_request()).await;
    let [ModelEvent::Error(err)] = events.as_slice() else {
        panic!("expected one error: {events:?}");
    };
    assert_eq!(err.kind, ModelErrorKind::Auth { env_var: KEY_ENV.into() });
    assert!(err.message.contains(KEY_ENV), "{err}");
    assert!(!err.message.contains(TEST_KEY) && !err.detail.contains(TEST_KEY));
    assert!(err.message.contains("[REDACTED]"), "{err}");
    assert!(!format!("{client:?}").contains(TEST_KEY));
    assert_eq!(server.requests().len(), 1, "401 is not retried");
}

pub async fn missing_model_names_the_model(api: &Api) {
    let server = FakeServer::start(vec![Reply::status(
        404,
        r#"{"error":{"type":"not_found_error","message":"model: test-model"}}"#,
    )])
    .await;
    let client = api.client(&server, fast_policy(3, 2000));
    let events = collect(client.as_ref(), hello_request()).await;
    let [ModelEvent::Error(err)] = events.as_slice() else {
        panic!("expected one error: {events:?}");
    };
    assert_eq!(err.kind, ModelErrorKind::NotFound { model: "test-model".into() });
    assert!(err.message.contains("`test-model`"), "{err}");
    assert_eq!(server.requests().len(), 1);
}

pub async fn context_length_is_not_retried(api: &Api) {
    let server = FakeServer::start(vec![Reply::status(
        400,
        r#"{"error":{"type":"invalid_request_error","code":"context_length_exceeded","message":"prompt is too long: 250000 tokens > 200000 maximum"}}"#,
    )])
    .await;
    let client = api.client(&server, fast_policy(3, 2000));
    let events = collect(client.as_ref(), hello_request()).await;
    let [ModelEvent::Error(err)] = events.as_slice() else {
        panic!("expected one error: {events:?}");
    };
    assert_eq!(err.kind, ModelErrorKind::ContextLength);
    assert!(err.message.contains("shorten"), "{err}");
    assert_eq!(server.requests().len(), 1);
}

pub async fn unreachable_names_the_url(api: &Api) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    let base = format!("http://127.0.0.1:{port}{}", api.base_suffix);
    let client = client("fake", &provider(api.kind, &base, "m"), fast_policy(1, 2000));
    let events = collect(client.as_ref(), hello_request()).await;
    assert!(matches!(&events[0], ModelEvent::Retry { attempt: 1, .. }), "{events:?}");
    let Some(ModelEvent::Error(err)) = events.last() else {
        panic!("expected an error");
    };
    let url = format!("http://127.0.0.1:{port}{}", api.path);
    assert_eq!(err.kind, ModelErrorKind::Unreachable { url: url.clone() });
    assert!(err.message.contains(&url), "{err}");
    assert!(err.message.contains("gave up after 2 attempts"), "{err}");
}
