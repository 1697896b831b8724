//! The engine: the one place that turns client [`Command`]s into persisted events, drives tasks
//! through admission and both hands, holds gates, and broadcasts every committed event (and
//! streamed deltas) to its clients as [`Update`]s.
//!
//! A task, top down:
//! - `admission`: intake, the similar-task and repository signals, triage and the playbook;
//! - `driver`: the loop that runs one task: it reads the projection, picks the next step, runs
//!   it and acts on the [`Flow`] the step answers (go on, ask a gate, end);
//! - `gate_plan`: which gates policy requires before a stage kind and before the PR;
//! - `stages`: the Right Hand's stages (agent stages and validation), keyed by stage kind;
//! - `explore`: the Left Hand: acceptance tests, challengers, the evidence matrix, promotion;
//! - `pr`, `deliver`: the local pull request, then the forge.
//!
//! What they share: `flow` (the vocabulary steps answer with), `task_run` (one run's engine,
//! setup, playbook, worktree, budgets and context), `gates` (opening and deciding gates),
//! `host` (what agents call back into), `breakers` (the circuit breakers), `setup`, `watch`
//! (issues on a forge imported as tasks).
//! Around them: `queries` (the clients' read port), `reconcile` (worktrees versus git at start),
//! `rewind` (a stopped task back to a stage's checkpoint), `clean` (removing a finished task's
//! worktrees), `scheduler` (many tasks under a limit), `readiness` (whether a model provider can
//! be used: tasks wait queued, never fail, until one can).

mod acp_worker;
pub mod admission;
mod artifacts;
pub mod autonomy;
mod breakers;
mod clean;
mod deliver;
pub mod driver;
mod explore;
pub mod feedback;
pub mod flow;
mod focus;
mod gate_plan;
mod gates;
mod host;
pub mod memory;
pub mod metrics;
pub mod museum;
mod pr;
mod queries;
pub mod readiness;
mod reconcile;
pub mod registry;
mod repos;
pub mod retirement;
mod rewind;
pub mod scheduler;
pub mod setup;
mod setup_step;
pub mod shadow;
mod stages;
mod task_run;
pub mod watch;
pub mod worker;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tokio::sync::{broadcast, mpsc, oneshot};

use crate::artifacts::ArtifactStore;
use crate::config::StoreConfig;
use crate::domain::{Task, is_settled};
use crate::protocol::{
    Actor, Client, Command, Decision, Delta, Event, EventKind, GateId, NewEvent, Snapshot, TaskId, TaskSpec,
    TaskStatus, Update,
};
use crate::redact::Redactor;
use crate::store::{CommitHook, LookupError, Store, StoreError, StoreOptions, StoreReader, StoreUrl};

pub use flow::{Ending, Flow};
pub use setup::{AutoApprove, EngineSetup, sandbox_gaps};

/// How many updates a slow client may fall behind before it must reload a snapshot.
const UPDATE_BUFFER: usize = 8192;

/// Why a command was not carried out.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The store refused or failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A task or gate reference did not resolve.
    #[error(transparent)]
    Lookup(#[from] LookupError),
    /// The command does not make sense now.
    #[error("{0}")]
    Refused(String),
    /// The engine was opened without what running tasks needs.
    #[error("this engine cannot run tasks: {0}")]
    NotSetUp(String),
}

type GateAnswer = (Decision, Option<String>);

