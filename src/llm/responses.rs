//! OpenAI Responses: the request body and the typed-event assembler for `POST /responses`, the
//! API OpenAI's current models and Codex are built on.
//!
//! Requests are stateless (`store: false`): the whole conversation is sent each turn, as with
//! chat completions. Reasoning models return their reasoning as encrypted items, which are asked
//! for (`include: ["reasoning.encrypted_content"]`) and sent back with the reply they came with,
//! so the model keeps its train of thought across tool calls.
//!
//! Events: `response.output_item.added` (a function call starts), `response.output_text.delta`,
//! `response.function_call_arguments.delta` / `.done`, `response.output_item.done` (a call or a
//! reasoning item is complete), `response.completed` / `response.incomplete` (usage, the end),
//! `response.failed` and `error`. Unknown events are ignored, as the API adds them over time.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::cost::Prices;
use super::decode::{Fault, tool_call_event};
use super::openai::excerpt;
use super::sse::SseEvent;
use super::types::{FinishReason, Message, ModelEvent, ModelRequest};

/// The request body for `POST {base_url}/responses`.
///
/// An assistant reply becomes its reasoning items (those that carry encrypted content: without
/// it a stateless server cannot resolve them), its text as an assistant message, then one
/// `function_call` item per call; a tool result becomes a `function_call_output`.
pub(crate) fn body(request: &ModelRequest, model: &str) -> Value {
    let mut input = Vec::with_capacity(request.messages.len());
    for message in &request.messages {
        match message {
            Message::User { content } => input.push(json!({ "role": "user", "content": content })),
            Message::Assistant { content, tool_calls, reasoning } => {
                input.extend(reasoning.iter().filter(|item| is_replayable(item)).cloned());
                if !content.is_empty() {
                    input.push(json!({ "role": "assistant", "content": content }));
                }
                input.extend(tool_calls.iter().map(|call| {
                    json!({
                        "type": "function_call",
                        "call_id": call.id,
                        "name": call.name,
                        "arguments": call.arguments.to_string(),
                    })
                }));
            }
            Message::Tool { call_id, content, is_error } => {
                // Function outputs have no error flag; say it in the text.
                let output = if *is_error { format!("error: {content}") } else { content.clone() };
                input.push(json!({ "type": "function_call_output", "call_id": call_id, "output": output }));
            }
        }
    }
    let mut body = Map::new();
    body.insert("model".into(), model.into());
    if !request.system.is_empty() {
        body.insert("instructions".into(), request.system.clone().into());
    }
    body.insert("input".into(), Value::Array(input));
    if !request.tools.is_empty() {
        let tools: Vec<Value> = request
            .tools
            .iter()
            .map(|tool| {
                json!({
                    "type": "function",
                    "name": tool.name,
                    "description": tool.description,
                    "parameters": tool.parameters,
                    // Strict mode wants every property required and no extra ones; the tool
                    // schemas are ordinary JSON schemas.
                    "strict": false,
                })
            })
            .collect();
        body.insert("tools".into(), Value::Array(tools));
    }
    if request.max_tokens > 0 {
        body.insert("max_output_tokens".into(), request.max_tokens.into());
    }
    if let Some(effort) = &request.reasoning_effort {
        body.insert("reasoning".into(), json!({ "effort": effort }));
    }
    if let Some(t) = request.temperature {
        body.insert("temperature".into(), json!(t));
    }
    body.insert("store".into(), false.into());
    body.insert("include".into(), json!(["reasoning.encrypted_content"]));
    body.insert("stream".into(), true.into());
    Value::Object(body)
}

/// Whether a reasoning item can be sent back to a server that stores nothing.
fn is_replayable(item: &Value) -> bool {
    item["type"] == "reasoning" && item["encrypted_content"].as_str().is_some_and(|c| !c.is_empty())
}

#[derive(Deserialize)]
#[serde(tag = "type")]
enum Wire {
    #[serde(rename = "response.output_item.added")]
    ItemAdded {
        #[serde(default)]
        output_index: u64,
        item: Value,
    },
    #[serde(rename = "response.output_text.delta")]
    TextDelta {
        #[serde(default)]
        delta: String,
    },
    #[serde(rename = "response.refusal.delta")]
    RefusalDelta {
        #[serde(default)]
        delta: String,
    },
    #[serde(rename = "response.function_call_arguments.delta")]
    ArgumentsDelta {
        #[serde(default)]
        output_index: u64,
        #[serde(default)]
        delta: String,
    },
    #[serde(rename = "response.function_call_arguments.done")]
    ArgumentsDone {
        #[serde(default)]
        output_index: u64,
        #[serde(default)]
        arguments: Option<String>,
    },
    #[serde(rename = "response.output_item.done")]
    ItemDone {
        #[serde(default)]
        output_index: u64,
        item: Value,
    },
    #[serde(rename = "response.completed")]
    Completed { response: WireResponse },
    #[serde(rename = "response.incomplete")]
    Incomplete { response: WireResponse },
    #[serde(rename = "response.failed")]
    Failed { response: WireResponse },
    #[serde(rename = "error")]
    Error {
        #[serde(default)]
        code: Option<String>,
        #[serde(default)]
        message: String,
    },
    #[serde(other)]
    Unknown,
}

#[derive(Deserialize, Default)]
struct WireResponse {
    #[serde(default)]
    usage: Option<WireUsage>,
    #[serde(default)]
    incomplete_details: Option<IncompleteDetails>,
    #[serde(default)]
    error: Option<WireError>,
}

