//! The approval overlay: what a gate asks, its evidence, its options and the keys, for every kind
//! of gate. Its text is wrapped here (see `wrap`) so the parts are sized from the rows they really
//! take: the options, the evidence rows and the keys always show; the reason and the longer
//! evidence scroll; the diff gets what is left.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::app::{AppState, DiffEntry};
use super::diff_view::row_line;
use super::evidence_view::{column_width, droppable};
use super::keymap::Action;
use super::layout::centered;
use super::model::{GateView, TaskDetail};
use super::overlay::modal;
use super::theme::Theme;
use super::wrap::{width as text_width, wrap, wrap_all};
use crate::protocol::{Decision, EvidenceColumn, EvidenceMatrix, GateKind, PRODUCTION};

/// The width of the labels in front of the overlay's lines.
const LABEL: usize = 11;

/// The overlay's parts, wrapped to its width.
pub(crate) struct GateLayout {
    /// The overlay's box.
    pub rect: Rect,
    /// The reason and the longer evidence: scrolled.
    pub text: Vec<Line<'static>>,
    /// The rows the text gets.
    pub text_height: usize,
    /// The evidence that always shows (the matrix, the flags, the plan's validation, …).
    pub essential: Vec<Line<'static>>,
    /// The options, with the picked one marked.
    pub options: Vec<Line<'static>>,
}

impl GateLayout {
    /// Whether the text is longer than its rows: its last row then says where it is.
    pub fn overflows(&self) -> bool {
        self.text.len() > self.text_height
    }

    /// The rows of text shown at a time.
    pub fn visible(&self) -> usize {
        if self.overflows() { self.text_height.saturating_sub(1) } else { self.text_height }
    }

    /// How far the text can scroll.
    pub fn max_scroll(&self) -> usize {
        self.text.len().saturating_sub(self.visible())
    }
}

/// The overlay's box in `area`: it grows with the terminal.
fn box_rect(area: Rect) -> Rect {
    let share = |size: u16, part: u32, whole: u32| u16::try_from(u32::from(size) * part / whole).unwrap_or(size);
    let width = area.width.saturating_sub(4).min(110.max(share(area.width, 2, 3)));
    let height = area.height.saturating_sub(2).min(34.max(share(area.height, 4, 5)));
    centered(area, width, height)
}

fn label(theme: &Theme, text: &str) -> Span<'static> {
    Span::styled(format!("{text:<LABEL$}"), theme.style("ui.form.label"))
}

