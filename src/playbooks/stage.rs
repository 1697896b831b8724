//! One stage of a playbook, as written and as checked: its kind says what the engine does with
//! it, and the kind fixes the role that runs it and the call that ends it, so a playbook can
//! rename and re-prompt a stage but never change what it means.

use serde::Deserialize;

use super::PolicyError;
use crate::protocol::{Role, StageKind, Track};

/// What a stage's tool entry starts with when it offers an MCP server's tools: `mcp:SERVER` for
/// all of them (but those its `forbid` names), `mcp:SERVER/TOOL` for one.
pub const MCP_ENTRY_PREFIX: &str = "mcp:";

/// Tools a stage may list.
pub const KNOWN_TOOLS: &[&str] = &["list_files", "read_file", "search", "write_file", "edit_file", "run", "git_diff"];

/// One stage, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stage {
    /// The stage's name, as the playbook calls it (shown to people; the engine never reads it).
    pub name: String,
    /// What it does.
    pub kind: StageKind,
    /// The role that runs it (the kind's).
    pub role: Role,
    /// The call that ends it (the kind's; empty when no agent runs it).
    pub submit: String,
    /// Model turns allowed before the stage escalates.
    pub max_turns: u32,
    /// The tools the agent may use.
    pub tools: Vec<String>,
    /// The system prompt, with `{{placeholders}}`.
    pub prompt: String,
}

/// A stage as the file spells it. `role` and `submit` may be left out: the kind implies them.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct StageText {
    name: String,
    kind: StageKind,
    #[serde(default)]
    role: Option<Role>,
    #[serde(default)]
    submit: Option<String>,
    #[serde(default)]
    max_turns: u32,
    #[serde(default)]
    tools: Vec<String>,
    #[serde(default)]
    prompt: String,
}

impl StageText {
    /// Checks the stage on its own: the role and call its kind implies, its tools, and for agent
    /// stages, turns and a prompt.
    pub(super) fn check(self) -> Result<Stage, String> {
        let StageText { name, kind, role, submit, max_turns, tools, prompt } = self;
        if let Some(role) = role.filter(|role| *role != kind.role()) {
            return Err(format!("stage `{name}` of kind `{kind}` is run by `{}`, not `{role}`", kind.role()));
        }
        let expected = kind.submit().unwrap_or_default();
        if let Some(submit) = submit.filter(|submit| submit != expected) {
            let ends = if expected.is_empty() { "no call".to_owned() } else { format!("`{expected}`") };
            return Err(format!("stage `{name}` of kind `{kind}` ends with {ends}, not `{submit}`"));
        }
        if let Some(tool) = tools.iter().find(|t| !KNOWN_TOOLS.contains(&t.as_str()) && !is_mcp_entry(t)) {
            return Err(format!(
                "stage `{name}` lists unknown tool `{tool}` (known: {}, and `mcp:SERVER` or `mcp:SERVER/TOOL` for an MCP \
                 server's tools)",
                KNOWN_TOOLS.join(", ")
            ));
        }
        if kind.submit().is_some() && (max_turns == 0 || prompt.trim().is_empty()) {
            return Err(format!("stage `{name}` of kind `{kind}` runs an agent: it needs max_turns > 0 and a prompt"));
        }
        if kind.track() == Track::Right && kind.submit().is_some() && kind.changes_files() != can_write(&tools) {
            let wants = if kind.changes_files() {
                "needs write_file or edit_file"
            } else {
                "must not list write_file or edit_file"
            };
            return Err(format!("stage `{name}` of kind `{kind}` {wants}"));
        }
        Ok(Stage { name, kind, role: kind.role(), submit: expected.to_owned(), max_turns, tools, prompt })
    }
}

/// Whether a stage's tool entry names an MCP server's tools (`mcp:SERVER` or `mcp:SERVER/TOOL`).
fn is_mcp_entry(entry: &str) -> bool {
    let Some(named) = entry.strip_prefix(MCP_ENTRY_PREFIX) else {
        return false;
    };
    let server = named.split_once('/').map_or(named, |(server, tool)| if tool.is_empty() { "" } else { server });
    !server.is_empty() && server.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn can_write(tools: &[String]) -> bool {
    tools.iter().any(|t| t == "write_file" || t == "edit_file")
}

/// Parses a playbook file's text, refusing it at the line of a TOML error; a kind that is not
/// one (like the old `agent`) gets the list of kinds.
pub(super) fn parse_text<T: serde::de::DeserializeOwned>(text: &str, origin: &str) -> Result<T, PolicyError> {
    toml::from_str(text).map_err(|err| {
        let mut error = PolicyError::from_toml(text, origin, &err);
        if error.message.contains("unknown variant") && error.message.contains("`implement`") {
            let kinds: Vec<&str> = StageKind::ALL.iter().map(|k| k.as_str()).collect();
            error.message = format!(
                "{}; a stage's kind says what it does, one of: {}; the Right Hand's are plan, implement, test, \
                 validate, review and pr",
                error.message,
                kinds.join(", ")
            );
        }
        error
    })
}
