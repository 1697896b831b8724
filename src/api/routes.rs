//! The routes: tasks in and out, gates listed and decided, memory, museum, the playbook
//! registry and autonomy, metrics, the OpenAPI document.

use std::path::PathBuf;
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::rejection::QueryRejection;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::de::DeserializeOwned;

use super::reply::{Failure, named_field};
use super::types::{
    CancelRequest, CleanReply, CleanRequest, DecisionReply, DecisionRequest, GateInfo, MemoryList, MuseumList,
    NoteRequest, PlaybookList, RemovedWorktree, RewindRequest, TaskList, TaskListQuery,
};
use super::{AppState, auth, events};
use crate::artifacts::ArtifactError;
use crate::domain::{Task, parse_task_file};
use crate::orchestrator::Engine;
use crate::protocol::{
    Actor, ArtifactKind, AutonomyEdit, Command, Event, GateId, MemoryEdit, MetricsFilter, MuseumEdit, RegistryEdit,
    SpecChanges, TaskId, TaskSource, TaskSpec, TaskStatus,
};
use crate::store::{MAX_PAGE, TaskQuery};

/// The hand-written OpenAPI 3.1 document for these routes.
pub(crate) const OPENAPI: &str = include_str!("openapi.json");

/// The header a client may name its user in (the audit trail shows it); `$USER` of the server
/// otherwise.
const USER_HEADER: &str = "x-ambidex-user";

type Answer<T> = Result<T, Failure>;

