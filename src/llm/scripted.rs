//! The scripted model: plays turns from a TOML script, deterministically, per agent role.
//!
//! Each call for a role consumes that role's next `[[turn]]`; calls that name no role consume the
//! turns that name none. Turns may also be kept for one Left Hand candidate (`candidate`) or for
//! the agents of one task (`task`, a phrase of the task found in the agent's instructions), so
//! that agents running at once, for several candidates or tasks, each follow their own turns. When a role's turns run out the call fails with
//! `script exhausted for <role> at turn N` — it never hangs. The format is documented in
//! `docs/scripted-model.md`.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;

use futures::stream::{self, BoxStream, StreamExt};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::ModelClient;
use super::cost::Prices;
use super::decode::tool_call_event;
use super::error::{ModelError, ModelErrorKind};
use super::types::{FinishReason, Message, ModelEvent, ModelRequest};
use crate::protocol::Role;

/// A parsed script: turns in file order.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Script {
    /// The turns, in order; each role plays its own in this order.
    #[serde(default, rename = "turn")]
    pub turns: Vec<ScriptTurn>,
}

/// One model reply.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScriptTurn {
    /// The role whose call plays this turn; `None` for calls that name no role.
    pub role: Option<Role>,
    /// The Left Hand candidate (`c1`, `c2`, …) whose agent plays this turn; `None` for any.
    pub candidate: Option<String>,
    /// A phrase of the task (e.g. its title) whose agents play this turn: calls whose system
    /// prompt contains it. `None` for any task.
    pub task: Option<String>,
    /// Reply text (streamed word by word).
    pub text: String,
    /// Tool calls, in order.
    #[serde(rename = "tool_call")]
    pub tool_calls: Vec<ScriptToolCall>,
    /// Reported usage; estimated from the text sizes (about four characters a token) when absent.
    pub usage: Option<ScriptUsage>,
    /// Makes the call fail with this message after the text (simulates a provider failure).
    pub error: Option<String>,
}

/// One scripted tool call.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScriptToolCall {
    /// The call id; generated as `call_<role>_<turn>_<n>` when absent.
    pub id: Option<String>,
    /// The tool name.
    pub name: String,
    /// The arguments as a TOML table (sent as the equivalent JSON object).
    pub arguments: Option<Value>,
    /// The arguments as raw text instead, e.g. to rehearse malformed JSON from a model.
    pub raw_arguments: Option<String>,
}

/// Scripted token counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScriptUsage {
    /// Prompt tokens.
    pub input_tokens: u64,
    /// Completion tokens.
    pub output_tokens: u64,
}

fn role_name(role: Option<Role>) -> &'static str {
    role.map_or("(no role)", Role::as_str)
}

impl Script {
    /// Parses and checks a script; `origin` names it in errors (a path or "embedded script").
    pub fn parse(text: &str, origin: &str) -> Result<Self, ModelError> {
        let script: Script = toml::from_str(text).map_err(|err| {
            let line = err.span().map(|span| {
                let before = text.as_bytes().get(..span.start).unwrap_or_default();
                before.iter().filter(|&&b| b == b'\n').count() + 1
            });
            let at = line.map(|l| format!(", line {l}")).unwrap_or_default();
            ModelError::new(
                ModelErrorKind::Script,
                format!("script {origin}{at}: {}; see docs/scripted-model.md", err.message().trim_end()),
            )
        })?;
        for (n, turn) in script.turns.iter().enumerate() {
            let bad = |what: String| {
                ModelError::new(
                    ModelErrorKind::Script,
                    format!("script {origin}: turn {} ({}): {what}", n + 1, role_name(turn.role)),
                )
            };
            if turn.task.as_deref().is_some_and(|phrase| phrase.trim().is_empty()) {
                return Err(bad("`task` is empty: give a phrase of the task's title".into()));
            }
            if turn.text.is_empty() && turn.tool_calls.is_empty() && turn.error.is_none() {
                return Err(bad("has no text, no tool_call and no error".into()));
            }
            for call in &turn.tool_calls {
                if call.name.is_empty() {
                    return Err(bad("a tool_call has no name".into()));
                }
                if call.arguments.is_some() && call.raw_arguments.is_some() {
                    return Err(bad(format!("tool_call `{}` has both arguments and raw_arguments", call.name)));
                }
                if let Some(args) = &call.arguments
                    && !args.is_object()
                {
                    return Err(bad(format!("the arguments of tool_call `{}` must be a table", call.name)));
                }
            }
        }
        Ok(script)
    }

