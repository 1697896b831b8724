use serde_json::json;

use super::*;
use crate::llm::types::{ToolCall, ToolDefinition, Usage};

fn decode(events: &[&str]) -> (Vec<ModelEvent>, Result<(), Fault>) {
    let mut decoder = Decoder::new(Prices { input_per_mtok: 1.0, output_per_mtok: 2.0, ..Prices::default() });
    let mut out = Vec::new();
    for data in events {
        let event = SseEvent { event: String::new(), data: (*data).to_owned() };
        if let Err(fault) = decoder.event(&event, &mut out) {
            return (out, Err(fault));
        }
        if decoder.is_done() {
            return (out, Ok(()));
        }
    }
    let result = decoder.eof(&mut out);
    (out, result)
}

fn call(id: &str, name: &str, arguments: serde_json::Value) -> ModelEvent {
    ModelEvent::ToolCall(ToolCall { id: id.into(), name: name.into(), arguments })
}

#[test]
fn body_has_system_messages_tools_and_stream_options() {
    let request = ModelRequest {
        system: "be brief".into(),
        messages: vec![
            Message::user("hi"),
            Message::Assistant {
                content: String::new(),
                tool_calls: vec![ToolCall {
                    id: "c1".into(),
                    name: "read_file".into(),
                    arguments: json!({"path": "a.rs"}),
                }],
                reasoning: Vec::new(),
            },
            Message::Tool { call_id: "c1".into(), content: "no such file".into(), is_error: true },
        ],
        tools: vec![ToolDefinition {
            name: "read_file".into(),
            description: "Reads".into(),
            parameters: json!({"type": "object"}),
        }],
        max_tokens: 100,
        temperature: Some(0.5),
        ..ModelRequest::default()
    };
    assert_eq!(
        body(&request, "m", false),
        json!({
            "model": "m",
            "messages": [
                {"role": "system", "content": "be brief"},
                {"role": "user", "content": "hi"},
                {"role": "assistant", "content": null, "tool_calls": [
                    {"id": "c1", "type": "function",
                     "function": {"name": "read_file", "arguments": "{\"path\":\"a.rs\"}"}}
                ]},
                {"role": "tool", "tool_call_id": "c1", "content": "error: no such file"},
            ],
            "tools": [{"type": "function", "function": {
                "name": "read_file", "description": "Reads", "parameters": {"type": "object"}}}],
            "max_tokens": 100,
            "temperature": 0.5,
            "stream": true,
            "stream_options": {"include_usage": true},
        })
    );
    let official = body(&ModelRequest { max_tokens: 4096, ..ModelRequest::default() }, "m", true);
    assert_eq!(official["max_completion_tokens"], json!(4096));
    assert!(official.get("tools").is_none() && official.get("temperature").is_none());
    let unlimited = body(&ModelRequest::default(), "m", true);
    assert!(unlimited.get("max_completion_tokens").is_none() && unlimited.get("max_tokens").is_none());
}

#[test]
fn servers_without_ids_index_or_usage() {
    // Whole calls in one chunk each, no index, no ids, no usage, no [DONE].
    let (events, result) = decode(&[
        r#"{"choices":[{"delta":{"role":"assistant","content":"Hi"}}]}"#,
        r#"{"choices":[{"delta":{"tool_calls":[{"function":{"name":"a","arguments":"{\"x\":1}"}}]}}]}"#,
        r#"{"choices":[{"delta":{"tool_calls":[{"function":{"name":"b","arguments":{"y":2}}}]}}]}"#,
        r#"{"choices":[{"delta":{},"finish_reason":"stop"}]}"#,
    ]);
    assert_eq!(result, Ok(()));
    assert_eq!(
        events,
        vec![
            ModelEvent::TextDelta("Hi".into()),
            call("call_1", "a", json!({"x": 1})),
            call("call_2", "b", json!({"y": 2})),
            ModelEvent::Finished(FinishReason::ToolCalls),
        ]
    );
}

#[test]
fn index_reused_with_new_ids_means_new_calls() {
    let (events, _) = decode(&[
        r#"{"choices":[{"delta":{"tool_calls":[{"index":0,"id":"A","function":{"name":"a","arguments":"{}"}}]}}]}"#,
        r#"{"choices":[{"delta":{"tool_calls":[{"index":0,"id":"B","function":{"name":"b","arguments":"{\"k\""}}]}}]}"#,
        r#"{"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"arguments":":true}"}}]}}]}"#,
        r#"{"choices":[{"finish_reason":"tool_calls","delta":{}}],"usage":{"prompt_tokens":10,"completion_tokens":5}}"#,
        "[DONE]",
    ]);
    assert_eq!(
        events,
        vec![
            call("A", "a", json!({})),
            call("B", "b", json!({"k": true})),
            ModelEvent::Usage(Usage { input_tokens: 10, output_tokens: 5, cost_micros: 20 }),
            ModelEvent::Finished(FinishReason::ToolCalls),
        ]
    );
}

#[test]
fn error_chunks_and_garbage_are_faults() {
    let (_, result) = decode(&[r#"{"error":{"message":"boom","type":"server_error"}}"#]);
    assert_eq!(result, Err(Fault::Remote { kind: "server_error".into(), message: "boom".into() }));
    let (_, result) = decode(&[r#"{"object":"error","message":"bad","type":"BadRequestError"}"#]);
    assert!(matches!(result, Err(Fault::Remote { .. })));
    let (_, result) = decode(&["not json"]);
    assert!(matches!(result, Err(Fault::Malformed(_))));
    let (_, result) = decode(&[r#"{"choices":[{"delta":{"content":"x"}}]}"#]);
    assert_eq!(result, Err(Fault::Truncated));
}

#[test]
fn repeated_names_are_not_doubled_and_split_names_are_joined() {
    let (events, _) = decode(&[
        r#"{"choices":[{"delta":{"tool_calls":[{"index":0,"id":"A","function":{"name":"get_","arguments":""}}]}}]}"#,
        r#"{"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"name":"weather","arguments":"{}"}}]}}]}"#,
        r#"{"choices":[{"delta":{"tool_calls":[{"index":1,"id":"B","function":{"name":"x","arguments":"{"}}]}}]}"#,
        r#"{"choices":[{"delta":{"tool_calls":[{"index":1,"function":{"name":"x","arguments":"}"}}]}}]}"#,
        "[DONE]",
    ]);
    assert_eq!(
        events,
        vec![
            call("A", "get_weather", json!({})),
            call("B", "x", json!({})),
            ModelEvent::Finished(FinishReason::ToolCalls),
        ]
    );
}
