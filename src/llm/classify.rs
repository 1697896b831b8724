//! Turning HTTP statuses, transport errors and stream faults into [`ModelError`]s whose messages
//! name the provider and say what to change.

use std::time::Duration;

use serde_json::Value;

use super::decode::Fault;
use super::error::{ModelError, ModelErrorKind};
use super::openai::excerpt;

/// The setting to change when a 400 names a parameter the model does not take (`lower` is the
/// lower-cased error body), in words.
fn unsupported_setting(lower: &str, provider: &str) -> Option<String> {
    let unsupported = ["unsupported", "not supported", "does not support", "unknown", "unrecognized", "not allowed"]
        .iter()
        .any(|w| lower.contains(w));
    if !unsupported {
        return None;
    }
    if lower.contains("max_completion_tokens") || lower.contains("'max_tokens'") || lower.contains("`max_tokens`") {
        let field = if lower.contains("use 'max_completion_tokens'") || lower.contains("use `max_completion_tokens`") {
            "max_completion_tokens"
        } else {
            "max_tokens"
        };
        return Some(format!(
            "set `providers.{provider}.max_tokens_field = \"{field}\"` (or unset `max_output_tokens` to send no limit)"
        ));
    }
    if lower.contains("encrypted content") || lower.contains("reasoning.encrypted_content") {
        return Some(format!(
            "set `providers.{provider}.extra_body = {{ include = [] }}`: this model returns no encrypted reasoning"
        ));
    }
    if lower.contains("reasoning_effort") || lower.contains("reasoning.effort") {
        return Some(format!(
            "unset `providers.{provider}.reasoning_effort` (and the roles' `reasoning_effort`): this model does not reason"
        ));
    }
    if lower.contains("temperature") {
        return Some(format!(
            "unset `providers.{provider}.temperature` (and the roles' `temperature`): this model takes only its default"
        ));
    }
    None
}

/// Where a client sends its requests, for messages.
#[derive(Debug, Clone)]
pub(crate) struct Endpoint {
    /// The provider's name in the config.
    pub provider: String,
    /// The full URL requests are posted to.
    pub url: String,
    /// The name of the key's environment variable (empty when none).
    pub key_env: String,
    /// The wire format's name, e.g. `OpenAI chat completions`.
    pub api: &'static str,
}

impl Endpoint {
    fn say(&self, text: impl std::fmt::Display) -> String {
        format!("provider `{}`: {text}", self.provider)
    }

    /// An HTTP error response.
    pub(crate) fn status_error(&self, model: &str, status: u16, body: &str) -> ModelError {
        let detail = server_message(body);
        let lower = body.to_lowercase();
        let said = if detail.is_empty() { String::new() } else { format!(" The server said: {detail}") };
        let (kind, text) = if matches!(status, 400 | 413 | 422) && is_context_length(&lower) {
            (
                ModelErrorKind::ContextLength,
                format!(
                    "the conversation is too long for model `{model}` (HTTP {status}); shorten it \
                     or choose a model with a larger context window.{said}"
                ),
            )
        } else if status == 404 || (matches!(status, 400 | 422) && is_model_not_found(&lower)) {
            (
                ModelErrorKind::NotFound { model: model.to_owned() },
                format!(
                    "model `{model}` was not found at {} (HTTP {status}); check the model name \
                     (`providers.{}.model` or the role's `model`) and that `base_url` is the API \
                     root.{said}",
                    self.url, self.provider
                ),
            )
        } else if matches!(status, 401 | 403) {
            let fix = if self.key_env.is_empty() {
                format!(
                    "this server needs an API key: set `providers.{}.api_key_env` to the name of \
                     the environment variable that holds it",
                    self.provider
                )
            } else {
                format!(
                    "check that the environment variable `{}` holds a valid key with access to \
                     model `{model}`",
                    self.key_env
                )
            };
            (
                ModelErrorKind::Auth { env_var: self.key_env.clone() },
                format!("the server at {} rejected the API key (HTTP {status}); {fix}.{said}", self.url),
            )
        } else if status == 429 && lower.contains("insufficient_quota") {
            (
                ModelErrorKind::BadRequest { status },
                format!(
                    "the account has no quota left (HTTP 429); check the plan and billing of the \
                     key in `{}`.{said}",
                    self.key_env
                ),
            )
        } else if status == 429 {
            (
                ModelErrorKind::RateLimited,
                format!(
                    "rate limited by {} (HTTP 429); wait, run fewer tasks at once \
                     (`engine.max_concurrent_tasks`) or raise `providers.{}.max_retries`.{said}",
                    self.url, self.provider
                ),
            )
        } else if status == 408 || status >= 500 {
            (
                ModelErrorKind::Server { status: Some(status) },
                format!("server error from {} (HTTP {status}); try again later.{said}", self.url),
            )
        } else if matches!(status, 400 | 422)
            && let Some(fix) = unsupported_setting(&lower, &self.provider)
        {
            (
                ModelErrorKind::BadRequest { status },
                format!("model `{model}` at {} refused a parameter (HTTP {status}): {fix}.{said}", self.url),
            )
        } else if (400..500).contains(&status) {
            (
                ModelErrorKind::BadRequest { status },
                format!(
                    "the server at {} rejected the request (HTTP {status}); check the provider's \
                     `kind` and `base_url` and that model `{model}` supports tools and \
                     streaming.{said}",
                    self.url
                ),
            )
        } else {
            (
                ModelErrorKind::Protocol,
                format!(
                    "unexpected HTTP {status} from {}; check `providers.{}.base_url`.{said}",
                    self.url, self.provider
                ),
            )
        };
        ModelError::new(kind, self.say(text)).with_detail(detail)
    }

