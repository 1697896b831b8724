//! The broker: the single door between an agent and its workspace.
//!
//! A call is parsed against its tool's schema, confined to the agent's worktree, judged by the
//! command policy (forbidden commands are refused with the rule's justification; `prompt` ones
//! wait for a human through [`ToolHost::approve`]), run in the sandbox, redacted, bounded,
//! recorded as a `tool_called` event, and counted against the agent's and the task's budgets.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use jiff::Timestamp;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::budget::{Breach, BudgetLimits, BudgetUsage};
use super::confine::Confined;
use super::files;
use super::output::{ToolOutput, bound};
use super::runner::{self, RunSpec};
use super::sandbox::SandboxLevel;
use super::schema::{EditFileArgs, GitDiffArgs, ListFilesArgs, ReadFileArgs, RunArgs, SearchArgs, WriteFileArgs};
use crate::config::McpVerdict;
use crate::mcp::McpHub;
use crate::playbooks::{CommandPolicy, Verdict};
use crate::protocol::{
    Actor, Decision, EventKind, GateKind, NewEvent, PolicyRecord, TaskId, ToolCallId, ToolCallRecord,
};
use crate::redact::Redactor;
use crate::workspace::{Worktree, diff_against};

/// What the broker needs from the engine: persistence and human decisions.
pub trait ToolHost: Send + Sync {
    /// Persists audit events, atomically and in order.
    fn record(&self, events: Vec<NewEvent>) -> BoxFuture<'_, Result<(), String>>;
    /// Asks a human and waits for the answer.
    fn approve(&self, request: ApprovalRequest) -> BoxFuture<'_, (Decision, Option<String>)>;
    /// Runs what must pass before a call (the engineer's `pre_tool_call` hooks), given the call
    /// as JSON; `Err` says why the call is blocked.
    fn before_call(&self, _call: Value) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async { Ok(()) })
    }
    /// Runs what follows a call (`post_tool_call` hooks), given the call and its result as JSON.
    fn after_call(&self, _call: Value) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }
}

/// A question for a human, raised as a gate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalRequest {
    /// The task.
    pub task: TaskId,
    /// The agent asking.
    pub actor: Actor,
    /// Why a gate.
    pub kind: GateKind,
    /// What the human should know.
    pub reason: String,
    /// The command line in question.
    pub command: String,
}

/// How the broker runs things.
#[derive(Debug, Clone)]
pub struct BrokerConfig {
    /// Command rules.
    pub policy: CommandPolicy,
    /// The sandbox level for `run`; with `None` every command needs approval.
    pub sandbox: SandboxLevel,
    /// The `ambidex` executable (applies Landlock).
    pub helper: PathBuf,
    /// Default command timeout.
    pub command_timeout: Duration,
    /// Bytes kept of each command stream.
    pub output_cap: usize,
    /// Bytes of tool output returned to the model.
    pub result_cap: usize,
    /// What the Landlock level may also read, and never.
    pub paths: runner::SandboxPaths,
    /// What the sandbox cannot hold on this machine (rows of `doctor`'s table, with why): while
    /// any is left, every command waits for a human's approval.
    pub gaps: Vec<String>,
    /// The MCP servers whose tools agents may be offered (`mcp__<server>__<tool>` calls).
    pub mcp: Option<Arc<McpHub>>,
}

/// One agent's place: its task, identity, worktree and budgets.
pub struct AgentScope {
    /// The task.
    pub task: TaskId,
    /// The agent.
    pub actor: Actor,
    /// The worktree it works in.
    pub worktree: Worktree,
    /// Paths confined to the worktree.
    pub confined: Confined,
    /// This agent's budget.
    pub budget: BudgetUsage,
    /// The task's budget, shared by its agents.
    pub task_budget: Arc<Mutex<BudgetUsage>>,
    /// Set when a human chose "approve for this task" for commands.
    pub commands_approved_for_task: bool,
    /// The MCP tools a human chose "approve for this task" for.
    pub mcp_approved_for_task: BTreeSet<String>,
}

