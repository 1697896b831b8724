//! The Model Context Protocol client: the servers `[mcp.servers]` names, connected on first use
//! (a child process speaking MCP on stdio, or a streamable-HTTP address) through the official SDK
//! (`rmcp`), their tools listed for the agents a playbook offers them to, and called for the
//! broker, which judges, audits, redacts and bounds every call as it does its own tools.
//!
//! A model sees a server's tool as `mcp__<server>__<tool>` (characters a model API would refuse
//! become `_`); [`McpHub::call`] maps that name back to the server's own.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rmcp::ServiceExt;
use rmcp::model::{CallToolRequestParams, ContentBlock};
use rmcp::service::{RoleClient, RunningService};
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::{StreamableHttpClientTransport, TokioChildProcess};
use serde::Serialize;
use serde_json::Value;
use tokio::io::AsyncReadExt;

use crate::config::{McpConfig, McpServerConfig, McpVerdict, expand_variables};
use crate::playbooks::MCP_ENTRY_PREFIX;

/// What a tool name offered to a model starts with when it is an MCP server's.
pub const PREFIX: &str = "mcp__";

/// The most bytes of a server's stderr kept to explain a failure.
const STDERR_KEPT: usize = 4096;

/// The longest tool name model APIs take (OpenAI's limit; Anthropic's is the same).
const MAX_EXPOSED_NAME: usize = 64;

/// The variables a stdio server inherits from Ambidex's environment; everything else it gets
/// is what its `env` names. A model provider's key or a forge token never reaches it unasked.
const INHERITED_VARS: &[&str] = &["HOME", "LOGNAME", "USER", "PATH", "SHELL", "TERM", "LANG", "LC_ALL", "TMPDIR"];

/// One tool of one server.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct McpTool {
    /// The server.
    pub server: String,
    /// The server's name for it.
    pub name: String,
    /// The name a model sees (`mcp__<server>__<tool>`).
    pub exposed: String,
    /// What it does, as the server says.
    pub description: String,
    /// The JSON schema of its arguments.
    pub input_schema: Value,
    /// What the server's policy says about it.
    pub verdict: McpVerdict,
}

/// What went wrong with a server, said for a person.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum McpError {
    /// The configuration names something that cannot work.
    #[error("{0}")]
    Config(String),
    /// The server could not be started or did not answer the handshake.
    #[error("the MCP server `{server}` could not be reached: {detail}")]
    Connect {
        /// The server.
        server: String,
        /// Why, with what to do.
        detail: String,
    },
    /// A call failed in the protocol (not a tool's own error result).
    #[error("the MCP server `{server}` failed the call of `{tool}`: {detail}")]
    Call {
        /// The server.
        server: String,
        /// The tool.
        tool: String,
        /// Why.
        detail: String,
    },
}

/// A call's result: the text parts of its content, and whether the tool said it failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct McpCallOutcome {
    /// The text the model sees.
    pub text: String,
    /// The tool's own error flag.
    pub is_error: bool,
}

struct Connection {
    service: RunningService<RoleClient, ()>,
    tools: Vec<McpTool>,
}

/// The configured servers and their connections, shared by every agent of an engine.
pub struct McpHub {
    servers: BTreeMap<String, McpServerConfig>,
    workdir: PathBuf,
    connections: tokio::sync::Mutex<HashMap<String, Arc<Connection>>>,
}

impl std::fmt::Debug for McpHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("McpHub").field("servers", &self.servers.keys().collect::<Vec<_>>()).finish_non_exhaustive()
    }
}

/// The name a model sees for `tool` of `server`.
pub fn exposed_name(server: &str, tool: &str) -> String {
    let tool: String = tool.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).collect();
    format!("{PREFIX}{server}__{tool}")
}

/// The server an exposed name belongs to (`None` for a built-in tool's name).
pub fn server_of(exposed: &str) -> Option<&str> {
    exposed.strip_prefix(PREFIX)?.split_once("__").map(|(server, _)| server)
}