/// The running engine.
pub struct Engine {
    /// Declared before the store: closing, they run what is queued while the store still records.
    _hooks: Option<Box<crate::hooks::LifecycleHooks>>,
    store: Store,
    /// Where worktrees, PR documents and reports live (beside a redb store, or chosen apart from
    /// a shared one).
    state_dir: PathBuf,
    updates: broadcast::Sender<Update>,
    redactor: Arc<Redactor>,
    setup: Option<Arc<EngineSetup>>,
    /// Runners waiting for a gate decision.
    waiters: Mutex<HashMap<GateId, oneshot::Sender<GateAnswer>>>,
    /// Tasks a runner is driving now.
    running: Mutex<HashSet<TaskId>>,
    /// The metrics folded so far.
    metrics: Mutex<metrics::MetricsFold>,
    /// This process's name in a shared store's leases.
    worker: String,
    /// How long a lease lasts without a heartbeat.
    lease_ttl: std::time::Duration,
    /// Renews this process's leases on a shared store.
    _heartbeat: Option<worker::Heartbeat>,
    /// Where tasks' logs, patches, PR documents and evaluation outputs go.
    artifacts: ArtifactStore,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Refuses a task whose title or text is too long to accept (a task added or revised alike).
fn refuse_oversized(spec: &crate::protocol::TaskSpec) -> Result<(), EngineError> {
    let texts: Vec<&str> = std::iter::once(spec.description.as_str())
        .chain(spec.acceptance_criteria.iter().map(String::as_str))
        .chain(spec.constraints.iter().map(String::as_str))
        .chain(spec.out_of_scope.iter().map(String::as_str))
        .chain(spec.validation.iter().map(String::as_str))
        .collect();
    match crate::protocol::bounded::spec_too_large(&spec.title, &texts) {
        Some(problem) => Err(EngineError::Refused(problem)),
        None => Ok(()),
    }
}

impl Engine {
    /// Opens the store at `path` for writing and starts broadcasting its commits; secrets from
    /// this process's environment are redacted from every event. Such an engine records and
    /// answers commands but does not run tasks.
    pub fn open(path: &Path) -> Result<Engine, StoreError> {
        Engine::open_with(path, Arc::new(Redactor::from_env(std::iter::empty())), None)
    }

    /// Opens the engine with a redactor that knows every configured secret and, to run tasks, a
    /// setup. Tasks the log says are running were stopped with their engine (this one holds the
    /// store now): they become `interrupted`, and their stale git locks are removed.
    pub fn open_with(path: &Path, redactor: Arc<Redactor>, setup: Option<EngineSetup>) -> Result<Engine, StoreError> {
        let state_dir = path.parent().map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        Engine::open_url(&StoreUrl::Redb(path.to_owned()), &state_dir, redactor, setup)
    }

    /// Like [`open_with`](Self::open_with) for the store `url` names, keeping worktrees and
    /// other local files in `state_dir`. On a shared store (PostgreSQL) the tasks other
    /// processes run are theirs: only a redb store's running tasks are taken as interrupted.
    pub fn open_url(
        url: &StoreUrl,
        state_dir: &Path,
        redactor: Arc<Redactor>,
        setup: Option<EngineSetup>,
    ) -> Result<Engine, StoreError> {
        let (updates, _) = broadcast::channel(UPDATE_BUFFER);
        let sender = updates.clone();
        let lifecycle = setup.as_ref().and_then(|s| crate::hooks::LifecycleHooks::new(&s.config.hooks));
        let feed = lifecycle.as_ref().map(|(_, feed)| feed.clone());
        let hook: CommitHook = Box::new(move |events: &[Arc<Event>]| {
            crate::crash::events_committed(events.len());
            for event in events {
                // No subscriber is not an error: the events are durable either way.
                let _ = sender.send(Update::Event(event.clone()));
                if let Some(feed) = &feed {
                    feed.offer(event);
                }
            }
        });
        // What other processes commit to a shared store reaches this one's clients too; their
        // hooks ran where the events were made.
        let foreign_sender = updates.clone();
        let foreign: CommitHook = Box::new(move |events: &[Arc<Event>]| {
            for event in events {
                let _ = foreign_sender.send(Update::Event(event.clone()));
            }
        });
        let options = StoreOptions { hook: Some(hook), redactor: Some(redactor.clone()), foreign: Some(foreign) };
        let store = Store::open_url(url, options)?;
        let path = store.path().to_owned();
        let hooks =
            match (lifecycle, setup.as_ref()) {
                (Some((mut hooks, _)), Some(setup)) => {
                    let appender = store.appender();
                    let recorded = move |events| {
                        // A hook's record that cannot be stored is lost with it; the hook itself ran.
                        let _ = appender.append(events);
                    };
                    hooks.start(setup.repo_root.clone(), redactor.clone(), recorded).map_err(|source| {
                        StoreError::Io { path: path.clone(), action: "start the hooks of", durable_seq: None, source }
                    })?;
                    Some(Box::new(hooks))
                }
                _ => None,
            };
        let worker = worker::worker_name();
        let lease_secs = setup.as_ref().map_or(StoreConfig::default().lease_secs, |s| s.config.store.lease_secs);
        let lease_ttl = std::time::Duration::from_secs(lease_secs.max(1));
        let heartbeat = match store.leases() {
            Some(leases) => {
                Some(worker::Heartbeat::start(leases.clone(), worker.clone(), lease_ttl).map_err(|source| {
                    StoreError::Io { path: path.clone(), action: "start the heartbeat for", durable_seq: None, source }
                })?)
            }
            None => None,
        };
        let store_config = setup.as_ref().map(|s| s.config.store.clone()).unwrap_or_default();
        let artifacts = ArtifactStore::open(&store_config.artifacts, &store_config.artifacts_endpoint, state_dir)
            .map_err(|err| StoreError::Artifacts(err.to_string()))?;
        let engine = Engine {
            worker,
            artifacts,
            lease_ttl,
            _heartbeat: heartbeat,
            _hooks: hooks,
            store,
            state_dir: state_dir.to_owned(),
            updates,
            redactor,
            setup: setup.map(Arc::new),
            waiters: Mutex::new(HashMap::new()),
            running: Mutex::new(HashSet::new()),
            metrics: Mutex::default(),
        };
        engine.recover_at_start()?;
        Ok(engine)
    }