fn labelled(theme: &Theme, name: &str, text: String, style: &'static str) -> Line<'static> {
    Line::from(vec![label(theme, name), Span::styled(text, theme.style(style))])
}

/// The overlay's parts for `gate`, laid out in `area` (the whole screen).
pub(crate) fn gate_layout(state: &AppState, gate: &GateView, area: Rect) -> GateLayout {
    let rect = box_rect(area);
    let inner_width = rect.width.saturating_sub(2) as usize;
    let inner_height = rect.height.saturating_sub(2) as usize;
    let detail = state.details.get(&gate.task);
    let (text, essential) = content(state, gate, detail, inner_width);
    let text = wrap_all(&text, inner_width, LABEL);
    let essential = wrap_all(&essential, inner_width, LABEL);
    let options = options(state, gate, inner_width);
    // The title, the note and the keys take a row each.
    let fixed = 3 + essential.len() + options.len();
    let text_height = text.len().min(inner_height.saturating_sub(fixed));
    // With no diff to show (a command gate), the box is only as tall as what it says.
    let rect = if gate.kind == GateKind::Command {
        let needed = u16::try_from(fixed + text_height + 2).unwrap_or(u16::MAX);
        centered(area, rect.width, rect.height.min(needed))
    } else {
        rect
    };
    GateLayout { rect, text, text_height, essential, options }
}

/// How far the overlay's text can scroll on the screen the state knows.
pub(crate) fn max_scroll(state: &AppState) -> usize {
    let Some(gate) = state.current_gate() else { return 0 };
    let area = Rect::new(0, 0, state.size.0, state.size.1);
    gate_layout(state, gate, area).max_scroll()
}

/// The rows the overlay's text shows at a time (what a page scrolls).
pub(crate) fn page(state: &AppState) -> usize {
    let Some(gate) = state.current_gate() else { return 1 };
    let area = Rect::new(0, 0, state.size.0, state.size.1);
    gate_layout(state, gate, area).visible().saturating_sub(1).max(1)
}

/// The text (scrolled) and the essential lines (always shown) of a gate, before wrapping.
fn content(
    state: &AppState,
    gate: &GateView,
    detail: Option<&TaskDetail>,
    width: usize,
) -> (Vec<Line<'static>>, Vec<Line<'static>>) {
    let theme = &state.theme;
    let mut text = vec![labelled(theme, "reason", gate.reason.clone(), "ui.text")];
    let mut essential = Vec::new();
    match (gate.kind, detail) {
        (GateKind::Plan, Some(detail)) => {
            if let Some(plan) = &detail.plan {
                text.push(labelled(theme, "plan", plan.summary.clone(), "ui.text"));
                for (i, step) in plan.steps.iter().enumerate() {
                    text.push(Line::styled(format!("{:LABEL$}{}. {step}", "", i + 1), theme.style("ui.text")));
                }
                if !plan.expected_files.is_empty() {
                    text.push(labelled(theme, "files", plan.expected_files.join(", "), "ui.text"));
                }
                let validation =
                    if plan.validation.is_empty() { "none named".to_owned() } else { plan.validation.join(" · ") };
                essential.push(labelled(theme, "validation", validation, "ui.text"));
                let confidence = plan.confidence.map_or_else(|| "not given".to_owned(), |c| format!("{c}%"));
                essential.push(labelled(theme, "confidence", confidence, "ui.text"));
            } else {
                essential.push(labelled(theme, "plan", "not recorded yet".into(), "ui.dim"));
            }
        }
        (GateKind::PullRequest, Some(detail)) => {
            if let Some(pr) = &detail.pr {
                let what = format!("{} ({} → {})", pr.title, pr.branch, pr.base_branch);
                text.push(labelled(theme, "PR", what, "ui.text"));
            }
            if let Some(review) = &detail.review {
                text.push(labelled(theme, "summary", review.summary.clone(), "ui.text"));
                for finding in &review.findings {
                    let file = finding.file.as_deref().map(|f| format!(" {f}")).unwrap_or_default();
                    let line =
                        format!("{:LABEL$}[{}] {}{file}: {}", "", finding.severity, finding.category, finding.message);
                    text.push(Line::styled(line, theme.style("ui.text")));
                }
                let serious =
                    review.findings.iter().filter(|f| matches!(f.severity.as_str(), "blocker" | "major")).count();
                let verdict = format!(
                    "{}, {} findings ({serious} serious)",
                    format!("{:?}", review.verdict).to_lowercase(),
                    review.findings.len()
                );
                let style = if serious > 0 { "eval.fail" } else { "ui.text" };
                essential.push(labelled(theme, "review", verdict, style));
            } else {
                essential.push(labelled(theme, "review", "none recorded".into(), "ui.dim"));
            }
        }
        (GateKind::Promotion, _) => promotion(state, gate, detail, width, &mut text, &mut essential),
        _ => {}
    }
    if let Some(detail) = detail
        && !detail.validations.is_empty()
        && gate.kind != GateKind::Plan
    {
        let passed = detail.validations.iter().filter(|v| v.ok).count();
        let style = if passed == detail.validations.len() { "eval.pass" } else { "eval.fail" };
        let what = format!("{passed} of {} commands passed", detail.validations.len());
        essential.push(labelled(theme, "validation", what, style));
    }
    if let Some(hash) = gate.evidence_hash {
        let hash = hash.to_string();
        text.push(labelled(theme, "evidence", hash[..hash.len().min(16)].to_owned(), "ui.dim"));
    }
    (text, essential)
}

/// A promotion's evidence: the recommendation and its reasons, the matrix (the row the picked
/// option adopts marked), and the flags the evidence raises.
fn promotion(
    state: &AppState,
    gate: &GateView,
    detail: Option<&TaskDetail>,
    width: usize,
    text: &mut Vec<Line<'static>>,
    essential: &mut Vec<Line<'static>>,
) {
    let theme = &state.theme;
    let flag = |text: String| Line::from(vec![label(theme, "⚑ flag"), Span::styled(text, theme.style("eval.fail"))]);
    let synthesis = detail.and_then(|d| d.synthesis.as_ref());
    match synthesis {
        Some(synthesis) => {
            let mut line = vec![
                label(theme, "recommends"),
                Span::styled(synthesis.recommendation.label(), theme.style("eval.best")),
            ];
            if let Some(first) = gate.options.first().filter(|o| **o != synthesis.recommendation.label()) {
                line.push(Span::styled(format!("  (option 1: {first})"), theme.style("ui.dim")));
            }
            essential.push(Line::from(line));
            // The engine's own check of the recommendation against the matrix comes first.
            for found in &synthesis.flags {
                essential.push(flag(found.clone()));
            }
            for reason in &synthesis.reasons {
                let rows =
                    if reason.rows.is_empty() { String::new() } else { format!(" [{}]", reason.rows.join(", ")) };
                let line = format!("{:LABEL$}• {}{rows}", "", reason.text);
                text.push(Line::styled(line, theme.style("ui.text")));
            }
        }
        None => essential.push(labelled(theme, "recommends", "no synthesis recorded".into(), "ui.dim")),
    }
    let Some(detail) = detail else { return };
    let Some((matrix, hash)) = &detail.matrix else {
        essential.push(flag("no evidence matrix: the candidates were not evaluated; decide from the diffs".into()));
        return;
    };
    let picked = gate.options.get(state.approval.option).and_then(|o| detail.option_candidate(o));
    essential.extend(matrix_rows(theme, matrix, picked.as_deref(), width));
    if matrix.acceptance_tests.is_empty() {
        essential.push(flag("no acceptance tests: ACCEPT cannot tell the candidates apart".into()));
    } else if !matrix.weak_acceptance.is_empty() {
        essential.push(flag(format!(
            "{} of {} acceptance tests already pass on the base (weak): {}",
            matrix.weak_acceptance.len(),
            matrix.acceptance_tests.len(),
            matrix.weak_acceptance.join(", ")
        )));
    }
    if let Some(synthesis) = synthesis
        && synthesis.matrix_hash != *hash
    {
        essential.push(flag("the synthesis read an older evidence matrix than this one".into()));
    }
    let recommended = detail.recommended();
    for row in &matrix.rows {
        let shortcomings = row.shortcomings();
        if shortcomings.is_empty() {
            continue;
        }
        let who = if recommended == Some(row.candidate.as_str()) {
            format!("the recommended {}", row.candidate)
        } else {
            row.candidate.clone()
        };
        essential.push(flag(format!("{who}: {}", shortcomings.join("; "))));
    }
}

/// The matrix as rows of text: the columns that fit `width`, a `▶` before the row the picked
/// option adopts, the best value of each column styled as best.
fn matrix_rows(theme: &Theme, matrix: &EvidenceMatrix, picked: Option<&str>, width: usize) -> Vec<Line<'static>> {
    let mut columns = EvidenceColumn::ALL.to_vec();
    let column_of = |c: EvidenceColumn| column_width(matrix, c).saturating_sub(1).max(c.short_header().len());
    let total = |columns: &[EvidenceColumn]| 2 + columns.iter().map(|c| column_of(*c) + 1).sum::<usize>();
    for drop in droppable(matrix) {
        if total(&columns) <= width {
            break;
        }
        columns.retain(|c| *c != drop);
    }
    let mut header = vec![Span::styled("  ", theme.style("eval.header"))];
    for column in &columns {
        header.push(Span::styled(
            format!("{:<w$} ", column.short_header(), w = column_of(*column)),
            theme.style("eval.header"),
        ));
    }
    let mut lines = vec![Line::from(header)];
    for (index, row) in matrix.rows.iter().enumerate() {
        let chosen = picked == Some(row.candidate.as_str());
        let mut spans = vec![Span::styled(
            if chosen { "▶ " } else { "  " },
            theme.style(if chosen { "gate.option.selected" } else { "ui.text" }),
        )];
        for cell in matrix.cells(index, &columns) {
            let style = match cell.column {
                EvidenceColumn::Valid if row.validation_ok => theme.style("eval.pass"),
                EvidenceColumn::Valid => theme.style("eval.fail"),
                _ if cell.best => theme.style("eval.best"),
                _ => theme.style("ui.text"),
            };
            let style = if chosen && cell.column == EvidenceColumn::Candidate {
                theme.style("gate.option.selected")
            } else {
                style
            };
            spans.push(Span::styled(format!("{:<w$} ", cell.text, w = column_of(cell.column)), style));
        }
        lines.push(Line::from(spans));
    }
    lines
}

