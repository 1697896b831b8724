//! A client for a running engine's API: what the CLI uses when another process holds the store.

use std::collections::VecDeque;
use std::path::Path;
use std::time::Duration;

use reqwest::{RequestBuilder, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::types::{
    CancelRequest, CleanReply, CleanRequest, DecisionReply, DecisionRequest, ErrorBody, GateInfo, MemoryList,
    MuseumList, NoteRequest, PlaybookList, RewindRequest, TaskList, TaskListQuery,
};
use super::{ApiError, DISCOVERY_FILE, Discovery, auth};
use crate::domain::Task;
use crate::llm::{SseEvent, SseParser};
use crate::protocol::{
    AutonomyEdit, Decision, Event, GateId, MemoryEdit, MuseumEdit, RegistryEdit, SpecChanges, TaskId, TaskSpec,
};

/// How long a request (not an event stream) may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A connection to one running engine's API.
#[derive(Debug, Clone)]
pub struct ApiClient {
    base: String,
    token: String,
    user: Option<String>,
    http: reqwest::Client,
}

impl ApiClient {
    /// A client for the API at `base_url` (e.g. `http://127.0.0.1:7878`) with `token`.
    pub fn new(base_url: &str, token: &str) -> Result<ApiClient, ApiError> {
        let http = reqwest::Client::builder().connect_timeout(CONNECT_TIMEOUT).build().map_err(|err| {
            ApiError::Unreachable { url: base_url.to_owned(), detail: format!("cannot build an HTTP client: {err}") }
        })?;
        Ok(ApiClient {
            base: base_url.trim_end_matches('/').to_owned(),
            token: token.to_owned(),
            user: std::env::var("USER").ok().filter(|user| !user.is_empty()),
            http,
        })
    }

    /// The client for the engine announced in `state_dir`, when one runs there.
    pub fn discover(state_dir: &Path) -> Result<Option<ApiClient>, ApiError> {
        let Some(found) = Discovery::read(&state_dir.join(DISCOVERY_FILE))? else {
            return Ok(None);
        };
        let token = auth::read_token(&found.token_file)?;
        ApiClient::new(&found.url, &token).map(Some)
    }

    /// The base address.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    fn request(&self, method: reqwest::Method, path: &str) -> RequestBuilder {
        let mut request = self.http.request(method, format!("{}{path}", self.base)).bearer_auth(&self.token);
        if let Some(user) = &self.user {
            request = request.header("x-ambidex-user", user);
        }
        request
    }

    async fn send<T: DeserializeOwned>(&self, request: RequestBuilder) -> Result<T, ApiError> {
        let response = self.answer(request.timeout(REQUEST_TIMEOUT)).await?;
        let url = response.url().to_string();
        response.json::<T>().await.map_err(|err| ApiError::Protocol { url, detail: err.to_string() })
    }

    /// Sends a request and turns an error status into [`ApiError::Refused`].
    async fn answer(&self, request: RequestBuilder) -> Result<Response, ApiError> {
        let response = request
            .send()
            .await
            .map_err(|err| ApiError::Unreachable { url: self.base.clone(), detail: err.to_string() })?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let text = response.text().await.unwrap_or_default();
        let body = serde_json::from_str::<ErrorBody>(&text).unwrap_or_else(|_| ErrorBody {
            error: status.canonical_reason().unwrap_or("error").to_owned(),
            detail: if text.is_empty() { format!("HTTP {status}") } else { text },
            field: None,
        });
        Err(ApiError::Refused { status: status.as_u16(), error: body.error, detail: body.detail, field: body.field })
    }

    async fn post<B: Serialize, T: DeserializeOwned>(&self, path: &str, body: &B) -> Result<T, ApiError> {
        self.send(self.request(reqwest::Method::POST, path).json(body)).await
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ApiError> {
        self.send(self.request(reqwest::Method::GET, path)).await
    }

    /// Submits a task; returns it as stored (after intake and triage).
    pub async fn add_task(&self, spec: &TaskSpec) -> Result<Task, ApiError> {
        self.post("/v1/tasks", spec).await
    }

    /// Submits a Markdown task file (TOML front matter between `+++` lines).
    pub async fn add_task_file(&self, text: &str) -> Result<Task, ApiError> {
        let request = self
            .request(reqwest::Method::POST, "/v1/tasks")
            .header(reqwest::header::CONTENT_TYPE, "text/markdown")
            .body(text.to_owned());
        self.send(request).await
    }

    /// One page of tasks, newest first, and the log position it reflects.
    pub async fn task_page(&self, query: &TaskListQuery) -> Result<TaskList, ApiError> {
        let request = self.request(reqwest::Method::GET, "/v1/tasks").query(query);
        self.send(request).await
    }

    /// Every task (page by page, newest first) and the log position of the first page.
    pub async fn tasks(&self) -> Result<TaskList, ApiError> {
        let mut query = TaskListQuery { limit: Some(crate::store::MAX_PAGE), ..TaskListQuery::default() };
        let mut all = self.task_page(&query).await?;
        while let Some(cursor) = all.next_cursor {
            query.cursor = Some(cursor);
            let page = self.task_page(&query).await?;
            all.tasks.extend(page.tasks);
            all.next_cursor = page.next_cursor;
        }
        Ok(all)
    }

    /// One task by id or unique ending.
    pub async fn task(&self, reference: &str) -> Result<Task, ApiError> {
        self.get(&format!("/v1/tasks/{reference}")).await
    }

    /// Cancels a task.
    pub async fn cancel(&self, task: TaskId, reason: Option<String>) -> Result<Task, ApiError> {
        self.post(&format!("/v1/tasks/{task}/cancel"), &CancelRequest { reason }).await
    }

    /// Removes a finished task's worktrees.
    pub async fn clean(&self, task: TaskId, force: bool) -> Result<CleanReply, ApiError> {
        self.post(&format!("/v1/tasks/{task}/clean"), &CleanRequest { force }).await
    }

    /// Rewinds a stopped task to a stage (its name or kind) with a note; returns the task.
    pub async fn rewind(&self, task: TaskId, to: &str, note: Option<String>) -> Result<Task, ApiError> {
        self.post(&format!("/v1/tasks/{task}/rewind"), &RewindRequest { to: to.to_owned(), note }).await
    }

    /// Queues an interrupted or failed task again.
    pub async fn resume(&self, task: TaskId) -> Result<Task, ApiError> {
        self.send(self.request(reqwest::Method::POST, &format!("/v1/tasks/{task}/resume"))).await
    }

    /// Replaces the spec fields `changes` gives and sends the task through intake again; returns
    /// the task as stored afterwards.
    pub async fn revise(&self, task: TaskId, changes: &SpecChanges) -> Result<Task, ApiError> {
        self.post(&format!("/v1/tasks/{task}/revise"), changes).await
    }

    /// Attaches a note to a task; returns the stored event.
    pub async fn add_note(&self, task: TaskId, text: &str) -> Result<Event, ApiError> {
        self.post(&format!("/v1/tasks/{task}/notes"), &NoteRequest { text: text.to_owned() }).await
    }

    /// The repository memory and its version.
    pub async fn memory(&self) -> Result<MemoryList, ApiError> {
        self.get("/v1/memory").await
    }

    /// Changes the repository memory; answers with the durable `memory_changed` event.
    pub async fn edit_memory(&self, edit: &MemoryEdit) -> Result<Event, ApiError> {
        self.post("/v1/memory", edit).await
    }

    /// The bug museum's exhibits.
    pub async fn museum(&self) -> Result<MuseumList, ApiError> {
        self.get("/v1/museum").await
    }

    /// Changes the bug museum; answers with the durable `exhibit_changed` event.
    pub async fn edit_museum(&self, edit: &MuseumEdit) -> Result<Event, ApiError> {
        self.post("/v1/museum", edit).await
    }

    /// The playbook registry (every version) and every task class's autonomy.
    pub async fn playbooks(&self) -> Result<PlaybookList, ApiError> {
        self.get("/v1/playbooks").await
    }

    /// Changes the playbook registry; answers with every durable `playbook_changed` event the
    /// change made (a promotion also retires the version it replaces).
    pub async fn edit_registry(&self, edit: &RegistryEdit) -> Result<Vec<Event>, ApiError> {
        self.post("/v1/playbooks", edit).await
    }

    /// Grants, declines or tightens a class's autonomy; answers with the durable
    /// `autonomy_changed` event.
    pub async fn edit_autonomy(&self, edit: &AutonomyEdit) -> Result<Event, ApiError> {
        self.post("/v1/autonomy", edit).await
    }

    /// The gates waiting for a human.
    pub async fn gates(&self) -> Result<Vec<GateInfo>, ApiError> {
        self.get("/v1/gates").await
    }

    /// Decides a gate; answers once the decision is durable.
    pub async fn decide(
        &self,
        gate: GateId,
        decision: Decision,
        note: Option<String>,
        choice: Option<String>,
    ) -> Result<DecisionReply, ApiError> {
        self.post(&format!("/v1/gates/{gate}/decision"), &DecisionRequest { decision, note, choice }).await
    }

    /// The events after `since`, then live ones as they commit.
    pub async fn events(&self, since: u64) -> Result<EventStream, ApiError> {
        let request = self.request(reqwest::Method::GET, &format!("/v1/events?since={since}"));
        let response = self.answer(request).await?;
        Ok(EventStream { url: response.url().to_string(), response, parser: SseParser::new(), ready: VecDeque::new() })
    }
}

/// The events of `GET /v1/events`, in log order.
#[derive(Debug)]
pub struct EventStream {
    url: String,
    response: Response,
    parser: SseParser,
    ready: VecDeque<SseEvent>,
}

impl EventStream {
    /// The next event; `None` when the server ends the stream.
    pub async fn next(&mut self) -> Option<Result<Event, ApiError>> {
        loop {
            if let Some(message) = self.ready.pop_front() {
                match message.event.as_str() {
                    "" | "message" => {}
                    "stream_error" => {
                        let body = serde_json::from_str::<ErrorBody>(&message.data).ok();
                        let detail = body.map_or(message.data, |body| body.detail);
                        return Some(Err(ApiError::Refused {
                            status: 500,
                            error: "internal".into(),
                            detail,
                            field: None,
                        }));
                    }
                    _ => continue,
                }
                if message.data.is_empty() {
                    continue;
                }
                let url = self.url.clone();
                return Some(
                    serde_json::from_str(&message.data)
                        .map_err(|err| ApiError::Protocol { url, detail: err.to_string() }),
                );
            }
            let mut out = Vec::new();
            match self.response.chunk().await {
                Ok(Some(chunk)) => self.parser.push(&chunk, &mut out),
                Ok(None) => {
                    self.parser.finish(&mut out);
                    if out.is_empty() {
                        return None;
                    }
                }
                Err(err) => {
                    return Some(Err(ApiError::Unreachable { url: self.url.clone(), detail: err.to_string() }));
                }
            }
            self.ready.extend(out);
        }
    }
}
