//! `[acp.agents.NAME]`: other coding agents (Claude Code, Codex, Gemini CLI and others, through
//! their Agent Client Protocol adapters) that can work as the Right Hand's implementer
//! (`roles.implementer.agent = "NAME"`) or as a Left Hand challenger (`engine.challengers =
//! [{ agent = "NAME" }]`). Each runs in its worktree under Ambidex's sandbox. Like MCP servers,
//! agents come from the user's configuration only: a repository cannot add a process to start.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// `[acp]`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AcpConfig {
    /// The agents, by name (the name `roles.*.agent` and `engine.challengers` use).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub agents: BTreeMap<String, AcpAgentConfig>,
}

impl AcpConfig {
    /// Whether no agent is configured.
    pub fn is_empty(&self) -> bool {
        self.agents.is_empty()
    }

    /// The agent `name`, or what to do about its absence.
    pub fn agent(&self, name: &str) -> Result<&AcpAgentConfig, String> {
        self.agents.get(name).ok_or_else(|| {
            let known: Vec<&str> = self.agents.keys().map(String::as_str).collect();
            let known = if known.is_empty() { "none is configured".to_owned() } else { known.join(", ") };
            format!(
                "there is no ACP agent `{name}` (agents: {known}): add `[acp.agents.{name}]` with its `command` to your \
                 user config"
            )
        })
    }
}

/// One agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AcpAgentConfig {
    /// The program speaking ACP on its stdin and stdout (`claude-code-acp`, `codex-acp`, …).
    pub command: String,
    /// Its arguments (`["--experimental-acp"]`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    /// Variables set for it; `${NAME}` in a value is the variable `NAME` of Ambidex's own
    /// environment (`ANTHROPIC_API_KEY = "${ANTHROPIC_API_KEY}"`). Otherwise it gets only what
    /// sandboxed commands get: no key or token reaches it unasked.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    /// Seconds one stage's work may take before the agent is stopped.
    pub timeout_secs: u64,
}

impl Default for AcpAgentConfig {
    fn default() -> Self {
        Self { command: String::new(), args: Vec::new(), env: BTreeMap::new(), timeout_secs: 1800 }
    }
}

impl AcpAgentConfig {
    /// The command line the sandbox's shell runs: the program and its arguments, each quoted.
    pub fn command_line(&self) -> String {
        std::iter::once(&self.command).chain(&self.args).map(|word| shell_quoted(word)).collect::<Vec<_>>().join(" ")
    }

    /// Its `env`, with each `${NAME}` expanded from `lookup`.
    pub fn expanded_env(&self, lookup: impl Fn(&str) -> Option<String>) -> Result<Vec<(String, String)>, String> {
        self.env
            .iter()
            .map(|(name, value)| {
                super::expand_variables(value, &lookup)
                    .map(|value| (name.clone(), value))
                    .map_err(|err| format!("{name}: {err}"))
            })
            .collect()
    }
}

/// `word` as one shell word.
fn shell_quoted(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/' | '=' | ':' | ',' | '+' | '@'));
    if plain { word.to_owned() } else { format!("'{}'", word.replace('\'', r"'\''")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_quotes_what_the_shell_would_split_or_expand() {
        let agent = AcpAgentConfig {
            command: "/opt/bin/codex-acp".into(),
            args: vec!["--model".into(), "gpt 5".into(), "it's $HOME".into(), String::new()],
            ..AcpAgentConfig::default()
        };
        assert_eq!(agent.command_line(), r"/opt/bin/codex-acp --model 'gpt 5' 'it'\''s $HOME' ''");
    }

    #[test]
    fn variables_are_expanded_and_a_missing_one_is_named() {
        let agent = AcpAgentConfig {
            command: "a".into(),
            env: BTreeMap::from([("KEY".into(), "${SECRET}".into())]),
            ..AcpAgentConfig::default()
        };
        let found = agent.expanded_env(|name| (name == "SECRET").then(|| "s3".to_owned())).unwrap();
        assert_eq!(found, [("KEY".to_owned(), "s3".to_owned())]);
        let err = agent.expanded_env(|_| None).unwrap_err();
        assert!(err.starts_with("KEY: ") && err.contains("SECRET"), "{err}");
        let err = AcpConfig::default().agent("claude").unwrap_err();
        assert!(err.contains("[acp.agents.claude]") && err.contains("none is configured"), "{err}");
    }
}
