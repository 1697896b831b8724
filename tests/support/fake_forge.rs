//! A fake GitHub / GitLab API on 127.0.0.1, on its own thread (so both async tests and tests that
//! run the binary can use it). Routes answer from queues (the last answer repeats); every request
//! is recorded with its method, path, query, headers and JSON body. A request without the expected
//! token gets a 401, as the real forges answer.
#![allow(dead_code)]

#[path = "loopback.rs"]
mod loopback;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use loopback::{Loopback, header_texts};
use serde_json::{Value, json};

/// One recorded request.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub query: String,
    pub headers: BTreeMap<String, String>,
    pub body: Value,
}

impl Seen {
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).map(String::as_str).unwrap_or_default()
    }
}

/// One answer.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Value,
}

pub fn answer(status: u16, body: Value) -> Answer {
    Answer { status, headers: Vec::new(), body }
}

pub fn answer_with(status: u16, headers: &[(&str, &str)], body: Value) -> Answer {
    Answer { status, headers: headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(), body }
}

/// GitHub's primary rate limit: 403 with `x-ratelimit-remaining: 0` and a reset one second away.
pub fn github_rate_limited() -> Answer {
    let reset = (std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() + 1).to_string();
    Answer {
        status: 403,
        headers: vec![
            ("x-ratelimit-limit".into(), "5000".into()),
            ("x-ratelimit-remaining".into(), "0".into()),
            ("x-ratelimit-reset".into(), reset),
        ],
        body: json!({"message": "API rate limit exceeded for user ID 1."}),
    }
}

/// A secondary rate limit: 429 with `retry-after: 1`.
pub fn too_many_requests() -> Answer {
    answer_with(429, &[("retry-after", "1")], json!({"message": "You have exceeded a secondary rate limit."}))
}

#[derive(Default)]
struct Inner {
    routes: HashMap<(String, String), VecDeque<Answer>>,
    seen: Vec<Seen>,
    auth: Option<(String, String)>,
}

/// The server; it stops when dropped.
pub struct FakeForge {
    pub base: String,
    inner: Arc<Mutex<Inner>>,
    _server: Loopback,
}

impl FakeForge {
    /// Starts a server that requires `header: value` on every request (e.g. `authorization`,
    /// `Bearer …`, or `private-token`, `…`).
    pub fn start(auth_header: &str, auth_value: &str) -> FakeForge {
        let inner = Arc::new(Mutex::new(Inner {
            auth: Some((auth_header.to_ascii_lowercase(), auth_value.to_owned())),
            ..Inner::default()
        }));
        let app = Router::new().fallback(handle).with_state(inner.clone());
        let server = Loopback::serve(app);
        FakeForge { base: server.base.clone(), inner, _server: server }
    }

    /// Answers `method path` (path without the query) with these, in order; the last repeats.
    pub fn on(&self, method: &str, path: &str, answers: Vec<Answer>) {
        self.inner.lock().unwrap().routes.insert((method.to_owned(), path.to_owned()), answers.into());
    }

    /// Every request so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.inner.lock().unwrap().seen.clone()
    }

    /// The requests to `method path`.
    pub fn seen_at(&self, method: &str, path: &str) -> Vec<Seen> {
        self.seen().into_iter().filter(|s| s.method == method && s.path == path).collect()
    }
}

async fn handle(
    State(inner): State<Arc<Mutex<Inner>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let seen = Seen {
        method: method.to_string(),
        path: uri.path().to_owned(),
        query: uri.query().unwrap_or_default().to_owned(),
        headers: header_texts(&headers),
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
    };
    let mut inner = inner.lock().unwrap();
    inner.seen.push(seen.clone());
    if let Some((name, value)) = &inner.auth
        && seen.header(name) != value
    {
        return reply(answer(401, json!({"message": "Bad credentials", "documentation_url": "https://docs"})));
    }
    let key = (seen.method.clone(), seen.path.clone());
    let Some(queue) = inner.routes.get_mut(&key) else {
        return reply(answer(
            404,
            json!({"message": format!("Not Found (no fake route for {} {})", seen.method, seen.path)}),
        ));
    };
    let next = if queue.len() > 1 { queue.pop_front() } else { queue.front().cloned() };
    reply(next.unwrap_or_else(|| answer(500, json!({"message": "empty route"}))))
}

fn reply(answer: Answer) -> Response {
    let mut response = (StatusCode::from_u16(answer.status).unwrap(), axum::Json(answer.body)).into_response();
    for (name, value) in answer.headers {
        response.headers_mut().insert(
            axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            axum::http::HeaderValue::from_str(&value).unwrap(),
        );
    }
    response
}