impl AgentScope {
    /// A scope for `actor` in `worktree`, with fresh agent limits and the task's shared budget.
    pub fn new(
        task: TaskId,
        actor: Actor,
        worktree: Worktree,
        limits: BudgetLimits,
        task_budget: Arc<Mutex<BudgetUsage>>,
    ) -> std::io::Result<AgentScope> {
        let confined = Confined::new(&worktree.path)?;
        Ok(AgentScope {
            task,
            actor,
            worktree,
            confined,
            budget: BudgetUsage::new("agent", limits),
            task_budget,
            commands_approved_for_task: false,
            mcp_approved_for_task: BTreeSet::new(),
        })
    }
}

/// How long a file tool call (read, write, edit, list, search, git_diff) may take.
pub const FILE_TOOL_TIMEOUT: Duration = Duration::from_secs(120);

/// The outcome of one call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallResult {
    /// What the model sees.
    pub output: ToolOutput,
    /// Budgets that ran out with this call.
    pub breaches: Vec<Breach>,
    /// For `run`: the command's exit code.
    pub exit_code: Option<i32>,
    /// Why the store refused the call's audit record, when it did. The call ran but is not on
    /// record: the caller must not carry on (the agent loop stops the agent).
    pub audit_error: Option<String>,
}

/// Details of a `run` call for the audit record.
#[derive(Default)]
struct RunFacts {
    exit_code: Option<i32>,
    sandbox: Option<String>,
    policy: Option<PolicyRecord>,
}

/// The tool broker.
pub struct Broker {
    pub(super) config: BrokerConfig,
    pub(super) redactor: Arc<Redactor>,
}

fn parse<T: DeserializeOwned>(tool: &str, arguments: &Value) -> Result<T, ToolOutput> {
    let arguments = if arguments.is_null() { Value::Object(Default::default()) } else { arguments.clone() };
    serde_json::from_value(arguments).map_err(|err| {
        ToolOutput::error(format!("invalid arguments for {tool}: {err}; see the tool's schema for the expected fields"))
    })
}

/// Redacts every string inside a JSON value.
pub(super) fn redact_json(redactor: &Redactor, value: &Value) -> Value {
    match value {
        Value::String(text) => Value::String(redactor.redact(text).into_owned()),
        Value::Array(items) => Value::Array(items.iter().map(|v| redact_json(redactor, v)).collect()),
        Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), redact_json(redactor, v))).collect()),
        other => other.clone(),
    }
}

impl Broker {
    /// A broker with `config`, redacting with `redactor`.
    pub fn new(config: BrokerConfig, redactor: Arc<Redactor>) -> Broker {
        Broker { config, redactor }
    }

    /// The redactor every recorded text passes.
    pub fn redactor(&self) -> &Redactor {
        &self.redactor
    }

    /// The MCP tools a stage's `mcp:…` entries offer (none when it lists none), connecting to
    /// their servers first; the error says which server or tool could not be had.
    pub async fn mcp_tools(&self, entries: &[String]) -> Result<Vec<crate::mcp::McpTool>, String> {
        if !entries.iter().any(|entry| entry.starts_with(crate::playbooks::MCP_ENTRY_PREFIX)) {
            return Ok(Vec::new());
        }
        let Some(hub) = &self.config.mcp else {
            return Err("the stage offers MCP tools, but no MCP server is configured (`[mcp.servers.NAME]`)".into());
        };
        hub.resolve(entries).await.map_err(|err| err.to_string())
    }

