//! The Metrics tab: the engine's metrics report (read through the read port, see `insights`). The
//! weekly trend as sparklines (tasks, the share that reached a PR, send-backs, cost), the four families' key
//! figures, then tables per task class and per playbook version, and the Left Hand strategies' wins.
//! Wide bodies show the figures and the trend beside the tables; narrow ones one under the other.
//! Every line is wrapped here, so the tab scrolls row by row and knows where its text ends.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::app::AppState;
use super::layout;
use super::render::{age, money, pane};
use super::theme::Theme;
use super::wrap::wrap_all;
use crate::protocol::{Families, MetricsReport, TrendPoint};

/// The narrowest body that shows two columns.
const TWO_COLUMNS: u16 = 150;
/// The width of a row's label (a family, a trend's name).
const LABEL: usize = 13;
/// Rows a sparkline takes in two columns (one in one).
const WIDE_BARS: usize = 3;
/// The eight heights of a sparkline's bar.
const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// Draws the Metrics tab.
pub fn render(state: &AppState, area: Rect, buf: &mut Buffer, focused: bool) {
    let theme = &state.theme;
    let fetched = &state.insights.metrics;
    let mut title = vec![Span::styled(" Metrics ", theme.style("ui.header"))];
    if let Some(report) = &fetched.value {
        let tasks = report.overall.delivery.tasks;
        let window = match report.filter.since {
            Some(since) => format!("since {}", since.strftime("%Y-%m-%d")),
            None => "all time".into(),
        };
        let plural = if tasks == 1 { "" } else { "s" };
        title.push(Span::styled(format!("· {tasks} task{plural}, {window} "), theme.style("ui.dim")));
    }
    match (&fetched.error, fetched.loading, fetched.at) {
        (Some(error), ..) => title.push(Span::styled(format!("· ✗ {error} "), theme.style("ui.error"))),
        (None, true, _) => title.push(Span::styled("· reading… ", theme.style("ui.dim"))),
        (None, false, Some(at)) => {
            title.push(Span::styled(format!("· read {} ago ", age(state.now, at)), theme.style("ui.dim")));
        }
        (None, false, None) => {}
    }
    let block = pane(theme, Line::from(title), focused);
    let inner = block.inner(area);
    block.render(area, buf);
    let scroll = state.views.metrics_scroll;
    match columns(state, inner.width) {
        (left, Some(right)) => {
            let [left_area, right_area] =
                Layout::horizontal([Constraint::Fill(1), Constraint::Fill(1)]).spacing(3).areas(inner);
            let most = left.len().max(right.len());
            let scroll = scroll.min(most.saturating_sub(inner.height as usize));
            Paragraph::new(left.into_iter().skip(scroll).collect::<Vec<_>>()).render(left_area, buf);
            Paragraph::new(right.into_iter().skip(scroll).collect::<Vec<_>>()).render(right_area, buf);
        }
        (lines, None) => {
            let scroll = scroll.min(lines.len().saturating_sub(inner.height as usize));
            Paragraph::new(lines.into_iter().skip(scroll).collect::<Vec<_>>()).render(inner, buf);
        }
    }
}

/// Rows the tab can scroll down on the current screen.
pub fn max_scroll(state: &AppState) -> usize {
    let inner = layout::body_inner(state.size, state.tasks.len(), state.unavailable.is_some());
    let rows = match columns(state, inner.width) {
        (left, Some(right)) => left.len().max(right.len()),
        (lines, None) => lines.len(),
    };
    rows.saturating_sub(inner.height as usize)
}

/// The tab's text, wrapped to the body's `width`: one column, or two when it is wide.
fn columns(state: &AppState, width: u16) -> (Vec<Line<'static>>, Option<Vec<Line<'static>>>) {
    let theme = &state.theme;
    let fetched = &state.insights.metrics;
    let Some(report) = &fetched.value else {
        let lines = match &fetched.error {
            Some(_) => vec![Line::styled("The metrics could not be read; R tries again.", theme.style("ui.dim"))],
            None => vec![Line::styled("Reading the metrics…", theme.style("ui.dim"))],
        };
        return (lines, None);
    };
    if report.overall.delivery.tasks == 0 && report.trend.is_empty() {
        let lines = vec![
            Line::styled("No tasks to measure yet.", theme.style("ui.header")),
            Line::styled(
                "Delivery, quality, exploration and governance fill in as tasks run and finish; `ambidex metrics` \
                 prints the same report.",
                theme.style("ui.dim"),
            ),
        ];
        return (wrap_all(&lines, width as usize, 0), None);
    }
    if width >= TWO_COLUMNS {
        let half = (width as usize - 3) / 2;
        let mut left = trend(theme, &report.trend, half, WIDE_BARS);
        left.push(Line::default());
        left.extend(families(theme, &report.overall, half));
        (left, Some(tables(theme, report, half)))
    } else {
        let width = width as usize;
        let mut lines = trend(theme, &report.trend, width, 1);
        lines.push(Line::default());
        lines.extend(families(theme, &report.overall, width));
        lines.push(Line::default());
        lines.extend(tables(theme, report, width));
        (lines, None)
    }
}

