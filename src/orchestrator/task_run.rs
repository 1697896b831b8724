//! One run of one task: what every step of either hand needs — the engine, the setup, the
//! playbook, the production worktree, the host its agents call back into, the task's budgets
//! and the repository context — held once for the run and lent to each step.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;

use super::focus::focus_of;
use super::host::TaskHost;
use super::{Engine, EngineError, EngineSetup};
use crate::agents::AgentSpec;
use crate::agents::prompt::render;
use crate::context::{ContextOptions, RepoContext};
use crate::domain::{EngineerNote, Task};
use crate::playbooks::BudgetLimits;
use crate::playbooks::playbook::{Playbook, Stage};
use crate::protocol::{Actor, Digest, EventKind, GateKind, MemoryId, NewEvent, Risk, StageKind, TaskId};
use crate::tools::broker::{Broker, BrokerConfig};
use crate::tools::budget::BudgetUsage;
use crate::workspace::{
    CHECKPOINT_REFS, Prepared, Worktree, WorktreeRequest, checkpoint, diff_against, head_commit, holds_checkpoint,
    latest_task_state, prepare, reset_to, restore, uncommitted,
};

/// Tokens of repository context put into prompts.
const CONTEXT_TOKENS: usize = 2000;

/// The label of the production track's worktree (and its matrix row).
pub(crate) use crate::protocol::PRODUCTION;

/// What one run of a task holds.
pub struct TaskRun {
    engine: Arc<Engine>,
    setup: Arc<EngineSetup>,
    id: TaskId,
    playbook: Playbook,
    worktree: Worktree,
    host: Arc<TaskHost>,
    task_budget: Arc<Mutex<BudgetUsage>>,
    /// Budgets double with every budget gate a human approves.
    budget_scale: u64,
    /// The rendered context and the focus it was rendered for.
    context: Option<(Vec<String>, String)>,
    /// The memory version, the entries given and their prompt section, once read.
    memory: Option<(u64, Vec<MemoryId>, String)>,
    /// Set when the engine stopped while the task ran: the stage it was in restarts from its
    /// checkpoint.
    interrupted: bool,
}

/// `limits` grown by `scale`.
pub(crate) fn scaled(limits: BudgetLimits, scale: u64) -> BudgetLimits {
    let grow = |v: Option<u64>| v.map(|v| v.saturating_mul(scale));
    BudgetLimits {
        tool_calls: grow(limits.tool_calls),
        files_changed: grow(limits.files_changed),
        diff_lines: grow(limits.diff_lines),
        wall_time_secs: grow(limits.wall_time_secs),
    }
}

/// The budgets of the task's risk level (medium when unknown).
pub(crate) fn budgets_of<'a>(setup: &'a EngineSetup, task: &Task) -> &'a crate::playbooks::Budgets {
    setup.policy.budgets.for_risk(task.risk().unwrap_or(Risk::Medium))
}

/// The agent that runs `stage` for `task`: its prompt rendered from `values`, then what the
/// engineer said (a send-back's note, every note on the task), whatever the prompt's placeholders.
pub(crate) fn stage_agent(
    stage: &Stage,
    task: &Task,
    model: String,
    values: &BTreeMap<&str, String>,
    opening: String,
    candidate: Option<String>,
    tuning: crate::llm::Tuning,
) -> AgentSpec {
    AgentSpec {
        role: stage.role,
        model,
        system: format!("{}{}", render(&stage.prompt, values), engineer_notes(task, stage.kind)),
        opening,
        tools: stage.tools.clone(),
        submit: stage.submit.clone(),
        max_turns: stage.max_turns,
        candidate,
        tuning,
    }
}

