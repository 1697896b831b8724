//! What an outside agent (an ACP agent) does by itself, held to the rules an Ambidex agent's
//! tool calls follow. Before: each permission it asks for is judged here (its commands by the
//! command policy, with a human asked where the policy or a missing sandbox says so; its edits
//! by the worktree's bounds; anything else by a human). After: each call it made is a
//! `tool_called` event, redacted and bounded, counted against the agent's and the task's budgets.
//! The agent itself runs inside the sandbox ([`Broker::agent_run_spec`]), so what it does without
//! asking stays in its worktree all the same.

use std::path::{Path, PathBuf};
use std::time::Duration;

use jiff::Timestamp;
use serde_json::Value;

use super::broker::{AgentScope, Broker, ToolHost, ask, redact_json};
use super::budget::Breach;
use super::output::bound;
use super::runner::RunSpec;
use super::sandbox::SandboxLevel;
use crate::playbooks::Verdict;
use crate::protocol::{Decision, EventKind, GateKind, NewEvent, PolicyRecord, ToolCallId, ToolCallRecord};

/// What an outside agent asks permission for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExternalAction {
    /// Running a command line.
    Execute {
        /// The command line.
        command: String,
    },
    /// Changing files (editing, deleting, moving): the paths it names.
    Change {
        /// The paths, absolute or relative to the worktree.
        paths: Vec<PathBuf>,
    },
    /// Reading or searching files, or thinking: the paths it names.
    Read {
        /// The paths, absolute or relative to the worktree.
        paths: Vec<PathBuf>,
    },
    /// Fetching from the network, or anything the protocol does not name.
    Other,
}

/// The answer to a permission request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permit {
    /// Whether it may go ahead.
    pub allowed: bool,
    /// Whether a human approved the kind for the rest of the task.
    pub for_task: bool,
    /// What the policy said and the human decided.
    pub policy: PolicyRecord,
}

/// A call an outside agent made, to be recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct ExternalCall {
    /// The tool, as the agent names it (`acp:<agent>:<kind>`).
    pub tool: String,
    /// Its input, as the agent reported it.
    pub arguments: Value,
    /// Whether it completed.
    pub ok: bool,
    /// What came of it (its output, or the diff it reported).
    pub output: String,
    /// When it started.
    pub started_at: Timestamp,
    /// Where it ran (`acp:<agent> in bubblewrap`).
    pub sandbox: String,
    /// The permission decision, when it asked.
    pub policy: Option<PolicyRecord>,
    /// Whether it may have changed files (counted against the budgets' file limits).
    pub changes_files: bool,
}

/// Whether `path` (absolute, or relative to `root`) stays inside `root`, by its words: no `..`
/// may climb out. The sandbox holds whatever the words say; this only decides what to allow.
fn inside(root: &Path, path: &Path) -> bool {
    let joined = if path.is_absolute() { path.to_owned() } else { root.join(path) };
    let mut depth = 0usize;
    let Ok(rest) = joined.strip_prefix(root) else { return false };
    for part in rest.components() {
        match part {
            std::path::Component::Normal(_) => depth += 1,
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir if depth > 0 => depth -= 1,
            _ => return false,
        }
    }
    true
}

impl Broker {
    /// How to start an outside agent's `command` in `workdir`: the sandbox level and paths
    /// commands get, with the network (the agent talks to its model) and `env`.
    pub fn agent_run_spec(
        &self,
        command: String,
        workdir: PathBuf,
        env: Vec<(String, String)>,
        timeout: Duration,
    ) -> RunSpec {
        let mut paths = self.config.paths.clone();
        paths.network = true;
        RunSpec {
            command,
            workdir,
            level: self.config.sandbox,
            timeout,
            output_cap: self.config.output_cap,
            helper: self.config.helper.clone(),
            env,
            paths,
        }
    }

    /// Whether an outside agent may be started at all, asked of a human when no sandbox (or a
    /// sandbox with gaps) would hold it; `None` when it may start without asking.
    pub async fn permit_agent_start(
        &self,
        scope: &AgentScope,
        host: &dyn ToolHost,
        agent: &str,
        command: &str,
    ) -> Option<Permit> {
        let unsandboxed = self.config.sandbox == SandboxLevel::None;
        if !unsandboxed && self.config.gaps.is_empty() {
            return None;
        }
        let why = if unsandboxed {
            "no sandbox is available on this machine".to_owned()
        } else {
            format!("the {} sandbox cannot hold {} on this machine", self.config.sandbox, self.config.gaps.join(", "))
        };
        let reasons = vec![format!("the ACP agent `{agent}` would run outside a full sandbox: {why}")];
        Some(self.asked(scope, host, reasons, format!("start the ACP agent `{agent}`: {command}")).await)
    }

