//! The engineer's voice outside the gates: a message to the selected task's agents (they hear it
//! at their next turn; later stages get it in their instructions), and a rewind of a stopped task
//! to the checkpoint a stage started from. The state of their overlays, their keys and their
//! drawing live here; a rewind is confirmed through the confirm overlay, where only `y` sends it.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use super::app::{AppState, Confirm, Overlay};
use super::keymap::{Action, Mode};
use super::layout::centered;
use super::model::{Loaded, StageCheckpoint};
use super::overlay::modal;
use super::render::age;
use crate::protocol::{Command, TaskId, TaskStatus};

/// A message being written to a task's agents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageDraft {
    /// The task whose agents hear it.
    pub task: TaskId,
    /// The text so far (one line).
    pub text: String,
}

/// The rewind picker: which stage to run again from, then the note for the rerun.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RewindPick {
    /// The task.
    pub task: TaskId,
    /// The stages that started from a checkpoint, in the order they first started.
    pub stages: Vec<StageCheckpoint>,
    /// The highlighted stage.
    pub selected: usize,
    /// What to do differently this time (optional).
    pub note: String,
    /// Whether keys go into the note (after the stage was chosen).
    pub editing_note: bool,
}

impl RewindPick {
    /// The picker for `task`'s `stages`, the most recently started one highlighted (rewinding to
    /// it sets the least work aside).
    pub fn new(task: TaskId, stages: Vec<StageCheckpoint>) -> Self {
        let newest = stages.iter().enumerate().max_by_key(|(_, s)| s.seq).map_or(0, |(at, _)| at);
        Self { task, stages, selected: newest, note: String::new(), editing_note: false }
    }
}

/// Whether a task stopped where a rewind may take it back (failed, interrupted, waiting at a gate
/// or queued). The engine has the final word.
pub fn rewindable(status: TaskStatus) -> bool {
    matches!(status, TaskStatus::Failed | TaskStatus::Interrupted | TaskStatus::AwaitingGate | TaskStatus::Queued)
}

/// Text made one line: line breaks become spaces, other control characters go.
pub fn one_line(text: &str) -> String {
    text.chars().map(|c| if c == '\n' || c == '\t' { ' ' } else { c }).filter(|c| !c.is_control()).collect()
}

/// Applies a key to a one-line text: typing, backspace, ctrl-u clears.
fn edit_line(text: &mut String, key: &KeyEvent) {
    let control = key.modifiers.contains(KeyModifiers::CONTROL);
    match key.code {
        KeyCode::Backspace => {
            text.pop();
        }
        KeyCode::Char('u') if control => text.clear(),
        KeyCode::Char(c) if !control => text.push(c),
        _ => {}
    }
}

impl AppState {
    /// Opens the message editor on the selected task.
    pub(crate) fn open_message(&mut self) {
        let Some(task) = self.selected_task() else { return };
        if super::input::is_settled(task.status) {
            let why = format!("task {} is {}: no agent works on it any more", task.id.short(), task.status);
            self.status = Some((why, true));
            return;
        }
        self.overlay = Some(Overlay::Message(MessageDraft { task: task.id, text: String::new() }));
    }

    /// A key in the message editor: `enter` sends a message that has text, `esc` drops it.
    pub(crate) fn message_key(&mut self, mut draft: MessageDraft, key: KeyEvent) -> Vec<Command> {
        match key.code {
            KeyCode::Enter => {
                let text = draft.text.trim().to_owned();
                let short = draft.task.short();
                self.reopen_pending_gates();
                if text.is_empty() {
                    self.status = Some(("nothing sent: the message was empty".into(), false));
                    return Vec::new();
                }
                let what = format!("message sent to task {short}: its agents hear it at their next turn");
                self.status = Some((what, false));
                return vec![Command::AddNote { task: draft.task, text }];
            }
            KeyCode::Esc => {
                self.reopen_pending_gates();
                return Vec::new();
            }
            _ => edit_line(&mut draft.text, &key),
        }
        self.overlay = Some(Overlay::Message(draft));
        Vec::new()
    }

