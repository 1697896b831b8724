//! Work that starts on the forge: `ambidex serve --watch github:acme/widgets --label ambidex`
//! against a fake GitHub on 127.0.0.1 imports each labelled issue as a task exactly once (pull
//! requests GitHub lists among issues are not), asks conditionally with the last `ETag`, and a
//! second `serve` imports nothing the first one already did.

// Test and benchmark code may unwrap and panic: that is how it reports a failure (see clippy.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support {
    pub mod cli;
    pub mod engine;
    pub mod fake_forge;
}

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::cli::Sandbox;
use support::engine::pagination_repo;
use support::fake_forge::*;

const TOKEN: &str = "fake-watch-token-8d2e4a6c1b";
const LIST: &str = "/api/v3/repos/acme/widgets/issues";

fn issue(server: &FakeForge, number: u64, title: &str) -> Value {
    json!({
        "number": number,
        "title": title,
        "body": format!("{title}.\n\n## Acceptance criteria\n- [ ] it is done\n"),
        "labels": [{"name": "ambidex"}],
        "html_url": format!("{}/acme/widgets/issues/{number}", server.base),
    })
}

fn serve(sandbox: &Sandbox, server: &FakeForge) -> Child {
    let base = format!("forges.github.base_url={}/api/v3", server.base);
    let args = ["-c", &base, "-c", "api.port=0", "serve", "--watch", "github:acme/widgets", "--watch-every", "1"];
    sandbox.command(&args).env("GITHUB_TOKEN", TOKEN).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap()
}

fn stop(serve: Child) -> String {
    let stopped = std::process::Command::new("kill").args(["-TERM", &serve.id().to_string()]).status().unwrap();
    assert!(stopped.success());
    let output = serve.wait_with_output().unwrap();
    String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr)
}

fn tasks(sandbox: &Sandbox) -> Vec<Value> {
    let listed = sandbox.run(&["task", "list", "--json"]);
    serde_json::from_str::<Value>(&listed.stdout).ok().and_then(|v| v.as_array().cloned()).unwrap_or_default()
}

