//! Running one stage of the production track: an agent stage (planner, implementer, tester,
//! reviewer, PR writer) or the validation stage, and what their outcomes do to the task.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;

use super::breakers;
use super::explore;
use super::host::TaskHost;
use super::pipeline::{Ending, ask};
use super::{Engine, EngineError, EngineSetup};
use crate::agents::prompt::{plan_section, render, task_section};
use crate::agents::{AgentOutcome, AgentSpec, Submission, run_agent};
use crate::context::{ContextOptions, RepoContext};
use crate::domain::Task;
use crate::playbooks::playbook::{Playbook, Stage, StageKind};
use crate::protocol::{
    Actor, AgentIdentity, Decision, EventKind, GateKind, NewEvent, PullRequest, ReviewVerdict, Risk, Role, TaskId,
    TaskStatus, Track, ValidationResult,
};
use crate::tools::broker::{AgentScope, Broker, BrokerConfig};
use crate::tools::budget::{BudgetLimits, BudgetUsage};
use crate::workspace::{Worktree, diff_against};

/// Tokens of repository context put into prompts.
const CONTEXT_TOKENS: usize = 2000;

/// Drives the stages of one task.
pub struct Runner {
    engine: Arc<Engine>,
    setup: Arc<EngineSetup>,
    id: TaskId,
    playbook: Playbook,
    worktree: Worktree,
    host: Arc<TaskHost>,
    task_budget: Arc<Mutex<BudgetUsage>>,
    /// Budgets double with every budget gate a human approves.
    budget_scale: u64,
    context: Option<String>,
}

pub(crate) fn scaled(limits: BudgetLimits, scale: u64) -> BudgetLimits {
    let grow = |v: Option<u64>| v.map(|v| v.saturating_mul(scale));
    BudgetLimits {
        tool_calls: grow(limits.tool_calls),
        files_changed: grow(limits.files_changed),
        diff_lines: grow(limits.diff_lines),
        wall_time_secs: grow(limits.wall_time_secs),
    }
}

/// The agent that runs `stage`, its prompt rendered from `values`.
pub(crate) fn stage_agent(
    stage: &Stage,
    model: String,
    values: &BTreeMap<&str, String>,
    opening: String,
    candidate: Option<String>,
) -> AgentSpec {
    AgentSpec {
        role: stage.role,
        model,
        system: render(&stage.prompt, values),
        opening,
        tools: stage.tools.clone(),
        submit: stage.submit.clone(),
        max_turns: stage.max_turns,
        candidate,
    }
}

/// The budgets of the task's risk level (medium when unknown).
pub(crate) fn budgets_of<'a>(setup: &'a EngineSetup, task: &Task) -> &'a crate::playbooks::Budgets {
    setup.policy.budgets.for_risk(task.risk().unwrap_or(Risk::Medium))
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

impl Runner {
    /// A runner for `id` in `worktree`.
    pub fn new(
        engine: Arc<Engine>,
        setup: Arc<EngineSetup>,
        id: TaskId,
        playbook: Playbook,
        worktree: Worktree,
        host: Arc<TaskHost>,
    ) -> Self {
        let task = engine.task(id).ok();
        let limits = task.as_ref().map_or_else(BudgetLimits::default, |t| budgets_of(&setup, t).task_limits());
        // Every budget gate a human approved doubled the budgets; a resumed run keeps that.
        let approved = task
            .as_ref()
            .map(|t| {
                t.decided_gates.iter().filter(|g| g.kind == GateKind::Budget && g.decision != Decision::Reject).count()
            })
            .unwrap_or(0);
        let budget_scale = 1u64 << approved.min(16);
        let task_budget = Arc::new(Mutex::new(BudgetUsage::new("task", scaled(limits, budget_scale))));
        Self { engine, setup, id, playbook, worktree, host, task_budget, budget_scale, context: None }
    }

    /// The task.
    pub fn task_id(&self) -> TaskId {
        self.id
    }

    /// The setup.
    pub fn setup(&self) -> &EngineSetup {
        &self.setup
    }

    /// The playbook.
    pub fn playbook(&self) -> &Playbook {
        &self.playbook
    }

