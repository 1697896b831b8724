//! The Log tab: the audit events, newest at the bottom, filtered by words typed after `/`.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::app::AppState;
use super::render::pane;

/// Draws the Log tab.
pub fn render(state: &AppState, area: Rect, buf: &mut Buffer, focused: bool) {
    let theme = &state.theme;
    let filter = &state.views.log_filter;
    let mut title = vec![Span::styled(" Log ", theme.style("ui.header"))];
    if filter.is_empty() {
        title.push(Span::styled(format!("· {} events ", state.log.len()), theme.style("ui.dim")));
    } else {
        title.push(Span::styled(
            format!("· {} of {} match “{filter}” ", state.log_matches.len(), state.log.len()),
            theme.style("ui.dim"),
        ));
    }
    let block = pane(theme, Line::from(title), focused);
    let inner = block.inner(area);
    block.render(area, buf);
    if state.log_matches.is_empty() {
        let text = if state.log.is_empty() { "No events yet." } else { "No event matches the filter." };
        Paragraph::new(Line::styled(text, theme.style("ui.dim"))).render(inner, buf);
        return;
    }
    let height = inner.height as usize;
    let end = state.log_matches.len().saturating_sub(state.views.log_scroll.min(state.log_matches.len()));
    let start = end.saturating_sub(height);
    let lines: Vec<Line> = state.log_matches[start..end]
        .iter()
        .filter_map(|seq| state.log.get(seq))
        .map(|line| {
            let time = line.at.strftime("%H:%M:%S").to_string();
            Line::from(vec![
                Span::styled(format!("#{:<6} {time} ", line.seq), theme.style("log.seq")),
                Span::styled(format!("{:<8} ", line.task), theme.style("ui.dim")),
                Span::styled(format!("{:<24} ", line.actor), theme.style("log.actor")),
                Span::styled(format!("{:<18} ", line.kind), theme.style("log.kind")),
                Span::styled(line.summary.as_str(), theme.style("ui.text")),
            ])
        })
        .collect();
    Paragraph::new(lines).render(inner, buf);
}