#[derive(Deserialize)]
struct WireUsage {
    #[serde(default)]
    input_tokens: u64,
    #[serde(default)]
    output_tokens: u64,
    #[serde(default)]
    input_tokens_details: Option<InputDetails>,
}

#[derive(Deserialize)]
struct InputDetails {
    #[serde(default)]
    cached_tokens: u64,
}

#[derive(Deserialize)]
struct IncompleteDetails {
    #[serde(default)]
    reason: String,
}

#[derive(Deserialize, Default)]
struct WireError {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    message: String,
}

#[derive(Debug, Default)]
struct PartialCall {
    call_id: String,
    name: String,
    arguments: String,
}

/// Assembles one Responses stream.
#[derive(Debug)]
pub(crate) struct Decoder {
    prices: Prices,
    /// Function calls under way, by output index.
    calls: BTreeMap<u64, PartialCall>,
    calls_emitted: usize,
    refused: bool,
    done: bool,
}

impl Decoder {
    pub(crate) fn new(prices: Prices) -> Self {
        Self { prices, calls: BTreeMap::new(), calls_emitted: 0, refused: false, done: false }
    }

    pub(crate) fn is_done(&self) -> bool {
        self.done
    }

    pub(crate) fn event(&mut self, event: &SseEvent, out: &mut Vec<ModelEvent>) -> Result<(), Fault> {
        let data = event.data.trim();
        if data.is_empty() || data == "[DONE]" {
            return Ok(());
        }
        let wire: Wire = serde_json::from_str(data)
            .map_err(|err| Fault::Malformed(format!("an event is not valid JSON ({err}): {}", excerpt(data))))?;
        match wire {
            Wire::ItemAdded { output_index, item } => {
                if item["type"] == "function_call" {
                    self.calls.insert(output_index, partial_call(&item));
                }
            }
            Wire::TextDelta { delta } => {
                if !delta.is_empty() {
                    out.push(ModelEvent::TextDelta(delta));
                }
            }
            Wire::RefusalDelta { delta } => {
                self.refused = true;
                if !delta.is_empty() {
                    out.push(ModelEvent::TextDelta(delta));
                }
            }
            Wire::ArgumentsDelta { output_index, delta } => {
                self.calls.entry(output_index).or_default().arguments.push_str(&delta);
            }
            Wire::ArgumentsDone { output_index, arguments } => {
                if let Some(arguments) = arguments {
                    self.calls.entry(output_index).or_default().arguments = arguments;
                }
            }
            Wire::ItemDone { output_index, item } => match item["type"].as_str() {
                Some("function_call") => {
                    let mut call = self.calls.remove(&output_index).unwrap_or_default();
                    let whole = partial_call(&item);
                    if !whole.call_id.is_empty() {
                        call.call_id = whole.call_id;
                    }
                    if !whole.name.is_empty() {
                        call.name = whole.name;
                    }
                    if !whole.arguments.is_empty() {
                        call.arguments = whole.arguments;
                    }
                    self.emit_call(call, out);
                }
                Some("reasoning") => out.push(ModelEvent::Reasoning(item)),
                _ => {}
            },
            Wire::Completed { response } => self.complete(response, out),
            Wire::Incomplete { response } => self.complete(response, out),
            Wire::Failed { response } => {
                let error = response.error.unwrap_or_default();
                return Err(Fault::Remote {
                    kind: error.code.unwrap_or_else(|| "response.failed".into()),
                    message: error.message,
                });
            }
            Wire::Error { code, message } => {
                return Err(Fault::Remote { kind: code.unwrap_or_else(|| "error".into()), message });
            }
            Wire::Unknown => {}
        }
        Ok(())
    }

    /// The body ended before `response.completed`: the reply is not complete.
    pub(crate) fn eof(&mut self, _out: &mut Vec<ModelEvent>) -> Result<(), Fault> {
        if self.done { Ok(()) } else { Err(Fault::Truncated) }
    }

    fn emit_call(&mut self, call: PartialCall, out: &mut Vec<ModelEvent>) {
        self.calls_emitted += 1;
        let id = if call.call_id.is_empty() { format!("call_{}", self.calls_emitted) } else { call.call_id };
        out.push(tool_call_event(id, call.name, &call.arguments));
    }

    fn complete(&mut self, response: WireResponse, out: &mut Vec<ModelEvent>) {
        if self.done {
            return;
        }
        // Calls whose item never finished (a lenient server) are still delivered.
        for call in std::mem::take(&mut self.calls).into_values() {
            self.emit_call(call, out);
        }
        if let Some(usage) = response.usage {
            let cached = usage.input_tokens_details.map_or(0, |d| d.cached_tokens);
            out.push(ModelEvent::Usage(self.prices.usage_cached(usage.input_tokens, cached, 0, usage.output_tokens)));
        }
        let reason = match response.incomplete_details.map(|d| d.reason) {
            Some(reason) if reason == "max_output_tokens" => FinishReason::Length,
            Some(reason) if reason == "content_filter" => FinishReason::ContentFilter,
            Some(reason) if !reason.is_empty() => FinishReason::Other(reason),
            _ if self.calls_emitted > 0 => FinishReason::ToolCalls,
            _ if self.refused => FinishReason::ContentFilter,
            _ => FinishReason::Stop,
        };
        out.push(ModelEvent::Finished(reason));
        self.done = true;
    }
}

/// The call id, name and arguments of a `function_call` item, as far as it has them.
fn partial_call(item: &Value) -> PartialCall {
    let field = |name: &str| item[name].as_str().unwrap_or_default().to_owned();
    PartialCall { call_id: field("call_id"), name: field("name"), arguments: field("arguments") }
}

#[cfg(test)]
#[path = "responses_tests.rs"]
mod tests;
