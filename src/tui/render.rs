//! Drawing: reads the state, never changes it. This file lays out the screen and draws the title,
//! the banner (no task can run), the queue, the tab bar and the footer; each pane and overlay has
//! its own file.

use jiff::Timestamp;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, StatefulWidget, Table, TableState, Widget};

use super::app::{AppState, Overlay, Pane, Tab};
use super::keymap::Action;
use super::layout;
use super::theme::Theme;
use super::{
    compare, diff_view, evidence_view, form, gate_view, log_view, memory_view, metrics_view, museum_view, overlay,
    playbooks_view, stream_view, voice,
};
use crate::protocol::ModelUnavailable;

/// How long ago `then` was, in the largest whole unit.
pub fn age(now: Timestamp, then: Timestamp) -> String {
    let secs = now.as_second().saturating_sub(then.as_second()).max(0);
    match secs {
        0..60 => format!("{secs}s"),
        60..3600 => format!("{}m", secs / 60),
        3600..86400 => format!("{}h", secs / 3600),
        _ => format!("{}d", secs / 86400),
    }
}

/// Money in micro-dollars, as `$0.12`.
pub fn money(micros: u64) -> String {
    crate::protocol::money(micros)
}

/// A bordered pane, its border highlighted when focused.
pub fn pane<'a>(theme: &Theme, title: impl Into<Line<'a>>, focused: bool) -> Block<'a> {
    let border = if focused { theme.style("ui.border.focus") } else { theme.style("ui.border") };
    Block::default().borders(Borders::ALL).border_style(border).title(title.into())
}

/// The titles of the tab bar: the streams come first on small screens.
pub fn tab_titles(compact: bool) -> Vec<&'static str> {
    let mut titles = Vec::new();
    if compact {
        titles.extend(["Right Hand", "Left Hand"]);
    }
    titles.extend(Tab::ALL.iter().map(|t| t.title()));
    titles
}

fn dash(value: Option<impl ToString>) -> String {
    value.map_or_else(|| "-".to_owned(), |v| v.to_string())
}

impl Widget for &AppState {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let theme = &self.theme;
        let areas = layout::areas(area, self.tasks.len(), self.unavailable.is_some());
        let compact = areas.right.is_none();
        self.render_title(areas.title, buf);
        if let (Some(banner), Some(unavailable)) = (areas.banner, &self.unavailable) {
            render_unavailable(theme, unavailable, banner, buf);
        }
        self.render_queue(areas.queue, buf);
        if let (Some(right), Some(left)) = (areas.right, areas.left) {
            stream_view::render_right(self, right, buf, self.focus == Pane::Right);
            stream_view::render_left(self, left, buf, self.focus == Pane::Left);
        }
        self.render_tabs(areas.tabs, buf, compact);
        let lower_focus = self.focus == Pane::Lower;
        match (compact, self.focus) {
            (true, Pane::Right) => stream_view::render_right(self, areas.body, buf, true),
            (true, Pane::Left) => stream_view::render_left(self, areas.body, buf, true),
            _ => match self.tab {
                Tab::Diff => diff_view::render(self, areas.body, buf, lower_focus),
                Tab::Compare => compare::render(self, areas.body, buf, lower_focus),
                Tab::Evidence => evidence_view::render(self, areas.body, buf, lower_focus),
                Tab::Gates => overlay::render_gates_tab(self, areas.body, buf, lower_focus),
                Tab::Log => log_view::render(self, areas.body, buf, lower_focus),
                Tab::Memory => memory_view::render_memory(self, areas.body, buf, lower_focus),
                Tab::Metrics => metrics_view::render(self, areas.body, buf, lower_focus),
                Tab::Museum => museum_view::render(self, areas.body, buf, lower_focus),
                Tab::Playbooks => playbooks_view::render(self, areas.body, buf, lower_focus),
            },
        }
        self.render_footer(areas.footer, buf);
        match &self.overlay {
            Some(Overlay::Approval) => gate_view::render_approval(self, area, buf),
            Some(Overlay::Help { scroll }) => overlay::render_help(self, *scroll, area, buf),
            Some(Overlay::Confirm(confirm)) => overlay::render_confirm(self, confirm, area, buf),
            Some(Overlay::Message(draft)) => voice::render_message(self, draft, area, buf),
            Some(Overlay::Rewind(pick)) => voice::render_rewind(self, pick, area, buf),
            Some(Overlay::Cell { title, lines, scroll }) => {
                overlay::render_cell(self, title, lines, *scroll, area, buf)
            }
            Some(Overlay::Form(state)) => {
                let hints = format!(
                    "{} submit · {}/{} field · ←/→ risk · {} close",
                    self.keymap.key(Action::Submit),
                    self.keymap.key(Action::NextField),
                    self.keymap.key(Action::PrevField),
                    self.keymap.key(Action::Close)
                );
                form::render(state, theme, &hints, area, buf);
            }
            None => {}
        }
    }
}

