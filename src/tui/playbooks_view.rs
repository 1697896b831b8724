//! The Playbooks tab: every version of the playbooks, the exploration playbook and the policy
//! (read through the read port, see `insights`), active ones first, one line each; below them the
//! selected version's story: its parent, summary, decision, the retirement criteria it hits, its
//! shadow evaluation as a matrix (cases × proposal and active version) and the promotion
//! criteria, each met or not. Then every class's autonomy and what is proposed for it: beside the
//! versions on wide bodies, after the details on narrow ones. Also the promotion's confirmation,
//! which shows the same evaluation and criteria before `y`.

use jiff::Timestamp;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::app::AppState;
use super::keymap::Action;
use super::layout::{self, centered};
use super::overlay::modal;
use super::render::{age, money, pane};
use super::theme::Theme;
use super::wrap::wrap_all;
use crate::protocol::{
    Author, AutonomyState, PlaybookVersion, ReplayOutcome, ReplaySource, VersionEvaluation, VersionRun, VersionStatus,
    promotion_criteria,
};

/// Rows the list keeps for itself (besides its keys line) before the details get the rest.
const LIST_ROWS: u16 = 5;
/// The narrowest body that shows the autonomy beside the versions.
const BESIDE: u16 = 150;
/// The autonomy column's width when beside.
const AUTONOMY_WIDTH: u16 = 64;
/// The width of a detail's label.
const LABEL: usize = 12;

/// Draws the Playbooks tab.
pub fn render(state: &AppState, area: Rect, buf: &mut Buffer, focused: bool) {
    let theme = &state.theme;
    let fetched = &state.insights.playbooks;
    let versions = state.playbook_versions();
    let count = |status: VersionStatus| versions.iter().filter(|v| v.status == status).count();
    let mut title = vec![Span::styled(" Playbooks ", theme.style("ui.header"))];
    if fetched.value.is_some() {
        title.push(Span::styled(
            format!(
                "· {} active · {} proposed · {} versions ",
                count(VersionStatus::Active),
                count(VersionStatus::Proposed),
                versions.len()
            ),
            theme.style("ui.dim"),
        ));
    }
    if let Some(error) = &fetched.error {
        title.push(Span::styled(format!("· ✗ {error} "), theme.style("ui.error")));
    } else if fetched.loading {
        title.push(Span::styled("· reading… ", theme.style("ui.dim")));
    }
    let block = pane(theme, Line::from(title), focused);
    let inner = block.inner(area);
    block.render(area, buf);
    let Some(list) = &fetched.value else {
        let text = match &fetched.error {
            Some(_) => "The registry could not be read; R tries again.",
            None => "Reading the registry…",
        };
        Paragraph::new(Line::styled(text, theme.style("ui.dim"))).render(inner, buf);
        return;
    };
    let (main, autonomy_area) = split(inner);
    if let Some(side) = autonomy_area {
        Paragraph::new(autonomy_lines(theme, &list.autonomy, side.width as usize)).render(side, buf);
    }
    if versions.is_empty() {
        let mut lines = wrap_all(
            &[
                Line::styled("No versions recorded yet.", theme.style("ui.header")),
                Line::styled(
                    "The engine records the playbooks and the policy it loads when it admits a task; `ambidex \
                     playbook propose FILE` proposes a new version, `ambidex playbook evaluate` replays it.",
                    theme.style("ui.dim"),
                ),
            ],
            main.width as usize,
            0,
        );
        if autonomy_area.is_none() {
            lines.push(Line::default());
            lines.extend(autonomy_lines(theme, &list.autonomy, main.width as usize));
        }
        Paragraph::new(lines).render(main, buf);
        return;
    }
    let selected = state.views.playbook.min(versions.len() - 1);
    let details = detail_lines(state, main.width as usize, autonomy_area.is_none());
    let rows = |n: usize| u16::try_from(n).unwrap_or(u16::MAX);
    let wanted_list = rows(versions.len()).saturating_add(1);
    let list_rows =
        wanted_list.min(main.height.saturating_sub(rows(details.len()).saturating_add(1)).max(LIST_ROWS + 1));
    let [list_area, rule_area, details_area] =
        Layout::vertical([Constraint::Length(list_rows), Constraint::Length(1), Constraint::Fill(1)]).areas(main);
    render_list(state, versions, list_area, buf, focused, selected);
    Line::styled("─".repeat(rule_area.width as usize), theme.style("ui.border")).render(rule_area, buf);
    let visible = details_area.height as usize;
    let scroll = state.views.playbook_scroll.min(details.len().saturating_sub(visible));
    let below = details.len().saturating_sub(scroll + visible);
    let mut shown: Vec<Line> = details.into_iter().skip(scroll).take(visible).collect();
    if below > 0 && visible > 1 {
        shown.pop();
        let key = state.keymap.key(Action::PageDown);
        shown.push(Line::styled(format!("↓ {} more rows: {key}", below + 1), theme.style("ui.dim")));
    }
    Paragraph::new(shown).render(details_area, buf);
}

