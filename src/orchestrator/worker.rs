//! Workers: engines that take tasks from the store's queue and run them. On a shared store
//! (PostgreSQL) many workers on many machines pull from one queue: each run holds its task's
//! lease ([`crate::store::Leases`]), a heartbeat renews the leases while the process lives, and
//! a task whose worker died (its lease expired, the log still says `running`) is claimed by
//! another worker, which resumes it from its last stage checkpoint. A task parked at a gate
//! holds no lease; the decision, taken anywhere, queues it again for any worker. On the
//! embedded store the one process holding it is the only worker.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

use super::driver::drive;
use super::flow::Ending;
use super::{Engine, EngineError, lock};
use crate::protocol::{TaskId, TaskStatus};
use crate::store::Leases;

/// How often a worker looks for work when none of its runs ended meanwhile.
const POLL: Duration = Duration::from_millis(500);

/// This process's name in leases: the host and the process id.
pub fn worker_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "host".into());
    format!("{host}:{}", std::process::id())
}

/// A thread renewing this process's leases every third of their time, until dropped.
pub(super) struct Heartbeat {
    stop: Option<std::sync::mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Heartbeat {
    pub(super) fn start(leases: Leases, worker: String, ttl: Duration) -> std::io::Result<Heartbeat> {
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::Builder::new().name("ambidex-heartbeat".into()).spawn(move || {
            while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(ttl / 3) {
                // A missed beat is retried at the next; a lease lost meanwhile is another
                // worker's to take, and this run's next append still lands in the one log.
                let _ = leases.renew(&worker, ttl);
            }
        })?;
        Ok(Heartbeat { stop: Some(stop), thread: Some(thread) })
    }
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// How a worker runs.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// Tasks run at once.
    pub slots: usize,
    /// Return once no task is left that any worker could run (none queued, interrupted or
    /// running), or when this worker can run none (no usable model), instead of waiting.
    pub exit_when_idle: bool,
}

impl Engine {
    /// Takes the next task this process may run, other than those in `skip`: on a shared store
    /// by taking its lease, on the embedded one from the tasks waiting to run.
    pub fn claim_next(&self, skip: &HashSet<TaskId>) -> Result<Option<TaskId>, EngineError> {
        match self.store.leases() {
            Some(leases) => {
                let skip: Vec<TaskId> = skip.iter().copied().collect();
                Ok(leases.claim_next(&self.worker, self.lease_ttl, &skip)?)
            }
            None => Ok(self.runnable()?.into_iter().find(|id| !skip.contains(id))),
        }
    }

    /// Holds `id`'s lease for this process's run of it (nothing on the embedded store).
    pub(super) fn take_lease(&self, id: TaskId) -> Result<(), EngineError> {
        let Some(leases) = self.store.leases() else { return Ok(()) };
        leases
            .take(id, &self.worker, self.lease_ttl)?
            .map_err(|holder| EngineError::Refused(format!("task {} is being run by worker {holder}", id.short())))
    }

    /// Who runs a task, for the reason of its move to `running`: on a shared store, which
    /// worker (so every control room shows who runs what); nothing on the embedded one.
    pub(super) fn runner(&self) -> String {
        if self.store.is_shared() { format!(" by worker {}", self.worker) } else { String::new() }
    }

    /// Gives back `id`'s lease, if this process holds it.
    pub(super) fn release_lease(&self, id: TaskId) {
        if let Some(leases) = self.store.leases() {
            // An unreleased lease expires on its own; the task is then anyone's.
            let _ = leases.release(id, &self.worker);
        }
    }

    /// Whether a task is left that this worker could run, now or once another worker is done
    /// with it: one queued, interrupted or running, other than those in `elsewhere` (whose
    /// repository this machine cannot reach).
    fn work_left(&self, elsewhere: &HashSet<TaskId>) -> Result<bool, EngineError> {
        Ok(self.reader().unfinished_tasks()?.iter().any(|task| {
            !elsewhere.contains(&task.id)
                && matches!(task.status, TaskStatus::Queued | TaskStatus::Interrupted | TaskStatus::Running)
        }))
    }
}

/// Runs tasks from the queue, `options.slots` at once, until stopped or (with
/// `exit_when_idle`) until no work is left anywhere. `report` hears how each run ended.
pub async fn run_worker(
    engine: Arc<Engine>,
    options: WorkerOptions,
    report: impl Fn(TaskId, Result<Ending, EngineError>) + Send + Sync + 'static,
) -> Result<(), EngineError> {
    let slots = Arc::new(Semaphore::new(options.slots.max(1)));
    let launched = Arc::new(std::sync::Mutex::new(HashSet::<TaskId>::new()));
    let report = Arc::new(report);
    // A run that ends frees a slot: look for work at once rather than at the next poll.
    let ended = Arc::new(tokio::sync::Notify::new());
    // Tasks whose repository this machine cannot reach: left to other workers.
    let mut elsewhere = HashSet::<TaskId>::new();
    loop {
        let mut claimed = false;
        while slots.available_permits() > 0 && engine.readiness().is_ok() {
            let skip: HashSet<TaskId> = lock(&launched).union(&elsewhere).copied().collect();
            let Some(id) = engine.claim_next(&skip)? else { break };
            if let Some(why) = engine.task(id).ok().and_then(|task| engine.unreachable_repo(&task)) {
                engine.release_lease(id);
                elsewhere.insert(id);
                report(id, Err(EngineError::Refused(format!("left to other workers: {why}"))));
                continue;
            }
            claimed = true;
            lock(&launched).insert(id);
            let slot = slots.clone().acquire_owned().await.map_err(|_| EngineError::Refused("stopped".into()))?;
            let (engine, launched, report, ended) = (engine.clone(), launched.clone(), report.clone(), ended.clone());
            tokio::spawn(async move {
                let ending = drive(engine.clone(), id).await;
                drop(slot);
                report(id, ending);
                lock(&launched).remove(&id);
                ended.notify_one();
            });
        }
        // Idle for good: nothing left anywhere, or nothing this worker can run (no usable model).
        let idle = !claimed && lock(&launched).is_empty();
        if options.exit_when_idle && idle && (engine.readiness().is_err() || !engine.work_left(&elsewhere)?) {
            return Ok(());
        }
        tokio::select! {
            () = tokio::time::sleep(POLL) => {}
            () = ended.notified() => {}
        }
    }
}
