//! A fake model server on 127.0.0.1 that replays recorded SSE streams, errors, stalls and dropped
//! connections, and records every request it receives. Shared by the `llm_*` and `cli_models`
//! tests through `#[path]`.
#![allow(dead_code)]

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use futures::StreamExt;
use futures::stream;

/// How a streamed reply ends after its chunks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// The body ends normally.
    Complete,
    /// The connection is cut (the chunked body never terminates properly).
    Drop,
    /// Nothing more is sent and the connection stays open.
    Stall,
}

/// One reply, used for one request.
#[derive(Debug, Clone)]
pub enum Reply {
    /// `200 text/event-stream` with these chunks, `gap` apart.
    Stream { chunks: Vec<Vec<u8>>, gap: Duration, end: End },
    /// Any status with headers and a body.
    Status { status: u16, headers: Vec<(String, String)>, body: String },
}

impl Reply {
    /// The whole fixture in chunks of `size` bytes.
    pub fn chunked(bytes: &[u8], size: usize) -> Reply {
        Reply::Stream {
            chunks: bytes.chunks(size.max(1)).map(<[u8]>::to_vec).collect(),
            gap: Duration::from_millis(1),
            end: End::Complete,
        }
    }

    /// The fixture split at the given byte offsets.
    pub fn split_at(bytes: &[u8], cuts: &[usize]) -> Reply {
        let mut chunks = Vec::new();
        let mut last = 0;
        for &cut in cuts {
            chunks.push(bytes[last..cut].to_vec());
            last = cut;
        }
        chunks.push(bytes[last..].to_vec());
        Reply::Stream { chunks, gap: Duration::from_millis(2), end: End::Complete }
    }

    /// The first `len` bytes of a fixture, then `end`.
    pub fn prefix(bytes: &[u8], len: usize, end: End) -> Reply {
        Reply::Stream {
            chunks: bytes[..len].chunks(64).map(<[u8]>::to_vec).collect(),
            gap: Duration::from_millis(1),
            end,
        }
    }

    /// A JSON error response.
    pub fn status(status: u16, body: &str) -> Reply {
        Reply::Status { status, headers: vec![("content-type".into(), "application/json".into())], body: body.into() }
    }

    /// A JSON error response with one extra header.
    pub fn status_with(status: u16, header: (&str, &str), body: &str) -> Reply {
        Reply::Status {
            status,
            headers: vec![("content-type".into(), "application/json".into()), (header.0.into(), header.1.into())],
            body: body.into(),
        }
    }
}

/// A request as the server saw it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    /// Lower-case header names.
    pub headers: BTreeMap<String, String>,
    pub body: serde_json::Value,
}

struct Shared {
    replies: Mutex<VecDeque<Reply>>,
    requests: Mutex<Vec<Recorded>>,
}

