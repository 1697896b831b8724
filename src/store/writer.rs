//! The single writer: one thread that owns every write transaction.
//!
//! Requests that arrive while a commit is in flight are batched into the next transaction, so many
//! concurrent appenders share one fsync. Each request's events are checked against the task
//! projections first; a request that does not fit is refused whole and takes no sequence numbers,
//! so the log stays gap-free. Projections are written in the same transaction as their events,
//! and the in-memory copies change only after the commit succeeded.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, TryRecvError};

use jiff::Timestamp;
use redb::{Database, ReadableDatabase};

use super::error::StoreError;
use super::stage::{Staged, Stager};
use super::tables::{
    ACTIVE, AUTONOMY, EVENTS, MEMORY, META, META_HEAD, META_MEMORY_VERSION, MUSEUM, PLAYBOOKS, SETUP_NETWORK,
    TASK_EVENTS, TASKS, TITLE_WORDS, WITH_WORKTREES,
};
use crate::domain::{Task, TaskBrief, is_settled, title_words};
use crate::protocol::{Digest, Event, EventKind, NewEvent, TaskId};
use crate::redact::Redactor;

/// Most requests folded into one transaction.
const MAX_BATCH_REQUESTS: usize = 4096;

/// Called on the writer thread with each committed batch, in log order.
pub type CommitHook = Box<dyn Fn(&[Arc<Event>]) + Send>;

/// The events as persisted, or why nothing was.
pub type AppendResult = Result<Vec<Arc<Event>>, StoreError>;

/// Where the writer sends its answer.
pub(crate) enum Reply {
    /// A blocking caller.
    Blocking(std::sync::mpsc::SyncSender<AppendResult>),
    /// An async caller.
    Async(tokio::sync::oneshot::Sender<AppendResult>),
}

impl Reply {
    pub(crate) fn send(self, result: AppendResult) {
        // A caller that gave up waiting is not an error for the writer.
        match self {
            Reply::Blocking(tx) => drop(tx.send(result)),
            Reply::Async(tx) => drop(tx.send(result)),
        }
    }
}

/// Events to append atomically, and where to say how it went.
pub(crate) struct AppendRequest {
    pub events: Vec<NewEvent>,
    pub reply: Reply,
}

/// The last event of the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    /// Its sequence number (0 for an empty log).
    pub seq: u64,
    /// Its hash ([`Digest::GENESIS`] for an empty log).
    pub hash: Digest,
}

impl Head {
    /// The head of an empty log.
    pub const EMPTY: Head = Head { seq: 0, hash: Digest::GENESIS };

    pub(crate) fn to_bytes(self) -> [u8; 40] {
        let mut out = [0u8; 40];
        out[..8].copy_from_slice(&self.seq.to_be_bytes());
        out[8..].copy_from_slice(&self.hash.0);
        out
    }

    pub(crate) fn from_bytes(bytes: &[u8]) -> Option<Head> {
        let seq = u64::from_be_bytes(bytes.get(..8)?.try_into().ok()?);
        let hash: [u8; 32] = bytes.get(8..40)?.try_into().ok()?;
        Some(Head { seq, hash: Digest(hash) })
    }
}

pub(crate) struct Writer {
    pub db: Arc<Database>,
    pub path: PathBuf,
    pub head: Head,
    pub last_at: Timestamp,
    /// The projections of the tasks still under way (a finished task is read from the store on
    /// the rare event that follows it), so the writer's memory follows the active work, not the
    /// history.
    pub tasks: HashMap<TaskId, Task>,
    pub hook: Option<CommitHook>,
    pub redactor: Option<Arc<Redactor>>,
}

/// A request whose events fit, with its place in the batch.
struct Accepted {
    reply: Reply,
    events: Vec<Arc<Event>>,
}