/// The options, packed into rows without splitting one: the picked one marked `▶` and styled,
/// the first (the recommendation) labelled.
fn options(state: &AppState, gate: &GateView, width: usize) -> Vec<Line<'static>> {
    let theme = &state.theme;
    if gate.options.is_empty() {
        return Vec::new();
    }
    let mut rows: Vec<Vec<Span<'static>>> = vec![vec![label(theme, "choose")]];
    let mut column = LABEL;
    for (i, option) in gate.options.iter().enumerate() {
        let picked = i == state.approval.option;
        let recommended = if i == 0 { " (recommended)" } else { "" };
        let text = format!("{}{} {option}{recommended}", if picked { "▶ " } else { "  " }, i + 1);
        let style = if picked { theme.style("gate.option.selected") } else { theme.style("gate.option") };
        let needed = text_width(&text) + 2;
        if column + needed > width && column > LABEL {
            rows.push(vec![Span::raw(" ".repeat(LABEL))]);
            column = LABEL;
        }
        if let Some(row) = rows.last_mut() {
            row.push(Span::styled(text, style));
            row.push(Span::raw("  "));
        }
        column += needed;
    }
    rows.into_iter().flat_map(|row| wrap(&Line::from(row), width, LABEL)).collect()
}

/// The key hints that fit `width`: long words, else short ones, else the least important go.
fn hints(state: &AppState, gate: &GateView, scrolls: bool, width: usize) -> Line<'static> {
    let theme = &state.theme;
    let key = |action| state.keymap.key(action);
    let allowed = |decision: Decision| gate.allowed.is_empty() || gate.allowed.contains(&decision);
    // (key, long words, short words, importance: lower stays longer)
    let mut all: Vec<(String, &str, &str, u8)> = Vec::new();
    for (action, decision, long, short, rank) in [
        (Action::Approve, Some(Decision::Approve), "approve", "approve", 0),
        (Action::SendBack, Some(Decision::SendBack), "send back", "back", 1),
        (Action::Stop, Some(Decision::Stop), "stop", "stop", 2),
        (Action::ApproveForTask, Some(Decision::ApproveForTask), "approve for this task", "for task", 7),
    ] {
        if decision.is_none_or(allowed) {
            all.push((key(action), long, short, rank));
        }
    }
    if gate.options.len() > 1 {
        let keys = format!("{}/{} 1-{}", key(Action::PrevOption), key(Action::NextOption), gate.options.len().min(9));
        all.push((keys, "choose", "pick", 3));
    }
    if scrolls {
        all.push((format!("{}/{}", key(Action::GateDown), key(Action::GateUp)), "scroll", "scroll", 4));
    }
    all.push((key(Action::Note), "note", "note", 6));
    if gate.kind != GateKind::Command {
        all.push((key(Action::FullDiff), "full diff", "diff", 8));
    }
    all.push((key(Action::Later), "later", "later", 5));
    let measure = |hints: &[(String, &str, &str, u8)], long: bool| -> usize {
        hints.iter().map(|(k, l, s, _)| text_width(k) + text_width(if long { l } else { s }) + 3).sum::<usize>() - 2
    };
    let long = measure(&all, true) <= width;
    while all.len() > 1 && measure(&all, long) > width {
        if let Some(least) = all.iter().enumerate().max_by_key(|(_, h)| h.3).map(|(i, _)| i) {
            all.remove(least);
        }
    }
    let mut spans = Vec::new();
    for (i, (k, l, s, _)) in all.into_iter().enumerate() {
        if i > 0 {
            spans.push(Span::raw("  "));
        }
        spans.push(Span::styled(k, theme.style("ui.key")));
        spans.push(Span::styled(format!(" {}", if long { l } else { s }), theme.style("ui.dim")));
    }
    Line::from(spans)
}

