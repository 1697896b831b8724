//! The control room's state and the one function that changes it.
//!
//! `update` takes a message (a key, an engine update, a clock tick) and returns the commands to
//! send to the engine; it never draws and never does I/O.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use jiff::Timestamp;

use super::theme::Theme;
use crate::protocol::{Command, EventKind, TaskSummary, Update};

/// What the control room reacts to.
#[derive(Debug, Clone)]
pub enum Msg {
    /// A key press.
    Key(KeyEvent),
    /// Something happened in the engine.
    Engine(Update),
    /// Time passed (ages in the queue).
    Tick(Timestamp),
}

/// Everything the control room shows.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The task queue, oldest first.
    pub tasks: Vec<TaskSummary>,
    /// The highlighted row.
    pub selected: usize,
    /// Updates at or below this sequence number are already reflected.
    pub seen_seq: u64,
    /// The clock used for ages.
    pub now: Timestamp,
    /// The last error to show, if any.
    pub error: Option<String>,
    /// The store this control room runs on (shown in the title).
    pub store_label: String,
    /// Styles.
    pub theme: Theme,
    /// Set when the user asked to quit.
    pub quit: bool,
}

impl AppState {
    /// A state showing `tasks` as of `seen_seq`.
    pub fn new(tasks: Vec<TaskSummary>, seen_seq: u64, store_label: String, now: Timestamp) -> Self {
        Self { tasks, selected: 0, seen_seq, now, error: None, store_label, theme: Theme::default(), quit: false }
    }

    /// Applies one message and returns the commands it causes.
    pub fn update(&mut self, msg: Msg) -> Vec<Command> {
        match msg {
            Msg::Key(key) => self.on_key(key),
            Msg::Engine(update) => {
                self.on_update(update);
                Vec::new()
            }
            Msg::Tick(now) => {
                self.now = now;
                Vec::new()
            }
        }
    }

    fn on_key(&mut self, key: KeyEvent) -> Vec<Command> {
        let last = self.tasks.len().saturating_sub(1);
        match key.code {
            KeyCode::Char('q') | KeyCode::Esc => self.quit = true,
            KeyCode::Char('c') if key.modifiers.contains(KeyModifiers::CONTROL) => self.quit = true,
            KeyCode::Down | KeyCode::Char('j') => self.selected = (self.selected + 1).min(last),
            KeyCode::Up | KeyCode::Char('k') => self.selected = self.selected.saturating_sub(1),
            KeyCode::Home | KeyCode::Char('g') => self.selected = 0,
            KeyCode::End | KeyCode::Char('G') => self.selected = last,
            _ => {}
        }
        Vec::new()
    }

    fn on_update(&mut self, update: Update) {
        match update {
            Update::Event(event) => {
                if event.seq <= self.seen_seq {
                    return;
                }
                self.seen_seq = event.seq;
                let Some(id) = event.task else { return };
                if let EventKind::TaskCreated { spec } = &event.kind {
                    self.tasks.push(TaskSummary {
                        id,
                        title: spec.title.clone(),
                        status: crate::protocol::TaskStatus::Received,
                        kind: spec.kind,
                        risk: spec.risk,
                        route: None,
                        created_at: event.at,
                        open_gates: 0,
                        cost_micros: 0,
                    });
                    return;
                }
                let Some(task) = self.tasks.iter_mut().find(|t| t.id == id) else {
                    return;
                };
                match &event.kind {
                    EventKind::StatusChanged { to, .. } => task.status = *to,
                    EventKind::TaskRevised { spec } => task.title = spec.title.clone(),
                    EventKind::TaskTriaged { kind, risk, route, .. } => {
                        task.kind = Some(*kind);
                        task.risk = Some(*risk);
                        task.route = Some(*route);
                    }
                    EventKind::GateOpened { .. } => task.open_gates += 1,
                    EventKind::GateDecided { .. } => task.open_gates = task.open_gates.saturating_sub(1),
                    EventKind::UsageRecorded { cost_micros, .. } => task.cost_micros += cost_micros,
                    _ => {}
                }
            }
            Update::CommandFailed { error, .. } => self.error = Some(error),
            Update::Lagged { missed } => {
                self.error = Some(format!("the view missed {missed} updates; restart to refresh"));
            }
            Update::Delta(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{Actor, Digest, Event, TaskId, TaskSpec, TaskStatus};
    use std::sync::Arc;

    fn event(seq: u64, task: TaskId, kind: EventKind) -> Update {
        Update::Event(Arc::new(Event {
            seq,
            at: Timestamp::UNIX_EPOCH,
            task: Some(task),
            actor: Actor::Orchestrator,
            kind,
            prev_hash: Digest::GENESIS,
            hash: Digest::GENESIS,
        }))
    }

    fn key(code: KeyCode) -> Msg {
        Msg::Key(KeyEvent::from(code))
    }

    #[test]
    fn events_build_the_queue_and_old_ones_are_ignored() {
        let mut state = AppState::new(Vec::new(), 3, "test".into(), Timestamp::UNIX_EPOCH);
        let id = TaskId::new();
        let created = EventKind::TaskCreated { spec: TaskSpec::titled("Fix it") };
        assert!(state.update(Msg::Engine(event(3, id, created.clone()))).is_empty());
        assert!(state.tasks.is_empty(), "seq 3 was already in the snapshot");
        state.update(Msg::Engine(event(4, id, created)));
        let moved =
            EventKind::StatusChanged { from: TaskStatus::Received, to: TaskStatus::Queued, reason: "accepted".into() };
        state.update(Msg::Engine(event(5, id, moved)));
        assert_eq!(state.tasks.len(), 1);
        assert_eq!(state.tasks[0].status, TaskStatus::Queued);
        assert_eq!(state.seen_seq, 5);
    }

    #[test]
    fn keys_move_the_selection_within_bounds_and_q_quits() {
        let mut state = AppState::new(Vec::new(), 0, "test".into(), Timestamp::UNIX_EPOCH);
        for seq in 1..=3 {
            let created = EventKind::TaskCreated { spec: TaskSpec::titled(format!("t{seq}")) };
            state.update(Msg::Engine(event(seq, TaskId::new(), created)));
        }
        let commands: Vec<Command> = [KeyCode::Down, KeyCode::Char('j'), KeyCode::Char('j')]
            .into_iter()
            .flat_map(|code| state.update(key(code)))
            .collect();
        assert_eq!(commands, Vec::<Command>::new());
        assert_eq!(state.selected, 2);
        state.update(key(KeyCode::Char('k')));
        assert_eq!(state.selected, 1);
        assert!(!state.quit);
        state.update(key(KeyCode::Char('q')));
        assert!(state.quit);
    }
}
