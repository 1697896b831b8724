//! The work products agents submit and the engine records: plans, reviews, validation results,
//! pull requests and the CI checks the forge ran on them.

use serde::{Deserialize, Serialize};

/// The planner's plan (`submit_plan`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Plan {
    /// What will change and why, in a few sentences.
    pub summary: String,
    /// The steps, in order.
    pub steps: Vec<String>,
    /// The files expected to change (the scope the diff is held to).
    pub expected_files: Vec<String>,
    /// Commands that validate the change.
    pub validation: Vec<String>,
    /// How to undo the change.
    pub rollback: String,
    /// The planner's confidence, 0–100.
    pub confidence: Option<u8>,
}

/// The reviewer's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewVerdict {
    /// Ready for a PR.
    Approve,
    /// Needs another implementation round.
    RequestChanges,
}

/// One review finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// `blocker`, `major`, `minor` or `nit`.
    pub severity: String,
    /// `correctness`, `regression`, `scope`, `security`, `tests`, `style`, …
    pub category: String,
    /// The file, when the finding is about one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// What is wrong and what to do.
    pub message: String,
}

/// The reviewer's review (`submit_review`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Review {
    /// The verdict.
    pub verdict: ReviewVerdict,
    /// The findings.
    #[serde(default)]
    pub findings: Vec<Finding>,
    /// A short summary.
    #[serde(default)]
    pub summary: String,
}

/// One validation command's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidationResult {
    /// The command.
    pub command: String,
    /// Whether it passed.
    pub ok: bool,
    /// Its exit code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// How long it took.
    pub duration_ms: u64,
    /// The end of its output (redacted).
    pub summary: String,
}

/// A pull request: local (a branch plus a document) or on a forge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullRequest {
    /// The head branch.
    pub branch: String,
    /// The branch it targets.
    pub base_branch: String,
    /// The head commit.
    pub commit: String,
    /// Its title.
    pub title: String,
    /// Its Markdown body.
    pub body: String,
    /// Whether it is a draft.
    pub draft: bool,
    /// Where it lives: a forge URL, or the local document's path.
    pub location: String,
}

/// The budgets triage set for a task (cost in micro-dollars, so no floats enter hashed events).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct TriageBudgets {
    /// Wall time, in seconds.
    pub wall_time_secs: u64,
    /// Model tokens.
    pub max_tokens: u64,
    /// Money, in micro-dollars.
    pub max_cost_micros: u64,
    /// Tool calls for the whole task.
    pub tool_calls: u64,
    /// Tool calls for one agent.
    pub agent_tool_calls: u64,
    /// Implementation rounds after failed validation.
    pub retries: u32,
    /// Files changed.
    pub files_changed: u64,
    /// Lines added plus removed.
    pub diff_lines: u64,
}

/// Where one CI check of a commit stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CiState {
    /// Queued or running.
    Pending,
    /// It passed.
    Passed,
    /// It failed, was cancelled or timed out.
    Failed,
    /// It was skipped (or waits for a manual start).
    Skipped,
}

impl CiState {
    /// The snake_case name used in JSON and output.
    pub fn as_str(self) -> &'static str {
        match self {
            CiState::Pending => "pending",
            CiState::Passed => "passed",
            CiState::Failed => "failed",
            CiState::Skipped => "skipped",
        }
    }
}

/// One CI check of a commit, as the forge reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CiCheck {
    /// Its name (a GitHub check run, a GitLab job).
    pub name: String,
    /// Where it stands.
    pub state: CiState,
    /// Its page on the forge.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// The CI checks of a PR's head commit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CiReport {
    /// The commit.
    pub commit: String,
    /// Its checks, in the forge's order.
    pub checks: Vec<CiCheck>,
}

impl CiReport {
    /// Whether the forge has reported checks and every one has finished (none reported yet
    /// may only mean CI has not started).
    pub fn settled(&self) -> bool {
        !self.checks.is_empty() && self.checks.iter().all(|check| check.state != CiState::Pending)
    }

    /// One line: how many passed, failed and are pending, naming the failed ones.
    pub fn summary(&self) -> String {
        let count = |state: CiState| self.checks.iter().filter(|c| c.state == state).count();
        if self.checks.is_empty() {
            return "no CI checks".to_owned();
        }
        let failed: Vec<&str> =
            self.checks.iter().filter(|c| c.state == CiState::Failed).map(|c| c.name.as_str()).collect();
        let mut text =
            format!("{} passed, {} failed, {} pending", count(CiState::Passed), failed.len(), count(CiState::Pending));
        if !failed.is_empty() {
            text.push_str(&format!(" ({})", failed.join(", ")));
        }
        text
    }
}