    /// A reader over the engine's store.
    pub fn reader(&self) -> StoreReader {
        self.store.reader()
    }

    /// The redactor every text passes.
    pub fn redactor(&self) -> &Arc<Redactor> {
        &self.redactor
    }

    fn setup(&self) -> Result<&Arc<EngineSetup>, EngineError> {
        self.setup.as_ref().ok_or_else(|| EngineError::NotSetUp("it was opened for bookkeeping only".into()))
    }

    /// The current projection of a task.
    pub fn task(&self, id: TaskId) -> Result<Task, EngineError> {
        self.reader().task(id)?.ok_or_else(|| EngineError::Lookup(LookupError::NotFound(id.to_string())))
    }

    /// Subscribes to updates and returns the state they start from.
    pub fn subscribe(&self) -> Result<(Snapshot, broadcast::Receiver<Update>), StoreError> {
        let receiver = self.updates.subscribe();
        // Subscribed before reading, so no update falls between the snapshot and the stream.
        Ok((self.current_snapshot()?, receiver))
    }

    /// What a client starts from: the tasks under way and the newest
    /// [`queries::SNAPSHOT_FINISHED`] finished ones, the log's head, memory and museum.
    fn current_snapshot(&self) -> Result<Snapshot, StoreError> {
        let reader = self.store.reader();
        let head_seq = reader.head()?.seq;
        let tasks = reader.current_tasks(queries::SNAPSHOT_FINISHED)?.iter().map(Task::summary).collect();
        let memory = Snapshot::memory_shown(reader.memory()?);
        let museum = Snapshot::museum_shown(reader.museum()?);
        Ok(Snapshot { tasks, head_seq, unavailable: self.readiness().err(), memory, museum })
    }

    /// Subscribes to updates without a snapshot (for clients that read the store themselves).
    pub fn listen(&self) -> broadcast::Receiver<Update> {
        self.updates.subscribe()
    }

    /// Broadcasts streamed text (never persisted).
    pub fn broadcast_delta(&self, task: TaskId, actor: &Actor, text: &str) {
        let _ = self.updates.send(Update::Delta(Delta { task, actor: actor.clone(), text: text.to_owned() }));
    }

