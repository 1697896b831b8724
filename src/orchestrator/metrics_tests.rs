//! The fold over a small history written as the events' JSON: four tasks of two classes over two
//! weeks, one reverted, one explored with a challenger adopted, one stopped by a breaker.

use serde_json::json;

use super::*;
use crate::protocol::{AgentIdentity, Digest, EVENT_SCHEMA, Role};

const DAY: i64 = 86_400;

/// A history of events written as their JSON (the autonomy tests share it).
pub(crate) struct History {
    pub(crate) events: Vec<Event>,
}

impl History {
    pub(crate) fn new() -> History {
        History { events: Vec::new() }
    }

    pub(crate) fn at(&mut self, task: Option<TaskId>, second: i64, actor: Actor, kind: serde_json::Value) {
        let kind: EventKind = serde_json::from_value(kind).unwrap();
        self.events.push(Event {
            schema: EVENT_SCHEMA,
            seq: self.events.len() as u64 + 1,
            at: Timestamp::from_second(1_790_000_000 + second).unwrap(),
            task,
            actor,
            kind,
            prev_hash: Digest::GENESIS,
            hash: Digest::GENESIS,
        });
    }

    pub(crate) fn engine(&mut self, task: TaskId, second: i64, kind: serde_json::Value) {
        self.at(Some(task), second, Actor::Orchestrator, kind);
    }

    pub(crate) fn human(&mut self, task: TaskId, second: i64, kind: serde_json::Value) {
        self.at(Some(task), second, Actor::Human { name: None }, kind);
    }

    pub(crate) fn created(&mut self, task: TaskId, second: i64, class: &str) {
        self.engine(task, second, json!({"type": "task_created", "spec": {"title": "t", "repo": "/r"}}));
        self.engine(
            task,
            second + 1,
            json!({"type": "task_triaged", "kind": class, "risk": "low", "novelty": 0, "route": "right_only", "reasons": []}),
        );
        self.engine(
            task,
            second + 2,
            json!({"type": "playbook_selected", "playbook": "default", "playbook_version": "v1", "policy_version": "p1"}),
        );
    }

    pub(crate) fn status(&mut self, task: TaskId, second: i64, from: &str, to: &str) {
        self.engine(task, second, json!({"type": "status_changed", "from": from, "to": to, "reason": "r"}));
    }

    pub(crate) fn validation(&mut self, task: TaskId, second: i64, attempt: u32, ok: bool) {
        let result = json!({"command": "cargo test", "ok": ok, "duration_ms": 1, "summary": ""});
        self.engine(task, second, json!({"type": "validation_ran", "attempt": attempt, "result": result}));
    }

    pub(crate) fn gate(&mut self, task: TaskId, second: i64, kind: &str) {
        let gate = crate::protocol::GateId::new().to_string();
        self.engine(
            task,
            second,
            json!({"type": "gate_opened", "gate": gate, "kind": kind, "reason": "r", "allowed": ["approve"]}),
        );
    }

    pub(crate) fn fold(&self) -> MetricsFold {
        let mut fold = MetricsFold::default();
        for event in &self.events {
            fold.apply(event);
        }
        fold
    }
}

fn left(candidate: &str) -> Actor {
    Actor::Agent(AgentIdentity { role: Role::Implementer, track: Track::Left, candidate: Some(candidate.into()) })
}