/// Draws the approval overlay for the first gate in the queue.
pub fn render_approval(state: &AppState, area: Rect, buf: &mut Buffer) {
    let theme = &state.theme;
    let Some(gate) = state.current_gate() else { return };
    let layout = gate_layout(state, gate, area);
    let more = state.approval.queue.len().saturating_sub(1);
    let mut title = vec![
        Span::styled(format!(" Approval: {} gate ", gate.kind), theme.style("gate.pending")),
        Span::styled(format!("· task {} ", gate.task.short()), theme.style("ui.dim")),
    ];
    if more > 0 {
        title.push(Span::styled(format!("· {more} more queued "), theme.style("gate.pending")));
    }
    let inner = modal(state, Line::from(title), layout.rect, buf);
    let width = inner.width as usize;
    let mut rows: Vec<Line<'static>> = Vec::with_capacity(inner.height as usize);
    let task_title = state.summary(gate.task).map(|t| t.title.clone()).unwrap_or_default();
    rows.push(Line::styled(task_title, theme.style("ui.header")));

    let scroll = state.approval.scroll.min(layout.max_scroll());
    let visible = layout.visible();
    rows.extend(layout.text.iter().skip(scroll).take(visible).cloned());
    if layout.overflows() {
        // The last row says where the text is and how to see the rest.
        let below = layout.text.len().saturating_sub(scroll + visible);
        let what = format!(
            "── rows {}-{} of {}{} ({}/{} {}/{} scroll) ",
            scroll + 1,
            scroll + visible,
            layout.text.len(),
            if below > 0 { format!(", {below} more below") } else { String::new() },
            state.keymap.key(Action::GateDown),
            state.keymap.key(Action::GateUp),
            state.keymap.key(Action::GatePageDown),
            state.keymap.key(Action::GatePageUp),
        );
        rows.push(Line::styled(what, theme.style("ui.dim")));
    }
    rows.extend(layout.essential.iter().cloned());
    rows.extend(layout.options.iter().cloned());
    let used = rows.len();
    let rest = (inner.height as usize).saturating_sub(used + 2);
    rows.extend(diff_rows(state, gate, width, rest));
    let body = Rect { height: inner.height.saturating_sub(2), ..inner };
    Paragraph::new(rows).render(body, buf);

    let note_area = Rect { y: inner.bottom().saturating_sub(2), height: 1, ..inner };
    let keys_area = Rect { y: inner.bottom().saturating_sub(1), height: 1, ..inner };
    note_line(state).render(note_area, buf);
    hints(state, gate, layout.overflows(), width).render(keys_area, buf);
}

