//! Model-call failures: a machine-readable kind and a message that says what to change.

use std::fmt;
use std::time::Duration;

use crate::protocol::Role;

/// What kind of failure a model call hit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelErrorKind {
    /// The provider's configuration cannot work (no base URL, no model, …).
    Config,
    /// The environment variable that should hold the API key is not set.
    MissingKey {
        /// The variable's name.
        env_var: String,
    },
    /// The server rejected the key (HTTP 401/403).
    Auth {
        /// The variable the key came from (empty when the provider names none).
        env_var: String,
    },
    /// The model (or the endpoint) does not exist (HTTP 404).
    NotFound {
        /// The model asked for.
        model: String,
    },
    /// No connection could be made.
    Unreachable {
        /// The URL tried.
        url: String,
    },
    /// HTTP 429 or a rate-limit error event.
    RateLimited,
    /// HTTP 5xx, 408 or a server error event.
    Server {
        /// The HTTP status, when there was one.
        status: Option<u16>,
    },
    /// The server rejected the request for another reason (HTTP 4xx).
    BadRequest {
        /// The HTTP status.
        status: u16,
    },
    /// The conversation does not fit the model's context window.
    ContextLength,
    /// The server sent nothing for longer than the idle timeout.
    Timeout {
        /// The timeout.
        after: Duration,
    },
    /// The connection broke in the middle of a reply.
    Interrupted,
    /// The server sent something that is not the expected wire format.
    Protocol,
    /// A script file is missing or invalid.
    Script,
    /// A scripted role has no turn left.
    ScriptExhausted {
        /// The role that called (`None` for calls that name no role).
        role: Option<Role>,
        /// The 1-based turn it asked for.
        turn: usize,
    },
}

impl ModelErrorKind {
    /// Whether another attempt may succeed (only tried before any content was emitted).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            ModelErrorKind::Unreachable { .. }
                | ModelErrorKind::RateLimited
                | ModelErrorKind::Server { .. }
                | ModelErrorKind::Timeout { .. }
                | ModelErrorKind::Interrupted
        )
    }

    /// A short name for logs and JSON.
    pub fn name(&self) -> &'static str {
        match self {
            ModelErrorKind::Config => "config",
            ModelErrorKind::MissingKey { .. } => "missing_key",
            ModelErrorKind::Auth { .. } => "auth",
            ModelErrorKind::NotFound { .. } => "not_found",
            ModelErrorKind::Unreachable { .. } => "unreachable",
            ModelErrorKind::RateLimited => "rate_limited",
            ModelErrorKind::Server { .. } => "server",
            ModelErrorKind::BadRequest { .. } => "bad_request",
            ModelErrorKind::ContextLength => "context_length",
            ModelErrorKind::Timeout { .. } => "timeout",
            ModelErrorKind::Interrupted => "interrupted",
            ModelErrorKind::Protocol => "protocol",
            ModelErrorKind::Script => "script",
            ModelErrorKind::ScriptExhausted { .. } => "script_exhausted",
        }
    }
}

/// A failed model call.
///
/// `message` is for people: it names the provider, what went wrong and what to change. It never
/// contains an API key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelError {
    /// What kind of failure.
    pub kind: ModelErrorKind,
    /// What went wrong and what to do about it.
    pub message: String,
    /// The server's or the transport's own words, when there were any (used in retry reasons).
    pub detail: String,
}

impl ModelError {
    /// A new error.
    pub fn new(kind: ModelErrorKind, message: impl Into<String>) -> Self {
        Self { kind, message: message.into(), detail: String::new() }
    }

    /// The same error with the server's or transport's words attached.
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = detail.into();
        self
    }

    /// Whether another attempt may succeed.
    pub fn is_retryable(&self) -> bool {
        self.kind.is_retryable()
    }

    /// A few words for a retry notice: the kind and the detail.
    pub fn reason(&self) -> String {
        let what = match &self.kind {
            ModelErrorKind::RateLimited => "rate limited".to_owned(),
            ModelErrorKind::Server { status: Some(s) } => format!("server error (HTTP {s})"),
            ModelErrorKind::Server { status: None } => "server error".to_owned(),
            ModelErrorKind::Unreachable { url } => format!("cannot connect to {url}"),
            ModelErrorKind::Timeout { after } => {
                format!("no data for {} ms", after.as_millis())
            }
            ModelErrorKind::Interrupted => "connection dropped".to_owned(),
            other => other.name().replace('_', " "),
        };
        if self.detail.is_empty() { what } else { format!("{what}: {}", self.detail) }
    }
}

impl fmt::Display for ModelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ModelError {}