    /// A failure to send the request or to read the body.
    pub(crate) fn transport_error(&self, err: &reqwest::Error, reading: bool) -> ModelError {
        let detail = error_chain(err);
        if err.is_connect() {
            ModelError::new(
                ModelErrorKind::Unreachable { url: self.url.clone() },
                self.say(format!(
                    "cannot connect to {} ({detail}); is the server running, and is \
                     `providers.{}.base_url` right?",
                    self.url, self.provider
                )),
            )
            .with_detail(detail)
        } else if err.is_timeout() {
            ModelError::new(
                ModelErrorKind::Unreachable { url: self.url.clone() },
                self.say(format!(
                    "timed out connecting to {} ({detail}); check the network or raise \
                     `providers.{}.connect_timeout_secs`",
                    self.url, self.provider
                )),
            )
            .with_detail(detail)
        } else {
            let when = if reading { "while reading the reply" } else { "before the reply started" };
            ModelError::new(
                ModelErrorKind::Interrupted,
                self.say(format!("the connection to {} broke {when} ({detail})", self.url)),
            )
            .with_detail(detail)
        }
    }

    /// The server went silent for longer than the idle timeout.
    pub(crate) fn idle_error(&self, after: Duration) -> ModelError {
        ModelError::new(
            ModelErrorKind::Timeout { after },
            self.say(format!(
                "no data from {} for {:.1} s; the server may be overloaded, or raise \
                 `providers.{}.idle_timeout_secs` for slow models",
                self.url,
                after.as_secs_f64(),
                self.provider
            )),
        )
    }

    /// A successful status with a body that is not an event stream.
    pub(crate) fn not_a_stream(&self, content_type: &str, body: &str) -> ModelError {
        let detail = server_message(body);
        ModelError::new(
            ModelErrorKind::Protocol,
            self.say(format!(
                "{} answered with `{content_type}` instead of an event stream; check that \
                 `providers.{}.kind` matches the server and that it supports streaming. The \
                 server said: {detail}",
                self.url, self.provider
            )),
        )
        .with_detail(detail)
    }