/// The versions' area and, on a wide body, the autonomy column beside it.
fn split(inner: Rect) -> (Rect, Option<Rect>) {
    if inner.width < BESIDE {
        return (inner, None);
    }
    let [main, side] =
        Layout::horizontal([Constraint::Fill(1), Constraint::Length(AUTONOMY_WIDTH)]).spacing(2).areas(inner);
    (main, Some(side))
}

/// Rows the selected version's details can scroll down on the current screen.
pub fn max_detail_scroll(state: &AppState) -> usize {
    let inner = layout::body_inner(state.size, state.tasks.len(), state.unavailable.is_some());
    let (main, side) = split(inner);
    let versions = state.playbook_versions().len();
    if versions == 0 {
        return 0;
    }
    let details = detail_lines(state, main.width as usize, side.is_none()).len();
    let list_rows = (versions + 1).min((main.height as usize).saturating_sub(details + 1).max(LIST_ROWS as usize + 1));
    let visible = (main.height as usize).saturating_sub(list_rows + 1);
    details.saturating_sub(visible)
}

/// The keys, then one line per version, scrolled to keep the selection in view.
fn render_list(
    state: &AppState,
    versions: &[PlaybookVersion],
    area: Rect,
    buf: &mut Buffer,
    focused: bool,
    selected: usize,
) {
    let theme = &state.theme;
    let key = |action| Span::styled(state.keymap.key(action), theme.style("ui.key"));
    let keys = Line::from(vec![
        key(Action::Promote),
        Span::styled(" promote the selected proposal (asks first)  ", theme.style("ui.dim")),
        key(Action::PageDown),
        Span::styled(" details · `ambidex playbook` proposes, evaluates, rejects, rolls back", theme.style("ui.dim")),
    ]);
    let name_width = versions.iter().map(|v| v.name.chars().count()).max().unwrap_or(0).clamp(6, 24);
    // Narrow lists leave the artifact out: the name tells a playbook from the policy.
    let artifact_width = if area.width >= 100 { 12 } else { 0 };
    let rows = area.height.saturating_sub(1) as usize;
    let skip = (selected + 1).saturating_sub(rows);
    let mut lines = vec![keys];
    for (i, version) in versions.iter().enumerate().skip(skip).take(rows) {
        let (mark, mark_style) = match version {
            v if !v.retirement.is_empty() => ("retire?", theme.style("status.waiting")),
            v if v.evaluation.is_some() => ("evaluated", theme.style("eval.pass")),
            v if v.status == VersionStatus::Proposed => ("no eval", theme.style("ui.dim")),
            _ => ("", theme.style("ui.dim")),
        };
        let name: String = version.name.chars().take(name_width).collect();
        let mut line = Line::from(vec![
            Span::styled(format!("{:<9}", version.status.to_string()), status_style(theme, version.status)),
            Span::styled(format!("{mark:<10}"), mark_style),
            Span::styled(format!("{:<13}", version.short()), theme.style("ui.dim")),
            Span::styled(
                format!(
                    "{:<artifact_width$}",
                    if artifact_width > 0 { version.artifact.to_string() } else { String::new() }
                ),
                theme.style("ui.dim"),
            ),
            Span::styled(format!("{name:<name_width$}  "), theme.style("ui.text")),
            Span::styled(format!("{}  ", version.created.strftime("%Y-%m-%d")), theme.style("ui.dim")),
            Span::styled(format!("{:<22}", classes(version)), theme.style("ui.text")),
            Span::styled(short_author(&version.author), theme.style("ui.dim")),
        ]);
        if i == selected && focused {
            line = line.patch_style(theme.style("ui.selected"));
        }
        lines.push(line);
    }
    Paragraph::new(lines).render(area, buf);
}