    /// The engine.
    pub(crate) fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    /// The shared setup, for work that outlives a borrow of the runner.
    pub(crate) fn shared_setup(&self) -> Arc<EngineSetup> {
        self.setup.clone()
    }

    /// The production worktree.
    pub(crate) fn worktree(&self) -> &Worktree {
        &self.worktree
    }

    /// What the task's agents call back into.
    pub(crate) fn host(&self) -> &Arc<TaskHost> {
        &self.host
    }

    /// How many times the budgets doubled through approved budget gates.
    pub(crate) fn budget_scale(&self) -> u64 {
        self.budget_scale
    }

    /// What an approved gate changes for the rest of the run.
    pub fn after_approval(&mut self, kind: GateKind) {
        if kind == GateKind::Budget {
            self.budget_scale = self.budget_scale.saturating_mul(2);
            if let Ok(task) = self.engine.task(self.id) {
                let limits = scaled(budgets_of(&self.setup, &task).task_limits(), self.budget_scale);
                *self.task_budget.lock().unwrap_or_else(|p| p.into_inner()) = BudgetUsage::new("task", limits);
            }
        }
    }

    pub(crate) fn event(&self, actor: Actor, kind: EventKind) -> NewEvent {
        NewEvent::for_task(self.id, actor, kind)
    }

    async fn finish_stage(
        &self,
        stage: &str,
        ok: bool,
        summary: String,
        mut extra: Vec<NewEvent>,
    ) -> Result<(), EngineError> {
        extra.push(self.event(Actor::Orchestrator, EventKind::StageFinished { stage: stage.to_owned(), ok, summary }));
        self.engine.append(extra).await?;
        Ok(())
    }

    pub(crate) fn broker(&self) -> Broker {
        let config = BrokerConfig {
            policy: self.setup.policy.commands.clone(),
            sandbox: self.setup.sandbox,
            helper: self.setup.helper.clone(),
            command_timeout: Duration::from_secs(600),
            output_cap: 256 * 1024,
            result_cap: 24 * 1024,
        };
        Broker::new(config, self.engine.redactor().clone())
    }

    fn scope(&self, role: Role, task: &Task) -> Result<AgentScope, EngineError> {
        let actor = Actor::Agent(AgentIdentity { role, track: Track::Right, candidate: None });
        let limits = scaled(budgets_of(&self.setup, task).agent_limits(), self.budget_scale);
        AgentScope::new(self.id, actor, self.worktree.clone(), limits, self.task_budget.clone()).map_err(|err| {
            EngineError::Refused(format!("the worktree {} is unusable: {err}", self.worktree.path.display()))
        })
    }

    /// Runs one stage; returns an ending when the run must stop.
    pub async fn run_stage(&mut self, name: &str) -> Result<Option<Ending>, EngineError> {
        let stage =
            self.playbook.stage(name).cloned().ok_or_else(|| {
                EngineError::Refused(format!("playbook {} has no stage `{name}`", self.playbook.name))
            })?;
        let task = self.engine.task(self.id)?;
        if task.stage.as_deref() != Some(name) {
            let started = EventKind::StageStarted { stage: stage.name.clone(), role: stage.role };
            self.engine.append(vec![self.event(Actor::Orchestrator, started)]).await?;
        }
        match stage.kind {
            StageKind::Agent => self.agent_stage(&stage, &task).await,
            StageKind::Validate => self.validate_stage(&task).await,
        }
    }

    pub(crate) fn context(&mut self) -> String {
        if self.context.is_none() {
            let options = ContextOptions::default().with_state_dir(&self.engine.state_dir());
            let rendered = RepoContext::gather(&self.worktree.path, &options)
                .map(|context| context.render(CONTEXT_TOKENS))
                .unwrap_or_else(|err| format!("(repository context unavailable: {err})"));
            self.context = Some(format!("## Repository\n{rendered}"));
        }
        self.context.clone().unwrap_or_default()
    }