impl TaskRun {
    /// A run of `id` in its production `worktree`.
    pub fn new(
        engine: Arc<Engine>,
        setup: Arc<EngineSetup>,
        id: TaskId,
        playbook: Playbook,
        worktree: Worktree,
    ) -> Self {
        let task = engine.task(id).ok();
        let limits = task.as_ref().map_or_else(BudgetLimits::default, |t| budgets_of(&setup, t).task_limits());
        // Every budget gate approved or sent back doubled the budgets; a resumed run keeps that.
        let approved = task
            .as_ref()
            .map(|t| t.decided_gates.iter().filter(|g| g.kind == GateKind::Budget && !g.decision.stops()).count())
            .unwrap_or(0);
        let budget_scale = 1u64 << approved.min(16);
        let task_budget = Arc::new(Mutex::new(BudgetUsage::new("task", scaled(limits, budget_scale))));
        let host = Arc::new(TaskHost::new(engine.clone(), id));
        Self {
            engine,
            setup,
            id,
            playbook,
            worktree,
            host,
            task_budget,
            budget_scale,
            context: None,
            memory: None,
            interrupted: false,
        }
    }

    /// Says whether the engine stopped while the task ran (a crash, a kill, a quit mid-stage):
    /// true for the run's first step only.
    pub(crate) fn set_interrupted(&mut self, interrupted: bool) {
        self.interrupted = interrupted;
    }

    /// The task.
    pub fn task_id(&self) -> TaskId {
        self.id
    }

    /// The task's current projection.
    pub fn task(&self) -> Result<Task, EngineError> {
        self.engine.task(self.id)
    }

    /// The setup.
    pub fn setup(&self) -> &EngineSetup {
        &self.setup
    }

    /// The shared setup, for work that outlives a borrow of the run.
    pub(crate) fn shared_setup(&self) -> Arc<EngineSetup> {
        self.setup.clone()
    }

    /// The playbook.
    pub fn playbook(&self) -> &Playbook {
        &self.playbook
    }

    /// The engine.
    pub(crate) fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    /// The production worktree.
    pub(crate) fn worktree(&self) -> &Worktree {
        &self.worktree
    }

    /// What the task's agents call back into.
    pub(crate) fn host(&self) -> &Arc<TaskHost> {
        &self.host
    }

    /// The whole task's budget, shared by its Right Hand agents.
    pub(crate) fn task_budget(&self) -> &Arc<Mutex<BudgetUsage>> {
        &self.task_budget
    }

    /// How many times the budgets doubled through approved budget gates.
    pub(crate) fn budget_scale(&self) -> u64 {
        self.budget_scale
    }

    /// What a gate that was approved or sent back changes for the rest of the run: a budget gate
    /// doubles the budgets (the work goes on either way).
    pub fn after_decision(&mut self, kind: GateKind) {
        if kind == GateKind::Budget {
            self.budget_scale = self.budget_scale.saturating_mul(2);
            if let Ok(task) = self.task() {
                let limits = scaled(budgets_of(&self.setup, &task).task_limits(), self.budget_scale);
                *self.task_budget.lock().unwrap_or_else(|p| p.into_inner()) = BudgetUsage::new("task", limits);
            }
        }
    }

    /// An event of this task.
    pub(crate) fn event(&self, actor: Actor, kind: EventKind) -> NewEvent {
        NewEvent::for_task(self.id, actor, kind)
    }

    /// Appends events of this task.
    pub(crate) async fn record(&self, mut events: Vec<NewEvent>) -> Result<(), EngineError> {
        if events.iter().any(|event| matches!(event.kind, EventKind::StageFinished { .. }))
            && let Err(why) = self.keep_for_elsewhere().await
        {
            // The stage's end is recorded all the same; the log says what other machines miss.
            let text = format!("the stage's end state was not kept for other machines: {why}");
            events.insert(0, self.event(Actor::Orchestrator, EventKind::Note { text }));
        }
        self.engine.append(events).await.map(|_| ())
    }

