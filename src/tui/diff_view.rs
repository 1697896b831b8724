//! The Diff tab: a file list with stats beside the selected candidate's diff, syntax highlighted
//! (when the worker has answered) with the changed words of edited lines marked.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::app::{AppState, DiffEntry};
use super::diff_doc::{DiffDoc, DiffLine, LineKind, Row};
use super::render::pane;
use super::theme::Theme;

/// Draws the Diff tab.
pub fn render(state: &AppState, area: Rect, buf: &mut Buffer, focused: bool) {
    let theme = &state.theme;
    let task = state.selected_task().map(|t| t.id);
    let candidate = state.diff_candidate();
    let entry = match (task, &candidate) {
        (Some(task), Some(candidate)) => state.diff(task, candidate),
        _ => None,
    };
    let mut title = vec![Span::styled(" Diff ", theme.style("ui.header"))];
    if let Some(candidate) = &candidate {
        let count = state.candidates().len();
        title.push(Span::styled(format!("· {candidate} "), theme.style("stream.agent")));
        if count > 1 {
            title.push(Span::styled(format!("({} candidates, c to switch) ", count), theme.style("ui.dim")));
        }
    }
    if let Some(DiffEntry { doc: Ok((diff, doc)), .. }) = entry {
        title.push(Span::styled(format!("· {} ", diff.branch), theme.style("ui.dim")));
        title.push(Span::styled(format!("+{}", doc.added()), theme.style("diff.plus")));
        title.push(Span::styled(format!(" -{} ", doc.removed()), theme.style("diff.minus")));
    }
    let block = pane(theme, Line::from(title), focused);
    let inner = block.inner(area);
    block.render(area, buf);
    let doc = match (entry, candidate) {
        (_, None) if task.is_none() => return message(theme, "Select a task to see its diff.", inner, buf),
        (_, None) => {
            return message(theme, "No worktree yet: the diff appears once an agent starts editing.", inner, buf);
        }
        (None, _) => return message(theme, "loading…", inner, buf),
        (Some(DiffEntry { doc: Err(error), .. }), _) => return message(theme, error, inner, buf),
        (Some(DiffEntry { doc: Ok((_, doc)), .. }), _) => doc,
    };
    if doc.files.is_empty() {
        return message(theme, "No changes against the base yet.", inner, buf);
    }
    let list_width = if inner.width >= 100 { 34 } else { 0 };
    let [list, text] = Layout::horizontal([Constraint::Length(list_width), Constraint::Fill(1)]).areas(inner);
    let current = doc.file_at(state.views.diff_scroll).unwrap_or(0);
    if list_width > 0 {
        render_files(theme, doc, current, list, buf);
    }
    let lines = rows(state, doc, state.views.diff_scroll, text.height as usize, text.width as usize);
    Paragraph::new(lines).render(text, buf);
}

fn message(theme: &Theme, text: &str, area: Rect, buf: &mut Buffer) {
    Paragraph::new(Line::styled(text.to_owned(), theme.style("ui.dim"))).render(area, buf);
}

fn render_files(theme: &Theme, doc: &DiffDoc, current: usize, area: Rect, buf: &mut Buffer) {
    let skip = current.saturating_sub(area.height as usize / 2);
    let lines: Vec<Line> = doc
        .files
        .iter()
        .enumerate()
        .skip(skip)
        .take(area.height as usize)
        .map(|(index, file)| {
            let name_width = (area.width as usize).saturating_sub(12);
            let name = shorten(&file.path, name_width);
            let base = if index == current { theme.style("ui.selected") } else { theme.style("ui.text") };
            Line::from(vec![
                Span::styled(format!("{name:<name_width$}"), base),
                Span::styled(format!("{:>5}", format!("+{}", file.added)), theme.style("diff.plus")),
                Span::styled(format!("{:>5}", format!("-{}", file.removed)), theme.style("diff.minus")),
            ])
        })
        .collect();
    Paragraph::new(lines).render(area, buf);
}

