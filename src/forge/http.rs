//! The HTTP side shared by the GitHub and GitLab clients: one request at a time with the token in
//! a header (never in the URL), retries on rate limits, 5xx and transport errors (each announced
//! to the observer first), and statuses turned into errors that say what to do.
//!
//! Rate limits: a 429, or a GitHub 403 with `x-ratelimit-remaining: 0`, a `retry-after` header or
//! a "rate limit" message. The wait is `retry-after` seconds, else until `x-ratelimit-reset` /
//! `ratelimit-reset` (epoch seconds), else a minute; a wait longer than `forges.max_wait_secs`
//! fails with the time to try again instead.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, USER_AGENT};
use serde_json::Value;

use super::{ForgeError, ForgeKind, RetryNotice, RetryObserver, Token};
use crate::config::ForgesConfig;

/// The longest error text kept from a response.
const MAX_MESSAGE: usize = 600;

/// What a client needs: where the API is, the token, and the retry limits.
pub(crate) struct Settings {
    pub kind: ForgeKind,
    pub base: String,
    pub token: Token,
    pub observer: Option<RetryObserver>,
    pub max_retries: u32,
    pub max_wait: Duration,
    pub base_delay: Duration,
}

impl Settings {
    pub(crate) fn new(
        kind: ForgeKind,
        forges: &ForgesConfig,
        token: Token,
        observer: Option<RetryObserver>,
    ) -> Result<Self, ForgeError> {
        let config = kind.config(forges).ok_or_else(|| ForgeError::Unsupported("local delivery has no API".into()))?;
        let base = config.base_url.trim().trim_end_matches('/').to_owned();
        if !(base.starts_with("https://") || base.starts_with("http://")) {
            return Err(ForgeError::Config(format!(
                "`forges.{kind}.base_url` = \"{base}\" must start with https:// (e.g. {})",
                match kind {
                    ForgeKind::Gitlab => "https://gitlab.example.com/api/v4",
                    _ => "https://github.example.com/api/v3",
                }
            )));
        }
        Ok(Self {
            kind,
            base,
            token,
            observer,
            max_retries: forges.max_retries,
            max_wait: Duration::from_secs(forges.max_wait_secs),
            base_delay: Duration::from_millis(500),
        })
    }
}

/// A response with a final status.
#[derive(Debug)]
pub(crate) struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Reply {
    /// Whether the status is 2xx.
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The forge's own words about an error, shortened.
    pub fn message(&self) -> String {
        let mut parts = Vec::new();
        collect_messages(&self.body, &mut parts);
        let text = if parts.is_empty() { format!("HTTP {}", self.status) } else { parts.join("; ") };
        shorten(&text)
    }

    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim)
    }
}

fn shorten(text: &str) -> String {
    if text.chars().count() <= MAX_MESSAGE {
        return text.to_owned();
    }
    let cut: String = text.chars().take(MAX_MESSAGE).collect();
    format!("{cut} …")
}

fn collect_messages(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(text) if !text.trim().is_empty() => out.push(text.trim().to_owned()),
        Value::Array(items) => items.iter().for_each(|item| collect_messages(item, out)),
        Value::Object(map) => {
            for key in ["message", "error", "error_description"] {
                if let Some(inner) = map.get(key) {
                    collect_messages(inner, out);
                }
            }
            if let Some(errors) = map.get("errors") {
                match errors {
                    Value::Array(items) => {
                        for item in items {
                            match item.get("message") {
                                Some(message) => collect_messages(message, out),
                                None => {
                                    let field = |k: &str| item.get(k).and_then(Value::as_str).unwrap_or_default();
                                    let text = format!("{} {} {}", field("resource"), field("field"), field("code"));
                                    if !text.trim().is_empty() {
                                        out.push(text.trim().to_owned());
                                    }
                                }
                            }
                        }
                    }
                    other => collect_messages(other, out),
                }
            }
            // GitLab validation errors: {"message": {"field": ["is invalid"]}}.
            if map.keys().all(|k| {
                !["message", "error", "error_description", "errors", "documentation_url"].contains(&k.as_str())
            }) {
                for (key, inner) in map {
                    let mut inner_parts = Vec::new();
                    collect_messages(inner, &mut inner_parts);
                    if !inner_parts.is_empty() {
                        out.push(format!("{key} {}", inner_parts.join(", ")));
                    }
                }
            }
        }
        _ => {}
    }
}

/// A forge's REST API with retries.
pub(crate) struct Api {
    settings: Settings,
    http: reqwest::Client,
    headers: HeaderMap,
}

fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default()
}