impl McpHub {
    /// A hub for the servers of `config`, whose stdio servers start in `workdir`; a server whose
    /// table cannot work is an error naming it.
    pub fn new(config: &McpConfig, workdir: &Path) -> Result<McpHub, McpError> {
        if let Some(problem) = config.servers.iter().find_map(|(name, server)| server.problem(name)) {
            return Err(McpError::Config(problem));
        }
        Ok(McpHub {
            servers: config.servers.clone(),
            workdir: workdir.to_owned(),
            connections: tokio::sync::Mutex::new(HashMap::new()),
        })
    }

    /// The configured servers, by name.
    pub fn servers(&self) -> &BTreeMap<String, McpServerConfig> {
        &self.servers
    }

    /// The tools of `server`, connecting to it first if needed.
    pub async fn tools(&self, server: &str) -> Result<Vec<McpTool>, McpError> {
        Ok(self.connection(server).await?.tools.clone())
    }

    /// The tools a stage's `mcp:…` entries name, in their order, never one the server's
    /// `forbid` names (a model is not offered what it may not call) nor one whose name models
    /// would refuse; an entry naming an unknown server or tool, a forbidden one or one with such
    /// a name is an error saying so.
    pub async fn resolve(&self, entries: &[String]) -> Result<Vec<McpTool>, McpError> {
        let mut tools = Vec::new();
        for entry in entries {
            let Some(named) = entry.strip_prefix(MCP_ENTRY_PREFIX) else {
                continue;
            };
            let (server, only) = match named.split_once('/') {
                Some((server, tool)) => (server, Some(tool)),
                None => (named, None),
            };
            let listed = self.tools(server).await?;
            match only {
                None => tools.extend(
                    listed
                        .into_iter()
                        .filter(|t| t.verdict != McpVerdict::Forbid && t.exposed.len() <= MAX_EXPOSED_NAME),
                ),
                Some(tool) => {
                    let found = listed.iter().find(|t| t.name == tool).ok_or_else(|| {
                        let names: Vec<&str> = listed.iter().map(|t| t.name.as_str()).collect();
                        McpError::Config(format!(
                            "the playbook names `{entry}`, but the MCP server `{server}` has no tool `{tool}` (it has: {})",
                            names.join(", ")
                        ))
                    })?;
                    if found.verdict == McpVerdict::Forbid {
                        return Err(McpError::Config(format!(
                            "the playbook offers `{entry}`, which `mcp.servers.{server}.forbid` names: take one of them out"
                        )));
                    }
                    if found.exposed.len() > MAX_EXPOSED_NAME {
                        return Err(McpError::Config(format!(
                            "`{entry}` would reach models as `{}`, longer than the {MAX_EXPOSED_NAME} characters model \
                             APIs take: give the server a shorter name",
                            found.exposed
                        )));
                    }
                    tools.push(found.clone());
                }
            }
        }
        Ok(tools)
    }

    /// The tool a model calls by `exposed`, from the servers connected so far.
    pub async fn tool(&self, exposed: &str) -> Option<McpTool> {
        let server = server_of(exposed)?;
        let connection = self.connections.lock().await.get(server).cloned()?;
        connection.tools.iter().find(|t| t.exposed == exposed).cloned()
    }

