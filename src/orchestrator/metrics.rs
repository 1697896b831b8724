//! The metric families folded from the event log. The fold keeps a few facts per task (its
//! class, playbook version, dates, send-backs, what the Left Hand did, what governance saw) and
//! takes events in order, so a caller that keeps it only feeds it the events since its last
//! look; a report is then a pass over the tasks, filtered by window and class.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use jiff::Timestamp;

use crate::protocol::{
    Actor, ClassMetrics, Decision, Delivery, Event, EventKind, ExhibitSource, ExhibitStatus, Exploration, Families,
    GateKind, Governance, MemoryStatus, MetricsFilter, MetricsReport, ModelRecord, PRODUCTION, PlaybookMetrics,
    Quality, StrategyRecord, TaskId, TaskKind, TaskStatus, Track, TrendPoint, ratio,
};
use crate::store::{StoreError, StoreReader};
use crate::tools::failure::{FailureClass, classify};

impl super::Engine {
    /// The metrics of the tasks `filter` selects, folded from the log (only the events since the
    /// last call are read).
    pub fn metrics(&self, filter: &MetricsFilter) -> Result<MetricsReport, StoreError> {
        let mut fold = super::lock(&self.metrics);
        fold.catch_up(&self.reader())?;
        Ok(fold.report(filter))
    }
}

/// Events read from the store at a time while catching up.
const CATCH_UP_PAGE: usize = 4096;

/// Weeks the trend shows.
const TREND_WEEKS: usize = 12;

/// What the metrics need of one task.
#[derive(Debug, Clone, Default)]
struct TaskFacts {
    created: Option<Timestamp>,
    class: Option<TaskKind>,
    playbook: Option<(String, String)>,
    status: Option<TaskStatus>,
    pr_ready_at: Option<Timestamp>,
    /// Whether every validation of the first attempt passed (`None`: none ran).
    first_attempt: Option<bool>,
    /// Whether a gate a human can send work back from opened.
    reviewable: bool,
    send_backs: u64,
    intervened: bool,
    explored: bool,
    cost: u64,
    left_cost: u64,
    /// Candidate label → strategy.
    strategies: BTreeMap<String, String>,
    /// Candidate label → the model or agent it ran on, when the matrix says.
    models: BTreeMap<String, String>,
    /// Whether production's work was kept (so its row won).
    kept_production: bool,
    /// Challengers whose work the delivered change took.
    adopted: HashSet<String>,
    reverted: bool,
    analyzed: u64,
    findings: u64,
    forbidden: u64,
    refused: u64,
    sandbox_denials: u64,
    budget_overruns: u64,
    breaker_trips: u64,
    secrets_redacted: u64,
    /// Whether the task's agents changed code files, and test files.
    code_changed: bool,
    tests_changed: bool,
}

impl TaskFacts {
    fn finished(&self) -> bool {
        matches!(
            self.status,
            Some(TaskStatus::PrReady | TaskStatus::Failed | TaskStatus::Cancelled | TaskStatus::Rejected)
        )
    }

    fn completed(&self) -> bool {
        self.pr_ready_at.is_some()
    }
}

/// How one finished task of a class ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClassOutcome {
    /// The task.
    pub task: TaskId,
    /// When it was created.
    pub created: Timestamp,
    /// Whether it reached a PR.
    pub completed: bool,
    /// Whether its change was later reverted.
    pub reverted: bool,
}

/// The fold: feed it every event once, in order; ask for reports at any time.
#[derive(Debug, Clone, Default)]
pub struct MetricsFold {
    tasks: HashMap<TaskId, TaskFacts>,
    /// The last event taken.
    pub seq: u64,
    pending_memory: HashSet<crate::protocol::MemoryId>,
    pending_exhibits: HashSet<crate::protocol::ExhibitId>,
}

