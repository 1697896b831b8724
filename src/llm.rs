//! Model providers behind one streaming interface, so agents never care which model they talk to.
//!
//! A [`ModelClient`] turns a [`ModelRequest`] (system prompt, messages with tool calls and tool
//! results, tool definitions, model, limits, calling role) into a stream of [`ModelEvent`]s: text
//! deltas, tool calls with parsed JSON arguments (or a [`ModelEvent::ToolCallError`] keeping the
//! raw text when a model writes malformed JSON), retries, usage with cost, and the finish reason —
//! or a final [`ModelEvent::Error`] whose message says what to change.
//!
//! Providers, chosen by `kind` in `[providers.NAME]` (see [`client_for`]):
//! - `openai`: `POST {base_url}/chat/completions` — OpenAI, Ollama, vLLM, llama.cpp, LM Studio,
//!   OpenRouter, LiteLLM;
//! - `anthropic`: `POST {base_url}/v1/messages`;
//! - `scripted`: a deterministic TOML script ([`ScriptedClient`], `docs/scripted-model.md`).
//!
//! The HTTP clients retry 429 (honouring `Retry-After`), 5xx, connection errors and streams idle
//! past the timeout, with exponential backoff and jitter, but only before any content was emitted;
//! every retry is a [`ModelEvent::Retry`] the engine persists as `EventKind::ModelRetry`. API keys
//! are read from the environment variable the provider names, when the client is built, and never
//! appear in `Debug` output, errors or events. HTTP streams must be polled inside a tokio runtime.

mod anthropic;
mod catalog;
mod check;
mod classify;
mod cost;
mod decode;
mod error;
mod http;
mod openai;
mod responses;
mod retry;
mod scripted;
mod sse;
mod types;

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use futures::stream::BoxStream;

use crate::config::{ProviderConfig, ProviderKind};

/// How a role's requests are tuned (reply limit, reasoning effort, temperature), from config.
pub use crate::config::Tuning;
pub use catalog::{OfferedModel, list_models};
pub use check::{CHECK_TOOL, CheckReport, ToolCheck, check, check_request, check_with_progress};
pub use cost::Prices;
pub use decode::{StreamDecoder, WireFormat};
pub use error::{ModelError, ModelErrorKind};
pub use retry::{Jitter, RetryPolicy, parse_retry_after};
pub use scripted::{Script, ScriptToolCall, ScriptTurn, ScriptUsage, ScriptedClient};
pub use sse::{SseEvent, SseParser};
pub use types::{FinishReason, Message, ModelEvent, ModelRequest, ToolCall, ToolDefinition, Usage};

/// A model provider: one request in, a stream of events out. `Debug` output never shows keys.
pub trait ModelClient: Send + Sync + fmt::Debug {
    /// Starts a call. The stream ends after [`ModelEvent::Finished`] or [`ModelEvent::Error`];
    /// dropping it cancels the call.
    fn stream(&self, request: ModelRequest) -> BoxStream<'static, ModelEvent>;

    /// The provider's name in the configuration.
    fn name(&self) -> &str;

    /// The model used when a request names none.
    fn model(&self) -> &str;
}

/// An API key. Its `Debug` output is redacted and it has no `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// Wraps a key.
    pub fn new(key: impl Into<String>) -> Self {
        Self(key.into())
    }

    /// Reads the key from an environment variable; `None` when unset or empty.
    pub fn from_env(var: &str) -> Option<Self> {
        std::env::var(var).ok().filter(|key| !key.trim().is_empty()).map(|key| Self(key.trim().to_owned()))
    }

    pub(crate) fn expose(&self) -> &str {
        &self.0
    }

    /// `text` with every occurrence of the key replaced (keys shorter than 8 bytes are left
    /// alone: replacing them would mangle ordinary text and they protect nothing).
    pub(crate) fn redact(&self, text: &str) -> String {
        if self.0.len() < 8 {
            return text.to_owned();
        }
        text.replace(&self.0, "[REDACTED]")
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey([REDACTED])")
    }
}

/// The reasoning efforts a provider may be configured with (an Anthropic provider also takes a
/// number: its thinking budget in tokens).
pub const REASONING_EFFORTS: &[&str] = &["none", "minimal", "low", "medium", "high", "xhigh"];

/// How to build a client beyond what the provider's configuration says.
#[derive(Debug, Clone, Default)]
pub struct ClientOptions {
    /// Retry limits and timeouts; `None` takes them from the provider's configuration.
    pub retry: Option<RetryPolicy>,
    /// The key; `None` reads the environment variable named by `api_key_env`.
    pub api_key: Option<ApiKey>,
}

/// Builds the client for provider `name` using `model` (empty means the provider's model).
///
/// Reads the API key from the environment variable named by `api_key_env` (none is needed when it
/// is empty) and the retry limits from the provider. A `scripted` provider reads its script file
/// (relative paths are relative to the current directory).
pub fn client_for(name: &str, provider: &ProviderConfig, model: String) -> Result<Arc<dyn ModelClient>, ModelError> {
    client_with(name, provider, model, ClientOptions::default())
}