/// A percentage, or `–` when there was nothing to divide by.
fn percent(ratio: Option<f64>) -> String {
    ratio.map_or_else(|| "–".into(), |r| format!("{:.0}%", r * 100.0))
}

/// A ratio with one decimal, or `–`.
fn decimal(value: Option<f64>) -> String {
    value.map_or_else(|| "–".into(), |v| format!("{v:.1}"))
}

/// A duration in seconds in its two largest units (`2h 10m`), or `–`.
fn duration(secs: Option<f64>) -> String {
    let Some(secs) = secs else { return "–".into() };
    let secs = secs.max(0.0).round() as u64;
    match secs {
        0..60 => format!("{secs}s"),
        60..3600 => format!("{}m {}s", secs / 60, secs % 60),
        3600..86400 => format!("{}h {}m", secs / 3600, secs % 3600 / 60),
        _ => format!("{}d {}h", secs / 86400, secs % 86400 / 3600),
    }
}

/// A family's line: its name, then `words figure` items separated by dots, wrapped under the
/// name. A figure in `warn` style is one that should be zero.
fn family(theme: &Theme, name: &str, items: Vec<(&str, String, bool)>, width: usize) -> Vec<Line<'static>> {
    let mut spans = vec![Span::styled(format!("{name:<LABEL$}"), theme.style("ui.header"))];
    for (i, (words, figure, warn)) in items.into_iter().enumerate() {
        if i > 0 {
            spans.push(Span::styled(" · ", theme.style("ui.dim")));
        }
        let style = if warn { theme.style("status.waiting") } else { theme.style("ui.text") };
        spans.push(Span::styled(format!("{words} "), theme.style("ui.dim")));
        spans.push(Span::styled(figure, style));
    }
    wrap_all(&[Line::from(spans)], width, LABEL)
}

/// The four families' key figures.
fn families(theme: &Theme, families: &Families, width: usize) -> Vec<Line<'static>> {
    let Families { delivery: d, quality: q, exploration: e, governance: g } = families;
    let count = |words: &'static str, n: u64| (words, n.to_string(), false);
    let bad = |words: &'static str, n: u64| (words, n.to_string(), n > 0);
    let mut lines = family(
        theme,
        "Delivery",
        vec![
            count("tasks", d.tasks),
            count("finished", d.finished),
            count("PRs", d.completed),
            ("completion", percent(d.completion_rate), false),
            ("first-attempt pass", percent(d.first_attempt_pass_rate), false),
            ("send-backs/task", decimal(d.send_backs_per_task), false),
            ("human stepped in", percent(d.intervention_rate), false),
            ("intake to PR", duration(d.intake_to_pr_secs), false),
        ],
        width,
    );
    lines.extend(family(
        theme,
        "Quality",
        vec![
            bad("escaped defects", q.escaped_defects),
            ("rollback", percent(q.rollback_rate), false),
            ("findings/change", decimal(q.findings_per_change), false),
            ("changes with tests", percent(q.tested_change_rate), false),
        ],
        width,
    ));
    lines.extend(family(
        theme,
        "Exploration",
        vec![
            count("explored", e.explored),
            ("changed the outcome", format!("{} ({})", e.changed_outcome, percent(e.changed_outcome_rate)), false),
            bad("false promotions", e.false_promotions),
            ("spent", money(e.cost_micros), false),
            ("per useful finding", e.cost_per_useful_finding_micros.map_or_else(|| "–".into(), money), false),
        ],
        width,
    ));
    lines.extend(family(
        theme,
        "Governance",
        vec![
            bad("forbidden", g.forbidden_commands),
            count("refused", g.refused_commands),
            bad("sandbox denials", g.sandbox_denials),
            bad("budget overruns", g.budget_overruns),
            bad("breaker trips", g.breaker_trips),
            count("secrets redacted", g.secrets_redacted),
            bad("memory to review", g.unreviewed_memory),
            bad("exhibits to review", g.unreviewed_exhibits),
        ],
        width,
    ));
    lines
}

