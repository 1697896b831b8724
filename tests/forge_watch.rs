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