fn status_style(theme: &Theme, status: VersionStatus) -> ratatui::style::Style {
    match status {
        VersionStatus::Active => theme.style("status.done"),
        VersionStatus::Proposed => theme.style("status.waiting"),
        VersionStatus::Retired => theme.style("ui.dim"),
        VersionStatus::Rejected => theme.style("status.stopped"),
    }
}

/// The classes a version serves, in a few words.
fn classes(version: &PlaybookVersion) -> String {
    match version.classes.len() {
        0 => "-".into(),
        1..=2 => version.classes.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(","),
        n => format!("{n} classes"),
    }
}

/// Who made a version, short enough for the list.
fn short_author(author: &Author) -> String {
    match author {
        Author::File { path } if path.starts_with("built-in") => "built-in".into(),
        Author::File { path } => path.clone(),
        Author::Person { name } => name.clone(),
        Author::Strategy { strategy, .. } => format!("Left Hand: {strategy}"),
    }
}

/// The selected version's details, wrapped to `width`; with the autonomy after them when
/// `with_autonomy` (narrow bodies).
fn detail_lines(state: &AppState, width: usize, with_autonomy: bool) -> Vec<Line<'static>> {
    let theme = &state.theme;
    let Some(version) = state.selected_version() else { return Vec::new() };
    let versions = state.playbook_versions();
    let label = |text: &str| Span::styled(format!("{text:<LABEL$}"), theme.style("ui.dim"));
    let text = |text: String| Span::styled(text, theme.style("ui.text"));
    let mut lines = vec![Line::from(vec![
        Span::styled(format!("{} {} {} ", version.artifact, version.name, version.short()), theme.style("ui.header")),
        Span::styled(version.status.to_string(), status_style(theme, version.status)),
        Span::styled(format!(" · {} ago", age(state.now, version.created)), theme.style("ui.dim")),
    ])];
    if !version.classes.is_empty() {
        let names: Vec<&str> = version.classes.iter().map(|c| c.as_str()).collect();
        lines.push(Line::from(vec![label("classes"), text(names.join(", "))]));
    }
    let parent = match version.parent.as_deref() {
        Some(parent) => match versions.iter().find(|v| v.hash == parent) {
            Some(p) => format!("{} {} ({})", p.name, p.short(), p.status),
            None => parent.get(..12).unwrap_or(parent).to_owned(),
        },
        None => "none".into(),
    };
    lines.push(Line::from(vec![label("parent"), text(parent)]));
    lines.push(Line::from(vec![label("author"), text(version.author.to_string())]));
    if !version.summary.is_empty() {
        lines.push(Line::from(vec![label("summary"), text(version.summary.clone())]));
    }
    if let Some(decision) = &version.decision {
        lines.push(Line::from(vec![label("decision"), text(decision.clone())]));
    }
    for hit in &version.retirement {
        lines.push(Line::from(vec![label("retire?"), Span::styled(hit.clone(), theme.style("status.waiting"))]));
    }
    let mut lines = wrap_all(&lines, width, LABEL);
    if version.status == VersionStatus::Proposed || version.evaluation.is_some() {
        lines.push(Line::default());
        lines.extend(evidence_lines(theme, version, width));
    }
    if with_autonomy {
        lines.push(Line::default());
        let states = state.insights.playbooks.value.as_ref().map_or(&[][..], |list| list.autonomy.as_slice());
        lines.extend(autonomy_lines(theme, states, width));
    }
    lines
}

