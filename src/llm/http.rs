//! The HTTP model client: one streaming POST per attempt, with retries, backoff and an idle
//! timeout, shared by the OpenAI and Anthropic wire formats.
//!
//! Retry rule: an attempt is retried (429, 5xx, connection errors, idle timeout, a stream that
//! breaks) only while no content has been emitted; after that a failure ends the stream with an
//! error, so no delta is ever delivered twice.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::stream::{self, BoxStream, StreamExt};
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue, USER_AGENT};

use super::anthropic;
use super::classify::Endpoint;
use super::cost::Prices;
use super::decode::{StreamDecoder, WireFormat};
use super::error::{ModelError, ModelErrorKind};
use super::openai;
use super::responses;
use super::retry::{Jitter, RetryPolicy, parse_retry_after, parse_retry_after_ms};
use super::types::{ModelEvent, ModelRequest};
use super::{ApiKey, ModelClient};

/// The largest error body read for a message.
const MAX_ERROR_BODY: usize = 64 * 1024;

struct Inner {
    endpoint: Endpoint,
    format: WireFormat,
    model: String,
    http: reqwest::Client,
    headers: HeaderMap,
    key: Option<ApiKey>,
    policy: RetryPolicy,
    prices: Prices,
    max_completion_tokens: bool,
    extra_body: serde_json::Map<String, serde_json::Value>,
    prompt_caching: bool,
}

/// A client for an OpenAI-compatible or Anthropic server.
#[derive(Clone)]
pub(crate) struct HttpClient {
    inner: Arc<Inner>,
}

impl fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpClient")
            .field("provider", &self.inner.endpoint.provider)
            .field("url", &self.inner.endpoint.url)
            .field("model", &self.inner.model)
            .field("key", &self.inner.key)
            .finish_non_exhaustive()
    }
}

/// What [`HttpClient::new`] needs.
pub(crate) struct HttpSettings<'a> {
    pub name: &'a str,
    pub format: WireFormat,
    pub base_url: &'a str,
    pub model: String,
    pub key_env: &'a str,
    pub key: Option<ApiKey>,
    pub extra_headers: &'a std::collections::BTreeMap<String, String>,
    pub policy: RetryPolicy,
    pub prices: Prices,
    /// `Some(true)`: send the reply limit as `max_completion_tokens`; `None`: decide by URL.
    pub max_completion_tokens: Option<bool>,
    /// Fields merged into every body, last.
    pub extra_body: serde_json::Map<String, serde_json::Value>,
    /// Anthropic: mark the stable prefix for prompt caching.
    pub prompt_caching: bool,
}

impl HttpClient {
    pub(crate) fn new(settings: HttpSettings<'_>) -> Result<Self, ModelError> {
        let config_error =
            |text: String| ModelError::new(ModelErrorKind::Config, format!("provider `{}`: {text}", settings.name));
        let base = settings.base_url.trim().trim_end_matches('/');
        if base.is_empty() {
            return Err(config_error(format!("no base URL: set `providers.{}.base_url`", settings.name)));
        }
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(config_error(format!("base URL `{base}` must start with http:// or https://")));
        }
        if settings.model.is_empty() {
            return Err(config_error(format!(
                "no model: set `providers.{}.model` or the role's `model`",
                settings.name
            )));
        }
        let (url, api) = match settings.format {
            WireFormat::OpenAi => (format!("{base}/chat/completions"), "OpenAI chat completions"),
            WireFormat::OpenAiResponses => (format!("{base}/responses"), "OpenAI responses"),
            WireFormat::Anthropic if base.ends_with("/v1") => (format!("{base}/messages"), "Anthropic messages"),
            WireFormat::Anthropic => (format!("{base}/v1/messages"), "Anthropic messages"),
        };
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(ACCEPT, HeaderValue::from_static("text/event-stream"));
        headers.insert(USER_AGENT, HeaderValue::from_static(concat!("ambidex/", env!("CARGO_PKG_VERSION"))));
        let bad_key = || {
            config_error(format!("the key in `{}` contains characters not allowed in an HTTP header", settings.key_env))
        };
        match settings.format {
            WireFormat::OpenAi | WireFormat::OpenAiResponses => {
                if let Some(key) = &settings.key {
                    let mut value =
                        HeaderValue::from_str(&format!("Bearer {}", key.expose())).map_err(|_| bad_key())?;
                    value.set_sensitive(true);
                    headers.insert(AUTHORIZATION, value);
                }
            }
            WireFormat::Anthropic => {
                if let Some(key) = &settings.key {
                    let mut value = HeaderValue::from_str(key.expose()).map_err(|_| bad_key())?;
                    value.set_sensitive(true);
                    headers.insert(HeaderName::from_static("x-api-key"), value);
                }
                headers.insert(
                    HeaderName::from_static("anthropic-version"),
                    HeaderValue::from_static(anthropic::API_VERSION),
                );
            }
        }
        for (name, value) in settings.extra_headers {
            let header = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| config_error(format!("`{name}` is not a valid HTTP header name")))?;
            let value = HeaderValue::from_str(value)
                .map_err(|_| config_error(format!("the value of header `{name}` is not valid")))?;
            headers.insert(header, value);
        }
        let mut builder = reqwest::Client::builder();
        if let Some(timeout) = settings.policy.connect_timeout {
            builder = builder.connect_timeout(timeout);
        }
        let http = builder.build().map_err(|err| config_error(format!("cannot set up HTTP: {err}")))?;
        let max_completion_tokens = settings.max_completion_tokens.unwrap_or_else(|| {
            settings.format == WireFormat::OpenAi
                && (base.starts_with("https://api.openai.com/") || base == "https://api.openai.com")
        });
        Ok(Self {
            inner: Arc::new(Inner {
                endpoint: Endpoint {
                    provider: settings.name.to_owned(),
                    url,
                    key_env: settings.key_env.to_owned(),
                    api,
                },
                format: settings.format,
                model: settings.model,
                http,
                headers,
                key: settings.key,
                policy: settings.policy,
                prices: settings.prices,
                max_completion_tokens,
                extra_body: settings.extra_body,
                prompt_caching: settings.prompt_caching,
            }),
        })
    }
}