impl Api {
    /// A client sending `headers` (and the token, in the forge's header) with every request.
    pub(crate) fn new(settings: Settings, mut headers: HeaderMap) -> Result<Self, ForgeError> {
        let config_error = |what: &str| {
            ForgeError::Config(format!("cannot set up the {} client: {what}", settings.kind.display_name()))
        };
        let (name, value) = match settings.kind {
            ForgeKind::Gitlab => (HeaderName::from_static("private-token"), settings.token.expose().to_owned()),
            _ => (reqwest::header::AUTHORIZATION, format!("Bearer {}", settings.token.expose())),
        };
        let mut value = HeaderValue::from_str(&value).map_err(|_| {
            config_error(&format!("the token from {} has characters a header cannot hold", settings.token.source()))
        })?;
        value.set_sensitive(true);
        headers.insert(name, value);
        headers.insert(USER_AGENT, HeaderValue::from_static(concat!("ambidex/", env!("CARGO_PKG_VERSION"))));
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|err| config_error(&err.without_url().to_string()))?;
        Ok(Self { settings, http, headers })
    }

    /// The forge.
    pub(crate) fn kind(&self) -> ForgeKind {
        self.settings.kind
    }

    fn forge(&self) -> &'static str {
        self.settings.kind.display_name()
    }

    /// Sends a request (`path` is below the API root and already encoded) until it gets a final
    /// answer: any status that is not a rate limit or a 5xx, or the last retry's.
    pub(crate) async fn send(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
        action: &str,
    ) -> Result<Reply, ForgeError> {
        self.send_with(method, path, query, body, None, action).await
    }

    /// A GET that names the version the caller has (`If-None-Match: etag`): a `304` comes back as
    /// a reply like any other, and costs GitHub's rate limit nothing.
    pub(crate) async fn get_if_changed(
        &self,
        path: &str,
        query: &[(&str, String)],
        etag: Option<&str>,
        action: &str,
    ) -> Result<Reply, ForgeError> {
        let condition =
            etag.and_then(|tag| HeaderValue::from_str(tag).ok()).map(|tag| (reqwest::header::IF_NONE_MATCH, tag));
        self.send_with(Method::GET, path, query, None, condition, action).await
    }

    async fn send_with(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
        extra: Option<(HeaderName, HeaderValue)>,
        action: &str,
    ) -> Result<Reply, ForgeError> {
        let mut url = format!("{}{path}", self.settings.base);
        for (i, (key, value)) in query.iter().enumerate() {
            url.push(if i == 0 { '?' } else { '&' });
            url.push_str(&format!("{}={}", encode_segment(key), encode_segment(value)));
        }
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let mut request = self.http.request(method.clone(), &url).headers(self.headers.clone());
            if let Some((name, value)) = &extra {
                request = request.header(name.clone(), value.clone());
            }
            if let Some(body) = body {
                request = request.json(body);
            }
            let (reason, wait) = match request.send().await {
                Err(err) => {
                    let message = err.without_url().to_string();
                    if attempt > self.settings.max_retries {
                        return Err(ForgeError::Transport { forge: self.forge(), action: action.to_owned(), message });
                    }
                    (format!("transport error: {message}"), self.backoff(attempt))
                }
                Ok(response) => {
                    let status = response.status().as_u16();
                    let headers = response.headers().clone();
                    let text = response.text().await.unwrap_or_default();
                    let body = serde_json::from_str(&text).unwrap_or(Value::String(shorten(&text)));
                    let reply = Reply { status, headers, body };
                    if let Some(wait) = self.rate_limit_wait(&reply) {
                        if wait > self.settings.max_wait {
                            return Err(self.rate_limited(action, wait, &reply));
                        }
                        if attempt > self.settings.max_retries {
                            return Err(ForgeError::RateLimited {
                                forge: self.forge(),
                                action: action.to_owned(),
                                detail: format!(
                                    "still limited after {} retries ({}); wait a while, then retry (`ambidex task resume ID` for a task)",
                                    self.settings.max_retries,
                                    reply.message()
                                ),
                            });
                        }
                        (format!("rate limited ({status}): {}", reply.message()), wait)
                    } else if status >= 500 && attempt <= self.settings.max_retries {
                        (format!("server error {status}: {}", reply.message()), self.backoff(attempt))
                    } else {
                        return Ok(reply);
                    }
                }
            };
            if let Some(observer) = &self.settings.observer {
                observer(RetryNotice { forge: self.settings.kind, attempt, reason, delay: wait });
            }
            tokio::time::sleep(wait).await;
        }
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let step = self.settings.base_delay.saturating_mul(1 << attempt.saturating_sub(1).min(6));
        step.min(Duration::from_secs(30))
    }

    /// How long to wait when the reply is a rate limit.
    fn rate_limit_wait(&self, reply: &Reply) -> Option<Duration> {
        let retry_after = reply.header("retry-after").and_then(|v| v.parse::<u64>().ok());
        let exhausted = ["x-ratelimit-remaining", "ratelimit-remaining"].iter().any(|h| reply.header(h) == Some("0"));
        let limited = match reply.status {
            429 => true,
            403 if self.settings.kind == ForgeKind::Github => {
                exhausted || retry_after.is_some() || reply.message().to_lowercase().contains("rate limit")
            }
            _ => false,
        };
        if !limited {
            return None;
        }
        if let Some(secs) = retry_after {
            return Some(Duration::from_secs(secs));
        }
        let reset = ["x-ratelimit-reset", "ratelimit-reset"].iter().find_map(|h| reply.header(h)?.parse::<u64>().ok());
        match reset {
            Some(at) if exhausted => Some(Duration::from_secs(at.saturating_sub(now_secs()) + 1)),
            _ => Some(Duration::from_secs(60)),
        }
    }

    fn rate_limited(&self, action: &str, wait: Duration, reply: &Reply) -> ForgeError {
        let at = jiff::Timestamp::now()
            .checked_add(jiff::SignedDuration::from_secs(wait.as_secs() as i64))
            .map(|t| t.strftime("%H:%M:%S UTC").to_string())
            .unwrap_or_default();
        ForgeError::RateLimited {
            forge: self.forge(),
            action: action.to_owned(),
            detail: format!(
                "the limit resets in {} s (at {at}), longer than `forges.max_wait_secs` = {} ({}); retry after that \
                 (`ambidex task resume ID` for a task) or raise `forges.max_wait_secs`",
                wait.as_secs(),
                self.settings.max_wait.as_secs(),
                reply.message()
            ),
        }
    }

    /// The scopes hint for a token.
    fn scopes(&self) -> &'static str {
        match self.settings.kind {
            ForgeKind::Gitlab => "the `api` scope and at least the Developer role on the project",
            _ => "the `repo` scope (classic) or Contents, Pull requests and Issues read/write (fine-grained)",
        }
    }

    /// The error for a final non-2xx reply. `what` names what was asked for, for 404s.
    pub(crate) fn error(&self, reply: &Reply, action: &str, what: &str) -> ForgeError {
        let forge = self.forge();
        let action = action.to_owned();
        let source = self.settings.token.source();
        let message = reply.message();
        match reply.status {
            401 => ForgeError::Auth {
                forge,
                status: 401,
                action,
                detail: format!(
                    "the token from {source} is missing, wrong or expired ({message}); create one with {} and set it",
                    self.scopes()
                ),
            },
            403 => {
                let mut scopes = String::new();
                if let Some(has) = reply.header("x-oauth-scopes") {
                    scopes.push_str(&format!("; the token has scopes `{has}`"));
                }
                if let Some(needs) = reply.header("x-accepted-oauth-scopes").filter(|s| !s.is_empty()) {
                    scopes.push_str(&format!(", this call accepts `{needs}`"));
                }
                ForgeError::Auth {
                    forge,
                    status: 403,
                    action,
                    detail: format!(
                        "the token from {source} lacks permission ({message}){scopes}; give it {} (and authorize it \
                         for the organization's SSO if it has one)",
                        self.scopes()
                    ),
                }
            }
            404 => ForgeError::NotFound {
                forge,
                action,
                detail: format!(
                    "check {what} and `forges.{}.base_url` ({}); a private project also answers 404 to a token that \
                     cannot see it ({message})",
                    self.settings.kind, self.settings.base
                ),
            },
            status => ForgeError::Http { forge, status, action, message },
        }
    }

    /// Sends and requires a 2xx.
    pub(crate) async fn expect(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
        action: &str,
        what: &str,
    ) -> Result<Value, ForgeError> {
        let reply = self.send(method, path, query, body, action).await?;
        if reply.ok() { Ok(reply.body) } else { Err(self.error(&reply, action, what)) }
    }

    /// The error for a 2xx answer that lacks what was expected.
    pub(crate) fn protocol(&self, action: &str, message: impl Into<String>) -> ForgeError {
        ForgeError::Protocol { forge: self.forge(), action: action.to_owned(), message: message.into() }
    }
}