    /// Opens the rewind picker on the selected task, or says in the footer why not.
    pub(crate) fn open_rewind(&mut self) {
        let Some(task) = self.selected_task().cloned() else { return };
        let short = task.id.short();
        if task.status == TaskStatus::Running {
            self.status = Some((format!("task {short} is running: rewind it once it stops at a gate or fails"), true));
            return;
        }
        if !rewindable(task.status) {
            let why = format!(
                "task {short} is {}: only a stopped task (failed, interrupted, waiting at a gate or queued) can be rewound",
                task.status
            );
            self.status = Some((why, true));
            return;
        }
        let stages = match self.details.get(&task.id).map(|d| (&d.loaded, &d.checkpoints)) {
            Some((Loaded::Yes, stages)) => stages.clone(),
            Some((Loaded::Failed(error), _)) => {
                self.status = Some((format!("could not read task {short}: {error}"), true));
                return;
            }
            _ => {
                self.status = Some(("the task is still loading; try again in a moment".into(), false));
                self.request_history(task.id);
                return;
            }
        };
        if stages.is_empty() {
            self.status = Some((format!("task {short} has no stage checkpoint to rewind to"), true));
            return;
        }
        self.overlay = Some(Overlay::Rewind(Box::new(RewindPick::new(task.id, stages))));
    }

    /// A key in the rewind picker: arrows choose, `enter` goes on to the note and from the note
    /// to the confirmation; `esc` goes back from the note and cancels from the list.
    pub(crate) fn rewind_key(&mut self, mut pick: Box<RewindPick>, key: KeyEvent) -> Vec<Command> {
        if pick.editing_note {
            match key.code {
                KeyCode::Enter => {
                    let stage = pick.stages.get(pick.selected).map(|s| s.stage.clone()).unwrap_or_default();
                    let note = Some(pick.note.trim().to_owned()).filter(|n| !n.is_empty());
                    self.overlay = Some(Overlay::Confirm(Confirm::Rewind { task: pick.task, stage, note }));
                    return Vec::new();
                }
                KeyCode::Esc => pick.editing_note = false,
                _ => edit_line(&mut pick.note, &key),
            }
            self.overlay = Some(Overlay::Rewind(pick));
            return Vec::new();
        }
        let last = pick.stages.len().saturating_sub(1);
        match (key.code, self.keymap.action(Mode::Normal, &key)) {
            (KeyCode::Up, _) | (_, Some(Action::Up)) => pick.selected = pick.selected.saturating_sub(1),
            (KeyCode::Down, _) | (_, Some(Action::Down)) => pick.selected = (pick.selected + 1).min(last),
            (KeyCode::Enter, _) => pick.editing_note = true,
            (KeyCode::Esc, _) | (_, Some(Action::Quit)) => {
                self.reopen_pending_gates();
                return Vec::new();
            }
            _ => {}
        }
        self.overlay = Some(Overlay::Rewind(pick));
        Vec::new()
    }

    /// The rewind's confirmation: only `y` sends it; any other key cancels.
    pub(crate) fn confirm_rewind(
        &mut self,
        task: TaskId,
        stage: String,
        note: Option<String>,
        key: KeyEvent,
    ) -> Vec<Command> {
        if matches!(key.code, KeyCode::Char('y' | 'Y')) && !key.modifiers.contains(KeyModifiers::CONTROL) {
            let what = format!("rewinding task {} to the {stage} stage: the work since is kept on a ref", task.short());
            self.status = Some((what, false));
            return vec![Command::RewindTask { task, to: stage, note }];
        }
        self.status = Some(("rewind cancelled: nothing changed".into(), false));
        self.reopen_pending_gates();
        Vec::new()
    }

    /// Pasted text for the message editor or the rewind note; whether it went there.
    pub(crate) fn paste_voice(&mut self, text: &str) -> bool {
        match &mut self.overlay {
            Some(Overlay::Message(draft)) => draft.text.push_str(&one_line(text)),
            Some(Overlay::Rewind(pick)) if pick.editing_note => pick.note.push_str(&one_line(text)),
            _ => return false,
        }
        true
    }
}

/// The end of `text` that fits in `width` columns (a cursor takes one), so the typing shows.
fn tail(text: &str, width: usize) -> String {
    let count = text.chars().count();
    text.chars().skip(count.saturating_sub(width.saturating_sub(1))).collect()
}

/// The keys line of an overlay: `(key, what)` pairs.
fn keys_line(state: &AppState, keys: &[(&str, &str)]) -> Line<'static> {
    let mut spans = Vec::new();
    for (at, (key, what)) in keys.iter().enumerate() {
        if at > 0 {
            spans.push(Span::styled(" · ", state.theme.style("ui.dim")));
        }
        spans.push(Span::styled(key.to_string(), state.theme.style("ui.key")));
        spans.push(Span::styled(format!(" {what}"), state.theme.style("ui.dim")));
    }
    Line::from(spans)
}