impl ModelClient for HttpClient {
    fn stream(&self, request: ModelRequest) -> BoxStream<'static, ModelEvent> {
        let inner = Arc::clone(&self.inner);
        let model = if request.model.is_empty() { inner.model.clone() } else { request.model.clone() };
        let mut body = match inner.format {
            WireFormat::OpenAi => openai::body(&request, &model, inner.max_completion_tokens),
            WireFormat::Anthropic => anthropic::body(&request, &model, inner.prompt_caching),
            WireFormat::OpenAiResponses => responses::body(&request, &model),
        };
        if let serde_json::Value::Object(fields) = &mut body {
            fields.extend(inner.extra_body.clone());
        }
        let body = Bytes::from(body.to_string());
        let run = Run { inner, model, body, attempt: 0, emitted: false, state: State::Start, jitter: Jitter::new() };
        stream::unfold(run, |mut run| async move {
            let batch = run.step().await?;
            Some((stream::iter(batch), run))
        })
        .flatten()
        .boxed()
    }

    fn name(&self) -> &str {
        &self.inner.endpoint.provider
    }

    fn model(&self) -> &str {
        &self.inner.model
    }
}

enum State {
    Start,
    Wait(Duration),
    Reading { body: BoxStream<'static, reqwest::Result<Bytes>>, decoder: Box<StreamDecoder> },
    Done,
}

/// One call in progress.
struct Run {
    inner: Arc<Inner>,
    model: String,
    body: Bytes,
    attempt: u32,
    emitted: bool,
    state: State,
    jitter: Jitter,
}

/// An attempt's failure and the server's requested wait.
type Failure = (ModelError, Option<Duration>);

impl Run {
    /// The next batch of events, or `None` when the stream is over.
    async fn step(&mut self) -> Option<Vec<ModelEvent>> {
        loop {
            match std::mem::replace(&mut self.state, State::Done) {
                State::Done => return None,
                State::Wait(delay) => {
                    tokio::time::sleep(delay).await;
                    self.state = State::Start;
                }
                State::Start => {
                    self.attempt += 1;
                    let opened = open(&self.inner, &self.model, self.body.clone()).await;
                    match opened {
                        Ok(body) => {
                            let decoder = StreamDecoder::new(self.inner.format, self.inner.prices);
                            self.state = State::Reading { body, decoder: Box::new(decoder) };
                        }
                        Err((err, wait)) => return Some(self.failed(err, wait, Vec::new())),
                    }
                }
                State::Reading { mut body, mut decoder } => {
                    let next = match self.inner.policy.idle_timeout {
                        Some(limit) => match tokio::time::timeout(limit, body.next()).await {
                            Ok(next) => next,
                            Err(_) => {
                                let err = self.inner.endpoint.idle_error(limit);
                                return Some(self.failed(err, None, Vec::new()));
                            }
                        },
                        None => body.next().await,
                    };
                    let mut out = Vec::new();
                    let result = match next {
                        Some(Ok(bytes)) => decoder
                            .push_raw(&bytes, &mut out)
                            .map_err(|fault| self.inner.endpoint.fault_error(&self.model, fault)),
                        Some(Err(err)) => Err(self.inner.endpoint.transport_error(&err, true)),
                        None => decoder
                            .finish_raw(&mut out)
                            .map_err(|fault| self.inner.endpoint.fault_error(&self.model, fault)),
                    };
                    if let Err(err) = result {
                        return Some(self.failed(err, None, out));
                    }
                    if out.iter().any(ModelEvent::is_content) {
                        self.emitted = true;
                    }
                    let done = decoder.is_done();
                    if !done {
                        self.state = State::Reading { body, decoder };
                    }
                    if done || !out.is_empty() {
                        return Some(out);
                    }
                }
            }
        }
    }

