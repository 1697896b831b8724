//! OpenAI chat completions: the request body and the streamed-chunk assembler.
//!
//! One format serves OpenAI, Ollama, vLLM, llama.cpp, LM Studio, OpenRouter and LiteLLM, so the
//! assembler is lenient: tool-call fragments are joined by `index`, else by `id`, else onto the
//! last call; missing ids are generated; a whole call may come in one chunk; usage may be missing
//! or arrive in any chunk; a stream that ends after a finish reason without `[DONE]` is complete.

use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::cost::Prices;
use super::decode::{Fault, finish_reason, tool_call_event};
use super::sse::SseEvent;
use super::types::{FinishReason, Message, ModelEvent, ModelRequest};

/// The request body for `POST {base_url}/chat/completions`.
///
/// A reply limit is sent only when one is set: `max_completion_tokens` is the field OpenAI's own
/// API wants (its reasoning models refuse `max_tokens`); other servers get the widely supported
/// `max_tokens`. Reasoning effort and temperature are sent only when set.
pub(crate) fn body(request: &ModelRequest, model: &str, max_completion_tokens: bool) -> Value {
    let mut messages = Vec::with_capacity(request.messages.len() + 1);
    if !request.system.is_empty() {
        messages.push(json!({ "role": "system", "content": request.system }));
    }
    for message in &request.messages {
        messages.push(match message {
            Message::User { content } => json!({ "role": "user", "content": content }),
            Message::Assistant { content, tool_calls, .. } => {
                let mut m = Map::new();
                m.insert("role".into(), "assistant".into());
                let text = if content.is_empty() && !tool_calls.is_empty() {
                    Value::Null
                } else {
                    Value::String(content.clone())
                };
                m.insert("content".into(), text);
                if !tool_calls.is_empty() {
                    let calls: Vec<Value> = tool_calls
                        .iter()
                        .map(|call| {
                            json!({
                                "id": call.id,
                                "type": "function",
                                "function": {
                                    "name": call.name,
                                    "arguments": call.arguments.to_string(),
                                },
                            })
                        })
                        .collect();
                    m.insert("tool_calls".into(), Value::Array(calls));
                }
                Value::Object(m)
            }
            Message::Tool { call_id, content, is_error } => {
                // Chat completions have no error flag for tool results; say it in the text.
                let content = if *is_error { format!("error: {content}") } else { content.clone() };
                json!({ "role": "tool", "tool_call_id": call_id, "content": content })
            }
        });
    }
    let mut body = Map::new();
    body.insert("model".into(), model.into());
    body.insert("messages".into(), Value::Array(messages));
    if !request.tools.is_empty() {
        let tools: Vec<Value> = request
            .tools
            .iter()
            .map(|tool| {
                json!({
                    "type": "function",
                    "function": {
                        "name": tool.name,
                        "description": tool.description,
                        "parameters": tool.parameters,
                    },
                })
            })
            .collect();
        body.insert("tools".into(), Value::Array(tools));
    }
    if request.max_tokens > 0 {
        let max_field = if max_completion_tokens { "max_completion_tokens" } else { "max_tokens" };
        body.insert(max_field.into(), request.max_tokens.into());
    }
    if let Some(effort) = &request.reasoning_effort {
        body.insert("reasoning_effort".into(), effort.clone().into());
    }
    if let Some(t) = request.temperature {
        body.insert("temperature".into(), json!(t));
    }
    body.insert("stream".into(), true.into());
    body.insert("stream_options".into(), json!({ "include_usage": true }));
    Value::Object(body)
}

#[derive(Deserialize)]
struct Chunk {
    #[serde(default)]
    choices: Vec<Choice>,
    #[serde(default)]
    usage: Option<WireUsage>,
    #[serde(default)]
    error: Option<Value>,
    #[serde(default)]
    object: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default, rename = "type")]
    kind: Option<String>,
}

#[derive(Deserialize)]
struct Choice {
    #[serde(default)]
    index: Option<u64>,
    #[serde(default)]
    delta: Option<Delta>,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize, Default)]
struct Delta {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    tool_calls: Option<Vec<CallFragment>>,
}

#[derive(Deserialize)]
struct CallFragment {
    #[serde(default)]
    index: Option<u64>,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    function: Option<FunctionFragment>,
}

#[derive(Deserialize)]
struct FunctionFragment {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    arguments: Option<Value>,
}

#[derive(Deserialize)]
struct WireUsage {
    #[serde(default)]
    prompt_tokens: Option<u64>,
    #[serde(default)]
    completion_tokens: Option<u64>,
    /// How many of the prompt tokens the server read from its prompt cache.
    #[serde(default)]
    prompt_tokens_details: Option<PromptDetails>,
}

#[derive(Deserialize)]
struct PromptDetails {
    #[serde(default)]
    cached_tokens: Option<u64>,
}

#[derive(Debug, Default)]
struct PartialCall {
    index: Option<u64>,
    id: String,
    name: String,
    arguments: String,
}

/// Assembles one chat-completions stream.
#[derive(Debug)]
pub(crate) struct Decoder {
    prices: Prices,
    calls: Vec<PartialCall>,
    calls_emitted: usize,
    finish: Option<String>,
    /// Prompt, of which cached, and completion tokens.
    usage: Option<(u64, u64, u64)>,
    done: bool,
}

impl Decoder {
    pub(crate) fn new(prices: Prices) -> Self {
        Self { prices, calls: Vec::new(), calls_emitted: 0, finish: None, usage: None, done: false }
    }

    pub(crate) fn is_done(&self) -> bool {
        self.done
    }

