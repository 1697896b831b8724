//! The OpenAPI document (`src/api/openapi.json`) describes every field the API sends or takes.
//! Real JSON is walked against the schema the document names for it: the answers of a running
//! engine's routes (and the request bodies sent to them), the task projections and events of a
//! real store written by an earlier build (`tests/fixtures/store/v1.redb`, upgraded), and the
//! format samples, which set every optional field. A field the document does not describe, or
//! describes with another type, fails; so does a described field that no sample ever holds.

// Test and benchmark code may unwrap and panic: that is how it reports a failure (see clippy.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support {
    pub mod api;
    pub mod event_samples;
    pub mod openapi_walk;
}

use std::path::Path;
use std::time::Duration;

use ambidex::api::{CancelRequest, CleanReply, CleanRequest, DecisionReply, DecisionRequest, ErrorBody, GateInfo};
use ambidex::api::{NoteRequest, RemovedWorktree, RewindRequest, TaskList};
use ambidex::protocol::{
    Decision, GateKind, MemoryStatus, Risk, Route, SpecChanges, TaskKind, TaskStatus, TaskSummary,
};
use ambidex::store::{STORE_FILE, StoreReader, recompute_hash};
use serde_json::{Value, json};
use support::api::{Server, json};
use support::event_samples;
use support::openapi_walk::Walker;

fn document() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/api/openapi.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

const SCHEMAS: &str = "/components/schemas";

/// The schema the document gives for an answer, or for the request body of a route (`status`
/// "request").
fn route_schema(doc: &Value, method: &str, path: &str, status: &str) -> String {
    let operation = format!("/paths/{}/{method}", path.replace('~', "~0").replace('/', "~1"));
    let content = match status {
        "request" => format!("{operation}/requestBody/content"),
        status => {
            let response = format!("{operation}/responses/{status}");
            match doc.pointer(&format!("{response}/$ref")).and_then(Value::as_str) {
                Some(shared) => format!("{}/content", shared.trim_start_matches('#')),
                None => format!("{response}/content"),
            }
        }
    };
    let json = format!("{content}/application~1json/schema");
    assert!(doc.pointer(&json).is_some(), "the document gives no JSON schema for {method} {path} {status}");
    json
}

/// Walks `value` against what the document says `method path` answers with `status`.
fn check_answer(walker: &mut Walker, method: &str, path: &str, status: u16, value: &Value) {
    let pointer = route_schema(&walker.doc, method, path, &status.to_string());
    walker.check(&pointer, value, &format!("{} {path} {status}", method.to_uppercase()));
}

/// Walks a request body against what the document says the route takes.
fn check_request(walker: &mut Walker, path: &str, body: &Value) {
    let pointer = route_schema(&walker.doc, "post", path, "request");
    walker.check(&pointer, body, &format!("POST {path} body"));
}

fn assert_clean(walker: &Walker) {
    assert!(
        walker.failures.is_empty(),
        "the OpenAPI document (src/api/openapi.json) does not describe what the API sends or takes:\n{}",
        walker.failures.join("\n")
    );
}