    /// Carries out one tool call for the agent in `scope`.
    pub async fn call(&self, scope: &mut AgentScope, host: &dyn ToolHost, name: &str, arguments: &Value) -> CallResult {
        let started_at = Timestamp::now();
        let mut facts = RunFacts::default();
        let mut call = serde_json::json!({
            "task": scope.task,
            "actor": scope.actor,
            "tool": name,
            "arguments": redact_json(&self.redactor, arguments),
            "worktree": scope.worktree.path,
        });
        let output = match host.before_call(call.clone()).await {
            Err(why) => ToolOutput::error(format!("blocked by a pre_tool_call hook: {why}")),
            Ok(()) => match self.dispatch(scope, host, name, arguments, &mut facts).await {
                Ok(output) | Err(output) => output,
            },
        };
        let text = bound(&self.redactor.redact(&output.text), self.config.result_cap, "ask for less output");
        let output = ToolOutput { text, ..output };
        call["ok"] = output.ok.into();
        call["output"] = output.text.clone().into();
        host.after_call(call).await;

        let facts_exit = facts.exit_code;
        let record = ToolCallRecord {
            call: ToolCallId::new(),
            tool: name.to_owned(),
            arguments: redact_json(&self.redactor, arguments),
            workdir: scope.worktree.path.display().to_string(),
            workspace: Some(scope.worktree.branch.clone()),
            ok: output.ok,
            exit_code: facts.exit_code,
            output: output.text.clone(),
            started_at,
            finished_at: Timestamp::now(),
            sandbox: facts.sandbox,
            policy: facts.policy,
        };
        let mut events =
            vec![NewEvent::for_task(scope.task, scope.actor.clone(), EventKind::ToolCalled(Box::new(record)))];

        let diff_lines = if output.changed_files.is_empty() {
            None
        } else {
            diff_against(&scope.worktree.path, &scope.worktree.base).ok().map(|d| (d.added() + d.removed()) as u64)
        };
        let mut breaches = scope.budget.record(&output.changed_files, diff_lines);
        if let Ok(mut task_budget) = scope.task_budget.lock() {
            breaches.extend(task_budget.record(&output.changed_files, diff_lines));
        }
        for breach in &breaches {
            events.push(NewEvent::for_task(scope.task, scope.actor.clone(), breach.event_kind()));
        }
        if let Err(err) = host.record(events).await {
            // The call happened but is not on record: say so in its result, and tell the caller
            // to stop.
            let text = format!("{}\n[the audit record could not be stored: {err}]", output.text);
            return CallResult {
                output: ToolOutput::error(text),
                breaches,
                exit_code: facts_exit,
                audit_error: Some(err),
            };
        }
        CallResult { output, breaches, exit_code: facts_exit, audit_error: None }
    }

    async fn dispatch(
        &self,
        scope: &mut AgentScope,
        host: &dyn ToolHost,
        name: &str,
        arguments: &Value,
        facts: &mut RunFacts,
    ) -> Result<ToolOutput, ToolOutput> {
        let confined = scope.confined.clone();
        let worktree = scope.worktree.clone();
        let work: Box<dyn FnOnce() -> ToolOutput + Send> = match name {
            "list_files" => {
                let args: ListFilesArgs = parse(name, arguments)?;
                Box::new(move || files::list_files(&confined, args.path.as_deref(), args.max_depth))
            }
            "read_file" => {
                let args: ReadFileArgs = parse(name, arguments)?;
                Box::new(move || files::read_file(&confined, &args.path, args.start_line, args.max_lines))
            }
            "search" => {
                let args: SearchArgs = parse(name, arguments)?;
                Box::new(move || files::search(&confined, &args))
            }
            "write_file" => {
                let args: WriteFileArgs = parse(name, arguments)?;
                Box::new(move || files::write_file(&confined, &args.path, &args.content))
            }
            "edit_file" => {
                let args: EditFileArgs = parse(name, arguments)?;
                Box::new(move || files::edit_file(&confined, &args.path, &args.old, &args.new))
            }
            "git_diff" => {
                let _: GitDiffArgs = parse(name, arguments)?;
                Box::new(move || match diff_against(&worktree.path, &worktree.base) {
                    Ok(diff) if diff.files.is_empty() => ToolOutput::ok("no changes against the base commit yet"),
                    Ok(diff) => {
                        let stats: Vec<String> = diff
                            .files
                            .iter()
                            .map(|f| format!("{} +{} -{} ({})", f.path, f.added, f.removed, f.status))
                            .collect();
                        ToolOutput::ok(format!("{}\n\n{}", stats.join("\n"), diff.patch))
                    }
                    Err(err) => ToolOutput::error(err.to_string()),
                })
            }
            "run" => {
                let args: RunArgs = parse(name, arguments)?;
                return Ok(self.run(scope, host, &args, facts).await);
            }
            mcp if mcp.starts_with(crate::mcp::PREFIX) => {
                return Ok(self.mcp(scope, host, mcp, arguments, facts).await);
            }
            other => {
                return Ok(ToolOutput::error(format!(
                    "there is no tool `{other}`; the tools are list_files, read_file, search, write_file, edit_file, run, git_diff"
                )));
            }
        };
        // File tools run off the async threads, bounded in time: whatever they meet (a slow
        // disk, a file that cannot be read without blocking), the call ends and is recorded.
        let task = tokio::task::spawn_blocking(work);
        Ok(match tokio::time::timeout(FILE_TOOL_TIMEOUT, task).await {
            Ok(Ok(output)) => output,
            Ok(Err(err)) => ToolOutput::error(format!("the {name} call failed inside the engine: {err}")),
            Err(_) => ToolOutput::error(format!(
                "the {name} call did not finish within {} s and was abandoned; ask for less (a narrower path or \
                 pattern)",
                FILE_TOOL_TIMEOUT.as_secs()
            )),
        })
    }