/// `values` as bars `rows` high, each `each` columns wide, scaled to `ceiling`: the rows from the
/// top. A value has at least the lowest bar; `·` marks a week without one (a rate of no tasks).
fn sparkline(values: &[Option<f64>], ceiling: f64, each: usize, rows: usize) -> Vec<String> {
    let eighths = |value: f64| {
        let share = if ceiling > 0.0 { (value / ceiling).clamp(0.0, 1.0) } else { 0.0 };
        ((share * (rows * 8) as f64).round() as usize).max(1)
    };
    (0..rows)
        .rev()
        .map(|row| {
            values
                .iter()
                .flat_map(|value| {
                    let bar = match value {
                        None if row == 0 => '·',
                        None => ' ',
                        Some(v) => match eighths(*v).saturating_sub(row * 8).min(8) {
                            0 => ' ',
                            n => BARS[n - 1],
                        },
                    };
                    std::iter::repeat_n(bar, each)
                })
                .collect()
        })
        .collect()
}

/// The weekly trend: per series, bars `rows` high, its last week and its total.
fn trend(theme: &Theme, trend: &[TrendPoint], width: usize, rows: usize) -> Vec<Line<'static>> {
    let (Some(first), Some(last)) = (trend.first(), trend.last()) else {
        return vec![Line::styled("No weekly trend yet: it starts with the first task.", theme.style("ui.dim"))];
    };
    let short = |week: &str| week.get(5..).unwrap_or(week).to_owned();
    let mut lines = vec![Line::from(vec![
        Span::styled(format!("{:<LABEL$}", "Weekly trend"), theme.style("ui.header")),
        Span::styled(
            format!("{} weeks, from {} to {}", trend.len(), short(&first.week), short(&last.week)),
            theme.style("ui.dim"),
        ),
    ])];
    // The bars share what the label and the figures leave, up to four columns a week.
    let each = (width.saturating_sub(LABEL + 36) / trend.len()).clamp(1, 4);
    let series = |f: fn(&TrendPoint) -> u64| -> Vec<Option<f64>> { trend.iter().map(|p| Some(f(p) as f64)).collect() };
    let top = |values: &[Option<f64>]| values.iter().flatten().fold(0.0, |a: f64, b| a.max(*b));
    let total = |f: fn(&TrendPoint) -> u64| trend.iter().map(f).sum::<u64>();
    let tasks = series(|p| p.tasks);
    let completion: Vec<Option<f64>> = trend.iter().map(|p| crate::protocol::ratio(p.completed, p.tasks)).collect();
    let send_backs = series(|p| p.send_backs);
    let cost = series(|p| p.cost_micros);
    let all = [
        ("tasks", sparkline(&tasks, top(&tasks), each, rows), last.tasks.to_string(), total(|p| p.tasks).to_string()),
        (
            "reached PR",
            sparkline(&completion, 1.0, each, rows),
            percent(crate::protocol::ratio(last.completed, last.tasks)),
            percent(crate::protocol::ratio(total(|p| p.completed), total(|p| p.tasks))),
        ),
        (
            "send-backs",
            sparkline(&send_backs, top(&send_backs), each, rows),
            last.send_backs.to_string(),
            total(|p| p.send_backs).to_string(),
        ),
        ("cost", sparkline(&cost, top(&cost), each, rows), money(last.cost_micros), money(total(|p| p.cost_micros))),
    ];
    for (i, (name, bars, latest, overall)) in all.into_iter().enumerate() {
        if rows > 1 && i > 0 {
            lines.push(Line::default());
        }
        let bottom = bars.len().saturating_sub(1);
        for (row, bar) in bars.into_iter().enumerate() {
            // The name and the figures go on the bottom row, beside the bars' base.
            let name = if row == bottom { name } else { "" };
            let mut spans = vec![
                Span::styled(format!("{name:<LABEL$}"), theme.style("ui.dim")),
                Span::styled(bar, theme.style("ui.bar")),
            ];
            if row == bottom {
                spans.extend([
                    Span::styled(format!(" {latest:>6}"), theme.style("ui.text")),
                    Span::styled(" last week · ", theme.style("ui.dim")),
                    Span::styled(overall.clone(), theme.style("ui.text")),
                    Span::styled(" in all", theme.style("ui.dim")),
                ]);
            }
            lines.push(Line::from(spans));
        }
    }
    wrap_all(&lines, width, LABEL)
}

/// A table's row: the first cell left-aligned in `first` columns, the rest right-aligned in the
/// widths of `header`.
fn row(cells: Vec<(String, Style)>, widths: &[usize]) -> Line<'static> {
    let spans = cells.into_iter().zip(widths).enumerate().map(|(i, ((text, style), width))| {
        let text: String = text.chars().take(*width).collect();
        if i == 0 {
            Span::styled(format!("{text:<width$}"), style)
        } else {
            Span::styled(format!(" {text:>width$}"), style)
        }
    });
    Line::from(spans.collect::<Vec<_>>())
}