    /// Connects a client: its commands are carried out in order, as `actor`, on the current
    /// tokio runtime; failures come back as [`Update::CommandFailed`].
    pub fn connect(self: &Arc<Self>, actor: Actor) -> Result<Client, StoreError> {
        let (snapshot, updates) = self.subscribe()?;
        let (commands, mut inbox) = mpsc::unbounded_channel::<Command>();
        let engine = Arc::clone(self);
        tokio::spawn(async move {
            while let Some(command) = inbox.recv().await {
                let shown = format!("{command:?}");
                if let Err(err) = engine.execute(command, actor.clone()).await {
                    let _ = engine.updates.send(Update::CommandFailed { command: shown, error: err.to_string() });
                }
            }
        });
        let queries: Arc<dyn crate::protocol::Queries> = self.clone();
        Ok(Client { snapshot, updates, commands, queries })
    }

    /// Carries out a command and returns the events it appended.
    pub async fn execute(&self, command: Command, actor: Actor) -> Result<Vec<Arc<Event>>, EngineError> {
        if let Command::DecideGate { gate, decision, note, choice } = command {
            return self.decide_gate(gate, decision, note, choice, actor).await;
        }
        if let Command::CleanTask { task, force } = command {
            // Disk work on this thread: callers that must not block (the API) use
            // `execute_blocking` on a blocking thread instead.
            let cleaned = self.clean_worktrees(task, force, &actor)?;
            let appended = self.append(cleaned.events).await?;
            return cleaned.error.map_or(Ok(appended), Err);
        }
        if let Command::RewindTask { task, to, note } = command {
            // Git work on this thread, as for cleaning.
            let events = self.rewind_task(task, &to, note, actor)?;
            return self.append(events).await;
        }
        let events = self.plan(command, actor)?;
        self.append(events).await
    }

    /// Carries out a command from synchronous code (the CLI). Do not call from async code.
    pub fn execute_blocking(&self, command: Command, actor: Actor) -> Result<Vec<Arc<Event>>, EngineError> {
        if let Command::DecideGate { gate, decision, note, choice } = command {
            let events = self.decision_events(gate, decision, note, choice, actor, false)?;
            return self.append_blocking(events);
        }
        if let Command::CleanTask { task, force } = command {
            let cleaned = self.clean_worktrees(task, force, &actor)?;
            let appended = self.append_blocking(cleaned.events)?;
            return cleaned.error.map_or(Ok(appended), Err);
        }
        if let Command::RewindTask { task, to, note } = command {
            let events = self.rewind_task(task, &to, note, actor)?;
            return self.append_blocking(events);
        }
        let events = self.plan(command, actor)?;
        self.append_blocking(events)
    }

    /// Appends events atomically (from async code).
    pub async fn append(&self, events: Vec<NewEvent>) -> Result<Vec<Arc<Event>>, EngineError> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        Ok(self.store.appender().append_async(events).await?)
    }

