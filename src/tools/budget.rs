//! Budgets per agent and per task: tool calls, files changed, diff lines and wall time. Running
//! out is reported once per budget; the orchestrator turns it into a gate, never a kill.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

pub use crate::playbooks::BudgetLimits;

/// A budget that just ran out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Breach {
    /// `agent` or `task`.
    pub scope: &'static str,
    /// Which budget.
    pub budget: &'static str,
    /// Its limit.
    pub limit: u64,
    /// What was used.
    pub used: u64,
}

impl Breach {
    /// The event that records it.
    pub fn event_kind(&self) -> crate::protocol::EventKind {
        crate::protocol::EventKind::BudgetExceeded {
            scope: self.scope.to_owned(),
            budget: self.budget.to_owned(),
            limit: self.limit,
            used: self.used,
        }
    }
}

/// What has been used so far.
#[derive(Debug, Clone)]
pub struct BudgetUsage {
    scope: &'static str,
    limits: BudgetLimits,
    tool_calls: u64,
    files: BTreeSet<String>,
    diff_lines: u64,
    started: Instant,
    reported: BTreeSet<&'static str>,
}

impl BudgetUsage {
    /// A fresh budget for `scope` (`agent` or `task`), starting its clock now.
    pub fn new(scope: &'static str, limits: BudgetLimits) -> Self {
        Self {
            scope,
            limits,
            tool_calls: 0,
            files: BTreeSet::new(),
            diff_lines: 0,
            started: Instant::now(),
            reported: BTreeSet::new(),
        }
    }

    /// Counts one tool call that changed `files`, with the worktree's diff now `diff_lines` long
    /// (`None` when the call changed nothing). Returns the budgets that ran out with it.
    pub fn record(&mut self, files: &[String], diff_lines: Option<u64>) -> Vec<Breach> {
        self.tool_calls += 1;
        self.files.extend(files.iter().cloned());
        if let Some(lines) = diff_lines {
            self.diff_lines = lines;
        }
        self.check()
    }

    /// Tool calls made.
    pub fn tool_calls(&self) -> u64 {
        self.tool_calls
    }

    /// How long the budget has run.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// Budgets over their limit that were not reported before.
    pub fn check(&mut self) -> Vec<Breach> {
        let used = [
            ("tool_calls", self.limits.tool_calls, self.tool_calls),
            ("files_changed", self.limits.files_changed, self.files.len() as u64),
            ("diff_lines", self.limits.diff_lines, self.diff_lines),
            ("wall_time_secs", self.limits.wall_time_secs, self.started.elapsed().as_secs()),
        ];
        let mut breaches = Vec::new();
        for (budget, limit, used) in used {
            if let Some(limit) = limit.filter(|limit| used > *limit)
                && self.reported.insert(budget)
            {
                breaches.push(Breach { scope: self.scope, budget, limit, used });
            }
        }
        breaches
    }

    /// Raises a limit after a human allowed more (the breach may then be reported again).
    pub fn extend(&mut self, budget: &str, new_limit: u64) {
        let slot = match budget {
            "tool_calls" => &mut self.limits.tool_calls,
            "files_changed" => &mut self.limits.files_changed,
            "diff_lines" => &mut self.limits.diff_lines,
            "wall_time_secs" => &mut self.limits.wall_time_secs,
            _ => return,
        };
        *slot = Some(new_limit);
        self.reported.retain(|b| *b != budget);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_budget_is_reported_once_when_it_is_exceeded() {
        let limits = BudgetLimits { tool_calls: Some(2), files_changed: Some(1), ..BudgetLimits::default() };
        let mut usage = BudgetUsage::new("agent", limits);
        assert!(usage.record(&["a.rs".into()], Some(3)).is_empty());
        assert!(usage.record(&["a.rs".into()], Some(5)).is_empty(), "the same file twice is one file");
        let breaches = usage.record(&["b.rs".into()], Some(9));
        let names: Vec<&str> = breaches.iter().map(|b| b.budget).collect();
        assert_eq!(names, ["tool_calls", "files_changed"]);
        assert_eq!(breaches[0], Breach { scope: "agent", budget: "tool_calls", limit: 2, used: 3 });
        assert!(usage.record(&[], None).is_empty(), "already reported");
        usage.extend("tool_calls", 10);
        assert!(usage.record(&[], None).is_empty());
    }

    #[test]
    fn diff_lines_follow_the_latest_diff() {
        let mut usage = BudgetUsage::new("task", BudgetLimits { diff_lines: Some(10), ..Default::default() });
        assert!(usage.record(&["a".into()], Some(12)).len() == 1);
        assert_eq!(usage.tool_calls(), 1);
    }
}