impl MetricsFold {
    /// Takes one event (an event at or before the last one taken is ignored).
    pub fn apply(&mut self, event: &Event) {
        if event.seq <= self.seq {
            return;
        }
        self.seq = event.seq;
        match &event.kind {
            EventKind::MemoryChanged { entry, .. } => {
                if entry.status == MemoryStatus::Pending {
                    self.pending_memory.insert(entry.id);
                } else {
                    self.pending_memory.remove(&entry.id);
                }
            }
            EventKind::ExhibitChanged { exhibit, .. } => {
                if exhibit.status == ExhibitStatus::Pending {
                    self.pending_exhibits.insert(exhibit.id);
                } else {
                    self.pending_exhibits.remove(&exhibit.id);
                }
                // A delivered change the repository reverted is an escaped defect, whatever
                // the engineer later decides about the exhibit.
                if let ExhibitSource::Reverted { task, .. } = &exhibit.source {
                    self.tasks.entry(*task).or_default().reverted = true;
                }
            }
            _ => {}
        }
        let Some(task) = event.task else { return };
        let facts = self.tasks.entry(task).or_default();
        task_event(facts, event);
    }

    /// Takes every event the store holds after the last one taken.
    pub fn catch_up(&mut self, reader: &StoreReader) -> Result<(), StoreError> {
        loop {
            let before = self.seq;
            for event in &reader.events_after(self.seq, CATCH_UP_PAGE)? {
                self.apply(event);
            }
            if self.seq == before {
                return Ok(());
            }
        }
    }

    /// The tasks of `class` each strategy won (the delivered change took its candidate's work),
    /// oldest first.
    pub fn strategy_wins(&self, class: TaskKind) -> BTreeMap<String, Vec<TaskId>> {
        let mut tasks: Vec<(&TaskId, &TaskFacts)> =
            self.tasks.iter().filter(|(_, f)| f.class == Some(class) && f.completed()).collect();
        tasks.sort_by_key(|(id, f)| (f.created, **id));
        let mut wins: BTreeMap<String, Vec<TaskId>> = BTreeMap::new();
        for (id, facts) in tasks {
            let won: BTreeSet<&String> =
                facts.strategies.iter().filter(|(label, _)| facts.adopted.contains(*label)).map(|(_, s)| s).collect();
            for strategy in won {
                wins.entry(strategy.clone()).or_default().push(*id);
            }
        }
        wins
    }

    /// How the finished tasks of `class` ended, oldest first.
    pub fn outcomes(&self, class: TaskKind) -> Vec<ClassOutcome> {
        let mut tasks: Vec<ClassOutcome> = self
            .tasks
            .iter()
            .filter(|(_, f)| f.class == Some(class) && f.finished())
            .map(|(id, f)| ClassOutcome {
                task: *id,
                created: f.created.unwrap_or(Timestamp::UNIX_EPOCH),
                completed: f.completed(),
                reverted: f.reverted,
            })
            .collect();
        tasks.sort_by_key(|o| (o.created, o.task));
        tasks
    }

    /// The report over the tasks `filter` selects.
    pub fn report(&self, filter: &MetricsFilter) -> MetricsReport {
        let selected: Vec<&TaskFacts> = self
            .tasks
            .values()
            .filter(|t| t.created.is_some())
            .filter(|t| filter.since.is_none_or(|since| t.created.is_some_and(|c| c >= since)))
            .filter(|t| filter.class.is_none_or(|class| t.class == Some(class)))
            .collect();
        let mut overall = families(&selected);
        overall.governance.unreviewed_memory = self.pending_memory.len() as u64;
        overall.governance.unreviewed_exhibits = self.pending_exhibits.len() as u64;
        let by_class = TaskKind::ALL
            .iter()
            .filter_map(|&class| {
                let of_class: Vec<&TaskFacts> = selected.iter().copied().filter(|t| t.class == Some(class)).collect();
                (!of_class.is_empty()).then(|| ClassMetrics { class, families: families(&of_class) })
            })
            .collect();
        let mut versions: BTreeMap<&(String, String), Vec<&TaskFacts>> = BTreeMap::new();
        for facts in &selected {
            if let Some(version) = &facts.playbook {
                versions.entry(version).or_default().push(facts);
            }
        }
        let mut by_playbook: Vec<PlaybookMetrics> = versions
            .into_iter()
            .map(|((playbook, version), tasks)| PlaybookMetrics {
                playbook: playbook.clone(),
                version: version.clone(),
                families: families(&tasks),
            })
            .collect();
        by_playbook.sort_by_key(|p| std::cmp::Reverse(p.families.delivery.tasks));
        MetricsReport {
            filter: filter.clone(),
            overall,
            by_class,
            by_playbook,
            strategies: strategies(&selected),
            models: models(&selected),
            trend: trend(&selected),
        }
    }
}

