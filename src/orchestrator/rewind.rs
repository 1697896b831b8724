//! Rewinding a task to a stage: the production worktree goes back to the checkpoint the stage
//! started from, the work it held is first kept on a private ref named in the event, and the task
//! runs again from that stage with the engineer's note. Nothing is lost: the set-aside work stays
//! reachable (`git log <ref>`), and the approvals of what was set aside no longer count.

use std::path::Path;

use super::task_run::private_ref;
use super::{Engine, EngineError, lock};
use crate::domain::Task;
use crate::protocol::{Actor, Decision, Event, EventKind, NewEvent, StageKind, TaskId, TaskStatus};
use crate::workspace::{checkpoint, restore};

/// The checkpoint a rewind to `to` (a stage's name, or a kind) returns to: the latest start of
/// that stage that recorded one.
fn checkpoint_of(events: &[Event], to: &str) -> Option<(String, StageKind, String)> {
    let by_kind = to.parse::<StageKind>().ok();
    events.iter().rev().find_map(|event| match &event.kind {
        EventKind::StageStarted { stage, kind, checkpoint: Some(commit), .. } => {
            let kind = StageKind::of_event(*kind, stage)?;
            (stage == to || by_kind == Some(kind)).then(|| (stage.clone(), kind, commit.clone()))
        }
        _ => None,
    })
}

impl Engine {
    /// Rewinds `task` to the stage `to` (its name in the playbook, or its kind). Blocking: git
    /// work on the production worktree. Refused while a run drives the task, for a finished
    /// task, and for a stage that never started from a checkpoint.
    pub(super) fn rewind_task(
        &self,
        id: TaskId,
        to: &str,
        note: Option<String>,
        actor: Actor,
    ) -> Result<Vec<NewEvent>, EngineError> {
        let task = self.task(id)?;
        if lock(&self.running).contains(&id) || task.status == TaskStatus::Running {
            return Err(EngineError::Refused(format!(
                "task {} is running; rewind it once it stops at a gate or fails",
                id.short()
            )));
        }
        if !matches!(
            task.status,
            TaskStatus::Failed | TaskStatus::Interrupted | TaskStatus::AwaitingGate | TaskStatus::Queued
        ) {
            return Err(EngineError::Refused(format!(
                "task {} is {}; only a task that stopped (failed, interrupted, waiting at a gate or queued) can be rewound",
                id.short(),
                task.status
            )));
        }
        let events = self.reader().task_events(id)?;
        let (stage, kind, commit) = checkpoint_of(&events, to).ok_or_else(|| {
            let started: Vec<String> = task.completed_stages.iter().map(|s| s.name.clone()).collect();
            EngineError::Refused(format!(
                "task {} has no checkpoint for a stage `{to}` (stages that ran: {})",
                id.short(),
                if started.is_empty() { "none".to_owned() } else { started.join(", ") }
            ))
        })?;
        let production = production_path(&task)?;
        let abandoned = private_ref(&task, "abandoned");
        let message = format!("set aside by a rewind of task {} to the {stage} stage", id.short());
        checkpoint(&production, &abandoned, &message).map_err(|err| {
            EngineError::Refused(format!("could not keep the current work before rewinding (nothing changed): {err}"))
        })?;
        restore(&production, &commit).map_err(|err| {
            EngineError::Refused(format!("could not restore the checkpoint (the work is kept on {abandoned}): {err}"))
        })?;
        if self.publishes(&task) {
            // Another machine that takes the task on starts from the rewound state, not the newer
            // work set aside: the newest state ref says so, pushed at once.
            let rewound = format!("rewound: task {} to the {stage} stage", id.short());
            checkpoint(&production, &private_ref(&task, "finished"), &rewound).map_err(|err| {
                EngineError::Refused(format!(
                    "could not record the rewound state (the work is kept on {abandoned}): {err}"
                ))
            })?;
            self.publish_now(&task);
        }
        let note = note.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
        let event = |actor: Actor, kind| NewEvent::for_task(id, actor, kind);
        let mut out = Vec::new();
        for open in &task.open_gates {
            let why = format!("rewound to the {stage} stage");
            let decided =
                EventKind::GateDecided { gate: open.id, decision: Decision::SendBack, note: Some(why), choice: None };
            out.push(event(Actor::Orchestrator, decided));
        }
        out.push(event(actor, EventKind::Rewound { stage: stage.clone(), kind, checkpoint: commit, abandoned, note }));
        if task.status != TaskStatus::Queued {
            let reason = format!("rewound to the {stage} stage");
            out.push(event(
                Actor::Orchestrator,
                EventKind::StatusChanged { from: task.status, to: TaskStatus::Queued, reason },
            ));
        }
        Ok(out)
    }
}

/// The production worktree of `task`, which must still exist.
fn production_path(task: &Task) -> Result<std::path::PathBuf, EngineError> {
    task.worktrees
        .iter()
        .find(|w| w.candidate == super::task_run::PRODUCTION)
        .map(|w| Path::new(&w.path).to_owned())
        .filter(|path| path.exists())
        .ok_or_else(|| EngineError::Refused(format!("task {} has no production worktree to rewind", task.id.short())))
}
