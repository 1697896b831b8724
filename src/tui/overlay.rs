//! Overlays: help generated from the keymap, confirmations, an evidence cell's details; and the
//! Gates tab, which lists what the approval overlay (`gate_view`) works through.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Widget, Wrap};

use super::app::{AppState, Confirm};
use super::layout::centered;
use super::render::{age, pane};
use crate::protocol::{Decision, TaskId};

/// Clears `area` and draws an overlay's frame with `title`; returns the inside.
pub(crate) fn modal<'a>(state: &AppState, title: Line<'a>, area: Rect, buf: &mut Buffer) -> Rect {
    Clear.render(area, buf);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(state.theme.style("ui.overlay.border"))
        .title(title)
        .style(state.theme.style("ui.overlay"));
    let inner = block.inner(area);
    block.render(area, buf);
    inner
}

/// Draws the help overlay, generated from the keymap.
pub fn render_help(state: &AppState, scroll: usize, area: Rect, buf: &mut Buffer) {
    let theme = &state.theme;
    let rect = centered(area, area.width.saturating_sub(4).min(90), area.height.saturating_sub(2));
    let inner = modal(state, Line::styled(" Keys (from your keymap) ", theme.style("ui.title")), rect, buf);
    let mut lines = Vec::new();
    for (section, bindings) in state.keymap.help() {
        lines.push(Line::styled(section, theme.style("ui.header")));
        for (keys, what) in bindings {
            lines.push(Line::from(vec![
                Span::styled(format!("  {keys:<20}"), theme.style("ui.key")),
                Span::styled(what, theme.style("ui.text")),
            ]));
        }
        lines.push(Line::default());
    }
    lines.push(Line::styled(
        "ctrl-z suspends · mouse: wheel scrolls, click focuses · [tui.keymap] in config.toml rebinds",
        theme.style("ui.dim"),
    ));
    let scroll = scroll.min(lines.len().saturating_sub(inner.height as usize));
    Paragraph::new(lines.split_off(scroll)).render(inner, buf);
}

/// Draws a yes/no question.
pub fn render_confirm(state: &AppState, confirm: &Confirm, area: Rect, buf: &mut Buffer) {
    let theme = &state.theme;
    let text = match confirm {
        Confirm::Quit { running } => format!(
            "{running} task{} running. Quit anyway? They stop now and resume on the next start.",
            if *running == 1 { " is" } else { "s are" }
        ),
        Confirm::Cancel(task) => format!("Cancel task {}? Its worktrees are kept.", task.short()),
        Confirm::Clean(task) => format!(
            "Remove the worktrees of task {}? Its branches stay; uncommitted changes are refused.",
            task.short()
        ),
        Confirm::Rewind { task, stage, note } => return render_confirm_rewind(state, *task, stage, note, area, buf),
        Confirm::Promote { version, scroll } => {
            return super::playbooks_view::render_confirm_promote(state, version, *scroll, area, buf);
        }
    };
    let rect = centered(area, 60, 7);
    let inner = modal(state, Line::styled(" Confirm ", theme.style("ui.title")), rect, buf);
    Paragraph::new(vec![
        Line::styled(text, theme.style("ui.text")),
        Line::default(),
        Line::from(vec![
            Span::styled("y", theme.style("ui.key")),
            Span::styled(" yes   ", theme.style("ui.dim")),
            Span::styled("n", theme.style("ui.key")),
            Span::styled(" no", theme.style("ui.dim")),
        ]),
    ])
    .wrap(Wrap { trim: true })
    .render(inner, buf);
}

