//! Running many tasks under the concurrency limit from the configuration.

use std::sync::Arc;

use tokio::sync::Semaphore;

use super::pipeline::{Ending, drive};
use super::{Engine, EngineError, lock};
use crate::protocol::{TaskId, TaskStatus};

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
    /// Tasks waiting to run: queued, interrupted, or left running by an engine that stopped.
    pub fn runnable(&self) -> Result<Vec<TaskId>, EngineError> {
        let running = lock(&self.running).clone();
        Ok(self
            .reader()
            .tasks()?
            .into_iter()
            .filter(|t| matches!(t.status, TaskStatus::Queued | TaskStatus::Interrupted | TaskStatus::Running))
            .filter(|t| !running.contains(&t.id))
            .map(|t| t.id)
            .collect())
    }
}

/// Keeps driving tasks as they become runnable — those waiting when it starts, then each one the
/// log queues (admitted by intake, resumed, or released by a gate decided while no runner
/// waited) — with at most `limit` at once, until `stop` turns true or the engine stops. Each
/// run's ending goes to `ended`. Runs still going at the stop are dropped; their tasks resume from
/// their last durable step on the next start.
pub async fn keep_driving(
    engine: Arc<Engine>,
    limit: usize,
    mut stop: tokio::sync::watch::Receiver<bool>,
    ended: impl Fn(TaskId, Result<Ending, EngineError>) + Send + Sync + 'static,
) {
    use crate::protocol::{EventKind, Update};
    use tokio::sync::broadcast::error::RecvError;

    let slots = Arc::new(Semaphore::new(limit.max(1)));
    let ended = Arc::new(ended);
    let mut runs = tokio::task::JoinSet::new();
    let start = |id: TaskId, runs: &mut tokio::task::JoinSet<()>| {
        let (engine, slots, ended) = (engine.clone(), slots.clone(), ended.clone());
        runs.spawn(async move {
            let Ok(_slot) = slots.acquire_owned().await else { return };
            // Queued again while a run has it: that run carries on.
            if lock(&engine.running).contains(&id) {
                return;
            }
            ended(id, drive(engine, id).await);
        });
    };
    // Subscribe before the first look, so nothing queued in between is missed.
    let mut updates = engine.listen();
    for id in engine.runnable().unwrap_or_default() {
        start(id, &mut runs);
    }
    loop {
        tokio::select! {
            _ = stop.wait_for(|stop| *stop) => break,
            update = updates.recv() => match update {
                Ok(Update::Event(event)) => {
                    if let (Some(id), EventKind::StatusChanged { to: TaskStatus::Queued, .. }) = (event.task, &event.kind) {
                        start(id, &mut runs);
                    }
                }
                Ok(_) => {}
                Err(RecvError::Lagged(_)) => {
                    for id in engine.runnable().unwrap_or_default() {
                        start(id, &mut runs);
                    }
                }
                Err(RecvError::Closed) => break,
            },
            Some(_) = runs.join_next(), if !runs.is_empty() => {}
        }
    }
    runs.abort_all();
    while runs.join_next().await.is_some() {}
}
