//! The agent loop: ask the model, stream its text live, carry out its tool calls through the
//! broker, feed every result (and every mistake) back, and stop when it submits, when a budget
//! runs out, when it repeats itself, or when its turns are spent.
//!
//! Streamed deltas are only broadcast; the completed message, every tool call with its result,
//! usage and retries are persisted through the host. An agent never runs unaudited: the first
//! write the host refuses stops it before anything else is asked of the model or the tools.

use std::collections::BTreeSet;

use futures::StreamExt;
use serde_json::Value;

use super::context_window;
use super::submit::{self, Submission};
use crate::llm::{
    Message, ModelClient, ModelError, ModelErrorKind, ModelEvent, ModelRequest, ToolCall, ToolDefinition,
};
use crate::mcp::McpTool;
use crate::protocol::{Actor, EventKind, NewEvent, Role};
use crate::redact::Redactor;
use crate::tools::broker::{AgentScope, Broker, ToolHost};
use crate::tools::budget::Breach;
use crate::tools::schema::workspace_tools;

/// The same call this many times in a row trips the repeated-calls breaker.
pub const REPEAT_LIMIT: u32 = 3;

/// What the engine provides besides tool hosting: the live stream.
pub trait AgentHost: ToolHost {
    /// Broadcasts streamed text (never persisted).
    fn delta(&self, actor: &Actor, text: &str);

    /// Whether the agent must stop now (the task was cancelled, or a gate parked it).
    fn should_stop(&self) -> bool {
        false
    }

    /// Where the engineer's messages stand now: the agent hears those after it.
    fn message_cursor(&self) -> u64 {
        0
    }

    /// The engineer's messages after `cursor`, each with its new cursor, oldest first. The agent
    /// hears them as user messages at its next turn.
    fn messages_after(&self, _cursor: u64) -> Vec<(u64, String)> {
        Vec::new()
    }
}

/// One agent's job.
#[derive(Debug, Clone)]
pub struct AgentSpec {
    /// Its role.
    pub role: Role,
    /// The model to ask for (empty: the client's default).
    pub model: String,
    /// The system prompt, already rendered.
    pub system: String,
    /// The first user message.
    pub opening: String,
    /// The workspace tools it may use.
    pub tools: Vec<String>,
    /// The call that ends its work.
    pub submit: String,
    /// Model turns allowed.
    pub max_turns: u32,
    /// The Left Hand candidate it works on, if any.
    pub candidate: Option<String>,
    /// Its reply limit, reasoning effort and temperature.
    pub tuning: crate::llm::Tuning,
}

/// How an agent's work ended.
#[derive(Debug, Clone, PartialEq)]
pub enum AgentOutcome {
    /// It submitted.
    Submitted(Submission),
    /// A budget ran out (the work so far is intact).
    BudgetExceeded(Vec<Breach>),
    /// It made the same call again and again.
    RepeatedCalls {
        /// The call, shown.
        call: String,
        /// How many times in a row.
        times: u32,
    },
    /// It used all its turns without submitting.
    TurnsExhausted(u32),
    /// The model failed in a way retries did not fix (the kind says whether the provider could
    /// not be used at all).
    ModelFailed(ModelError),
    /// The store refused to record its work, so it stopped: nothing runs unaudited. The message
    /// ([`audit_failure`]) says what happened and what to do.
    AuditFailed(String),
    /// The host asked it to stop (cancelled, or paused at a gate).
    Stopped,
}

/// The start of the message an agent stopped by a refused audit write ends with.
pub const AUDIT_FAILED: &str = "the event store refused to record the agent's work";

/// The outcome of an agent whose audit record the store refused: it stops at once, and the
/// message says what happened and what to do.
pub fn audit_failure(detail: &str) -> AgentOutcome {
    AgentOutcome::AuditFailed(format!(
        "{AUDIT_FAILED} ({detail}), so the agent was stopped: nothing runs unaudited. Check the \
         state directory's disk space and permissions (`ambidex doctor`), then resume the task"
    ))
}

