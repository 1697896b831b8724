//! The Right Hand and Left Hand panes: each agent's streamed text, tool calls (status, folded
//! output) and retries. Only the lines that fit are built, from the bottom up, so a long stream
//! costs nothing to draw.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::app::AppState;
use super::render::pane;
use super::streams::{AgentStream, Entry};
use super::theme::Theme;

/// Narrowest column of a Left Hand candidate.
const MIN_COLUMN: u16 = 28;

/// Draws the Right Hand pane.
pub fn render_right(state: &AppState, area: Rect, buf: &mut Buffer, focused: bool) {
    let theme = &state.theme;
    let detail = state.selected_detail();
    let stage = detail.and_then(|d| d.stage.as_deref()).map(|s| format!(" · {s}")).unwrap_or_default();
    let title = Line::from(vec![
        Span::styled(" Right Hand ", theme.style("ui.header")),
        Span::styled(format!("production{stage} "), theme.style("ui.dim")),
    ]);
    let block = pane(theme, title, focused);
    let inner = block.inner(area);
    block.render(area, buf);
    let Some(detail) = detail else {
        empty(theme, "Select a task to follow its agents.", inner, buf);
        return;
    };
    if detail.right.agents.is_empty() {
        let text = match state.selected_task().map(|t| t.status) {
            Some(status) => format!("No agent has worked on this task yet ({status})."),
            None => "No agent has worked on this task yet.".to_owned(),
        };
        empty(theme, &text, inner, buf);
        return;
    }
    let sections: Vec<&AgentStream> = detail.right.agents.iter().collect();
    let lines = tail(theme, &sections, state.views.right_unfolded, inner, state.views.right_scroll, true);
    Paragraph::new(lines).render(inner, buf);
}

/// Draws the Left Hand pane: one column per candidate where they fit.
pub fn render_left(state: &AppState, area: Rect, buf: &mut Buffer, focused: bool) {
    let theme = &state.theme;
    let detail = state.selected_detail();
    let trigger = detail.and_then(|d| d.exploration.as_ref()).map(|(t, _)| format!("· {t} ")).unwrap_or_default();
    let streams: Vec<&AgentStream> = detail.map(|d| d.left.agents.iter().collect()).unwrap_or_default();
    let fit = ((area.width.saturating_sub(2)) / MIN_COLUMN).max(1) as usize;
    let shown = streams.len().min(fit).max(1);
    let first =
        if streams.len() > shown { (state.views.left_column % streams.len()).min(streams.len() - shown) } else { 0 };
    let paging = if streams.len() > shown {
        format!("· {}-{} of {} (h/l) ", first + 1, first + shown, streams.len())
    } else {
        String::new()
    };
    let title = Line::from(vec![
        Span::styled(" Left Hand ", theme.style("ui.header")),
        Span::styled(format!("exploration {trigger}{paging}"), theme.style("ui.dim")),
    ]);
    let block = pane(theme, title, focused);
    let inner = block.inner(area);
    block.render(area, buf);
    if streams.is_empty() {
        let routed = state.selected_task().and_then(|t| t.route);
        let text = match routed {
            Some(crate::protocol::Route::RightOnly) => "This task runs on the Right Hand only (no exploration).",
            Some(_) => "Exploration has not started yet.",
            None => "No exploration for this task (yet).",
        };
        empty(theme, text, inner, buf);
        return;
    }
    let columns = Layout::horizontal(vec![Constraint::Fill(1); shown]).spacing(1).split(inner);
    for (column, stream) in columns.iter().zip(streams.iter().skip(first)) {
        let lines = tail(theme, &[*stream], state.views.left_unfolded, *column, state.views.left_scroll, true);
        Paragraph::new(lines).render(*column, buf);
    }
}

fn empty(theme: &Theme, text: &str, area: Rect, buf: &mut Buffer) {
    Paragraph::new(Line::styled(text.to_owned(), theme.style("ui.dim"))).render(area, buf);
}