pub(crate) fn router(state: Arc<AppState>) -> Router {
    let limit = state.max_body;
    let guarded = Router::new()
        .route("/v1/tasks", get(list_tasks).post(add_task))
        .route("/v1/tasks/{id}", get(show_task))
        .route("/v1/tasks/{id}/cancel", post(cancel_task))
        .route("/v1/tasks/{id}/resume", post(resume_task))
        .route("/v1/tasks/{id}/clean", post(clean_task))
        .route("/v1/tasks/{id}/rewind", post(rewind_task))
        .route("/v1/tasks/{id}/revise", post(revise_task))
        .route("/v1/tasks/{id}/notes", post(add_note))
        .route("/v1/tasks/{id}/artifacts/{digest}", get(task_artifact))
        .route("/v1/events", get(events::stream))
        .route("/v1/memory", get(list_memory).post(edit_memory))
        .route("/v1/museum", get(list_museum).post(edit_museum))
        .route("/v1/playbooks", get(list_playbooks).post(edit_registry))
        .route("/v1/autonomy", post(edit_autonomy))
        .route("/v1/gates", get(list_gates))
        .route("/v1/gates/{id}/decision", post(decide_gate))
        .route("/metrics", get(metrics))
        .route_layer(middleware::from_fn_with_state(state.clone(), auth::require_token));
    Router::new()
        .route("/v1/openapi.json", get(openapi))
        .merge(guarded)
        .fallback(unknown_route)
        .method_not_allowed_fallback(wrong_method)
        .layer(DefaultBodyLimit::max(limit))
        .with_state(state)
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

async fn unknown_route() -> Failure {
    Failure::not_found("no such route; GET /v1/openapi.json lists the routes")
}

async fn wrong_method() -> Response {
    let mut failure = Failure::bad_request("this route does not take that method; see GET /v1/openapi.json");
    failure.set_status(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
    failure.into_response()
}

/// Runs a read of the engine's state (which may block on the store) off the async threads.
async fn read<T: Send + 'static>(
    state: &AppState,
    work: impl FnOnce(&Engine) -> Answer<T> + Send + 'static,
) -> Answer<T> {
    let engine = state.engine.clone();
    tokio::task::spawn_blocking(move || work(&engine))
        .await
        .map_err(|err| Failure::internal(format!("a store read stopped: {err}")))?
}

/// The person behind a request.
fn actor(headers: &HeaderMap) -> Actor {
    let named = headers
        .get(USER_HEADER)
        .and_then(|value| value.to_str().ok())
        .map(str::trim)
        .filter(|name| !name.is_empty() && name.len() <= 64 && name.chars().all(|c| c.is_ascii_graphic()));
    match named {
        Some(name) => Actor::Human { name: Some(name.to_owned()) },
        None => Actor::local_human(),
    }
}

/// The body's media type, lowercase, without parameters; JSON when absent.
fn media_type(headers: &HeaderMap) -> String {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .map(|value| value.trim().to_ascii_lowercase())
        .filter(|value| !value.is_empty())
        .unwrap_or_else(|| "application/json".to_owned())
}

/// Parses a JSON body, naming the field at fault.
fn json_body<T: DeserializeOwned>(headers: &HeaderMap, body: &[u8], what: &str) -> Answer<T> {
    let media = media_type(headers);
    if media != "application/json" {
        return Err(Failure::unsupported_media_type(format!(
            "this route takes `application/json`, not `{media}`; send {what} as JSON"
        )));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|err| Failure::json(&err, what))?;
    deserializer.end().map_err(|err| Failure::bad_request(format!("trailing bytes after the JSON body: {err}")))?;
    // serde would also fill a struct from an array, by position: every body here is an object.
    if body.iter().find(|byte| !byte.is_ascii_whitespace()) != Some(&b'{') {
        return Err(Failure::bad_request(format!("the body is not a JSON object; send {what} as a JSON object")));
    }
    Ok(value)
}

/// Carries out a command whose work reads the store and the repository or removes directories
/// synchronously (intake and triage, cleaning) on a blocking thread, off the async ones.
async fn execute_off_thread(
    state: &AppState,
    command: Command,
    headers: &HeaderMap,
    what: &str,
) -> Answer<Vec<Arc<Event>>> {
    let (engine, actor) = (state.engine.clone(), actor(headers));
    let done = tokio::task::spawn_blocking(move || engine.execute_blocking(command, actor))
        .await
        .map_err(|err| Failure::internal(format!("{what} stopped: {err}")))?;
    Ok(done?)
}

/// Like [`json_body`], for a route whose body may be left out (or blank): then the defaults.
fn optional_json_body<T: DeserializeOwned + Default>(headers: &HeaderMap, body: &[u8], what: &str) -> Answer<T> {
    if body.iter().all(u8::is_ascii_whitespace) { Ok(T::default()) } else { json_body(headers, body, what) }
}

/// A task spec from a JSON body or a Markdown task file.
fn spec_from_body(headers: &HeaderMap, body: &[u8]) -> Answer<TaskSpec> {
    let spec = match media_type(headers).as_str() {
        "text/markdown" | "text/x-markdown" => {
            let text = std::str::from_utf8(body).map_err(|err| {
                Failure::bad_request(format!(
                    "the task file is not UTF-8 (invalid byte at offset {}); save it as UTF-8",
                    err.valid_up_to()
                ))
            })?;
            let mut spec =
                parse_task_file(text, "request body").map_err(|err| Failure::bad_request(err.to_string()))?;
            spec.source = TaskSource::Api;
            spec
        }
        "application/json" => json_body::<TaskSpec>(headers, body, "a TaskSpec")?,
        other => {
            return Err(Failure::unsupported_media_type(format!(
                "POST /v1/tasks takes `application/json` (a TaskSpec) or `text/markdown` (a task \
                 file with `+++` TOML front matter), not `{other}`"
            )));
        }
    };
    if spec.title.trim().is_empty() {
        return Err(Failure::bad_field("title", "the title is empty: say in one line what the task must achieve"));
    }
    Ok(spec)
}

impl AppState {
    /// Fills what the submitter left to the engine: where the request came from, and the
    /// repository (relative paths are taken from the engine's repository).
    fn complete(&self, mut spec: TaskSpec) -> TaskSpec {
        spec.title = spec.title.trim().to_owned();
        if spec.source == TaskSource::Manual {
            spec.source = TaskSource::Api;
        }
        spec.repo = self.resolve_repo(spec.repo.take());
        spec
    }

    /// A repository path made absolute against the engine's repository; `None` is that
    /// repository itself (or stays `None` when the engine has none).
    fn resolve_repo(&self, repo: Option<String>) -> Option<String> {
        let Some(base) = &self.default_repo else { return repo };
        Some(match repo.map(PathBuf::from) {
            Some(repo) if repo.is_absolute() => repo.display().to_string(),
            Some(repo) => base.join(repo).display().to_string(),
            None => base.display().to_string(),
        })
    }
}

async fn add_task(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Answer<Response> {
    let body = body.map_err(|err| Failure::body(&err, state.max_body))?;
    let spec = state.complete(spec_from_body(&headers, &body)?);
    let events = execute_off_thread(&state, Command::AddTask { spec }, &headers, "the submission").await?;
    let id =
        events.first().and_then(|event| event.task).ok_or_else(|| Failure::internal("the engine stored no task"))?;
    let task = state.engine.task(id)?;
    let location = format!("/v1/tasks/{id}");
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(task)).into_response())
}

/// Tasks a page holds unless the query says otherwise.
const DEFAULT_PAGE: usize = 100;