/// The shadow evaluation (or how to get one) and the promotion criteria, wrapped to `width`.
fn evidence_lines(theme: &Theme, version: &PlaybookVersion, width: usize) -> Vec<Line<'static>> {
    let mut lines = match version.evaluation.as_deref() {
        Some(eval) => matrix_lines(theme, eval, width),
        None => wrap_all(
            &[Line::styled(
                format!("No shadow evaluation yet: `ambidex playbook evaluate {}` replays it.", version.short()),
                theme.style("status.waiting"),
            )],
            width,
            2,
        ),
    };
    let criteria = promotion_criteria(version);
    let met = criteria.iter().filter(|c| c.met).count();
    lines.push(Line::default());
    lines.push(Line::from(vec![
        Span::styled("Promotion criteria ", theme.style("ui.header")),
        Span::styled(format!("· {met} of {} met", criteria.len()), theme.style("ui.dim")),
    ]));
    let criteria: Vec<Line> = criteria
        .iter()
        .map(|c| {
            let (mark, style) =
                if c.met { ("✓ ", theme.style("eval.pass")) } else { ("✗ ", theme.style("eval.fail")) };
            Line::from(vec![
                Span::styled(mark, style),
                Span::styled(format!("{}: ", c.name), theme.style("ui.text")),
                Span::styled(c.evidence.clone(), theme.style("ui.dim")),
            ])
        })
        .collect();
    lines.extend(wrap_all(&criteria, width, 2));
    lines
}

/// The heading of a run's columns in the matrix ([`RUN`] wide).
const RUN_HEADER: &str = " ✓ send   cost   time lines";
/// A run's columns' width in the matrix.
const RUN: usize = 27;
/// The case column's width in the matrix.
const CASE: usize = 17;

/// One version's cells of the matrix: resolved, send-backs, cost, time, changed lines.
fn run_cells(theme: &Theme, outcome: Option<&ReplayOutcome>) -> Vec<Span<'static>> {
    let Some(o) = outcome else { return vec![Span::styled(format!(" {:<26}", "-"), theme.style("ui.dim"))] };
    let (mark, style) = if o.resolved { ("✓", theme.style("eval.pass")) } else { ("✗", theme.style("eval.fail")) };
    vec![
        Span::styled(format!(" {mark}"), style),
        Span::styled(
            format!(" {:>4} {:>6} {:>6} {:>5}", o.send_backs, money(o.cost_micros), seconds(o.millis), o.diff_lines),
            theme.style("ui.text"),
        ),
    ]
}

fn seconds(millis: u64) -> String {
    format!("{:.1}s", millis as f64 / 1000.0)
}

/// A run's totals in the matrix's columns.
fn total_cells(theme: &Theme, run: &VersionRun, cases: usize) -> Vec<Span<'static>> {
    vec![Span::styled(
        format!(
            " {:<3}{:>3} {:>6} {:>6} {:>5}",
            format!("{}/{cases}", run.resolved()),
            run.send_backs(),
            money(run.cost_micros()),
            seconds(run.millis()),
            run.diff_lines()
        ),
        theme.style("ui.header"),
    )]
}

