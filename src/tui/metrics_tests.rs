//! The Metrics tab: the report read through the read port when the tab comes into view and again
//! after a task finishes, and its drawing at 80×24 and 200×60 (the figures, the weekly trend, the
//! tables).

use crossterm::event::{KeyCode, KeyEvent};

use super::app::{AppState, Effect, Msg, Pane, Tab};
use super::render_tests::{TASK, busy_state, draw, event};
use crate::protocol::{
    Actor, ClassMetrics, Delivery, EventKind, Exploration, Families, Governance, MetricsFilter, MetricsReport,
    PlaybookMetrics, Quality, StrategyRecord, TaskId, TaskKind, TaskStatus, TrendPoint,
};

fn families(tasks: u64, finished: u64, completed: u64, escaped: u64) -> Families {
    Families {
        delivery: Delivery {
            tasks,
            finished,
            completed,
            completion_rate: crate::protocol::ratio(completed, finished),
            intake_to_pr_secs: Some(7_830.0),
            first_attempt_pass_rate: Some(0.71),
            send_backs_per_task: Some(0.4),
            intervention_rate: Some(0.33),
        },
        quality: Quality {
            escaped_defects: escaped,
            rollback_rate: crate::protocol::ratio(escaped, completed),
            findings_per_change: Some(0.3),
            tested_change_rate: Some(0.86),
        },
        exploration: Exploration {
            explored: 5,
            changed_outcome: 2,
            changed_outcome_rate: Some(0.4),
            false_promotions: 0,
            cost_micros: 3_100_000,
            cost_per_useful_finding_micros: Some(1_550_000),
        },
        governance: Governance {
            forbidden_commands: 2,
            refused_commands: 1,
            sandbox_denials: 0,
            budget_overruns: 1,
            breaker_trips: 1,
            secrets_redacted: 3,
            unreviewed_memory: 2,
            unreviewed_exhibits: 1,
        },
    }
}

fn week(week: &str, tasks: u64, completed: u64, send_backs: u64, cost_micros: u64) -> TrendPoint {
    TrendPoint { week: week.into(), tasks, completed, send_backs, cost_micros }
}

/// Twelve weeks of a team getting the hang of it: more tasks, fewer send-backs.
pub(super) fn report() -> MetricsReport {
    MetricsReport {
        filter: MetricsFilter::default(),
        overall: families(42, 36, 28, 1),
        by_class: vec![
            ClassMetrics { class: TaskKind::BugFix, families: families(20, 18, 15, 1) },
            ClassMetrics { class: TaskKind::Feature, families: families(12, 10, 7, 0) },
            ClassMetrics { class: TaskKind::DependencyUpdate, families: families(10, 8, 6, 0) },
            ClassMetrics { class: TaskKind::Migration, families: families(0, 0, 0, 0) },
        ],
        by_playbook: vec![
            PlaybookMetrics {
                playbook: "right_hand".into(),
                version: "9f8e7d6c5b4a39281706f5e4d3c2b1a0".into(),
                families: families(30, 26, 20, 1),
            },
            PlaybookMetrics {
                playbook: "bug_fix_minimal_diff".into(),
                version: "a1b2c3d4e5f60718293a4b5c6d7e8f90".into(),
                families: families(12, 10, 8, 0),
            },
        ],
        models: Vec::new(),
        strategies: vec![
            StrategyRecord { class: TaskKind::BugFix, strategy: "minimal_diff".into(), runs: 9, wins: 6 },
            StrategyRecord { class: TaskKind::Feature, strategy: "alternative_design".into(), runs: 5, wins: 1 },
        ],
        trend: vec![
            week("2026-10-19", 1, 0, 2, 410_000),
            week("2026-10-26", 2, 1, 3, 820_000),
            week("2026-11-02", 2, 1, 2, 760_000),
            week("2026-11-09", 3, 2, 2, 1_210_000),
            week("2026-11-16", 3, 2, 1, 1_040_000),
            week("2026-11-23", 4, 3, 2, 1_650_000),
            week("2026-11-30", 3, 3, 1, 1_120_000),
            week("2026-12-07", 5, 4, 1, 2_010_000),
            week("2026-12-14", 4, 4, 0, 1_480_000),
            week("2026-12-21", 0, 0, 0, 0),
            week("2026-12-28", 6, 5, 1, 2_330_000),
            week("2027-01-04", 9, 3, 0, 4_100_000),
        ],
    }
}