fn definitions(spec: &AgentSpec, mcp: &[McpTool]) -> Vec<ToolDefinition> {
    let allowed: BTreeSet<&str> = spec.tools.iter().map(String::as_str).collect();
    workspace_tools()
        .into_iter()
        .filter(|tool| allowed.contains(tool.name))
        .chain(submit::spec(&spec.submit))
        .map(|tool| ToolDefinition {
            name: tool.name.to_owned(),
            description: tool.description.to_owned(),
            parameters: tool.parameters,
        })
        .chain(mcp.iter().map(|tool| ToolDefinition {
            name: tool.exposed.clone(),
            description: format!("{} (from the MCP server `{}`)", tool.description, tool.server),
            parameters: tool.input_schema.clone(),
        }))
        .collect()
}

/// A model turn, collected.
#[derive(Default)]
struct Turn {
    text: String,
    calls: Vec<ToolCall>,
    /// Calls whose arguments were not JSON: (call, error).
    malformed: Vec<(ToolCall, String)>,
    /// Usage events, recorded with the turn's message.
    usage: Vec<EventKind>,
    /// The model's reasoning items, sent back with the turn.
    reasoning: Vec<Value>,
}

/// Runs the agent until it ends.
pub async fn run_agent(
    client: &dyn ModelClient,
    broker: &Broker,
    scope: &mut AgentScope,
    host: &dyn AgentHost,
    redactor: &Redactor,
    spec: &AgentSpec,
) -> AgentOutcome {
    // A server that cannot be reached leaves the agent without its tools, said on the record.
    let mcp = match broker.mcp_tools(&spec.tools).await {
        Ok(tools) => tools,
        Err(err) => {
            let text = format!("{err}; the agent works without those MCP tools");
            if let Err(err) = record(host, scope, vec![EventKind::Note { text }]).await {
                return audit_failure(&err);
            }
            Vec::new()
        }
    };
    let tools = definitions(spec, &mcp);
    let mut messages = vec![Message::user(spec.opening.clone())];
    let fixed = context_window::estimate(&spec.system, &[])
        + tools.iter().map(|t| t.name.len() + t.description.len() + t.parameters.to_string().len()).sum::<usize>() / 3;
    let budget = context_window::budget(spec.tuning.context_window, spec.tuning.max_output_tokens);
    let mut last_call: Option<(String, u32)> = None;
    // What the engineer said before the agent started is in its instructions already.
    let mut heard = host.message_cursor();
    for _turn in 0..spec.max_turns {
        for (cursor, text) in host.messages_after(heard) {
            heard = cursor;
            messages.push(Message::user(format!("Message from the engineer, who is watching: {text}")));
        }
        context_window::elide(&mut messages, fixed, budget);
        let mut squeezed = false;
        let mut turn = loop {
            let request = ModelRequest {
                model: spec.model.clone(),
                system: spec.system.clone(),
                messages: messages.clone(),
                tools: tools.clone(),
                max_tokens: spec.tuning.max_output_tokens.unwrap_or(0),
                temperature: spec.tuning.temperature,
                reasoning_effort: spec.tuning.reasoning_effort.clone(),
                role: Some(spec.role),
                candidate: spec.candidate.clone(),
            };
            match stream_turn(client, request, scope, host, redactor).await {
                Ok(turn) => break turn,
                // The server counts tokens better than the estimate: everything elidable goes,
                // and the turn is tried once more.
                Err(AgentOutcome::ModelFailed(error))
                    if error.kind == ModelErrorKind::ContextLength
                        && !squeezed
                        && context_window::elide(&mut messages, fixed, 0) > 0 =>
                {
                    squeezed = true;
                }
                Err(outcome) => return outcome,
            }
        };
        let mut kinds = std::mem::take(&mut turn.usage);
        if !turn.text.trim().is_empty() {
            kinds.push(EventKind::AgentMessage { text: redactor.redact(turn.text.trim()).into_owned() });
        }
        if let Err(err) = record(host, scope, kinds).await {
            return audit_failure(&err);
        }
        let mut all_calls = turn.calls.clone();
        all_calls.extend(turn.malformed.iter().map(|(call, _)| call.clone()));
        messages.push(Message::Assistant {
            content: turn.text.clone(),
            tool_calls: all_calls,
            reasoning: std::mem::take(&mut turn.reasoning),
        });
        if turn.calls.is_empty() && turn.malformed.is_empty() {
            messages.push(Message::user(format!(
                "Use the tools to do the work, then call `{}` to finish. Do not answer in prose only.",
                spec.submit
            )));
            continue;
        }
        for (call, error) in &turn.malformed {
            let text = format!(
                "your arguments for `{}` were not valid JSON ({error}); send the call again with a JSON object",
                call.name
            );
            messages.push(Message::Tool { call_id: call.id.clone(), content: text, is_error: true });
        }
        let mut breaches = Vec::new();
        for call in &turn.calls {
            let key = format!("{} {}", call.name, canonical(&call.arguments));
            let times = match &last_call {
                Some((previous, n)) if *previous == key => n + 1,
                _ => 1,
            };
            last_call = Some((key.clone(), times));
            if times >= REPEAT_LIMIT {
                return AgentOutcome::RepeatedCalls { call: key, times };
            }
            if call.name == spec.submit {
                match submit::parse(&call.name, &call.arguments) {
                    Ok(submission) => return AgentOutcome::Submitted(submission),
                    Err(error) => {
                        messages.push(Message::Tool { call_id: call.id.clone(), content: error, is_error: true });
                        continue;
                    }
                }
            }
            if !spec.tools.contains(&call.name) && !mcp.iter().any(|tool| tool.exposed == call.name) {
                let content = format!(
                    "`{}` is not available in this stage; use one of: {}, or call `{}` when done",
                    call.name,
                    spec.tools.join(", "),
                    spec.submit
                );
                messages.push(Message::Tool { call_id: call.id.clone(), content, is_error: true });
                continue;
            }
            let result = broker.call(scope, host, &call.name, &call.arguments).await;
            if let Some(err) = result.audit_error {
                return audit_failure(&err);
            }
            messages.push(Message::Tool {
                call_id: call.id.clone(),
                content: result.output.text,
                is_error: !result.output.ok,
            });
            breaches.extend(result.breaches);
            if host.should_stop() {
                return AgentOutcome::Stopped;
            }
        }
        if !breaches.is_empty() {
            return AgentOutcome::BudgetExceeded(breaches);
        }
    }
    AgentOutcome::TurnsExhausted(spec.max_turns)
}