    fn feedback(task: &Task) -> String {
        let mut out = String::new();
        let failed: Vec<&ValidationResult> = task.validation.iter().map(|run| &run.result).filter(|r| !r.ok).collect();
        if !failed.is_empty() {
            out.push_str("## Validation failures to fix\n");
            for result in failed {
                out.push_str(&format!(
                    "### `{}` (exit {:?})\n```\n{}\n```\n",
                    result.command, result.exit_code, result.summary
                ));
            }
        } else if !task.validation.is_empty() {
            out.push_str("## Validation\n");
            for result in task.validation.iter().map(|run| &run.result) {
                out.push_str(&format!("- `{}`: {}\n", result.command, if result.ok { "passed" } else { "failed" }));
            }
        }
        if let Some(review) = task.review.as_ref().filter(|r| r.verdict == ReviewVerdict::RequestChanges) {
            out.push_str("## Review findings to address\n");
            for finding in &review.findings {
                let file = finding.file.as_deref().map(|f| format!(" ({f})")).unwrap_or_default();
                out.push_str(&format!("- [{}] {}{file}: {}\n", finding.severity, finding.category, finding.message));
            }
        }
        if let Some(note) = task.decided_gates.iter().rev().find_map(|g| g.note.clone()) {
            out.push_str(&format!("## Latest note from the human\n{note}\n"));
        }
        out
    }

    async fn agent_stage(&mut self, stage: &Stage, task: &Task) -> Result<Option<Ending>, EngineError> {
        let (client, model) = match self.setup.client_for(stage.role) {
            Ok(found) => found,
            Err(err) => return self.fail_stage(&stage.name, format!("no model for {}: {err}", stage.role)).await,
        };
        let mut values = BTreeMap::from([
            ("task", task_section(&task.spec)),
            ("plan", task.plan.as_ref().map(plan_section).unwrap_or_default()),
            ("feedback", Self::feedback(task)),
            ("validation", self.validation_commands(task).join("\n")),
        ]);
        if stage.prompt.contains("{{context}}") {
            values.insert("context", self.context());
        }
        let opening = format!("Begin the `{}` stage. Finish with `{}`.", stage.name, stage.submit);
        let spec = stage_agent(stage, model, &values, opening, None);
        let broker = self.broker();
        let mut scope = self.scope(stage.role, task)?;
        let outcome =
            run_agent(client.as_ref(), &broker, &mut scope, self.host.as_ref(), self.engine.redactor(), &spec).await;
        if let Some(reason) = self.spending_over_budget()? {
            // The stage's work is kept; after approval it goes on (a finished stage stays finished).
            if let AgentOutcome::Submitted(submission) = outcome
                && let Some(ending) = self.submitted(stage, submission).await?
            {
                return Ok(Some(ending));
            }
            return ask(&self.engine.clone(), self, GateKind::Budget, reason).await;
        }
        match outcome {
            AgentOutcome::Submitted(submission) => self.submitted(stage, submission).await,
            AgentOutcome::BudgetExceeded(breaches) => {
                let what: Vec<String> =
                    breaches.iter().map(|b| format!("{} {} at {} of {}", b.scope, b.budget, b.used, b.limit)).collect();
                let reason =
                    format!("budget exceeded in `{}`: {}; approve to double the budgets", stage.name, what.join(", "));
                ask(&self.engine.clone(), self, GateKind::Budget, reason).await
            }
            AgentOutcome::RepeatedCalls { call, times } => {
                self.trip("repeated_calls", format!("`{call}` called {times} times in a row")).await
            }
            AgentOutcome::TurnsExhausted(turns) => {
                let reason =
                    format!("`{}` used all {turns} turns without finishing; approve to let it try again", stage.name);
                ask(&self.engine.clone(), self, GateKind::Escalation, reason).await
            }
            AgentOutcome::ModelFailed(message) => {
                self.fail_stage(&stage.name, format!("the model failed: {message}")).await
            }
            AgentOutcome::Stopped => {
                let task = self.engine.task(self.id)?;
                Ok(Some(match task.open_gates.first() {
                    Some(gate) if task.status != TaskStatus::Cancelled => {
                        Ending::Parked { gate: gate.id, kind: gate.kind }
                    }
                    _ => Ending::Cancelled,
                }))
            }
        }
    }