/// A backend's way of committing a batch of requests, each answered through its reply.
pub(crate) trait Commit {
    /// Commits one batch (draining it). Returns `Err` only when the writer cannot go on.
    fn commit_batch(&mut self, batch: &mut Vec<AppendRequest>) -> Result<(), String>;
}

/// Serves requests until every sender is gone or a commit fails for good: requests that arrive
/// while a commit is in flight are batched into the next one.
pub(crate) fn serve(mut writer: impl Commit, requests: Receiver<AppendRequest>) {
    let mut batch = Vec::new();
    while let Ok(first) = requests.recv() {
        batch.push(first);
        while batch.len() < MAX_BATCH_REQUESTS {
            match requests.try_recv() {
                Ok(next) => batch.push(next),
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
            }
        }
        if let Err(fatal) = writer.commit_batch(&mut batch) {
            for request in batch.drain(..).chain(requests.try_iter()) {
                request.reply.send(Err(StoreError::WriterStopped { reason: Some(fatal.clone()) }));
            }
            // Later requests find the channel closed and get the same answer from the handle.
            return;
        }
    }
}

impl Commit for Writer {
    fn commit_batch(&mut self, batch: &mut Vec<AppendRequest>) -> Result<(), String> {
        let at = Timestamp::now().max(self.last_at);
        let mut staged: HashMap<TaskId, Task> = HashMap::new();
        let mut accepted: Vec<Accepted> = Vec::with_capacity(batch.len());
        let mut head = self.head;
        let written = (|| -> Result<(), redb::Error> {
            let txn = self.db.begin_write()?;
            {
                let mut events = txn.open_table(EVENTS)?;
                let mut index = txn.open_table(TASK_EVENTS)?;
                let mut network = txn.open_table(SETUP_NETWORK)?;
                let mut memory = txn.open_table(MEMORY)?;
                let mut museum = txn.open_table(MUSEUM)?;
                let mut playbooks = txn.open_table(PLAYBOOKS)?;
                let mut autonomy = txn.open_table(AUTONOMY)?;
                let mut memory_version = None;
                let mut buf = Vec::with_capacity(512);
                let stager = Stager { location: &self.path, redactor: self.redactor.as_deref(), held: &self.tasks };
                for request in batch.drain(..) {
                    match stager.stage(request.events, head, at, &staged, &mut |id| self.stored(id)) {
                        Err(err) => request.reply.send(Err(err)),
                        Ok(Staged { events: request_events, records, tasks: scratch }) => {
                            for (event, bytes) in request_events.iter().zip(&records) {
                                events.insert(event.seq, bytes.as_slice())?;
                                if let Some(task) = event.task {
                                    index.insert((task.as_u128(), event.seq), ())?;
                                }
                                match &event.kind {
                                    EventKind::SetupNetworkAllowed { repo, commands } => {
                                        super::migrate::allow_network(&mut network, repo, commands)?;
                                    }
                                    EventKind::MemoryChanged { entry, .. } => {
                                        super::migrate::put_memory(&mut memory, entry)?;
                                        memory_version = Some(event.seq);
                                    }
                                    EventKind::ExhibitChanged { exhibit, .. } => {
                                        super::migrate::put_exhibit(&mut museum, exhibit)?;
                                    }
                                    EventKind::PlaybookChanged { version, .. } => {
                                        super::migrate::put_playbook(&mut playbooks, version)?;
                                    }
                                    EventKind::AutonomyChanged { state, .. } => {
                                        super::migrate::put_autonomy(&mut autonomy, state)?;
                                    }
                                    _ => {}
                                }
                            }
                            if let Some(last) = request_events.last() {
                                head = Head { seq: last.seq, hash: last.hash };
                            }
                            staged.extend(scratch);
                            accepted.push(Accepted { reply: request.reply, events: request_events });
                        }
                    }
                }
                let mut tasks = txn.open_table(TASKS)?;
                let mut words = txn.open_table(TITLE_WORDS)?;
                let mut active = txn.open_table(ACTIVE)?;
                let mut with_worktrees = txn.open_table(WITH_WORKTREES)?;
                for (id, task) in &staged {
                    buf.clear();
                    serde_json::to_writer(&mut buf, task).map_err(|err| redb::Error::Corrupted(err.to_string()))?;
                    let replaced = tasks.insert(id.as_u128(), buf.as_slice())?;
                    // The title before this batch: from memory, or from the row replaced (a
                    // finished task read back).
                    let before = match self.tasks.get(id) {
                        Some(held) => Some(held.spec.title.clone()),
                        None => replaced
                            .and_then(|old| serde_json::from_slice::<TaskBrief>(old.value()).ok())
                            .map(|old| old.spec.title),
                    };
                    if before.as_deref() != Some(task.spec.title.as_str()) {
                        index_title(&mut words, *id, before.as_deref(), &task.spec.title)?;
                    }
                    if is_settled(task.status) {
                        active.remove(id.as_u128())?;
                    } else {
                        active.insert(id.as_u128(), ())?;
                    }
                    if task.worktrees.is_empty() {
                        with_worktrees.remove(id.as_u128())?;
                    } else {
                        with_worktrees.insert(id.as_u128(), ())?;
                    }
                }
                let mut meta = txn.open_table(META)?;
                meta.insert(META_HEAD, head.to_bytes().as_slice())?;
                if let Some(version) = memory_version {
                    meta.insert(META_MEMORY_VERSION, version.to_be_bytes().as_slice())?;
                }
            }
            txn.commit()?;
            Ok(())
        })();

        match written {
            Ok(()) => {
                self.head = head;
                self.last_at = at;
                for (id, task) in staged {
                    if is_settled(task.status) {
                        self.tasks.remove(&id);
                    } else {
                        self.tasks.insert(id, task);
                    }
                }
                let all: Vec<Arc<Event>> = accepted.iter().flat_map(|a| a.events.iter().cloned()).collect();
                for done in accepted {
                    done.reply.send(Ok(done.events));
                }
                if let Some(hook) = self.hook.as_ref().filter(|_| !all.is_empty()) {
                    hook(&all);
                }
                Ok(())
            }
            Err(err) => {
                let error = StoreError::from_redb(&self.path, "commit to", Some(self.head.seq), err);
                let fatal = error.to_string();
                for done in accepted {
                    done.reply.send(Err(error.duplicate()));
                }
                // After a failed commit redb refuses further writes until the file is reopened.
                Err(fatal)
            }
        }
    }
}

