//! The Museum tab: the bug museum's proposals waiting for review and its kept exhibits, one line
//! each, and below them the selected exhibit's whole case: where it came from, how it is
//! reproduced, the last check that it does, and why it happened.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use super::app::AppState;
use super::keymap::Action;
use super::render::{age, pane};
use super::theme::Theme;
use crate::protocol::{Exhibit, ExhibitStatus};
use jiff::Timestamp;

/// Rows the list keeps for itself before the details get the rest (more when the details are short).
const LIST_ROWS: u16 = 5;

/// Draws the Museum tab.
pub fn render(state: &AppState, area: Rect, buf: &mut Buffer, focused: bool) {
    let theme = &state.theme;
    let pending = state.museum.iter().filter(|e| e.status == ExhibitStatus::Pending).count();
    let kept = state.museum.len() - pending;
    let title = Line::from(vec![
        Span::styled(" Museum ", theme.style("ui.header")),
        Span::styled(format!("· {kept} kept · {pending} to review "), theme.style("ui.dim")),
    ]);
    let block = pane(theme, title, focused);
    let inner = block.inner(area);
    block.render(area, buf);
    if state.museum.is_empty() {
        let lines = vec![
            Line::styled("The museum is empty.", theme.style("ui.header")),
            Line::styled(
                "Failures Ambidex sees (a candidate that broke tests, a change you sent back, a breaker trip, a \
                 reverted PR) wait here for your review; `ambidex museum import --fix COMMIT` brings in an upstream \
                 fix.",
                theme.style("ui.dim"),
            ),
        ];
        Paragraph::new(lines).wrap(Wrap { trim: false }).render(inner, buf);
        return;
    }
    let selected = state.views.museum.min(state.museum.len() - 1);
    let details = details(theme, &state.museum[selected], state.now);
    let rows = |n: usize| u16::try_from(n).unwrap_or(u16::MAX);
    let wanted_list = rows(state.museum.len()).saturating_add(1);
    let list_rows =
        wanted_list.min(inner.height.saturating_sub(rows(details.len()).saturating_add(1)).max(LIST_ROWS + 1));
    let [list_area, rule_area, details_area] =
        Layout::vertical([Constraint::Length(list_rows), Constraint::Length(1), Constraint::Fill(1)]).areas(inner);
    render_list(state, list_area, buf, focused, selected);
    Line::styled("─".repeat(rule_area.width as usize), theme.style("ui.border")).render(rule_area, buf);
    Paragraph::new(details).wrap(Wrap { trim: false }).render(details_area, buf);
}

/// The keys, then one line per exhibit, scrolled to keep the selection in view.
fn render_list(state: &AppState, area: Rect, buf: &mut Buffer, focused: bool, selected: usize) {
    let theme = &state.theme;
    let key = |action| Span::styled(state.keymap.key(action), theme.style("ui.key"));
    let keys = Line::from(vec![
        key(Action::MemoryAccept),
        Span::styled(" keep  ", theme.style("ui.dim")),
        key(Action::MemoryReject),
        Span::styled(" reject the selected proposal  ", theme.style("ui.dim")),
        key(Action::Select),
        Span::styled(" go to its task · `ambidex museum` verifies, removes, exports", theme.style("ui.dim")),
    ]);
    let source_width = state.museum.iter().map(|e| e.source.label().chars().count()).max().unwrap_or(0).min(32);
    let rows = area.height.saturating_sub(1) as usize;
    let skip = (selected + 1).saturating_sub(rows);
    let mut lines = vec![keys];
    for (i, exhibit) in state.museum.iter().enumerate().skip(skip).take(rows) {
        let (status, style) = match exhibit.status {
            ExhibitStatus::Pending => ("review", theme.style("status.waiting")),
            _ => ("kept", theme.style("status.done")),
        };
        let (proof, proof_style) = proof(theme, exhibit);
        let source: String = exhibit.source.label().chars().take(source_width).collect();
        let mut line = Line::from(vec![
            Span::styled(format!("{:<9} ", exhibit.id.short()), theme.style("ui.dim")),
            Span::styled(format!("{status:<7}"), style),
            Span::styled(format!("{proof:<11}"), proof_style),
            Span::styled(format!("{source:<source_width$}  "), theme.style("ui.dim")),
            Span::styled(exhibit.title.clone(), theme.style("ui.text")),
        ]);
        if i == selected && focused {
            line = line.patch_style(theme.style("ui.selected"));
        }
        lines.push(line);
    }
    Paragraph::new(lines).render(area, buf);
}

