//! Model turns as an OpenAI chat-completions (or Responses) server streams them: what the engine
//! tests that drive agents over the real wire (with `fake_model::FakeServer`) script their model
//! with.

#![allow(dead_code)]

use super::fake_model::Reply;

/// A chat-completions stream whose reply is one call of `name` with `arguments`.
pub fn tool_call(name: &str, arguments: serde_json::Value) -> Reply {
    let chunk = |delta: serde_json::Value, finish: serde_json::Value| {
        let body = serde_json::json!({
            "id": "chatcmpl-fake", "object": "chat.completion.chunk", "model": "fake-model",
            "choices": [{ "index": 0, "delta": delta, "finish_reason": finish }],
        });
        format!("data: {body}\n\n")
    };
    let call = serde_json::json!({ "role": "assistant", "tool_calls": [{
        "index": 0, "id": format!("call_{name}"), "type": "function",
        "function": { "name": name, "arguments": arguments.to_string() },
    }]});
    let usage = serde_json::json!({
        "id": "chatcmpl-fake", "object": "chat.completion.chunk", "model": "fake-model", "choices": [],
        "usage": { "prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120 },
    });
    let text = [
        chunk(call, serde_json::Value::Null),
        chunk(serde_json::json!({}), serde_json::json!("tool_calls")),
        format!("data: {usage}\n\ndata: [DONE]\n\n"),
    ]
    .concat();
    Reply::chunked(text.as_bytes(), 64)
}

/// The planner's `submit_plan` for a one-file change of `src/lib.rs`.
pub fn plan(summary: &str) -> Reply {
    tool_call(
        "submit_plan",
        serde_json::json!({
            "summary": summary, "steps": ["src/lib.rs: use div_ceil"], "expected_files": ["src/lib.rs"],
            "validation": ["cargo test"], "rollback": "revert the commit", "confidence": 90,
        }),
    )
}

/// A Responses stream whose reply is a reasoning item (with encrypted content `thought`) and one
/// call of `name` with `arguments`.
pub fn responses_tool_call(name: &str, arguments: serde_json::Value, thought: &str) -> Reply {
    let event = |body: serde_json::Value| format!("event: {}\ndata: {body}\n\n", body["type"].as_str().unwrap_or(""));
    let reasoning = serde_json::json!({ "id": format!("rs_{name}"), "type": "reasoning", "encrypted_content": thought, "summary": [] });
    let call = serde_json::json!({
        "id": format!("fc_{name}"), "type": "function_call", "status": "completed",
        "call_id": format!("call_{name}"), "name": name, "arguments": arguments.to_string(),
    });
    let text = [
        event(serde_json::json!({ "type": "response.created", "response": { "status": "in_progress" } })),
        event(serde_json::json!({ "type": "response.output_item.done", "output_index": 0, "item": reasoning })),
        event(serde_json::json!({ "type": "response.output_item.done", "output_index": 1, "item": call })),
        event(serde_json::json!({ "type": "response.completed", "response": {
            "status": "completed", "usage": { "input_tokens": 100, "output_tokens": 20 },
        }})),
    ]
    .concat();
    Reply::chunked(text.as_bytes(), 64)
}