impl Writer {
    /// The stored projection of a task the writer does not hold (a finished one).
    fn stored(&self, id: TaskId) -> Result<Option<Task>, StoreError> {
        let txn = self
            .db
            .begin_read()
            .map_err(|err| StoreError::from_redb(&self.path, "read", None, redb::Error::from(err)))?;
        super::read::task(&txn, id).map_err(|err| super::read_failure(&self.path, err))
    }
}

/// Reads the head and the projections of the tasks under way: what a writer needs to start.
pub(crate) fn load_state(txn: &redb::ReadTransaction) -> Result<(Head, HashMap<TaskId, Task>), super::read::ReadError> {
    let head = super::read::head(txn)?;
    let tasks = super::read::unfinished_tasks(txn)?.into_iter().map(|task| (task.id, task)).collect();
    Ok((head, tasks))
}

/// Moves task `id` in the title-word index from the words of its `before` title to those of
/// `after`.
pub(crate) fn index_title(
    words: &mut redb::Table<(&'static str, u128), ()>,
    id: TaskId,
    before: Option<&str>,
    after: &str,
) -> Result<(), redb::Error> {
    let key = id.as_u128();
    for word in before.map(title_words).unwrap_or_default() {
        words.remove((word.as_str(), key))?;
    }
    for word in title_words(after) {
        words.insert((word.as_str(), key), ())?;
    }
    Ok(())
}
