//! Word wrapping of styled lines to a width. Overlays wrap their text themselves so they know how
//! many rows it takes: they size their parts from it and scroll it row by row.

use ratatui::style::Style;
use ratatui::text::{Line, Span};
use unicode_width::UnicodeWidthChar;

/// The display width of a text.
pub fn width(text: &str) -> usize {
    text.chars().map(|c| c.width().unwrap_or(0)).sum()
}

/// `line` broken at spaces into rows of at most `width` columns; rows after the first start with
/// `indent` spaces (a hanging indent, dropped when it leaves too little room). A word longer than
/// a row is cut.
pub fn wrap(line: &Line<'_>, width: usize, indent: usize) -> Vec<Line<'static>> {
    let width = width.max(1);
    let indent = if indent * 2 > width { 0 } else { indent };
    let chars: Vec<(char, Style)> =
        line.spans.iter().flat_map(|span| span.content.chars().map(move |c| (c, span.style))).collect();
    let mut rows: Vec<Vec<(char, Style)>> = vec![Vec::new()];
    let mut column = 0;
    let mut start = 0;
    let new_row = |rows: &mut Vec<Vec<(char, Style)>>, column: &mut usize, start: &mut usize| {
        rows.push(vec![(' ', Style::default()); indent]);
        *column = indent;
        *start = indent;
    };
    let mut at = 0;
    while at < chars.len() {
        let space = chars[at].0 == ' ';
        let end = chars[at..].iter().position(|(c, _)| (*c == ' ') != space).map_or(chars.len(), |n| at + n);
        let token = &chars[at..end];
        let token_width: usize = token.iter().map(|(c, _)| c.width().unwrap_or(0)).sum();
        if column + token_width <= width {
            rows.last_mut().into_iter().for_each(|row| row.extend_from_slice(token));
            column += token_width;
        } else if space {
            // The row ends here; the spaces go.
            new_row(&mut rows, &mut column, &mut start);
        } else {
            if column > start {
                new_row(&mut rows, &mut column, &mut start);
            }
            for &(c, style) in token {
                let w = c.width().unwrap_or(0);
                if column + w > width && column > start {
                    new_row(&mut rows, &mut column, &mut start);
                }
                rows.last_mut().into_iter().for_each(|row| row.push((c, style)));
                column += w;
            }
        }
        at = end;
    }
    rows.into_iter().map(|row| joined(row, line.style)).collect()
}

/// Every line of `lines` wrapped (see [`wrap`]).
pub fn wrap_all(lines: &[Line<'_>], width: usize, indent: usize) -> Vec<Line<'static>> {
    lines.iter().flat_map(|line| wrap(line, width, indent)).collect()
}

/// Characters back into spans, one per run of the same style.
fn joined(row: Vec<(char, Style)>, style: Style) -> Line<'static> {
    let mut spans: Vec<Span<'static>> = Vec::new();
    let mut text = String::new();
    let mut current: Option<Style> = None;
    for (c, s) in row {
        if current.is_some_and(|cur| cur != s) {
            spans.push(Span::styled(std::mem::take(&mut text), current.unwrap_or_default()));
        }
        current = Some(s);
        text.push(c);
    }
    if !text.is_empty() {
        spans.push(Span::styled(text, current.unwrap_or_default()));
    }
    Line::from(spans).style(style)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(lines: &[Line]) -> Vec<String> {
        lines.iter().map(|l| l.spans.iter().map(|s| s.content.as_ref()).collect()).collect()
    }

    #[test]
    fn words_wrap_with_a_hanging_indent_and_long_words_are_cut() {
        let line = Line::from(vec![
            Span::raw("reason "),
            Span::styled("one two three", Style::new().add_modifier(ratatui::style::Modifier::BOLD)),
        ]);
        assert_eq!(texts(&wrap(&line, 13, 2)), ["reason one ", "  two three"]);
        assert_eq!(texts(&wrap(&Line::raw("abcdefghij"), 4, 0)), ["abcd", "efgh", "ij"]);
        assert_eq!(texts(&wrap(&Line::raw("ab abcdefghij"), 4, 0)), ["ab ", "abcd", "efgh", "ij"]);
        assert_eq!(texts(&wrap(&Line::raw(""), 4, 0)), [""]);
        assert_eq!(texts(&wrap(&Line::raw("fits"), 4, 0)), ["fits"]);
        let styled = wrap(&line, 80, 0);
        assert_eq!(styled[0].spans.len(), 2, "styles survive");
        assert_eq!(width("→ ⟷"), 3);
    }
}