/// The banner that says no task can run: what is wrong, that tasks wait, and the command that
/// checks it, in the longest wording that fits.
fn render_unavailable(theme: &Theme, unavailable: &ModelUnavailable, area: Rect, buf: &mut Buffer) {
    let (problem, provider, check) = (&unavailable.problem, &unavailable.provider, unavailable.check_command());
    let wordings = [
        format!(
            " ✗ Tasks cannot run: {problem} (provider `{provider}`); queued tasks wait. Next: {}",
            unavailable.next_step()
        ),
        format!(
            " ✗ Tasks cannot run: {problem} (provider `{provider}`); queued tasks wait. Check: `{check}` or `ambidex doctor`"
        ),
        format!(" ✗ {problem}: tasks wait · check: `{check}`"),
        format!(" ✗ {problem}: tasks wait · check: `ambidex models check`"),
        format!(" ✗ {problem}: tasks wait · `ambidex doctor`"),
    ];
    let width = area.width as usize;
    let fits = wordings.iter().find(|w| Line::raw(w.as_str()).width() <= width);
    let text = fits.unwrap_or(&wordings[wordings.len() - 1]);
    Line::styled(text.clone(), theme.style("ui.error")).render(area, buf);
}

impl AppState {
    fn render_title(&self, area: Rect, buf: &mut Buffer) {
        let theme = &self.theme;
        let running = self.running();
        let waiting = self.approval.queue.len();
        let mut spans = vec![
            Span::styled(" Ambidex ", theme.style("ui.title")),
            Span::styled(format!("· {} tasks · {running} running ", self.tasks.len()), theme.style("ui.dim")),
        ];
        if waiting > 0 {
            spans.push(Span::styled(format!("· {waiting} gates waiting "), theme.style("gate.pending")));
        }
        spans.push(Span::styled(format!("· {}", self.store_label), theme.style("ui.dim")));
        Line::from(spans).render(area, buf);
    }

