//! The Evidence tab: the evidence matrix as a table, one row per candidate, the best value of each
//! column marked; Enter on a cell shows what is behind it (tests and their output, findings).

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table, Widget, Wrap};

use super::app::AppState;
use super::render::{money, pane};
use crate::protocol::{EvidenceMatrix, EvidenceRow, TestStatus};

/// Which way is better in a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Better {
    /// More is better.
    Higher,
    /// Less is better.
    Lower,
    /// Not ranked.
    None,
}

/// A column: header, width, the value used for ranking, its text, and which way is better.
pub struct Column {
    /// The header.
    pub header: &'static str,
    /// Its width.
    pub width: u16,
    /// The value ranked.
    pub value: fn(&EvidenceRow) -> i64,
    /// The text shown.
    pub text: fn(&EvidenceRow) -> String,
    /// Which way is better.
    pub better: Better,
}

/// The matrix's columns.
pub const COLUMNS: &[Column] = &[
    Column { header: "CANDIDATE", width: 11, value: |_| 0, text: |r| r.candidate.clone(), better: Better::None },
    Column { header: "STRATEGY", width: 18, value: |_| 0, text: |r| r.strategy.clone(), better: Better::None },
    Column {
        header: "VALID",
        width: 6,
        value: |r| i64::from(r.validation_ok),
        text: |r| if r.validation_ok { "yes".into() } else { "no".into() },
        better: Better::Higher,
    },
    Column {
        header: "PASS",
        width: 5,
        value: |r| i64::from(r.tests_passed),
        text: |r| r.tests_passed.to_string(),
        better: Better::Higher,
    },
    Column {
        header: "FAIL",
        width: 5,
        value: |r| i64::from(r.tests_failed),
        text: |r| r.tests_failed.to_string(),
        better: Better::Lower,
    },
    Column {
        header: "FIXED",
        width: 6,
        value: |r| r.fixed.len() as i64,
        text: |r| r.fixed.len().to_string(),
        better: Better::Higher,
    },
    Column {
        header: "BROKEN",
        width: 7,
        value: |r| r.broken.len() as i64,
        text: |r| r.broken.len().to_string(),
        better: Better::Lower,
    },
    Column {
        header: "FLAKY",
        width: 6,
        value: |r| r.flaky.len() as i64,
        text: |r| r.flaky.len().to_string(),
        better: Better::Lower,
    },
    Column {
        header: "ACCEPT",
        width: 7,
        value: |r| i64::from(r.acceptance_passed),
        text: |r| format!("{}/{}", r.acceptance_passed, r.acceptance_total),
        better: Better::Higher,
    },
    Column {
        header: "FINDINGS",
        width: 9,
        value: |r| (r.new_findings.len() + r.serious_findings()) as i64,
        text: |r| format!("{}+{}", r.new_findings.len(), r.serious_findings()),
        better: Better::Lower,
    },
    Column {
        header: "DIFF",
        width: 10,
        value: |r| i64::from(r.diff.added + r.diff.removed),
        text: |r| format!("+{} -{}", r.diff.added, r.diff.removed),
        better: Better::Lower,
    },
    Column {
        header: "CPLX",
        width: 5,
        value: |r| r.complexity_delta,
        text: |r| format!("{:+}", r.complexity_delta),
        better: Better::Lower,
    },
    Column {
        header: "COST",
        width: 7,
        value: |r| r.cost_micros as i64,
        text: |r| money(r.cost_micros),
        better: Better::Lower,
    },
    Column {
        header: "TIME",
        width: 6,
        value: |r| r.wall_ms as i64,
        text: |r| format!("{}s", r.wall_ms / 1000),
        better: Better::Lower,
    },
];

/// The rows holding the best value of a column (none when every row ties or it is not ranked).
pub fn best(matrix: &EvidenceMatrix, column: &Column) -> Vec<usize> {
    let values: Vec<i64> = matrix.rows.iter().map(column.value).collect();
    let target = match column.better {
        Better::Higher => values.iter().max(),
        Better::Lower => values.iter().min(),
        Better::None => None,
    };
    match target {
        Some(target) if values.iter().any(|v| v != target) => {
            values.iter().enumerate().filter(|(_, v)| *v == target).map(|(i, _)| i).collect()
        }
        _ => Vec::new(),
    }
}

