use std::sync::Mutex;

use super::*;
use crate::protocol::TaskId;

fn hook(event: HookEvent, command: &str, timeout_secs: u64) -> HookConfig {
    HookConfig { event, command: command.to_owned(), tools: Vec::new(), timeout_secs }
}

#[test]
fn a_hook_reads_its_event_on_stdin_and_its_output_and_exit_code_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    let ran = run(
        &hook(HookEvent::GateOpened, "sed -e 's/.*\"gate\":\"\\([^\"]*\\)\".*/\\1/'; exit 3", 10),
        &serde_json::json!({ "gate": "g-42" }),
        dir.path(),
    );
    assert_eq!(ran.exit_code, Some(3));
    assert_eq!(ran.output.trim(), "g-42");
    assert!(!ran.ok() && !ran.timed_out);
}

#[test]
fn a_slow_hook_is_killed_at_its_timeout_with_what_it_started() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("survived");
    let command = format!("(sleep 3; touch {}) & sleep 30", marker.display());
    let started = Instant::now();
    let ran = run(&hook(HookEvent::PreToolCall, &command, 1), &serde_json::json!({}), dir.path());
    assert!(ran.timed_out && ran.exit_code.is_none(), "{ran:?}");
    assert!(started.elapsed() < Duration::from_secs(20), "the wait ended at the timeout");
    std::thread::sleep(Duration::from_secs(4));
    assert!(!marker.exists(), "the hook's background child died with it");
}

#[test]
fn a_hook_that_never_reads_stdin_gets_a_large_payload_without_blocking() {
    let dir = tempfile::tempdir().unwrap();
    let big = "x".repeat(1 << 20);
    let ran = run(&hook(HookEvent::TaskCreated, "echo done", 10), &serde_json::json!({ "big": big }), dir.path());
    assert_eq!((ran.exit_code, ran.output.trim()), (Some(0), "done"));
}

#[test]
fn output_is_capped_and_redacted_in_the_audit_event() {
    let dir = tempfile::tempdir().unwrap();
    let config =
        hook(HookEvent::TaskCreated, "echo token tok-abcdefgh-123456; head -c 100000 /dev/zero | tr '\\0' y", 10);
    let ran = run(&config, &serde_json::json!({}), dir.path());
    assert!(ran.output.len() <= OUTPUT_CAP);
    let redactor = Redactor::new([("HOOK_TOKEN".to_owned(), "tok-abcdefgh-123456".to_owned())]);
    let EventKind::HookRan { output, hook, .. } = ran.audited(&config, &redactor, false) else { panic!() };
    assert_eq!(hook, "task_created");
    assert!(output.contains("[REDACTED:HOOK_TOKEN]") && !output.contains("tok-abcdefgh"), "{output}");
}

#[test]
fn queued_lifecycle_events_run_their_hooks_in_order_even_when_the_engine_closes_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let hooks = [
        hook(HookEvent::TaskCreated, &format!("echo created >> {}", log.display()), 10),
        hook(HookEvent::GateOpened, &format!("echo gate >> {}", log.display()), 10),
        hook(HookEvent::PreToolCall, "exit 1", 10),
    ];
    let (mut lifecycle, feed) = LifecycleHooks::new(&hooks).unwrap();
    let recorded = Arc::new(Mutex::new(Vec::new()));
    let sink = recorded.clone();
    lifecycle
        .start(dir.path().to_owned(), Arc::new(Redactor::new(Vec::new())), move |events| {
            sink.lock().unwrap().extend(events);
        })
        .unwrap();
    let task = TaskId::new();
    let event = |seq: u64, kind: EventKind| {
        Arc::new(Event {
            schema: 1,
            seq,
            at: jiff::Timestamp::now(),
            task: Some(task),
            actor: Actor::Orchestrator,
            kind,
            prev_hash: crate::protocol::Digest::default(),
            hash: crate::protocol::Digest::default(),
        })
    };
    feed.offer(&event(
        1,
        EventKind::TaskCreated { spec: serde_json::from_value(serde_json::json!({ "title": "t" })).unwrap() },
    ));
    feed.offer(&event(2, EventKind::Note { text: "no hook runs at a note".into() }));
    drop(lifecycle);
    assert_eq!(std::fs::read_to_string(&log).unwrap(), "created\n");
    let recorded = recorded.lock().unwrap();
    assert_eq!(recorded.len(), 1);
    assert!(matches!(&recorded[0].kind, EventKind::HookRan { hook, exit_code: Some(0), .. } if hook == "task_created"));
}

#[test]
fn tool_hooks_apply_to_the_tools_they_name() {
    let mut only_run = hook(HookEvent::PreToolCall, "true", 10);
    only_run.tools = vec!["run".into()];
    let every = hook(HookEvent::PreToolCall, "true", 10);
    let after = hook(HookEvent::PostToolCall, "true", 10);
    let hooks = [only_run, every, after];
    assert_eq!(for_tool(&hooks, HookEvent::PreToolCall, "run").count(), 2);
    assert_eq!(for_tool(&hooks, HookEvent::PreToolCall, "read_file").count(), 1);
    assert_eq!(for_tool(&hooks, HookEvent::PostToolCall, "read_file").count(), 1);
}
