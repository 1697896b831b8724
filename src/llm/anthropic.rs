//! Anthropic messages: the request body and the typed-event assembler.
//!
//! Events: `message_start` (input usage), `content_block_start` (text or tool_use),
//! `content_block_delta` (`text_delta`, `input_json_delta`), `content_block_stop` (a tool call is
//! complete), `message_delta` (stop reason, output usage), `message_stop`, `ping`, `error`.
//! Unknown event and block types are ignored, as Anthropic's versioning policy asks.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::cost::Prices;
use super::decode::{Fault, finish_reason, tool_call_event};
use super::openai::excerpt;
use super::sse::SseEvent;
use super::types::{FinishReason, Message, ModelEvent, ModelRequest};

/// The `anthropic-version` header value.
pub(crate) const API_VERSION: &str = "2023-06-01";

/// The request body for `POST {base_url}/v1/messages`.
///
/// Tool results become `tool_result` blocks of a user message; consecutive messages of the same
/// role are merged, as the API wants all results of one turn in one user message.
///
/// A reasoning effort turns on extended thinking with a budget (see [`thinking_budget`]); the
/// reply limit is then raised above the budget where needed, temperature is left out (thinking
/// takes only the default), and earlier thinking blocks go back first in their reply, unchanged,
/// as the API requires across tool calls.
///
/// With `caching`, the stable prefix (the system prompt and the tool definitions, the same on
/// every turn of an agent) is marked `cache_control: ephemeral`, so later turns read it from the
/// prompt cache at a tenth of the input price.
pub(crate) fn body(request: &ModelRequest, model: &str, caching: bool) -> Value {
    let mut messages: Vec<(&'static str, Vec<Value>)> = Vec::new();
    for message in &request.messages {
        let (role, blocks) = match message {
            Message::User { content } => ("user", text_block(content).into_iter().collect()),
            Message::Assistant { content, tool_calls, reasoning } => {
                let thinking = reasoning.iter().filter(|block| is_thinking(block)).cloned();
                let mut blocks: Vec<Value> = thinking.chain(text_block(content)).collect();
                blocks.extend(tool_calls.iter().map(|call| {
                    json!({
                        "type": "tool_use",
                        "id": call.id,
                        "name": call.name,
                        "input": call.arguments,
                    })
                }));
                ("assistant", blocks)
            }
            Message::Tool { call_id, content, is_error } => {
                let mut block = json!({
                    "type": "tool_result",
                    "tool_use_id": call_id,
                    "content": content,
                });
                if *is_error && let Value::Object(map) = &mut block {
                    map.insert("is_error".into(), true.into());
                }
                ("user", vec![block])
            }
        };
        match messages.last_mut() {
            Some((last, existing)) if *last == role => existing.extend(blocks),
            _ => messages.push((role, blocks)),
        }
    }
    let messages: Vec<Value> =
        messages.into_iter().map(|(role, content)| json!({ "role": role, "content": content })).collect();
    let mut body = Map::new();
    body.insert("model".into(), model.into());
    let mut max_tokens =
        if request.max_tokens > 0 { request.max_tokens } else { ModelRequest::ANTHROPIC_DEFAULT_MAX_TOKENS };
    let budget = request.reasoning_effort.as_deref().and_then(thinking_budget);
    if let Some(budget) = budget {
        if max_tokens <= budget {
            max_tokens = budget.saturating_add(ModelRequest::ANTHROPIC_DEFAULT_MAX_TOKENS);
        }
        body.insert("thinking".into(), json!({ "type": "enabled", "budget_tokens": budget }));
    }
    body.insert("max_tokens".into(), max_tokens.into());
    if !request.system.is_empty() {
        let system = if caching {
            json!([{ "type": "text", "text": request.system, "cache_control": { "type": "ephemeral" } }])
        } else {
            request.system.clone().into()
        };
        body.insert("system".into(), system);
    }
    body.insert("messages".into(), Value::Array(messages));
    if !request.tools.is_empty() {
        let tools: Vec<Value> = request
            .tools
            .iter()
            .map(|tool| {
                json!({
                    "name": tool.name,
                    "description": tool.description,
                    "input_schema": tool.parameters,
                })
            })
            .collect();
        let mut tools = tools;
        // A breakpoint on the last tool caches every tool definition before it.
        if caching && let Some(Value::Object(last)) = tools.last_mut() {
            last.insert("cache_control".into(), json!({ "type": "ephemeral" }));
        }
        body.insert("tools".into(), Value::Array(tools));
    }
    if let Some(t) = request.temperature.filter(|_| budget.is_none()) {
        body.insert("temperature".into(), json!(t));
    }
    body.insert("stream".into(), true.into());
    Value::Object(body)
}

/// The extended-thinking budget for a reasoning effort: `minimal` 1024 tokens (the least the API
/// takes), `low` 2048, `medium` 8192, `high` 24576, `xhigh` 32768, or a number of tokens; `None`
/// (no thinking) for `none` and anything else.
pub(crate) fn thinking_budget(effort: &str) -> Option<u32> {
    match effort.trim() {
        "minimal" => Some(1024),
        "low" => Some(2048),
        "medium" => Some(8192),
        "high" => Some(24_576),
        "xhigh" => Some(32_768),
        other => other.parse::<u32>().ok().map(|tokens| tokens.max(1024)),
    }
}

/// Whether a reasoning item is one of this API's thinking blocks.
fn is_thinking(block: &Value) -> bool {
    matches!(block["type"].as_str(), Some("thinking" | "redacted_thinking"))
}

/// The API rejects empty text blocks, so empty text is left out.
fn text_block(text: &str) -> Option<Value> {
    (!text.is_empty()).then(|| json!({ "type": "text", "text": text }))
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Wire {
    MessageStart {
        #[serde(default)]
        message: StartMessage,
    },
    ContentBlockStart {
        index: u64,
        content_block: BlockStart,
    },
    ContentBlockDelta {
        index: u64,
        delta: BlockDelta,
    },
    ContentBlockStop {
        index: u64,
    },
    MessageDelta {
        #[serde(default)]
        delta: MessageDeltaBody,
        #[serde(default)]
        usage: Option<WireUsage>,
    },
    MessageStop,
    Ping,
    Error {
        #[serde(default)]
        error: WireError,
    },
    #[serde(other)]
    Unknown,
}

#[derive(Deserialize, Default)]
struct StartMessage {
    #[serde(default)]
    usage: Option<WireUsage>,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum BlockStart {
    Text {
        #[serde(default)]
        text: String,
    },
    ToolUse {
        #[serde(default)]
        id: String,
        #[serde(default)]
        name: String,
        #[serde(default)]
        input: Value,
    },
    Thinking {
        #[serde(default)]
        thinking: String,
        #[serde(default)]
        signature: String,
    },
    RedactedThinking {
        #[serde(default)]
        data: String,
    },
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum BlockDelta {
    TextDelta {
        #[serde(default)]
        text: String,
    },
    InputJsonDelta {
        #[serde(default)]
        partial_json: String,
    },
    ThinkingDelta {
        #[serde(default)]
        thinking: String,
    },
    SignatureDelta {
        #[serde(default)]
        signature: String,
    },
    #[serde(other)]
    Other,
}

#[derive(Deserialize, Default)]
struct MessageDeltaBody {
    #[serde(default)]
    stop_reason: Option<String>,
}

#[derive(Deserialize, Default)]
struct WireUsage {
    #[serde(default)]
    input_tokens: Option<u64>,
    #[serde(default)]
    output_tokens: Option<u64>,
    #[serde(default)]
    cache_creation_input_tokens: Option<u64>,
    #[serde(default)]
    cache_read_input_tokens: Option<u64>,
}

impl WireUsage {
    /// All prompt tokens, cached ones included, when the server said any.
    fn input(&self) -> Option<u64> {
        let parts = [self.input_tokens, self.cache_creation_input_tokens, self.cache_read_input_tokens];
        parts.iter().any(Option::is_some).then(|| parts.iter().flatten().sum())
    }
}

#[derive(Deserialize, Default)]
struct WireError {
    #[serde(default, rename = "type")]
    kind: String,
    #[serde(default)]
    message: String,
}

/// A thinking block being streamed: sent back whole, signature and all, with its reply.
#[derive(Debug)]
enum ThinkingBlock {
    Thinking { thinking: String, signature: String },
    Redacted { data: String },
}

impl ThinkingBlock {
    fn into_value(self) -> Value {
        match self {
            ThinkingBlock::Thinking { thinking, signature } => {
                json!({ "type": "thinking", "thinking": thinking, "signature": signature })
            }
            ThinkingBlock::Redacted { data } => json!({ "type": "redacted_thinking", "data": data }),
        }
    }
}

#[derive(Debug)]
struct ToolBlock {
    id: String,
    name: String,
    input: Value,
    json: String,
}

/// Assembles one messages stream.
#[derive(Debug)]
pub(crate) struct Decoder {
    prices: Prices,
    tools: BTreeMap<u64, ToolBlock>,
    /// Thinking blocks under way, by index.
    thinking: BTreeMap<u64, ThinkingBlock>,
    calls_emitted: usize,
    input_tokens: Option<u64>,
    /// Of `input_tokens`: read from the prompt cache, and written to it.
    cache_read: u64,
    cache_written: u64,
    output_tokens: Option<u64>,
    stop_reason: Option<String>,
    done: bool,
}

impl Decoder {
    pub(crate) fn new(prices: Prices) -> Self {
        Self {
            prices,
            tools: BTreeMap::new(),
            thinking: BTreeMap::new(),
            calls_emitted: 0,
            input_tokens: None,
            cache_read: 0,
            cache_written: 0,
            output_tokens: None,
            stop_reason: None,
            done: false,
        }
    }

    pub(crate) fn is_done(&self) -> bool {
        self.done
    }

    pub(crate) fn event(&mut self, event: &SseEvent, out: &mut Vec<ModelEvent>) -> Result<(), Fault> {
        let wire: Wire = serde_json::from_str(&event.data)
            .map_err(|err| Fault::Malformed(format!("an event is not valid JSON ({err}): {}", excerpt(&event.data))))?;
        match wire {
            Wire::MessageStart { message } => {
                if let Some(usage) = message.usage {
                    self.usage(&usage);
                }
            }
            Wire::ContentBlockStart { index, content_block } => match content_block {
                BlockStart::Text { text } => {
                    if !text.is_empty() {
                        out.push(ModelEvent::TextDelta(text));
                    }
                }
                BlockStart::ToolUse { id, name, input } => {
                    self.tools.insert(index, ToolBlock { id, name, input, json: String::new() });
                }
                BlockStart::Thinking { thinking, signature } => {
                    self.thinking.insert(index, ThinkingBlock::Thinking { thinking, signature });
                }
                BlockStart::RedactedThinking { data } => {
                    self.thinking.insert(index, ThinkingBlock::Redacted { data });
                }
                BlockStart::Other => {}
            },
            Wire::ContentBlockDelta { index, delta } => match delta {
                BlockDelta::TextDelta { text } => {
                    if !text.is_empty() {
                        out.push(ModelEvent::TextDelta(text));
                    }
                }
                BlockDelta::InputJsonDelta { partial_json } => {
                    if let Some(tool) = self.tools.get_mut(&index) {
                        tool.json.push_str(&partial_json);
                    }
                }
                BlockDelta::ThinkingDelta { thinking: more } => {
                    if let Some(ThinkingBlock::Thinking { thinking, .. }) = self.thinking.get_mut(&index) {
                        thinking.push_str(&more);
                    }
                }
                BlockDelta::SignatureDelta { signature: more } => {
                    if let Some(ThinkingBlock::Thinking { signature, .. }) = self.thinking.get_mut(&index) {
                        signature.push_str(&more);
                    }
                }
                BlockDelta::Other => {}
            },
            Wire::ContentBlockStop { index } => {
                if let Some(tool) = self.tools.remove(&index) {
                    self.emit_tool(tool, out);
                }
                if let Some(block) = self.thinking.remove(&index) {
                    out.push(ModelEvent::Reasoning(block.into_value()));
                }
            }
            Wire::MessageDelta { delta, usage } => {
                if let Some(reason) = delta.stop_reason {
                    self.stop_reason = Some(reason);
                }
                if let Some(usage) = usage {
                    self.usage(&usage);
                }
            }
            Wire::MessageStop => self.complete(out),
            Wire::Ping | Wire::Unknown => {}
            Wire::Error { error } => {
                return Err(Fault::Remote {
                    kind: if error.kind.is_empty() { "error".into() } else { error.kind },
                    message: error.message,
                });
            }
        }
        Ok(())
    }

    /// At the end of the body without `message_stop`: complete if a stop reason was seen.
    pub(crate) fn eof(&mut self, out: &mut Vec<ModelEvent>) -> Result<(), Fault> {
        if self.stop_reason.is_some() {
            self.complete(out);
            Ok(())
        } else {
            Err(Fault::Truncated)
        }
    }

    fn usage(&mut self, usage: &WireUsage) {
        if let Some(input) = usage.input() {
            self.input_tokens = Some(input);
            self.cache_read = usage.cache_read_input_tokens.unwrap_or(0);
            self.cache_written = usage.cache_creation_input_tokens.unwrap_or(0);
        }
        if let Some(output) = usage.output_tokens {
            self.output_tokens = Some(output);
        }
    }

    fn emit_tool(&mut self, tool: ToolBlock, out: &mut Vec<ModelEvent>) {
        self.calls_emitted += 1;
        let id = if tool.id.is_empty() { format!("toolu_{}", self.calls_emitted) } else { tool.id };
        let raw = if tool.json.trim().is_empty() {
            match &tool.input {
                Value::Null => String::new(),
                input => input.to_string(),
            }
        } else {
            tool.json
        };
        out.push(tool_call_event(id, tool.name, &raw));
    }

    fn complete(&mut self, out: &mut Vec<ModelEvent>) {
        if self.done {
            return;
        }
        // Blocks never stopped (a lenient server) are still delivered.
        for tool in std::mem::take(&mut self.tools).into_values() {
            self.emit_tool(tool, out);
        }
        if self.input_tokens.is_some() || self.output_tokens.is_some() {
            let input = self.input_tokens.unwrap_or(0);
            let usage =
                self.prices.usage_cached(input, self.cache_read, self.cache_written, self.output_tokens.unwrap_or(0));
            out.push(ModelEvent::Usage(usage));
        }
        let reason = match self.stop_reason.as_deref() {
            Some(raw) => finish_reason(raw),
            None if self.calls_emitted > 0 => FinishReason::ToolCalls,
            None => FinishReason::Stop,
        };
        out.push(ModelEvent::Finished(reason));
        self.done = true;
    }
}

#[cfg(test)]
#[path = "anthropic_tests.rs"]
mod tests;
