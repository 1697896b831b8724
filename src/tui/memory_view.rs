//! The Memory tab: the repository memory's proposals waiting for review and its active entries,
//! where the engineer accepts or rejects what Ambidex learned.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use super::app::AppState;
use super::render::pane;
use crate::protocol::MemoryStatus;

/// Draws the Memory tab: the repository memory's proposals waiting for review (first) and its
/// active entries, each with its kind, scope and text; `+`/`-` accept or reject the selected
/// proposal.
pub fn render_memory(state: &AppState, area: Rect, buf: &mut Buffer, focused: bool) {
    let theme = &state.theme;
    let pending = state.memory.iter().filter(|e| e.status == MemoryStatus::Pending).count();
    let active = state.memory.len() - pending;
    let title = Line::from(vec![
        Span::styled(" Memory ", theme.style("ui.header")),
        Span::styled(format!("· {active} active · {pending} to review "), theme.style("ui.dim")),
    ]);
    let block = pane(theme, title, focused);
    let inner = block.inner(area);
    block.render(area, buf);
    if state.memory.is_empty() {
        let lines = vec![
            Line::styled("No repository memory yet.", theme.style("ui.header")),
            Line::styled(
                "What Ambidex learns (a fetch that needed the network, …) waits here for your review; write \
                 entries with `ambidex memory add --kind convention \"…\"`.",
                theme.style("ui.dim"),
            ),
        ];
        Paragraph::new(lines).wrap(Wrap { trim: false }).render(inner, buf);
        return;
    }
    let keys = Line::from(vec![
        Span::styled("+", theme.style("ui.key")),
        Span::styled(" accept  ", theme.style("ui.dim")),
        Span::styled("-", theme.style("ui.key")),
        Span::styled(" reject the selected proposal · `ambidex memory` edits and removes", theme.style("ui.dim")),
    ]);
    let mut lines = vec![keys];
    let scope_of = |scope: &[String]| if scope.is_empty() { "*".to_owned() } else { scope.join(",") };
    let scope_width = state.memory.iter().map(|e| scope_of(&e.scope).chars().count()).max().unwrap_or(1).min(24);
    for (i, entry) in state.memory.iter().enumerate() {
        let (status, style) = match entry.status {
            MemoryStatus::Pending => ("review", theme.style("status.waiting")),
            _ => ("active", theme.style("status.done")),
        };
        let scope: String = scope_of(&entry.scope).chars().take(scope_width).collect();
        let mut line = Line::from(vec![
            Span::styled(format!("{:<9} ", entry.id.short()), theme.style("ui.dim")),
            Span::styled(format!("{status:<7} "), style),
            Span::styled(format!("{:<16}", entry.kind.as_str()), theme.style("ui.text")),
            Span::styled(format!("{scope:<scope_width$}  "), theme.style("ui.dim")),
            Span::styled(entry.text.lines().next().unwrap_or_default().to_owned(), theme.style("ui.text")),
        ]);
        if i == state.views.memory && focused {
            line = line.patch_style(theme.style("ui.selected"));
        }
        lines.push(line);
    }
    let skip = state.views.memory.saturating_sub(inner.height.saturating_sub(2) as usize);
    let mut shown = vec![lines.remove(0)];
    shown.extend(lines.into_iter().skip(skip));
    Paragraph::new(shown).render(inner, buf);
}
