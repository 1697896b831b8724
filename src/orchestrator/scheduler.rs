//! Running many tasks under the concurrency limit from the configuration. While no model
//! provider can be used ([`Engine::readiness`]) the scheduler starts nothing: tasks stay queued,
//! and clients are told why.

use std::sync::Arc;

use tokio::sync::Semaphore;

use super::driver::drive;
use super::flow::Ending;
use super::{Engine, EngineError, lock};
use tokio::sync::broadcast::error::RecvError;

use crate::protocol::{EventKind, TaskId, TaskStatus, Update};

/// Drives `tasks` with at most `limit` running at once; returns each one's ending, in order.
pub async fn drive_all(engine: Arc<Engine>, tasks: Vec<TaskId>, limit: usize) -> Vec<Result<Ending, EngineError>> {
    let slots = Arc::new(Semaphore::new(limit.max(1)));
    let handles: Vec<_> = tasks
        .into_iter()
        .map(|id| {
            let (engine, slots) = (engine.clone(), slots.clone());
            tokio::spawn(async move {
                let _slot =
                    slots.acquire_owned().await.map_err(|_| EngineError::Refused("the scheduler stopped".into()))?;
                drive(engine, id).await
            })
        })
        .collect();
    let mut endings = Vec::with_capacity(handles.len());
    for handle in handles {
        endings.push(handle.await.unwrap_or_else(|err| Err(EngineError::Refused(format!("a run stopped: {err}")))));
    }
    endings
}

impl Engine {
    /// Tasks waiting to run: queued, interrupted, or left running by an engine that stopped
    /// (on a shared store, those another worker holds a live lease of are its own).
    pub fn runnable(&self) -> Result<Vec<TaskId>, EngineError> {
        let mut running = lock(&self.running).clone();
        if let Some(leases) = self.store.leases() {
            running
                .extend(leases.holders()?.into_iter().filter(|(_, worker)| *worker != self.worker).map(|(id, _)| id));
        }
        Ok(self
            .reader()
            .unfinished_tasks()?
            .into_iter()
            .filter(|t| matches!(t.status, TaskStatus::Queued | TaskStatus::Interrupted | TaskStatus::Running))
            .filter(|t| !running.contains(&t.id))
            // A repository named by URL runs only where it can be cloned (`worker --repos`).
            .filter(|t| self.uncloned(t).is_none())
            .map(|t| t.id)
            .collect())
    }
}

/// A scheduler that runs tasks as they become runnable — added, resumed, or queued again after a
/// gate decision — for engines that live as long as a client (the control room, `ambidex serve`).
/// While no model provider can be used it starts none (they stay queued, never failed, and no
/// worktree is made) and announces why, and again when that changes.
///
/// Give the engine a setup that parks at gates (`wait_at_gates = false`): a task waiting for a
/// human then holds no slot, and the decision queues it again, which wakes the scheduler.
pub struct Scheduler {
    stop: tokio::sync::watch::Sender<bool>,
    handle: tokio::task::JoinHandle<()>,
}

/// How often the scheduler looks for work when no event woke it.
const SCHEDULER_TICK: std::time::Duration = std::time::Duration::from_secs(2);

impl Scheduler {
    /// Starts the scheduler on the current tokio runtime with at most `limit` tasks at once.
    /// `report` hears how each run ended (for logs; the events already tell clients).
    pub fn spawn(
        engine: Arc<Engine>,
        limit: usize,
        report: impl Fn(TaskId, Result<Ending, EngineError>) + Send + Sync + 'static,
    ) -> Scheduler {
        let (stop, mut stopped) = tokio::sync::watch::channel(false);
        let report = Arc::new(report);
        let handle = tokio::spawn(async move {
            let mut updates = engine.updates.subscribe();
            let slots = Arc::new(Semaphore::new(limit.max(1)));
            let launched = Arc::new(std::sync::Mutex::new(std::collections::HashSet::<TaskId>::new()));
            let mut ticks = tokio::time::interval(SCHEDULER_TICK);
            let mut announced = None;
            loop {
                let unavailable = engine.readiness().err();
                if unavailable != announced {
                    engine.announce_readiness(unavailable.clone());
                    announced = unavailable.clone();
                }
                let runnable = if unavailable.is_none() { engine.runnable() } else { Ok(Vec::new()) };
                if let Ok(ready) = runnable {
                    for id in ready {
                        if !lock(&launched).insert(id) {
                            continue;
                        }
                        let (engine, slots, launched, report) =
                            (engine.clone(), slots.clone(), launched.clone(), report.clone());
                        tokio::spawn(async move {
                            if let Ok(_slot) = slots.acquire_owned().await {
                                let ending = drive(engine, id).await;
                                report(id, ending);
                            }
                            lock(&launched).remove(&id);
                        });
                    }
                }
                // Only a move into the queue makes new work; deltas and other events do not.
                loop {
                    tokio::select! {
                        _ = stopped.changed() => return,
                        _ = ticks.tick() => break,
                        update = updates.recv() => match update {
                            Ok(Update::Event(event)) if queues(&event.kind) => break,
                            Err(RecvError::Lagged(_)) => break,
                            Err(RecvError::Closed) => return,
                            Ok(_) => {}
                        },
                    }
                }
            }
        });
        Scheduler { stop, handle }
    }

    /// Stops starting tasks. Runs in progress go on until the runtime stops; an interrupted run
    /// resumes on the next start.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.handle.await;
    }
}

/// Whether an event makes a task runnable.
fn queues(kind: &EventKind) -> bool {
    matches!(kind, EventKind::StatusChanged { to: TaskStatus::Queued | TaskStatus::Interrupted, .. })
}