/// A running fake server.
pub struct FakeServer {
    /// `http://127.0.0.1:PORT`
    pub url: String,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeServer {
    /// Starts a server that answers requests with `replies`, in order (then with 500s).
    pub async fn start(replies: Vec<Reply>) -> FakeServer {
        let shared = Arc::new(Shared { replies: Mutex::new(replies.into()), requests: Mutex::new(Vec::new()) });
        let app = Router::new().fallback(handle).with_state(Arc::clone(&shared));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
        let url = format!("http://{}", listener.local_addr().expect("local addr"));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeServer { url, shared, task }
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.requests.lock().expect("lock").clone()
    }

    /// Replies not used yet.
    pub fn unused_replies(&self) -> usize {
        self.shared.replies.lock().expect("lock").len()
    }
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let headers = headers
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
        .collect();
    let body = serde_json::from_slice(&body)
        .unwrap_or_else(|_| serde_json::Value::String(String::from_utf8_lossy(&body).into()));
    shared.requests.lock().expect("lock").push(Recorded {
        method: method.to_string(),
        path: uri.path().to_owned(),
        headers,
        body,
    });
    let reply = shared.replies.lock().expect("lock").pop_front();
    let reply =
        reply.unwrap_or_else(|| Reply::status(500, r#"{"error":{"message":"the fake server has no reply left"}}"#));
    match reply {
        Reply::Status { status, headers, body } => {
            let mut response = Response::builder().status(StatusCode::from_u16(status).expect("status"));
            for (name, value) in headers {
                response = response.header(name, value);
            }
            response.body(Body::from(body)).expect("response")
        }
        Reply::Stream { chunks, gap, end } => {
            let chunks = stream::iter(chunks).then(move |chunk| async move {
                tokio::time::sleep(gap).await;
                Ok::<Bytes, std::io::Error>(Bytes::from(chunk))
            });
            let tail = stream::once(async move { end }).flat_map(|end| match end {
                End::Complete => stream::empty().boxed(),
                End::Drop => stream::once(async {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    Err(std::io::Error::other("connection cut by the fake server"))
                })
                .boxed(),
                End::Stall => stream::pending().boxed(),
            });
            Response::builder()
                .status(200)
                .header("content-type", "text/event-stream")
                .header("cache-control", "no-cache")
                .body(Body::from_stream(chunks.chain(tail)))
                .expect("response")
        }
    }
}

/// A recorded stream from `tests/fixtures/sse/`.
pub fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sse").join(name);
    std::fs::read(&path).unwrap_or_else(|err| panic!("read {}: {err}", path.display()))
}

use std::sync::Arc as StdArc;

use ambidex::config::{ProviderConfig, ProviderKind};
use ambidex::llm::{ApiKey, ClientOptions, ModelClient, ModelEvent, ModelRequest, RetryPolicy, client_with};

/// The key the tests pass to clients; it must never appear in errors.
pub const TEST_KEY: &str = "sk-test-0123456789abcdef";
/// The key variable named in test provider configs (never actually read by the tests).
pub const KEY_ENV: &str = "FAKE_MODEL_API_KEY";
/// Test prices: $2 / $8 per million tokens, so cost = 2 × input + 8 × output micro-dollars.
pub const PRICES: (f64, f64) = (2.0, 8.0);

/// A provider pointing at `base_url`.
pub fn provider(kind: ProviderKind, base_url: &str, model: &str) -> ProviderConfig {
    ProviderConfig {
        kind,
        base_url: base_url.into(),
        api_key_env: KEY_ENV.into(),
        model: model.into(),
        headers: [("x-extra".to_owned(), "yes".to_owned())].into(),
        input_price_per_mtok: PRICES.0,
        output_price_per_mtok: PRICES.1,
        ..ProviderConfig::default()
    }
}

/// Millisecond backoff and an idle timeout of `idle_ms`.
pub fn fast_policy(max_retries: u32, idle_ms: u64) -> RetryPolicy {
    RetryPolicy {
        max_retries,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(20),
        max_retry_after: Duration::from_secs(2),
        idle_timeout: Some(Duration::from_millis(idle_ms)),
        connect_timeout: Some(Duration::from_secs(2)),
    }
}

/// A client for `provider` with the test key and `policy`.
pub fn client(name: &str, provider: &ProviderConfig, policy: RetryPolicy) -> StdArc<dyn ModelClient> {
    let options = ClientOptions { retry: Some(policy), api_key: Some(ApiKey::new(TEST_KEY)) };
    match client_with(name, provider, String::new(), options) {
        Ok(client) => client,
        Err(err) => panic!("client: {err}"),
    }
}

/// Every event of one call (failing the test after 10 s rather than hanging).
pub async fn collect(client: &dyn ModelClient, request: ModelRequest) -> Vec<ModelEvent> {
    let events = tokio::time::timeout(Duration::from_secs(10), client.stream(request).collect());
    events.await.expect("the stream did not end within 10 s")
}

/// The events without retry notices.
pub fn without_retries(events: &[ModelEvent]) -> Vec<ModelEvent> {
    events.iter().filter(|e| !matches!(e, ModelEvent::Retry { .. })).cloned().collect()
}

/// The concatenated text deltas.
pub fn text_of(events: &[ModelEvent]) -> String {
    events
        .iter()
        .filter_map(|e| match e {
            ModelEvent::TextDelta(t) => Some(t.as_str()),
            _ => None,
        })
        .collect()
}

/// A small request.
pub fn hello_request() -> ModelRequest {
    ModelRequest {
        system: "Be brief.".into(),
        messages: vec![ambidex::llm::Message::user("Say hello.")],
        max_tokens: 64,
        ..ModelRequest::default()
    }
}

/// The byte offset of the first occurrence of `needle` in `bytes`.
pub fn find(bytes: &[u8], needle: &str) -> usize {
    let needle = needle.as_bytes();
    bytes
        .windows(needle.len())
        .position(|w| w == needle)
        .unwrap_or_else(|| panic!("{:?} not in fixture", String::from_utf8_lossy(needle)))
}