    fn render_queue(&self, area: Rect, buf: &mut Buffer) {
        let theme = &self.theme;
        let focused = self.focus == Pane::Queue;
        let block = pane(theme, Span::styled(" Tasks ", theme.style("ui.header")), focused);
        if self.tasks.is_empty() {
            Paragraph::new(vec![
                Line::styled("No tasks yet.", theme.style("ui.text")),
                Line::styled(
                    format!("Press {} for a new task.", self.keymap.key(Action::NewTask)),
                    theme.style("ui.dim"),
                ),
            ])
            .block(block)
            .render(area, buf);
            return;
        }
        // Columns give way to the title as the pane narrows: kind first, then route and cost.
        let inner = area.width.saturating_sub(2);
        let (with_kind, with_cost) = (inner >= 110, inner >= 70);
        let mut header = vec!["ID", "STATUS"];
        let mut widths = vec![Constraint::Length(8), Constraint::Length(13)];
        if with_kind {
            header.push("KIND");
            widths.push(Constraint::Length(11));
        }
        header.push("RISK");
        widths.push(Constraint::Length(8));
        if with_cost {
            header.extend(["ROUTE", "COST"]);
            widths.extend([Constraint::Length(5), Constraint::Length(6)]);
        }
        header.extend(["AGE", "G", "TITLE"]);
        widths.extend([Constraint::Length(4), Constraint::Length(2), Constraint::Fill(1)]);
        let rows = self.tasks.iter().map(|task| {
            let gates = if task.open_gates == 0 { String::new() } else { task.open_gates.to_string() };
            let route = match task.route {
                Some(crate::protocol::Route::RightOnly) => "R",
                Some(crate::protocol::Route::RightAndLeft) => "R+L",
                None => "-",
            };
            let mut cells = vec![
                Cell::from(Span::styled(task.id.short(), theme.style("ui.dim"))),
                Cell::from(Span::styled(task.status.to_string(), theme.status(task.status))),
            ];
            if with_kind {
                cells.push(Cell::from(dash(task.kind)));
            }
            cells.push(Cell::from(match task.risk {
                Some(risk) => Span::styled(risk.to_string(), theme.risk(risk)),
                None => Span::styled("-", theme.style("ui.dim")),
            }));
            if with_cost {
                cells.push(Cell::from(route));
                cells.push(Cell::from(Span::styled(money(task.cost_micros), theme.style("ui.dim"))));
            }
            cells.extend([
                Cell::from(Span::styled(age(self.now, task.created_at), theme.style("ui.dim"))),
                Cell::from(Span::styled(gates, theme.style("gate.pending"))),
                Cell::from(task.title.as_str()),
            ]);
            Row::new(cells).style(theme.style("ui.text"))
        });
        let table = Table::new(rows, widths)
            .header(Row::new(header).style(theme.style("ui.header")))
            .block(block)
            .column_spacing(1)
            .row_highlight_style(theme.style("ui.selected"));
        let mut table_state = TableState::default().with_selected(Some(self.selected));
        StatefulWidget::render(table, area, buf, &mut table_state);
    }

    fn render_tabs(&self, area: Rect, buf: &mut Buffer, compact: bool) {
        let theme = &self.theme;
        let active = match (compact, self.focus) {
            (true, Pane::Right) => 0,
            (true, Pane::Left) => 1,
            _ => Tab::ALL.iter().position(|t| *t == self.tab).unwrap_or(0) + if compact { 2 } else { 0 },
        };
        let titles: Vec<String> = tab_titles(compact)
            .iter()
            .map(|title| match *title {
                "Gates" if !self.approval.queue.is_empty() => format!("Gates ({})", self.approval.queue.len()),
                other => other.to_owned(),
            })
            .collect();
        // When the active title would be cut, the first ones go until it shows.
        let width_through_active = |first: usize| {
            titles[first..=active.min(titles.len() - 1)].iter().map(|t| t.chars().count() + 3).sum::<usize>()
        };
        let mut first = 0;
        while first < active && width_through_active(first) > area.width as usize {
            first += 1;
        }
        let mut spans = vec![Span::styled(if first > 0 { "…" } else { " " }, theme.style("ui.dim"))];
        for (index, title) in titles.into_iter().enumerate().skip(first) {
            let style = if index == active { theme.style("ui.tab.active") } else { theme.style("ui.tab") };
            spans.push(Span::styled(title, style));
            spans.push(Span::styled(" · ", theme.style("ui.dim")));
        }
        spans.pop();
        Line::from(spans).render(area, buf);
    }