    /// Calls `tool` with `arguments` (a JSON object), within the server's timeout.
    pub async fn call(&self, tool: &McpTool, arguments: &Value) -> Result<McpCallOutcome, McpError> {
        let failed = |detail: String| McpError::Call { server: tool.server.clone(), tool: tool.name.clone(), detail };
        let connection = self.connection(&tool.server).await?;
        let mut params = CallToolRequestParams::new(tool.name.clone());
        params.arguments = match arguments {
            Value::Object(map) => Some(map.clone()),
            Value::Null => None,
            other => return Err(failed(format!("the arguments must be a JSON object, not `{other}`"))),
        };
        let timeout = self.servers.get(&tool.server).map_or(Duration::from_secs(60), McpServerConfig::timeout);
        let result = match tokio::time::timeout(timeout, connection.service.call_tool(params)).await {
            Ok(Ok(result)) => result,
            Ok(Err(err)) => {
                // A broken connection is made again on the next call.
                self.connections.lock().await.remove(&tool.server);
                return Err(failed(err.to_string()));
            }
            Err(_) => {
                return Err(failed(format!(
                    "no answer within {} s (`mcp.servers.{}.timeout_secs`)",
                    timeout.as_secs(),
                    tool.server
                )));
            }
        };
        let parts: Vec<String> = result
            .content
            .iter()
            .map(|block| match block {
                ContentBlock::Text(text) => text.text.clone(),
                ContentBlock::Image(image) => format!("[an image, {}]", image.mime_type),
                ContentBlock::Audio(audio) => format!("[audio, {}]", audio.mime_type),
                ContentBlock::Resource(_) => "[an embedded resource]".to_owned(),
                ContentBlock::ResourceLink(link) => format!("[a resource: {}]", link.uri),
                _ => "[content of a kind Ambidex does not show]".to_owned(),
            })
            .collect();
        let mut text = parts.join("\n");
        if text.is_empty()
            && let Some(structured) = &result.structured_content
        {
            text = structured.to_string();
        }
        Ok(McpCallOutcome { text, is_error: result.is_error.unwrap_or(false) })
    }

    /// Closes every connection (stopping the stdio servers).
    pub async fn shutdown(&self) {
        let connections: Vec<Arc<Connection>> = self.connections.lock().await.drain().map(|(_, c)| c).collect();
        for connection in connections {
            connection.service.cancellation_token().cancel();
        }
    }

    async fn connection(&self, server: &str) -> Result<Arc<Connection>, McpError> {
        let mut connections = self.connections.lock().await;
        if let Some(connection) = connections.get(server) {
            return Ok(connection.clone());
        }
        let config = self.servers.get(server).ok_or_else(|| {
            let known: Vec<&str> = self.servers.keys().map(String::as_str).collect();
            McpError::Config(if known.is_empty() {
                format!("there is no MCP server `{server}`: none is configured (`[mcp.servers.{server}]`)")
            } else {
                format!("there is no MCP server `{server}` (configured: {})", known.join(", "))
            })
        })?;
        let connection = Arc::new(connect(server, config, &self.workdir).await?);
        connections.insert(server.to_owned(), connection.clone());
        Ok(connection)
    }
}

/// A health check of one server: its tools, or why it could not be reached.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct McpCheck {
    /// The server.
    pub server: String,
    /// `stdio: COMMAND` or `http: URL`.
    pub transport: String,
    /// Its tools, when it answered.
    pub tools: Vec<McpTool>,
    /// Why it did not, otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// How long the connection and the tool list took.
    pub millis: u64,
}

impl McpHub {
    /// Connects to every server and lists its tools, each within its timeout.
    pub async fn check(&self) -> Vec<McpCheck> {
        let mut checks = Vec::new();
        for (name, config) in &self.servers {
            let started = Instant::now();
            let (tools, error) = match self.tools(name).await {
                Ok(tools) => (tools, None),
                Err(err) => (Vec::new(), Some(err.to_string())),
            };
            let transport = match (&config.command, &config.url) {
                (Some(command), _) => format!("stdio: {command}"),
                (None, Some(url)) => format!("http: {url}"),
                (None, None) => String::new(),
            };
            let millis = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
            checks.push(McpCheck { server: name.clone(), transport, tools, error, millis });
        }
        checks
    }
}