    /// For a repository named by URL: the worktree as a stage leaves it, on a private ref pushed
    /// before the log says the stage finished, so a machine that resumes the task starts from
    /// what the stage did (a stage's own checkpoint holds only what it started from).
    async fn keep_for_elsewhere(&self) -> Result<(), EngineError> {
        if !self.engine.clones() {
            return Ok(());
        }
        let task = self.task()?;
        if !self.engine.publishes(&task) {
            return Ok(());
        }
        let reference = private_ref(&task, "finished");
        let path = self.worktree.path.clone();
        let message = format!("stage end: task {}", task.id.short());
        tokio::task::spawn_blocking(move || checkpoint(&path, &reference, &message))
            .await
            .map_err(|err| EngineError::Refused(format!("the stage-end checkpoint stopped: {err}")))?
            .map_err(|err| EngineError::Refused(err.to_string()))?;
        self.engine.publish(task.id).await;
        Ok(())
    }

    /// The tool broker the task's agents use.
    pub(crate) fn broker(&self) -> Broker {
        let config = BrokerConfig {
            policy: self.setup.policy.commands.clone(),
            sandbox: self.setup.sandbox,
            helper: self.setup.helper.clone(),
            command_timeout: Duration::from_secs(600),
            output_cap: 256 * 1024,
            result_cap: 24 * 1024,
            paths: self.setup.sandbox_paths.clone(),
            gaps: self.setup.sandbox_gaps.clone(),
            mcp: Some(self.setup.mcp.clone()),
        };
        Broker::new(config, self.engine.redactor().clone())
    }

    /// The repository context for `task`'s prompts: the summary, conventions and a symbol map
    /// focused on what the task and its plan name (see `focus`), gathered again only when that
    /// focus changes (once the plan is in).
    pub(crate) fn context(&mut self, task: &Task) -> String {
        let focus = focus_of(&task.spec, task.plan.as_ref());
        let repo = match &self.context {
            Some((known, rendered)) if *known == focus => rendered.clone(),
            _ => {
                let options = ContextOptions { focus: focus.clone(), ..ContextOptions::default() }
                    .with_state_dir(&self.engine.state_dir());
                let rendered = RepoContext::gather(&self.worktree.path, &options)
                    .map(|context| context.render(CONTEXT_TOKENS))
                    .unwrap_or_else(|err| format!("(repository context unavailable: {err})"));
                let rendered = format!("## Repository\n{rendered}");
                self.context = Some((focus, rendered.clone()));
                rendered
            }
        };
        let memory = self.memory.as_ref().map(|(_, _, section)| section.as_str()).unwrap_or_default();
        if memory.is_empty() { repo } else { format!("{memory}\n{repo}") }
    }

    /// The context for an agent's prompt with the repository memory read again first (recording
    /// the version the agents see when it changed).
    pub(crate) async fn agent_context(&mut self, task: &Task) -> Result<String, EngineError> {
        if let Some(used) = self.refresh_memory(task)? {
            self.record(vec![used]).await?;
        }
        Ok(self.context(task))
    }

    /// The repository memory section alone (for prompts without the rest of the context), read
    /// again first as for [`Self::agent_context`].
    pub(crate) async fn agent_memory(&mut self, task: &Task) -> Result<String, EngineError> {
        if let Some(used) = self.refresh_memory(task)? {
            self.record(vec![used]).await?;
        }
        Ok(self.memory.as_ref().map(|(_, _, section)| section.clone()).unwrap_or_default())
    }

