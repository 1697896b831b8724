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