    /// Appends events atomically (from synchronous code).
    pub fn append_blocking(&self, events: Vec<NewEvent>) -> Result<Vec<Arc<Event>>, EngineError> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        Ok(self.store.append(events)?)
    }

    /// The events that admit a new task: creation, intake's verdict and, when accepted, triage.
    fn admission(&self, id: TaskId, spec: TaskSpec, actor: Actor) -> Vec<NewEvent> {
        let mut events = vec![NewEvent::for_task(id, actor, EventKind::TaskCreated { spec: spec.clone() })];
        if let Ok(setup) = self.setup() {
            events.extend(self.admitted(setup, id, &spec));
        }
        events
    }

    /// Intake, triage and the playbook of a received task and, when it was accepted, the
    /// registry's record of the versions loaded that it had not seen (after the task's own
    /// events: callers take the task's id from the first event).
    pub(crate) fn admitted(&self, setup: &EngineSetup, id: TaskId, spec: &TaskSpec) -> Vec<NewEvent> {
        let reader = self.reader();
        let history = reader.similar_tasks(&spec.title).unwrap_or_default();
        let mut registry = registry::Registry::new(reader.playbooks().unwrap_or_default());
        let recorded = registry.record_loaded(&setup.playbooks, &setup.policy, jiff::Timestamp::now());
        let learned = admission::Learned {
            playbooks: registry.effective(&setup.playbooks),
            autonomy: reader.autonomy().unwrap_or_default(),
        };
        let mut events = admission::events(setup, &learned, id, spec, TaskStatus::Received, &history);
        if events.iter().any(|e| matches!(e.kind, EventKind::PlaybookSelected { .. })) {
            events.extend(recorded);
        }
        events
    }

    /// Turns a command into the events that carry it out.
    fn plan(&self, command: Command, actor: Actor) -> Result<Vec<NewEvent>, EngineError> {
        Ok(match command {
            Command::AddTask { spec } => {
                refuse_oversized(&spec)?;
                self.admission(TaskId::new(), spec, actor)
            }
            Command::ReviseTask { task, spec } => {
                refuse_oversized(&spec)?;
                let status = self.task(task)?.status;
                let mut events = vec![
                    NewEvent::for_task(task, actor.clone(), EventKind::TaskRevised { spec: spec.clone() }),
                    NewEvent::for_task(
                        task,
                        actor,
                        EventKind::StatusChanged {
                            from: status,
                            to: TaskStatus::Received,
                            reason: "revised and resubmitted".into(),
                        },
                    ),
                ];
                if let Ok(setup) = self.setup() {
                    events.extend(self.admitted(setup, task, &spec));
                }
                events
            }
            Command::CancelTask { task, reason } => {
                let status = self.task(task)?.status;
                if is_settled(status) {
                    return Err(EngineError::Refused(format!("task {} is already {status}", task.short())));
                }
                vec![NewEvent::for_task(
                    task,
                    actor,
                    EventKind::StatusChanged { from: status, to: TaskStatus::Cancelled, reason },
                )]
            }
            Command::ResumeTask { task } => {
                let status = self.task(task)?.status;
                if !matches!(status, TaskStatus::Interrupted | TaskStatus::Failed) {
                    return Err(EngineError::Refused(format!(
                        "task {} is {status}; only an interrupted or failed task can be resumed",
                        task.short()
                    )));
                }
                vec![NewEvent::for_task(
                    task,
                    actor,
                    EventKind::StatusChanged { from: status, to: TaskStatus::Queued, reason: "resumed".into() },
                )]
            }
            Command::DecideGate { gate, decision, note, choice } => {
                self.decision_events(gate, decision, note, choice, actor, false)?
            }
            Command::AddNote { task, text } => {
                self.task(task)?;
                vec![NewEvent::for_task(task, actor, EventKind::Note { text })]
            }
            Command::EditMemory { edit } => memory::edit_events(&self.reader().memory()?, edit, actor)?,
            Command::EditMuseum { edit } => museum::edit_events(&self.reader().museum()?, edit, actor)?,
            Command::EditRegistry { edit } => {
                registry::Registry::new(self.reader().playbooks()?).edit_events(edit, &actor, jiff::Timestamp::now())?
            }
            Command::EditAutonomy { edit } => {
                autonomy::edit_events(&self.reader().autonomy()?, edit, &actor, jiff::Timestamp::now())?
            }
            Command::CleanTask { .. } | Command::RewindTask { .. } => {
                return Err(EngineError::Refused("worktree work is carried out by `execute`, not planned".into()));
            }
            Command::Shutdown => Vec::new(),
        })
    }

    /// Stops the engine after every accepted event is durable.
    pub fn shutdown(self) {
        self.store.close();
    }

    /// The store file, or the shared store's server.
    pub fn store_path(&self) -> &Path {
        self.store.path()
    }

    /// The state directory (the store's folder).
    pub fn state_dir(&self) -> PathBuf {
        self.state_dir.clone()
    }

    /// Where worktrees live: `worktrees/` in the state directory.
    pub fn worktrees_root(&self) -> PathBuf {
        self.state_dir().join("worktrees")
    }
}