fn metrics_state() -> AppState {
    let mut state = busy_state();
    state.focus = Pane::Lower;
    state.tab = Tab::Metrics;
    // The tab comes into view (the read is asked for), then the answer.
    state.update(Msg::Tick(state.now));
    state.update(Msg::Metrics(Ok(Box::new(report()))));
    state.effects.clear();
    state
}

fn key(code: KeyCode) -> Msg {
    Msg::Key(KeyEvent::from(code))
}

#[test]
fn the_metrics_tab_shows_the_families_the_trend_and_the_tables() {
    let mut state = metrics_state();
    insta::assert_snapshot!("metrics_tab_80x24", draw(&state, 80, 24));
    insta::assert_snapshot!("metrics_tab_200x60", draw(&state, 200, 60));
    state.size = (80, 24);
    for _ in 0..14 {
        state.update(key(KeyCode::Char('j')));
    }
    insta::assert_snapshot!("metrics_tab_scrolled_80x24", draw(&state, 80, 24));
    state.update(key(KeyCode::Char('G')));
    let bottom = state.views.metrics_scroll;
    state.update(key(KeyCode::Char('j')));
    assert_eq!(state.views.metrics_scroll, bottom, "scrolling stops at the end of the text");
    assert!(bottom > 14);
}

#[test]
fn the_metrics_tab_says_what_it_is_waiting_for() {
    let mut state = busy_state();
    state.focus = Pane::Lower;
    state.tab = Tab::Metrics;
    state.update(Msg::Tick(state.now));
    assert!(state.insights.metrics.loading);
    insta::assert_snapshot!("metrics_tab_reading_80x24", draw(&state, 80, 24));
    state.update(Msg::Metrics(Ok(Box::new(MetricsReport::default()))));
    insta::assert_snapshot!("metrics_tab_empty_80x24", draw(&state, 80, 24));
}

#[test]
fn opening_the_tab_reads_the_report_once_and_a_finished_task_reads_it_again() {
    let mut state = busy_state();
    state.effects.clear();
    state.update(key(KeyCode::Char('7')));
    assert_eq!(state.take_effects(), vec![Effect::LoadMetrics(MetricsFilter::default())]);
    state.update(key(KeyCode::Char('j')));
    assert!(state.take_effects().is_empty(), "one read at a time");
    state.update(Msg::Metrics(Ok(Box::new(report()))));
    assert_eq!(state.insights.metrics.value, Some(report()));
    assert!(state.take_effects().is_empty(), "the answer is fresh");

    let finished = EventKind::StatusChanged { from: TaskStatus::Running, to: TaskStatus::PrReady, reason: "pr".into() };
    state.update(Msg::Engine(event(900, TaskId::from_u128(TASK), Actor::Orchestrator, finished)));
    assert_eq!(state.take_effects(), vec![Effect::LoadMetrics(MetricsFilter::default())], "a finished task counts");

    state.update(Msg::Metrics(Err("the store is busy".into())));
    assert_eq!(state.insights.metrics.value, Some(report()), "a failed read keeps the last report");
    assert_eq!(state.insights.metrics.error.as_deref(), Some("the store is busy"));
    insta::assert_snapshot!("metrics_tab_read_failed_80x24", draw(&state, 80, 24));

    state.update(key(KeyCode::Char('R')));
    assert_eq!(state.take_effects(), vec![Effect::LoadMetrics(MetricsFilter::default())], "R reads it again");
    state.update(Msg::Metrics(Ok(Box::new(report()))));
    assert_eq!(state.insights.metrics.error, None);
}

#[test]
fn the_report_is_read_only_while_the_tab_is_in_view() {
    let mut state = metrics_state();
    state.update(key(KeyCode::Char('1')));
    let running = EventKind::StatusChanged { from: TaskStatus::Queued, to: TaskStatus::Running, reason: "go".into() };
    state.update(Msg::Engine(event(900, TaskId::from_u128(TASK), Actor::Orchestrator, running)));
    assert!(state.take_effects().iter().all(|e| !matches!(e, Effect::LoadMetrics(_))), "a start changes nothing");
    let failed = EventKind::StatusChanged { from: TaskStatus::Running, to: TaskStatus::Failed, reason: "no".into() };
    state.update(Msg::Engine(event(901, TaskId::from_u128(TASK), Actor::Orchestrator, failed)));
    assert!(
        state.take_effects().iter().all(|e| !matches!(e, Effect::LoadMetrics(_))),
        "the Diff tab is in view: nothing is read"
    );
    state.update(key(KeyCode::Char('7')));
    assert_eq!(state.take_effects(), vec![Effect::LoadMetrics(MetricsFilter::default())]);
}