    /// Tokens or money over the task's budget (scaled by approved budget gates).
    fn spending_over_budget(&self) -> Result<Option<String>, EngineError> {
        let task = self.engine.task(self.id)?;
        let budgets = budgets_of(&self.setup, &task);
        let tokens = task.input_tokens + task.output_tokens;
        let max_tokens = budgets.max_tokens.saturating_mul(self.budget_scale);
        let max_cost = budgets.max_cost_micros().saturating_mul(self.budget_scale);
        Ok(if max_tokens > 0 && tokens > max_tokens {
            Some(format!("task budget `max_tokens` exceeded: {tokens} of {max_tokens}; approve to double the budgets"))
        } else if max_cost > 0 && task.cost_micros > max_cost {
            Some(format!(
                "task budget `max_cost` exceeded: ${:.2} of ${:.2}; approve to double the budgets",
                task.cost_micros as f64 / 1e6,
                max_cost as f64 / 1e6
            ))
        } else {
            None
        })
    }

    pub(crate) async fn fail_stage(&self, stage: &str, reason: String) -> Result<Option<Ending>, EngineError> {
        let status = self.engine.task(self.id)?.status;
        let mut events = vec![self.event(
            Actor::Orchestrator,
            EventKind::StageFinished { stage: stage.to_owned(), ok: false, summary: reason.clone() },
        )];
        if crate::domain::check_transition(status, TaskStatus::Failed).is_ok() {
            events.push(self.event(
                Actor::Orchestrator,
                EventKind::StatusChanged { from: status, to: TaskStatus::Failed, reason: reason.clone() },
            ));
        }
        self.engine.append(events).await?;
        Ok(Some(Ending::Failed(reason)))
    }

    async fn trip(&mut self, breaker: &str, evidence: String) -> Result<Option<Ending>, EngineError> {
        let tripped = EventKind::BreakerTripped { breaker: breaker.to_owned(), evidence: evidence.clone() };
        if let Some(trigger) = explore::start::breaker_trigger(breaker)
            && let Some(started) = self.exploration_for(trigger, &evidence)?
        {
            // Exploration answers this breaker: the candidates' evidence goes to the promotion gate.
            self.engine
                .append(vec![self.event(Actor::Orchestrator, tripped), self.event(Actor::Orchestrator, started)])
                .await?;
            return Ok(None);
        }
        self.engine.append(vec![self.event(Actor::Orchestrator, tripped)]).await?;
        let reason = format!("circuit breaker `{breaker}`: {evidence}; approve to go on, reject to stop the task");
        ask(&self.engine.clone(), self, GateKind::Breaker, reason).await
    }

    async fn submitted(&mut self, stage: &Stage, submission: Submission) -> Result<Option<Ending>, EngineError> {
        let agent = Actor::Agent(AgentIdentity { role: stage.role, track: Track::Right, candidate: None });
        match submission {
            Submission::Plan(plan) => {
                let summary = plan.summary.clone();
                let event = self.event(agent, EventKind::PlanSubmitted { plan });
                self.finish_stage(&stage.name, true, summary, vec![event]).await?;
                Ok(None)
            }
            Submission::Finish(finish) => {
                self.finish_stage(&stage.name, true, finish.summary, Vec::new()).await?;
                self.after_work(&stage.name).await
            }
            Submission::Review(review) => {
                let approved = review.verdict == ReviewVerdict::Approve;
                let summary = review.summary.clone();
                let event = self.event(agent, EventKind::ReviewSubmitted { review });
                self.finish_stage(&stage.name, approved, summary, vec![event]).await?;
                if approved {
                    return Ok(None);
                }
                let task = self.engine.task(self.id)?;
                if task.rejected_reviews >= 2 && task.rejected_reviews % 2 == 0 {
                    let evidence = format!(
                        "the implementer called the work done and the review rejected it {} times",
                        task.rejected_reviews
                    );
                    return self.trip("contradiction", evidence).await;
                }
                Ok(None)
            }
            Submission::Pr(draft) => {
                let mut body = draft.summary.trim().to_owned();
                if !draft.risks.is_empty() {
                    body.push_str("\n\n## Risks\n");
                    for risk in &draft.risks {
                        body.push_str(&format!("- {risk}\n"));
                    }
                }
                if !draft.rollback.trim().is_empty() {
                    body.push_str(&format!("\n## Rollback\n{}\n", draft.rollback.trim()));
                }
                let pr = PullRequest {
                    branch: self.worktree.branch.clone(),
                    base_branch: String::new(),
                    commit: String::new(),
                    title: draft.title.clone(),
                    body,
                    draft: true,
                    location: String::new(),
                };
                let event = self.event(agent, EventKind::PrDrafted { pr });
                self.finish_stage(&stage.name, true, draft.title, vec![event]).await?;
                Ok(None)
            }
            Submission::Tests(_) | Submission::Findings(_) | Submission::Recommendation(_) => {
                let reason = format!("stage `{}` ended with a Left Hand call; fix the playbook", stage.name);
                self.fail_stage(&stage.name, reason).await
            }
        }
    }

