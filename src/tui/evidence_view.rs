//! The Evidence tab: the evidence matrix as a table, one row per candidate, the best value of each
//! column marked; Enter on a cell shows what is behind it (tests and their output, findings).

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table, Widget, Wrap};

use super::app::AppState;
use super::render::{money, pane};
use crate::protocol::{EvidenceColumn, EvidenceMatrix, ExhibitOutcome, TestStatus};

/// The columns of the matrix, in the order they are dropped when the screen is too narrow (the
/// essential ones are never dropped).
const DROP_ORDER: &[EvidenceColumn] = &[
    EvidenceColumn::Complexity,
    EvidenceColumn::Flaky,
    EvidenceColumn::Static,
    EvidenceColumn::Strategy,
    EvidenceColumn::Passed,
    EvidenceColumn::Failed,
];

/// The columns `matrix` may lose on a narrow screen, least important first: MISSING goes first
/// when no candidate misses a test and MUSEUM when no exhibit was run (an empty column says
/// nothing), then [`DROP_ORDER`].
pub fn droppable(matrix: &EvidenceMatrix) -> Vec<EvidenceColumn> {
    let nothing_missing = matrix.rows.iter().all(|row| row.missing.is_empty());
    let no_exhibit = matrix.rows.iter().all(|row| row.museum.is_empty());
    let empty = [(nothing_missing, EvidenceColumn::Missing), (no_exhibit, EvidenceColumn::Museum)];
    let empty = empty.into_iter().filter_map(|(empty, column)| empty.then_some(column));
    empty.chain(DROP_ORDER.iter().copied()).collect()
}

/// A column's width: its header or its widest cell (with the best mark), whichever is wider.
pub fn column_width(matrix: &EvidenceMatrix, column: EvidenceColumn) -> usize {
    let widest = matrix.rows.iter().map(|row| column.text(row).chars().count() + 1).max().unwrap_or(0);
    widest.max(column.short_header().chars().count())
}

/// The columns that fit in `width` (one space between columns), leaving out the least important
/// first; `keep` stays in any case.
pub fn fit_columns(matrix: &EvidenceMatrix, width: usize, keep: Option<EvidenceColumn>) -> Vec<EvidenceColumn> {
    let mut columns = EvidenceColumn::ALL.to_vec();
    let total = |columns: &[EvidenceColumn]| -> usize {
        columns.iter().map(|c| column_width(matrix, *c) + 1).sum::<usize>().saturating_sub(1)
    };
    for drop in droppable(matrix) {
        if total(&columns) <= width {
            break;
        }
        if Some(drop) != keep {
            columns.retain(|c| *c != drop);
        }
    }
    columns
}