/// The last `area.height` display lines, `scroll` lines up from the bottom.
fn tail<'a>(
    theme: &Theme,
    sections: &[&'a AgentStream],
    unfolded: bool,
    area: Rect,
    scroll: usize,
    headings: bool,
) -> Vec<Line<'a>> {
    let width = area.width.max(1) as usize;
    let want = area.height as usize + scroll;
    let mut out: Vec<Line<'a>> = Vec::with_capacity(want);
    'sections: for section in sections.iter().rev() {
        let mut lines: Vec<Line<'a>> = Vec::new();
        if !section.partial.is_empty() {
            let mut wrapped = wrap(&section.partial, width);
            if let Some(last) = wrapped.last_mut() {
                last.push('▍');
            }
            for piece in wrapped.into_iter().rev() {
                lines.push(Line::styled(piece, theme.style("stream.partial")));
            }
        }
        for entry in section.entries.iter().rev() {
            entry_lines(theme, entry, unfolded, width, &mut lines);
            if out.len() + lines.len() >= want {
                out.extend(lines);
                break 'sections;
            }
        }
        if headings {
            lines.push(heading(theme, section));
        }
        out.extend(lines);
        if out.len() >= want {
            break;
        }
    }
    out.reverse();
    let end = out.len().saturating_sub(scroll);
    let start = end.saturating_sub(area.height as usize);
    out.drain(end..);
    out.drain(..start);
    out
}

fn heading<'a>(theme: &Theme, section: &AgentStream) -> Line<'a> {
    let mut spans = vec![Span::styled(format!("▌{}", section.label), theme.style("stream.agent"))];
    if let Some(strategy) = &section.strategy {
        spans.push(Span::styled(format!(" · {strategy}"), theme.style("stream.tool")));
    }
    if !section.state.is_empty() {
        let style = match section.state.as_str() {
            "done" | "finished" => theme.style("stream.tool.ok"),
            "failed" => theme.style("stream.tool.failed"),
            _ => theme.style("ui.dim"),
        };
        spans.push(Span::styled(format!(" · {}", section.state), style));
    }
    Line::from(spans)
}

/// Pushes an entry's display lines in reverse order (the caller builds from the bottom up).
fn entry_lines<'a>(theme: &Theme, entry: &'a Entry, unfolded: bool, width: usize, out: &mut Vec<Line<'a>>) {
    match entry {
        Entry::Text(text) => {
            for piece in wrap(text, width).into_iter().rev() {
                out.push(Line::styled(piece, theme.style("ui.text")));
            }
        }
        Entry::Status(text) => out.push(Line::styled(text.as_str(), theme.style("stream.stage"))),
        Entry::Retry { attempt, reason, delay_ms } => out.push(Line::styled(
            format!("↻ retry after attempt {attempt} in {delay_ms} ms: {reason}"),
            theme.style("stream.retry"),
        )),
        Entry::Tool { name, detail, ok, exit_code, output } => {
            let mut shown: Vec<Line<'a>> = Vec::new();
            if unfolded {
                for line in output.iter().rev() {
                    shown.push(Line::styled(format!("  │ {line}"), theme.style("stream.output")));
                }
            } else if let Some(first) = output.iter().find(|l| !l.trim().is_empty()).or(output.first()) {
                let more = if output.len() > 1 { format!(" (+{} lines)", output.len() - 1) } else { String::new() };
                shown.push(Line::styled(format!("  │ {first}{more}"), theme.style("stream.output")));
            }
            out.extend(shown);
            let (mark, style) = match (ok, exit_code) {
                (true, _) => ("✓".to_owned(), theme.style("stream.tool.ok")),
                (false, Some(code)) => (format!("✗ exit {code}"), theme.style("stream.tool.failed")),
                (false, None) => ("✗".to_owned(), theme.style("stream.tool.failed")),
            };
            let detail = if detail.is_empty() { String::new() } else { format!(" {detail}") };
            out.push(Line::from(vec![
                Span::styled(format!("⚙ {name}"), theme.style("stream.tool")),
                Span::styled(detail, theme.style("ui.dim")),
                Span::raw(" "),
                Span::styled(mark, style),
            ]));
        }
    }
}

/// Splits `text` into pieces of at most `width` characters.
fn wrap(text: &str, width: usize) -> Vec<String> {
    if text.chars().count() <= width {
        return vec![text.to_owned()];
    }
    let chars: Vec<char> = text.chars().collect();
    chars.chunks(width.max(1)).map(|chunk| chunk.iter().collect()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lines_wrap_by_width() {
        assert_eq!(wrap("abcdef", 4), vec!["abcd", "ef"]);
        assert_eq!(wrap("abc", 4), vec!["abc"]);
    }
}