    /// Decides between another attempt and the end of the stream.
    fn failed(&mut self, err: ModelError, wait: Option<Duration>, mut out: Vec<ModelEvent>) -> Vec<ModelEvent> {
        let err = redact(&self.inner, err);
        if out.iter().any(ModelEvent::is_content) {
            self.emitted = true;
        }
        let policy = &self.inner.policy;
        if err.is_retryable() && !self.emitted && self.attempt <= policy.max_retries {
            let delay = policy.delay(self.attempt, wait, &mut self.jitter);
            out.push(ModelEvent::Retry { attempt: self.attempt, reason: err.reason(), delay });
            self.state = State::Wait(delay);
            return out;
        }
        let mut err = err;
        if self.emitted {
            err.message.push_str("; the reply stopped after partial output and is incomplete");
        } else if self.attempt > 1 {
            let prefix = format!("provider `{}`: ", self.inner.endpoint.provider);
            let rest = err.message.strip_prefix(&prefix).unwrap_or(&err.message);
            err.message =
                format!("provider `{}` gave up after {} attempts: {rest}", self.inner.endpoint.provider, self.attempt);
        }
        out.push(ModelEvent::Error(err));
        self.state = State::Done;
        out
    }
}

/// The server's requested wait: `retry-after-ms` (OpenAI) or `retry-after`.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    get("retry-after-ms")
        .and_then(parse_retry_after_ms)
        .or_else(|| get("retry-after").and_then(|v| parse_retry_after(v, jiff::Timestamp::now())))
}

/// Sends the request; on success returns the body stream.
async fn open(inner: &Inner, model: &str, body: Bytes) -> Result<BoxStream<'static, reqwest::Result<Bytes>>, Failure> {
    let send = inner.http.post(&inner.endpoint.url).headers(inner.headers.clone()).body(body).send();
    let sent = match inner.policy.idle_timeout {
        Some(limit) => tokio::time::timeout(limit, send).await.map_err(|_| (inner.endpoint.idle_error(limit), None))?,
        None => send.await,
    };
    let response = sent.map_err(|err| (redact(inner, inner.endpoint.transport_error(&err, false)), None))?;
    let status = response.status();
    let content_type = response.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    if status.is_success() && !content_type.starts_with("application/json") {
        return Ok(response.bytes_stream().boxed());
    }
    let wait = retry_after(response.headers());
    let body = read_capped(inner, response).await;
    let err = if status.is_success() {
        inner.endpoint.not_a_stream(&content_type, &body)
    } else {
        inner.endpoint.status_error(model, status.as_u16(), &body)
    };
    Err((redact(inner, err), wait))
}

/// Reads at most [`MAX_ERROR_BODY`] bytes of an error body, best effort.
async fn read_capped(inner: &Inner, response: reqwest::Response) -> String {
    let mut body = response.bytes_stream();
    let mut bytes = Vec::new();
    let read = async {
        while let Some(Ok(chunk)) = body.next().await {
            bytes.extend_from_slice(&chunk);
            if bytes.len() >= MAX_ERROR_BODY {
                break;
            }
        }
    };
    match inner.policy.idle_timeout {
        Some(limit) => {
            let _ = tokio::time::timeout(limit, read).await;
        }
        None => read.await,
    }
    bytes.truncate(MAX_ERROR_BODY);
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Keeps the key out of anything a server echoed back.
fn redact(inner: &Inner, mut err: ModelError) -> ModelError {
    if let Some(key) = &inner.key {
        err.message = key.redact(&err.message);
        err.detail = key.redact(&err.detail);
    }
    err
}
