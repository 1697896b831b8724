//! Overlays: the approval overlay (reason, evidence, the diff or command, the queue behind it),
//! help generated from the keymap, confirmations, an evidence cell's details; and the Gates tab,
//! which lists what the approval overlay works through.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Widget, Wrap};

use super::app::{AppState, Confirm, DiffEntry};
use super::diff_view::row_line;
use super::keymap::Action;
use super::layout::centered;
use super::model::{GateView, TaskDetail};
use super::render::{age, pane};
use crate::protocol::{Decision, GateKind, TaskId};

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

/// The evidence lines shown with a gate.
fn evidence(state: &AppState, gate: &GateView, detail: Option<&TaskDetail>) -> Vec<Line<'static>> {
    let theme = &state.theme;
    let mut lines = Vec::new();
    let Some(detail) = detail else { return lines };
    let label = |text: &str| Span::styled(format!("{text:<11}"), theme.style("ui.form.label"));
    match gate.kind {
        GateKind::Plan => {
            if let Some(plan) = &detail.plan {
                lines.push(Line::from(vec![label("plan"), Span::raw(plan.summary.clone())]));
                for (i, step) in plan.steps.iter().take(6).enumerate() {
                    lines.push(Line::styled(format!("           {}. {step}", i + 1), theme.style("ui.text")));
                }
                if !plan.expected_files.is_empty() {
                    lines.push(Line::from(vec![label("files"), Span::raw(plan.expected_files.join(", "))]));
                }
                if !plan.validation.is_empty() {
                    lines.push(Line::from(vec![label("validation"), Span::raw(plan.validation.join(" · "))]));
                }
                if let Some(confidence) = plan.confidence {
                    lines.push(Line::from(vec![label("confidence"), Span::raw(format!("{confidence}%"))]));
                }
            }
        }
        GateKind::PullRequest => {
            if let Some(pr) = &detail.pr {
                lines.push(Line::from(vec![
                    label("PR"),
                    Span::raw(format!("{} ({} → {})", pr.title, pr.branch, pr.base_branch)),
                ]));
            }
            if let Some(review) = &detail.review {
                let verdict = format!("{:?}", review.verdict).to_lowercase();
                lines.push(Line::from(vec![
                    label("review"),
                    Span::raw(format!("{verdict}, {} findings: {}", review.findings.len(), review.summary)),
                ]));
            }
        }
        GateKind::Promotion => {
            if let Some(synthesis) = &detail.synthesis {
                lines.push(Line::from(vec![
                    label("synthesis"),
                    Span::styled(synthesis.recommendation.label(), theme.style("eval.best")),
                ]));
                for reason in synthesis.reasons.iter().take(4) {
                    lines.push(Line::styled(format!("           • {}", reason.text), theme.style("ui.text")));
                }
            }
            if let Some((matrix, _)) = &detail.matrix {
                for row in &matrix.rows {
                    let style = if row.validation_ok { theme.style("eval.pass") } else { theme.style("eval.fail") };
                    lines.push(Line::from(vec![
                        label(&row.candidate),
                        Span::styled(
                            format!(
                                "{} · {} passed, {} failed, {} fixed, {} broken · accept {}/{} · +{} -{}",
                                if row.validation_ok { "valid" } else { "invalid" },
                                row.tests_passed,
                                row.tests_failed,
                                row.fixed.len(),
                                row.broken.len(),
                                row.acceptance_passed,
                                row.acceptance_total,
                                row.diff.added,
                                row.diff.removed
                            ),
                            style,
                        ),
                    ]));
                }
            }
        }
        _ => {}
    }
    if !detail.validations.is_empty() && gate.kind != GateKind::Plan {
        let passed = detail.validations.iter().filter(|v| v.ok).count();
        lines.push(Line::from(vec![
            label("validation"),
            Span::raw(format!("{passed} of {} commands passed", detail.validations.len())),
        ]));
    }
    if let Some(hash) = gate.evidence_hash {
        lines.push(Line::from(vec![
            label("evidence"),
            Span::styled(hash.to_string()[..16].to_owned(), theme.style("ui.dim")),
        ]));
    }
    lines
}