    /// Judges an outside agent's permission request for `action` (`title` is how the agent
    /// describes it).
    pub async fn permit(
        &self,
        scope: &mut AgentScope,
        host: &dyn ToolHost,
        title: &str,
        action: &ExternalAction,
    ) -> Permit {
        let root = scope.confined.root().to_owned();
        let allowed = |verdict: &str, reasons: Vec<String>| Permit {
            allowed: verdict == "allow",
            for_task: false,
            policy: PolicyRecord { verdict: verdict.to_owned(), reasons, decision: None },
        };
        match action {
            ExternalAction::Execute { command } => {
                let judgement = self.config.policy.judge(command);
                match judgement.verdict {
                    Verdict::Forbid => allowed("forbid", judgement.reasons),
                    Verdict::Allow => allowed("allow", judgement.reasons),
                    Verdict::Prompt if scope.commands_approved_for_task => allowed("allow", judgement.reasons),
                    Verdict::Prompt => {
                        let permit = self.asked(scope, host, judgement.reasons, command.clone()).await;
                        if permit.for_task {
                            scope.commands_approved_for_task = true;
                        }
                        permit
                    }
                }
            }
            ExternalAction::Change { paths } | ExternalAction::Read { paths } => {
                match paths.iter().find(|path| !inside(&root, path)) {
                    Some(outside) => allowed("forbid", vec![format!("{} is outside the worktree", outside.display())]),
                    None => allowed("allow", vec!["inside the worktree".into()]),
                }
            }
            ExternalAction::Other => {
                let reasons = vec![format!("the agent asks to `{title}`, which no rule covers")];
                self.asked(scope, host, reasons, title.to_owned()).await
            }
        }
    }

    async fn asked(&self, scope: &AgentScope, host: &dyn ToolHost, reasons: Vec<String>, command: String) -> Permit {
        let mut policy = PolicyRecord { verdict: "prompt".into(), reasons, decision: None };
        let request = super::broker::ApprovalRequest {
            task: scope.task,
            actor: scope.actor.clone(),
            kind: GateKind::Command,
            reason: policy.reasons.join("; "),
            command: self.redactor.redact(&command).into_owned(),
        };
        let answer = ask(host, request, &mut policy, "request").await;
        let for_task = matches!(answer, Ok(Decision::ApproveForTask));
        Permit { allowed: answer.is_ok(), for_task, policy }
    }

    /// Records a call an outside agent made as a `tool_called` event and counts it against the
    /// budgets; returns the budgets it broke, or why the record could not be stored.
    pub async fn record_external(
        &self,
        scope: &mut AgentScope,
        host: &dyn ToolHost,
        call: ExternalCall,
    ) -> Result<Vec<Breach>, String> {
        let output = bound(&self.redactor.redact(&call.output), self.config.result_cap, "");
        let record = ToolCallRecord {
            call: ToolCallId::new(),
            tool: call.tool,
            arguments: redact_json(&self.redactor, &call.arguments),
            workdir: scope.worktree.path.display().to_string(),
            workspace: Some(scope.worktree.branch.clone()),
            ok: call.ok,
            exit_code: None,
            output,
            started_at: call.started_at,
            finished_at: Timestamp::now(),
            sandbox: Some(call.sandbox),
            policy: call.policy,
        };
        let changed = if call.changes_files {
            crate::workspace::uncommitted(&scope.worktree.path).unwrap_or_default()
        } else {
            Vec::new()
        };
        let diff_lines = if changed.is_empty() {
            None
        } else {
            crate::workspace::diff_against(&scope.worktree.path, &scope.worktree.base)
                .ok()
                .map(|d| (d.added() + d.removed()) as u64)
        };
        let mut breaches = scope.budget.record(&changed, diff_lines);
        if let Ok(mut task_budget) = scope.task_budget.lock() {
            breaches.extend(task_budget.record(&changed, diff_lines));
        }
        let mut events =
            vec![NewEvent::for_task(scope.task, scope.actor.clone(), EventKind::ToolCalled(Box::new(record)))];
        events.extend(
            breaches.iter().map(|breach| NewEvent::for_task(scope.task, scope.actor.clone(), breach.event_kind())),
        );
        host.record(events).await?;
        Ok(breaches)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_paths_whose_words_stay_in_the_worktree_are_inside() {
        let root = Path::new("/w/t");
        for path in ["/w/t/src/lib.rs", "src/lib.rs", "src/../Cargo.toml", "./a"] {
            assert!(inside(root, Path::new(path)), "{path}");
        }
        for path in ["/w/other", "../escape", "src/../../escape", "/etc/passwd"] {
            assert!(!inside(root, Path::new(path)), "{path}");
        }
    }
}
