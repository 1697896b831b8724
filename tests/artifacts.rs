//! Artifacts in an S3-compatible bucket, as a team configures them: a worker runs a scripted task
//! with `store.artifacts = "s3://…"` pointing at a fake S3 service on 127.0.0.1 (real HTTP, the
//! real `object_store` client signing every request). The validation log, the patch and the PR
//! document land in the bucket under their SHA-256, the events name them, `ambidex artifact get`
//! fetches them back and refuses bytes that changed; a bucket that is down costs the task nothing
//! but the artifacts, and the log says which were not kept.

// Test and benchmark code may unwrap and panic: that is how it reports a failure (see clippy.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support {
    pub mod cli;
    pub mod engine;
    pub mod fake_s3;
}

use serde_json::Value;
use support::cli::{Run, Sandbox};
use support::engine::{commit_all, script, scripted};
use support::fake_s3::FakeS3;

const KEY: &str = "AKIDTEAM";
const CREDENTIALS: [(&str, &str); 3] =
    [("AWS_ACCESS_KEY_ID", KEY), ("AWS_SECRET_ACCESS_KEY", "team-secret"), ("AWS_REGION", "us-east-1")];

/// A sandbox with one queued note task, and the flags that run it with artifacts in `bucket`.
fn one_task(bucket: &FakeS3) -> (Sandbox, Vec<String>) {
    let sandbox = Sandbox::new();
    sandbox.write("repo/README.md", "notes\n");
    commit_all(&sandbox.repo(), "start");
    let turns = include_str!("support/note_task.toml").replace("TAG", "n001");
    let mut flags = scripted(&script(&sandbox, "note", &turns));
    for setting in [
        "store.artifacts=s3://team-artifacts/ambidex".to_owned(),
        format!("store.artifacts_endpoint={}", bucket.endpoint()),
        "engine.challengers=0".to_owned(),
    ] {
        flags.extend(["-c".to_owned(), setting]);
    }
    let mut args: Vec<&str> = flags.iter().map(String::as_str).collect();
    args.extend(["task", "add", "--title", "Write note n001 into the notes folder", "--risk", "low"]);
    args.extend([
        "--kind",
        "documentation",
        "--criteria",
        "notes/n001.txt exists",
        "--validate",
        "test -f notes/n001.txt",
    ]);
    sandbox.run(&args).ok();
    (sandbox, flags)
}

fn run(sandbox: &Sandbox, flags: &[String], extra: &[&str], env: &[(&str, &str)]) -> Run {
    let mut args: Vec<&str> = flags.iter().map(String::as_str).collect();
    args.extend(extra);
    sandbox.run_with(&args, env)
}

fn work(sandbox: &Sandbox, flags: &[String]) {
    let out = run(sandbox, flags, &["worker", "--approve", "all", "--exit-when-idle"], &CREDENTIALS).ok();
    assert!(out.contains("PR ready") || out.contains("pr_ready") || out.contains("draft PR"), "{out}");
}

fn events(sandbox: &Sandbox, flags: &[String]) -> Vec<Value> {
    let log = run(sandbox, flags, &["audit", "log", "--all", "--json"], &[]).ok();
    log.lines().map(|line| serde_json::from_str(line).unwrap()).collect()
}

fn task_id(events: &[Value]) -> String {
    events.iter().find_map(|e| e["task"].as_str()).unwrap().to_owned()
}

