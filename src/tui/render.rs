//! Drawing: reads the state, never changes it.

use jiff::Timestamp;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, StatefulWidget, Table, TableState, Widget};

use super::state::AppState;

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

fn dash(value: Option<impl ToString>) -> String {
    value.map_or_else(|| "-".to_owned(), |v| v.to_string())
}

impl Widget for &AppState {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let theme = &self.theme;
        let [title, body, footer] =
            Layout::vertical([Constraint::Length(1), Constraint::Fill(1), Constraint::Length(1)]).areas(area);

        Line::from(vec![
            Span::styled(" Ambidex ", theme.title),
            Span::styled(format!("· {} tasks · {}", self.tasks.len(), self.store_label), theme.dim),
        ])
        .render(title, buf);

        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(theme.border)
            .title(Span::styled(" Tasks ", theme.header));
        if self.tasks.is_empty() {
            Paragraph::new(vec![
                Line::styled("No tasks yet.", theme.text),
                Line::styled("Add one with `ambidex task add --file task.md`", theme.dim),
                Line::styled("or `ambidex task add --title \"...\" --criteria \"...\"`.", theme.dim),
            ])
            .block(block)
            .render(body, buf);
        } else {
            let header = Row::new(["ID", "STATUS", "KIND", "RISK", "AGE", "GATES", "TITLE"]).style(theme.header);
            let rows = self.tasks.iter().map(|task| {
                let gates = if task.open_gates == 0 { String::new() } else { task.open_gates.to_string() };
                Row::new(vec![
                    Cell::from(Span::styled(task.id.short(), theme.dim)),
                    Cell::from(Span::styled(task.status.to_string(), theme.status(task.status))),
                    Cell::from(dash(task.kind)),
                    Cell::from(dash(task.risk)),
                    Cell::from(Span::styled(age(self.now, task.created_at), theme.dim)),
                    Cell::from(Span::styled(gates, theme.status_waiting)),
                    Cell::from(task.title.as_str()),
                ])
                .style(theme.text)
            });
            let widths = [
                Constraint::Length(8),
                Constraint::Length(13),
                Constraint::Length(11),
                Constraint::Length(8),
                Constraint::Length(4),
                Constraint::Length(5),
                Constraint::Fill(1),
            ];
            let table = Table::new(rows, widths).header(header).block(block).row_highlight_style(theme.selected);
            let mut table_state = TableState::default().with_selected(Some(self.selected));
            StatefulWidget::render(table, body, buf, &mut table_state);
        }

        let hints = match &self.error {
            Some(error) => Line::styled(format!(" {error}"), theme.error),
            None => Line::from(vec![
                Span::styled(" j/k", theme.key),
                Span::styled(" move  ", theme.dim),
                Span::styled("q", theme.key),
                Span::styled(" quit", theme.dim),
            ]),
        };
        hints.render(footer, buf);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{Risk, TaskId, TaskKind, TaskStatus, TaskSummary};
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    fn at(second: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + second).unwrap()
    }

    fn summary(id: u128, title: &str, status: TaskStatus, created: i64) -> TaskSummary {
        TaskSummary {
            id: TaskId::from_u128(id),
            title: title.into(),
            status,
            kind: Some(TaskKind::BugFix),
            risk: Some(Risk::Low),
            route: None,
            created_at: at(created),
            open_gates: u32::from(status == TaskStatus::AwaitingGate),
            cost_micros: 0,
        }
    }

    fn draw(state: &AppState, width: u16, height: u16) -> String {
        let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
        terminal.draw(|frame| frame.render_widget(state, frame.area())).unwrap();
        terminal.backend().to_string()
    }

    fn busy_state() -> AppState {
        let tasks = vec![
            summary(
                0x0193_0000_0000_0000_0000_0000_0000_0001,
                "Fix the off-by-one in pagination",
                TaskStatus::PrReady,
                0,
            ),
            summary(
                0x0193_0000_0000_0000_0000_0000_0000_0002,
                "Harden session token checks",
                TaskStatus::AwaitingGate,
                3000,
            ),
            summary(0x0193_0000_0000_0000_0000_0000_0000_0003, "Document the retry policy", TaskStatus::Queued, 3590),
        ];
        let mut state = AppState::new(tasks, 9, "/tmp/state.redb".into(), at(3600));
        state.selected = 1;
        state
    }

    #[test]
    fn ages_use_the_largest_whole_unit() {
        assert_eq!(age(at(59), at(0)), "59s");
        assert_eq!(age(at(3599), at(0)), "59m");
        assert_eq!(age(at(7200), at(0)), "2h");
        assert_eq!(age(at(200_000), at(0)), "2d");
        assert_eq!(age(at(0), at(10)), "0s");
    }

    #[test]
    fn task_queue_80x24() {
        insta::assert_snapshot!(draw(&busy_state(), 80, 24));
    }

    #[test]
    fn task_queue_200x60() {
        insta::assert_snapshot!(draw(&busy_state(), 200, 60));
    }

    #[test]
    fn empty_queue_explains_how_to_add_a_task() {
        let state = AppState::new(Vec::new(), 0, "/tmp/state.redb".into(), at(0));
        insta::assert_snapshot!(draw(&state, 80, 24));
    }

    #[test]
    fn an_error_replaces_the_key_hints() {
        let mut state = busy_state();
        state.error = Some("the store writer has stopped".into());
        let screen = draw(&state, 80, 24);
        assert!(screen.contains("the store writer has stopped"), "{screen}");
        assert!(!screen.contains("j/k move"), "{screen}");
    }
}
