//! `ambidex audit log` prints tool calls with everything the audit trail promises.

// Test and benchmark code may unwrap and panic: that is how it reports a failure (see clippy.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support {
    pub mod cli;
}

use ambidex::protocol::{
    Actor, AgentIdentity, EventKind, NewEvent, PolicyRecord, Role, TaskId, TaskSpec, ToolCallId, ToolCallRecord, Track,
};
use ambidex::store::Store;
use support::cli::Sandbox;

#[test]
fn the_log_shows_identity_call_directory_status_sandbox_and_policy() {
    let sandbox = Sandbox::new();
    let task = TaskId::new();
    let agent = Actor::Agent(AgentIdentity { role: Role::Tester, track: Track::Right, candidate: None });
    let started = jiff::Timestamp::now();
    let record = ToolCallRecord {
        call: ToolCallId::new(),
        tool: "run".into(),
        arguments: serde_json::json!({"command": "cargo test -p pagination"}),
        workdir: "/state/worktrees/repo/abc/production".into(),
        workspace: Some("ambidex/abc/production".into()),
        ok: true,
        exit_code: Some(0),
        output: "exit code 0 (1.20 s, sandbox: bubblewrap)\ntest result: ok. 12 passed".into(),
        started_at: started,
        finished_at: started,
        sandbox: Some("bubblewrap".into()),
        policy: Some(PolicyRecord {
            verdict: "allow".into(),
            reasons: vec!["`cargo test -p pagination`: allowed by rule `cargo test`: tests run in the sandbox".into()],
            decision: None,
        }),
    };
    {
        let store = Store::open(&sandbox.store()).unwrap();
        store
            .append(vec![
                NewEvent::for_task(task, Actor::local_human(), EventKind::TaskCreated { spec: TaskSpec::titled("t") }),
                NewEvent::for_task(task, agent.clone(), EventKind::ToolCalled(Box::new(record))),
                NewEvent::for_task(
                    task,
                    agent,
                    EventKind::BudgetExceeded {
                        scope: "agent".into(),
                        budget: "tool_calls".into(),
                        limit: 40,
                        used: 41,
                    },
                ),
            ])
            .unwrap();
    }
    let log = sandbox.run(&["audit", "log", "--task", &task.short()]).ok();
    assert!(log.contains("right/tester") && log.contains("tool run `cargo test -p pagination`: exit 0"), "{log}");
    assert!(log.contains("in /state/worktrees/repo/abc/production (ambidex/abc/production)"), "{log}");
    assert!(log.contains("sandbox bubblewrap") && log.contains("policy allow"), "{log}");
    assert!(log.contains("│ test result: ok. 12 passed"), "{log}");
    assert!(log.contains("agent budget `tool_calls` exceeded: 41 of 40"), "{log}");

    let tools_only = sandbox.run(&["audit", "log", "--tools", "--json"]).ok();
    let lines: Vec<serde_json::Value> = tools_only.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["kind"]["type"], "tool_called");
    assert_eq!(lines[0]["kind"]["policy"]["verdict"], "allow");
    assert_eq!(lines[0]["actor"]["role"], "tester");
}