    /// An MCP server's tool: judged by the server's `allow` and `forbid` lists (anything else
    /// waits for a human), then called within the server's timeout.
    async fn mcp(
        &self,
        scope: &mut AgentScope,
        host: &dyn ToolHost,
        name: &str,
        arguments: &Value,
        facts: &mut RunFacts,
    ) -> ToolOutput {
        let Some(hub) = &self.config.mcp else {
            return ToolOutput::error(format!("there is no tool `{name}`: no MCP server is configured"));
        };
        let Some(tool) = hub.tool(name).await else {
            return ToolOutput::error(format!("there is no MCP tool `{name}`; use the tools this stage offers"));
        };
        let rule = |list: &str| format!("mcp.servers.{}.{list}", tool.server);
        let mut record = PolicyRecord {
            verdict: format!("{:?}", tool.verdict).to_lowercase(),
            reasons: vec![match tool.verdict {
                McpVerdict::Allow => format!("`{}` names `{}`", rule("allow"), tool.name),
                McpVerdict::Forbid => format!("`{}` names `{}`", rule("forbid"), tool.name),
                McpVerdict::Prompt => format!("`{}` does not name `{}`", rule("allow"), tool.name),
            }],
            decision: None,
        };
        facts.sandbox = Some(format!("mcp:{}", tool.server));
        if tool.verdict == McpVerdict::Forbid {
            facts.policy = Some(record);
            return ToolOutput::error(format!(
                "refused by policy: `{}` names the MCP tool `{}` of `{}`",
                rule("forbid"),
                tool.name,
                tool.server
            ));
        }
        if tool.verdict == McpVerdict::Prompt && !scope.mcp_approved_for_task.contains(name) {
            let shown = serde_json::to_string(&redact_json(&self.redactor, arguments)).unwrap_or_default();
            let request = ApprovalRequest {
                task: scope.task,
                actor: scope.actor.clone(),
                kind: GateKind::Command,
                reason: format!(
                    "the MCP server `{}` runs `{}` outside the sandbox, and `{}` does not name it",
                    tool.server,
                    tool.name,
                    rule("allow")
                ),
                command: format!("mcp {}/{} {shown}", tool.server, tool.name),
            };
            match ask(host, request, &mut record, "call").await {
                Err(refused) => {
                    facts.policy = Some(record);
                    return refused;
                }
                Ok(Decision::ApproveForTask) => {
                    scope.mcp_approved_for_task.insert(name.to_owned());
                }
                Ok(_) => {}
            }
        }
        facts.policy = Some(record);
        match hub.call(&tool, arguments).await {
            Ok(outcome) if outcome.is_error => ToolOutput::error(outcome.text),
            Ok(outcome) => ToolOutput::ok(outcome.text),
            Err(err) => ToolOutput::error(err.to_string()),
        }
    }