    /// How many turns a role has.
    pub fn turns_for(&self, role: Option<Role>) -> usize {
        self.turns.iter().filter(|t| t.role == role).count()
    }
}

/// Which queue of turns a call plays from: its role, its Left Hand candidate (if the script has
/// turns for it) and its task's phrase (if the script has turns for it).
type Lane = (Option<Role>, Option<String>, Option<String>);

/// A model client that plays a [`Script`].
#[derive(Debug)]
pub struct ScriptedClient {
    name: String,
    model: String,
    prices: Prices,
    /// Each lane's turns, as indexes into `script.turns`.
    queues: HashMap<Lane, Vec<usize>>,
    /// The distinct `task` phrases of the script, longest first (the most specific wins).
    phrases: Vec<String>,
    script: Script,
    /// How many turns each lane has consumed.
    cursors: Mutex<HashMap<Lane, usize>>,
}

impl ScriptedClient {
    /// A client playing an already parsed script.
    pub fn new(name: impl Into<String>, model: impl Into<String>, script: Script, prices: Prices) -> Self {
        let mut queues: HashMap<Lane, Vec<usize>> = HashMap::new();
        for (index, turn) in script.turns.iter().enumerate() {
            queues.entry((turn.role, turn.candidate.clone(), turn.task.clone())).or_default().push(index);
        }
        let mut phrases: Vec<String> = script.turns.iter().filter_map(|t| t.task.clone()).collect();
        phrases.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        phrases.dedup();
        let model = model.into();
        Self {
            name: name.into(),
            model: if model.is_empty() { "scripted".into() } else { model },
            prices,
            queues,
            phrases,
            script,
            cursors: Mutex::new(HashMap::new()),
        }
    }

    /// A client playing a script given as text (e.g. one embedded in the binary).
    pub fn from_toml(
        name: impl Into<String>,
        model: impl Into<String>,
        text: &str,
        prices: Prices,
    ) -> Result<Self, ModelError> {
        let name = name.into();
        let script = Script::parse(text, &format!("of provider `{name}`"))?;
        Ok(Self::new(name, model, script, prices))
    }

    /// A client playing a script file.
    pub fn from_file(
        name: impl Into<String>,
        model: impl Into<String>,
        path: &Path,
        prices: Prices,
    ) -> Result<Self, ModelError> {
        let name = name.into();
        let text = std::fs::read_to_string(path).map_err(|err| {
            ModelError::new(
                ModelErrorKind::Script,
                format!(
                    "provider `{name}`: cannot read script {}: {err}; check `providers.{name}.script`",
                    path.display()
                ),
            )
        })?;
        let script = Script::parse(&text, &path.display().to_string())?;
        Ok(Self::new(name, model, script, prices))
    }

    /// The script being played.
    pub fn script(&self) -> &Script {
        &self.script
    }