/// The figures of one set of tasks as table cells: tasks, PRs, completion, first-attempt pass,
/// send-backs per task, needed a human, escaped defects.
fn figures(theme: &Theme, families: &Families) -> Vec<(String, Style)> {
    let (d, q) = (&families.delivery, &families.quality);
    let text = theme.style("ui.text");
    let escaped = if q.escaped_defects > 0 { theme.style("status.waiting") } else { text };
    vec![
        (d.tasks.to_string(), text),
        (d.completed.to_string(), text),
        (percent(d.completion_rate), text),
        (percent(d.first_attempt_pass_rate), text),
        (decimal(d.send_backs_per_task), text),
        (percent(d.intervention_rate), text),
        (q.escaped_defects.to_string(), escaped),
    ]
}

/// The headers of [`figures`], after the first column's.
const FIGURES: [(&str, usize); 7] =
    [("tasks", 5), ("PRs", 4), ("compl", 5), ("1st pass", 8), ("send/t", 6), ("human", 5), ("escaped", 7)];

/// Per class, per playbook version, and the strategies' wins.
fn tables(theme: &Theme, report: &MetricsReport, width: usize) -> Vec<Line<'static>> {
    let header = |first: &str, first_width: usize| {
        let mut cells = vec![(first.to_owned(), theme.style("ui.header"))];
        cells.extend(FIGURES.iter().map(|(name, _)| ((*name).to_owned(), theme.style("ui.dim"))));
        let widths: Vec<usize> = std::iter::once(first_width).chain(FIGURES.iter().map(|(_, w)| *w)).collect();
        row(cells, &widths)
    };
    let mut lines = Vec::new();
    let classes: Vec<_> = report.by_class.iter().filter(|c| c.families.delivery.tasks > 0).collect();
    if !classes.is_empty() {
        let widths: Vec<usize> = std::iter::once(18).chain(FIGURES.iter().map(|(_, w)| *w)).collect();
        lines.push(header("By class", 18));
        for class in classes {
            let mut cells = vec![(class.class.to_string(), theme.style("ui.text"))];
            cells.extend(figures(theme, &class.families));
            lines.push(row(cells, &widths));
        }
        lines.push(Line::default());
    }
    if !report.by_playbook.is_empty() {
        let widths: Vec<usize> = std::iter::once(30).chain(FIGURES.iter().map(|(_, w)| *w)).collect();
        lines.push(header("By playbook version", 30));
        for playbook in &report.by_playbook {
            let version = playbook.version.get(..12).unwrap_or(&playbook.version);
            let name: String = playbook.playbook.chars().take(17).collect();
            let mut cells = vec![(format!("{name} {version}"), theme.style("ui.text"))];
            cells.extend(figures(theme, &playbook.families));
            lines.push(row(cells, &widths));
        }
        lines.push(Line::default());
    }
    lines.push(Line::from(vec![
        Span::styled(format!("{:<24}", "Left Hand strategies"), theme.style("ui.header")),
        Span::styled(format!("{:<18}{:>5}{:>6}", "class", "runs", "wins"), theme.style("ui.dim")),
    ]));
    if report.strategies.is_empty() {
        lines.push(Line::styled("no exploration yet", theme.style("ui.dim")));
    }
    for record in &report.strategies {
        const BAR: u64 = 10;
        let filled = (record.wins * BAR).checked_div(record.runs).unwrap_or(0).min(BAR) as usize;
        let strategy: String = record.strategy.chars().take(23).collect();
        lines.push(Line::from(vec![
            Span::styled(format!("{strategy:<24}"), theme.style("ui.text")),
            Span::styled(format!("{:<18}", record.class.as_str()), theme.style("ui.dim")),
            Span::styled(format!("{:>5}{:>6}  ", record.runs, record.wins), theme.style("ui.text")),
            Span::styled("█".repeat(filled), theme.style("ui.bar")),
            Span::styled("░".repeat(BAR as usize - filled), theme.style("ui.dim")),
            Span::styled(
                format!(" {}", percent(crate::protocol::ratio(record.wins, record.runs))),
                theme.style("ui.dim"),
            ),
        ]));
    }
    // Tables are cut, not wrapped: a wrapped row would no longer line up.
    lines
        .into_iter()
        .map(|line| {
            let mut kept = Vec::new();
            let mut room = width;
            for span in line.spans {
                let text: String = span.content.chars().take(room).collect();
                room -= text.chars().count();
                kept.push(Span::styled(text, span.style));
            }
            Line::from(kept)
        })
        .collect()
}