/// Whether the exhibit is known to reproduce, in a word, with its style.
fn proof(theme: &Theme, exhibit: &Exhibit) -> (&'static str, ratatui::style::Style) {
    match &exhibit.verification {
        Some(check) if check.reproduces => ("✓ verified", theme.style("status.done")),
        Some(_) => ("✗ no repro", theme.style("status.stopped")),
        None => ("unverified", theme.style("ui.dim")),
    }
}

/// The selected exhibit's case, a line per fact; empty facts are left out.
fn details(theme: &Theme, exhibit: &Exhibit, now: Timestamp) -> Vec<Line<'static>> {
    let label = |text: &str| Span::styled(format!("{text:<12}"), theme.style("ui.dim"));
    let text = |text: String| Span::styled(text, theme.style("ui.text"));
    let mut lines = vec![Line::from(vec![Span::styled(format!("{} ", exhibit.title), theme.style("ui.header")), {
        Span::styled(format!("({} ago)", age(now, exhibit.created)), theme.style("ui.dim"))
    }])];
    lines.push(Line::from(vec![label("from"), text(exhibit.source.label())]));
    let links = links(exhibit);
    if !links.is_empty() {
        lines.push(Line::from(vec![label("links"), text(links)]));
    }
    let reproducer = &exhibit.reproducer;
    let base = &exhibit.base[..exhibit.base.len().min(10)];
    if reproducer.is_known() {
        let mut how = format!("`{}` on {base}", reproducer.command);
        if reproducer.tests_patch.is_some() {
            how.push_str(" with its test changes applied");
        }
        if exhibit.bug_patch.is_some() {
            how.push_str(" and the bug's change");
        }
        lines.push(Line::from(vec![label("reproduce"), text(how)]));
        if !reproducer.tests.is_empty() {
            lines.push(Line::from(vec![label("fails"), text(reproducer.tests.join(", "))]));
        }
    } else {
        lines.push(Line::from(vec![
            label("reproduce"),
            Span::styled(
                format!("no command yet (base {base}): it is not run against candidates until one is given"),
                theme.style("status.waiting"),
            ),
        ]));
    }
    lines.push(match &exhibit.verification {
        Some(check) => {
            let (said, style) = proof(theme, exhibit);
            Line::from(vec![
                label("last check"),
                Span::styled(format!("{said} "), style),
                text(format!("{} ago: {}", age(now, check.at), check.detail)),
            ])
        }
        None => Line::from(vec![
            label("last check"),
            Span::styled(format!("never: `ambidex museum verify {}`", exhibit.id.short()), theme.style("ui.dim")),
        ]),
    });
    if !exhibit.files.is_empty() {
        lines.push(Line::from(vec![label("files"), text(exhibit.files.join(", "))]));
    }
    if !exhibit.root_cause.is_empty() {
        lines.push(Line::from(vec![label("root cause"), text(exhibit.root_cause.clone())]));
    }
    if !exhibit.check.is_empty() {
        lines.push(Line::from(vec![label("caught by"), text(exhibit.check.clone())]));
    }
    lines
}

/// The exhibit's links in words: `task 0000…1, candidate c2, PR https://…, commit 1a2b3c4d5e`.
fn links(exhibit: &Exhibit) -> String {
    let links = &exhibit.links;
    let mut parts = Vec::new();
    if let Some(task) = links.task {
        parts.push(format!("task {}", task.short()));
    }
    if let Some(candidate) = &links.candidate {
        parts.push(format!("candidate {candidate}"));
    }
    if let Some(gate) = links.gate {
        parts.push(format!("gate {}", gate.short()));
    }
    if let Some(pr) = &links.pr {
        parts.push(format!("PR {pr}"));
    }
    if let Some(commit) = &links.commit {
        parts.push(format!("commit {}", &commit[..commit.len().min(10)]));
    }
    parts.join(", ")
}