    /// Turns a role has not played yet.
    pub fn remaining(&self, role: Option<Role>) -> usize {
        let lane = (role, None, None);
        let used = self.lock().get(&lane).copied().unwrap_or(0);
        self.queues.get(&lane).map_or(0, Vec::len).saturating_sub(used)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Lane, usize>> {
        // A poisoned lock only means another caller panicked; the counters are still valid.
        self.cursors.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The lane a call plays from, the most specific the script has: the turns of its task and
    /// candidate, of its task, of its candidate, else the role's turns that name neither.
    fn lane(&self, role: Option<Role>, candidate: Option<&str>, system: &str) -> Lane {
        let candidate = candidate.map(str::to_owned);
        let task = self.phrases.iter().find(|phrase| system.contains(phrase.as_str())).cloned();
        let specific = [(role, candidate.clone(), task.clone()), (role, None, task), (role, candidate, None)];
        specific
            .into_iter()
            .find(|lane| (lane.1.is_some() || lane.2.is_some()) && self.queues.contains_key(lane))
            .unwrap_or((role, None, None))
    }

    /// Takes the lane's next turn: its 1-based number and the turn, or the turn number missing.
    fn next_turn(&self, lane: &Lane) -> Result<(usize, &ScriptTurn), usize> {
        let mut cursors = self.lock();
        let used = cursors.entry(lane.clone()).or_insert(0);
        let turn = *used + 1;
        let index = self.queues.get(lane).and_then(|queue| queue.get(*used)).copied().ok_or(turn)?;
        *used += 1;
        self.script.turns.get(index).map(|t| (turn, t)).ok_or(turn)
    }

    fn play(&self, request: &ModelRequest) -> Vec<ModelEvent> {
        let role = request.role;
        let lane = self.lane(role, request.candidate.as_deref(), &request.system);
        let (number, turn) = match self.next_turn(&lane) {
            Ok(found) => found,
            Err(number) => {
                let message = format!(
                    "provider `{}`: script exhausted for {} at turn {number} (the script has {} \
                     turn(s) for it); add `[[turn]]` entries with `role = \"{}\"`",
                    self.name,
                    role_name(role),
                    self.queues.get(&lane).map_or(0, Vec::len),
                    role.map_or("", Role::as_str),
                );
                return vec![ModelEvent::Error(ModelError::new(
                    ModelErrorKind::ScriptExhausted { role, turn: number },
                    message,
                ))];
            }
        };
        let mut events: Vec<ModelEvent> =
            turn.text.split_inclusive(' ').map(|word| ModelEvent::TextDelta(word.to_owned())).collect();
        if let Some(error) = &turn.error {
            events.push(ModelEvent::Error(ModelError::new(
                ModelErrorKind::Server { status: None },
                format!("provider `{}`: scripted failure: {error}", self.name),
            )));
            return events;
        }
        let mut output_chars = turn.text.chars().count();
        for (n, call) in turn.tool_calls.iter().enumerate() {
            let id = call
                .id
                .clone()
                .unwrap_or_else(|| format!("call_{}_{number}_{}", role.map_or("any", Role::as_str), n + 1));
            let raw = match (&call.raw_arguments, &call.arguments) {
                (Some(raw), _) => raw.clone(),
                (None, Some(args)) => args.to_string(),
                (None, None) => Value::Object(Map::new()).to_string(),
            };
            output_chars += call.name.len() + raw.chars().count();
            events.push(tool_call_event(id, call.name.clone(), &raw));
        }
        let usage = turn.usage.unwrap_or_else(|| ScriptUsage {
            input_tokens: estimate_tokens(request_chars(request)),
            output_tokens: estimate_tokens(output_chars),
        });
        events.push(ModelEvent::Usage(self.prices.usage(usage.input_tokens, usage.output_tokens)));
        events.push(ModelEvent::Finished(if turn.tool_calls.is_empty() {
            FinishReason::Stop
        } else {
            FinishReason::ToolCalls
        }));
        events
    }
}

impl ModelClient for ScriptedClient {
    fn stream(&self, request: ModelRequest) -> BoxStream<'static, ModelEvent> {
        stream::iter(self.play(&request)).boxed()
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn model(&self) -> &str {
        &self.model
    }
}

fn estimate_tokens(chars: usize) -> u64 {
    (chars as u64).div_ceil(4)
}

fn request_chars(request: &ModelRequest) -> usize {
    let messages: usize = request
        .messages
        .iter()
        .map(|m| match m {
            Message::User { content } => content.chars().count(),
            Message::Assistant { content, tool_calls, .. } => {
                content.chars().count()
                    + tool_calls.iter().map(|c| c.name.len() + c.arguments.to_string().len()).sum::<usize>()
            }
            Message::Tool { content, .. } => content.chars().count(),
        })
        .sum();
    let tools: usize =
        request.tools.iter().map(|t| t.name.len() + t.description.len() + t.parameters.to_string().len()).sum();
    request.system.chars().count() + messages + tools
}

#[cfg(test)]
#[path = "scripted_tests.rs"]
mod tests;
