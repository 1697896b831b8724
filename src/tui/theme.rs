//! Colors and text styles. Every style the control room uses comes from here, so that no color is
//! written anywhere else. The default theme uses the 16 ANSI colors only, so it follows the
//! terminal's own palette.

use ratatui::style::{Color, Modifier, Style};

use crate::protocol::TaskStatus;

/// The styles of the control room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Theme {
    /// Ordinary text.
    pub text: Style,
    /// Secondary text: ages, ids, hints.
    pub dim: Style,
    /// The title bar.
    pub title: Style,
    /// Table headers.
    pub header: Style,
    /// The selected row.
    pub selected: Style,
    /// Pane borders.
    pub border: Style,
    /// Footer key names.
    pub key: Style,
    /// Error lines.
    pub error: Style,
    /// Tasks that are working or queued.
    pub status_active: Style,
    /// Tasks waiting for a human.
    pub status_waiting: Style,
    /// Tasks that reached a PR.
    pub status_done: Style,
    /// Tasks that failed, were rejected or cancelled.
    pub status_stopped: Style,
}

impl Default for Theme {
    fn default() -> Self {
        Self {
            text: Style::default(),
            dim: Style::default().fg(Color::DarkGray),
            title: Style::default().fg(Color::Cyan).add_modifier(Modifier::BOLD),
            header: Style::default().add_modifier(Modifier::BOLD),
            selected: Style::default().add_modifier(Modifier::REVERSED),
            border: Style::default().fg(Color::DarkGray),
            key: Style::default().fg(Color::Cyan),
            error: Style::default().fg(Color::Red),
            status_active: Style::default().fg(Color::Blue),
            status_waiting: Style::default().fg(Color::Yellow).add_modifier(Modifier::BOLD),
            status_done: Style::default().fg(Color::Green),
            status_stopped: Style::default().fg(Color::Red),
        }
    }
}

impl Theme {
    /// The style of a task status.
    pub fn status(&self, status: TaskStatus) -> Style {
        use TaskStatus::*;
        match status {
            Received | Queued | Running => self.status_active,
            NeedsClarification | Escalated | AwaitingGate | Interrupted => self.status_waiting,
            PrReady => self.status_done,
            Rejected | Failed | Cancelled => self.status_stopped,
        }
    }
}
