//! Decoding Responses streams the recorded fixtures do not show: a reply cut by its limit, a
//! refusal, an `error` event, a call whose item never finished, and a stream that just stops.

use serde_json::json;

use super::*;
use crate::llm::cost::Prices;

fn sse(events: &[Value]) -> Vec<SseEvent> {
    events.iter().map(|data| SseEvent { event: String::new(), data: data.to_string() }).collect()
}

fn decode(events: &[Value]) -> (Vec<ModelEvent>, Result<(), Fault>) {
    let mut decoder = Decoder::new(Prices::default());
    let mut out = Vec::new();
    for event in sse(events) {
        if let Err(fault) = decoder.event(&event, &mut out) {
            return (out, Err(fault));
        }
    }
    let end = decoder.eof(&mut out);
    (out, end)
}

fn completed(status: &str, details: Value) -> Value {
    json!({"type": format!("response.{status}"), "response": {"status": status, "incomplete_details": details}})
}

#[test]
fn a_reply_cut_by_its_limit_finishes_with_length() {
    let (events, end) = decode(&[
        json!({"type": "response.output_text.delta", "delta": "Half"}),
        completed("incomplete", json!({"reason": "max_output_tokens"})),
    ]);
    assert_eq!(end, Ok(()));
    assert_eq!(events, vec![ModelEvent::TextDelta("Half".into()), ModelEvent::Finished(FinishReason::Length)]);
}

#[test]
fn a_refusal_is_shown_and_finishes_as_withheld() {
    let (events, _) = decode(&[
        json!({"type": "response.refusal.delta", "delta": "I can't help with that."}),
        completed("completed", Value::Null),
    ]);
    assert_eq!(events.last(), Some(&ModelEvent::Finished(FinishReason::ContentFilter)));
}

#[test]
fn an_error_event_is_a_remote_fault_with_its_code() {
    let (_, end) = decode(&[json!({"type": "error", "code": "rate_limit_exceeded", "message": "slow down"})]);
    assert_eq!(end, Err(Fault::Remote { kind: "rate_limit_exceeded".into(), message: "slow down".into() }));
}

#[test]
fn a_call_whose_item_never_finished_is_still_delivered_at_the_end() {
    let (events, _) = decode(&[
        json!({"type": "response.output_item.added", "output_index": 0,
               "item": {"type": "function_call", "call_id": "c9", "name": "git_diff", "arguments": ""}}),
        json!({"type": "response.function_call_arguments.delta", "output_index": 0, "delta": "{}"}),
        completed("completed", Value::Null),
    ]);
    assert_eq!(
        events,
        vec![
            ModelEvent::ToolCall(crate::llm::ToolCall {
                id: "c9".into(),
                name: "git_diff".into(),
                arguments: json!({})
            }),
            ModelEvent::Finished(FinishReason::ToolCalls),
        ]
    );
}

#[test]
fn a_stream_that_stops_before_completed_is_truncated_and_unknown_events_are_ignored() {
    let (events, end) = decode(&[
        json!({"type": "response.created", "response": {}}),
        json!({"type": "response.reasoning_summary_text.delta", "delta": "thinking"}),
        json!({"type": "response.output_text.delta", "delta": "Par"}),
    ]);
    assert_eq!(events, vec![ModelEvent::TextDelta("Par".into())]);
    assert_eq!(end, Err(Fault::Truncated));
}
