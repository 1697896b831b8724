//! An engine with its API on a free loopback port, a raw HTTP client with the token, and the
//! typed client, for tests over real HTTP.

#![allow(dead_code)]

use std::sync::Arc;

use ambidex::api::{self, ApiClient, ApiHandle};
use ambidex::config::{ApiConfig, Config};
use ambidex::orchestrator::{Engine, EngineSetup};
use ambidex::protocol::{Actor, EventKind, GateId, GateKind, NewEvent, TaskId, TaskStatus};
use ambidex::redact::Redactor;
use ambidex::tools::sandbox::SandboxLevel;

/// A running API over a fresh store.
pub struct Server {
    pub dir: tempfile::TempDir,
    pub engine: Arc<Engine>,
    pub handle: Option<ApiHandle>,
    pub url: String,
    pub token: String,
    pub http: reqwest::Client,
    pub client: ApiClient,
}

impl Server {
    /// A bookkeeping engine (records and answers, runs nothing) with the API on a free port.
    pub async fn start() -> Server {
        Server::start_with(1024 * 1024).await
    }

    /// The same with a body limit.
    pub async fn start_with(max_body_bytes: u64) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::open(&dir.path().join("state.redb")).unwrap();
        Server::serve(dir, engine, max_body_bytes, false).await
    }

    /// An engine that puts every task through intake and triage (with the default policy, the
    /// temporary directory as its repository) but runs none, with the API on a free port.
    pub async fn start_with_intake() -> Server {
        let dir = tempfile::tempdir().unwrap();
        let setup = EngineSetup::new(Config::default(), dir.path(), SandboxLevel::None, "ambidex".into()).unwrap();
        let redactor = Arc::new(Redactor::from_env(std::iter::empty()));
        let engine = Engine::open_with(&dir.path().join("state.redb"), redactor, Some(setup)).unwrap();
        Server::serve(dir, engine, 1024 * 1024, true).await
    }

    async fn serve(dir: tempfile::TempDir, engine: Engine, max_body_bytes: u64, with_repo: bool) -> Server {
        let engine = Arc::new(engine);
        let config = ApiConfig { enabled: true, port: 0, max_body_bytes };
        let repo = with_repo.then(|| dir.path().to_path_buf());
        let handle = api::serve(engine.clone(), &config, dir.path(), repo.as_deref()).await.unwrap();
        let url = handle.base_url();
        let token = std::fs::read_to_string(handle.token_path()).unwrap().trim().to_owned();
        let client = ApiClient::discover(dir.path()).unwrap().expect("api.json announces the server");
        Server { dir, engine, handle: Some(handle), url, token, http: reqwest::Client::new(), client }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    /// A GET with the token.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http.get(self.url(path)).bearer_auth(&self.token).send().await.unwrap()
    }

    /// A POST of `body` as `content_type` with the token.
    pub async fn post(&self, path: &str, content_type: &str, body: impl Into<reqwest::Body>) -> reqwest::Response {
        self.http
            .post(self.url(path))
            .bearer_auth(&self.token)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap()
    }

    /// A POST of a JSON value with the token.
    pub async fn post_json(&self, path: &str, body: &serde_json::Value) -> reqwest::Response {
        self.post(path, "application/json", body.to_string()).await
    }

    /// Moves a task from one status to another the way the engine does.
    pub async fn move_task(&self, task: TaskId, from: TaskStatus, to: TaskStatus) {
        let moved = EventKind::StatusChanged { from, to, reason: "moved by the test".into() };
        self.engine.append(vec![NewEvent::for_task(task, Actor::Orchestrator, moved)]).await.unwrap();
    }

    /// Opens a gate on `task` the way the engine does.
    pub async fn open_gate(&self, task: TaskId, kind: GateKind) -> GateId {
        let gate = GateId::new();
        let opened = EventKind::GateOpened {
            gate,
            kind,
            reason: format!("{kind} needs a human"),
            evidence_hash: None,
            allowed: vec![],
            options: vec![],
        };
        self.engine.append(vec![NewEvent::for_task(task, Actor::Orchestrator, opened)]).await.unwrap();
        gate
    }
}

/// The status and JSON body of an answer.
pub async fn json(response: reqwest::Response) -> (u16, serde_json::Value) {
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    let value = serde_json::from_str(&text).unwrap_or_else(|err| panic!("not JSON ({err}): {text}"));
    (status, value)
}

/// A TaskSpec body that intake accepts.
pub fn spec(title: &str) -> serde_json::Value {
    serde_json::json!({ "title": title, "acceptance_criteria": ["the change is covered by a test"] })
}
