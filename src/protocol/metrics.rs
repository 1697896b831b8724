//! The four metric families of the reference architecture (delivery, quality, exploration,
//! governance) as the engine reports them: over every task of a window, per task class, per
//! playbook version, the Left Hand's strategies by class, and a weekly trend. A ratio is `None`
//! when nothing it divides by happened: no data is not zero.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::task::TaskKind;

/// Which tasks a report covers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetricsFilter {
    /// Tasks created at or after this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<Timestamp>,
    /// Tasks of this class only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<TaskKind>,
}

/// How work gets delivered.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    /// Tasks in the set.
    pub tasks: u64,
    /// Tasks that ended (a PR, a failure, a cancellation, a refusal).
    pub finished: u64,
    /// Tasks that reached a PR.
    pub completed: u64,
    /// `completed / finished`.
    pub completion_rate: Option<f64>,
    /// The median time from intake to the PR, in seconds.
    pub intake_to_pr_secs: Option<f64>,
    /// Of the tasks whose change was validated, the share whose first attempt passed every
    /// validation command.
    pub first_attempt_pass_rate: Option<f64>,
    /// Send-backs (review cycles) per task that reached a gate a human could send back from.
    pub send_backs_per_task: Option<f64>,
    /// The share of tasks a human had to step into: a send-back, a rewind, a note, a revision, a
    /// stop, or a breaker's or budget's gate.
    pub intervention_rate: Option<f64>,
}

/// How good what was delivered turned out.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Quality {
    /// Escaped defects: tasks whose delivered change the repository later reverted.
    pub escaped_defects: u64,
    /// `escaped_defects / completed`.
    pub rollback_rate: Option<f64>,
    /// Findings (security, rollback risk, hidden regression) per change the failure analyst
    /// reviewed.
    pub findings_per_change: Option<f64>,
    /// Of the delivered changes that changed code, the share that changed tests too: changed
    /// behaviour covered by tests.
    #[serde(default)]
    pub tested_change_rate: Option<f64>,
}

/// What the Left Hand's exploration was worth.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Exploration {
    /// Tasks the Left Hand explored.
    pub explored: u64,
    /// Explored tasks whose delivered change took a challenger's work.
    pub changed_outcome: u64,
    /// `changed_outcome / explored`.
    pub changed_outcome_rate: Option<f64>,
    /// Tasks that adopted a challenger's work and were later reverted.
    pub false_promotions: u64,
    /// What the Left Hand's model calls cost, in micro-dollars.
    pub cost_micros: u64,
    /// `cost_micros / changed_outcome`.
    pub cost_per_useful_finding_micros: Option<u64>,
}

/// Whether the rules held.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Governance {
    /// Commands the policy forbade (attempts to do what policy does not allow).
    pub forbidden_commands: u64,
    /// Commands the policy asked about that a human refused.
    pub refused_commands: u64,
    /// Commands the sandbox stopped.
    pub sandbox_denials: u64,
    /// Budgets that ran out.
    pub budget_overruns: u64,
    /// Circuit breakers that tripped.
    pub breaker_trips: u64,
    /// Secrets redacted from what the models were shown (tool output and arguments) and from
    /// what they wrote.
    #[serde(default)]
    pub secrets_redacted: u64,
    /// Memory proposals waiting for review now (not windowed).
    pub unreviewed_memory: u64,
    /// Museum proposals waiting for review now (not windowed).
    pub unreviewed_exhibits: u64,
}

/// The four families over one set of tasks.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Families {
    /// Delivery.
    pub delivery: Delivery,
    /// Quality.
    pub quality: Quality,
    /// Exploration.
    pub exploration: Exploration,
    /// Governance.
    pub governance: Governance,
}

/// The families of one task class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassMetrics {
    /// The class.
    pub class: TaskKind,
    /// Its metrics.
    #[serde(flatten)]
    pub families: Families,
}

/// The families of the tasks that ran with one playbook version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlaybookMetrics {
    /// The playbook's name.
    pub playbook: String,
    /// Its content hash.
    pub version: String,
    /// Its metrics.
    #[serde(flatten)]
    pub families: Families,
}

/// How a Left Hand strategy did on one class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StrategyRecord {
    /// The class.
    pub class: TaskKind,
    /// The strategy.
    pub strategy: String,
    /// Tasks it ran on.
    pub runs: u64,
    /// Tasks whose delivered change took its work.
    pub wins: u64,
}

/// How the candidates one model (or ACP agent) played did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelRecord {
    /// The provider and model (`openai/gpt-5`), or the agent (`acp:claude`).
    pub model: String,
    /// Candidates it played (production's included).
    pub runs: u64,
    /// Of those, the ones whose work the delivered change took.
    pub wins: u64,
}

/// One week of the trend.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrendPoint {
    /// The week's first day (Monday, UTC), `YYYY-MM-DD`.
    pub week: String,
    /// Tasks created that week.
    pub tasks: u64,
    /// Of them, those that reached a PR.
    pub completed: u64,
    /// Send-backs on them.
    pub send_backs: u64,
    /// What they cost, in micro-dollars.
    pub cost_micros: u64,
}

/// The report.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MetricsReport {
    /// Which tasks it covers.
    pub filter: MetricsFilter,
    /// Every task it covers.
    pub overall: Families,
    /// Per class, in the classes' order.
    pub by_class: Vec<ClassMetrics>,
    /// Per playbook version, most tasks first.
    pub by_playbook: Vec<PlaybookMetrics>,
    /// The Left Hand's strategies by class, most runs first.
    pub strategies: Vec<StrategyRecord>,
    /// The models and ACP agents candidates ran on, when explored tasks' candidates ran on
    /// different ones (`engine.challengers`), most runs first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub models: Vec<ModelRecord>,
    /// Week by week, oldest first, the last twelve weeks with tasks.
    pub trend: Vec<TrendPoint>,
}

/// `part / whole`, or `None` when `whole` is zero.
pub fn ratio(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}