/// The version-level evidence matrix: a heading, a row per case with the proposal's and the active
/// version's outcome side by side, the totals and the regressions.
fn matrix_lines(theme: &Theme, eval: &VersionEvaluation, width: usize) -> Vec<Line<'static>> {
    let short = |hash: &str| hash.get(..12).unwrap_or(hash).to_owned();
    let budget =
        if eval.budget_micros == 0 { "no budget".to_owned() } else { format!("budget {}", money(eval.budget_micros)) };
    let mut lines = wrap_all(
        &[Line::from(vec![
            Span::styled("Shadow evaluation ", theme.style("ui.header")),
            Span::styled(
                format!(
                    "· {} cases on {} · {} · {budget}",
                    eval.cases.len(),
                    eval.model,
                    eval.at.strftime("%Y-%m-%d %H:%M"),
                ),
                theme.style("ui.dim"),
            ),
        ])],
        width,
        2,
    );
    // The case, the title in what the two runs leave, the runs.
    // A title narrower than ten columns says nothing: the case's id stays alone.
    let title_width = match width.saturating_sub(CASE + 2 * RUN + 1).min(40) {
        0..10 => 0,
        wide => wide,
    };
    lines.push(Line::from(vec![
        Span::styled(format!("{:<CASE$}{:<title_width$}", "", ""), theme.style("ui.dim")),
        Span::styled(
            format!(" {:<26}", format!("PROPOSAL {}", short(&eval.proposal.version))),
            theme.style("eval.header"),
        ),
        Span::styled(
            format!(" {:<26}", format!("ACTIVE {}", short(&eval.baseline.version))),
            theme.style("eval.header"),
        ),
    ]));
    let title_header = if title_width > 0 { "TITLE" } else { "" };
    lines.push(Line::styled(
        format!("{:<CASE$}{title_header:<title_width$}{RUN_HEADER}{RUN_HEADER}", "CASE"),
        theme.style("ui.dim"),
    ));
    let regressions = eval.regressions();
    for (i, case) in eval.cases.iter().enumerate() {
        let what = match &case.source {
            ReplaySource::Exhibit { id } => format!("exhibit {}", id.short()),
            ReplaySource::Task { id } => format!("task {}", id.short()),
        };
        let title: String = case.title.chars().take(title_width.saturating_sub(1)).collect();
        let regressed = regressions.iter().any(|r| std::ptr::eq(*r, case));
        let style = if regressed { theme.style("eval.fail") } else { theme.style("ui.text") };
        let mut spans = vec![
            Span::styled(format!("{what:<CASE$}"), theme.style("ui.dim")),
            Span::styled(format!("{title:<title_width$}"), style),
        ];
        spans.extend(run_cells(theme, eval.proposal.outcomes.get(i)));
        spans.extend(run_cells(theme, eval.baseline.outcomes.get(i)));
        lines.push(Line::from(spans));
    }
    let mut total = vec![Span::styled(format!("{:<CASE$}{:<title_width$}", "total", ""), theme.style("ui.header"))];
    total.extend(total_cells(theme, &eval.proposal, eval.cases.len()));
    total.extend(total_cells(theme, &eval.baseline, eval.cases.len()));
    lines.push(Line::from(total));
    let verdict = if regressions.is_empty() {
        Line::styled(
            "no regressions: every case the active version resolved, the proposal resolved too",
            theme.style("eval.pass"),
        )
    } else {
        let titles: Vec<&str> = regressions.iter().map(|c| c.title.as_str()).collect();
        Line::styled(format!("regressions: {}", titles.join("; ")), theme.style("eval.fail"))
    };
    lines.extend(wrap_all(&[verdict], width, 2));
    lines
}

/// Every class's autonomy: the level and what it skips, then a proposal waiting for a human or
/// why the level is what it is; supervised classes with nothing proposed share one line.
fn autonomy_lines(theme: &Theme, states: &[AutonomyState], width: usize) -> Vec<Line<'static>> {
    const CLASS: usize = 18;
    let mut lines = vec![Line::styled("Autonomy by class", theme.style("ui.header"))];
    let mut quiet = Vec::new();
    for state in states {
        if state.level.is_supervised() && state.proposed.is_none() {
            quiet.push(state.class.as_str());
            continue;
        }
        let level_style = if state.level.is_supervised() { theme.style("ui.text") } else { theme.style("status.done") };
        lines.push(Line::from(vec![
            Span::styled(format!("{:<CLASS$}", state.class.as_str()), theme.style("ui.text")),
            Span::styled(format!("{:<13}", state.level.to_string()), level_style),
            Span::styled(state.level.describe().to_owned(), theme.style("ui.dim")),
        ]));
        let indent = Span::raw(" ".repeat(CLASS));
        if let Some(proposed) = state.proposed {
            let e = &state.evidence;
            let percent = |r: Option<f64>| r.map_or_else(|| "–".into(), |r| format!("{:.0}%", r * 100.0));
            let per_task = e.send_backs_per_task.map_or_else(|| "–".into(), |v| format!("{v:.1}"));
            lines.push(Line::from(vec![
                indent,
                Span::styled(format!("→ {proposed} proposed: "), theme.style("status.waiting")),
                Span::styled(
                    format!(
                        "{} finished in {} days, {} PRs, {} escaped, {per_task} send-backs/task",
                        e.finished,
                        e.window_days,
                        percent(e.completion_rate),
                        e.escaped_defects,
                    ),
                    theme.style("ui.dim"),
                ),
            ]));
        } else if state.since != Timestamp::UNIX_EPOCH {
            lines.push(Line::from(vec![
                indent,
                Span::styled(
                    format!("{} · since {}", state.reason, state.since.strftime("%Y-%m-%d")),
                    theme.style("ui.dim"),
                ),
            ]));
        }
    }
    if !quiet.is_empty() {
        lines.push(Line::from(vec![
            Span::styled(format!("{:<CLASS$}", "supervised"), theme.style("ui.dim")),
            Span::styled(quiet.join(", "), theme.style("ui.text")),
        ]));
    }
    lines.push(Line::styled("`ambidex autonomy grant CLASS` grants a proposal", theme.style("ui.dim")));
    wrap_all(&lines, width, CLASS)
}

