//! The PostgreSQL backend's writer: one thread per process, batching like the redb writer.
//! Many processes (workers on many machines) write one log, so each batch takes the head row's
//! lock first (`SELECT … FOR UPDATE`): batches from everywhere are chained one after another,
//! and each is staged on the projections as committed, read in the same transaction. A commit
//! wakes every listener (`NOTIFY ambidex_events`) with the new head.

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;

use jiff::Timestamp;
use postgres::{Client, Config, Transaction};

use super::super::error::StoreError;
use super::super::stage::{Staged, Stager};
use super::super::writer::{AppendRequest, Commit, CommitHook, Head, Reply};
use super::connection::{PgFailure, open_session};
use super::{RecordKind, id_bytes, status_name};
use crate::domain::{Task, is_settled, title_words};
use crate::protocol::{Event, EventKind, TaskId};
use crate::redact::Redactor;

/// The channel a commit notifies, with the new head's seq as its payload.
pub(crate) const CHANNEL: &str = "ambidex_events";

pub(crate) struct PgWriter {
    pub config: Config,
    pub location: PathBuf,
    pub session: Option<Client>,
    pub hook: Option<CommitHook>,
    pub redactor: Option<Arc<Redactor>>,
    /// The seqs of this process's events, for the feed to leave out (when there is a feed).
    pub own: Option<super::feed::Own>,
    /// Keeps the feed running while the writer lives.
    pub _feed: Option<std::sync::mpsc::Sender<()>>,
}

/// A request whose events fit.
struct Accepted {
    reply: Reply,
    events: Vec<Arc<Event>>,
}

impl Commit for PgWriter {
    fn commit_batch(&mut self, batch: &mut Vec<AppendRequest>) -> Result<(), String> {
        let mut pending: VecDeque<AppendRequest> = batch.drain(..).collect();
        let (location, redactor, own) = (self.location.clone(), self.redactor.clone(), self.own.clone());
        let mut accepted: Vec<Accepted> = Vec::with_capacity(pending.len());
        let client = match open_session(&mut self.session, &self.config) {
            Ok(client) => client,
            Err(failure) => {
                // The server is unreachable: every request hears why.
                let error = failure.into_store_error(&self.location, "connect to");
                for request in pending {
                    request.reply.send(Err(error.duplicate()));
                }
                return Ok(());
            }
        };
        let committed = (|| {
            let mut txn = client.transaction()?;
            commit(&mut txn, &mut pending, &location, redactor.as_deref(), &mut accepted)?;
            // Marked before the commit makes them visible, so the feed always knows them.
            if let Some(own) = &own {
                let mut own = own.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                own.extend(accepted.iter().flat_map(|a| a.events.iter().map(|event| event.seq)));
            }
            txn.commit()?;
            Ok::<_, PgFailure>(())
        })();
        match committed {
            Ok(()) => {
                let all: Vec<Arc<Event>> = accepted.iter().flat_map(|a| a.events.iter().cloned()).collect();
                for done in accepted {
                    done.reply.send(Ok(done.events));
                }
                if let Some(hook) = self.hook.as_ref().filter(|_| !all.is_empty()) {
                    hook(&all);
                }
            }
            Err(failure) => {
                // The session may be the cause (the server dropped it): the next batch opens a new one.
                self.session = None;
                let error = failure.into_store_error(&self.location, "commit to");
                // Nothing of the batch was written: another process may commit those seqs now.
                if let Some(own) = &self.own {
                    let mut own = own.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                    for event in accepted.iter().flat_map(|a| a.events.iter()) {
                        own.remove(&event.seq);
                    }
                }
                // Those staged and those not reached yet alike hear why.
                for reply in accepted.into_iter().map(|done| done.reply).chain(pending.into_iter().map(|r| r.reply)) {
                    reply.send(Err(error.duplicate()));
                }
            }
        }
        // Nothing is held between batches: the next one starts afresh, on a new session if the
        // server dropped this one.
        Ok(())
    }
}