/// Folds one event of a task into its facts.
fn task_event(facts: &mut TaskFacts, event: &Event) {
    let human = matches!(event.actor, Actor::Human { .. });
    match &event.kind {
        EventKind::TaskCreated { .. } => facts.created = Some(event.at),
        EventKind::TaskRevised { .. } | EventKind::Note { .. } | EventKind::Rewound { .. } if human => {
            facts.intervened = true;
        }
        EventKind::TaskTriaged(triage) => facts.class = Some(triage.kind),
        EventKind::PlaybookSelected { playbook, playbook_version, .. } => {
            facts.playbook = Some((playbook.clone(), playbook_version.clone()));
        }
        EventKind::StatusChanged { to, .. } => {
            facts.status = Some(*to);
            if *to == TaskStatus::PrReady && facts.pr_ready_at.is_none() {
                facts.pr_ready_at = Some(event.at);
            }
        }
        EventKind::ValidationRan { attempt: 1, result } => {
            facts.first_attempt = Some(facts.first_attempt.unwrap_or(true) && result.ok);
        }
        EventKind::GateOpened { kind, .. } => match kind {
            GateKind::Plan | GateKind::PullRequest | GateKind::Promotion => facts.reviewable = true,
            GateKind::Breaker | GateKind::Budget | GateKind::Escalation => facts.intervened = true,
            _ => {}
        },
        EventKind::GateDecided { decision: Decision::Reject | Decision::Stop, .. } if human => facts.intervened = true,
        EventKind::SentBack { .. } => {
            facts.send_backs += 1;
            facts.intervened = true;
        }
        EventKind::UsageRecorded { cost_micros, .. } => {
            facts.cost += cost_micros;
            if matches!(&event.actor, Actor::Agent(agent) if agent.track == Track::Left) {
                facts.left_cost += cost_micros;
            }
        }
        EventKind::ExplorationStarted { candidates, .. } => {
            facts.explored = true;
            for plan in candidates {
                facts.strategies.insert(plan.label.clone(), plan.strategy.clone());
            }
        }
        EventKind::CandidateFinished { candidate, strategy, .. } => {
            facts.explored = true;
            facts.strategies.insert(candidate.clone(), strategy.clone());
        }
        EventKind::CandidateAnalyzed { findings, .. } => {
            facts.analyzed += 1;
            facts.findings += findings.len() as u64;
        }
        EventKind::EvidenceRecorded { matrix, .. } => {
            facts.models = matrix
                .rows
                .iter()
                .filter(|row| !row.model.is_empty())
                .map(|r| (r.candidate.clone(), r.model.clone()))
                .collect();
        }
        EventKind::ChangeAdopted { choice, hunks, .. } => {
            facts.kept_production = choice == "keep production";
            facts.adopted = hunks.iter().map(|h| h.candidate.clone()).filter(|c| c != PRODUCTION).collect();
            for hunk in hunks {
                changed_file(facts, &hunk.file);
            }
        }
        EventKind::AgentMessage { text } => facts.secrets_redacted += redactions(text),
        EventKind::ToolCalled(record) => {
            facts.secrets_redacted += redactions(&record.output) + redactions(&record.arguments.to_string());
            if record.ok
                && matches!(record.tool.as_str(), "write_file" | "edit_file")
                && let Some(path) = record.arguments.get("path").and_then(serde_json::Value::as_str)
            {
                changed_file(facts, path);
            }
            let verdict = record.policy.as_ref().map(|p| (p.verdict.as_str(), p.decision));
            match verdict {
                Some(("forbid", _)) => facts.forbidden += 1,
                Some(("prompt", Some(Decision::Reject))) => facts.refused += 1,
                _ => {}
            }
            if record.sandbox.is_some()
                && !record.ok
                && classify(record.exit_code, &record.output) == FailureClass::SandboxDenied
            {
                facts.sandbox_denials += 1;
            }
        }
        EventKind::BudgetExceeded { .. } => facts.budget_overruns += 1,
        EventKind::BreakerTripped { .. } => facts.breaker_trips += 1,
        _ => {}
    }
}