/// Percent-encodes one path segment (GitLab project paths: `group/app` → `group%2Fapp`).
pub(crate) fn encode_segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn reply(body: Value) -> Reply {
        Reply { status: 422, headers: HeaderMap::new(), body }
    }

    #[test]
    fn messages_come_from_either_forge_shape() {
        let github = json!({"message": "Validation Failed", "errors": [{"resource": "PullRequest", "code": "custom", "message": "A pull request already exists for acme:ambidex/x."}], "documentation_url": "https://docs"});
        assert_eq!(reply(github).message(), "Validation Failed; A pull request already exists for acme:ambidex/x.");
        let gitlab = json!({"message": ["Another open merge request already exists for this source branch: !4"]});
        assert!(reply(gitlab).message().starts_with("Another open merge request"));
        let fields = json!({"message": {"target_branch": ["is invalid"]}});
        assert_eq!(reply(fields).message(), "target_branch is invalid");
        let missing = json!({"resource": "PullRequest", "code": "missing_field"});
        assert_eq!(reply(json!({"errors": [missing]})).message(), "PullRequest  missing_field");
        assert_eq!(reply(Value::Null).message(), "HTTP 422");
    }

    #[test]
    fn project_paths_are_encoded_as_one_segment() {
        assert_eq!(encode_segment("group/sub/my app"), "group%2Fsub%2Fmy%20app");
        assert_eq!(encode_segment("ambidex/01H/production"), "ambidex%2F01H%2Fproduction");
    }
}