    pub(crate) fn event(&mut self, event: &SseEvent, out: &mut Vec<ModelEvent>) -> Result<(), Fault> {
        let data = event.data.trim();
        if data == "[DONE]" {
            self.complete(out);
            return Ok(());
        }
        if data.is_empty() {
            return Ok(());
        }
        let chunk: Chunk = serde_json::from_str(data)
            .map_err(|err| Fault::Malformed(format!("a chunk is not JSON ({err}): {}", excerpt(data))))?;
        if let Some(error) = chunk.error {
            return Err(remote(&error));
        }
        if chunk.object.as_deref() == Some("error") {
            return Err(Fault::Remote {
                kind: chunk.kind.unwrap_or_else(|| "error".into()),
                message: chunk.message.unwrap_or_default(),
            });
        }
        if let Some(usage) = chunk.usage {
            let (input, cached, output) = self.usage.unwrap_or((0, 0, 0));
            let cached_now = usage.prompt_tokens_details.and_then(|d| d.cached_tokens).unwrap_or(cached);
            self.usage =
                Some((usage.prompt_tokens.unwrap_or(input), cached_now, usage.completion_tokens.unwrap_or(output)));
        }
        for choice in chunk.choices {
            if choice.index.unwrap_or(0) != 0 {
                continue;
            }
            let delta = choice.delta.unwrap_or_default();
            if let Some(text) = delta.content
                && !text.is_empty()
            {
                out.push(ModelEvent::TextDelta(text));
            }
            for fragment in delta.tool_calls.unwrap_or_default() {
                self.fragment(fragment);
            }
            if let Some(reason) = choice.finish_reason.filter(|r| !r.is_empty()) {
                self.finish = Some(reason);
                self.flush_calls(out);
            }
        }
        Ok(())
    }

    /// At the end of the body without `[DONE]`: complete if a finish reason was seen.
    pub(crate) fn eof(&mut self, out: &mut Vec<ModelEvent>) -> Result<(), Fault> {
        if self.finish.is_some() {
            self.complete(out);
            Ok(())
        } else {
            Err(Fault::Truncated)
        }
    }

    fn fragment(&mut self, fragment: CallFragment) {
        let id = fragment.id.filter(|id| !id.is_empty());
        let (name, arguments) = match fragment.function {
            Some(f) => (f.name.filter(|n| !n.is_empty()), f.arguments),
            None => (None, None),
        };
        let slot = match (fragment.index, &id) {
            (Some(index), _) => self.calls.iter().rposition(|c| {
                // Some servers reuse index 0 for every parallel call; a new id means a new call.
                c.index == Some(index) && id.as_ref().is_none_or(|id| c.id.is_empty() || *id == c.id)
            }),
            (None, Some(id)) => self.calls.iter().rposition(|c| c.id == *id),
            (None, None) => match (&name, self.calls.last()) {
                (Some(_), Some(last)) if !last.name.is_empty() => None,
                (_, Some(_)) => Some(self.calls.len() - 1),
                (_, None) => None,
            },
        };
        let slot = match slot {
            Some(slot) => slot,
            None => {
                self.calls.push(PartialCall { index: fragment.index, ..PartialCall::default() });
                self.calls.len() - 1
            }
        };
        let Some(call) = self.calls.get_mut(slot) else {
            return;
        };
        if let Some(id) = id
            && call.id.is_empty()
        {
            call.id = id;
        }
        if let Some(name) = name {
            if call.name.is_empty() {
                call.name = name;
            } else if call.name != name {
                call.name.push_str(&name);
            }
        }
        match arguments {
            Some(Value::String(text)) => call.arguments.push_str(&text),
            Some(Value::Null) | None => {}
            Some(other) => call.arguments.push_str(&other.to_string()),
        }
    }

    fn flush_calls(&mut self, out: &mut Vec<ModelEvent>) {
        let mut calls = std::mem::take(&mut self.calls);
        if calls.iter().all(|c| c.index.is_some()) {
            calls.sort_by_key(|c| c.index);
        }
        for call in calls {
            self.calls_emitted += 1;
            let id = if call.id.is_empty() { format!("call_{}", self.calls_emitted) } else { call.id };
            out.push(tool_call_event(id, call.name, &call.arguments));
        }
    }

    fn complete(&mut self, out: &mut Vec<ModelEvent>) {
        if self.done {
            return;
        }
        self.flush_calls(out);
        if let Some((input, cached, output)) = self.usage {
            out.push(ModelEvent::Usage(self.prices.usage_cached(input, cached, 0, output)));
        }
        let reason = match self.finish.as_deref() {
            Some(raw) => finish_reason(raw),
            None if self.calls_emitted > 0 => FinishReason::ToolCalls,
            None => FinishReason::Stop,
        };
        // Some servers say `stop` after tool calls; the calls are what matters.
        let reason =
            if reason == FinishReason::Stop && self.calls_emitted > 0 { FinishReason::ToolCalls } else { reason };
        out.push(ModelEvent::Finished(reason));
        self.done = true;
    }
}

fn remote(error: &Value) -> Fault {
    let field = |name: &str| error.get(name).and_then(Value::as_str).map(str::to_owned);
    match error {
        Value::String(message) => Fault::Remote { kind: "error".into(), message: message.clone() },
        _ => Fault::Remote {
            kind: field("type")
                .or_else(|| field("code"))
                .or_else(|| error.get("code").map(Value::to_string))
                .unwrap_or_else(|| "error".into()),
            message: field("message").unwrap_or_else(|| error.to_string()),
        },
    }
}

/// The start of a long text, for messages.
pub(crate) fn excerpt(text: &str) -> String {
    const MAX: usize = 200;
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
#[path = "openai_tests.rs"]
mod tests;