async fn list_tasks(
    State(state): State<Arc<AppState>>,
    query: Result<Query<TaskListQuery>, QueryRejection>,
) -> Answer<Json<TaskList>> {
    let Query(query) = query.map_err(|err| {
        let text = err.body_text();
        let field = named_field(&text).unwrap_or_else(|| "cursor".to_owned());
        Failure::bad_field(&field, format!("{text}; see GET /v1/openapi.json for the parameters of GET /v1/tasks"))
    })?;
    let query = task_query(query)?;
    let list = read(&state, move |engine| {
        let reader = engine.reader();
        let head_seq = reader.head()?.seq;
        let page = reader.task_page(&query)?;
        Ok(TaskList {
            tasks: page.tasks.iter().map(Task::summary).collect(),
            head_seq,
            total: page.total,
            next_cursor: page.next,
        })
    })
    .await?;
    Ok(Json(list))
}

/// The store's query for the API's, its values checked.
fn task_query(query: TaskListQuery) -> Answer<TaskQuery> {
    let limit = query.limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(Failure::bad_field("limit", format!("`limit` must be 1 to {MAX_PAGE}, not {limit}")));
    }
    let statuses = query
        .status
        .iter()
        .flat_map(|list| list.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<TaskStatus>().map_err(|err| {
                Failure::bad_field("status", format!("`status`: {err}; list states separated by commas"))
            })
        })
        .collect::<Answer<Vec<TaskStatus>>>()?;
    Ok(TaskQuery { before: query.cursor, limit, statuses, repo: query.repo.filter(|r| !r.trim().is_empty()) })
}

/// The task a path names: a full id or any unique ending of it.
async fn find_task(state: &AppState, reference: String) -> Answer<Task> {
    read(state, move |engine| Ok(engine.find_task(&reference)?)).await
}

async fn show_task(State(state): State<Arc<AppState>>, Path(id): Path<String>) -> Answer<Json<Task>> {
    Ok(Json(find_task(&state, id).await?))
}

/// One artifact the task names, as stored: checked against its digest on the way out.
async fn task_artifact(
    State(state): State<Arc<AppState>>,
    Path((id, digest)): Path<(String, String)>,
) -> Answer<Response> {
    let task = find_task(&state, id).await?;
    let wanted = digest.trim().to_ascii_lowercase();
    let Some(artifact) = task.artifacts.iter().find(|a| a.digest.to_string() == wanted) else {
        return Err(Failure::not_found(format!(
            "task {} names no artifact {wanted}; its `artifacts` (GET /v1/tasks/{}) list the ones it kept",
            task.id.short(),
            task.id.short()
        )));
    };
    let bytes = state.engine.fetch_artifact(&artifact.digest).await.map_err(|err| match err {
        ArtifactError::Missing { .. } => Failure::not_found(err.to_string()),
        ArtifactError::Unavailable { .. } => Failure::bad_gateway(err.to_string()),
        ArtifactError::Config { .. } | ArtifactError::Damaged { .. } => Failure::internal(err.to_string()),
    })?;
    let content_type = match artifact.kind {
        ArtifactKind::Log | ArtifactKind::Patch => "text/plain; charset=utf-8",
        ArtifactKind::PrDocument => "text/markdown; charset=utf-8",
        ArtifactKind::EvalOutput => "application/octet-stream",
    };
    let etag = format!("\"{}\"", artifact.digest);
    Ok(([(header::CONTENT_TYPE, content_type.to_owned()), (header::ETAG, etag)], bytes).into_response())
}