/// [`client_for`] with a given key or retry policy (for tests and embedders).
pub fn client_with(
    name: &str,
    provider: &ProviderConfig,
    model: String,
    options: ClientOptions,
) -> Result<Arc<dyn ModelClient>, ModelError> {
    let model = if model.is_empty() { provider.model.clone() } else { model };
    let prices = Prices::from_provider(provider);
    let format = match provider.kind {
        ProviderKind::Scripted => {
            if provider.script.trim().is_empty() {
                return Err(ModelError::new(
                    ModelErrorKind::Config,
                    format!(
                        "provider `{name}`: a scripted provider needs a script: set \
                         `providers.{name}.script` to a script file (see docs/scripted-model.md)"
                    ),
                ));
            }
            let client = ScriptedClient::from_file(name, model, Path::new(provider.script.trim()), prices)?;
            return Ok(Arc::new(client));
        }
        ProviderKind::Openai => WireFormat::OpenAi,
        ProviderKind::Anthropic => WireFormat::Anthropic,
        ProviderKind::OpenaiResponses => WireFormat::OpenAiResponses,
    };
    let key_env = provider.api_key_env.trim();
    let key = match options.api_key {
        Some(key) => Some(key),
        None if key_env.is_empty() => None,
        None => Some(ApiKey::from_env(key_env).ok_or_else(|| {
            ModelError::new(
                ModelErrorKind::MissingKey { env_var: key_env.to_owned() },
                format!(
                    "provider `{name}`: the environment variable `{key_env}` is not set; export \
                     it with your API key (keys are never stored in the config), or set \
                     `providers.{name}.api_key_env` to the variable that holds it"
                ),
            )
        })?),
    };
    let config_error = |text: String| ModelError::new(ModelErrorKind::Config, format!("provider `{name}`: {text}"));
    let max_completion_tokens = match provider.max_tokens_field.as_deref().map(str::trim) {
        None | Some("") => None,
        Some("max_tokens") => Some(false),
        Some("max_completion_tokens") => Some(true),
        Some(other) => {
            return Err(config_error(format!(
                "`providers.{name}.max_tokens_field` = \"{other}\": use \"max_tokens\" or \"max_completion_tokens\""
            )));
        }
    };
    if let Some(effort) = provider.reasoning_effort.as_deref()
        && !REASONING_EFFORTS.contains(&effort)
        && !(provider.kind == ProviderKind::Anthropic && effort.parse::<u32>().is_ok())
    {
        let budget = if provider.kind == ProviderKind::Anthropic { " or a thinking budget in tokens" } else { "" };
        return Err(config_error(format!(
            "`providers.{name}.reasoning_effort` = \"{effort}\": use one of {}{budget}",
            REASONING_EFFORTS.join(", ")
        )));
    }
    let extra_body = serde_json::to_value(&provider.extra_body)
        .ok()
        .and_then(|value| value.as_object().cloned())
        .unwrap_or_default();
    let client = http::HttpClient::new(http::HttpSettings {
        name,
        format,
        base_url: &provider.base_url,
        model,
        key_env,
        key,
        extra_headers: &provider.headers,
        policy: options.retry.unwrap_or_else(|| RetryPolicy::from_provider(provider)),
        prices,
        max_completion_tokens,
        extra_body,
        prompt_caching: provider.prompt_caching,
    })?;
    Ok(Arc::new(client))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_keys_never_show_in_debug_and_are_redacted() {
        let key = ApiKey::new("sk-secret-value-123");
        assert_eq!(format!("{key:?}"), "ApiKey([REDACTED])");
        assert_eq!(key.redact("bad key sk-secret-value-123!"), "bad key [REDACTED]!");
        let options = ClientOptions { retry: None, api_key: Some(key) };
        assert!(!format!("{options:?}").contains("secret"));
    }

    #[test]
    fn http_clients_need_a_url_and_a_model() {
        let provider = ProviderConfig { base_url: String::new(), model: "m".into(), ..ProviderConfig::default() };
        let err = client_for("p", &provider, String::new()).err().map(|e| e.kind);
        assert_eq!(err, Some(ModelErrorKind::Config));
        let provider = ProviderConfig { base_url: "http://127.0.0.1:1/v1".into(), ..ProviderConfig::default() };
        let err = client_for("p", &provider, String::new()).err();
        assert!(err.is_some_and(|e| e.message.contains("providers.p.model")));
    }

    #[test]
    fn a_missing_key_names_the_variable() {
        let provider = ProviderConfig {
            base_url: "http://127.0.0.1:1/v1".into(),
            model: "m".into(),
            api_key_env: "AMBIDEX_TEST_SURELY_UNSET_KEY".into(),
            ..ProviderConfig::default()
        };
        let err = client_for("p", &provider, String::new()).err();
        let err = err.map(|e| (e.kind, e.message));
        let Some((kind, message)) = err else {
            panic!("expected an error");
        };
        assert_eq!(kind, ModelErrorKind::MissingKey { env_var: "AMBIDEX_TEST_SURELY_UNSET_KEY".into() });
        assert!(message.contains("AMBIDEX_TEST_SURELY_UNSET_KEY"));
    }
}
