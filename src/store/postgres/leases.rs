//! The shared work queue's leases: a worker runs a task only while it holds the task's lease,
//! renews it by heartbeat, and gives it back when the run ends (done, failed, or parked at a
//! gate: a task waiting for a human holds no lease). A lease that was not renewed in time
//! expires, and the task, still `running` in the log, is another worker's to resume from its
//! last stage checkpoint. Claims skip rows another claim has locked (`FOR UPDATE SKIP LOCKED`),
//! and a lease changes hands only when it has expired, so two workers never hold one task.

use std::sync::Arc;
use std::time::Duration;

use super::super::error::StoreError;
use super::connection::Connection;
use super::{id_bytes, task_id};
use crate::protocol::TaskId;

/// The leases of one shared store.
#[derive(Clone)]
pub struct Leases {
    pub(super) connection: Arc<Connection>,
}

impl Leases {
    /// Takes the lease of the oldest task a worker may run — queued, interrupted, or running
    /// with no live lease (its worker died) — other than those in `skip`, for `ttl`.
    pub fn claim_next(&self, worker: &str, ttl: Duration, skip: &[TaskId]) -> Result<Option<TaskId>, StoreError> {
        let (worker, skip): (String, Vec<Vec<u8>>) = (worker.to_owned(), skip.iter().map(|id| id_bytes(*id)).collect());
        self.connection.run(move |client| {
            let row = client.query_opt(
                "WITH next AS ( \
                   SELECT t.id FROM ambidex_tasks t LEFT JOIN ambidex_leases l ON l.task = t.id \
                   WHERE NOT t.settled AND t.status IN ('queued', 'interrupted', 'running') \
                     AND (l.task IS NULL OR l.expires_at < now()) AND NOT (t.id = ANY($3)) \
                   ORDER BY t.id LIMIT 1 FOR UPDATE OF t SKIP LOCKED \
                 ) \
                 INSERT INTO ambidex_leases (task, worker, expires_at) \
                 SELECT id, $1, now() + make_interval(secs => $2) FROM next \
                 ON CONFLICT (task) DO UPDATE SET worker = EXCLUDED.worker, expires_at = EXCLUDED.expires_at \
                   WHERE ambidex_leases.expires_at < now() \
                 RETURNING task",
                &[&worker, &ttl.as_secs_f64(), &skip],
            )?;
            row.map(|row| task_id(row.get(0))).transpose()
        })
    }

    /// Takes the lease of `task` for `worker`, or renews it if `worker` holds it; answers the
    /// worker holding a live lease otherwise.
    pub fn take(&self, task: TaskId, worker: &str, ttl: Duration) -> Result<Result<(), String>, StoreError> {
        let worker = worker.to_owned();
        self.connection.run(move |client| {
            let row = client.query_one(
                "WITH taken AS ( \
                   INSERT INTO ambidex_leases (task, worker, expires_at) \
                   VALUES ($1, $2, now() + make_interval(secs => $3)) \
                   ON CONFLICT (task) DO UPDATE SET worker = EXCLUDED.worker, expires_at = EXCLUDED.expires_at \
                     WHERE ambidex_leases.expires_at < now() OR ambidex_leases.worker = EXCLUDED.worker \
                   RETURNING worker \
                 ) \
                 SELECT (SELECT worker FROM taken), (SELECT worker FROM ambidex_leases WHERE task = $1)",
                &[&id_bytes(task), &worker, &ttl.as_secs_f64()],
            )?;
            Ok(match (row.get::<_, Option<String>>(0), row.get::<_, Option<String>>(1)) {
                (Some(_), _) => Ok(()),
                (None, holder) => Err(holder.unwrap_or_default()),
            })
        })
    }

    /// Extends every lease `worker` holds by `ttl` from now; answers how many it holds.
    pub fn renew(&self, worker: &str, ttl: Duration) -> Result<u64, StoreError> {
        let worker = worker.to_owned();
        self.connection.run(move |client| {
            Ok(client.execute(
                "UPDATE ambidex_leases SET expires_at = now() + make_interval(secs => $2) WHERE worker = $1",
                &[&worker, &ttl.as_secs_f64()],
            )?)
        })
    }

    /// Gives back `worker`'s lease of `task`.
    pub fn release(&self, task: TaskId, worker: &str) -> Result<(), StoreError> {
        let worker = worker.to_owned();
        self.connection.run(move |client| {
            client
                .execute("DELETE FROM ambidex_leases WHERE task = $1 AND worker = $2", &[&id_bytes(task), &worker])?;
            Ok(())
        })
    }

    /// Who holds a live lease of each task that has one.
    pub fn holders(&self) -> Result<Vec<(TaskId, String)>, StoreError> {
        self.connection.run(|client| {
            let rows =
                client.query("SELECT task, worker FROM ambidex_leases WHERE expires_at >= now() ORDER BY task", &[])?;
            rows.iter().map(|row| Ok((task_id(row.get(0))?, row.get(1)))).collect()
        })
    }
}