/// The events a `GET /v1/events` stream sends, until `count` of them came.
async fn streamed(server: &Server, count: usize) -> Vec<Value> {
    let mut response = server.get("/v1/events?since=0").await;
    let (mut text, mut events) = (String::new(), Vec::new());
    while events.len() < count {
        let chunk = tokio::time::timeout(Duration::from_secs(10), response.chunk()).await.unwrap().unwrap().unwrap();
        text.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = text.find("\n\n") {
            let message: String = text.drain(..end + 2).collect();
            for data in message.lines().filter_map(|line| line.strip_prefix("data: ")) {
                events.push(serde_json::from_str(data).unwrap());
            }
        }
    }
    events
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_of_a_running_engine_is_described() {
    let server = Server::start_with_intake().await;
    let mut walker = Walker::new(document());

    let full = serde_json::to_value(event_samples::spec()).unwrap();
    check_request(&mut walker, "/v1/tasks", &full);
    let (status, task) = json(server.post_json("/v1/tasks", &full).await).await;
    assert_eq!(status, 201, "{task}");
    check_answer(&mut walker, "post", "/v1/tasks", status, &task);
    let id = task["id"].as_str().unwrap().to_owned();

    let markdown = "+++\ntitle = \"Fix the rounding of page_count in src/page.rs\"\nacceptance_criteria = [\"page_count(11, 5) returns 3\"]\n+++\nIt rounds down.\n";
    let (status, other) = json(server.post("/v1/tasks", "text/markdown", markdown).await).await;
    check_answer(&mut walker, "post", "/v1/tasks", status, &other);

    let (status, vague) = json(server.post_json("/v1/tasks", &json!({"title": "Fix it"})).await).await;
    assert_eq!(vague["status"], "needs_clarification", "{vague}");
    check_answer(&mut walker, "post", "/v1/tasks", status, &vague);
    let changes = SpecChanges {
        title: Some("Make line_count ignore a trailing empty line in src/lines.rs".into()),
        description: Some("A final newline counts as a line.".into()),
        repo: Some(".".into()),
        target_branch: Some("main".into()),
        acceptance_criteria: Some(vec!["line_count(\"a\\n\") returns 1".into()]),
        constraints: Some(vec!["keep the public API".into()]),
        out_of_scope: Some(vec!["the CLI".into()]),
        risk: Some(Risk::Low),
        kind: Some(TaskKind::BugFix),
        required_approvals: Some(vec!["plan".into()]),
        validation: Some(vec!["cargo test".into()]),
        labels: Some(vec!["bug".into()]),
    };
    let changes = serde_json::to_value(changes).unwrap();
    check_request(&mut walker, "/v1/tasks/{id}/revise", &changes);
    let revise = format!("/v1/tasks/{}/revise", vague["id"].as_str().unwrap());
    let (status, revised) = json(server.post_json(&revise, &changes).await).await;
    assert_eq!(status, 200, "{revised}");
    check_answer(&mut walker, "post", "/v1/tasks/{id}/revise", status, &revised);

    let (status, list) = json(server.get("/v1/tasks").await).await;
    check_answer(&mut walker, "get", "/v1/tasks", status, &list);
    let (status, shown) = json(server.get(&format!("/v1/tasks/{id}")).await).await;
    check_answer(&mut walker, "get", "/v1/tasks/{id}", status, &shown);

    let note = serde_json::to_value(NoteRequest { text: "The trailing newline case matters".into() }).unwrap();
    check_request(&mut walker, "/v1/tasks/{id}/notes", &note);
    let (status, event) = json(server.post_json(&format!("/v1/tasks/{id}/notes"), &note).await).await;
    assert_eq!(status, 201, "{event}");
    check_answer(&mut walker, "post", "/v1/tasks/{id}/notes", status, &event);

    // The memory: every kind of edit, each answered with its durable event, then the list.
    let add = json!({"action": "add", "repo": "/srv/pagination", "kind": "flaky_test",
        "text": "net::timeout_retry is flaky under load", "scope": ["src/net/**"]});
    check_request(&mut walker, "/v1/memory", &add);
    let (status, added) = json(server.post_json("/v1/memory", &add).await).await;
    assert_eq!(status, 201, "{added}");
    check_answer(&mut walker, "post", "/v1/memory", status, &added);
    let entry = added["kind"]["entry"]["id"].as_str().unwrap().to_owned();
    let edit = json!({"action": "edit", "id": entry, "text": "net::timeout_retry fails one run in twenty",
        "kind": "flaky_test", "scope": ["src/net/retry.rs"]});
    check_request(&mut walker, "/v1/memory", &edit);
    let (status, edited) = json(server.post_json("/v1/memory", &edit).await).await;
    assert_eq!((status, edited["kind"]["change"].as_str()), (201, Some("edited")), "{edited}");
    for refused in [json!({"action": "accept", "id": entry, "text": "kept"}), json!({"action": "reject", "id": entry})]
    {
        check_request(&mut walker, "/v1/memory", &refused);
        let (status, answer) = json(server.post_json("/v1/memory", &refused).await).await;
        assert_eq!(status, 409, "an active entry is no proposal: {answer}");
        assert!(answer["detail"].as_str().unwrap().contains("not pending"), "{answer}");
        check_answer(&mut walker, "post", "/v1/memory", status, &answer);
    }
    let (status, memory) = json(server.get("/v1/memory").await).await;
    assert_eq!(memory["entries"][0]["text"], "net::timeout_retry fails one run in twenty", "{memory}");
    assert_eq!(memory["version"], edited["seq"], "{memory}");
    check_answer(&mut walker, "get", "/v1/memory", status, &memory);
    let remove = json!({"action": "remove", "id": entry});
    check_request(&mut walker, "/v1/memory", &remove);
    let (status, removed) = json(server.post_json("/v1/memory", &remove).await).await;
    assert_eq!(removed["kind"]["entry"]["status"], "removed", "{removed}");
    check_answer(&mut walker, "post", "/v1/memory", status, &removed);
    let (status, empty) = json(
        server
            .post_json(
                "/v1/memory",
                &json!({"action": "add", "repo": "/r",
        "kind": "setup", "text": "  "}),
            )
            .await,
    )
    .await;
    assert_eq!(status, 409, "{empty}");
    check_answer(&mut walker, "post", "/v1/memory", status, &empty);

    // The museum: an exhibit added with its check, edited (unverified again), verified, removed.
    let add = json!({"action": "add", "exhibit": {"repo": "/srv/pagination", "title": "page_count divides by zero",
        "base": "7e534e6342c448cafbecdc5011c042ede9ecf3d3",
        "reproducer": {"command": "cargo test", "tests": ["tests::zero_size"]},
        "files": ["src/lib.rs"], "root_cause": "no guard for size 0",
        "verification": {"at": "2026-12-03T10:00:00Z", "reproduces": true, "detail": "tests::zero_size fails"}}});
    check_request(&mut walker, "/v1/museum", &add);
    let (status, added) = json(server.post_json("/v1/museum", &add).await).await;
    assert_eq!((status, added["kind"]["exhibit"]["status"].as_str()), (201, Some("kept")), "{added}");
    check_answer(&mut walker, "post", "/v1/museum", status, &added);
    let exhibit = added["kind"]["exhibit"]["id"].as_str().unwrap().to_owned();
    let edit = json!({"action": "edit", "id": exhibit, "command": "cargo test --lib", "tests": ["zero_size"]});
    check_request(&mut walker, "/v1/museum", &edit);
    let (status, edited) = json(server.post_json("/v1/museum", &edit).await).await;
    assert_eq!(status, 201, "{edited}");
    assert!(edited["kind"]["exhibit"].get("verification").is_none(), "a new reproducer is unverified: {edited}");
    check_answer(&mut walker, "post", "/v1/museum", status, &edited);
    let verified = json!({"action": "verified", "id": exhibit,
        "verification": {"at": "2026-12-03T11:00:00Z", "reproduces": false, "detail": "zero_size passes"}});
    check_request(&mut walker, "/v1/museum", &verified);
    let (status, checked) = json(server.post_json("/v1/museum", &verified).await).await;
    assert_eq!((status, checked["kind"]["change"].as_str()), (201, Some("verified")), "{checked}");
    let refused = json!({"action": "accept", "id": exhibit});
    check_request(&mut walker, "/v1/museum", &refused);
    let (status, answer) = json(server.post_json("/v1/museum", &refused).await).await;
    assert_eq!(status, 409, "a kept exhibit is no proposal: {answer}");
    check_answer(&mut walker, "post", "/v1/museum", status, &answer);
    let (status, museum) = json(server.get("/v1/museum").await).await;
    assert_eq!(museum["exhibits"][0]["reproducer"]["command"], "cargo test --lib", "{museum}");
    check_answer(&mut walker, "get", "/v1/museum", status, &museum);
    let remove = json!({"action": "remove", "id": exhibit});
    check_request(&mut walker, "/v1/museum", &remove);
    let (status, removed) = json(server.post_json("/v1/museum", &remove).await).await;
    assert_eq!(removed["kind"]["exhibit"]["status"], "removed", "{removed}");
    check_answer(&mut walker, "post", "/v1/museum", status, &removed);

    let gate = server.open_gate(task["id"].as_str().unwrap().parse().unwrap(), GateKind::Plan).await;
    let (status, gates) = json(server.get("/v1/gates").await).await;
    assert_eq!(gates.as_array().map(Vec::len), Some(1), "{gates}");
    check_answer(&mut walker, "get", "/v1/gates", status, &gates);
    let decision = DecisionRequest { decision: Decision::Approve, note: Some("go".into()), choice: None };
    let decision = serde_json::to_value(decision).unwrap();
    check_request(&mut walker, "/v1/gates/{id}/decision", &decision);
    let (status, decided) = json(server.post_json(&format!("/v1/gates/{gate}/decision"), &decision).await).await;
    assert_eq!(status, 200, "{decided}");
    check_answer(&mut walker, "post", "/v1/gates/{id}/decision", status, &decided);

    let rewind = serde_json::to_value(RewindRequest { to: "implement".into(), note: Some("smaller".into()) }).unwrap();
    check_request(&mut walker, "/v1/tasks/{id}/rewind", &rewind);
    let (status, refused) = json(server.post_json(&format!("/v1/tasks/{id}/rewind"), &rewind).await).await;
    assert_eq!(status, 409, "nothing ran, so there is no checkpoint: {refused}");
    check_answer(&mut walker, "post", "/v1/tasks/{id}/rewind", status, &refused);

    let cancel = serde_json::to_value(CancelRequest { reason: Some("not needed".into()) }).unwrap();
    check_request(&mut walker, "/v1/tasks/{id}/cancel", &cancel);
    let (status, cancelled) = json(server.post_json(&format!("/v1/tasks/{id}/cancel"), &cancel).await).await;
    assert_eq!(status, 200, "{cancelled}");
    check_answer(&mut walker, "post", "/v1/tasks/{id}/cancel", status, &cancelled);
    let clean = serde_json::to_value(CleanRequest { force: true }).unwrap();
    check_request(&mut walker, "/v1/tasks/{id}/clean", &clean);
    let (status, cleaned) = json(server.post_json(&format!("/v1/tasks/{id}/clean"), &clean).await).await;
    assert_eq!(status, 200, "{cleaned}");
    check_answer(&mut walker, "post", "/v1/tasks/{id}/clean", status, &cleaned);

    let (status, refused) = json(server.post_json(&format!("/v1/tasks/{id}/resume"), &json!({})).await).await;
    assert_eq!(status, 409, "{refused}");
    check_answer(&mut walker, "post", "/v1/tasks/{id}/resume", status, &refused);
    let (status, unknown) = json(server.post_json("/v1/tasks", &json!({"title": "x", "titel": "y"})).await).await;
    assert_eq!(unknown["field"], "titel", "{unknown}");
    check_answer(&mut walker, "post", "/v1/tasks", status, &unknown);

    let head = list["head_seq"].as_u64().unwrap() as usize;
    let data =
        walker.doc.pointer("/paths/~1v1~1events/get/responses/200/content/text~1event-stream/x-data-schema/$ref");
    let data = data.and_then(Value::as_str).expect("the stream names the schema of its data");
    let data = data.trim_start_matches('#').to_owned();
    for (index, event) in streamed(&server, head).await.iter().enumerate() {
        walker.check(&data, event, &format!("GET /v1/events data #{}", index + 1));
    }
    assert_clean(&walker);
}

#[test]
fn the_projections_and_events_of_a_real_store_are_described() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(STORE_FILE);
    std::fs::copy(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/store/v1.redb"), &path).unwrap();
    let reader = StoreReader::open(&path).unwrap().unwrap();
    let mut walker = Walker::new(document());
    for task in reader.tasks().unwrap() {
        let value = serde_json::to_value(&task).unwrap();
        walker.check(&format!("{SCHEMAS}/Task"), &value, &format!("task {}", task.id.short()));
    }
    for event in reader.events_after(0, usize::MAX).unwrap() {
        let value = serde_json::to_value(&event).unwrap();
        walker.check(&format!("{SCHEMAS}/Event"), &value, &format!("event #{}", event.seq));
    }
    assert_clean(&walker);
}

/// Every sample of what the API sends or takes, each field set.
fn samples(walker: &mut Walker) {
    for (_, kinds) in event_samples::all() {
        for kind in kinds {
            let mut event = event_samples::event(kind);
            event.hash = recompute_hash(&event).unwrap();
            let what = format!("sample {}", event.kind.name());
            walker.check(&format!("{SCHEMAS}/Event"), &serde_json::to_value(&event).unwrap(), &what);
        }
    }
    let task = event_samples::task();
    walker.check(&format!("{SCHEMAS}/Task"), &serde_json::to_value(&task).unwrap(), "sample task");
    let summary = TaskSummary {
        id: task.id,
        title: task.spec.title.clone(),
        status: TaskStatus::Running,
        kind: Some(TaskKind::BugFix),
        risk: Some(Risk::High),
        route: Some(Route::RightAndLeft),
        created_at: task.created_at,
        open_gates: 1,
        cost_micros: 12,
    };
    let bare = TaskSummary { kind: None, risk: None, route: None, ..summary.clone() };
    let list = TaskList { tasks: vec![summary, bare], head_seq: 42, total: 7, next_cursor: Some(task.id) };
    let gate = GateInfo {
        gate: event_samples::gate_id(),
        task: task.id,
        task_title: task.spec.title.clone(),
        kind: GateKind::Promotion,
        reason: "adopt c1?".into(),
        opened_seq: 41,
        options: vec!["adopt c1".into()],
    };
    let reply = DecisionReply {
        gate: gate.gate,
        task: task.id,
        decision: Decision::ApproveForTask,
        status: TaskStatus::Running,
        seq: 43,
    };
    let removed = RemovedWorktree {
        candidate: "eval-c1".into(),
        path: "/tmp/eval-c1".into(),
        branch_deleted: Some("ambidex/00000001/eval-c1".into()),
        bytes: 1024,
    };
    let cleaned = CleanReply { task, removed: vec![removed] };
    let museum = {
        use ambidex::protocol::{ExhibitLinks, ExhibitSource, ExhibitStatus};
        let (task, gate) = (event_samples::task_id(), event_samples::gate_id());
        let kept = event_samples::exhibit(ExhibitStatus::Kept);
        let sent_back = ambidex::protocol::Exhibit {
            source: ExhibitSource::SentBack { task, gate },
            links: ExhibitLinks {
                task: Some(task),
                gate: Some(gate),
                pr: Some("https://github.com/ada/pagination/pull/7".into()),
                commit: Some("0a1b2c3d".into()),
                candidate: None,
            },
            fix_patch: Some("--- a/src/page.rs\n+++ b/src/page.rs\n".into()),
            ..kept.clone()
        };
        let breaker = ambidex::protocol::Exhibit {
            source: ExhibitSource::Breaker { task, breaker: "no_progress".into() },
            ..kept.clone()
        };
        let reverted = ambidex::protocol::Exhibit {
            source: ExhibitSource::Reverted { task, revert: "5e6f7a8b".into() },
            ..kept.clone()
        };
        json!({"exhibits": [kept, sent_back, breaker, reverted]})
    };
    let error = ErrorBody { error: "bad_request".into(), detail: "no".into(), field: Some("title".into()) };
    for (name, value) in [
        ("TaskList", serde_json::to_value(list).unwrap()),
        ("GateInfo", serde_json::to_value(gate).unwrap()),
        ("DecisionReply", serde_json::to_value(reply).unwrap()),
        ("CleanReply", serde_json::to_value(cleaned).unwrap()),
        ("Error", serde_json::to_value(error).unwrap()),
        ("TaskSpec", serde_json::to_value(event_samples::spec()).unwrap()),
        ("Triage", serde_json::to_value(trusted_triage()).unwrap()),
        ("MemoryList", json!({"version": 4321, "entries": [event_samples::memory_entry(MemoryStatus::Active)]})),
        ("MuseumList", museum),
    ] {
        walker.check(&format!("{SCHEMAS}/{name}"), &value, &format!("sample {name}"));
    }
}

/// A triage of a class a person granted autonomy to.
fn trusted_triage() -> ambidex::protocol::Triage {
    use ambidex::protocol::{AutonomyLevel, GatePlan, Risk, Route, TaskKind, Triage};
    Triage {
        kind: TaskKind::Documentation,
        risk: Risk::Low,
        novelty: 0,
        route: Route::RightOnly,
        reasons: vec!["autonomy: documentation tasks are trusted_plan".into()],
        budgets: None,
        gates: vec![GatePlan::PullRequest],
        areas: Vec::new(),
        policy_version: String::new(),
        autonomy: AutonomyLevel::TrustedPlan,
    }
}

#[test]
fn the_samples_are_described_and_every_described_field_occurs_in_them() {
    let mut walker = Walker::new(document());
    samples(&mut walker);
    // The request bodies' own fields are met by the requests of the running-engine test.
    let requests = [
        "SpecChanges",
        "NoteRequest",
        "CancelRequest",
        "CleanRequest",
        "DecisionRequest",
        "RewindRequest",
        "MemoryEdit",
        "MuseumEdit",
        "NewExhibit",
    ];
    let described: Vec<String> = walker
        .described_under(SCHEMAS)
        .into_iter()
        .filter(|pointer| !requests.iter().any(|name| pointer.starts_with(&format!("{SCHEMAS}/{name}/"))))
        .collect();
    let never: Vec<&String> = described.iter().filter(|pointer| !walker.seen.contains(*pointer)).collect();
    assert_clean(&walker);
    assert!(
        never.is_empty(),
        "the document describes fields no sample holds (a misspelt field, or a sample in \
         tests/support/event_samples.rs that leaves it out):\n{}",
        never.iter().map(|p| p.as_str()).collect::<Vec<_>>().join("\n")
    );
}

#[test]
fn every_described_field_has_a_description() {
    let walker = Walker::new(document());
    let bare: Vec<String> = walker
        .described_under("/components")
        .into_iter()
        .filter(|pointer| {
            walker
                .doc
                .pointer(pointer)
                .and_then(|p| p.get("description"))
                .and_then(Value::as_str)
                .is_none_or(str::is_empty)
        })
        .collect();
    assert!(bare.is_empty(), "fields without a description:\n{}", bare.join("\n"));
}