/// What is behind a cell: a title and the lines to show.
pub fn cell_details(matrix: &EvidenceMatrix, row: usize, col: usize) -> Option<(String, Vec<String>)> {
    let r = matrix.rows.get(row)?;
    let column = COLUMNS.get(col)?;
    let title = format!("{} · {}", r.candidate, column.header.to_lowercase());
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
    match column.header {
        "VALID" | "PASS" => tests(None, &mut lines),
        "FAIL" => tests(Some(TestStatus::Failed), &mut lines),
        "FIXED" => names("fail on the base commit, pass here", &r.fixed, &mut lines),
        "BROKEN" => {
            names("pass on the base commit, fail here", &r.broken, &mut lines);
            tests(Some(TestStatus::Failed), &mut lines);
        }
        "FLAKY" => names("failed, then passed when re-run", &r.flaky, &mut lines),
        "ACCEPT" => {
            lines.push(format!("{} of {} acceptance tests pass", r.acceptance_passed, r.acceptance_total));
            names("failing here", &r.acceptance_failed, &mut lines);
            names("weak (already passed on the base)", &matrix.weak_acceptance, &mut lines);
            names("other candidates' tests failing here", &r.differential_failed, &mut lines);
        }
        "FINDINGS" => {
            lines.push(format!("static analysis, in changed lines ({}):", r.new_findings.len()));
            for f in &r.new_findings {
                lines.push(format!("  {}:{} {} {}: {}", f.file, f.line, f.tool, f.rule, f.message));
            }
            lines.push(format!("failure analyst ({}):", r.analyst_findings.len()));
            for f in &r.analyst_findings {
                let file = f.file.as_deref().map(|f| format!(" {f}")).unwrap_or_default();
                lines.push(format!("  [{}] {}{file}: {}", f.severity, f.category, f.message));
            }
        }
        "DIFF" => lines.push(format!(
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
    let bests: Vec<Vec<usize>> = COLUMNS.iter().map(|c| best(matrix, c)).collect();
    let header = Row::new(COLUMNS.iter().map(|c| Cell::from(c.header))).style(theme.style("eval.header"));
    let rows = matrix.rows.iter().enumerate().map(|(r, row)| {
        Row::new(COLUMNS.iter().enumerate().map(|(c, column)| {
            let mut text = (column.text)(row);
            let mut style = match (column.header, row.validation_ok) {
                ("VALID", true) => theme.style("eval.pass"),
                ("VALID", false) => theme.style("eval.fail"),
                _ => theme.style("ui.text"),
            };
            if bests[c].contains(&r) {
                text.push('*');
                style = theme.style("eval.best");
            }
            if r == row_sel && c == col_sel && focused {
                style = style.patch(theme.style("ui.selected"));
            }
            Cell::from(Span::styled(text, style))
        }))
    });
    let widths: Vec<Constraint> = COLUMNS.iter().map(|c| Constraint::Length(c.width)).collect();
    let table_height = (matrix.rows.len() as u16 + 2).min(inner.height);
    let [table_area, notes] = Layout::vertical([Constraint::Length(table_height), Constraint::Fill(1)]).areas(inner);
    Table::new(rows, widths).header(header).column_spacing(1).render(table_area, buf);
    let mut lines = vec![Line::styled(
        format!(
            "* best in its column · acceptance tests: {} ({} weak) · baseline: {} commands",
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
        use crate::protocol::{DiffStats, Finding, TestCase, TestFramework, TestReport};
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
        let column = |name: &str| COLUMNS.iter().find(|c| c.header == name).unwrap();
        assert_eq!(best(&matrix, column("DIFF")), vec![1]);
        assert_eq!(best(&matrix, column("PASS")), vec![0, 1]);
        assert_eq!(best(&matrix, column("CANDIDATE")), Vec::<usize>::new());
        let fail = COLUMNS.iter().position(|c| c.header == "FAIL").unwrap();
        let (title, lines) = cell_details(&matrix, 2, fail).unwrap();
        assert_eq!(title, "c2 · fail");
        assert!(lines.iter().any(|l| l.contains("tests::partial_last_page")), "{lines:?}");
        assert!(lines.iter().any(|l| l.contains("left: 2")), "{lines:?}");
    }
}