#[test]
fn a_tasks_log_patch_and_pr_document_go_to_the_bucket_and_come_back_checked() {
    let bucket = FakeS3::start("team-artifacts", KEY);
    let (sandbox, flags) = one_task(&bucket);
    work(&sandbox, &flags);

    let id = task_id(&events(&sandbox, &flags));
    let listed = run(&sandbox, &flags, &["artifact", "list", &id, "--json"], &[]).ok();
    let artifacts: Vec<Value> = serde_json::from_str(&listed).unwrap();
    let of = |kind: &str| artifacts.iter().find(|a| a["kind"] == kind).unwrap_or_else(|| panic!("no {kind}: {listed}"));
    let (log, patch, document) = (of("log"), of("patch"), of("pr_document"));
    assert_eq!(log["name"], "validation attempt 1: test -f notes/n001.txt");

    // Each is in the bucket at its content address, and nowhere on this machine's disk.
    let objects = bucket.objects();
    for artifact in [log, patch, document] {
        let digest = artifact["digest"].as_str().unwrap();
        let key = format!("ambidex/sha256/{}/{digest}", &digest[..2]);
        let bytes = objects.get(&key).unwrap_or_else(|| panic!("{key} is not in the bucket: {:?}", objects.keys()));
        assert_eq!(bytes.len() as u64, artifact["bytes"].as_u64().unwrap());
    }
    assert!(!sandbox.path("data/ambidex/artifacts").exists(), "nothing was kept locally");

    // Fetched back by a digest's beginning, checked against it.
    let digest = patch["digest"].as_str().unwrap();
    let fetched = run(&sandbox, &flags, &["artifact", "get", &digest[..12]], &CREDENTIALS).ok();
    assert!(fetched.contains("+++ b/notes/n001.txt") && fetched.contains("+note n001"), "{fetched}");
    let doc_digest = document["digest"].as_str().unwrap();
    let out = sandbox.path("pr.md");
    let out_arg = out.display().to_string();
    run(&sandbox, &flags, &["artifact", "get", doc_digest, "-o", &out_arg], &CREDENTIALS).ok();
    assert!(std::fs::read_to_string(&out).unwrap().starts_with("# Note n001"));

    // Bytes changed in the bucket are refused, naming the digest the log keeps.
    bucket.corrupt(&format!("ambidex/sha256/{}/{doc_digest}", &doc_digest[..2]), b"# Note n001\n\nsomething else\n");
    let refused = run(&sandbox, &flags, &["artifact", "get", doc_digest], &CREDENTIALS).fails();
    assert!(refused.contains("is damaged") && refused.contains(doc_digest), "{refused}");

    // Credentials the bucket does not know: the error names the store and what to check.
    let wrong = [("AWS_ACCESS_KEY_ID", "AKIDOTHER"), ("AWS_SECRET_ACCESS_KEY", "x"), ("AWS_REGION", "us-east-1")];
    let denied = run(&sandbox, &flags, &["artifact", "get", digest], &wrong).fails();
    assert!(denied.contains("could not read from the artifact store s3://team-artifacts/ambidex"), "{denied}");
    assert!(denied.contains("AWS_ACCESS_KEY_ID") && !denied.contains("team-secret"), "{denied}");
}

#[test]
fn a_bucket_that_is_down_costs_the_task_nothing_but_its_artifacts() {
    let bucket = FakeS3::start("team-artifacts", KEY);
    bucket.set_down(true);
    let (sandbox, flags) = one_task(&bucket);
    work(&sandbox, &flags);

    let events = events(&sandbox, &flags);
    let reached = events.iter().any(|e| e["kind"]["type"] == "status_changed" && e["kind"]["to"] == "pr_ready");
    assert!(reached, "the task reached its PR");
    let stored: Vec<&Value> = events.iter().filter(|e| e["kind"]["type"] == "artifacts_stored").collect();
    assert!(!stored.is_empty());
    for event in &stored {
        assert_eq!(event["kind"]["artifacts"].as_array().map_or(0, Vec::len), 0, "nothing was stored: {event}");
        let failed = event["kind"]["failed"].as_array().unwrap();
        assert!(
            failed.iter().all(|f| f.as_str().unwrap().contains("could not look into the artifact store")),
            "{event}"
        );
    }
    let listed = run(&sandbox, &flags, &["artifact", "list", &task_id(&events)], &[]).ok();
    assert!(listed.contains("has kept no artifacts yet"), "{listed}");

    // `doctor` says so, and says it is fixed once the bucket answers again.
    let doctor = |sandbox: &Sandbox| {
        let out = run(sandbox, &flags, &["doctor"], &CREDENTIALS);
        out.stdout.lines().find(|line| line.contains("artifacts")).unwrap_or_default().to_owned()
    };
    let down = doctor(&sandbox);
    assert!(down.contains("✗ could not reach the artifact store s3://team-artifacts/ambidex"), "{down}");
    bucket.set_down(false);
    let up = doctor(&sandbox);
    assert!(up.ends_with("— ok") && up.contains("s3://team-artifacts/ambidex at http://127.0.0.1:"), "{up}");
}

#[test]
fn a_store_url_that_cannot_be_used_is_refused_before_any_work() {
    let sandbox = Sandbox::new();
    let err =
        sandbox.run(&["-c", "store.artifacts=gs://bucket/x", "task", "add", "--title", "Fix the page count"]).fails();
    assert!(err.contains("`gs` object stores are not supported") && err.contains("s3://BUCKET/PREFIX"), "{err}");
    // A repository cannot send artifacts (and the credentials with them) elsewhere.
    sandbox.write("repo/.ambidex/config.toml", "[store]\nartifacts = \"s3://elsewhere/x\"\n");
    let err = sandbox.run(&["task", "list"]).fails();
    assert!(err.contains("a repository cannot set `store`"), "{err}");
}