/// How many secrets the redactor replaced in `text` (each leaves a `[REDACTED:<rule>]` marker).
fn redactions(text: &str) -> u64 {
    memchr::memmem::find_iter(text.as_bytes(), b"[REDACTED:").count() as u64
}

/// Records that a task's change touched `path` (a test file or a code file).
fn changed_file(facts: &mut TaskFacts, path: &str) {
    if crate::eval::is_test_path(path) {
        facts.tests_changed = true;
    } else if crate::context::Lang::of_path(std::path::Path::new(path)).is_some() {
        facts.code_changed = true;
    }
}

fn families(tasks: &[&TaskFacts]) -> Families {
    let count = |f: &dyn Fn(&TaskFacts) -> bool| tasks.iter().filter(|t| f(t)).count() as u64;
    let sum = |f: &dyn Fn(&TaskFacts) -> u64| tasks.iter().map(|t| f(t)).sum::<u64>();
    let total = tasks.len() as u64;
    let finished = count(&|t| t.finished());
    let completed = count(&|t| t.completed());
    let validated = count(&|t| t.first_attempt.is_some());
    let reviewable = count(&|t| t.reviewable);
    let explored = count(&|t| t.explored);
    let changed_outcome = count(&|t| t.explored && !t.adopted.is_empty());
    let escaped = count(&|t| t.reverted && t.completed());
    let analyzed = sum(&|t| t.analyzed);
    let left_cost = sum(&|t| t.left_cost);
    let mut to_pr: Vec<f64> = tasks
        .iter()
        .filter_map(|t| Some(t.pr_ready_at?.duration_since(t.created?).as_secs_f64()))
        .filter(|secs| *secs >= 0.0)
        .collect();
    to_pr.sort_by(f64::total_cmp);
    Families {
        delivery: Delivery {
            tasks: total,
            finished,
            completed,
            completion_rate: ratio(completed, finished),
            intake_to_pr_secs: median(&to_pr),
            first_attempt_pass_rate: ratio(count(&|t| t.first_attempt == Some(true)), validated),
            send_backs_per_task: (reviewable > 0).then(|| sum(&|t| t.send_backs) as f64 / reviewable as f64),
            intervention_rate: ratio(count(&|t| t.intervened), total),
        },
        quality: Quality {
            escaped_defects: escaped,
            rollback_rate: ratio(escaped, completed),
            findings_per_change: (analyzed > 0).then(|| sum(&|t| t.findings) as f64 / analyzed as f64),
            tested_change_rate: ratio(
                count(&|t| t.completed() && t.code_changed && t.tests_changed),
                count(&|t| t.completed() && t.code_changed),
            ),
        },
        exploration: Exploration {
            explored,
            changed_outcome,
            changed_outcome_rate: ratio(changed_outcome, explored),
            false_promotions: count(&|t| t.reverted && !t.adopted.is_empty()),
            cost_micros: left_cost,
            cost_per_useful_finding_micros: (changed_outcome > 0).then(|| left_cost / changed_outcome),
        },
        governance: Governance {
            forbidden_commands: sum(&|t| t.forbidden),
            refused_commands: sum(&|t| t.refused),
            sandbox_denials: sum(&|t| t.sandbox_denials),
            budget_overruns: sum(&|t| t.budget_overruns),
            breaker_trips: sum(&|t| t.breaker_trips),
            secrets_redacted: sum(&|t| t.secrets_redacted),
            unreviewed_memory: 0,
            unreviewed_exhibits: 0,
        },
    }
}