    /// A stream fault.
    pub(crate) fn fault_error(&self, model: &str, fault: Fault) -> ModelError {
        match fault {
            Fault::Remote { kind, message } => {
                let lower = format!("{kind} {message}").to_lowercase();
                let error_kind = if lower.contains("rate_limit") || lower.contains("rate limit") {
                    ModelErrorKind::RateLimited
                } else if is_context_length(&lower) {
                    ModelErrorKind::ContextLength
                } else if lower.contains("authentication") || lower.contains("permission") {
                    ModelErrorKind::Auth { env_var: self.key_env.clone() }
                } else if lower.contains("not_found") {
                    ModelErrorKind::NotFound { model: model.to_owned() }
                } else if lower.contains("invalid_request") {
                    ModelErrorKind::BadRequest { status: 400 }
                } else {
                    ModelErrorKind::Server { status: None }
                };
                ModelError::new(
                    error_kind,
                    self.say(format!("{} sent an error in the stream: {kind}: {message}", self.url)),
                )
                .with_detail(format!("{kind}: {message}"))
            }
            Fault::Malformed(detail) => ModelError::new(
                ModelErrorKind::Protocol,
                self.say(format!(
                    "{} sent data that is not a valid {} stream ({detail}); check \
                     `providers.{}.kind`",
                    self.url, self.api, self.provider
                )),
            )
            .with_detail(detail),
            Fault::Truncated => ModelError::new(
                ModelErrorKind::Interrupted,
                self.say(format!("the stream from {} ended before the reply was complete", self.url)),
            )
            .with_detail("the stream ended early"),
        }
    }
}

fn is_context_length(lower: &str) -> bool {
    [
        "context_length_exceeded",
        "context length",
        "context window",
        "maximum context",
        "prompt is too long",
        "too many tokens",
        "input is too long",
        "reduce the length",
        "request_too_large",
    ]
    .iter()
    .any(|needle| lower.contains(needle))
}

fn is_model_not_found(lower: &str) -> bool {
    lower.contains("model_not_found")
        || (lower.contains("model") && (lower.contains("not found") || lower.contains("does not exist")))
}

/// The server's own error message from a JSON or text body, shortened.
pub(crate) fn server_message(body: &str) -> String {
    let body = body.trim();
    if body.is_empty() {
        return String::new();
    }
    let from_json = serde_json::from_str::<Value>(body).ok().and_then(|value| {
        let error = value.get("error").unwrap_or(&value);
        match error {
            Value::String(text) => Some(text.clone()),
            _ => error.get("message").or_else(|| error.get("detail")).and_then(Value::as_str).map(str::to_owned),
        }
    });
    let text = from_json.unwrap_or_else(|| body.to_owned());
    excerpt(&text.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// The root cause of a transport error (reqwest's own text repeats the URL, hyper's is generic).
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut root = err;
    while let Some(inner) = root.source() {
        root = inner;
    }
    root.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(key_env: &str) -> Endpoint {
        Endpoint {
            provider: "p".into(),
            url: "http://127.0.0.1:9/v1/chat/completions".into(),
            key_env: key_env.into(),
            api: "OpenAI chat completions",
        }
    }

    #[test]
    fn statuses_map_to_kinds_with_actionable_messages() {
        let ep = endpoint("MY_KEY");
        let e = ep.status_error("m1", 401, r#"{"error":{"message":"bad key"}}"#);
        assert_eq!(e.kind, ModelErrorKind::Auth { env_var: "MY_KEY".into() });
        assert!(e.message.contains("MY_KEY") && e.message.contains("bad key"), "{e}");
        let e = ep.status_error("m1", 404, "nope");
        assert_eq!(e.kind, ModelErrorKind::NotFound { model: "m1".into() });
        assert!(e.message.contains("`m1`"));
        let e = ep.status_error("m1", 400, r#"{"error":{"code":"context_length_exceeded","message":"too long"}}"#);
        assert_eq!(e.kind, ModelErrorKind::ContextLength);
        let e = ep.status_error("m1", 400, r#"{"error":"model 'x' not found"}"#);
        assert!(matches!(e.kind, ModelErrorKind::NotFound { .. }));
        assert!(ep.status_error("m1", 429, "").is_retryable());
        assert!(!ep.status_error("m1", 429, "insufficient_quota").is_retryable());
        assert!(ep.status_error("m1", 503, "").is_retryable());
        assert!(ep.status_error("m1", 529, "").is_retryable());
        assert!(!ep.status_error("m1", 400, "bad").is_retryable());
        let e = endpoint("").status_error("m1", 401, "");
        assert!(e.message.contains("api_key_env"), "{e}");
    }

    #[test]
    fn server_messages_are_extracted_and_shortened() {
        assert_eq!(server_message(r#"{"error":{"message":"x  y"}}"#), "x y");
        assert_eq!(server_message(r#"{"detail":"d"}"#), "d");
        assert_eq!(server_message("plain\ntext"), "plain text");
        assert!(server_message(&"a".repeat(1000)).chars().count() <= 201);
    }
}