    /// Reads the repository memory the task's agents get now (its active entries that concern
    /// the files the task and its plan name) and returns the `memory_used` event to record when
    /// the task has not seen this version with these entries yet.
    fn refresh_memory(&mut self, task: &Task) -> Result<Option<NewEvent>, EngineError> {
        let reader = self.engine.reader();
        let version = reader.memory_version()?;
        // The focus's paths (its other items are symbol names).
        let paths: Vec<String> = focus_of(&task.spec, task.plan.as_ref())
            .into_iter()
            .filter(|i| i.contains('/') || i.contains('.'))
            .collect();
        let entries = reader.memory()?;
        let repo = task.spec.repo.clone().unwrap_or_else(|| ".".to_owned());
        let (given, section) = super::memory::for_task(&entries, &repo, &paths);
        let ids: Vec<MemoryId> = given.iter().map(|e| e.id).collect();
        let previous = self.memory.replace((version, ids.clone(), section));
        let unchanged = match previous {
            Some((known_version, known, _)) => known_version == version && known == ids,
            // A resumed run: the task recorded this version already.
            None => task.memory_version == Some(version) || ids.is_empty() && task.memory_version.is_none(),
        };
        if unchanged {
            return Ok(None);
        }
        Ok(Some(self.event(Actor::Orchestrator, EventKind::MemoryUsed { version, entries: ids })))
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
        if commands.is_empty()
            && let Ok(context) = RepoContext::gather(&self.worktree.path, &ContextOptions::default())
            && let Some(hint) = context.discovery.test_commands.first()
        {
            let command =
                if hint.dir.is_empty() { hint.command.clone() } else { format!("cd {} && {}", hint.dir, hint.command) };
            commands.push(command);
        }
        commands
    }