    /// The event that starts exploration on `trigger`, when the task has not explored yet and
    /// challengers are configured.
    fn exploration_for(&self, trigger: &str, evidence: &str) -> Result<Option<EventKind>, EngineError> {
        let task = self.engine.task(self.id)?;
        let challengers = self.setup.config.engine.challengers;
        if challengers == 0 || task.exploration.is_some() {
            return Ok(None);
        }
        let left = &self.setup.playbooks.left_hand;
        Ok(Some(explore::start::started(&task, left, challengers, trigger, evidence.to_owned())))
    }

    /// Breakers checked when the implementer or the tester says it is done.
    async fn after_work(&mut self, stage: &str) -> Result<Option<Ending>, EngineError> {
        if stage != "implement" && stage != "test" {
            return Ok(None);
        }
        let (path, base) = (self.worktree.path.clone(), self.worktree.base.clone());
        let Ok(Ok(diff)) = tokio::task::spawn_blocking(move || diff_against(&path, &base)).await else {
            return Ok(None);
        };
        let task = self.engine.task(self.id)?;
        let routed_left = task.triage.as_ref().is_some_and(|t| t.route == crate::protocol::Route::RightAndLeft);
        if stage == "implement" && !routed_left {
            let files: Vec<String> = diff.files.iter().map(|f| f.path.clone()).collect();
            if let Some(evidence) = explore::start::sensitive_files(&self.setup.policy, &files)
                && let Some(started) = self.exploration_for("sensitive_files", &evidence)?
            {
                self.engine.append(vec![self.event(Actor::Orchestrator, started)]).await?;
                return Ok(None);
            }
        }
        let max_lines = scaled(budgets_of(&self.setup, &task).task_limits(), self.budget_scale).diff_lines;
        if stage == "test"
            && let Some(evidence) = breakers::weak_tests(&diff)
        {
            return self.trip("weak_tests", evidence).await;
        }
        let scope_approved =
            task.decided_gates.iter().any(|g| g.reason.contains("breaker `scope`") && g.decision != Decision::Reject);
        if !scope_approved && let Some(evidence) = breakers::scope(&task, &diff, max_lines) {
            return self.trip("scope", evidence).await;
        }
        Ok(None)
    }

    /// The commands that validate this task: the playbook's, the task's and the plan's; when
    /// there are none, the repository's discovered test command.
    pub(crate) fn validation_commands(&self, task: &Task) -> Vec<String> {
        let mut commands: Vec<String> = Vec::new();
        let plan = task.plan.iter().flat_map(|p| p.validation.iter());
        for command in self.playbook.validation.iter().chain(&task.spec.validation).chain(plan) {
            let command = command.trim().to_owned();
            if !command.is_empty() && !commands.contains(&command) {
                commands.push(command);
            }
        }
        if commands.is_empty() {
            let options = ContextOptions::default();
            if let Ok(context) = RepoContext::gather(&self.worktree.path, &options)
                && let Some(hint) = context.discovery.test_commands.first()
            {
                let command = if hint.dir.is_empty() {
                    hint.command.clone()
                } else {
                    format!("cd {} && {}", hint.dir, hint.command)
                };
                commands.push(command);
            }
        }
        commands
    }