/// Draws the message editor.
pub fn render_message(state: &AppState, draft: &MessageDraft, area: Rect, buf: &mut Buffer) {
    let theme = &state.theme;
    let rect = centered(area, area.width.saturating_sub(4).min(96), 9);
    let title = Line::from(vec![
        Span::styled(" Message ", theme.style("ui.title")),
        Span::styled(format!("to the agents of task {} ", draft.task.short()), theme.style("ui.dim")),
    ]);
    let inner = modal(state, title, rect, buf);
    let [task_area, about_area, _, field_area, _, keys_area] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(2),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Fill(1),
        Constraint::Length(1),
    ])
    .areas(inner);
    let task_title = state.summary(draft.task).map(|t| t.title.clone()).unwrap_or_default();
    Line::styled(task_title, theme.style("ui.header")).render(task_area, buf);
    Paragraph::new(Line::styled(
        "Running agents hear it at their next turn; the stages that start later get it in their instructions.",
        theme.style("ui.dim"),
    ))
    .wrap(Wrap { trim: true })
    .render(about_area, buf);
    let width = field_area.width.saturating_sub(2) as usize;
    Line::from(vec![
        Span::styled("› ", theme.style("ui.form.focus")),
        Span::styled(format!("{}▏", tail(&draft.text, width)), theme.style("ui.text")),
    ])
    .render(field_area, buf);
    keys_line(state, &[("enter", "sends"), ("esc", "cancels")]).render(keys_area, buf);
}

/// Draws the rewind picker: the stages with checkpoints, the note, the keys.
pub fn render_rewind(state: &AppState, pick: &RewindPick, area: Rect, buf: &mut Buffer) {
    let theme = &state.theme;
    let height = (pick.stages.len() as u16 + 10).min(area.height.saturating_sub(2));
    let rect = centered(area, area.width.saturating_sub(4).min(96), height);
    let title = Line::from(vec![
        Span::styled(" Rewind ", theme.style("ui.title")),
        Span::styled(format!("task {} to a stage ", pick.task.short()), theme.style("ui.dim")),
    ]);
    let inner = modal(state, title, rect, buf);
    let [task_area, about_area, list_area, note_area, keys_area] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(2),
        Constraint::Fill(1),
        Constraint::Length(2),
        Constraint::Length(1),
    ])
    .areas(inner);
    let task_title = state.summary(pick.task).map(|t| t.title.clone()).unwrap_or_default();
    Line::styled(task_title, theme.style("ui.header")).render(task_area, buf);
    Paragraph::new(Line::styled(
        "The task runs again from the checkpoint the stage started from; the work since is kept on a ref.",
        theme.style("ui.dim"),
    ))
    .wrap(Wrap { trim: true })
    .render(about_area, buf);

    let mut lines = vec![Line::styled(
        format!("  {:<22} {:<15} {:>8}  CHECKPOINT", "STAGE", "ROLE", "STARTED"),
        theme.style("ui.header"),
    )];
    let visible = (list_area.height as usize).saturating_sub(1).max(1);
    let offset = pick.selected.saturating_sub(visible - 1);
    for (at, stage) in pick.stages.iter().enumerate().skip(offset).take(visible) {
        let name = match stage.kind {
            Some(kind) if kind.as_str() != stage.stage => format!("{} ({kind})", stage.stage),
            _ => stage.stage.clone(),
        };
        let commit: String = stage.commit.chars().take(12).collect();
        let started = format!("{} ago", age(state.now, stage.at));
        let chosen = at == pick.selected;
        let text = format!(
            "{}{name:<22} {:<15} {started:>8}  {commit}",
            if chosen { "▸ " } else { "  " },
            stage.role.as_str()
        );
        let style = if chosen { theme.style("ui.selected") } else { theme.style("ui.text") };
        lines.push(Line::styled(text, style));
    }
    Paragraph::new(lines).render(list_area, buf);

    let width = note_area.width.saturating_sub(8) as usize;
    let note = if pick.editing_note {
        vec![
            Line::from(vec![
                Span::styled("note: ", theme.style("ui.form.focus")),
                Span::styled(format!("{}▏", tail(&pick.note, width)), theme.style("ui.text")),
            ]),
            Line::styled("what the rerun should do differently (optional)", theme.style("ui.dim")),
        ]
    } else {
        vec![Line::default(), Line::styled("enter chooses the stage, then asks for a note", theme.style("ui.dim"))]
    };
    Paragraph::new(note).render(note_area, buf);
    let keys: &[(&str, &str)] = if pick.editing_note {
        &[("enter", "next"), ("esc", "back to the stages")]
    } else {
        &[("↑/↓", "choose"), ("enter", "next"), ("esc", "cancels")]
    };
    keys_line(state, keys).render(keys_area, buf);
}
