//! `[mcp.servers.NAME]`: the Model Context Protocol servers whose tools agents may use. A server
//! is a command speaking MCP on its stdin and stdout, or a streamable-HTTP address; which tools it
//! may run without asking, which never, is said here too (the rest wait for a human). Like hooks,
//! servers come from the user's configuration only: a repository cannot add a process to start.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// `[mcp]`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct McpConfig {
    /// The servers, by name (the name playbooks use: `tools = ["mcp:NAME"]`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub servers: BTreeMap<String, McpServerConfig>,
}

/// One server.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct McpServerConfig {
    /// The program to start (stdio transport), run in the repository's root.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// Its arguments.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    /// Variables set for it; `${NAME}` in a value is the variable `NAME` of Ambidex's own
    /// environment, so a secret is named here, never written. It inherits only `HOME`, `PATH`,
    /// `USER` and the like otherwise: no model provider's key or forge token reaches it unasked.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    /// The server's streamable-HTTP address (instead of `command`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Headers sent with every request, with `${NAME}` expanded as in `env`
    /// (`Authorization = "Bearer ${DOCS_TOKEN}"`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// Tools that run without asking (`*` matches any run of characters).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub allow: Vec<String>,
    /// Tools that are never run; this wins over `allow`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub forbid: Vec<String>,
    /// Seconds one call (and the connection) may take.
    pub timeout_secs: u64,
}

/// What the policy says about one tool of a server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum McpVerdict {
    /// Runs without asking.
    Allow,
    /// Waits for a human's approval.
    Prompt,
    /// Never runs.
    Forbid,
}

impl McpConfig {
    /// Whether no server is configured.
    pub fn is_empty(&self) -> bool {
        self.servers.is_empty()
    }
}

impl McpServerConfig {
    /// The verdict for `tool`: `forbid` first, then `allow`, else a human decides.
    pub fn verdict(&self, tool: &str) -> McpVerdict {
        if self.forbid.iter().any(|pattern| glob_matches(pattern, tool)) {
            McpVerdict::Forbid
        } else if self.allow.iter().any(|pattern| glob_matches(pattern, tool)) {
            McpVerdict::Allow
        } else {
            McpVerdict::Prompt
        }
    }

    /// The call timeout, with the default for an unset (zero) value.
    pub fn timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(if self.timeout_secs == 0 { 60 } else { self.timeout_secs })
    }

    /// What is wrong with this server's table, if anything, said for a person.
    pub fn problem(&self, name: &str) -> Option<String> {
        let valid_name = !name.is_empty()
            && !name.contains("__")
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !valid_name {
            return Some(format!(
                "the MCP server name `{name}` may hold only letters, digits, `-` and single `_` (it becomes part of \
                 tool names models see)"
            ));
        }
        match (&self.command, &self.url) {
            (Some(_), Some(_)) => Some(format!("mcp.servers.{name} has both `command` and `url`: give one")),
            (None, None) => Some(format!(
                "mcp.servers.{name} needs `command` (a program speaking MCP on stdio) or `url` (a streamable-HTTP \
                 address)"
            )),
            (None, Some(_)) if !self.env.is_empty() || !self.args.is_empty() => {
                Some(format!("mcp.servers.{name}: `args` and `env` are for a `command`, not a `url`"))
            }
            (Some(_), None) if !self.headers.is_empty() => {
                Some(format!("mcp.servers.{name}: `headers` are for a `url`, not a `command`"))
            }
            _ => None,
        }
    }
}

/// Whether `text` matches `pattern`, where `*` stands for any run of characters.
fn glob_matches(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// `text` with every `${NAME}` replaced by the variable `NAME` from `lookup`; an unset one is an
/// error naming it.
pub fn expand_variables(text: &str, lookup: impl Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find('}').ok_or_else(|| format!("`{text}` has a `${{` without its `}}`"))?;
        let name = &after[..end];
        let value = lookup(name).ok_or_else(|| format!("the variable `{name}` is not set; export it and retry"))?;
        out.push_str(&value);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forbid_wins_over_allow_and_the_rest_waits_for_a_human() {
        let server = McpServerConfig {
            command: Some("docs-server".into()),
            allow: vec!["search*".into(), "get_*_page".into()],
            forbid: vec!["search_private".into()],
            ..McpServerConfig::default()
        };
        assert_eq!(server.verdict("search"), McpVerdict::Allow);
        assert_eq!(server.verdict("search_code"), McpVerdict::Allow);
        assert_eq!(server.verdict("get_wiki_page"), McpVerdict::Allow);
        assert_eq!(server.verdict("get_wiki_pages"), McpVerdict::Prompt);
        assert_eq!(server.verdict("search_private"), McpVerdict::Forbid);
        assert_eq!(server.verdict("delete"), McpVerdict::Prompt);
        assert!(glob_matches("*", "") && glob_matches("a*b*c", "abc") && !glob_matches("a*b", "ba"));
    }

    #[test]
    fn a_server_has_one_transport_and_a_name_fit_for_tool_names() {
        let stdio = McpServerConfig { command: Some("x".into()), ..McpServerConfig::default() };
        assert_eq!(stdio.problem("docs"), None);
        assert!(stdio.problem("my__docs").unwrap().contains("single `_`"));
        assert!(stdio.problem("d.o").is_some());
        let both = McpServerConfig { url: Some("http://h".into()), ..stdio.clone() };
        assert!(both.problem("docs").unwrap().contains("both"));
        assert!(McpServerConfig::default().problem("docs").unwrap().contains("needs `command`"));
        let headers = McpServerConfig { headers: BTreeMap::from([("A".into(), "b".into())]), ..stdio };
        assert!(headers.problem("docs").unwrap().contains("for a `url`"));
    }

    #[test]
    fn variables_are_expanded_and_a_missing_one_is_named() {
        let lookup = |name: &str| (name == "TOKEN").then(|| "s3cret".to_owned());
        assert_eq!(expand_variables("Bearer ${TOKEN}", lookup).unwrap(), "Bearer s3cret");
        assert_eq!(expand_variables("plain", lookup).unwrap(), "plain");
        assert!(expand_variables("${NOPE}", lookup).unwrap_err().contains("`NOPE` is not set"));
        assert!(expand_variables("${TOKEN", lookup).unwrap_err().contains("without its"));
    }
}