/// Draws a rewind's confirmation: what goes back, where the work since goes, and the note.
fn render_confirm_rewind(
    state: &AppState,
    task: TaskId,
    stage: &str,
    note: &Option<String>,
    area: Rect,
    buf: &mut Buffer,
) {
    let theme = &state.theme;
    let what = format!(
        "Its worktree goes back to the checkpoint the {stage} stage started from. The work done since is set \
         aside on a ref: kept, not deleted (the rewind's event names the ref). The task then runs again from \
         the {stage} stage."
    );
    let width = area.width.saturating_sub(4).min(76);
    // The wrapped lines (words leave a little room at each line's end), the blank lines, the keys,
    // the frame.
    let wrapped = |chars: usize| (chars / width.saturating_sub(6).max(1) as usize) as u16 + 1;
    let note_lines = note.as_deref().map_or(1, |n| wrapped("note: ".len() + n.chars().count()));
    let height = 1 + 1 + wrapped(what.chars().count()) + 1 + note_lines + 1 + 1 + 2;
    let rect = centered(area, width, height);
    let title = Line::from(vec![
        Span::styled(" Confirm the rewind ", theme.style("ui.title")),
        Span::styled(format!("· task {} ", task.short()), theme.style("ui.dim")),
    ]);
    let inner = modal(state, title, rect, buf);
    let note = match note {
        Some(note) => Line::from(vec![
            Span::styled("note: ", theme.style("ui.form.label")),
            Span::styled(note.clone(), theme.style("ui.text")),
        ]),
        None => Line::styled("no note for the rerun", theme.style("ui.dim")),
    };
    Paragraph::new(vec![
        Line::styled(format!("Rewind task {} to the {stage} stage?", task.short()), theme.style("ui.header")),
        Line::default(),
        Line::styled(what, theme.style("ui.text")),
        Line::default(),
        note,
        Line::default(),
        Line::from(vec![
            Span::styled("y", theme.style("ui.key")),
            Span::styled(" rewind   ", theme.style("ui.dim")),
            Span::styled("any other key", theme.style("ui.key")),
            Span::styled(" cancels", theme.style("ui.dim")),
        ]),
    ])
    .wrap(Wrap { trim: true })
    .render(inner, buf);
}

/// Draws what is behind an evidence cell.
pub fn render_cell(state: &AppState, title: &str, lines: &[String], scroll: usize, area: Rect, buf: &mut Buffer) {
    let theme = &state.theme;
    let rect = centered(area, area.width.saturating_sub(6).min(120), area.height.saturating_sub(4));
    let inner = modal(state, Line::styled(format!(" {title} "), theme.style("ui.title")), rect, buf);
    let scroll = scroll.min(lines.len().saturating_sub(1));
    let shown: Vec<Line> = lines
        .iter()
        .skip(scroll)
        .map(|l| {
            let style = if l.contains("FAILED") { theme.style("eval.fail") } else { theme.style("ui.text") };
            Line::styled(l.as_str(), style)
        })
        .collect();
    Paragraph::new(shown).render(inner, buf);
}

/// Draws the Gates tab: every open gate, then the selected task's decided ones.
pub fn render_gates_tab(state: &AppState, area: Rect, buf: &mut Buffer, focused: bool) {
    let theme = &state.theme;
    let block = pane(
        theme,
        Line::from(vec![
            Span::styled(" Gates ", theme.style("ui.header")),
            Span::styled(format!("· {} waiting ", state.approval.queue.len()), theme.style("ui.dim")),
        ]),
        focused,
    );
    let inner = block.inner(area);
    block.render(area, buf);
    let gates = state.gate_list();
    if gates.is_empty() {
        Paragraph::new(Line::styled("No gates: nothing waits for you.", theme.style("ui.dim"))).render(inner, buf);
        return;
    }
    let lines: Vec<Line> = gates
        .iter()
        .enumerate()
        .filter_map(|(i, (task, id))| {
            let gate = state.details.get(task)?.gates.iter().find(|g| g.id == *id)?;
            let (state_text, style) = match &gate.decided {
                None => ("waiting".to_owned(), theme.style("gate.pending")),
                Some((Decision::Reject | Decision::Stop, ..)) => ("stopped".to_owned(), theme.style("gate.rejected")),
                Some((Decision::SendBack, ..)) => ("sent back".to_owned(), theme.style("gate.rejected")),
                Some((decision, _, choice)) => {
                    let choice = choice.as_deref().map(|c| format!(" ({c})")).unwrap_or_default();
                    (format!("{decision}{choice}"), theme.style("gate.approved"))
                }
            };
            let mut line = Line::from(vec![
                Span::styled(format!("{:<10} ", gate.id.short()), theme.style("ui.dim")),
                Span::styled(format!("{:<13}", gate.kind.to_string()), theme.style("ui.text")),
                Span::styled(format!("{state_text:<20} "), style),
                Span::styled(format!("{:>4} ", age(state.now, gate.opened_at)), theme.style("ui.dim")),
                Span::styled(format!("{} ", task.short()), theme.style("ui.dim")),
                Span::styled(gate.reason.clone(), theme.style("ui.text")),
            ]);
            if i == state.views.gate && focused {
                line = line.patch_style(theme.style("ui.selected"));
            }
            Some(line)
        })
        .collect();
    Paragraph::new(lines).render(inner, buf);
}
