//! From response bytes to [`ModelEvent`]s: the SSE parser plus one wire format's event assembly.
//!
//! This is the whole streaming path minus the network, so tests and benchmarks can feed recorded
//! streams split anywhere and must get the same events.

use serde_json::{Map, Value};

use super::anthropic;
use super::cost::Prices;
use super::error::{ModelError, ModelErrorKind};
use super::openai;
use super::responses;
use super::sse::{SseEvent, SseParser};
use super::types::{FinishReason, ModelEvent, ToolCall};

/// The streaming wire formats the HTTP clients speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WireFormat {
    /// OpenAI chat completions (`data:` chunks ending in `[DONE]`).
    OpenAi,
    /// Anthropic messages (typed `message_start` … `message_stop` events).
    Anthropic,
    /// OpenAI Responses (typed `response.*` events ending in `response.completed`).
    OpenAiResponses,
}

/// Why a stream could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Fault {
    /// The server sent an error event; `kind` is its type or code.
    Remote { kind: String, message: String },
    /// Data that is not the wire format.
    Malformed(String),
    /// The stream ended before the reply was complete.
    Truncated,
}

impl Fault {
    /// The fault as an error without a provider context (for decoding recorded streams).
    pub(crate) fn into_plain_error(self) -> ModelError {
        match self {
            Fault::Remote { kind, message } => {
                ModelError::new(ModelErrorKind::Server { status: None }, format!("{kind}: {message}"))
                    .with_detail(message)
            }
            Fault::Malformed(detail) => ModelError::new(ModelErrorKind::Protocol, detail.clone()).with_detail(detail),
            Fault::Truncated => {
                ModelError::new(ModelErrorKind::Interrupted, "the stream ended before the reply was complete")
            }
        }
    }
}

enum Assembler {
    OpenAi(openai::Decoder),
    Anthropic(anthropic::Decoder),
    Responses(responses::Decoder),
}

/// Decodes one response body, pushed in chunks of any size.
pub struct StreamDecoder {
    parser: SseParser,
    assembler: Assembler,
    pending: Vec<SseEvent>,
}

impl StreamDecoder {
    /// A decoder for one response in `format`, costing usage with `prices`.
    pub fn new(format: WireFormat, prices: Prices) -> Self {
        let assembler = match format {
            WireFormat::OpenAi => Assembler::OpenAi(openai::Decoder::new(prices)),
            WireFormat::Anthropic => Assembler::Anthropic(anthropic::Decoder::new(prices)),
            WireFormat::OpenAiResponses => Assembler::Responses(responses::Decoder::new(prices)),
        };
        Self { parser: SseParser::new(), assembler, pending: Vec::new() }
    }

    /// Feeds a chunk; the events it completes are appended to `out` (even when it then fails).
    pub fn push(&mut self, bytes: &[u8], out: &mut Vec<ModelEvent>) -> Result<(), ModelError> {
        self.push_raw(bytes, out).map_err(Fault::into_plain_error)
    }

    /// Ends the body: fails when the reply was not complete.
    pub fn finish(&mut self, out: &mut Vec<ModelEvent>) -> Result<(), ModelError> {
        self.finish_raw(out).map_err(Fault::into_plain_error)
    }

    /// Whether the reply is complete (later bytes are ignored).
    pub fn is_done(&self) -> bool {
        match &self.assembler {
            Assembler::OpenAi(d) => d.is_done(),
            Assembler::Anthropic(d) => d.is_done(),
            Assembler::Responses(d) => d.is_done(),
        }
    }

    pub(crate) fn push_raw(&mut self, bytes: &[u8], out: &mut Vec<ModelEvent>) -> Result<(), Fault> {
        self.parser.push(bytes, &mut self.pending);
        self.drain(out)
    }