async fn connect(name: &str, config: &McpServerConfig, workdir: &Path) -> Result<Connection, McpError> {
    let failed = |detail: String| McpError::Connect { server: name.to_owned(), detail };
    let lookup = |var: &str| std::env::var(var).ok();
    let timeout = config.timeout();
    let (service, stderr) = match (&config.command, &config.url) {
        (Some(command), _) => {
            let mut child = tokio::process::Command::new(command);
            child.args(&config.args).current_dir(workdir).kill_on_drop(true).env_clear();
            for var in INHERITED_VARS {
                if let Some(value) = std::env::var_os(var) {
                    child.env(var, value);
                }
            }
            for (key, value) in &config.env {
                child.env(key, expand_variables(value, lookup).map_err(|err| failed(format!("env {key}: {err}")))?);
            }
            let (transport, stderr) =
                TokioChildProcess::builder(child).stderr(Stdio::piped()).spawn().map_err(|err| {
                    failed(format!("cannot start `{command}`: {err}; check `mcp.servers.{name}.command`"))
                })?;
            let stderr = stderr.map(|mut pipe| {
                tokio::spawn(async move {
                    let mut kept = Vec::new();
                    let mut chunk = [0u8; 1024];
                    while let Ok(n) = pipe.read(&mut chunk).await {
                        if n == 0 {
                            break;
                        }
                        kept.extend_from_slice(&chunk[..n]);
                        let excess = kept.len().saturating_sub(STDERR_KEPT);
                        kept.drain(..excess);
                    }
                    String::from_utf8_lossy(&kept).trim().to_owned()
                })
            });
            (tokio::time::timeout(timeout, ().serve(transport)).await, stderr)
        }
        (None, Some(url)) => {
            let mut headers = HashMap::new();
            for (key, value) in &config.headers {
                let value = expand_variables(value, lookup).map_err(|err| failed(format!("header {key}: {err}")))?;
                let header = reqwest::header::HeaderName::try_from(key.as_str())
                    .map_err(|err| failed(format!("the header name `{key}` is not valid: {err}")))?;
                let value = reqwest::header::HeaderValue::try_from(value)
                    .map_err(|err| failed(format!("the header `{key}` has a value HTTP cannot carry: {err}")))?;
                headers.insert(header, value);
            }
            let transport = StreamableHttpClientTransport::from_config(
                StreamableHttpClientTransportConfig::with_uri(url.as_str()).custom_headers(headers),
            );
            (tokio::time::timeout(timeout, ().serve(transport)).await, None)
        }
        (None, None) => return Err(failed("it has neither `command` nor `url`".into())),
    };
    let said = |stderr: Option<tokio::task::JoinHandle<String>>| async move {
        match stderr {
            Some(task) => match tokio::time::timeout(Duration::from_millis(200), task).await {
                Ok(Ok(text)) if !text.is_empty() => format!("; it said: {text}"),
                _ => String::new(),
            },
            None => String::new(),
        }
    };
    let service = match service {
        Ok(Ok(service)) => service,
        Ok(Err(err)) => return Err(failed(format!("the handshake failed: {err}{}", said(stderr).await))),
        Err(_) => {
            return Err(failed(format!(
                "no handshake within {} s (`mcp.servers.{name}.timeout_secs`){}",
                timeout.as_secs(),
                said(stderr).await
            )));
        }
    };
    let listed = match tokio::time::timeout(timeout, service.list_all_tools()).await {
        Ok(Ok(tools)) => tools,
        Ok(Err(err)) => return Err(failed(format!("it did not list its tools: {err}"))),
        Err(_) => return Err(failed(format!("it did not list its tools within {} s", timeout.as_secs()))),
    };
    let tools = listed
        .into_iter()
        .map(|tool| McpTool {
            server: name.to_owned(),
            exposed: exposed_name(name, &tool.name),
            verdict: config.verdict(&tool.name),
            name: tool.name.into_owned(),
            description: tool.description.map(|d| d.into_owned()).unwrap_or_default(),
            input_schema: Value::Object((*tool.input_schema).clone()),
        })
        .collect();
    Ok(Connection { service, tools })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposed_names_are_fit_for_model_apis_and_name_their_server() {
        assert_eq!(exposed_name("docs", "search"), "mcp__docs__search");
        assert_eq!(exposed_name("docs", "wiki.get page/v2"), "mcp__docs__wiki_get_page_v2");
        assert_eq!(server_of("mcp__docs__wiki_get"), Some("docs"));
        assert_eq!(server_of("read_file"), None);
    }
}
