//! `ambidex models check` end to end: the real binary against a fake model server on 127.0.0.1,
//! and against the scripted provider.

// Test and benchmark code may unwrap and panic: that is how it reports a failure (see clippy.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/fake_model.rs"]
mod fake_model;

use std::path::Path;
use std::process::Output;

use fake_model::{FakeServer, Reply, fixture};

const CLI_KEY_ENV: &str = "FAKE_CLI_MODEL_KEY";
const CLI_KEY: &str = "sk-cli-secret-0123456789";

/// Runs `ambidex` in an empty temp dir with a temp HOME, no AMBIDEX_* variables and the key set.
async fn ambidex(dir: &Path, key: Option<&str>, args: &[String]) -> Output {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_ambidex"));
    for (name, _) in std::env::vars() {
        if name.starts_with("AMBIDEX_") {
            command.env_remove(&name);
        }
    }
    command.env_remove(CLI_KEY_ENV);
    if let Some(key) = key {
        command.env(CLI_KEY_ENV, key);
    }
    command
        .current_dir(dir)
        .env("HOME", dir)
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .env("XDG_DATA_HOME", dir.join("data"))
        .arg("--state-dir")
        .arg(dir.join("state"))
        .args(args);
    let output = tokio::time::timeout(std::time::Duration::from_secs(30), command.output());
    output.await.expect("ambidex finished within 30 s").expect("ambidex runs")
}

fn fake_args(kind: &str, base_url: &str, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = [
        format!("providers.fake.kind={kind}"),
        format!("providers.fake.base_url={base_url}"),
        "providers.fake.model=test-model".into(),
        format!("providers.fake.api_key_env={CLI_KEY_ENV}"),
        "providers.fake.max_retries=0".into(),
        "providers.fake.input_price_per_mtok=2.5".into(),
        "providers.fake.output_price_per_mtok=10".into(),
    ]
    .into_iter()
    .flat_map(|pair| ["-c".to_owned(), pair])
    .collect();
    args.extend(["models", "check", "--provider", "fake"].map(String::from));
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    args
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test]
async fn openai_check_prints_model_latency_usage_and_tool_calls() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = FakeServer::start(vec![Reply::chunked(&fixture("openai_ping.sse"), 40)]).await;
    let out = ambidex(dir.path(), Some(CLI_KEY), &fake_args("openai", &format!("{}/v1", server.url), &[])).await;
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "stdout: {stdout}\nstderr: {}", text(&out.stderr));
    assert!(stdout.contains("model       test-model"), "{stdout}");
    assert!(stdout.contains("latency     "), "{stdout}");
    // 92 × 2.5 + 15 × 10 = 380 micro-dollars.
    assert!(stdout.contains("usage       92 in, 15 out, $0.000380"), "{stdout}");
    assert!(stdout.contains(r#"tool calls  yes (ping {"echo":"ok"})"#), "{stdout}");
    assert!(!stdout.contains(CLI_KEY));
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].path, "/v1/chat/completions");
    assert_eq!(requests[0].headers["authorization"], format!("Bearer {CLI_KEY}"));
    assert_eq!(requests[0].body["tools"][0]["function"]["name"], "ping");
    assert_eq!(requests[0].body["stream"], true);
}

#[tokio::test]
async fn anthropic_check_as_json() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = FakeServer::start(vec![Reply::chunked(&fixture("anthropic_ping.sse"), 40)]).await;
    let out = ambidex(dir.path(), Some(CLI_KEY), &fake_args("anthropic", &server.url, &["--json"])).await;
    assert!(out.status.success(), "stderr: {}", text(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    assert_eq!(report["ok"], true);
    assert_eq!(report["model"], "test-model");
    assert_eq!(report["tool_calls"], true);
    assert_eq!(report["usage"]["input_tokens"], 410);
    assert_eq!(report["usage"]["output_tokens"], 40);
    assert_eq!(report["usage"]["cost_micros"], 1425);
    assert!(report["latency_ms"].is_u64());
    let requests = server.requests();
    assert_eq!(requests[0].path, "/v1/messages");
    assert_eq!(requests[0].headers["x-api-key"], CLI_KEY);
    assert_eq!(requests[0].body["tools"][0]["name"], "ping");
}

#[tokio::test]
async fn bad_key_says_which_variable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let body = format!(r#"{{"error":{{"message":"Incorrect API key provided: {CLI_KEY}"}}}}"#);
    let server = FakeServer::start(vec![Reply::status(401, &body)]).await;
    let out = ambidex(dir.path(), Some(CLI_KEY), &fake_args("openai", &format!("{}/v1", server.url), &[])).await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(CLI_KEY_ENV), "{stderr}");
    assert!(stderr.contains("401"), "{stderr}");
    assert!(!stderr.contains(CLI_KEY) && !text(&out.stdout).contains(CLI_KEY));
}

