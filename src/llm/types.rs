//! The provider-neutral request and event types every model client speaks.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::error::ModelError;
use crate::protocol::{EventKind, Role};

/// One call to a model: everything the model sees, plus who is calling.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ModelRequest {
    /// The model; empty means the client's default (the provider's or the role's model).
    pub model: String,
    /// The system prompt; empty means none.
    pub system: String,
    /// The conversation so far, oldest first.
    pub messages: Vec<Message>,
    /// The tools the model may call.
    pub tools: Vec<ToolDefinition>,
    /// The most tokens the reply may have; 0 sends no limit (Anthropic, which requires one,
    /// gets [`ModelRequest::ANTHROPIC_DEFAULT_MAX_TOKENS`]).
    pub max_tokens: u32,
    /// Sampling temperature; `None` leaves the server's default.
    pub temperature: Option<f32>,
    /// How hard a reasoning model thinks (`minimal`, `low`, `medium`, `high`); `None` sends none.
    pub reasoning_effort: Option<String>,
    /// The agent role making the call. The scripted provider plays that role's turns; the HTTP
    /// providers ignore it.
    pub role: Option<Role>,
    /// The Left Hand candidate making the call (`c1`, …). The scripted provider plays that
    /// candidate's turns when its script has any; the HTTP providers ignore it.
    pub candidate: Option<String>,
}

impl ModelRequest {
    /// The reply length Anthropic gets when [`ModelRequest::max_tokens`] is 0 (its API requires one).
    pub const ANTHROPIC_DEFAULT_MAX_TOKENS: u32 = 8192;
}

/// One message of a conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "role", rename_all = "snake_case")]
pub enum Message {
    /// Something the user (or the engine on its behalf) says.
    User {
        /// The text.
        content: String,
    },
    /// An earlier model reply: its text and the tools it called.
    Assistant {
        /// The text; may be empty when the reply was only tool calls.
        #[serde(default)]
        content: String,
        /// The tool calls, in the order the model made them.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        tool_calls: Vec<ToolCall>,
        /// The model's reasoning items of this reply, opaque, sent back as they came (see
        /// [`ModelEvent::Reasoning`]).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        reasoning: Vec<Value>,
    },
    /// The result of one tool call, answering an earlier assistant message.
    Tool {
        /// The id of the call this answers.
        call_id: String,
        /// The (already redacted) output.
        content: String,
        /// Whether the tool failed; the model sees this as an error result.
        #[serde(default)]
        is_error: bool,
    },
}

impl Message {
    /// A user message.
    pub fn user(content: impl Into<String>) -> Self {
        Message::User { content: content.into() }
    }

    /// An assistant message with text only.
    pub fn assistant(content: impl Into<String>) -> Self {
        Message::Assistant { content: content.into(), tool_calls: Vec::new(), reasoning: Vec::new() }
    }

    /// A successful tool result.
    pub fn tool_result(call_id: impl Into<String>, content: impl Into<String>) -> Self {
        Message::Tool { call_id: call_id.into(), content: content.into(), is_error: false }
    }
}

/// A tool the model may call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolDefinition {
    /// The stable tool name, e.g. `read_file`.
    pub name: String,
    /// What the tool does, for the model.
    pub description: String,
    /// The JSON schema of the arguments object.
    pub parameters: Value,
}

/// A tool call made by the model, with arguments parsed as JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    /// The call id the tool result must quote.
    pub id: String,
    /// The tool name.
    pub name: String,
    /// The arguments, always a JSON object.
    pub arguments: Value,
}

/// Tokens and money spent by one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Usage {
    /// Prompt tokens, cached ones included.
    pub input_tokens: u64,
    /// Completion tokens.
    pub output_tokens: u64,
    /// Cost in micro-dollars, from the provider's prices.
    pub cost_micros: u64,
}