    async fn run(
        &self,
        scope: &mut AgentScope,
        host: &dyn ToolHost,
        args: &RunArgs,
        facts: &mut RunFacts,
    ) -> ToolOutput {
        let judgement = self.config.policy.judge(&args.command);
        let mut record = PolicyRecord {
            verdict: format!("{:?}", judgement.verdict).to_lowercase(),
            reasons: judgement.reasons.clone(),
            decision: None,
        };
        let unsandboxed = self.config.sandbox == SandboxLevel::None;
        if judgement.verdict == Verdict::Forbid {
            facts.policy = Some(record);
            return ToolOutput::error(format!("refused by policy: {}", judgement.reasons.join("; ")));
        }
        let gapped = !unsandboxed && !self.config.gaps.is_empty();
        let needs_human = judgement.verdict == Verdict::Prompt || unsandboxed || gapped;
        if needs_human && !scope.commands_approved_for_task {
            let mut reason = judgement.reasons.join("; ");
            if unsandboxed {
                reason.push_str("; no sandbox is available on this machine, so every command needs approval");
            } else if gapped {
                reason.push_str(&format!(
                    "; the {} sandbox cannot hold {} on this machine (`ambidex doctor` shows why), so every command \
                     needs approval (accept a row with `sandbox.accept_gaps`)",
                    self.config.sandbox,
                    self.config.gaps.join(", ")
                ));
            }
            let request = ApprovalRequest {
                task: scope.task,
                actor: scope.actor.clone(),
                kind: GateKind::Command,
                reason,
                command: args.command.clone(),
            };
            match ask(host, request, &mut record, "command").await {
                Err(refused) => {
                    facts.policy = Some(record);
                    return refused;
                }
                Ok(Decision::ApproveForTask) => scope.commands_approved_for_task = true,
                Ok(_) => {}
            }
        }
        facts.policy = Some(record);
        facts.sandbox = Some(self.config.sandbox.to_string());
        let spec = RunSpec {
            command: args.command.clone(),
            workdir: scope.worktree.path.clone(),
            level: self.config.sandbox,
            timeout: args.timeout_secs.map_or(self.config.command_timeout, Duration::from_secs),
            output_cap: self.config.output_cap,
            helper: self.config.helper.clone(),
            env: Vec::new(),
            paths: self.config.paths.clone(),
        };
        match runner::run(&spec).await {
            Ok(outcome) => {
                facts.exit_code = outcome.exit_code;
                let changed = crate::workspace::uncommitted(&scope.worktree.path).unwrap_or_default();
                let mut output = if outcome.success() {
                    ToolOutput::ok(outcome.render())
                } else {
                    ToolOutput::error(with_cause(outcome.exit_code, outcome.render()))
                };
                output.changed_files = changed;
                output
            }
            Err(err) => ToolOutput::error(err.to_string()),
        }
    }
}

/// Asks a human about a call and records the decision; `Err` is what the model reads when the
/// answer is no (`what` names the call: "command", "call").
pub(super) async fn ask(
    host: &dyn ToolHost,
    request: ApprovalRequest,
    record: &mut PolicyRecord,
    what: &str,
) -> Result<Decision, ToolOutput> {
    let (decision, note) = host.approve(request).await;
    record.decision = Some(decision);
    match decision {
        Decision::Reject | Decision::SendBack | Decision::Stop => {
            let note = note.map(|n| format!(": {n}")).unwrap_or_default();
            Err(ToolOutput::error(format!("a human rejected this {what}{note}; try another way")))
        }
        approved => Ok(approved),
    }
}

/// A failed command's output, with a last line saying so when the environment, not the code, is
/// at fault: the model should not rewrite code to fix a registry out of reach.
fn with_cause(exit_code: Option<i32>, rendered: String) -> String {
    let class = super::failure::classify(exit_code, &rendered);
    if !class.is_environment() {
        return rendered;
    }
    format!(
        "{rendered}\n[ambidex: this failure looks like the environment, not the code ({class}): {}. Do not change \
         the code for it; say so in your summary if it blocks you.]",
        class.what()
    )
}

#[cfg(test)]
mod tests {
    use super::with_cause;

    #[test]
    fn an_environment_failure_is_named_for_the_model_and_a_code_failure_is_left_alone() {
        let offline = "exit code 101\nerror: failed to download from `https://index.crates.io/config.json`".to_owned();
        let told = with_cause(Some(101), offline.clone());
        assert!(told.starts_with(&offline) && told.contains("the environment, not the code (network)"), "{told}");
        let failing = "exit code 101\ntest result: FAILED. 1 passed; 1 failed".to_owned();
        assert_eq!(with_cause(Some(101), failing.clone()), failing);
        assert!(with_cause(Some(127), "sh: 1: pytest: not found\n".into()).contains("(missing_command)"));
    }
}