    pub(crate) fn finish_raw(&mut self, out: &mut Vec<ModelEvent>) -> Result<(), Fault> {
        if !self.is_done() {
            self.parser.finish(&mut self.pending);
            self.drain(out)?;
        }
        if self.is_done() {
            return Ok(());
        }
        match &mut self.assembler {
            Assembler::OpenAi(d) => d.eof(out),
            Assembler::Anthropic(d) => d.eof(out),
            Assembler::Responses(d) => d.eof(out),
        }
    }

    fn drain(&mut self, out: &mut Vec<ModelEvent>) -> Result<(), Fault> {
        let mut result = Ok(());
        for event in self.pending.drain(..) {
            if result.is_err() {
                break;
            }
            let done = match &self.assembler {
                Assembler::OpenAi(d) => d.is_done(),
                Assembler::Anthropic(d) => d.is_done(),
                Assembler::Responses(d) => d.is_done(),
            };
            if done {
                break;
            }
            result = match &mut self.assembler {
                Assembler::OpenAi(d) => d.event(&event, out),
                Assembler::Anthropic(d) => d.event(&event, out),
                Assembler::Responses(d) => d.event(&event, out),
            };
        }
        self.pending.clear();
        result
    }
}

/// Parses tool-call arguments leniently: empty or `null` is `{}`, a JSON string holding an object
/// is unwrapped; anything else that is not an object is an error naming the problem.
pub(crate) fn parse_arguments(raw: &str) -> Result<Value, String> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Ok(Value::Object(Map::new()));
    }
    match serde_json::from_str::<Value>(trimmed) {
        Ok(Value::Object(map)) => Ok(Value::Object(map)),
        Ok(Value::Null) => Ok(Value::Object(Map::new())),
        Ok(Value::String(inner)) => match serde_json::from_str::<Value>(&inner) {
            Ok(Value::Object(map)) => Ok(Value::Object(map)),
            _ => Err("the arguments must be a JSON object, not a string".into()),
        },
        Ok(other) => Err(format!("the arguments must be a JSON object, not {}", json_type(&other))),
        Err(err) => Err(format!("the arguments are not valid JSON: {err}")),
    }
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A finished tool call as an event: a call when its arguments parse, else a call error.
pub(crate) fn tool_call_event(id: String, name: String, raw: &str) -> ModelEvent {
    if name.is_empty() {
        return ModelEvent::ToolCallError {
            id,
            name,
            raw_arguments: raw.to_owned(),
            error: "the tool call has no tool name".into(),
        };
    }
    match parse_arguments(raw) {
        Ok(arguments) => ModelEvent::ToolCall(ToolCall { id, name, arguments }),
        Err(error) => ModelEvent::ToolCallError { id, name, raw_arguments: raw.to_owned(), error },
    }
}

/// Maps OpenAI-style finish reasons (Anthropic's are mapped to these first).
pub(crate) fn finish_reason(raw: &str) -> FinishReason {
    match raw {
        "stop" | "end_turn" | "stop_sequence" | "eos" => FinishReason::Stop,
        "tool_calls" | "function_call" | "tool_use" => FinishReason::ToolCalls,
        "length" | "max_tokens" => FinishReason::Length,
        "content_filter" | "refusal" => FinishReason::ContentFilter,
        other => FinishReason::Other(other.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn arguments_are_parsed_leniently() {
        assert_eq!(parse_arguments(""), Ok(json!({})));
        assert_eq!(parse_arguments(" null "), Ok(json!({})));
        assert_eq!(parse_arguments(r#"{"a":1}"#), Ok(json!({"a": 1})));
        assert_eq!(parse_arguments(r#""{\"a\":1}""#), Ok(json!({"a": 1})));
        assert!(parse_arguments("[1]").unwrap_err().contains("an array"));
        assert!(parse_arguments(r#"{"a":"#).unwrap_err().contains("not valid JSON"));
    }

    #[test]
    fn nameless_calls_are_errors() {
        let event = tool_call_event("c1".into(), String::new(), "{}");
        assert!(matches!(event, ModelEvent::ToolCallError { .. }));
    }
}