/// The promotion confirmation's box in `area`.
fn promote_rect(area: Rect) -> Rect {
    centered(area, area.width.saturating_sub(4).min(120), area.height.saturating_sub(2))
}

/// The promotion confirmation's text for the proposal `hash`, wrapped to `width`: the question,
/// then the evaluation and the criteria. `None` when the version is no longer listed.
fn promote_lines(state: &AppState, hash: &str, width: usize) -> Option<Vec<Line<'static>>> {
    let theme = &state.theme;
    let version = state.playbook_versions().iter().find(|v| v.hash == hash)?;
    let unmet = promotion_criteria(version).iter().filter(|c| !c.met).count();
    let serves = if version.classes.is_empty() {
        "every task".to_owned()
    } else {
        version.classes.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(", ")
    };
    let (question, style) = if unmet == 0 {
        (format!("Make {} {} the active version for {serves}?", version.name, version.short()), "ui.header")
    } else {
        let what = format!(
            "{unmet} criteria are not met. Make {} {} the active version for {serves} anyway?",
            version.name,
            version.short()
        );
        (what, "status.waiting")
    };
    let mut lines = wrap_all(
        &[
            Line::styled(question, theme.style(style)),
            Line::styled(
                "The version it replaces is retired; `ambidex playbook rollback CLASS` restores it.",
                theme.style("ui.dim"),
            ),
        ],
        width,
        0,
    );
    lines.push(Line::default());
    lines.extend(evidence_lines(theme, version, width));
    Some(lines)
}

/// Rows the promotion confirmation's text can scroll down on the current screen.
pub fn promote_max_scroll(state: &AppState, hash: &str) -> usize {
    let area = Rect::new(0, 0, state.size.0, state.size.1);
    let rect = promote_rect(area);
    let (width, height) = (rect.width.saturating_sub(2) as usize, rect.height.saturating_sub(2) as usize);
    let lines = promote_lines(state, hash, width).map_or(0, |lines| lines.len());
    lines.saturating_sub(height.saturating_sub(2))
}

/// Draws the promotion's confirmation: what becomes active for which classes, the evaluation
/// matrix and the criteria (scrolled down `scroll` rows), then the keys.
pub fn render_confirm_promote(state: &AppState, hash: &str, scroll: usize, area: Rect, buf: &mut Buffer) {
    let theme = &state.theme;
    let short = hash.get(..12).unwrap_or(hash);
    let title = Line::from(vec![
        Span::styled(" Promote ", theme.style("ui.title")),
        Span::styled(format!("· {short} "), theme.style("ui.dim")),
    ]);
    let inner = modal(state, title, promote_rect(area), buf);
    let lines = promote_lines(state, hash, inner.width as usize)
        .unwrap_or_else(|| vec![Line::styled(format!("Version {short} is no longer listed."), theme.style("ui.text"))]);
    // The keys stay on the last row, under what the text shows.
    let body = inner.height.saturating_sub(2) as usize;
    let scroll = scroll.min(lines.len().saturating_sub(body));
    let below = lines.len().saturating_sub(scroll + body);
    let mut shown: Vec<Line> = lines.into_iter().skip(scroll).take(body).collect();
    shown.resize(body, Line::default());
    shown.push(Line::default());
    let mut keys = vec![Span::styled("y", theme.style("ui.key")), Span::styled(" promote   ", theme.style("ui.dim"))];
    if below > 0 || scroll > 0 {
        let (down, up) = (state.keymap.key(Action::Down), state.keymap.key(Action::Up));
        keys.push(Span::styled(format!("{down}/{up}"), theme.style("ui.key")));
        let more = if below > 0 { format!(" scroll ({below} more rows)   ") } else { " scroll   ".to_owned() };
        keys.push(Span::styled(more, theme.style("ui.dim")));
    }
    keys.push(Span::styled("any other key", theme.style("ui.key")));
    keys.push(Span::styled(" keeps it a proposal", theme.style("ui.dim")));
    shown.push(Line::from(keys));
    Paragraph::new(shown).render(inner, buf);
}