    async fn validate_stage(&mut self, task: &Task) -> Result<Option<Ending>, EngineError> {
        let commands = self.validation_commands(task);
        let attempt = task.completed_stages.iter().filter(|s| *s == "implement").count().max(1) as u32;
        if commands.is_empty() {
            self.finish_stage("validate", true, "no validation command was given or discovered".into(), Vec::new())
                .await?;
            return Ok(None);
        }
        let broker = self.broker();
        let mut scope = self.scope(Role::Ci, task)?;
        let ci = scope.actor.clone();
        let mut failed = Vec::new();
        for command in &commands {
            let started = Instant::now();
            let result = broker.call(&mut scope, self.host.as_ref(), "run", &json!({ "command": command })).await;
            if self.host.parked() {
                let task = self.engine.task(self.id)?;
                if let Some(gate) = task.open_gates.first() {
                    return Ok(Some(Ending::Parked { gate: gate.id, kind: gate.kind }));
                }
            }
            let outcome = ValidationResult {
                command: command.clone(),
                ok: result.output.ok,
                exit_code: result.exit_code,
                duration_ms: started.elapsed().as_millis() as u64,
                summary: tail(&result.output.text, 30),
            };
            if !outcome.ok {
                failed.push(command.clone());
            }
            self.engine
                .append(vec![self.event(ci.clone(), EventKind::ValidationRan { attempt, result: outcome })])
                .await?;
        }
        if failed.is_empty() {
            self.finish_stage("validate", true, format!("{} validation commands passed", commands.len()), Vec::new())
                .await?;
            return Ok(None);
        }
        self.finish_stage("validate", false, format!("failed: {}", failed.join(", ")), Vec::new()).await?;
        let task = self.engine.task(self.id)?;
        if let Some(evidence) = self.repeated_edits(&task)? {
            return self.trip("repeated_edits", evidence).await;
        }
        let extra = task
            .decided_gates
            .iter()
            .filter(|g| g.kind == GateKind::Escalation && g.decision != Decision::Reject)
            .count();
        let limit = self.playbook.retries.implementation + extra as u32;
        if attempt >= limit {
            let reason = format!(
                "validation failed in {attempt} implementation attempts ({}); approve for one more attempt, reject to stop",
                failed.join(", ")
            );
            return ask(&self.engine.clone(), self, GateKind::Escalation, reason).await;
        }
        Ok(None)
    }

    /// The repeated-edits breaker, from the task's validation runs and the files each
    /// implementation attempt changed.
    fn repeated_edits(&self, task: &Task) -> Result<Option<String>, EngineError> {
        let events = self.engine.reader().task_events(task.id)?;
        let mut history = Vec::new();
        let mut files: BTreeMap<u32, BTreeSet<String>> = BTreeMap::new();
        let mut attempt = 0u32;
        for event in &events {
            match &event.kind {
                EventKind::StageStarted { stage, .. } if stage == "implement" => attempt += 1,
                EventKind::ToolCalled(record) if matches!(&event.actor, Actor::Agent(a) if a.role == Role::Implementer) => {
                    if let Some(path) = record.arguments.get("path").and_then(|p| p.as_str())
                        && matches!(record.tool.as_str(), "write_file" | "edit_file")
                        && record.ok
                    {
                        files.entry(attempt).or_default().insert(path.to_owned());
                    }
                }
                EventKind::ValidationRan { attempt, result } => history.push((*attempt, result.clone())),
                _ => {}
            }
        }
        Ok(breakers::repeated_edits(&history, &files))
    }

    /// The hash of what a human sees at a gate: the plan, the validation results, the review, the
    /// PR draft and the diff. Every decision records it.
    pub async fn evidence(&self) -> Option<crate::protocol::Digest> {
        use sha2::{Digest as _, Sha256};
        let task = self.engine.task(self.id).ok()?;
        let (path, base) = (self.worktree.path.clone(), self.worktree.base.clone());
        let patch =
            tokio::task::spawn_blocking(move || diff_against(&path, &base).map(|d| d.patch).unwrap_or_default())
                .await
                .unwrap_or_default();
        let snapshot = json!({
            "plan": task.plan,
            "validation": task.validation,
            "review": task.review,
            "pr_draft": task.pr_draft,
            "diff": patch,
        });
        Some(crate::protocol::Digest(Sha256::digest(snapshot.to_string().as_bytes()).into()))
    }

    /// Commits the work and creates the local PR (once).
    pub async fn create_pr(&mut self) -> Result<Ending, EngineError> {
        super::pr::create_local(&self.engine, &self.setup, self.id, &self.worktree).await
    }
}
