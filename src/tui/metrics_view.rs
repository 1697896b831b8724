//! The Metrics tab: tasks by state, pass rates, cost.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::app::AppState;
use super::render::{money, pane};
use crate::protocol::TaskStatus;

/// Draws the Metrics tab.
pub fn render(state: &AppState, area: Rect, buf: &mut Buffer, focused: bool) {
    let theme = &state.theme;
    let block = pane(theme, Span::styled(" Metrics ", theme.style("ui.header")), focused);
    let inner = block.inner(area);
    block.render(area, buf);
    let [left, right] = Layout::horizontal([Constraint::Fill(1), Constraint::Fill(1)]).spacing(2).areas(inner);

    let most = TaskStatus::ALL.iter().map(|s| count(state, *s)).max().unwrap_or(0).max(1);
    let bar_width = (left.width as usize).saturating_sub(26).max(4);
    let mut lines = vec![Line::styled("Tasks by state", theme.style("ui.header"))];
    for status in TaskStatus::ALL {
        let n = count(state, *status);
        if n == 0 {
            continue;
        }
        let bar = "█".repeat((n * bar_width).div_ceil(most).max(1));
        lines.push(Line::from(vec![
            Span::styled(format!("{:<20}", status.as_str()), theme.status(*status)),
            Span::styled(format!("{n:>4} "), theme.style("ui.text")),
            Span::styled(bar, theme.style("ui.bar")),
        ]));
    }
    if state.tasks.is_empty() {
        lines.push(Line::styled("no tasks yet", theme.style("ui.dim")));
    }
    Paragraph::new(lines).render(left, buf);

    let finished = state
        .tasks
        .iter()
        .filter(|t| matches!(t.status, TaskStatus::PrReady | TaskStatus::Failed | TaskStatus::Cancelled))
        .count();
    let ready = count(state, TaskStatus::PrReady);
    let (runs, passed) = state
        .details
        .values()
        .flat_map(|d| d.validations.iter())
        .fold((0usize, 0usize), |(runs, passed), v| (runs + 1, passed + usize::from(v.ok)));
    let cost: u64 = state.tasks.iter().map(|t| t.cost_micros).sum();
    let gates_decided: usize =
        state.details.values().map(|d| d.gates.iter().filter(|g| g.decided.is_some()).count()).sum();
    let mut lines = vec![
        Line::styled("Outcomes", theme.style("ui.header")),
        metric(state, "PR ready / finished", format!("{ready} / {finished} ({})", percent(ready, finished))),
        metric(state, "validation runs passed", format!("{passed} / {runs} ({})", percent(passed, runs))),
        metric(state, "gates waiting", state.approval.queue.len().to_string()),
        metric(state, "gates decided (loaded)", gates_decided.to_string()),
        Line::default(),
        Line::styled("Cost", theme.style("ui.header")),
        metric(state, "total", money(cost)),
    ];
    let mut costly: Vec<_> = state.tasks.iter().filter(|t| t.cost_micros > 0).collect();
    costly.sort_by_key(|t| std::cmp::Reverse(t.cost_micros));
    for task in costly.iter().take(5) {
        lines.push(metric(
            state,
            &format!("  {}", task.id.short()),
            format!("{}  {}", money(task.cost_micros), task.title),
        ));
    }
    Paragraph::new(lines).render(right, buf);
}

fn count(state: &AppState, status: TaskStatus) -> usize {
    state.tasks.iter().filter(|t| t.status == status).count()
}

fn percent(part: usize, whole: usize) -> String {
    (part * 100).checked_div(whole).map_or_else(|| "–".into(), |p| format!("{p}%"))
}

fn metric<'a>(state: &AppState, name: &str, value: String) -> Line<'a> {
    Line::from(vec![
        Span::styled(format!("{name:<26}"), state.theme.style("ui.dim")),
        Span::styled(value, state.theme.style("ui.text")),
    ])
}