/// Waits until the fake forge saw `count` listings, so the watcher has polled that often.
fn listed(server: &FakeForge, count: usize) {
    let started = Instant::now();
    while server.seen_at("GET", LIST).len() < count {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the watcher listed issues {:?}",
            server.seen_at("GET", LIST)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn labelled_issues_become_tasks_once_each_asked_for_conditionally() {
    let sandbox = Sandbox::new();
    pagination_repo(&sandbox);
    let server = FakeForge::start("authorization", &format!("Bearer {TOKEN}"));
    let seven = issue(&server, 7, "Fix page_count rounding");
    let eight = issue(&server, 8, "Add a last_page helper");
    let mut pull = issue(&server, 9, "A pull request GitHub lists among issues");
    pull["pull_request"] = json!({ "url": "…" });
    server.on(
        "GET",
        LIST,
        vec![
            answer_with(200, &[("etag", "W/\"v1\"")], json!([seven.clone(), pull.clone()])),
            answer_with(304, &[("etag", "W/\"v1\"")], Value::Null),
            answer_with(200, &[("etag", "W/\"v2\"")], json!([seven.clone(), eight.clone(), pull])),
            answer_with(304, &[("etag", "W/\"v2\"")], Value::Null),
        ],
    );
    for (number, body) in [(7, &seven), (8, &eight)] {
        server.on("GET", &format!("{LIST}/{number}"), vec![answer(200, body.clone())]);
        server.on("GET", &format!("{LIST}/{number}/comments"), vec![answer(200, json!([]))]);
    }

    let first = serve(&sandbox, &server);
    listed(&server, 5);
    let printed = stop(first);
    let imported = tasks(&sandbox);
    let sources: Vec<String> =
        imported.iter().map(|t| t["spec"]["source"]["url"].as_str().unwrap().to_owned()).collect();
    assert_eq!(imported.len(), 2, "{printed}\n{imported:#?}");
    for number in [7, 8] {
        assert!(sources.contains(&format!("{}/acme/widgets/issues/{number}", server.base)), "{sources:?}");
    }
    assert!(printed.contains("watching github:acme/widgets (label `ambidex`)"), "{printed}");
    assert!(printed.contains("/acme/widgets/issues/7 as task"), "{printed}");
    let seen = server.seen_at("GET", LIST);
    assert!(seen[0].query.contains("labels=ambidex") && seen[0].query.contains("state=open"), "{:?}", seen[0]);
    assert_eq!(seen[0].header("if-none-match"), "", "the first look asks unconditionally");
    assert_eq!(seen[1].header("if-none-match"), "W/\"v1\"");
    assert_eq!(seen[3].header("if-none-match"), "W/\"v2\"");
    assert_eq!(server.seen_at("GET", &format!("{LIST}/7")).len(), 1, "issue 7 was read once");
    assert!(server.seen_at("GET", &format!("{LIST}/9")).is_empty(), "a pull request is not an issue");

    // A new serve starts without an ETag, gets the whole list again, and imports nothing twice.
    server.on("GET", LIST, vec![answer_with(200, &[("etag", "W/\"v3\"")], json!([seven, eight]))]);
    let before = server.seen_at("GET", LIST).len();
    let second = serve(&sandbox, &server);
    listed(&server, before + 2);
    stop(second);
    assert_eq!(tasks(&sandbox).len(), 2);
    assert_eq!(server.seen_at("GET", &format!("{LIST}/7")).len(), 1);
}

/// A task whose draft PR #3 on the fake GitHub has `commit` as its head, written to the store
/// the way a delivered task leaves it.
fn delivered_task(sandbox: &Sandbox, server: &FakeForge, commit: &str) -> String {
    use ambidex::protocol::{Actor, EventKind, NewEvent, PullRequest, TaskId, TaskSpec, TaskStatus};
    let id = TaskId::new();
    let moved = |from, to| {
        NewEvent::for_task(id, Actor::Orchestrator, EventKind::StatusChanged { from, to, reason: "test".into() })
    };
    let pr = PullRequest {
        branch: format!("ambidex/{}/production", id.short()),
        base_branch: "main".into(),
        commit: commit.into(),
        title: "Fix page_count rounding".into(),
        body: "…".into(),
        draft: true,
        location: format!("{}/acme/widgets/pull/3", server.base),
    };
    std::fs::create_dir_all(sandbox.store().parent().unwrap()).unwrap();
    let store = ambidex::store::Store::open(&sandbox.store()).unwrap();
    let spec = TaskSpec::titled("Fix page_count rounding");
    store
        .append(vec![
            NewEvent::for_task(id, Actor::local_human(), EventKind::TaskCreated { spec }),
            moved(TaskStatus::Received, TaskStatus::Queued),
            moved(TaskStatus::Queued, TaskStatus::Running),
            NewEvent::for_task(id, Actor::Orchestrator, EventKind::PrCreated { pr }),
            moved(TaskStatus::Running, TaskStatus::PrReady),
        ])
        .unwrap();
    store.close();
    id.short()
}

fn check_run(name: &str, status: &str, conclusion: Option<&str>) -> Value {
    json!({ "name": name, "status": status, "conclusion": conclusion, "html_url": format!("https://ci.example/{name}") })
}

#[test]
fn the_ci_checks_of_a_watched_projects_pr_are_recorded_until_they_settle() {
    let sandbox = Sandbox::new();
    pagination_repo(&sandbox);
    let server = FakeForge::start("authorization", &format!("Bearer {TOKEN}"));
    let commit = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c";
    let id = delivered_task(&sandbox, &server, commit);
    server.on("GET", LIST, vec![answer(200, json!([]))]);
    let runs = format!("/api/v3/repos/acme/widgets/commits/{commit}/check-runs");
    server.on(
        "GET",
        &runs,
        vec![
            answer(200, json!({ "check_runs": [check_run("test", "in_progress", None)] })),
            answer(200, json!({ "check_runs": [check_run("test", "in_progress", None)] })),
            answer(
                200,
                json!({ "check_runs": [
                    check_run("test", "completed", Some("failure")),
                    check_run("lint", "completed", Some("success")),
                ] }),
            ),
        ],
    );

    server.on("GET", "/api/v3/repos/acme/widgets/pulls/3/reviews", vec![answer(200, json!([]))]);
    server.on("GET", "/api/v3/repos/acme/widgets/pulls/3/comments", vec![answer(200, json!([]))]);

    let watching = serve(&sandbox, &server);
    let started = Instant::now();
    while server.seen_at("GET", &runs).len() < 3 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the watcher read the checks {:?}",
            server.seen_at("GET", &runs)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // Settled: later polls list issues but no longer ask for the checks.
    let asked = server.seen_at("GET", LIST).len();
    listed(&server, asked + 2);
    let printed = stop(watching);
    assert_eq!(server.seen_at("GET", &runs).len(), 3, "settled checks are not asked for again");
    assert!(printed.contains(&format!("task {id}: CI 1 passed, 1 failed, 0 pending (test)")), "{printed}");

    let shown: Value = serde_json::from_str(&sandbox.run(&["task", "show", &id, "--json"]).ok()).unwrap();
    let recorded: Vec<&Value> =
        shown["events"].as_array().unwrap().iter().filter(|e| e["kind"]["type"] == "ci_checked").collect();
    assert_eq!(recorded.len(), 2, "the pending report, then the settled one (an unchanged one is not recorded)");
    assert_eq!(shown["task"]["ci"]["checks"][0]["state"], "failed", "{}", shown["task"]);

    // The failure is feedback: the task is sent back once to rework its PR (no model is set up
    // here, so it stays queued).
    assert!(printed.contains(&format!("task {id}: feedback on its PR from CI; reworking it")), "{printed}");
    let feedback: Vec<&Value> =
        shown["events"].as_array().unwrap().iter().filter(|e| e["kind"]["type"] == "pr_feedback").collect();
    assert_eq!(feedback.len(), 1, "{feedback:?}");
    assert_eq!(feedback[0]["kind"]["failed_checks"][0]["name"], "test");
    assert_eq!(feedback[0]["kind"]["to"], "implement");
    assert_eq!((shown["task"]["status"].as_str(), shown["task"]["reworks"].as_u64()), (Some("queued"), Some(1)));
    assert_eq!(shown["task"]["reviews_acted_on"], json!([format!("ci-{commit}")]));
    let pr = sandbox.run(&["pr", "show", &id]).ok();
    assert!(pr.contains("ci        1 passed, 1 failed, 0 pending (test)"), "{pr}");
    assert!(pr.contains("failed test  https://ci.example/test"), "{pr}");
}