/// What is behind a cell: a title and the lines to show.
pub fn cell_details(matrix: &EvidenceMatrix, row: usize, col: usize) -> Option<(String, Vec<String>)> {
    let r = matrix.rows.get(row)?;
    let column = *EvidenceColumn::ALL.get(col)?;
    let title = format!("{} · {}", r.candidate, column.meaning());
    let mut lines = Vec::new();
    let tests = |status: Option<TestStatus>, lines: &mut Vec<String>| {
        for report in &r.reports {
            lines.push(format!(
                "$ {}  ({:?}, exit {:?}, {} ms)",
                report.command, report.framework, report.exit_code, report.duration_ms
            ));
            for test in report.tests.iter().filter(|t| status.is_none_or(|s| t.status == s)) {
                let status = match test.status {
                    TestStatus::Passed => "passed ",
                    TestStatus::Failed => "FAILED ",
                    TestStatus::Skipped => "skipped",
                };
                lines.push(format!("  {status} {}", test.name));
                lines.extend(test.output.lines().map(|l| format!("      {l}")));
            }
        }
    };
    let names = |title: &str, names: &[String], lines: &mut Vec<String>| {
        lines.push(format!("{title} ({}):", names.len()));
        lines.extend(names.iter().map(|n| format!("  {n}")));
        if names.is_empty() {
            lines.push("  none".into());
        }
    };
    match column {
        EvidenceColumn::Valid | EvidenceColumn::Passed => tests(None, &mut lines),
        EvidenceColumn::Failed => tests(Some(TestStatus::Failed), &mut lines),
        EvidenceColumn::Fixed => names("fail on the base commit, pass here", &r.fixed, &mut lines),
        EvidenceColumn::Broken => {
            names("pass on the base commit, fail here", &r.broken, &mut lines);
            tests(Some(TestStatus::Failed), &mut lines);
        }
        EvidenceColumn::Flaky => names("failed, then passed when re-run", &r.flaky, &mut lines),
        EvidenceColumn::Acceptance => {
            lines.push(format!("{} of {} acceptance tests pass", r.acceptance_passed, r.acceptance_total));
            names("failing here", &r.acceptance_failed, &mut lines);
            names("weak (already passed on the base)", &matrix.weak_acceptance, &mut lines);
            names("other candidates' tests failing here", &r.differential_failed, &mut lines);
        }
        EvidenceColumn::FailsOthers => {
            names("other candidates' new tests failing here", &r.differential_failed, &mut lines);
        }
        EvidenceColumn::Museum => {
            lines.push(format!("bug museum exhibits touching this change ({}):", r.museum.len()));
            for check in &r.museum {
                let outcome = match &check.outcome {
                    ExhibitOutcome::Held => "held   ".to_owned(),
                    ExhibitOutcome::Broken { tests } => format!("BROUGHT BACK ({})", tests.join(", ")),
                    ExhibitOutcome::NotRun { why } => format!("not run ({why})"),
                };
                lines.push(format!("  {} {outcome} {}", check.exhibit.short(), check.title));
            }
            if r.museum.is_empty() {
                lines.push("  none: no kept exhibit concerns the files this candidate changed".into());
            }
        }
        EvidenceColumn::Findings | EvidenceColumn::Static => {
            lines.push(format!("static analysis, in changed lines ({}):", r.new_findings.len()));
            for f in &r.new_findings {
                lines.push(format!("  {}:{} {} {}: {}", f.file, f.line, f.tool, f.rule, f.message));
            }
            lines.push(format!("failure analyst ({}, {} serious):", r.analyst_findings.len(), r.serious_findings()));
            for f in &r.analyst_findings {
                let file = f.file.as_deref().map(|f| format!(" {f}")).unwrap_or_default();
                lines.push(format!("  [{}] {}{file}: {}", f.severity, f.category, f.message));
            }
        }
        EvidenceColumn::Diff => lines.push(format!(
            "{} files, +{} -{} on {} (open the Diff tab for the change)",
            r.diff.files, r.diff.added, r.diff.removed, r.branch
        )),
        _ => {
            lines.push(format!("strategy: {}", r.strategy));
            lines.push(format!("branch: {}", r.branch));
            lines.push(format!("tokens: {}, cost {}, wall time {} ms", r.tokens, money(r.cost_micros), r.wall_ms));
            lines.push(format!("complexity delta: {:+}", r.complexity_delta));
        }
    }
    Some((title, lines))
}

