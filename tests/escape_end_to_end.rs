//! Secrets stay secret all the way through: the real binary runs a task whose implementer, played
//! by a fake OpenAI server on 127.0.0.1, tries to read every planted secret (the engine's
//! environment, `~/.ssh`, `~/.aws`, `~/.netrc`, `~/.config/gh`, a committed `.env`) plainly and
//! encoded, at every sandbox level this machine offers. Afterwards no secret, in any of its
//! forms, is in the redb file's bytes, in any file the engine wrote under its state directory, or
//! in any request body the model server received.

// Test and benchmark code may unwrap and panic: that is how it reports a failure (see clippy.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support {
    pub mod cli;
    pub mod engine;
}
#[path = "support/fake_model.rs"]
mod fake_model;
#[path = "support/leaks.rs"]
mod leaks;
#[path = "support/levels.rs"]
mod levels;
#[path = "support/openai_turns.rs"]
mod openai_turns;

use std::path::Path;

use fake_model::{FakeServer, Reply};
use leaks::{DOTENV_SECRET, ENGINE_SECRET, SECRETS, leak_forms, plant_home};
use openai_turns::{plan, tool_call};
use support::cli::Sandbox;
use support::engine::*;

const KEY_ENV: &str = "FAKE_LEAK_MODEL_KEY";
const MODEL_KEY: &str = "sk-fake-leak-0123456789abcdef";

/// What the implementer tries, one command or read per model turn.
fn attempts() -> Vec<Reply> {
    let run = |command: &str| tool_call("run", serde_json::json!({ "command": command, "timeout_secs": 20 }));
    vec![
        run("cat /proc/*/environ | base64 -w0"),
        run("env | base64 -w0"),
        run("base64 -w0 .env"),
        run("od -An -tx1 .env | tr -d ' \\n'"),
        run("cat .env; cat ~/.ssh/id_rsa ~/.aws/credentials ~/.netrc ~/.config/gh/hosts.yml"),
        run("grep -o . ~/.ssh/id_rsa"),
        run("base64 -w0 ~/.aws/credentials"),
        tool_call("read_file", serde_json::json!({ "path": ".env" })),
    ]
}

fn plant(sandbox: &Sandbox) {
    plant_home(&sandbox.path("home"));
    // Committed with the rest of the pagination repository.
    sandbox.write("repo/.env", &format!("DEPLOY_TOKEN={DOTENV_SECRET}\n"));
    pagination_repo(sandbox);
}

/// Every file under `dir` but the worktrees (which hold the repository's own `.env`), as text.
fn written_files(dir: &Path, out: &mut Vec<(String, String)>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if entry.file_type().unwrap().is_dir() {
            if entry.file_name() != "worktrees" {
                written_files(&path, out);
            }
        } else if entry.file_type().unwrap().is_file() {
            let bytes = std::fs::read(&path).unwrap();
            out.push((path.display().to_string(), String::from_utf8_lossy(&bytes).into_owned()));
        }
    }
}

#[test]
fn no_planted_secret_reaches_the_store_the_state_dir_or_the_model_in_any_form() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let forms: Vec<(&str, String)> =
        SECRETS.iter().chain([&MODEL_KEY]).flat_map(|s| leak_forms(s).into_iter().map(move |f| (*s, f))).collect();
    for level in levels::levels() {
        let mut replies = vec![plan("Round up.")];
        replies.extend(attempts());
        replies.push(Reply::status(400, r#"{"error":{"message":"the test ends here"}}"#));
        let server = runtime.block_on(FakeServer::start(replies));
        let sandbox = Sandbox::new();
        plant(&sandbox);
        let task = task_file(&sandbox, "low");
        let model = FakeModel { kind: "openai", url: &server.url, key_env: KEY_ENV };
        let run = model.run(
            &sandbox,
            &[format!("sandbox.level={level}")],
            &["run", "--task-file", &task, "--approve", "all"],
            &[(KEY_ENV, MODEL_KEY), ("CORPUS_DEPLOY_TOKEN", ENGINE_SECRET)],
        );
        let requests = server.requests();
        let bodies: Vec<String> = requests.iter().map(|r| r.body.to_string()).collect();
        assert_eq!(
            bodies.len(),
            attempts().len() + 2,
            "[{level}] every attempt ran and reached the model\n{}\n{}",
            run.stdout,
            run.stderr
        );
        let last = &bodies[bodies.len() - 1];
        assert!(last.contains("[REDACTED:"), "[{level}] what the attempts read was redacted, not absent: {last}");

        let mut texts: Vec<(String, String)> =
            bodies.into_iter().enumerate().map(|(i, b)| (format!("model request {i}"), b)).collect();
        written_files(&sandbox.path("data"), &mut texts);
        assert!(texts.iter().any(|(name, _)| name.ends_with("state.redb")), "the store is among what is searched");
        let mut leaks = Vec::new();
        for (name, text) in &texts {
            for (secret, form) in &forms {
                if text.contains(form.as_str()) {
                    leaks.push(format!("{secret} as `{form}` in {name}"));
                }
            }
        }
        assert!(leaks.is_empty(), "[{level}] secrets leaked:\n{}", leaks.join("\n"));
    }
}