/// Why the model stopped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FinishReason {
    /// The reply is complete.
    Stop,
    /// The model wants tool results before it goes on.
    ToolCalls,
    /// The reply hit `max_tokens`.
    Length,
    /// The provider withheld or refused the reply.
    ContentFilter,
    /// Anything else the server said, verbatim.
    Other(String),
}

impl FinishReason {
    /// The snake_case name (`stop`, `tool_calls`, …; `Other` gives the server's word).
    pub fn as_str(&self) -> &str {
        match self {
            FinishReason::Stop => "stop",
            FinishReason::ToolCalls => "tool_calls",
            FinishReason::Length => "length",
            FinishReason::ContentFilter => "content_filter",
            FinishReason::Other(other) => other,
        }
    }
}

/// One item of a model stream.
///
/// A stream yields deltas and tool calls as they arrive, possibly [`ModelEvent::Retry`] items
/// before any content, then either [`ModelEvent::Usage`] (when the server reports it) followed by
/// [`ModelEvent::Finished`], or a final [`ModelEvent::Error`].
#[derive(Debug, Clone, PartialEq)]
pub enum ModelEvent {
    /// A piece of reply text.
    TextDelta(String),
    /// A complete tool call with parsed arguments.
    ToolCall(ToolCall),
    /// A tool call whose arguments are not a JSON object; feed `error` back to the model.
    ToolCallError {
        /// The call id (generated when the server sent none).
        id: String,
        /// The tool name (may be empty when the server sent none).
        name: String,
        /// The arguments exactly as the model wrote them.
        raw_arguments: String,
        /// What is wrong with them.
        error: String,
    },
    /// One item of the model's reasoning (an Anthropic `thinking` block with its signature, an
    /// OpenAI Responses `reasoning` item with its encrypted content). It is never shown: it goes
    /// back to the server, unchanged, with the reply it came with, as both APIs require for a
    /// reasoning model to keep its train of thought across tool calls.
    Reasoning(Value),
    /// Token usage and cost of this call.
    Usage(Usage),
    /// An attempt failed before any content and the client will try again after `delay`.
    Retry {
        /// The attempt that failed (1-based).
        attempt: u32,
        /// Why, in a few words.
        reason: String,
        /// How long the client waits before the next attempt.
        delay: Duration,
    },
    /// The reply is complete.
    Finished(FinishReason),
    /// The call failed; nothing follows.
    Error(ModelError),
}

impl ModelEvent {
    /// Whether this event carries reply content (after which a failed stream is not retried).
    pub fn is_content(&self) -> bool {
        matches!(self, ModelEvent::TextDelta(_) | ModelEvent::ToolCall(_) | ModelEvent::ToolCallError { .. })
    }

    /// The event to persist for a retry notice or usage report (`ModelRetry`, `UsageRecorded`).
    pub fn to_event_kind(&self) -> Option<EventKind> {
        match self {
            ModelEvent::Retry { attempt, reason, delay } => Some(EventKind::ModelRetry {
                attempt: *attempt,
                reason: reason.clone(),
                delay_ms: u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
            }),
            ModelEvent::Usage(usage) => Some(EventKind::UsageRecorded {
                input_tokens: usage.input_tokens,
                output_tokens: usage.output_tokens,
                cost_micros: usage.cost_micros,
            }),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_and_usage_map_to_persisted_events() {
        let retry = ModelEvent::Retry { attempt: 2, reason: "rate limited".into(), delay: Duration::from_millis(1500) };
        assert_eq!(
            retry.to_event_kind(),
            Some(EventKind::ModelRetry { attempt: 2, reason: "rate limited".into(), delay_ms: 1500 })
        );
        let usage = ModelEvent::Usage(Usage { input_tokens: 10, output_tokens: 2, cost_micros: 36 });
        assert_eq!(
            usage.to_event_kind(),
            Some(EventKind::UsageRecorded { input_tokens: 10, output_tokens: 2, cost_micros: 36 })
        );
        assert_eq!(ModelEvent::TextDelta("x".into()).to_event_kind(), None);
    }
}