/// The diff the gate is about, in `height` rows: the picked option's candidate for a choice.
fn diff_rows(state: &AppState, gate: &GateView, width: usize, height: usize) -> Vec<Line<'static>> {
    let theme = &state.theme;
    let header_style = theme.style("ui.border");
    let Some(candidate) = state.gate_candidate(gate).filter(|_| gate.kind != GateKind::Command && height > 0) else {
        return Vec::new();
    };
    let against = if candidate == PRODUCTION { "" } else { ", what adopting it brings" };
    match state.diff(gate.task, &candidate) {
        Some(DiffEntry { doc: Ok((_, doc)), .. }) if !doc.files.is_empty() => {
            let heading = format!(
                "── diff of {candidate}{against}: {} files +{} -{} · {} full diff ",
                doc.files.len(),
                doc.added(),
                doc.removed(),
                state.keymap.key(Action::FullDiff)
            );
            let mut lines = vec![Line::styled(heading, header_style)];
            lines.extend(doc.rows.iter().take(height - 1).map(|row| to_owned(row_line(state, doc, *row, width))));
            lines
        }
        Some(DiffEntry { doc: Ok(_), .. }) => {
            vec![Line::styled(format!("── {candidate} has no changes yet"), header_style)]
        }
        Some(DiffEntry { doc: Err(error), .. }) => {
            vec![Line::styled(format!("── diff of {candidate}: {error}"), header_style)]
        }
        None => vec![Line::styled(format!("── diff of {candidate}: loading…"), header_style)],
    }
}

fn to_owned(line: Line<'_>) -> Line<'static> {
    let spans: Vec<Span<'static>> =
        line.spans.into_iter().map(|s| Span::styled(s.content.into_owned(), s.style)).collect();
    Line::from(spans).style(line.style)
}

/// The note being written or kept, or nothing.
fn note_line(state: &AppState) -> Line<'static> {
    let theme = &state.theme;
    if state.approval.editing_note {
        let after = if state.approval.send_back_on_enter {
            "  (enter sends it back, esc drops)"
        } else {
            "  (enter to keep, esc to drop)"
        };
        Line::from(vec![
            Span::styled("note: ", theme.style("ui.form.focus")),
            Span::styled(format!("{}▏", state.approval.note), theme.style("ui.text")),
            Span::styled(after, theme.style("ui.dim")),
        ])
    } else if state.approval.note.is_empty() {
        Line::default()
    } else {
        Line::from(vec![
            Span::styled("note: ", theme.style("ui.form.label")),
            Span::styled(state.approval.note.clone(), theme.style("ui.text")),
        ])
    }
}
