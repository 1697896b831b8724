use serde_json::json;

use super::*;
use crate::llm::types::{ToolCall, ToolDefinition};

#[test]
fn body_merges_tool_results_into_one_user_message() {
    let request = ModelRequest {
        system: "sys".into(),
        messages: vec![
            Message::user("do it"),
            Message::Assistant {
                content: "Looking.".into(),
                tool_calls: vec![
                    ToolCall { id: "t1".into(), name: "a".into(), arguments: json!({"p": 1}) },
                    ToolCall { id: "t2".into(), name: "b".into(), arguments: json!({}) },
                ],
                reasoning: Vec::new(),
            },
            Message::tool_result("t1", "one"),
            Message::Tool { call_id: "t2".into(), content: "failed".into(), is_error: true },
            Message::user("and then?"),
        ],
        tools: vec![ToolDefinition {
            name: "a".into(),
            description: "A".into(),
            parameters: json!({"type": "object"}),
        }],
        max_tokens: 50,
        ..ModelRequest::default()
    };
    assert_eq!(
        body(&request, "claude", false),
        json!({
            "model": "claude",
            "max_tokens": 50,
            "system": "sys",
            "messages": [
                {"role": "user", "content": [{"type": "text", "text": "do it"}]},
                {"role": "assistant", "content": [
                    {"type": "text", "text": "Looking."},
                    {"type": "tool_use", "id": "t1", "name": "a", "input": {"p": 1}},
                    {"type": "tool_use", "id": "t2", "name": "b", "input": {}},
                ]},
                {"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": "t1", "content": "one"},
                    {"type": "tool_result", "tool_use_id": "t2", "content": "failed", "is_error": true},
                    {"type": "text", "text": "and then?"},
                ]},
            ],
            "tools": [{"name": "a", "description": "A", "input_schema": {"type": "object"}}],
            "stream": true,
        })
    );
}

#[test]
fn unknown_events_and_blocks_are_ignored_and_usage_adds_cache_tokens() {
    let mut decoder = Decoder::new(Prices::default());
    let mut out = Vec::new();
    for data in [
        r#"{"type":"message_start","message":{"usage":{"input_tokens":5,"cache_read_input_tokens":10,"output_tokens":1}}}"#,
        r#"{"type":"content_block_start","index":0,"content_block":{"type":"brand_new_block","x":""}}"#,
        r#"{"type":"content_block_delta","index":0,"delta":{"type":"brand_new_delta","x":"hm"}}"#,
        r#"{"type":"content_block_stop","index":0}"#,
        r#"{"type":"brand_new_event"}"#,
        r#"{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"t","name":"n","input":{}}}"#,
        r#"{"type":"content_block_stop","index":1}"#,
        r#"{"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":7}}"#,
        r#"{"type":"message_stop"}"#,
    ] {
        let event = SseEvent { event: String::new(), data: data.into() };
        assert_eq!(decoder.event(&event, &mut out), Ok(()));
    }
    assert!(decoder.is_done());
    assert_eq!(
        out,
        vec![
            ModelEvent::ToolCall(ToolCall { id: "t".into(), name: "n".into(), arguments: json!({}) }),
            ModelEvent::Usage(crate::llm::types::Usage { input_tokens: 15, output_tokens: 7, cost_micros: 0 }),
            ModelEvent::Finished(FinishReason::ToolCalls),
        ]
    );
}

#[test]
fn efforts_map_to_thinking_budgets_and_numbers_are_budgets() {
    assert_eq!(thinking_budget("minimal"), Some(1024));
    assert_eq!(thinking_budget("high"), Some(24_576));
    assert_eq!(thinking_budget("16000"), Some(16_000));
    assert_eq!(thinking_budget("10"), Some(1024), "the API's least");
    assert_eq!(thinking_budget("extreme"), None);
    let plain = body(&ModelRequest { temperature: Some(0.5), ..ModelRequest::default() }, "claude", false);
    assert!(plain.get("thinking").is_none());
    assert_eq!(plain["temperature"], json!(0.5));
}