async fn cancel_task(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Answer<Json<Task>> {
    let body = body.map_err(|err| Failure::body(&err, state.max_body))?;
    let request: CancelRequest = optional_json_body(&headers, &body, "a cancel request")?;
    let task = find_task(&state, id).await?.id;
    let reason = request.reason.unwrap_or_else(|| "cancelled through the API".to_owned());
    state.engine.execute(Command::CancelTask { task, reason }, actor(&headers)).await?;
    Ok(Json(state.engine.task(task)?))
}

async fn resume_task(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Answer<Json<Task>> {
    let task: TaskId = find_task(&state, id).await?.id;
    state.engine.execute(Command::ResumeTask { task }, actor(&headers)).await?;
    Ok(Json(state.engine.task(task)?))
}

/// Replaces the spec fields the body gives (the rest stay) and sends the task through intake
/// and triage again; the engine refuses (409) a task that intake is not waiting on.
async fn revise_task(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Answer<Json<Task>> {
    let body = body.map_err(|err| Failure::body(&err, state.max_body))?;
    let mut changes: SpecChanges = json_body(&headers, &body, "the task spec fields to change")?;
    if changes.is_empty() {
        return Err(Failure::bad_request(
            "the body changes nothing: give the task spec fields to replace, e.g. \
             {\"acceptance_criteria\": [\"page_count(11, 5) returns 3\"]}",
        ));
    }
    if changes.title.as_deref().is_some_and(|title| title.trim().is_empty()) {
        return Err(Failure::bad_field("title", "the title is empty: say in one line what the task must achieve"));
    }
    changes.repo = changes.repo.take().and_then(|repo| state.resolve_repo(Some(repo)));
    let current = find_task(&state, id).await?;
    let (task, spec) = (current.id, changes.apply_to(&current.spec));
    execute_off_thread(&state, Command::ReviseTask { task, spec }, &headers, "the revision").await?;
    Ok(Json(state.engine.task(task)?))
}

/// Attaches a note to a task; answers with the stored event.
async fn add_note(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Answer<Response> {
    let body = body.map_err(|err| Failure::body(&err, state.max_body))?;
    let request: NoteRequest = json_body(&headers, &body, "a note")?;
    let text = request.text.trim().to_owned();
    if text.is_empty() {
        return Err(Failure::bad_field(
            "text",
            "the note is empty: say what the agents and the audit trail should know",
        ));
    }
    let task = find_task(&state, id).await?.id;
    let events = state.engine.execute(Command::AddNote { task, text }, actor(&headers)).await?;
    let event: Arc<Event> = events.into_iter().next().ok_or_else(|| Failure::internal("the engine stored no note"))?;
    Ok((StatusCode::CREATED, Json(event)).into_response())
}

async fn clean_task(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Answer<Json<CleanReply>> {
    let body = body.map_err(|err| Failure::body(&err, state.max_body))?;
    let request: CleanRequest = optional_json_body(&headers, &body, "a clean request")?;
    let task = find_task(&state, id).await?.id;
    let command = Command::CleanTask { task, force: request.force };
    let events = execute_off_thread(&state, command, &headers, "the clean").await?;
    Ok(Json(CleanReply { task: state.engine.task(task)?, removed: RemovedWorktree::from_events(&events) }))
}

/// Rewinds a stopped task to a stage's checkpoint (git work, off the async threads); the engine
/// refuses (409) a running or finished task and a stage without a checkpoint.
async fn rewind_task(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Answer<Json<Task>> {
    let body = body.map_err(|err| Failure::body(&err, state.max_body))?;
    let request: RewindRequest = json_body(&headers, &body, "a rewind request")?;
    let task = find_task(&state, id).await?.id;
    let command = Command::RewindTask { task, to: request.to, note: request.note };
    execute_off_thread(&state, command, &headers, "the rewind").await?;
    Ok(Json(state.engine.task(task)?))
}

async fn list_memory(State(state): State<Arc<AppState>>) -> Answer<Json<MemoryList>> {
    let list = read(&state, |engine| {
        let reader = engine.reader();
        Ok(MemoryList { version: reader.memory_version()?, entries: reader.memory()? })
    })
    .await?;
    Ok(Json(list))
}

/// The metric families as OpenMetrics text (the log is folded incrementally: a scrape reads only
/// the events since the last one).
async fn metrics(State(state): State<Arc<AppState>>) -> Answer<Response> {
    let report = read(&state, |engine| Ok(engine.metrics(&MetricsFilter::default())?)).await?;
    Ok(([(header::CONTENT_TYPE, super::openmetrics::CONTENT_TYPE)], super::openmetrics::render(&report))
        .into_response())
}

async fn list_museum(State(state): State<Arc<AppState>>) -> Answer<Json<MuseumList>> {
    let exhibits = read(&state, |engine| Ok(engine.reader().museum()?)).await?;
    Ok(Json(MuseumList { exhibits }))
}

async fn edit_museum(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Answer<Response> {
    let body = body.map_err(|err| Failure::body(&err, state.max_body))?;
    let edit: MuseumEdit = json_body(&headers, &body, "a museum edit")?;
    let events = state.engine.execute(Command::EditMuseum { edit }, actor(&headers)).await?;
    let event: Arc<Event> =
        events.into_iter().next().ok_or_else(|| Failure::internal("the engine stored no museum change"))?;
    Ok((StatusCode::CREATED, Json(event)).into_response())
}

async fn list_playbooks(State(state): State<Arc<AppState>>) -> Answer<Json<PlaybookList>> {
    let list = read(&state, |engine| Ok(engine.playbook_list()?)).await?;
    Ok(Json(list))
}

/// Changes the playbook registry; answers with every `playbook_changed` event the change made
/// (a promotion retires the version it replaces, a retirement may restore its parent).
/// Promotion, retirement and rollback are a person's: the request's actor is one.
async fn edit_registry(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Answer<Response> {
    let body = body.map_err(|err| Failure::body(&err, state.max_body))?;
    let edit: RegistryEdit = json_body(&headers, &body, "a registry edit")?;
    let events = state.engine.execute(Command::EditRegistry { edit }, actor(&headers)).await?;
    if events.is_empty() {
        return Err(Failure::internal("the engine stored no registry change"));
    }
    Ok((StatusCode::CREATED, Json(events)).into_response())
}

/// Grants, declines or tightens a class's autonomy (a person's decision: the request's actor is
/// one); answers with the durable `autonomy_changed` event.
async fn edit_autonomy(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Answer<Response> {
    let body = body.map_err(|err| Failure::body(&err, state.max_body))?;
    let edit: AutonomyEdit = json_body(&headers, &body, "an autonomy edit")?;
    let events = state.engine.execute(Command::EditAutonomy { edit }, actor(&headers)).await?;
    let event: Arc<Event> =
        events.into_iter().next().ok_or_else(|| Failure::internal("the engine stored no autonomy change"))?;
    Ok((StatusCode::CREATED, Json(event)).into_response())
}

async fn edit_memory(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Answer<Response> {
    let body = body.map_err(|err| Failure::body(&err, state.max_body))?;
    let edit: MemoryEdit = json_body(&headers, &body, "a memory edit")?;
    let events = state.engine.execute(Command::EditMemory { edit }, actor(&headers)).await?;
    let event: Arc<Event> =
        events.into_iter().next().ok_or_else(|| Failure::internal("the engine stored no memory change"))?;
    Ok((StatusCode::CREATED, Json(event)).into_response())
}

async fn list_gates(State(state): State<Arc<AppState>>) -> Answer<Json<Vec<GateInfo>>> {
    let gates = read(&state, |engine| {
        Ok(engine
            .tasks()?
            .iter()
            .flat_map(|task| {
                task.open_gates.iter().map(|gate| GateInfo {
                    gate: gate.id,
                    task: task.id,
                    task_title: task.spec.title.clone(),
                    kind: gate.kind,
                    reason: gate.reason.clone(),
                    opened_seq: gate.opened_seq,
                    options: gate.options.clone(),
                })
            })
            .collect())
    })
    .await?;
    Ok(Json(gates))
}

/// The open gate a path names (a full id or a unique ending), or why there is none.
fn resolve_gate(tasks: &[Task], reference: &str) -> Answer<(GateId, TaskId)> {
    let reference = reference.trim();
    let full = reference.parse::<GateId>().ok();
    let names = |id: GateId| full.map_or_else(|| id.matches_suffix(reference), |full| full == id);
    let open: Vec<(GateId, TaskId)> =
        tasks.iter().flat_map(|t| t.open_gates.iter().map(move |g| (g.id, t.id))).filter(|(g, _)| names(*g)).collect();
    match open.as_slice() {
        [one] => Ok(*one),
        [] => {
            let decided = tasks.iter().flat_map(|t| &t.decided_gates).find(|g| names(g.id));
            Err(match decided {
                Some(gate) => Failure::conflict(format!(
                    "gate {} was already decided ({}); GET /v1/gates lists the open ones",
                    gate.id, gate.decision
                )),
                None => Failure::not_found(format!("no gate matches `{reference}`; GET /v1/gates lists the open ones")),
            })
        }
        many => {
            Err(Failure::bad_request(format!("`{reference}` matches {} open gates; give more characters", many.len())))
        }
    }
}

async fn decide_gate(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Answer<Json<DecisionReply>> {
    let body = body.map_err(|err| Failure::body(&err, state.max_body))?;
    let request: DecisionRequest = json_body(&headers, &body, "a decision")?;
    let (gate, task) = read(&state, move |engine| resolve_gate(&engine.tasks()?, &id)).await?;
    let command = Command::DecideGate { gate, decision: request.decision, note: request.note, choice: request.choice };
    let events = state.engine.execute(command, actor(&headers)).await?;
    let seq = events.first().map_or(0, |event| event.seq);
    let status = state.engine.task(task)?.status;
    Ok(Json(DecisionReply { gate, task, decision: request.decision, status, seq }))
}