/// Arguments with keys in a stable order, so equal calls compare equal.
fn canonical(value: &Value) -> String {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let parts: Vec<String> = keys.iter().map(|k| format!("{k:?}:{}", canonical(&map[*k]))).collect();
            format!("{{{}}}", parts.join(","))
        }
        other => other.to_string(),
    }
}

/// Persists `kinds` for the agent in `scope`; an error is the store's refusal, and the agent
/// must stop.
async fn record(host: &dyn AgentHost, scope: &AgentScope, kinds: Vec<EventKind>) -> Result<(), String> {
    if kinds.is_empty() {
        return Ok(());
    }
    let events = kinds.into_iter().map(|kind| NewEvent::for_task(scope.task, scope.actor.clone(), kind)).collect();
    host.record(events).await
}

async fn stream_turn(
    client: &dyn ModelClient,
    request: ModelRequest,
    scope: &AgentScope,
    host: &dyn AgentHost,
    redactor: &Redactor,
) -> Result<Turn, AgentOutcome> {
    let mut turn = Turn::default();
    let mut live = redactor.stream();
    let mut events = client.stream(request);
    while let Some(event) = events.next().await {
        match event {
            ModelEvent::TextDelta(text) => {
                turn.text.push_str(&text);
                let safe = live.push(&text);
                if !safe.is_empty() {
                    host.delta(&scope.actor, &safe);
                }
            }
            ModelEvent::ToolCall(call) => turn.calls.push(call),
            ModelEvent::Reasoning(item) => turn.reasoning.push(item),
            ModelEvent::ToolCallError { id, name, raw_arguments: _, error } => {
                let call = ToolCall { id, name, arguments: Value::Object(Default::default()) };
                turn.malformed.push((call, error));
            }
            // A retry is shown at once (the wait may be long); usage goes with the turn's message.
            event @ ModelEvent::Retry { .. } => {
                if let Err(err) = record(host, scope, event.to_event_kind().into_iter().collect()).await {
                    // Dropping the stream cancels the call.
                    return Err(audit_failure(&err));
                }
            }
            event @ ModelEvent::Usage(_) => turn.usage.extend(event.to_event_kind()),
            ModelEvent::Finished(_) => {}
            ModelEvent::Error(error) => return Err(AgentOutcome::ModelFailed(error)),
        }
    }
    let rest = live.finish();
    if !rest.is_empty() {
        host.delta(&scope.actor, &rest);
    }
    Ok(turn)
}

#[cfg(test)]
#[path = "agent_loop_tests.rs"]
mod tests;