    /// The key hints of the focused pane, most useful first; help and quit end the list.
    pub fn hints(&self) -> Vec<(String, &'static str)> {
        let k = |action| self.keymap.key(action);
        let mut hints: Vec<(String, &'static str)> = match (self.focus, self.tab) {
            (Pane::Queue, _) => vec![
                (format!("{}/{}", k(Action::Down), k(Action::Up)), "move"),
                (k(Action::NewTask), "new"),
                (k(Action::Message), "message"),
                (k(Action::RewindTask), "rewind"),
                (k(Action::CancelTask), "cancel"),
                (k(Action::ResumeTask), "resume"),
                (k(Action::EditTask), "revise"),
            ],
            (Pane::Right | Pane::Left, _) => vec![
                (format!("{}/{}", k(Action::Down), k(Action::Up)), "scroll"),
                (k(Action::Select), "fold/unfold"),
                (k(Action::Bottom), "follow"),
            ],
            (Pane::Lower, Tab::Diff) => vec![
                (format!("{}/{}", k(Action::NextHunk), k(Action::PrevHunk)), "hunk"),
                (format!("{}/{}", k(Action::NextFile), k(Action::PrevFile)), "file"),
                (k(Action::Candidate), "candidate"),
            ],
            (Pane::Lower, Tab::Compare) => vec![
                (format!("{}/{}", k(Action::Down), k(Action::Up)), "scroll both"),
                (k(Action::BaseCandidate), "left side"),
                (k(Action::Candidate), "right side"),
            ],
            (Pane::Lower, Tab::Evidence) => vec![("arrows".into(), "cell"), (k(Action::Select), "what is behind it")],
            (Pane::Lower, Tab::Gates) => vec![(k(Action::Select), "decide")],
            (Pane::Lower, Tab::Log) => vec![(k(Action::Filter), "filter"), (k(Action::Bottom), "follow")],
            (Pane::Lower, Tab::Memory) => {
                vec![(k(Action::MemoryAccept), "accept"), (k(Action::MemoryReject), "reject")]
            }
            (Pane::Lower, Tab::Museum) => vec![
                (k(Action::MemoryAccept), "keep"),
                (k(Action::MemoryReject), "reject"),
                (k(Action::Select), "its task"),
            ],
            (Pane::Lower, Tab::Metrics) => {
                vec![(format!("{}/{}", k(Action::Down), k(Action::Up)), "scroll"), (k(Action::Refresh), "reload")]
            }
            (Pane::Lower, Tab::Playbooks) => vec![
                (format!("{}/{}", k(Action::Down), k(Action::Up)), "version"),
                (format!("{}/{}", k(Action::PageDown), k(Action::PageUp)), "details"),
                (k(Action::Promote), "promote"),
                (k(Action::Refresh), "reload"),
            ],
        };
        if !self.approval.queue.is_empty() {
            hints.push((k(Action::Gates), "gates"));
        }
        hints.extend([(k(Action::FocusNext), "focus"), (k(Action::Help), "help"), (k(Action::Quit), "quit")]);
        hints
    }

    fn render_footer(&self, area: Rect, buf: &mut Buffer) {
        let theme = &self.theme;
        if let Some(banner) = &self.banner {
            Line::styled(format!(" {banner}"), theme.style("gate.pending")).render(area, buf);
            return;
        }
        if let Some((message, error)) = &self.status {
            let style = if *error { theme.style("ui.error") } else { theme.style("ui.info") };
            Line::styled(format!(" {message}"), style).render(area, buf);
            return;
        }
        if self.views.log_editing {
            Line::from(vec![
                Span::styled(" filter: ", theme.style("ui.key")),
                Span::styled(format!("{}▏", self.views.log_filter), theme.style("ui.text")),
                Span::styled("  (enter to keep, esc to stop editing)", theme.style("ui.dim")),
            ])
            .render(area, buf);
            return;
        }
        // What does not fit goes, from the end, but help and quit stay: help lists every key.
        let mut hints = self.hints();
        let width = |hints: &[(String, &str)]| -> usize {
            // A space before the first; each is `key what` and two spaces, the last one's cut.
            hints
                .iter()
                .map(|(key, what)| key.chars().count() + what.chars().count() + 3)
                .sum::<usize>()
                .saturating_sub(1)
        };
        while hints.len() > 2 && width(&hints) > area.width as usize {
            hints.remove(hints.len() - 3);
        }
        let mut spans = vec![Span::raw(" ")];
        for (key, what) in hints {
            spans.push(Span::styled(key, theme.style("ui.key")));
            spans.push(Span::styled(format!(" {what}  "), theme.style("ui.dim")));
        }
        Line::from(spans).render(area, buf);
    }
}