    /// Tokens or money over the task's budget (scaled by approved budget gates).
    pub(crate) fn spending_over_budget(&self) -> Result<Option<String>, EngineError> {
        let task = self.task()?;
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

    /// Records the production worktree as `stage` finds it, for a rewind to come back to. A
    /// worktree git cannot read is noted, and the stage goes on without a checkpoint.
    pub(crate) async fn checkpoint(&self, task: &Task, stage: &str) -> Result<Option<String>, EngineError> {
        let reference = private_ref(task, "checkpoints");
        let path = self.worktree.path.clone();
        let message = format!("checkpoint: task {} before the {stage} stage", task.id.short());
        let taken = tokio::task::spawn_blocking(move || checkpoint(&path, &reference, &message))
            .await
            .map_err(|err| EngineError::Refused(format!("the checkpoint stopped: {err}")))?;
        match taken {
            Ok(commit) => {
                self.engine.publish(task.id).await;
                Ok(Some(commit))
            }
            Err(err) => {
                let text = format!("no checkpoint before the {stage} stage (a rewind cannot return to it): {err}");
                self.record(vec![self.event(Actor::Orchestrator, EventKind::Note { text })]).await?;
                Ok(None)
            }
        }
    }

    /// Whether this is the run's first step after the engine stopped mid-run.
    pub(crate) fn interrupted(&self) -> bool {
        self.interrupted
    }

    /// Restarts an interrupted stage from `commit`, its checkpoint: what the worktree holds is kept
    /// on a ref first, then the files go back to the checkpoint, so no edit is applied twice and
    /// none the log missed survives.
    pub(crate) async fn restart_from(&self, task: &Task, stage: &str, commit: String) -> Result<(), EngineError> {
        let abandoned = private_ref(task, "interrupted");
        let (path, kept, target) = (self.worktree.path.clone(), abandoned.clone(), commit.clone());
        let message = format!("what the {stage} stage left when task {} was interrupted", task.id.short());
        tokio::task::spawn_blocking(move || {
            checkpoint(&path, &kept, &message)?;
            restore(&path, &target)
        })
        .await
        .map_err(|err| EngineError::Refused(format!("restoring the checkpoint stopped: {err}")))?
        .map_err(|err| {
            EngineError::Refused(format!("could not restart the {stage} stage from its checkpoint: {err}"))
        })?;
        let restored = EventKind::CheckpointRestored { stage: stage.to_owned(), checkpoint: commit, abandoned };
        self.record(vec![self.event(Actor::Orchestrator, restored)]).await
    }

    /// The hash of what a human sees at a gate: the plan, the validation results, the review, the
    /// PR draft and the diff. Every decision records it.
    pub async fn evidence(&self) -> Option<Digest> {
        use sha2::{Digest as _, Sha256};
        let task = self.task().ok()?;
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
        Some(Digest(Sha256::digest(snapshot.to_string().as_bytes()).into()))
    }
}

/// A new private ref of `task` under `refs/ambidex/<task>/<what>/`, numbered by the task's event
/// count (so each one recorded is unique).
pub(crate) fn private_ref(task: &Task, what: &str) -> String {
    format!("{CHECKPOINT_REFS}/{}/{what}/{}", task.id.short().to_lowercase(), task.event_count)
}

/// What the engineer said, for the instructions of a stage of `kind`: why the work came back
/// to it, when it did, and every note so far. Empty when they said nothing.
fn engineer_notes(task: &Task, kind: StageKind) -> String {
    let mut out = String::new();
    if let Some(back) = task.pending_send_back().filter(|back| back.to == kind) {
        let from = match (&back.feedback, back.gate) {
            (Some(reviewers), _) => format!(
                "Your change is delivered as a PR, and feedback on it from {reviewers} sent it back. Change the \
                 work on this branch to answer it"
            ),
            (None, Some(gate)) => format!("The engineer sent the work back from the {gate} gate"),
            (None, None) => "The engineer rewound the task to this stage".to_owned(),
        };
        out.push_str(&format!(
            "\n\n## Sent back to you\n{from}: {}\nDo what the note asks; it outranks your earlier work.",
            back.note
        ));
    }
    if !task.notes.is_empty() {
        out.push_str("\n\n## Notes from the engineer (oldest first)\n");
        for note in &task.notes {
            out.push_str(&format!("- {}{}\n", note.text, note_origin(note)));
        }
    }
    out
}

/// Where a note was said, for a list of notes: ` (at the plan gate)`, ` (from @alice on the PR)`.
pub(super) fn note_origin(note: &EngineerNote) -> String {
    match (&note.from, note.gate) {
        (Some(from), _) => format!(" (from {from} on the PR)"),
        (None, Some(gate)) => format!(" (at the {gate} gate)"),
        (None, None) => String::new(),
    }
}

/// Creates the worktree of candidate `label` once; later runs reuse it. The second value says
/// whether it was created now.
pub(crate) async fn ensure_worktree(
    engine: &Arc<Engine>,
    task: &Task,
    label: &str,
) -> Result<(Worktree, bool), EngineError> {
    let repo = engine.repo_dir(task.spec.repo.as_deref());
    // Every candidate starts from the commit production started from.
    let base = task
        .worktrees
        .iter()
        .find(|w| w.candidate == PRODUCTION)
        .map(|w| w.base.clone())
        .or_else(|| task.spec.target_branch.clone());
    let known = candidate_worktree(task, &repo, label);
    let request =
        WorktreeRequest { repo, task: task.id, candidate: label.to_owned(), base, root: engine.worktrees_root() };
    // A worktree is reused only if it verifies; a broken one is made again.
    let prepared = tokio::task::spawn_blocking(move || prepare(&request))
        .await
        .map_err(|err| EngineError::Refused(format!("worktree creation stopped: {err}")))?
        .map_err(|err| EngineError::Refused(err.to_string()))?;
    let mut events = Vec::new();
    let elsewhere = label == PRODUCTION && engine.publishes(task);
    let worktree = match prepared {
        Prepared::Reused(worktree) => {
            if elsewhere {
                // This machine's worktree may be older than what another machine did since.
                events.extend(resume_here(&worktree, task).await?);
            }
            match known {
                Some(known) if known.path == worktree.path => {
                    let notes = events.into_iter().map(|kind| NewEvent::for_task(task.id, Actor::Orchestrator, kind));
                    engine.append(notes.collect()).await?;
                    return Ok((known, false));
                }
                // Recorded on another machine, or made by a run killed before it could record
                // it (nothing has worked in it yet): recorded now as this machine's.
                _ => worktree,
            }
        }
        Prepared::Created(worktree) => {
            if elsewhere {
                events.extend(resume_here(&worktree, task).await?);
            }
            worktree
        }
        Prepared::Recreated { worktree, reason } => {
            let detail = format!("{reason}; removed and made again on `{}`", worktree.branch);
            let path = worktree.path.display().to_string();
            events.push(EventKind::WorktreeIssue { issue: "recreated".into(), path, detail });
            worktree
        }
    };
    events.push(EventKind::WorktreeCreated {
        candidate: label.to_owned(),
        path: worktree.path.display().to_string(),
        branch: worktree.branch.clone(),
        base: worktree.base.clone(),
    });
    let events = events.into_iter().map(|kind| NewEvent::for_task(task.id, Actor::Orchestrator, kind)).collect();
    engine.append(events).await?;
    // Production's setup step is the driver's (it may ask at a gate); every other worktree gets
    // its own here, with the network the repository was allowed.
    if label != PRODUCTION {
        let setup = engine.setup()?.clone();
        let ran = super::setup_step::prepare_candidate(&setup, &engine.reader(), task, &worktree, label).await?;
        engine.append(vec![ran]).await?;
    }
    Ok((worktree, true))
}

/// The production worktree of a task whose repository is named by URL, which other machines may
/// have worked on: when its files are not the newest state any machine pushed, they become it,
/// and the log says from where.
async fn resume_here(worktree: &Worktree, task: &Task) -> Result<Option<EventKind>, EngineError> {
    let (path, id) = (worktree.path.clone(), task.id);
    let restored = tokio::task::spawn_blocking(move || -> Result<Option<(String, String)>, String> {
        let Some((reference, commit)) = latest_task_state(&path, id) else { return Ok(None) };
        if holds_checkpoint(&path, &commit).unwrap_or(false) {
            return Ok(None);
        }
        restore(&path, &commit).map_err(|err| err.to_string())?;
        Ok(Some((reference, commit)))
    })
    .await
    .map_err(|err| EngineError::Refused(format!("restoring the worktree stopped: {err}")))?
    .map_err(|err| EngineError::Refused(format!("cannot restore the work another machine pushed: {err}")))?;
    Ok(restored.map(|(reference, commit)| EventKind::Note {
        text: format!("worktree on this machine set to {reference} ({}), the newest state pushed", &commit[..12]),
    }))
}

/// Puts a Left Hand agent's reused worktree back to its base before the agent starts again: a
/// killed run may have left edits there, even a commit the log never saw, and the agent redoes
/// its work from the start. What was there is kept on a ref named in the event.
pub(crate) async fn start_afresh(
    engine: &Arc<Engine>,
    task: &Task,
    label: &str,
    worktree: &Worktree,
) -> Result<(), EngineError> {
    let (path, base) = (worktree.path.clone(), worktree.base.clone());
    let kept = private_ref(task, "interrupted");
    let message = format!("what {label} left when task {} was interrupted", task.id.short());
    let reference = kept.clone();
    let discarded = tokio::task::spawn_blocking(move || {
        let moved = head_commit(&path)? != base;
        if !moved && uncommitted(&path)?.is_empty() {
            return Ok(false);
        }
        checkpoint(&path, &reference, &message)?;
        reset_to(&path, &base).map(|()| true)
    })
    .await
    .map_err(|err| EngineError::Refused(format!("starting {label} afresh stopped: {err}")))?
    .map_err(|err| EngineError::Refused(format!("could not start {label} afresh after the interruption: {err}")))?;
    if discarded {
        let restored = EventKind::CheckpointRestored {
            stage: label.to_owned(),
            checkpoint: worktree.base.clone(),
            abandoned: kept,
        };
        engine.append(vec![NewEvent::for_task(task.id, Actor::Orchestrator, restored)]).await?;
    }
    Ok(())
}

/// The worktree of candidate `label`, as the task's projection knows it.
pub(crate) fn candidate_worktree(task: &Task, repo: &Path, label: &str) -> Option<Worktree> {
    task.worktrees.iter().find(|w| w.candidate == label).map(|known| Worktree {
        repo: repo.to_owned(),
        path: PathBuf::from(&known.path),
        branch: known.branch.clone(),
        name: format!("ambidex-{}-{label}", task.id.short()),
        base: known.base.clone(),
    })
}
