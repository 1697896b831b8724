//! The new-task form: objective, acceptance criteria, constraints and risk, in text areas. After
//! submitting, the form waits for intake: an accepted task closes it, questions or rejection
//! reasons appear inline so the user can revise and resubmit.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Widget, Wrap};
use tui_textarea::TextArea;

use super::model::IntakeView;
use super::theme::Theme;
use crate::protocol::{IntakeVerdict, Risk, TaskId, TaskSpec};

/// The fields, in tab order.
pub const FIELDS: [&str; 4] = ["Objective", "Acceptance criteria (one per line)", "Constraints (one per line)", "Risk"];

/// The form's state.
#[derive(Debug, Clone)]
pub struct FormState {
    /// Objective (first line: title; the rest: description), criteria, constraints.
    pub areas: [TextArea<'static>; 3],
    /// The declared risk (`None`: triage decides).
    pub risk: Option<Risk>,
    /// The focused field (0..=3).
    pub focus: usize,
    /// The task this form revises (after intake asked questions), if any.
    pub task: Option<TaskId>,
    /// The spec sent and not yet answered by intake.
    pub awaiting: Option<TaskSpec>,
    /// Intake's last answer for this task.
    pub intake: Option<IntakeView>,
    /// A message from the form itself.
    pub message: Option<String>,
}

impl Default for FormState {
    fn default() -> Self {
        Self::new()
    }
}

impl FormState {
    /// An empty form.
    pub fn new() -> Self {
        Self {
            areas: [TextArea::default(), TextArea::default(), TextArea::default()],
            risk: None,
            focus: 0,
            task: None,
            awaiting: None,
            intake: None,
            message: None,
        }
    }

    /// A form filled from a task's spec, to revise it.
    pub fn revise(task: TaskId, spec: &TaskSpec, intake: Option<IntakeView>) -> Self {
        let mut objective = vec![spec.title.clone()];
        objective.extend(spec.description.lines().map(str::to_owned));
        Self {
            areas: [
                TextArea::new(objective),
                TextArea::new(spec.acceptance_criteria.clone()),
                TextArea::new(spec.constraints.clone()),
            ],
            risk: spec.risk,
            focus: 0,
            task: Some(task),
            awaiting: None,
            intake,
            message: None,
        }
    }

    /// The spec the fields describe, or why there is none.
    pub fn spec(&self) -> Result<TaskSpec, String> {
        let objective = self.areas[0].lines();
        let title = objective.first().map(|l| l.trim().to_owned()).unwrap_or_default();
        if title.is_empty() {
            return Err("the objective's first line is the task's title: write one".into());
        }
        let mut spec = TaskSpec::titled(title);
        spec.description = objective[1..].join("\n").trim().to_owned();
        let list = |area: &TextArea<'_>| -> Vec<String> {
            area.lines().iter().map(|l| l.trim()).filter(|l| !l.is_empty()).map(str::to_owned).collect()
        };
        spec.acceptance_criteria = list(&self.areas[1]);
        spec.constraints = list(&self.areas[2]);
        spec.risk = self.risk;
        Ok(spec)
    }

    /// Passes a key to the focused field. Enter in the objective moves on (its first line is
    /// the title); ←/→ on the risk field change it.
    pub fn input(&mut self, key: KeyEvent) {
        match self.focus {
            0 if key.code == KeyCode::Enter && self.areas[0].cursor().0 == 0 => self.focus = 1,
            3 => match key.code {
                KeyCode::Left => self.risk = step_risk(self.risk, false),
                KeyCode::Right | KeyCode::Char(' ') => self.risk = step_risk(self.risk, true),
                KeyCode::Char(c) => {
                    if let Some(risk) = Risk::ALL.iter().find(|r| r.as_str().starts_with(c)) {
                        self.risk = Some(*risk);
                    } else if c == 'a' {
                        self.risk = None;
                    }
                }
                _ => {}
            },
            field => {
                self.areas[field].input(key);
            }
        }
    }

    /// Inserts pasted text into the focused field.
    pub fn paste(&mut self, text: &str) {
        if let Some(area) = self.areas.get_mut(self.focus) {
            area.insert_str(text);
        }
    }

    /// Records intake's answer; returns whether the task was accepted.
    pub fn assessed(&mut self, intake: IntakeView) -> bool {
        self.awaiting = None;
        let accepted = intake.verdict == IntakeVerdict::Accepted;
        if intake.verdict == IntakeVerdict::Rejected {
            // A rejected task is final: what is submitted next is a new task.
            self.task = None;
            self.message = Some("rejected: edit the task and submit it again as a new one".into());
        } else if !accepted {
            self.message = Some("intake needs more: answer below, then ctrl-s to resubmit".into());
        }
        self.intake = Some(intake);
        accepted
    }
}

fn step_risk(risk: Option<Risk>, forward: bool) -> Option<Risk> {
    // `None` (triage decides) sits before `low`.
    let order: Vec<Option<Risk>> = std::iter::once(None).chain(Risk::ALL.iter().copied().map(Some)).collect();
    let at = order.iter().position(|r| *r == risk).unwrap_or(0);
    let next = if forward { (at + 1) % order.len() } else { (at + order.len() - 1) % order.len() };
    order[next]
}

