//! The Compare tab: two candidates' diffs side by side, aligned file by file, scrolled together.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::app::{AppState, DiffEntry};
use super::diff_doc::{DiffDoc, Row};
use super::diff_view::row_line;
use super::render::pane;

/// Rows of the two sides, aligned: each file starts on the same row on both sides.
pub fn aligned(left: &DiffDoc, right: &DiffDoc) -> Vec<(Option<Row>, Option<Row>)> {
    let mut paths: Vec<&str> = left.files.iter().chain(&right.files).map(|f| f.path.as_str()).collect();
    paths.sort_unstable();
    paths.dedup();
    let rows_of = |doc: &DiffDoc, path: &str| -> Vec<Row> {
        match doc.files.iter().position(|f| f.path == path) {
            Some(index) => {
                let start = doc.file_row(index).unwrap_or(0);
                let end = doc.file_row(index + 1).unwrap_or(doc.rows.len());
                doc.rows[start..end].to_vec()
            }
            None => Vec::new(),
        }
    };
    let mut out = Vec::new();
    for path in paths {
        let (a, b) = (rows_of(left, path), rows_of(right, path));
        for i in 0..a.len().max(b.len()) {
            out.push((a.get(i).copied(), b.get(i).copied()));
        }
    }
    out
}

/// Draws the Compare tab.
pub fn render(state: &AppState, area: Rect, buf: &mut Buffer, focused: bool) {
    let theme = &state.theme;
    let task = state.selected_task().map(|t| t.id);
    let Some(((left_name, right_name), task)) = state.compare_candidates().zip(task) else {
        let block = pane(theme, Span::styled(" Compare ", theme.style("ui.header")), focused);
        let inner = block.inner(area);
        block.render(area, buf);
        let text = "Compare needs two candidates (production and a challenger, or two challengers).";
        Paragraph::new(Line::styled(text, theme.style("ui.dim"))).render(inner, buf);
        return;
    };
    let block = pane(
        theme,
        Line::from(vec![
            Span::styled(" Compare ", theme.style("ui.header")),
            Span::styled(left_name.clone(), theme.style("stream.agent")),
            Span::styled(" ⟷ ", theme.style("ui.dim")),
            Span::styled(format!("{right_name} "), theme.style("stream.agent")),
            Span::styled("(b/c switch sides) ", theme.style("ui.dim")),
        ]),
        focused,
    );
    let inner = block.inner(area);
    block.render(area, buf);
    let doc = |name: &str| match state.diff(task, name) {
        Some(DiffEntry { doc: Ok((_, doc)), .. }) => Ok(doc.clone()),
        Some(DiffEntry { doc: Err(error), .. }) => Err(error.clone()),
        None => Err("loading…".to_owned()),
    };
    let (left, right) = (doc(&left_name), doc(&right_name));
    let [left_area, right_area] =
        Layout::horizontal([Constraint::Fill(1), Constraint::Fill(1)]).spacing(1).areas(inner);
    match (&left, &right) {
        (Ok(a), Ok(b)) => {
            let rows = aligned(a, b);
            let start = state.views.compare_scroll.min(rows.len().saturating_sub(1));
            let visible = rows.iter().skip(start).take(inner.height as usize);
            let (mut l, mut r) = (Vec::new(), Vec::new());
            for (a_row, b_row) in visible {
                l.push(a_row.map_or_else(Line::default, |row| row_line(state, a, row, left_area.width as usize)));
                r.push(b_row.map_or_else(Line::default, |row| row_line(state, b, row, right_area.width as usize)));
            }
            Paragraph::new(l).render(left_area, buf);
            Paragraph::new(r).render(right_area, buf);
        }
        _ => {
            for (side, result) in [(left_area, &left), (right_area, &right)] {
                let text = match result {
                    Ok(doc) if doc.files.is_empty() => "no changes".to_owned(),
                    Ok(_) => String::new(),
                    Err(error) => error.clone(),
                };
                Paragraph::new(Line::styled(text, theme.style("ui.dim"))).render(side, buf);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_line_up_on_both_sides() {
        let a = DiffDoc::parse("diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n");
        let b = DiffDoc::parse(
            "diff --git a/w b/w\n--- a/w\n+++ b/w\n@@ -1 +1,2 @@\n-a\n+b\n+c\ndiff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+c\n",
        );
        let rows = aligned(&a, &b);
        assert_eq!(rows[0], (None, Some(Row::File(0))), "w exists on the right only");
        let x = rows.iter().position(|(l, _)| *l == Some(Row::File(0))).unwrap();
        assert_eq!(rows[x].1, Some(Row::File(1)), "x starts on the same row on both sides");
    }
}