fn median(sorted: &[f64]) -> Option<f64> {
    match sorted.len() {
        0 => None,
        n if n % 2 == 1 => Some(sorted[n / 2]),
        n => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2.0),
    }
}

/// Each strategy's runs and wins per class, most runs first.
fn strategies(tasks: &[&TaskFacts]) -> Vec<StrategyRecord> {
    let mut records: BTreeMap<(TaskKind, String), (u64, u64)> = BTreeMap::new();
    for facts in tasks {
        let Some(class) = facts.class else { continue };
        // A strategy two candidates of one task ran counts once, as a win if either won.
        let mut ran: BTreeMap<&str, bool> = BTreeMap::new();
        for (label, strategy) in &facts.strategies {
            *ran.entry(strategy).or_default() |= facts.adopted.contains(label);
        }
        for (strategy, won) in ran {
            let record = records.entry((class, strategy.to_owned())).or_default();
            record.0 += 1;
            record.1 += u64::from(won);
        }
    }
    let mut records: Vec<StrategyRecord> = records
        .into_iter()
        .map(|((class, strategy), (runs, wins))| StrategyRecord { class, strategy, runs, wins })
        .collect();
    records.sort_by(|a, b| b.runs.cmp(&a.runs).then(a.class.cmp(&b.class)).then(a.strategy.cmp(&b.strategy)));
    records
}

/// Each model's (or ACP agent's) candidates and wins, most runs first.
fn models(tasks: &[&TaskFacts]) -> Vec<ModelRecord> {
    let mut records: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for facts in tasks {
        for (label, model) in &facts.models {
            let won = facts.adopted.contains(label) || (label == PRODUCTION && facts.kept_production);
            let record = records.entry(model.clone()).or_default();
            record.0 += 1;
            record.1 += u64::from(won);
        }
    }
    let mut records: Vec<ModelRecord> =
        records.into_iter().map(|(model, (runs, wins))| ModelRecord { model, runs, wins }).collect();
    records.sort_by(|a, b| b.runs.cmp(&a.runs).then(a.model.cmp(&b.model)));
    records
}

/// Tasks, completions, send-backs and cost by the week they were created in, the last
/// [`TREND_WEEKS`] weeks that had tasks.
fn trend(tasks: &[&TaskFacts]) -> Vec<TrendPoint> {
    let mut weeks: BTreeMap<jiff::civil::Date, TrendPoint> = BTreeMap::new();
    for facts in tasks {
        let Some(created) = facts.created else { continue };
        let day = created.to_zoned(jiff::tz::TimeZone::UTC).date();
        let monday =
            day.checked_sub(jiff::Span::new().days(i64::from(day.weekday().to_monday_zero_offset()))).unwrap_or(day);
        let point = weeks.entry(monday).or_insert_with(|| TrendPoint {
            week: monday.to_string(),
            tasks: 0,
            completed: 0,
            send_backs: 0,
            cost_micros: 0,
        });
        point.tasks += 1;
        point.completed += u64::from(facts.completed());
        point.send_backs += facts.send_backs;
        point.cost_micros += facts.cost;
    }
    let skip = weeks.len().saturating_sub(TREND_WEEKS);
    weeks.into_values().skip(skip).collect()
}

#[cfg(test)]
#[path = "metrics_tests.rs"]
pub(super) mod tests;