#[tokio::test]
async fn missing_key_variable_is_named_before_any_request() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = FakeServer::start(vec![]).await;
    let out = ambidex(dir.path(), None, &fake_args("openai", &format!("{}/v1", server.url), &[])).await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr.contains(CLI_KEY_ENV) && stderr.contains("is not set"), "{stderr}");
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn unknown_model_says_the_model_name() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = FakeServer::start(vec![Reply::status(
        404,
        r#"{"error":{"message":"model \"test-model\" not found, try pulling it first"}}"#,
    )])
    .await;
    let out =
        ambidex(dir.path(), Some(CLI_KEY), &fake_args("openai", &format!("{}/v1", server.url), &["--json"])).await;
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    assert_eq!(report["ok"], false);
    assert_eq!(report["error"]["kind"], "not_found");
    let message = report["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("`test-model`"), "{message}");
}

#[tokio::test]
async fn unreachable_server_says_the_url() {
    let dir = tempfile::tempdir().expect("tempdir");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    let out =
        ambidex(dir.path(), Some(CLI_KEY), &fake_args("openai", &format!("http://127.0.0.1:{port}/v1"), &[])).await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr.contains(&format!("http://127.0.0.1:{port}/v1/chat/completions")), "{stderr}");
    assert!(stderr.contains("cannot connect"), "{stderr}");
}

#[tokio::test]
async fn scripted_provider_is_checked_like_any_other() {
    let dir = tempfile::tempdir().expect("tempdir");
    let script = dir.path().join("check.toml");
    std::fs::write(
        &script,
        "[[turn]]\ntext = \"pong\"\n[[turn.tool_call]]\nname = \"ping\"\narguments = { echo = \"ok\" }\n",
    )
    .expect("write script");
    let args: Vec<String> = [
        "-c",
        "providers.demo.kind=scripted",
        "-c",
        &format!("providers.demo.script={}", script.display()),
        "-c",
        "models.default_provider=demo",
        "models",
        "check",
    ]
    .map(String::from)
    .to_vec();
    let out = ambidex(dir.path(), None, &args).await;
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    assert!(stdout.contains("provider    demo (scripted, "), "{stdout}");
    assert!(stdout.contains("model       scripted"), "{stdout}");
    assert!(stdout.contains(r#"tool calls  yes (ping {"echo":"ok"})"#), "{stdout}");
    assert!(stdout.contains(r#"reply       "pong""#), "{stdout}");
}

#[tokio::test]
async fn exhausted_script_and_unknown_provider_are_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let script = dir.path().join("empty.toml");
    std::fs::write(&script, "[[turn]]\nrole = \"planner\"\ntext = \"hi\"\n").expect("write");
    let args: Vec<String> = [
        "-c",
        "providers.demo.kind=scripted",
        "-c",
        &format!("providers.demo.script={}", script.display()),
        "models",
        "check",
        "--provider",
        "demo",
    ]
    .map(String::from)
    .to_vec();
    let out = ambidex(dir.path(), None, &args).await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr.contains("script exhausted for (no role) at turn 1"), "{stderr}");

    let args: Vec<String> = ["models", "check", "--provider", "nope"].map(String::from).to_vec();
    let out = ambidex(dir.path(), None, &args).await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr.contains("no provider named `nope`") && stderr.contains("openai"), "{stderr}");
}

#[tokio::test]
async fn models_list_shows_what_the_server_offers_with_the_configured_one_marked() {
    let dir = tempfile::tempdir().unwrap();
    let offered = r#"{"object":"list","data":[{"id":"zeta-coder","object":"model","owned_by":"acme"},{"id":"test-model","object":"model","owned_by":"acme"}]}"#;
    let server =
        FakeServer::start(vec![Reply::status(200, offered), Reply::status(401, r#"{"error":{"message":"bad key"}}"#)])
            .await;
    let mut args = fake_args("openai", &format!("{}/v1", server.url), &[]);
    let at = args.iter().position(|a| a == "check").unwrap();
    args.splice(at..at + 1, ["list".to_owned()]);
    let out = ambidex(dir.path(), Some(CLI_KEY), &args).await;
    let shown = text(&out.stdout);
    assert!(out.status.success(), "{shown}{}", text(&out.stderr));
    let lines: Vec<&str> = shown.lines().collect();
    assert!(lines[0].starts_with("2 model(s) at"), "{shown}");
    assert_eq!(lines[1..], ["* test-model  acme", "  zeta-coder  acme"]);
    let request = &server.requests()[0];
    assert_eq!((request.method.as_str(), request.path.as_str()), ("GET", "/v1/models"));
    assert_eq!(request.headers["authorization"], format!("Bearer {CLI_KEY}"));

    let refused = ambidex(dir.path(), Some(CLI_KEY), &args).await;
    assert!(!refused.status.success());
    let said = text(&refused.stderr);
    assert!(said.contains("rejected the API key") && said.contains(CLI_KEY_ENV), "{said}");
}
