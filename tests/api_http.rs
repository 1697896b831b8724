//! The local HTTP API over real HTTP on 127.0.0.1: every route, every kind of bad input, the
//! event stream's replay-then-live, and a clean stop.

// Test and benchmark code may unwrap and panic: that is how it reports a failure (see clippy.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support {
    pub mod api;
}

use std::collections::BTreeSet;
use std::time::Duration;

use ambidex::api::ApiError;
use ambidex::api::{Discovery, TaskList};
use ambidex::artifacts::ArtifactStore;
use ambidex::protocol::{
    Actor, ArtifactKind, AutonomyEdit, AutonomyLevel, Decision, EventKind, GateKind, PlaybookChange, RegistryEdit,
    TaskId, TaskKind, TaskStatus, VersionStatus,
};
use support::api::{Server, json, spec};

const MARKDOWN: &str = "+++\ntitle = \"Fix the rounding of page_count\"\nrisk = \"low\"\nkind = \"bug_fix\"\n\
                        acceptance_criteria = [\"page_count(11, 5) returns 3\"]\nvalidation = [\"cargo test\"]\n+++\n\
                        `page_count` rounds down.\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tasks_go_in_as_json_or_markdown_and_come_back_listed_and_one_by_one() {
    let server = Server::start().await;
    let created = server.post_json("/v1/tasks", &spec("Add a last_page helper to the pagination module")).await;
    assert_eq!(created.status(), 201);
    let location = created.headers()["location"].to_str().unwrap().to_owned();
    let (_, first) = json(created).await;
    let first_id = first["id"].as_str().unwrap().to_owned();
    assert_eq!(location, format!("/v1/tasks/{first_id}"));
    assert_eq!(first["spec"]["source"]["type"], "api", "a spec without a source is marked as from the API");
    assert_eq!(first["status"], "received");

    let (status, second) = json(server.post("/v1/tasks", "text/markdown; charset=utf-8", MARKDOWN).await).await;
    assert_eq!(status, 201, "{second}");
    assert_eq!(second["spec"]["title"], "Fix the rounding of page_count");
    assert_eq!(second["spec"]["risk"], "low");
    assert_eq!(second["spec"]["validation"][0], "cargo test");
    assert_eq!(second["spec"]["description"], "`page_count` rounds down.");

    let list: TaskList = server.get("/v1/tasks").await.json().await.unwrap();
    let ids: Vec<String> = list.tasks.iter().map(|t| t.id.to_string()).collect();
    assert_eq!(ids, vec![second["id"].as_str().unwrap().to_owned(), first_id.clone()], "newest first");
    assert_eq!(list.head_seq, 2);
    assert_eq!((list.total, list.next_cursor), (2, None));

    let (status, shown) = json(server.get(&format!("/v1/tasks/{first_id}")).await).await;
    assert_eq!((status, shown["id"].as_str()), (200, Some(first_id.as_str())));
    let short = &first_id[first_id.len() - 8..];
    let (status, by_suffix) = json(server.get(&format!("/v1/tasks/{}", short.to_lowercase())).await).await;
    assert_eq!((status, by_suffix["id"].as_str()), (200, Some(first_id.as_str())), "any unique ending names a task");

    let typed = server.client.task(short).await.unwrap();
    assert_eq!(typed.id.to_string(), first_id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_list_comes_in_pages_followed_by_cursor_and_filtered_by_state() {
    let server = Server::start().await;
    let mut created = Vec::new();
    for n in 1..=5 {
        let (status, task) = json(
            server.post_json("/v1/tasks", &spec(&format!("Add helper number {n} to the pagination module"))).await,
        )
        .await;
        assert_eq!(status, 201, "{task}");
        created.push(task["id"].as_str().unwrap().to_owned());
    }
    let vague = server.post_json("/v1/tasks", &serde_json::json!({"title": "fix it"})).await;
    let (_, vague) = json(vague).await;
    let mut seen = Vec::new();
    let mut path = "/v1/tasks?limit=2".to_owned();
    loop {
        let page: TaskList = server.get(&path).await.json().await.unwrap();
        assert!(page.tasks.len() <= 2);
        assert_eq!(page.total, 6);
        seen.extend(page.tasks.iter().map(|t| t.id.to_string()));
        match page.next_cursor {
            Some(cursor) => path = format!("/v1/tasks?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    let mut expected: Vec<String> = created.iter().rev().cloned().collect();
    expected.insert(0, vague["id"].as_str().unwrap().to_owned());
    assert_eq!(seen, expected, "every task once, newest first, in three pages");

    let (status, _) =
        json(server.post_json(&format!("/v1/tasks/{}/cancel", created[1]), &serde_json::json!({})).await).await;
    assert_eq!(status, 200);
    let only: TaskList = server.get("/v1/tasks?status=cancelled,failed").await.json().await.unwrap();
    assert_eq!(only.tasks.iter().map(|t| t.id.to_string()).collect::<Vec<_>>(), [created[1].clone()]);
    let all = server.client.tasks().await.unwrap();
    assert_eq!(all.tasks.len(), 6, "the client follows the pages");

    for (query, field) in
        [("limit=0", "limit"), ("limit=5000", "limit"), ("status=sleeping", "status"), ("page=2", "page")]
    {
        let (status, body) = json(server.get(&format!("/v1/tasks?{query}")).await).await;
        assert_eq!((status, body["field"].as_str()), (400, Some(field)), "{query}: {body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_ids_and_routes_are_404() {
    let server = Server::start().await;
    let (status, body) = json(server.get(&format!("/v1/tasks/{}", TaskId::new())).await).await;
    assert_eq!((status, body["error"].as_str()), (404, Some("not_found")), "{body}");
    assert!(body["detail"].as_str().unwrap().contains("GET /v1/tasks"), "{body}");
    let (status, _) = json(server.get("/v1/tasks/nosuchtask").await).await;
    assert_eq!(status, 404);
    let (status, body) = json(
        server
            .post_json("/v1/gates/01ARZ3NDEKTSV4RRFFQ69G5FAV/decision", &serde_json::json!({"decision": "approve"}))
            .await,
    )
    .await;
    assert_eq!((status, body["error"].as_str()), (404, Some("not_found")), "{body}");
    let (status, _) =
        json(server.post_json(&format!("/v1/tasks/{}/cancel", TaskId::new()), &serde_json::json!({})).await).await;
    assert_eq!(status, 404);
    let (status, body) = json(server.get("/v1/nothing-here").await).await;
    assert_eq!((status, body["error"].as_str()), (404, Some("not_found")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tasks_artifacts_come_back_as_stored_and_damaged_ones_are_refused() {
    let server = Server::start().await;
    let (_, task) = json(server.post_json("/v1/tasks", &spec("Add a last_page helper")).await).await;
    let id: TaskId = task["id"].as_str().unwrap().parse().unwrap();
    // What the engine keeps: the object in the state directory's artifact store, the event naming it.
    let store = ArtifactStore::open("", "", server.dir.path()).unwrap();
    let log = store.put(ArtifactKind::Log, "validation attempt 1: cargo test", b"test ok\n".to_vec()).await.unwrap();
    let stored = EventKind::ArtifactsStored { artifacts: vec![log.clone()], failed: Vec::new() };
    server.engine.append(vec![ambidex::protocol::NewEvent::for_task(id, Actor::Orchestrator, stored)]).await.unwrap();

    let (_, shown) = json(server.get(&format!("/v1/tasks/{id}")).await).await;
    assert_eq!(shown["artifacts"][0]["digest"], log.digest.to_string());
    let fetched = server.get(&format!("/v1/tasks/{}/artifacts/{}", id.short(), log.digest)).await;
    assert_eq!(fetched.status(), 200);
    assert_eq!(fetched.headers()["content-type"], "text/plain; charset=utf-8");
    assert_eq!(fetched.headers()["etag"].to_str().unwrap(), format!("\"{}\"", log.digest));
    assert_eq!(fetched.text().await.unwrap(), "test ok\n");

    // A digest the task does not name is not served, even when the store holds it.
    let other = store.put(ArtifactKind::Log, "another task's", b"secret plans\n".to_vec()).await.unwrap();
    let (status, body) = json(server.get(&format!("/v1/tasks/{id}/artifacts/{}", other.digest)).await).await;
    assert_eq!(status, 404, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("names no artifact"), "{body}");

    // Bytes changed in the store are refused, naming the digest the log keeps.
    let hex = log.digest.to_string();
    let file = server.dir.path().join("artifacts/sha256").join(&hex[..2]).join(&hex);
    std::fs::write(file, b"test FAILED\n").unwrap();
    let (status, body) = json(server.get(&format!("/v1/tasks/{id}/artifacts/{hex}")).await).await;
    assert_eq!((status, body["error"].as_str()), (500, Some("internal")), "{body}");
    assert!(body["detail"].as_str().unwrap().contains("is damaged"), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_over_the_limit_is_413() {
    let server = Server::start_with(1024).await;
    let big = spec(&"a very long title ".repeat(200));
    assert!(big.to_string().len() > 1024);
    let (status, body) = json(server.post_json("/v1/tasks", &big).await).await;
    assert_eq!((status, body["error"].as_str()), (413, Some("payload_too_large")), "{body}");
    assert!(body["detail"].as_str().unwrap().contains("api.max_body_bytes"), "{body}");
    let (status, _) = json(server.post("/v1/tasks", "text/markdown", "x".repeat(2048)).await).await;
    assert_eq!(status, 413);
    let (status, _) = json(server.post_json("/v1/tasks", &spec("Add a last_page helper to pagination")).await).await;
    assert_eq!(status, 201, "a body under the limit still goes in");
    let list: TaskList = server.get("/v1/tasks").await.json().await.unwrap();
    assert_eq!(list.tasks.len(), 1, "nothing of a refused body was stored");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_json_and_unknown_fields_are_400_naming_the_field() {
    let server = Server::start().await;
    let (status, body) = json(
        server.post_json("/v1/tasks", &serde_json::json!({"title": "Fix the pagination", "acceptance": ["x"]})).await,
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str(), body["field"].as_str()),
        (400, Some("bad_request"), Some("acceptance"))
    );
    assert!(body["detail"].as_str().unwrap().contains("unknown field `acceptance`"), "{body}");

    let (status, body) =
        json(server.post_json("/v1/tasks", &serde_json::json!({"description": "no title"})).await).await;
    assert_eq!((status, body["field"].as_str()), (400, Some("title")), "{body}");
    let (status, body) = json(
        server.post_json("/v1/tasks", &serde_json::json!({"title": "Fix the pagination", "risk": "severe"})).await,
    )
    .await;
    assert_eq!((status, body["field"].as_str()), (400, Some("risk")), "{body}");
    let (status, body) = json(server.post_json("/v1/tasks", &serde_json::json!({"title": "  "})).await).await;
    assert_eq!((status, body["field"].as_str()), (400, Some("title")), "{body}");

    let (status, body) = json(server.post("/v1/tasks", "application/json", "{\"title\": \"Fix").await).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("bad_request")));
    assert!(body["detail"].as_str().unwrap().contains("not valid JSON"), "{body}");
    assert!(body.get("field").is_none(), "{body}");

    let (status, body) = json(server.post("/v1/tasks", "text/markdown", "title = \"no fences\"\n").await).await;
    assert_eq!(status, 400);
    assert!(body["detail"].as_str().unwrap().contains("request body:1: no front matter"), "{body}");

    let (status, body) = json(server.post("/v1/tasks", "text/plain", "Fix it").await).await;
    assert_eq!((status, body["error"].as_str()), (415, Some("unsupported_media_type")));

    let (status, body) = json(server.get("/v1/events?since=soon").await).await;
    assert_eq!((status, body["field"].as_str()), (400, Some("since")), "{body}");
    let (status, body) = json(server.get("/v1/events?sinse=3").await).await;
    assert_eq!((status, body["field"].as_str()), (400, Some("sinse")), "{body}");
    let list: TaskList = server.get("/v1/tasks").await.json().await.unwrap();
    assert!(list.tasks.is_empty(), "no refused body was stored");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_or_wrong_token_is_401_and_only_the_openapi_document_is_open() {
    let server = Server::start().await;
    let routes = [("GET", "/v1/tasks"), ("POST", "/v1/tasks"), ("GET", "/v1/gates"), ("GET", "/v1/events")];
    let wrong = "0".repeat(server.token.len());
    for (method, path) in routes {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        for token in [None, Some(wrong.as_str()), Some("short"), Some(&server.token[..server.token.len() - 1])] {
            let mut request = server.http.request(method.clone(), server.url(path)).body(spec("Fix it").to_string());
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            let response = request.send().await.unwrap();
            assert_eq!(response.headers()["www-authenticate"], "Bearer");
            let (status, body) = json(response).await;
            assert_eq!((status, body["error"].as_str()), (401, Some("unauthorized")), "{method} {path} {token:?}");
            let detail = body["detail"].as_str().unwrap();
            assert!(detail.contains("api.token"), "the answer says where the token is: {detail}");
            assert!(!detail.contains(&server.token), "never the token itself");
        }
    }
    let list: TaskList = server.get("/v1/tasks").await.json().await.unwrap();
    assert!(list.tasks.is_empty(), "no unauthorized submission was stored");
    let open = server.http.get(server.url("/v1/openapi.json")).send().await.unwrap();
    assert_eq!(open.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gates_are_listed_and_decided_once_by_id_or_ending() {
    let server = Server::start().await;
    let task = server.client.add_task(&serde_json::from_value(spec("Add a last_page helper")).unwrap()).await.unwrap();
    let plan = server.open_gate(task.id, GateKind::Plan).await;
    let gates = server.client.gates().await.unwrap();
    assert_eq!(gates.len(), 1);
    assert_eq!((gates[0].gate, gates[0].task, gates[0].kind), (plan, task.id, GateKind::Plan));
    assert_eq!(gates[0].task_title, "Add a last_page helper");

    let (status, body) = json(
        server.post_json(&format!("/v1/gates/{plan}/decision"), &serde_json::json!({"decision": "approved"})).await,
    )
    .await;
    assert_eq!((status, body["field"].as_str()), (400, Some("decision")), "{body}");
    let (status, body) = json(
        server
            .post_json(
                &format!("/v1/gates/{plan}/decision"),
                &serde_json::json!({"decision": "approve", "comment": "x"}),
            )
            .await,
    )
    .await;
    assert_eq!((status, body["field"].as_str()), (400, Some("comment")), "{body}");
    // A "no" says what to do: send back with a note, or stop. The old bare reject is refused.
    for (decision, says) in [("reject", "send the work back with a note"), ("send_back", "needs a note")] {
        let (status, body) = json(
            server.post_json(&format!("/v1/gates/{plan}/decision"), &serde_json::json!({"decision": decision})).await,
        )
        .await;
        assert_eq!(status, 409, "{body}");
        assert!(body["detail"].as_str().is_some_and(|d| d.contains(says)), "{decision}: {body}");
    }

    let ending = plan.to_string()[18..].to_lowercase();
    let (status, body) = json(
        server
            .post_json(
                &format!("/v1/gates/{ending}/decision"),
                &serde_json::json!({"decision": "approve", "note": "fine"}),
            )
            .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!((body["gate"].as_str(), body["decision"].as_str()), (Some(plan.to_string().as_str()), Some("approve")));
    assert!(body["seq"].as_u64().unwrap() > 0);
    let decided = server.client.task(&task.id.to_string()).await.unwrap();
    assert!(decided.open_gates.is_empty());
    assert_eq!(decided.decided_gates[0].note.as_deref(), Some("fine"));
    assert_eq!(decided.decided_gates[0].decision, Decision::Approve);
    assert!(server.client.gates().await.unwrap().is_empty());

    let (status, body) =
        json(server.post_json(&format!("/v1/gates/{plan}/decision"), &serde_json::json!({"decision": "reject"})).await)
            .await;
    assert_eq!((status, body["error"].as_str()), (409, Some("conflict")), "a decided gate stays decided: {body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tasks_are_cancelled_and_resumed_only_when_that_makes_sense() {
    let server = Server::start().await;
    let task = server.client.add_task(&serde_json::from_value(spec("Add a last_page helper")).unwrap()).await.unwrap();
    let (status, _) = json(server.post(&format!("/v1/tasks/{}/resume", task.id), "application/json", "").await).await;
    assert_eq!(status, 409, "a received task is not resumable");
    let cancelled = server.client.cancel(task.id, Some("not needed".into())).await.unwrap();
    assert_eq!(cancelled.status.to_string(), "cancelled");
    let (status, body) =
        json(server.post(&format!("/v1/tasks/{}/cancel", task.id), "application/json", "").await).await;
    assert_eq!((status, body["error"].as_str()), (409, Some("conflict")), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vague_task_is_revised_into_an_accepted_one_and_a_final_one_is_refused() {
    let server = Server::start_with_intake().await;
    let (status, vague) = json(server.post_json("/v1/tasks", &serde_json::json!({"title": "fix it"})).await).await;
    assert_eq!((status, vague["status"].as_str()), (201, Some("needs_clarification")), "{vague}");
    let id: TaskId = vague["id"].as_str().unwrap().parse().unwrap();
    let ending = id.to_string()[18..].to_lowercase();

    let answer = serde_json::json!({
        "title": "Fix page_count rounding for a partial last page",
        "acceptance_criteria": ["page_count(11, 5) returns 3"],
    });
    let (status, revised) = json(server.post_json(&format!("/v1/tasks/{ending}/revise"), &answer).await).await;
    assert_eq!((status, revised["status"].as_str()), (200, Some("queued")), "{revised}");
    assert_eq!(revised["intake"]["verdict"], "accepted", "{revised}");
    assert_eq!(revised["spec"]["title"], "Fix page_count rounding for a partial last page");
    assert_eq!(revised["spec"]["source"]["type"], "api", "fields not given stay");
    assert_eq!(revised["spec"]["repo"], vague["spec"]["repo"]);
    let kinds: Vec<String> = server
        .engine
        .reader()
        .task_events(id)
        .unwrap()
        .iter()
        .map(|event| serde_json::to_value(&event.kind).unwrap()["type"].as_str().unwrap().to_owned())
        .collect();
    assert!(kinds.contains(&"task_revised".to_owned()) && kinds.contains(&"task_triaged".to_owned()), "{kinds:?}");

    // Queued, then cancelled: neither is waiting on intake; the engine refuses and stores nothing.
    let (status, body) = json(server.post_json(&format!("/v1/tasks/{id}/revise"), &answer).await).await;
    assert_eq!((status, body["error"].as_str()), (409, Some("conflict")), "{body}");
    server.client.cancel(id, None).await.unwrap();
    let before = server.client.tasks().await.unwrap().head_seq;
    let refused = server.client.revise(id, &serde_json::from_value(answer).unwrap()).await.unwrap_err().to_string();
    assert!(
        refused.contains("is `cancelled`; only a task that needs clarification or was escalated can be revised")
            && refused.contains("HTTP 409"),
        "{refused}"
    );
    assert_eq!(server.client.tasks().await.unwrap().head_seq, before, "nothing was stored");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revision_replaces_only_the_fields_given_and_bad_ones_are_400() {
    let server = Server::start().await;
    let task = server.client.add_task(&serde_json::from_value(spec("Add a last_page helper")).unwrap()).await.unwrap();
    let path = format!("/v1/tasks/{}/revise", task.id);
    let (status, body) = json(server.post_json(&path, &serde_json::json!({"risk": "low"})).await).await;
    assert_eq!((status, body["error"].as_str()), (409, Some("conflict")), "intake is not waiting on it: {body}");
    server.move_task(task.id, TaskStatus::Received, TaskStatus::NeedsClarification).await;

    let bad = [
        (serde_json::json!({"acceptance": ["x"]}), Some("acceptance"), "unknown field `acceptance`"),
        (serde_json::json!({"risk": "severe"}), Some("risk"), "unknown variant `severe`"),
        (serde_json::json!({"title": "  "}), Some("title"), "the title is empty"),
        (serde_json::json!({"source": {"type": "api"}}), Some("source"), "unknown field `source`"),
        (serde_json::json!({}), None, "the body changes nothing"),
        (serde_json::json!(["risk"]), None, "not a JSON object"),
    ];
    for (body, field, words) in bad {
        let (status, answer) = json(server.post_json(&path, &body).await).await;
        assert_eq!((status, answer["field"].as_str()), (400, field), "{body}: {answer}");
        assert!(answer["detail"].as_str().unwrap().contains(words), "{body}: {answer}");
    }
    let (status, body) = json(server.post(&path, "application/json", "{\"risk\": ").await).await;
    assert_eq!(status, 400);
    assert!(body["detail"].as_str().unwrap().contains("not valid JSON"), "{body}");
    let (status, _) = json(server.post(&path, "text/markdown", MARKDOWN).await).await;
    assert_eq!(status, 415);
    let (status, _) = json(
        server.post_json(&format!("/v1/tasks/{}/revise", TaskId::new()), &serde_json::json!({"risk": "low"})).await,
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(server.client.task(&task.id.to_string()).await.unwrap().status, TaskStatus::NeedsClarification);

    let changes = serde_json::json!({"description": "The last page is lost.", "validation": ["cargo test"]});
    let revised = server.client.revise(task.id, &serde_json::from_value(changes).unwrap()).await.unwrap();
    assert_eq!(revised.spec.description, "The last page is lost.");
    assert_eq!(revised.spec.validation, ["cargo test"]);
    assert_eq!((revised.spec.title.as_str(), revised.spec.acceptance_criteria.len()), ("Add a last_page helper", 1));
    assert_eq!(revised.status, TaskStatus::Received, "this engine runs no intake: the task waits for it");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notes_are_stored_on_a_task_and_blank_or_misnamed_ones_are_400() {
    let server = Server::start().await;
    let task = server.client.add_task(&serde_json::from_value(spec("Add a last_page helper")).unwrap()).await.unwrap();
    let path = format!("/v1/tasks/{}/notes", task.id);
    let (status, event) =
        json(server.post_json(&path, &serde_json::json!({"text": " the caller is in src/api.rs "})).await).await;
    assert_eq!(status, 201, "{event}");
    assert_eq!(
        (event["kind"]["type"].as_str(), event["kind"]["text"].as_str()),
        (Some("note"), Some("the caller is in src/api.rs"))
    );
    assert_eq!(event["task"].as_str(), Some(task.id.to_string().as_str()));

    for (body, field) in [
        (serde_json::json!({"text": "   "}), "text"),
        (serde_json::json!({"txt": "hello"}), "txt"),
        (serde_json::json!({}), "text"),
    ] {
        let (status, answer) = json(server.post_json(&path, &body).await).await;
        assert_eq!((status, answer["field"].as_str()), (400, Some(field)), "{body}: {answer}");
    }
    let (status, _) = json(server.post(&path, "text/plain", "hello").await).await;
    assert_eq!(status, 415);
    let (status, _) =
        json(server.post_json(&format!("/v1/tasks/{}/notes", TaskId::new()), &serde_json::json!({"text": "x"})).await)
            .await;
    assert_eq!(status, 404);

    let typed = server.client.add_note(task.id, "second thoughts").await.unwrap();
    assert_eq!(typed.kind, EventKind::Note { text: "second thoughts".into() });
    let notes: Vec<EventKind> = server
        .engine
        .reader()
        .task_events(task.id)
        .unwrap()
        .into_iter()
        .map(|event| event.kind.clone())
        .filter(|kind| matches!(kind, EventKind::Note { .. }))
        .collect();
    assert_eq!(notes.len(), 2, "only the good notes were stored: {notes:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_a_finished_task_is_cleaned_and_a_misspelt_option_is_named() {
    let server = Server::start().await;
    let task = server.client.add_task(&serde_json::from_value(spec("Add a first_page helper")).unwrap()).await.unwrap();
    let (status, body) = json(server.post(&format!("/v1/tasks/{}/clean", task.id), "application/json", "").await).await;
    assert_eq!(status, 409, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("only a finished task"), "{body}");
    let (status, body) =
        json(server.post_json(&format!("/v1/tasks/{}/clean", task.id), &serde_json::json!({"forse": true})).await)
            .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("forse"), "{body}");

    server.client.cancel(task.id, None).await.unwrap();
    let reply = server.client.clean(task.id, false).await.unwrap();
    assert!(reply.removed.is_empty(), "intake made no worktree: {reply:?}");
    assert_eq!(reply.task.status.to_string(), "cancelled");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_event_stream_replays_after_since_then_follows_live_without_gaps_or_repeats() {
    let server = Server::start().await;
    for n in 0..5 {
        server
            .client
            .add_task(&serde_json::from_value(spec(&format!("Add helper number {n}"))).unwrap())
            .await
            .unwrap();
    }
    let mut stream = server.client.events(2).await.unwrap();
    let mut seen = Vec::new();
    for _ in 0..3 {
        seen.push(tokio::time::timeout(Duration::from_secs(10), stream.next()).await.unwrap().unwrap().unwrap().seq);
    }
    assert_eq!(seen, vec![3, 4, 5], "the backlog after `since`");

    // Live: events committed while streaming, from many writers at once.
    let writers: Vec<_> = (0..10)
        .map(|n| {
            let client = server.client.clone();
            tokio::spawn(async move {
                client.add_task(&serde_json::from_value(spec(&format!("Add live helper {n}"))).unwrap()).await.unwrap()
            })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap();
    }
    let mut created = BTreeSet::new();
    while seen.len() < 13 {
        let event = tokio::time::timeout(Duration::from_secs(10), stream.next()).await.unwrap().unwrap().unwrap();
        if let EventKind::TaskCreated { spec } = &event.kind {
            created.insert(spec.title.clone());
        }
        seen.push(event.seq);
    }
    assert_eq!(seen, (3..=15).collect::<Vec<_>>(), "consecutive, once each");
    assert_eq!(created.len(), 10);

    // A client that reconnects with Last-Event-ID continues where it stopped.
    let resumed = server
        .http
        .get(server.url("/v1/events"))
        .bearer_auth(&server.token)
        .header("last-event-id", "14")
        .send()
        .await
        .unwrap();
    assert_eq!(resumed.headers()["content-type"], "text/event-stream");
    let mut resumed = resumed;
    let chunk = tokio::time::timeout(Duration::from_secs(10), resumed.chunk()).await.unwrap().unwrap().unwrap();
    let text = String::from_utf8_lossy(&chunk);
    assert!(text.starts_with("id: 15\n"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_describes_every_route() {
    let server = Server::start().await;
    let (status, doc) = json(server.http.get(server.url("/v1/openapi.json")).send().await.unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(doc["openapi"], "3.1.0");
    let routes: BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, ops)| ops.as_object().unwrap().keys().map(move |m| (m.to_uppercase(), path.clone())))
        .collect();
    let expected: BTreeSet<(String, String)> = [
        ("POST", "/v1/tasks"),
        ("GET", "/v1/tasks"),
        ("GET", "/v1/tasks/{id}"),
        ("POST", "/v1/tasks/{id}/cancel"),
        ("POST", "/v1/tasks/{id}/resume"),
        ("POST", "/v1/tasks/{id}/clean"),
        ("POST", "/v1/tasks/{id}/revise"),
        ("POST", "/v1/tasks/{id}/notes"),
        ("POST", "/v1/tasks/{id}/rewind"),
        ("GET", "/v1/tasks/{id}/artifacts/{digest}"),
        ("GET", "/v1/events"),
        ("GET", "/v1/gates"),
        ("POST", "/v1/gates/{id}/decision"),
        ("GET", "/v1/memory"),
        ("POST", "/v1/memory"),
        ("GET", "/v1/museum"),
        ("POST", "/v1/museum"),
        ("GET", "/v1/playbooks"),
        ("POST", "/v1/playbooks"),
        ("POST", "/v1/autonomy"),
        ("GET", "/metrics"),
        ("GET", "/v1/openapi.json"),
    ]
    .into_iter()
    .map(|(m, p)| (m.to_owned(), p.to_owned()))
    .collect();
    assert_eq!(routes, expected);
    // Every route the document names answers (never the fallback's "no such route").
    for (method, path) in &expected {
        let path = path.replace("{id}", "x").replace("{digest}", "x");
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let response = server.http.request(method, server.url(&path)).send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        assert!(status == 401 || status == 200, "{path}: {status} {text}");
    }
    // Every schema a route refers to exists.
    let text = doc.to_string();
    for reference in text.split("\"$ref\":\"#/components/").skip(1) {
        let pointer = format!("/components/{}", &reference[..reference.find('"').unwrap()]);
        assert!(doc.pointer(&pointer).is_some(), "{pointer} is missing");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_ends_event_streams_and_removes_the_announcement() {
    let mut server = Server::start().await;
    let announcement = server.dir.path().join("api.json");
    let found = Discovery::read(&announcement).unwrap().unwrap();
    assert_eq!((found.pid, found.url.as_str()), (std::process::id(), server.url.as_str()));
    let token_mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&found.token_file).unwrap().permissions());
    assert_eq!(token_mode & 0o777, 0o600);

    let mut stream = server.client.events(0).await.unwrap();
    let handle = server.handle.take().unwrap();
    tokio::time::timeout(Duration::from_secs(10), handle.shutdown()).await.unwrap();
    assert!(!announcement.exists());
    let end = tokio::time::timeout(Duration::from_secs(10), stream.next()).await.unwrap();
    assert!(end.is_none(), "the stream ends with the server");
    assert!(server.client.tasks().await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_openmetrics_text_per_class_that_a_prometheus_parser_reads() {
    let server = Server::start_with_intake().await;
    let mut ids = Vec::new();
    for title in ["Fix the rounding of page_count", "Fix the off-by-one in the last page"] {
        let (status, task) = json(server.post_json("/v1/tasks", &spec(title)).await).await;
        assert_eq!(status, 201, "{task}");
        ids.push(task["id"].as_str().unwrap().parse::<TaskId>().unwrap());
    }
    server.move_task(ids[0], TaskStatus::Queued, TaskStatus::Running).await;
    server.move_task(ids[0], TaskStatus::Running, TaskStatus::PrReady).await;

    let unauthorized = server.http.get(server.url("/metrics")).send().await.unwrap();
    assert_eq!(unauthorized.status(), 401, "metrics say what the engine works on: the token guards them");
    let response = server.get("/metrics").await;
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(content_type.starts_with("application/openmetrics-text; version=1.0.0"), "{content_type}");
    let text = response.text().await.unwrap();
    assert!(text.ends_with("# EOF\n"), "{text}");
    assert!(text.contains("ambidex_tasks_completed{class=\"bug_fix\"} 1\n"), "{text}");
    assert!(text.contains("ambidex_completion_ratio{class=\"bug_fix\"} 1\n"), "{text}");

    // The reference parser (prometheus_client's, as Prometheus's own text format is specified by
    // it) reads every family.
    let python = ["/usr/bin/python3", "python3"].into_iter().find(|p| {
        std::process::Command::new(p)
            .args(["-c", "import prometheus_client"])
            .output()
            .is_ok_and(|o| o.status.success())
    });
    let python = python.expect("python3-prometheus-client must be installed (.ci/run installs it)");
    let script = "import sys\nfrom prometheus_client.openmetrics.parser import text_string_to_metric_families as parse\n\
                  for family in parse(sys.stdin.read()):\n    for s in family.samples:\n        print(s.name, s.labels.get('class', ''), s.value)\n";
    let mut child = std::process::Command::new(python)
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), text.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    let parsed = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "not OpenMetrics: {}\n{text}", String::from_utf8_lossy(&output.stderr));
    assert!(parsed.lines().any(|l| l == "ambidex_tasks bug_fix 2"), "{parsed}");
    assert!(parsed.lines().any(|l| l.starts_with("ambidex_unreviewed_proposals")), "{parsed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_playbook_proposed_over_http_is_listed_and_promotion_and_autonomy_stay_a_persons_with_evidence() {
    let server = Server::start().await;
    let text =
        ambidex::playbooks::playbook::BUILT_IN[0].1.replacen("name = \"right_hand\"", "name = \"careful_fix\"", 1);
    let proposal = serde_json::json!({"edit": "propose", "text": text, "summary": "reproduce the bug first"});
    let (status, events) = json(server.post_json("/v1/playbooks", &proposal).await).await;
    assert_eq!(status, 201, "{events}");
    let events = events.as_array().unwrap();
    assert_eq!(events.len(), 1, "{events:#?}");
    let version = &events[0]["kind"]["version"];
    assert_eq!(
        (events[0]["kind"]["type"].as_str(), events[0]["kind"]["change"].as_str()),
        (Some("playbook_changed"), Some("proposed"))
    );
    assert_eq!((version["name"].as_str(), version["status"].as_str()), (Some("careful_fix"), Some("proposed")));
    assert_eq!(version["author"]["by"], "person", "{version:#}");
    let hash = version["hash"].as_str().unwrap().to_owned();

    // Listed with every class's autonomy, over raw HTTP and through the typed client.
    let (status, listed) = json(server.get("/v1/playbooks").await).await;
    assert_eq!(status, 200);
    assert!(listed["versions"].as_array().unwrap().iter().any(|v| v["hash"] == hash.as_str()), "{listed:#}");
    let list = server.client.playbooks().await.unwrap();
    let held = list.versions.iter().find(|v| v.hash == hash).unwrap();
    assert_eq!((held.status, held.summary.as_str()), (VersionStatus::Proposed, "reproduce the bug first"));
    assert_eq!(list.autonomy.len(), TaskKind::ALL.len());
    assert!(list.autonomy.iter().all(|state| state.level == AutonomyLevel::Supervised));

    // The same text again, a promotion without a shadow evaluation, a body without its text.
    let again = server.client.edit_registry(&RegistryEdit::Propose { text, summary: String::new() }).await;
    assert!(
        matches!(&again, Err(ApiError::Refused { status: 409, detail, .. }) if detail.contains("already version")),
        "{again:?}"
    );
    let promote = RegistryEdit::Promote { version: hash[..8].to_owned(), note: "looks good".into() };
    let refused = server.client.edit_registry(&promote).await.unwrap_err().to_string();
    assert!(refused.contains("no shadow evaluation") && refused.contains("ambidex playbook evaluate"), "{refused}");
    let (status, body) = json(server.post_json("/v1/playbooks", &serde_json::json!({"edit": "propose"})).await).await;
    assert_eq!((status, body["field"].as_str()), (400, Some("text")), "{body}");

    // A rejection through the typed client answers with its event.
    let rejected = server
        .client
        .edit_registry(&RegistryEdit::Reject { version: hash.clone(), reason: "not now".into() })
        .await
        .unwrap();
    assert!(matches!(&rejected[..], [event] if matches!(&event.kind,
        EventKind::PlaybookChanged { change: PlaybookChange::Rejected, version } if version.status == VersionStatus::Rejected)));

    // Autonomy: nothing to grant yet; a tightening is recorded as the person who asked.
    let (status, body) =
        json(server.post_json("/v1/autonomy", &serde_json::json!({"edit": "grant", "class": "bug_fix"})).await).await;
    assert_eq!(status, 409, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("no autonomy proposal waits for bug_fix"), "{body}");
    let (status, body) =
        json(server.post_json("/v1/autonomy", &serde_json::json!({"edit": "grant", "class": "chores"})).await).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("unknown variant `chores`, expected one of `bug_fix`"), "{body}");
    let tightened = server
        .client
        .edit_autonomy(&AutonomyEdit::Tighten { class: TaskKind::BugFix, reason: "a scare in review".into() })
        .await
        .unwrap();
    assert!(matches!(tightened.actor, Actor::Human { .. }), "{:?}", tightened.actor);
    match &tightened.kind {
        EventKind::AutonomyChanged { state, .. } => {
            assert_eq!(state.level, AutonomyLevel::Supervised);
            assert!(
                state.reason.starts_with("tightened by") && state.reason.ends_with("a scare in review"),
                "{}",
                state.reason
            );
        }
        other => panic!("{other:?}"),
    }
}