/// T1 bug fix: plan gate, first validation fails, PR after 600 s, later reverted. T2 bug fix:
/// explored, c2's work adopted, sent back once, one forbidden command, PR after 1200 s. T3
/// feature: breaker and budget, failed. T4 feature, eight days later, still running.
fn history() -> (History, [TaskId; 4]) {
    let tasks = [TaskId::new(), TaskId::new(), TaskId::new(), TaskId::new()];
    let [t1, t2, t3, t4] = tasks;
    let mut h = History::new();
    h.created(t1, 0, "bug_fix");
    h.gate(t1, 10, "plan");
    h.validation(t1, 20, 1, false);
    h.validation(t1, 30, 2, true);
    h.status(t1, 600, "running", "pr_ready");

    h.created(t2, 0, "bug_fix");
    h.engine(
        t2,
        10,
        json!({"type": "exploration_started", "trigger": "route", "evidence": "", "candidates": [
            {"label": "c1", "strategy": "minimal_diff"}, {"label": "c2", "strategy": "alternative_design"}]}),
    );
    h.at(
        Some(t2),
        20,
        left("c2"),
        json!({"type": "usage_recorded", "input_tokens": 1, "output_tokens": 1, "cost_micros": 500}),
    );
    h.engine(t2, 25, json!({"type": "usage_recorded", "input_tokens": 1, "output_tokens": 1, "cost_micros": 100}));
    h.validation(t2, 30, 1, true);
    h.engine(
        t2,
        40,
        json!({"type": "candidate_analyzed", "candidate": "c2", "findings": [
            {"severity": "minor", "category": "correctness", "message": "a"},
            {"severity": "major", "category": "rollback", "message": "b"}]}),
    );
    h.engine(
        t2,
        50,
        json!({"type": "change_adopted", "choice": "adopt c2", "matrix_hash": Digest::GENESIS.to_string(), "hunks": [
            {"candidate": "c2", "file": "src/lib.rs", "hunk": "*"}]}),
    );
    h.gate(t2, 60, "pull_request");
    let gate = crate::protocol::GateId::new().to_string();
    h.human(
        t2,
        70,
        json!({"type": "sent_back", "gate": gate, "gate_kind": "pull_request", "to": "implement", "note": "n"}),
    );
    let forbidden = json!({"type": "tool_called", "call": crate::protocol::ToolCallId::new().to_string(),
        "tool": "run_command", "arguments": {}, "workdir": "/w", "ok": false, "output": "refused",
        "started_at": "2026-09-21T00:00:00Z", "finished_at": "2026-09-21T00:00:01Z",
        "policy": {"verdict": "forbid", "reasons": ["rm -rf"]}});
    h.engine(t2, 80, forbidden);
    h.status(t2, 1200, "running", "pr_ready");

    h.created(t3, 100, "feature");
    h.engine(t3, 110, json!({"type": "breaker_tripped", "breaker": "repeated_edits", "evidence": "e"}));
    h.gate(t3, 111, "breaker");
    h.engine(
        t3,
        120,
        json!({"type": "budget_exceeded", "scope": "task", "budget": "tool_calls", "limit": 1, "used": 2}),
    );
    h.status(t3, 130, "running", "failed");

    h.created(t4, 8 * DAY, "feature");
    h.status(t4, 8 * DAY + 5, "queued", "running");
    (h, tasks)
}

#[test]
fn the_four_families_come_from_the_events() {
    let (mut h, [t1, ..]) = history();
    let exhibit = json!({"type": "exhibit_changed", "change": "proposed", "exhibit": {
        "id": crate::protocol::ExhibitId::new().to_string(), "repo": "/r", "title": "reverted", "base": "abc",
        "reproducer": {}, "source": {"type": "reverted", "task": t1.to_string(), "revert": "def"},
        "status": "pending", "created": "2026-09-21T00:00:00Z"}});
    h.engine(t1, 9 * DAY, exhibit);
    let memory = json!({"type": "memory_changed", "change": "proposed", "entry": {
        "id": crate::protocol::MemoryId::new().to_string(), "repo": "/r", "kind": "convention", "text": "x",
        "source": {"type": "observed", "task": TaskId::new().to_string(), "what": "w"}, "status": "pending", "created": "2026-09-21T00:00:00Z",
        "confirmed": "2026-09-21T00:00:00Z"}});
    h.at(None, 9 * DAY, Actor::Orchestrator, memory);
    let report = h.fold().report(&MetricsFilter::default());

    let d = &report.overall.delivery;
    assert_eq!((d.tasks, d.finished, d.completed), (4, 3, 2));
    assert_eq!(d.completion_rate, Some(2.0 / 3.0));
    assert_eq!(d.intake_to_pr_secs, Some(900.0), "the median of 600 and 1200 s");
    assert_eq!(d.first_attempt_pass_rate, Some(0.5), "T1's first attempt failed, T2's passed");
    assert_eq!(d.send_backs_per_task, Some(0.5), "one send-back over two tasks that met a plan or PR gate");
    assert_eq!(d.intervention_rate, Some(0.5), "T2 was sent back, T3 stopped at a breaker");

    let q = &report.overall.quality;
    assert_eq!((q.escaped_defects, q.rollback_rate), (1, Some(0.5)));
    assert_eq!(q.findings_per_change, Some(2.0));

    let e = &report.overall.exploration;
    assert_eq!((e.explored, e.changed_outcome, e.false_promotions, e.cost_micros), (1, 1, 0, 500));
    assert_eq!(e.cost_per_useful_finding_micros, Some(500));

    let g = &report.overall.governance;
    assert_eq!((g.forbidden_commands, g.breaker_trips, g.budget_overruns), (1, 1, 1));
    assert_eq!((g.unreviewed_memory, g.unreviewed_exhibits), (1, 1));

    let classes: Vec<(TaskKind, u64)> = report.by_class.iter().map(|c| (c.class, c.families.delivery.tasks)).collect();
    assert_eq!(classes, [(TaskKind::BugFix, 2), (TaskKind::Feature, 2)]);
    assert_eq!(report.by_playbook.len(), 1);
    assert_eq!(report.by_playbook[0].families.delivery.tasks, 4);
    let strategies: Vec<(&str, u64, u64)> =
        report.strategies.iter().map(|s| (s.strategy.as_str(), s.runs, s.wins)).collect();
    assert_eq!(strategies, [("alternative_design", 1, 1), ("minimal_diff", 1, 0)]);
    let weeks: Vec<(u64, u64)> = report.trend.iter().map(|w| (w.tasks, w.completed)).collect();
    assert_eq!(weeks, [(3, 2), (1, 0)]);
}