/// Draws the form centered in `area`. `submit_key` and `close_key` come from the keymap.
pub fn render(form: &FormState, theme: &Theme, hints: &str, area: Rect, buf: &mut Buffer) {
    let width = area.width.saturating_sub(4).min(100);
    let wanted = 24 + feedback_lines(form, theme).len() as u16;
    let height = area.height.saturating_sub(2).min(wanted);
    let rect = Rect::new(area.x + (area.width - width) / 2, area.y + (area.height - height) / 2, width, height);
    Clear.render(rect, buf);
    let title = if form.task.is_some() { " Revise task " } else { " New task " };
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.style("ui.overlay.border"))
        .title(Span::styled(title, theme.style("ui.title")))
        .style(theme.style("ui.overlay"));
    let inner = block.inner(rect);
    block.render(rect, buf);

    let feedback = feedback_lines(form, theme);
    let compact = inner.height < 20;
    let (objective_h, list_h) = if compact { (3, 3) } else { (5, 5) };
    let [objective, criteria, constraints, risk, feedback_area, hint] = Layout::vertical([
        Constraint::Length(objective_h),
        Constraint::Length(list_h),
        Constraint::Length(list_h),
        Constraint::Length(1),
        Constraint::Fill(1),
        Constraint::Length(1),
    ])
    .areas(inner);
    for (index, field_area) in [objective, criteria, constraints].into_iter().enumerate() {
        let focused = form.focus == index;
        let (border, label) = if focused {
            (theme.style("ui.border.focus"), theme.style("ui.form.focus"))
        } else {
            (theme.style("ui.border"), theme.style("ui.form.label"))
        };
        let mut textarea = form.areas[index].clone();
        textarea.set_block(
            Block::default().borders(Borders::ALL).border_style(border).title(Span::styled(FIELDS[index], label)),
        );
        textarea.set_cursor_line_style(theme.style("ui.text"));
        textarea.set_style(theme.style("ui.text"));
        if !focused {
            textarea.set_cursor_style(theme.style("ui.text"));
        }
        textarea.render(field_area, buf);
    }
    let risk_label = if form.focus == 3 { theme.style("ui.form.focus") } else { theme.style("ui.form.label") };
    let mut spans = vec![Span::styled(" Risk: ", risk_label)];
    for option in std::iter::once(None).chain(Risk::ALL.iter().copied().map(Some)) {
        let name = option.map_or("auto", Risk::as_str);
        let style = if option == form.risk { theme.style("gate.option.selected") } else { theme.style("gate.option") };
        spans.push(Span::styled(format!(" {name} "), style));
        spans.push(Span::raw(" "));
    }
    Line::from(spans).render(risk, buf);
    Paragraph::new(feedback).wrap(Wrap { trim: false }).render(feedback_area, buf);
    Line::styled(hints.to_owned(), theme.style("ui.dim")).render(hint, buf);
}

fn feedback_lines(form: &FormState, theme: &Theme) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    if let Some(message) = &form.message {
        lines.push(Line::styled(message.clone(), theme.style("ui.info")));
    }
    if form.awaiting.is_some() {
        lines.push(Line::styled("submitted: waiting for intake…", theme.style("ui.info")));
    }
    if let Some(intake) = &form.intake {
        let style = match intake.verdict {
            IntakeVerdict::Accepted => theme.style("status.done"),
            IntakeVerdict::Rejected => theme.style("ui.error"),
            _ => theme.style("status.waiting"),
        };
        let verdict = match intake.verdict {
            IntakeVerdict::Accepted => "accepted",
            IntakeVerdict::NeedsClarification => "needs clarification",
            IntakeVerdict::Rejected => "rejected",
            IntakeVerdict::Escalated => "too broad: split it",
        };
        lines.push(Line::styled(format!("Intake: {verdict}"), style));
        for reason in &intake.reasons {
            lines.push(Line::styled(format!("  • {reason}"), theme.style("ui.text")));
        }
        for question in &intake.questions {
            lines.push(Line::styled(format!("  ? {question}"), theme.style("status.waiting")));
        }
        for part in &intake.suggested_split {
            lines.push(Line::styled(format!("  ↳ {part}"), theme.style("ui.dim")));
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::KeyModifiers;

    fn typed(form: &mut FormState, text: &str) {
        for c in text.chars() {
            let code = if c == '\n' { KeyCode::Enter } else { KeyCode::Char(c) };
            form.input(KeyEvent::new(code, KeyModifiers::NONE));
        }
    }

    #[test]
    fn fields_make_a_spec_and_enter_in_the_objective_moves_on() {
        let mut form = FormState::new();
        typed(&mut form, "Fix page_count rounding\n");
        assert_eq!(form.focus, 1);
        typed(&mut form, "page_count(11, 5) returns 3\n\nexisting tests pass");
        form.focus = 3;
        form.input(KeyEvent::new(KeyCode::Char('m'), KeyModifiers::NONE));
        let spec = form.spec().unwrap();
        assert_eq!(spec.title, "Fix page_count rounding");
        assert_eq!(spec.acceptance_criteria, vec!["page_count(11, 5) returns 3", "existing tests pass"]);
        assert_eq!(spec.risk, Some(Risk::Medium));
        form.input(KeyEvent::new(KeyCode::Left, KeyModifiers::NONE));
        form.input(KeyEvent::new(KeyCode::Left, KeyModifiers::NONE));
        assert_eq!(form.risk, None, "before low comes auto");
        assert!(FormState::new().spec().unwrap_err().contains("title"));
    }
}