/// Draws the approval overlay for the first gate in the queue.
pub fn render_approval(state: &AppState, area: Rect, buf: &mut Buffer) {
    let theme = &state.theme;
    let Some(gate) = state.current_gate() else { return };
    let detail = state.details.get(&gate.task);
    let rect = centered(area, area.width.saturating_sub(4).min(110), area.height.saturating_sub(2).min(34));
    let more = state.approval.queue.len().saturating_sub(1);
    let mut title = vec![
        Span::styled(format!(" Approval: {} gate ", gate.kind), theme.style("gate.pending")),
        Span::styled(format!("· task {} ", gate.task.short()), theme.style("ui.dim")),
    ];
    if more > 0 {
        title.push(Span::styled(format!("· {more} more queued "), theme.style("gate.pending")));
    }
    let inner = modal(state, Line::from(title), rect, buf);

    let task_title = state.summary(gate.task).map(|t| t.title.clone()).unwrap_or_default();
    let mut top = vec![
        Line::from(vec![Span::styled(task_title, theme.style("ui.header"))]),
        Line::from(vec![
            Span::styled(format!("{:<11}", "reason"), theme.style("ui.form.label")),
            Span::styled(gate.reason.clone(), theme.style("ui.text")),
        ]),
    ];
    top.extend(evidence(state, gate, detail));
    if !gate.options.is_empty() {
        let mut spans = vec![Span::styled(format!("{:<11}", "choose"), theme.style("ui.form.label"))];
        for (i, option) in gate.options.iter().enumerate() {
            let style = if i == state.approval.option {
                theme.style("gate.option.selected")
            } else {
                theme.style("gate.option")
            };
            let recommended = if i == 0 { " (recommended)" } else { "" };
            spans.push(Span::styled(format!(" {} {option}{recommended} ", i + 1), style));
            spans.push(Span::raw(" "));
        }
        top.push(Line::from(spans));
    }
    let top_height = (top.len() as u16 + 1).min(inner.height.saturating_sub(4));
    let [top_area, diff_area, note_area, keys_area] = Layout::vertical([
        Constraint::Length(top_height),
        Constraint::Fill(1),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(inner);
    Paragraph::new(top).wrap(Wrap { trim: false }).render(top_area, buf);

    // The diff (or, for a command gate, the command is in the reason).
    let candidate = detail.and_then(|d| d.diffable().first().cloned());
    if let Some(candidate) = candidate
        && gate.kind != GateKind::Command
        && diff_area.height > 1
    {
        let header_style = theme.style("ui.border");
        match state.diff(gate.task, &candidate) {
            Some(DiffEntry { doc: Ok((_, doc)), .. }) if !doc.files.is_empty() => {
                let heading = format!(
                    "── diff of {candidate}: {} files +{} -{} ({} for the full diff) ",
                    doc.files.len(),
                    doc.added(),
                    doc.removed(),
                    state.keymap.key(Action::FullDiff)
                );
                let mut lines = vec![Line::styled(heading, header_style)];
                let width = diff_area.width as usize;
                lines.extend(
                    doc.rows.iter().take(diff_area.height as usize - 1).map(|row| row_line(state, doc, *row, width)),
                );
                Paragraph::new(lines).render(diff_area, buf);
            }
            Some(DiffEntry { doc: Ok(_), .. }) => {
                Line::styled(format!("── {candidate} has no changes yet"), header_style).render(diff_area, buf)
            }
            Some(DiffEntry { doc: Err(error), .. }) => {
                Line::styled(format!("── diff of {candidate}: {error}"), header_style).render(diff_area, buf)
            }
            None => Line::styled("── diff: loading…", header_style).render(diff_area, buf),
        }
    }

    let note = if state.approval.editing_note {
        Line::from(vec![
            Span::styled("note: ", theme.style("ui.form.focus")),
            Span::styled(format!("{}▏", state.approval.note), theme.style("ui.text")),
            Span::styled(
                if state.approval.send_back_on_enter {
                    "  (enter sends it back, esc drops)"
                } else {
                    "  (enter to keep, esc to drop)"
                },
                theme.style("ui.dim"),
            ),
        ])
    } else if state.approval.note.is_empty() {
        Line::default()
    } else {
        Line::from(vec![
            Span::styled("note: ", theme.style("ui.form.label")),
            Span::styled(state.approval.note.clone(), theme.style("ui.text")),
        ])
    };
    note.render(note_area, buf);

    let allowed = |decision: Decision| gate.allowed.is_empty() || gate.allowed.contains(&decision);
    let hints: Vec<(String, &str, &str)> = [
        (Action::Approve, Some(Decision::Approve), "approve", "approve"),
        (Action::SendBack, Some(Decision::SendBack), "send back", "back"),
        (Action::Stop, Some(Decision::Stop), "stop", "stop"),
        (Action::ApproveForTask, Some(Decision::ApproveForTask), "approve for this task", "for task"),
        (Action::Note, None, "note", "note"),
        (Action::FullDiff, None, "full diff", "diff"),
        (Action::Later, None, "later", "later"),
    ]
    .into_iter()
    .filter(|(_, decision, _, _)| decision.is_none_or(allowed))
    .map(|(action, _, long, short)| (state.keymap.key(action), long, short))
    .collect();
    // Every key stays visible on a narrow screen: the words get shorter first.
    let chooser = if gate.options.len() > 1 { "←/→ 1-9 choose".chars().count() } else { 0 };
    let long_width: usize = hints.iter().map(|(key, what, _)| key.chars().count() + what.chars().count() + 3).sum();
    let long = long_width + chooser <= keys_area.width as usize;
    let mut keys = Vec::new();
    for (key, long_words, short_words) in &hints {
        keys.push(Span::styled(key.clone(), theme.style("ui.key")));
        keys.push(Span::styled(format!(" {}  ", if long { long_words } else { short_words }), theme.style("ui.dim")));
    }
    if gate.options.len() > 1 {
        keys.push(Span::styled("←/→ 1-9", theme.style("ui.key")));
        keys.push(Span::styled(" choose", theme.style("ui.dim")));
    }
    Line::from(keys).render(keys_area, buf);
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