/// Stages and writes the `pending` requests in `txn`, taking each out as it goes: those that
/// do not fit are answered at once, the others are left in `accepted` to be answered after the
/// commit; on an error, what is still pending was not reached.
fn commit(
    txn: &mut Transaction<'_>,
    pending: &mut VecDeque<AppendRequest>,
    location: &std::path::Path,
    redactor: Option<&Redactor>,
    accepted: &mut Vec<Accepted>,
) -> Result<(), PgFailure> {
    let row = txn.query_one("SELECT seq, hash, last_at, memory_version FROM ambidex_head FOR UPDATE", &[])?;
    let mut head = super::read::head_of(&row)?;
    let last_at: Timestamp = row.get::<_, String>(2).parse().unwrap_or(Timestamp::UNIX_EPOCH);
    let mut memory_version: i64 = row.get(3);
    let at = Timestamp::now().max(last_at);

    let ids: HashSet<TaskId> = pending.iter().flat_map(|r| r.events.iter().filter_map(|e| e.task)).collect();
    let keys: Vec<Vec<u8>> = ids.iter().map(|id| id_bytes(*id)).collect();
    let mut before: HashMap<TaskId, Task> = HashMap::new();
    for row in txn.query("SELECT id, body FROM ambidex_tasks WHERE id = ANY($1)", &[&keys])? {
        let task: Task = super::read::projection(&row, 0, 1)?;
        before.insert(task.id, task);
    }

    let held = HashMap::new();
    let stager = Stager { location, redactor, held: &held };
    let mut staged: HashMap<TaskId, Task> = HashMap::new();
    let insert = txn.prepare("INSERT INTO ambidex_events (seq, task, record) VALUES ($1, $2, $3)")?;
    while let Some(AppendRequest { events, reply }) = pending.pop_front() {
        let stored = &mut |id: TaskId| Ok::<_, StoreError>(before.get(&id).cloned());
        match stager.stage(events, head, at, &staged, stored) {
            Err(err) => reply.send(Err(err)),
            Ok(Staged { events, records, tasks }) => {
                for (event, record) in events.iter().zip(&records) {
                    txn.execute(&insert, &[&(event.seq as i64), &event.task.map(id_bytes), record])?;
                    if put_record(txn, &event.kind)? == Some(RecordKind::Memory) {
                        memory_version = event.seq as i64;
                    }
                }
                if let Some(last) = events.last() {
                    head = Head { seq: last.seq, hash: last.hash };
                }
                staged.extend(tasks);
                accepted.push(Accepted { reply, events });
            }
        }
    }
    for task in staged.values() {
        put_task(txn, task)?;
    }
    txn.execute(
        "UPDATE ambidex_head SET seq = $1, hash = $2, last_at = $3, memory_version = $4",
        &[&(head.seq as i64), &head.hash.0.to_vec(), &at.to_string(), &memory_version],
    )?;
    txn.execute(&format!("NOTIFY {CHANNEL}, '{}'", head.seq), &[])?;
    Ok(())
}

/// Writes (or replaces) a task's projection with the columns its indexes need.
pub(crate) fn put_task(txn: &mut Transaction<'_>, task: &Task) -> Result<(), PgFailure> {
    let body = serde_json::to_vec(task).map_err(|err| PgFailure::Damaged(err.to_string()))?;
    let words: Vec<String> = title_words(&task.spec.title).into_iter().collect();
    txn.execute(
        "INSERT INTO ambidex_tasks (id, status, repo, settled, has_worktrees, title_words, body) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, repo = EXCLUDED.repo, \
           settled = EXCLUDED.settled, has_worktrees = EXCLUDED.has_worktrees, \
           title_words = EXCLUDED.title_words, body = EXCLUDED.body",
        &[
            &id_bytes(task.id),
            &status_name(task.status),
            &task.spec.repo,
            &is_settled(task.status),
            &!task.worktrees.is_empty(),
            &words,
            &body,
        ],
    )?;
    Ok(())
}

/// Records the projection an event sets, if it sets one; returns its kind.
pub(crate) fn put_record(txn: &mut Transaction<'_>, kind: &EventKind) -> Result<Option<RecordKind>, PgFailure> {
    let Some((kind, key, body)) = RecordKind::of(kind)? else { return Ok(None) };
    txn.execute(
        "INSERT INTO ambidex_records (kind, key, body) VALUES ($1, $2, $3) \
         ON CONFLICT (kind, key) DO UPDATE SET body = EXCLUDED.body",
        &[&kind.as_str(), &key, &body],
    )?;
    Ok(Some(kind))
}