/// Draws the Evidence tab.
pub fn render(state: &AppState, area: Rect, buf: &mut Buffer, focused: bool) {
    let theme = &state.theme;
    let detail = state.selected_detail();
    let matrix = detail.and_then(|d| d.matrix.as_ref());
    let mut title = vec![Span::styled(" Evidence ", theme.style("ui.header"))];
    if let Some((matrix, hash)) = matrix {
        let base = &matrix.base[..matrix.base.len().min(10)];
        title.push(Span::styled(format!("· base {base} · matrix {} ", &hash.to_string()[..12]), theme.style("ui.dim")));
    }
    let block = pane(theme, Line::from(title), focused);
    let inner = block.inner(area);
    block.render(area, buf);
    let Some((matrix, _)) = matrix else {
        let text = match detail.and_then(|d| d.exploration.as_ref()) {
            Some(_) => "The Left Hand is exploring; the matrix appears when the candidates are evaluated.",
            None => "No evidence matrix for this task: it appears when the Left Hand evaluates candidates.",
        };
        Paragraph::new(Line::styled(text, theme.style("ui.dim"))).render(inner, buf);
        return;
    };
    let (row_sel, col_sel) = state.views.evidence;
    let selected_column = EvidenceColumn::ALL.get(col_sel).copied();
    let columns = fit_columns(matrix, inner.width as usize, selected_column);
    let header = Row::new(columns.iter().map(|c| Cell::from(c.short_header()))).style(theme.style("eval.header"));
    let rows = matrix.rows.iter().enumerate().map(|(r, row)| {
        Row::new(matrix.cells(r, &columns).into_iter().map(|cell| {
            let mut text = cell.text;
            let mut style = match (cell.column, row.validation_ok) {
                (EvidenceColumn::Valid, true) => theme.style("eval.pass"),
                (EvidenceColumn::Valid, false) => theme.style("eval.fail"),
                _ => theme.style("ui.text"),
            };
            if cell.best {
                text.push('*');
                style = theme.style("eval.best");
            }
            if r == row_sel && Some(cell.column) == selected_column && focused {
                style = style.patch(theme.style("ui.selected"));
            }
            Cell::from(Span::styled(text, style))
        }))
    });
    let widths: Vec<Constraint> = columns.iter().map(|c| Constraint::Length(column_width(matrix, *c) as u16)).collect();
    let table_height = (matrix.rows.len() as u16 + 2).min(inner.height);
    let [table_area, notes] = Layout::vertical([Constraint::Length(table_height), Constraint::Fill(1)]).areas(inner);
    Table::new(rows, widths).header(header).column_spacing(1).render(table_area, buf);
    let mut lines = vec![Line::styled(
        format!(
            "* best in its column · acceptance tests: {} ({} weak) · baseline: {} commands · OTHERS': other \
             candidates' new tests failing here · FINDINGS: the failure analyst's (blocker or major are serious)",
            matrix.acceptance_tests.len(),
            matrix.weak_acceptance.len(),
            matrix.baseline.len()
        ),
        theme.style("ui.dim"),
    )];
    if let Some(synthesis) = detail.and_then(|d| d.synthesis.as_ref()) {
        lines.push(Line::from(vec![
            Span::styled("Synthesis recommends ", theme.style("ui.header")),
            Span::styled(synthesis.recommendation.label(), theme.style("eval.best")),
        ]));
        for reason in &synthesis.reasons {
            lines.push(Line::styled(
                format!("  • {} [{}]", reason.text, reason.rows.join(", ")),
                theme.style("ui.text"),
            ));
        }
    }
    Paragraph::new(lines).wrap(Wrap { trim: false }).render(notes, buf);
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn matrix() -> EvidenceMatrix {
        use crate::protocol::{DiffStats, EvidenceRow, Finding, TestCase, TestFramework, TestReport};
        let report = |fail: bool| TestReport {
            command: "cargo test".into(),
            framework: TestFramework::Libtest,
            exit_code: Some(i32::from(fail)),
            ok: !fail,
            duration_ms: 900,
            tests: vec![
                TestCase {
                    name: "tests::exact_pages".into(),
                    status: TestStatus::Passed,
                    duration_ms: None,
                    output: String::new(),
                },
                TestCase {
                    name: "tests::partial_last_page".into(),
                    status: if fail { TestStatus::Failed } else { TestStatus::Passed },
                    duration_ms: None,
                    output: if fail {
                        "assertion failed: left == right\n  left: 2\n right: 3".into()
                    } else {
                        String::new()
                    },
                },
            ],
        };
        let row = |candidate: &str, strategy: &str, fail: bool, added: u32, cost: u64| EvidenceRow {
            candidate: candidate.into(),
            strategy: strategy.into(),
            branch: format!("ambidex/x/{candidate}"),
            validation_ok: !fail,
            tests_passed: if fail { 1 } else { 2 },
            tests_failed: u32::from(fail),
            fixed: if fail { vec![] } else { vec!["tests::partial_last_page".into()] },
            acceptance_passed: if fail { 0 } else { 1 },
            acceptance_total: 1,
            diff: DiffStats { files: 1, added, removed: 1 },
            complexity_delta: i64::from(added) / 4,
            tokens: 1200,
            cost_micros: cost,
            wall_ms: 42_000,
            analyst_findings: if fail {
                vec![Finding {
                    severity: "major".into(),
                    category: "regression".into(),
                    file: None,
                    message: "rounds down".into(),
                }]
            } else {
                vec![]
            },
            reports: vec![report(fail)],
            ..EvidenceRow::default()
        };
        EvidenceMatrix {
            base: "0123456789abcdef".into(),
            baseline: vec![report(true)],
            acceptance_tests: vec!["acceptance::eleven_items".into()],
            weak_acceptance: vec![],
            rows: vec![
                row("production", "plan", false, 6, 20_000),
                row("c1", "minimal_diff", false, 2, 12_000),
                row("c2", "alternative_design", true, 14, 31_000),
            ],
        }
    }

    #[test]
    fn the_best_of_each_column_is_found_and_ties_mark_nothing() {
        let matrix = matrix();
        assert_eq!(matrix.best(EvidenceColumn::Diff), vec![1]);
        assert_eq!(matrix.best(EvidenceColumn::Passed), vec![0, 1]);
        assert_eq!(matrix.best(EvidenceColumn::Candidate), Vec::<usize>::new());
        let fail = EvidenceColumn::ALL.iter().position(|c| *c == EvidenceColumn::Failed).unwrap();
        let (title, lines) = cell_details(&matrix, 2, fail).unwrap();
        assert_eq!(title, "c2 · tests failed");
        assert!(lines.iter().any(|l| l.contains("tests::partial_last_page")), "{lines:?}");
        assert!(lines.iter().any(|l| l.contains("left: 2")), "{lines:?}");
    }
}
