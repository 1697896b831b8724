//! The engine: the one place that turns client [`Command`]s into persisted events and broadcasts
//! every committed event (and, later, streamed deltas) to its clients as [`Update`]s.
//!
//! Intake, triage, the tracks and gates build on this; for now it handles the commands that need
//! no agents: adding, revising, cancelling and annotating tasks, and deciding gates.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::sync::{broadcast, mpsc};

use crate::domain::{Task, is_final};
use crate::protocol::{
    Actor, Client, Command, Event, EventKind, NewEvent, Snapshot, TaskId, TaskStatus, Update,
};
use crate::store::{CommitHook, LookupError, Store, StoreError, StoreReader};
use crate::workspace::{Worktree, WorktreeIssue, reconcile};

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
}

/// The running engine.
pub struct Engine {
    store: Store,
    updates: broadcast::Sender<Update>,
}

impl Engine {
    /// Opens the store at `path` for writing and starts broadcasting its commits.
    pub fn open(path: &Path) -> Result<Engine, StoreError> {
        let (updates, _) = broadcast::channel(UPDATE_BUFFER);
        let sender = updates.clone();
        let hook: CommitHook = Box::new(move |events: &[Arc<Event>]| {
            for event in events {
                // No subscriber is not an error: the events are durable either way.
                let _ = sender.send(Update::Event(event.clone()));
            }
        });
        let store = Store::open_with_hook(path, Some(hook))?;
        Ok(Engine { store, updates })
    }

    /// A reader over the engine's store.
    pub fn reader(&self) -> StoreReader {
        self.store.reader()
    }