/// Keeps the end of a path when it does not fit.
pub fn shorten(path: &str, width: usize) -> String {
    let count = path.chars().count();
    if count <= width || width < 2 {
        return path.to_owned();
    }
    let tail: String = path.chars().skip(count - (width - 1)).collect();
    format!("…{tail}")
}

/// The display lines of rows `start..start + height` of a diff.
pub fn rows<'a>(state: &AppState, doc: &'a DiffDoc, start: usize, height: usize, width: usize) -> Vec<Line<'a>> {
    doc.rows.iter().skip(start).take(height).map(|row| row_line(state, doc, *row, width)).collect()
}

/// One display row.
pub fn row_line<'a>(state: &AppState, doc: &'a DiffDoc, row: Row, width: usize) -> Line<'a> {
    let theme = &state.theme;
    match row {
        Row::File(f) => {
            let file = &doc.files[f];
            let rule = "─".repeat(width.saturating_sub(file.path.chars().count() + 24).min(200));
            Line::from(vec![
                Span::styled(format!("━ {} ", file.path), theme.style("diff.file")),
                Span::styled(format!("({}, +{} -{}) ", file.status, file.added, file.removed), theme.style("ui.dim")),
                Span::styled(rule, theme.style("ui.border")),
            ])
        }
        Row::Hunk(f, h) => Line::styled(doc.files[f].hunks[h].header.as_str(), theme.style("diff.hunk")),
        Row::Line(f, h, l) => {
            let hunk = &doc.files[f].hunks[h];
            let highlight = state.highlights.get(&hunk.key).and_then(|lines| lines.get(l));
            line_spans(theme, &hunk.lines[l], highlight.map(Vec::as_slice))
        }
    }
}

/// A diff line: numbers, sign, and text split where syntax classes and changed words change.
pub fn line_spans<'a>(
    theme: &Theme,
    line: &'a DiffLine,
    highlight: Option<&[(std::ops::Range<usize>, super::highlight::SyntaxClass)]>,
) -> Line<'a> {
    let (sign, base, word) = match line.kind {
        LineKind::Plus => ("+", theme.style("diff.plus"), theme.style("diff.plus.word")),
        LineKind::Minus => ("-", theme.style("diff.minus"), theme.style("diff.minus.word")),
        LineKind::Context => (" ", theme.style("diff.context"), theme.style("diff.context")),
        LineKind::Meta => return Line::styled(line.text.as_str(), theme.style("ui.dim")),
    };
    let number = |n: Option<u32>| n.map_or_else(|| "    ".to_owned(), |n| format!("{n:>4}"));
    let mut spans = vec![
        Span::styled(format!("{} {} ", number(line.old_no), number(line.new_no)), theme.style("diff.lineno")),
        Span::styled(sign, base),
    ];
    // Cut points: every boundary of a syntax token or a changed word.
    let text = line.text.as_str();
    let mut cuts: Vec<usize> = vec![0, text.len()];
    for (range, _) in highlight.unwrap_or_default() {
        cuts.extend([range.start, range.end]);
    }
    for range in &line.words {
        cuts.extend([range.start, range.end]);
    }
    cuts.retain(|c| *c <= text.len() && text.is_char_boundary(*c));
    cuts.sort_unstable();
    cuts.dedup();
    for pair in cuts.windows(2) {
        let (from, to) = (pair[0], pair[1]);
        let mut style: Style = base;
        if let Some(class) = highlight
            .unwrap_or_default()
            .iter()
            .find(|(range, _)| range.start <= from && to <= range.end)
            .map(|(_, class)| *class)
        {
            style = style.patch(theme.style(class.scope()));
        }
        if line.words.iter().any(|range| range.start <= from && to <= range.end) {
            style = style.patch(word);
        }
        spans.push(Span::styled(&text[from..to], style));
    }
    Line::from(spans)
}