/// A tool call of `tool` with `arguments` that showed the model `output`.
fn tool(h: &mut History, task: TaskId, second: i64, tool: &str, arguments: serde_json::Value, output: &str) {
    let call = json!({"type": "tool_called", "call": crate::protocol::ToolCallId::new().to_string(), "tool": tool,
        "arguments": arguments, "workdir": "/w", "ok": true, "output": output,
        "started_at": "2026-09-21T00:00:00Z", "finished_at": "2026-09-21T00:00:01Z"});
    h.engine(task, second, call);
}

#[test]
fn changes_with_tests_and_redacted_secrets_are_counted() {
    let (mut h, [t1, t2, ..]) = history();
    tool(&mut h, t1, 100, "edit_file", json!({"path": "src/page.rs", "old": "a", "new": "b"}), "edited");
    tool(&mut h, t1, 101, "write_file", json!({"path": "tests/page.rs", "content": "x"}), "written");
    tool(&mut h, t2, 100, "edit_file", json!({"path": "src/lib.rs", "old": "a", "new": "b"}), "edited");
    tool(&mut h, t2, 101, "edit_file", json!({"path": "README.md", "old": "a", "new": "b"}), "edited");
    let env = "OPENAI_API_KEY=[REDACTED:OPENAI_API_KEY]\nTOKEN=[REDACTED:github_token]";
    tool(&mut h, t2, 102, "run_command", json!({"command": "env"}), env);
    h.engine(t2, 103, json!({"type": "agent_message", "text": "the key is [REDACTED:OPENAI_API_KEY]"}));
    let report = h.fold().report(&MetricsFilter::default());
    assert_eq!(report.overall.quality.tested_change_rate, Some(0.5), "T1 changed tests with its code, T2 did not");
    assert_eq!(report.overall.governance.secrets_redacted, 3);
}

#[test]
fn a_window_and_a_class_select_the_tasks() {
    let (h, _) = history();
    let fold = h.fold();
    let features = fold.report(&MetricsFilter { since: None, class: Some(TaskKind::Feature) });
    assert_eq!(features.overall.delivery.tasks, 2);
    assert_eq!(features.overall.delivery.completion_rate, Some(0.0));
    assert_eq!(features.overall.delivery.intake_to_pr_secs, None, "no PR: no time to one");
    let since = Timestamp::from_second(1_790_000_000 + 7 * DAY).unwrap();
    let late = fold.report(&MetricsFilter { since: Some(since), class: None });
    assert_eq!(late.overall.delivery.tasks, 1);
    assert_eq!(late.overall.delivery.completion_rate, None, "nothing finished: no rate, not zero");
}

#[test]
fn an_event_taken_twice_counts_once() {
    let (h, _) = history();
    let mut fold = h.fold();
    let before = fold.report(&MetricsFilter::default());
    for event in &h.events {
        fold.apply(event);
    }
    assert_eq!(fold.report(&MetricsFilter::default()), before);
}

#[test]
fn candidates_count_wins_per_model_or_agent_when_they_ran_on_different_ones() {
    let (mut h, [t1, t2, ..]) = history();
    let matrix = |models: [(&str, &str); 2]| {
        let rows: Vec<serde_json::Value> =
            models.iter().map(|(label, model)| json!({"candidate": label, "strategy": "s", "model": model})).collect();
        json!({"type": "evidence_recorded", "matrix": {"rows": rows}, "hash": Digest::GENESIS.to_string()})
    };
    // T2 adopted c2 (see `history`); its matrix was recorded before the adoption.
    h.engine(t2, 45, matrix([("production", "openai/gpt-5"), ("c2", "acp:claude")]));
    h.engine(t1, 45, matrix([("production", "openai/gpt-5"), ("c1", "acp:claude")]));
    h.engine(
        t1,
        50,
        json!({"type": "change_adopted", "choice": "keep production", "matrix_hash": Digest::GENESIS.to_string(), "hunks": []}),
    );
    let report = h.fold().report(&MetricsFilter::default());
    let models: Vec<(&str, u64, u64)> = report.models.iter().map(|m| (m.model.as_str(), m.runs, m.wins)).collect();
    assert_eq!(models, [("acp:claude", 2, 1), ("openai/gpt-5", 2, 1)]);
}
