//! No key, no surprise: without a usable model provider a task is recorded but waits, queued,
//! never failed, with no worktree, and every command says why and how to check it.

// Test and benchmark code may unwrap and panic: that is how it reports a failure (see clippy.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support {
    pub mod cli;
    pub mod engine;
}

use support::cli::Sandbox;
use support::engine::*;

fn tasks(sandbox: &Sandbox) -> Vec<serde_json::Value> {
    let list: serde_json::Value = serde_json::from_str(&sandbox.run(&["task", "list", "--json"]).ok()).unwrap();
    list.as_array().unwrap().clone()
}

fn statuses(sandbox: &Sandbox, id: &str) -> Vec<String> {
    let shown: serde_json::Value = serde_json::from_str(&sandbox.run(&["task", "show", id, "--json"]).ok()).unwrap();
    shown["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"]["type"] == "status_changed")
        .map(|e| format!("{} {}", e["kind"]["to"].as_str().unwrap(), e["kind"]["reason"].as_str().unwrap()))
        .collect()
}

#[test]
fn without_the_api_key_a_task_is_recorded_but_waits_queued_and_every_command_says_why() {
    let sandbox = Sandbox::new();
    pagination_repo(&sandbox);
    // The default provider is openai; the sandbox removes every *_API_KEY from the environment.
    let added = sandbox
        .run(&[
            "task",
            "add",
            "--title",
            "Fix page_count rounding for a partial last page",
            "--criteria",
            "page_count(11, 5) returns 3",
        ])
        .ok();
    assert!(added.contains("accepted by intake: queued"), "{added}");
    assert!(added.contains("cannot run yet: OPENAI_API_KEY is not set (provider `openai`)"), "{added}");
    assert!(added.contains("`ambidex models check --provider openai` or `ambidex doctor`"), "{added}");

    let id = tasks(&sandbox)[0]["id"].as_str().unwrap().to_owned();
    let run = sandbox.run(&["run", "--task", &id]);
    assert_eq!(run.code, 3, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("cannot run yet: OPENAI_API_KEY is not set"), "{}", run.stdout);
    assert!(run.stdout.contains("ambidex models check --provider openai"), "{}", run.stdout);

    let task = &tasks(&sandbox)[0];
    assert_eq!(task["status"], "queued");
    assert!(task["worktrees"].as_array().is_none_or(|w| w.is_empty()), "{task}");
    assert!(!sandbox.path("data/ambidex/worktrees").exists(), "no worktree directory was made");
    assert!(!statuses(&sandbox, &id).iter().any(|s| s.starts_with("running") || s.starts_with("failed")));

    let doctor = sandbox.run(&["doctor"]).ok();
    assert!(doctor.contains("✗ openai"), "{doctor}");
    assert!(doctor.contains("✗ tasks cannot run: OPENAI_API_KEY is not set (provider `openai`)"), "{doctor}");
    assert!(doctor.contains("next: export OPENAI_API_KEY"), "{doctor}");
    let json: serde_json::Value = serde_json::from_str(&sandbox.run(&["doctor", "--json"]).ok()).unwrap();
    assert_eq!(json["models"]["ready"], false);
    assert_eq!(json["models"]["problem"], "OPENAI_API_KEY is not set");

    // With the key set, the same provider is ready (nothing is sent: doctor only checks).
    let doctor = sandbox.run_with(&["doctor"], &[("OPENAI_API_KEY", "sk-test-0123456789abcdef")]).ok();
    assert!(doctor.contains("✓ openai") && doctor.contains("models            ✓"), "{doctor}");
}

#[test]
fn a_provider_that_does_not_answer_puts_the_task_back_in_the_queue_instead_of_failing_it() {
    let sandbox = Sandbox::new();
    pagination_repo(&sandbox);
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("providers.local.base_url=http://127.0.0.1:{port}/v1");
    let local = [
        "-c",
        "providers.local.kind=openai",
        "-c",
        &url,
        "-c",
        "providers.local.model=m",
        "-c",
        "providers.local.max_retries=0",
        "-c",
        "models.default_provider=local",
    ];
    let mut args: Vec<&str> = local.to_vec();
    args.extend([
        "run",
        "--title",
        "Fix page_count rounding for a partial last page",
        "--criteria",
        "page_count(11, 5) returns 3",
        "--risk",
        "low",
    ]);
    let run = sandbox.run(&args);
    assert_eq!(run.code, 3, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains(&format!("cannot connect to http://127.0.0.1:{port}/v1")), "{}", run.stdout);
    assert!(run.stdout.contains("ambidex models check --provider local"), "{}", run.stdout);

    let id = tasks(&sandbox)[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(tasks(&sandbox)[0]["status"], "queued");
    let history = statuses(&sandbox, &id);
    assert!(history.last().unwrap().starts_with("queued waiting for the model provider `local`"), "{history:?}");
    assert!(!history.iter().any(|s| s.starts_with("failed")), "{history:?}");

    // Run again: the stage starts again, and the task goes back to the queue again.
    let mut again: Vec<&str> = local.to_vec();
    again.extend(["run", "--task", &id]);
    let run = sandbox.run(&again);
    assert_eq!(run.code, 3, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(tasks(&sandbox)[0]["status"], "queued");
    assert!(!statuses(&sandbox, &id).iter().any(|s| s.starts_with("failed")));
}