    /// Subscribes to updates and returns the state they start from.
    pub fn subscribe(&self) -> Result<(Snapshot, broadcast::Receiver<Update>), StoreError> {
        let receiver = self.updates.subscribe();
        let reader = self.store.reader();
        let head_seq = reader.head()?.seq;
        let tasks = reader.tasks()?.iter().map(Task::summary).collect();
        Ok((Snapshot { tasks, head_seq }, receiver))
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
                    let _ = engine.updates.send(Update::CommandFailed {
                        command: shown,
                        error: err.to_string(),
                    });
                }
            }
        });
        Ok(Client {
            snapshot,
            updates,
            commands,
        })
    }

    /// Carries out a command and returns the events it appended.
    pub async fn execute(
        &self,
        command: Command,
        actor: Actor,
    ) -> Result<Vec<Arc<Event>>, EngineError> {
        let events = self.plan(command, actor)?;
        if events.is_empty() {
            return Ok(Vec::new());
        }
        Ok(self.store.appender().append_async(events).await?)
    }

    /// Carries out a command from synchronous code (the CLI). Do not call from async code.
    pub fn execute_blocking(
        &self,
        command: Command,
        actor: Actor,
    ) -> Result<Vec<Arc<Event>>, EngineError> {
        let events = self.plan(command, actor)?;
        if events.is_empty() {
            return Ok(Vec::new());
        }
        Ok(self.store.append(events)?)
    }

    /// Turns a command into the events that carry it out.
    fn plan(&self, command: Command, actor: Actor) -> Result<Vec<NewEvent>, EngineError> {
        let reader = self.store.reader();
        let current = |id| -> Result<Task, EngineError> {
            reader
                .task(id)?
                .ok_or_else(|| EngineError::Lookup(LookupError::NotFound(id.to_string())))
        };
        Ok(match command {
            Command::AddTask { spec } => {
                vec![NewEvent::for_task(
                    TaskId::new(),
                    actor,
                    EventKind::TaskCreated { spec },
                )]
            }
            Command::ReviseTask { task, spec } => {
                let status = current(task)?.status;
                vec![
                    NewEvent::for_task(task, actor.clone(), EventKind::TaskRevised { spec }),
                    NewEvent::for_task(
                        task,
                        actor,
                        EventKind::StatusChanged {
                            from: status,
                            to: TaskStatus::Received,
                            reason: "revised and resubmitted".into(),
                        },
                    ),
                ]
            }
            Command::CancelTask { task, reason } => {
                let status = current(task)?.status;
                if is_final(status) {
                    return Err(EngineError::Refused(format!(
                        "task {} is already {status}",
                        task.short()
                    )));
                }
                vec![NewEvent::for_task(
                    task,
                    actor,
                    EventKind::StatusChanged {
                        from: status,
                        to: TaskStatus::Cancelled,
                        reason,
                    },
                )]
            }
            Command::ResumeTask { task } => {
                let status = current(task)?.status;
                if status != TaskStatus::Interrupted {
                    return Err(EngineError::Refused(format!(
                        "task {} is {status}; only an interrupted task can be resumed",
                        task.short()
                    )));
                }
                vec![NewEvent::for_task(
                    task,
                    actor,
                    EventKind::StatusChanged {
                        from: status,
                        to: TaskStatus::Queued,
                        reason: "resumed".into(),
                    },
                )]
            }
            Command::DecideGate {
                gate,
                decision,
                note,
            } => {
                let task = reader
                    .tasks()?
                    .into_iter()
                    .find(|t| t.open_gates.iter().any(|g| g.id == gate))
                    .ok_or_else(|| EngineError::Refused(format!("no open gate {gate}")))?;
                vec![NewEvent::for_task(
                    task.id,
                    actor,
                    EventKind::GateDecided {
                        gate,
                        decision,
                        note,
                    },
                )]
            }
            Command::AddNote { task, text } => {
                current(task)?;
                vec![NewEvent::for_task(task, actor, EventKind::Note { text })]
            }
            Command::Shutdown => Vec::new(),
        })
    }

    /// Stops the engine after every accepted event is durable.
    pub fn shutdown(self) {
        self.store.close();
    }

    /// The store file.
    pub fn store_path(&self) -> &Path {
        self.store.path()
    }

    /// Where worktrees live: `worktrees/` beside the store.
    pub fn worktrees_root(&self) -> PathBuf {
        self.store
            .path()
            .parent()
            .map_or_else(|| PathBuf::from("worktrees"), |dir| dir.join("worktrees"))
    }

    /// Compares the worktrees the store knows with git and the disk, and records every
    /// disagreement as a `worktree_issue` event. Nothing is deleted. Run at engine start.
    pub fn reconcile_worktrees(&self) -> Result<Vec<Arc<Event>>, EngineError> {
        let tasks = self.store.reader().tasks()?;
        let mut by_repo: BTreeMap<String, Vec<(TaskId, Worktree)>> = BTreeMap::new();
        for task in &tasks {
            let Some(repo) = task.spec.repo.clone() else {
                continue;
            };
            for known in &task.worktrees {
                let worktree = Worktree {
                    repo: PathBuf::from(&repo),
                    path: PathBuf::from(&known.path),
                    branch: known.branch.clone(),
                    name: String::new(),
                    base: known.base.clone(),
                };
                by_repo
                    .entry(repo.clone())
                    .or_default()
                    .push((task.id, worktree));
            }
        }
        let mut events = Vec::new();
        for (repo, known) in by_repo {
            let worktrees: Vec<Worktree> = known.iter().map(|(_, w)| w.clone()).collect();
            let issues = match reconcile(Path::new(&repo), &self.worktrees_root(), &worktrees) {
                Ok(issues) => issues,
                Err(err) => vec![WorktreeIssue::Missing {
                    path: PathBuf::from(format!("{repo} ({err})")),
                }],
            };
            for issue in issues {
                let (name, path, detail) = match &issue {
                    WorktreeIssue::Missing { path } => {
                        ("missing", path, "its directory is gone".to_owned())
                    }
                    WorktreeIssue::Orphaned { path } => {
                        ("orphaned", path, "no task knows it; it was kept".to_owned())
                    }
                    WorktreeIssue::Dirty { path, files } => {
                        ("dirty", path, format!("uncommitted: {}", files.join(", ")))
                    }
                };
                let owner = known
                    .iter()
                    .find(|(_, w)| &w.path == path)
                    .map(|(task, _)| *task);
                let kind = EventKind::WorktreeIssue {
                    issue: name.to_owned(),
                    path: path.display().to_string(),
                    detail,
                };
                events.push(NewEvent {
                    task: owner,
                    actor: Actor::Orchestrator,
                    kind,
                });
            }
        }
        if events.is_empty() {
            return Ok(Vec::new());
        }
        Ok(self.store.append(events)?)
    }
}
