//! Filling an empty PostgreSQL store with a log from elsewhere (`ambidex store migrate`): every
//! event keeps its seq, time, actor and hashes, its record is rebuilt and checked against its
//! hash, and the projections are folded from the log, all in one transaction.

use std::collections::HashMap;

use super::super::error::StoreError;
use super::super::record::{self, chain_hash};
use super::connection::PgFailure;
use super::schema::Prepared;
use super::writer::{put_record, put_task};
use super::{RecordKind, id_bytes};
use crate::domain::Task;
use crate::protocol::{Digest, Event, EventKind, TaskId};

/// Writes `events`, the whole log in order from #1, into the empty database at `url`. Returns
/// how many task projections were folded.
pub(crate) fn import(url: &str, events: &[Event]) -> Result<u64, StoreError> {
    super::off_runtime(|| import_here(url, events))
}

fn import_here(url: &str, events: &[Event]) -> Result<u64, StoreError> {
    let (_, location, mut client) = super::session(url)?;
    let fail = |failure: PgFailure| failure.into_store_error(&location, "import into");
    match super::schema::prepare(&mut client).map_err(|err| fail(err.into()))? {
        Prepared::Current { .. } => {}
        Prepared::Newer { found } => {
            return Err(StoreError::NewerSchema { path: location, found, supported: super::SCHEMA_VERSION });
        }
    }
    let folded = (|| -> Result<u64, PgFailure> {
        let mut txn = client.transaction()?;
        let head = super::read::head_of(&txn.query_one("SELECT seq, hash FROM ambidex_head FOR UPDATE", &[])?)?;
        if head.seq != 0 {
            return Err(PgFailure::Damaged(format!(
                "the target already holds {} events: migrate into an empty database",
                head.seq
            )));
        }
        let mut tasks: HashMap<TaskId, Task> = HashMap::new();
        let mut memory_version = 0i64;
        let mut prev = Digest::GENESIS;
        let insert = txn.prepare("INSERT INTO ambidex_events (seq, task, record) VALUES ($1, $2, $3)")?;
        for event in events {
            let body = record::canonical_body(event).map_err(|err| PgFailure::Damaged(err.to_string()))?;
            if event.prev_hash != prev || chain_hash(&prev, &body) != event.hash {
                return Err(PgFailure::Damaged(format!("event #{} does not chain: nothing was written", event.seq)));
            }
            prev = event.hash;
            txn.execute(&insert, &[&(event.seq as i64), &event.task.map(id_bytes), &record::stored(event, &body)])?;
            if put_record(&mut txn, &event.kind)? == Some(RecordKind::Memory) {
                memory_version = event.seq as i64;
            }
            let Some(id) = event.task else { continue };
            let applied = match (&event.kind, tasks.get_mut(&id)) {
                (EventKind::TaskCreated { spec }, None) => {
                    tasks.insert(id, Task::created(id, spec.clone(), event));
                    Ok(())
                }
                (_, Some(task)) => task.apply(event).map_err(|err| err.to_string()),
                (_, None) => Err(format!("no task {id} was created before it")),
            };
            applied.map_err(|detail| PgFailure::Damaged(format!("event #{}: {detail}", event.seq)))?;
        }
        for task in tasks.values() {
            put_task(&mut txn, task)?;
        }
        let (seq, at) = events.last().map_or((0, jiff::Timestamp::UNIX_EPOCH), |last| (last.seq, last.at));
        txn.execute(
            "UPDATE ambidex_head SET seq = $1, hash = $2, last_at = $3, memory_version = $4",
            &[&(seq as i64), &prev.0.to_vec(), &at.to_string(), &memory_version],
        )?;
        txn.commit()?;
        Ok(tasks.len() as u64)
    })();
    folded.map_err(fail)
}
