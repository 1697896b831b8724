//! `[learning]` and `[autonomy]`: when the Left Hand's wins become a playbook proposal, what a
//! shadow evaluation replays, and the thresholds a task class's metrics must pass before Ambidex
//! proposes relaxing its gates (and the regressions that tighten them again at once).

use serde::Deserialize;

/// `[learning]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LearningRules {
    /// A challenger strategy that wins the promotion gate on this many tasks of one class is
    /// proposed as that class's production playbook.
    pub proposal_wins: u32,
    /// Past tasks of the class a shadow evaluation replays besides the museum's exhibits.
    pub held_out_tasks: u32,
    /// The budget of one replayed case, in US dollars, shown before an evaluation starts.
    pub replay_budget_usd: f64,
}

/// `[autonomy]`: the thresholds over a window a class's metrics must pass before the next level
/// is proposed (never granted without a human).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AutonomyRules {
    /// The window, in days.
    pub window_days: u32,
    /// Tasks of the class that finished in the window.
    pub min_tasks: u64,
    /// Their completion rate, 0 to 1.
    pub min_completion: f64,
    /// Escaped defects (reverted changes) allowed in the window.
    pub max_escaped_defects: u64,
    /// Send-backs per reviewed task allowed on average.
    pub max_send_backs_per_task: f64,
    /// This many failed tasks of the class in a row tighten it back at once.
    pub failure_streak: u32,
}

impl AutonomyRules {
    /// Why the rules cannot be used, if they cannot.
    pub fn problem(&self) -> Option<String> {
        if !(0.0..=1.0).contains(&self.min_completion) {
            return Some(format!("[autonomy] min_completion is {}: it must be between 0 and 1", self.min_completion));
        }
        if self.window_days == 0 || self.failure_streak == 0 {
            return Some("[autonomy] window_days and failure_streak must be at least 1".into());
        }
        None
    }
}
