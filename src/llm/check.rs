//! A connectivity check: one tiny streaming request with one trivial tool.

use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::{Value, json};

use super::ModelClient;
use super::error::ModelError;
use super::types::{FinishReason, Message, ModelEvent, ModelRequest, ToolDefinition, Usage};

/// The tool the check asks the model to call.
pub const CHECK_TOOL: &str = "ping";

/// Whether the model used the check's tool.
#[derive(Debug, Clone, PartialEq)]
pub enum ToolCheck {
    /// It called a tool with valid arguments.
    Called {
        /// The tool it called.
        name: String,
        /// The arguments it sent.
        arguments: Value,
    },
    /// It called a tool but its arguments were not a JSON object.
    Malformed {
        /// What was wrong.
        error: String,
    },
    /// It answered with text only.
    NotCalled,
}

impl ToolCheck {
    /// Whether tool calling works with this model.
    pub fn works(&self) -> bool {
        matches!(self, ToolCheck::Called { .. })
    }
}

/// What a check found.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckReport {
    /// The provider's name.
    pub provider: String,
    /// The model asked.
    pub model: String,
    /// Time from sending the request to the end of the reply.
    pub latency: Duration,
    /// Time to the first reply content, when there was any.
    pub first_content: Option<Duration>,
    /// Usage, when the server reported it.
    pub usage: Option<Usage>,
    /// Whether the model called the tool.
    pub tool_calls: ToolCheck,
    /// The reply text.
    pub text: String,
    /// Why the model stopped.
    pub finish: Option<FinishReason>,
    /// The reasons of any retries.
    pub retries: Vec<String>,
}

/// The check's request: a short instruction and the `ping` tool.
pub fn check_request() -> ModelRequest {
    ModelRequest {
        system: "You are a connectivity check. Reply by calling the `ping` tool once with \
                 {\"echo\": \"ok\"}."
            .into(),
        messages: vec![Message::user("Call the ping tool now.")],
        tools: vec![ToolDefinition {
            name: CHECK_TOOL.into(),
            description: "Answers a connectivity check.".into(),
            parameters: json!({
                "type": "object",
                "properties": { "echo": { "type": "string", "description": "Say ok." } },
                "required": ["echo"],
            }),
        }],
        max_tokens: 128,
        ..ModelRequest::default()
    }
}

/// Sends [`check_request`] through `client` and reports what came back.
pub async fn check(client: &dyn ModelClient) -> Result<CheckReport, ModelError> {
    check_with_progress(client, &mut |_| {}).await
}

/// [`check`], showing every event to `progress` as it arrives (e.g. to print retries live).
pub async fn check_with_progress(
    client: &dyn ModelClient,
    progress: &mut (dyn FnMut(&ModelEvent) + Send),
) -> Result<CheckReport, ModelError> {
    let started = Instant::now();
    let mut stream = client.stream(check_request());
    let mut report = CheckReport {
        provider: client.name().to_owned(),
        model: client.model().to_owned(),
        latency: Duration::ZERO,
        first_content: None,
        usage: None,
        tool_calls: ToolCheck::NotCalled,
        text: String::new(),
        finish: None,
        retries: Vec::new(),
    };
    while let Some(event) = stream.next().await {
        progress(&event);
        if event.is_content() && report.first_content.is_none() {
            report.first_content = Some(started.elapsed());
        }
        match event {
            ModelEvent::TextDelta(text) => report.text.push_str(&text),
            ModelEvent::ToolCall(call) => {
                if !report.tool_calls.works() {
                    report.tool_calls = ToolCheck::Called { name: call.name, arguments: call.arguments };
                }
            }
            ModelEvent::ToolCallError { error, .. } => {
                if !report.tool_calls.works() {
                    report.tool_calls = ToolCheck::Malformed { error };
                }
            }
            ModelEvent::Usage(usage) => report.usage = Some(usage),
            ModelEvent::Reasoning(_) => {}
            ModelEvent::Retry { reason, .. } => report.retries.push(reason),
            ModelEvent::Finished(reason) => {
                report.finish = Some(reason);
                break;
            }
            ModelEvent::Error(err) => return Err(err),
        }
    }
    report.latency = started.elapsed();
    Ok(report)
}
