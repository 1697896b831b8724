//! Keys and the mouse: what each does in the focused pane, the approval overlay and the form.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::{Position, Rect};

use super::app::{AppState, Confirm, Effect, Overlay, Pane, Tab};
use super::evidence_view;
use super::form::FormState;
use super::keymap::{Action, Mode};
use super::layout;
use super::model::Loaded;
use crate::protocol::{Command, Decision, TaskStatus};

/// Lines a mouse wheel notch scrolls.
const WHEEL: usize = 3;

impl AppState {
    pub(crate) fn on_key(&mut self, key: KeyEvent) -> Vec<Command> {
        if key.code == KeyCode::Char('z') && key.modifiers.contains(KeyModifiers::CONTROL) {
            self.effects.push(Effect::Suspend);
            return Vec::new();
        }
        match self.overlay.take() {
            Some(Overlay::Form(form)) => self.form_key(form, key),
            Some(Overlay::Approval) => {
                self.overlay = Some(Overlay::Approval);
                self.approval_key(key)
            }
            Some(Overlay::Confirm(Confirm::Rewind { task, stage, note })) => {
                self.confirm_rewind(task, stage, note, key)
            }
            Some(Overlay::Confirm(Confirm::Promote { version, scroll })) => self.confirm_promote(version, scroll, key),
            Some(Overlay::Confirm(confirm)) => self.confirm_key(confirm, key),
            Some(Overlay::Message(draft)) => self.message_key(draft, key),
            Some(Overlay::Rewind(pick)) => self.rewind_key(pick, key),
            Some(Overlay::Help { scroll }) => {
                self.overlay = match (key.code, self.keymap.action(Mode::Normal, &key)) {
                    (_, Some(Action::Down)) => Some(Overlay::Help { scroll: scroll + 1 }),
                    (_, Some(Action::Up)) => Some(Overlay::Help { scroll: scroll.saturating_sub(1) }),
                    (_, Some(Action::PageDown)) => Some(Overlay::Help { scroll: scroll + 10 }),
                    (_, Some(Action::PageUp)) => Some(Overlay::Help { scroll: scroll.saturating_sub(10) }),
                    _ => None,
                };
                if self.overlay.is_none() {
                    self.reopen_pending_gates();
                }
                Vec::new()
            }
            Some(Overlay::Cell { title, lines, scroll }) => {
                self.overlay = match self.keymap.action(Mode::Normal, &key) {
                    Some(Action::Down) => Some(Overlay::Cell { title, lines, scroll: scroll + 1 }),
                    Some(Action::Up) => Some(Overlay::Cell { title, lines, scroll: scroll.saturating_sub(1) }),
                    Some(Action::PageDown) => Some(Overlay::Cell { title, lines, scroll: scroll + 10 }),
                    Some(Action::PageUp) => Some(Overlay::Cell { title, lines, scroll: scroll.saturating_sub(10) }),
                    _ => None,
                };
                Vec::new()
            }
            None => self.normal_key(key),
        }
    }

    fn normal_key(&mut self, key: KeyEvent) -> Vec<Command> {
        if self.views.log_editing {
            match key.code {
                KeyCode::Enter | KeyCode::Esc => self.views.log_editing = false,
                KeyCode::Backspace => {
                    self.views.log_filter.pop();
                    self.refilter_log();
                }
                KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
                    self.views.log_filter.push(c);
                    self.views.log_scroll = 0;
                    self.refilter_log();
                }
                _ => {}
            }
            return Vec::new();
        }
        let Some(action) = self.keymap.action(Mode::Normal, &key) else {
            if key.code == KeyCode::Esc {
                self.status = None;
            }
            return Vec::new();
        };
        self.status = None;
        match action {
            Action::Quit => {
                let running = self.running();
                if running > 0 {
                    self.overlay = Some(Overlay::Confirm(Confirm::Quit { running }));
                } else {
                    self.quit = true;
                }
            }
            Action::Help => self.overlay = Some(Overlay::Help { scroll: 0 }),
            Action::FocusNext | Action::FocusPrev => {
                let at = Pane::ALL.iter().position(|p| *p == self.focus).unwrap_or(0);
                let step = if action == Action::FocusNext { 1 } else { Pane::ALL.len() - 1 };
                self.focus = Pane::ALL[(at + step) % Pane::ALL.len()];
            }
            Action::Up => self.scroll(self.focus, -1),
            Action::Down => self.scroll(self.focus, 1),
            // On the Playbooks tab the arrows pick a version and the page keys scroll its details.
            Action::PageUp | Action::PageDown if self.focus == Pane::Lower && self.tab == Tab::Playbooks => {
                let page = self.page() as isize;
                self.scroll_playbook_details(if action == Action::PageUp { -page } else { page });
            }
            Action::PageUp => self.scroll(self.focus, -(self.page() as isize)),
            Action::PageDown => self.scroll(self.focus, self.page() as isize),
            Action::Top => self.scroll(self.focus, isize::MIN / 2),
            Action::Bottom => self.scroll(self.focus, isize::MAX / 2),
            Action::Left | Action::Right => self.sideways(if action == Action::Left { -1 } else { 1 }),
            Action::Select => return self.select(),
            Action::NewTask => self.overlay = Some(Overlay::Form(Box::default())),
            Action::EditTask => self.edit_task(),
            Action::CancelTask => {
                if let Some(task) = self.selected_task() {
                    if is_settled(task.status) {
                        self.status = Some((format!("task {} is already {}", task.id.short(), task.status), true));
                    } else {
                        self.overlay = Some(Overlay::Confirm(Confirm::Cancel(task.id)));
                    }
                }
            }
            Action::CleanTask => {
                if let Some(task) = self.selected_task() {
                    if is_settled(task.status) {
                        self.overlay = Some(Overlay::Confirm(Confirm::Clean(task.id)));
                    } else {
                        let why =
                            format!("task {} is {}: cancel it or let it finish first", task.id.short(), task.status);
                        self.status = Some((why, true));
                    }
                }
            }
            Action::ResumeTask => {
                if let Some(task) = self.selected_task() {
                    if matches!(task.status, TaskStatus::Interrupted | TaskStatus::Failed) {
                        return vec![Command::ResumeTask { task: task.id }];
                    }
                    self.status =
                        Some((format!("task {} is {}: nothing to resume", task.id.short(), task.status), true));
                }
            }
            Action::Message => self.open_message(),
            Action::RewindTask => self.open_rewind(),
            Action::Gates => {
                if self.approval.queue.is_empty() {
                    self.status = Some(("no gate is waiting".into(), false));
                } else {
                    self.approval.dismissed = false;
                    self.open_approval();
                }
            }
            Action::NextTab | Action::PrevTab => {
                let at = Tab::ALL.iter().position(|t| *t == self.tab).unwrap_or(0);
                let step = if action == Action::NextTab { 1 } else { Tab::ALL.len() - 1 };
                self.tab = Tab::ALL[(at + step) % Tab::ALL.len()];
                self.focus = Pane::Lower;
            }
            Action::TabDiff => self.show(Tab::Diff),
            Action::TabCompare => self.show(Tab::Compare),
            Action::TabEvidence => self.show(Tab::Evidence),
            Action::TabGates => self.show(Tab::Gates),
            Action::TabLog => self.show(Tab::Log),
            Action::TabMemory => self.show(Tab::Memory),
            Action::TabMetrics => self.show(Tab::Metrics),
            Action::TabMuseum => self.show(Tab::Museum),
            Action::TabPlaybooks => self.show(Tab::Playbooks),
            Action::NextHunk | Action::PrevHunk => self.jump_hunk(action == Action::NextHunk),
            Action::NextFile | Action::PrevFile => self.jump_file(action == Action::NextFile),
            Action::Candidate => {
                if self.tab == Tab::Compare {
                    self.views.compare.1 += 1;
                } else {
                    self.views.diff_candidate += 1;
                    self.views.diff_scroll = 0;
                }
            }
            Action::BaseCandidate => self.views.compare.0 += 1,
            Action::Filter => {
                self.show(Tab::Log);
                self.views.log_editing = true;
            }
            Action::MemoryAccept | Action::MemoryReject => return self.review(action == Action::MemoryAccept),
            Action::Promote => self.ask_promote(),
            Action::Refresh if matches!(self.tab, Tab::Metrics | Tab::Playbooks) && self.focus == Pane::Lower => {
                self.refresh_insights();
            }
            Action::Refresh => {
                if let Some(id) = self.selected_task().map(|t| t.id) {
                    self.details.entry(id).or_default().loaded = Loaded::No;
                    self.diffs.retain(|(task, _), _| *task != id);
                    self.request_history(id);
                }
            }
            _ => {}
        }
        Vec::new()
    }

    pub(crate) fn show(&mut self, tab: Tab) {
        self.tab = tab;
        self.focus = Pane::Lower;
    }

    fn page(&self) -> usize {
        (layout::diff_viewport(self.size, self.unavailable.is_some()) as usize).saturating_sub(2).max(1)
    }

    /// Scrolls (or moves the selection of) a pane by `delta` rows.
    pub(crate) fn scroll(&mut self, pane: Pane, delta: isize) {
        let add = |value: usize, delta: isize| -> usize { value.saturating_add_signed(delta) };
        match pane {
            Pane::Queue => {
                let last = self.tasks.len().saturating_sub(1);
                self.selected = add(self.selected, delta).min(last);
            }
            // Streams count from the bottom: up means further back.
            Pane::Right => self.views.right_scroll = add(self.views.right_scroll, -delta).min(self.stream_len(true)),
            Pane::Left => self.views.left_scroll = add(self.views.left_scroll, -delta).min(self.stream_len(false)),
            Pane::Lower => match self.tab {
                Tab::Diff => {
                    let rows = self.diff_rows(self.diff_candidate());
                    self.views.diff_scroll = add(self.views.diff_scroll, delta).min(rows.saturating_sub(1));
                }
                Tab::Compare => self.views.compare_scroll = add(self.views.compare_scroll, delta),
                Tab::Evidence => {
                    let rows = self.selected_detail().and_then(|d| d.matrix.as_ref()).map_or(0, |(m, _)| m.rows.len());
                    self.views.evidence.0 = add(self.views.evidence.0, delta).min(rows.saturating_sub(1));
                }
                Tab::Gates => {
                    let gates = self.gate_list().len();
                    self.views.gate = add(self.views.gate, delta).min(gates.saturating_sub(1));
                }
                Tab::Log => {
                    self.views.log_scroll = add(self.views.log_scroll, -delta).min(self.log_matches.len());
                }
                Tab::Memory => {
                    self.views.memory = add(self.views.memory, delta).min(self.memory.len().saturating_sub(1))
                }
                Tab::Museum => {
                    self.views.museum = add(self.views.museum, delta).min(self.museum.len().saturating_sub(1))
                }
                Tab::Metrics => self.scroll_metrics(delta),
                Tab::Playbooks => self.scroll_playbooks(delta),
            },
        }
    }

    fn stream_len(&self, right: bool) -> usize {
        let Some(detail) = self.selected_detail() else { return 0 };
        if right {
            detail.right.line_count(self.views.right_unfolded)
        } else {
            detail.left.line_count(self.views.left_unfolded)
        }
    }

    fn diff_rows(&self, candidate: Option<String>) -> usize {
        let (Some(task), Some(candidate)) = (self.selected_task(), candidate) else { return 0 };
        match self.diff(task.id, &candidate).map(|e| &e.doc) {
            Some(Ok((_, doc))) => doc.rows.len(),
            _ => 0,
        }
    }

    fn sideways(&mut self, delta: isize) {
        match (self.focus, self.tab) {
            (Pane::Left, _) => self.views.left_column = self.views.left_column.saturating_add_signed(delta),
            (Pane::Lower, Tab::Evidence) => {
                let last = crate::protocol::EvidenceColumn::ALL.len() - 1;
                self.views.evidence.1 = self.views.evidence.1.saturating_add_signed(delta).min(last);
            }
            (Pane::Lower, Tab::Diff) => self.jump_file(delta > 0),
            _ => {}
        }
    }

    fn jump_hunk(&mut self, forward: bool) {
        let Some(doc) = self.shown_diff() else { return };
        if let Some(row) = doc.hunk_row(self.views.diff_scroll, forward) {
            self.views.diff_scroll = row;
        }
    }

    fn jump_file(&mut self, forward: bool) {
        let Some(doc) = self.shown_diff() else { return };
        let current = doc.file_at(self.views.diff_scroll).unwrap_or(0);
        let target = if forward { current + 1 } else { current.saturating_sub(1) };
        if let Some(row) = doc.file_row(target.min(doc.files.len().saturating_sub(1))) {
            self.views.diff_scroll = row;
        }
    }

    fn shown_diff(&self) -> Option<std::sync::Arc<super::diff_doc::DiffDoc>> {
        let task = self.selected_task()?.id;
        let candidate = self.diff_candidate()?;
        match &self.diff(task, &candidate)?.doc {
            Ok((_, doc)) => Some(doc.clone()),
            Err(_) => None,
        }
    }

    fn select(&mut self) -> Vec<Command> {
        match self.focus {
            Pane::Queue => {
                let Some(task) = self.selected_task().map(|t| t.id) else { return Vec::new() };
                if let Some(at) = self.approval.queue.iter().position(|(t, _)| *t == task) {
                    let entry = self.approval.queue.remove(at);
                    self.approval.queue.insert(0, entry);
                    self.approval.dismissed = false;
                    self.open_approval();
                } else {
                    self.focus = Pane::Right;
                }
            }
            Pane::Right => self.views.right_unfolded = !self.views.right_unfolded,
            Pane::Left => self.views.left_unfolded = !self.views.left_unfolded,
            Pane::Lower => match self.tab {
                Tab::Evidence => {
                    if let Some((matrix, _)) = self.selected_detail().and_then(|d| d.matrix.as_ref()) {
                        let (row, col) = self.views.evidence;
                        if let Some((title, lines)) = evidence_view::cell_details(matrix, row, col) {
                            self.overlay = Some(Overlay::Cell { title, lines, scroll: 0 });
                        }
                    }
                }
                Tab::Gates => {
                    let gates = self.gate_list();
                    if let Some((_, gate)) = gates.get(self.views.gate).copied() {
                        if let Some(at) = self.approval.queue.iter().position(|(_, g)| *g == gate) {
                            let entry = self.approval.queue.remove(at);
                            self.approval.queue.insert(0, entry);
                            self.approval.dismissed = false;
                            self.open_approval();
                        } else {
                            self.status = Some(("that gate is already decided".into(), false));
                        }
                    }
                }
                Tab::Museum => self.go_to_exhibit_task(),
                _ => {}
            },
        }
        Vec::new()
    }

    /// The gates the Gates tab lists: every open one, then the selected task's decided ones.
    pub(crate) fn gate_list(&self) -> Vec<(crate::protocol::TaskId, crate::protocol::GateId)> {
        let mut gates: Vec<_> = self.approval.queue.clone();
        if let Some(detail) = self.selected_detail() {
            gates.extend(detail.gates.iter().filter(|g| g.decided.is_some()).map(|g| (g.task, g.id)));
        }
        gates
    }

    fn edit_task(&mut self) {
        let Some(task) = self.selected_task().cloned() else { return };
        let Some(spec) = self.selected_detail().and_then(|d| d.spec.clone()) else {
            self.status = Some(("the task is still loading; try again in a moment".into(), false));
            return;
        };
        if !matches!(task.status, TaskStatus::NeedsClarification | TaskStatus::Escalated | TaskStatus::Rejected) {
            self.status = Some((
                format!("task {} is {}; only tasks intake sent back can be revised", task.id.short(), task.status),
                true,
            ));
            return;
        }
        let intake = self.selected_detail().and_then(|d| d.intake.clone());
        let mut form = FormState::revise(task.id, &spec, intake);
        if task.status == TaskStatus::Rejected {
            form.task = None;
            form.message = Some("rejected tasks are final: this will be submitted as a new task".into());
        }
        self.overlay = Some(Overlay::Form(Box::new(form)));
    }

    fn form_key(&mut self, mut form: Box<FormState>, key: KeyEvent) -> Vec<Command> {
        let mut commands = Vec::new();
        match self.keymap.action(Mode::Form, &key) {
            Some(Action::Close) => {
                self.reopen_pending_gates();
                return commands;
            }
            Some(Action::NextField) => form.focus = (form.focus + 1) % 4,
            Some(Action::PrevField) => form.focus = (form.focus + 3) % 4,
            Some(Action::Submit) => match form.spec() {
                Ok(spec) => {
                    form.message = None;
                    let revisable = form
                        .task
                        .and_then(|id| self.summary(id))
                        .is_some_and(|t| matches!(t.status, TaskStatus::NeedsClarification | TaskStatus::Escalated));
                    commands.push(match form.task {
                        Some(task) if revisable => Command::ReviseTask { task, spec: spec.clone() },
                        _ => {
                            form.task = None;
                            Command::AddTask { spec: spec.clone() }
                        }
                    });
                    form.intake = None;
                    form.awaiting = Some(spec);
                }
                Err(message) => form.message = Some(message),
            },
            _ => form.input(key),
        }
        self.overlay = Some(Overlay::Form(form));
        commands
    }

    fn approval_key(&mut self, key: KeyEvent) -> Vec<Command> {
        if self.approval.editing_note {
            match key.code {
                KeyCode::Enter => {
                    self.approval.editing_note = false;
                    if std::mem::take(&mut self.approval.send_back_on_enter) && !self.approval.note.trim().is_empty() {
                        return self.decide(Decision::SendBack);
                    }
                }
                KeyCode::Esc => {
                    self.approval.editing_note = false;
                    self.approval.send_back_on_enter = false;
                    self.approval.note.clear();
                }
                KeyCode::Backspace => {
                    self.approval.note.pop();
                }
                KeyCode::Char(c) => self.approval.note.push(c),
                _ => {}
            }
            return Vec::new();
        }
        let Some(gate) = self.current_gate().cloned() else {
            self.overlay = None;
            return Vec::new();
        };
        if let KeyCode::Char(digit @ '1'..='9') = key.code {
            let index = digit as usize - '1' as usize;
            if index < gate.options.len() {
                self.approval.option = index;
            }
            return Vec::new();
        }
        let action = self.keymap.action(Mode::Approval, &key);
        let deciding =
            matches!(action, Some(Action::Approve | Action::SendBack | Action::Stop | Action::ApproveForTask));
        if deciding && self.approval.popped_at.is_some_and(|at| at.elapsed() < self.gate_key_guard) {
            self.status = Some(("a gate just opened: read it, then press the key again".into(), false));
            return Vec::new();
        }
        let decision = match action {
            Some(Action::Approve) => Decision::Approve,
            // A send-back needs a note: write it first, `enter` sends.
            Some(Action::SendBack) if self.approval.note.trim().is_empty() => {
                self.approval.editing_note = true;
                self.approval.send_back_on_enter = true;
                self.status = Some(("say what to change, then enter sends the work back".into(), false));
                return Vec::new();
            }
            Some(Action::SendBack) => Decision::SendBack,
            Some(Action::Stop) => Decision::Stop,
            Some(Action::ApproveForTask) => Decision::ApproveForTask,
            Some(Action::Note) => {
                self.approval.editing_note = true;
                return Vec::new();
            }
            Some(Action::FullDiff) => {
                // The Diff tab opens on the candidate the overlay showed (the picked option's).
                let shown = self.gate_candidate(&gate);
                self.overlay = None;
                self.approval.dismissed = true;
                if let Some(at) = self.tasks.iter().position(|t| t.id == gate.task) {
                    self.selected = at;
                }
                self.views.diff_candidate =
                    shown.and_then(|c| self.candidates().iter().position(|known| *known == c)).unwrap_or(0);
                self.views.diff_scroll = 0;
                self.show(Tab::Diff);
                return Vec::new();
            }
            Some(Action::NextOption) if !gate.options.is_empty() => {
                self.approval.option = (self.approval.option + 1) % gate.options.len();
                return Vec::new();
            }
            Some(Action::PrevOption) if !gate.options.is_empty() => {
                self.approval.option = (self.approval.option + gate.options.len() - 1) % gate.options.len();
                return Vec::new();
            }
            Some(action @ (Action::GateDown | Action::GateUp | Action::GatePageDown | Action::GatePageUp)) => {
                let step = match action {
                    Action::GateDown | Action::GateUp => 1,
                    _ => super::gate_view::page(self),
                };
                let down = matches!(action, Action::GateDown | Action::GatePageDown);
                self.scroll_gate(if down { step as isize } else { -(step as isize) });
                return Vec::new();
            }
            Some(Action::Later) => {
                self.overlay = None;
                self.approval.dismissed = true;
                return Vec::new();
            }
            _ => return Vec::new(),
        };
        self.decide(decision)
    }

    /// Sends `decision` on the gate the overlay shows, with the note and the picked option.
    fn decide(&mut self, decision: Decision) -> Vec<Command> {
        let Some(gate) = self.current_gate().cloned() else {
            self.overlay = None;
            return Vec::new();
        };
        if !gate.allowed.is_empty() && !gate.allowed.contains(&decision) {
            let allowed: Vec<String> = gate.allowed.iter().map(|d| d.to_string()).collect();
            self.status = Some((format!("this gate allows only: {}", allowed.join(", ")), true));
            return Vec::new();
        }
        let choice = if decision.approves() { gate.options.get(self.approval.option).cloned() } else { None };
        let note = Some(self.approval.note.trim().to_owned()).filter(|n| !n.is_empty());
        self.approval.queue.retain(|(_, g)| *g != gate.id);
        self.approval.sent.insert(gate.id);
        self.status = Some((format!("{decision}: {} gate of task {}", gate.kind, gate.task.short()), false));
        if self.approval.queue.is_empty() {
            self.overlay = None;
        } else {
            self.open_approval();
        }
        vec![Command::DecideGate { gate: gate.id, decision, note, choice }]
    }

    fn confirm_key(&mut self, confirm: Confirm, key: KeyEvent) -> Vec<Command> {
        match key.code {
            KeyCode::Char('y') | KeyCode::Char('Y') | KeyCode::Enter => match confirm {
                Confirm::Quit { .. } => self.quit = true,
                Confirm::Cancel(task) => {
                    return vec![Command::CancelTask { task, reason: "cancelled from the control room".into() }];
                }
                Confirm::Clean(task) => {
                    let what = format!("cleaning task {}: its worktrees go, its branches stay", task.short());
                    self.status = Some((what, false));
                    return vec![Command::CleanTask { task, force: false }];
                }
                // Only `y` confirms a rewind or a promotion (see `confirm_rewind`, `confirm_promote`);
                // neither gets here.
                Confirm::Rewind { .. } | Confirm::Promote { .. } => {}
            },
            KeyCode::Char('n') | KeyCode::Char('N') | KeyCode::Esc | KeyCode::Char('q') => self.reopen_pending_gates(),
            _ => self.overlay = Some(Overlay::Confirm(confirm)),
        }
        Vec::new()
    }

    pub(crate) fn on_paste(&mut self, text: &str) {
        if self.paste_voice(text) {
            return;
        }
        match &mut self.overlay {
            Some(Overlay::Form(form)) => form.paste(text),
            Some(Overlay::Approval) if self.approval.editing_note => self.approval.note.push_str(text),
            None if self.views.log_editing => {
                self.views.log_filter.push_str(text.lines().next().unwrap_or_default());
                self.refilter_log();
            }
            _ => {}
        }
    }

    /// Scrolls the approval overlay's reason and evidence by `delta` rows, within its text.
    fn scroll_gate(&mut self, delta: isize) {
        let max = super::gate_view::max_scroll(self);
        let scroll = self.approval.scroll.min(max);
        self.approval.scroll = scroll.saturating_add_signed(delta).min(max);
    }

    pub(crate) fn on_mouse(&mut self, mouse: MouseEvent) {
        match (&self.overlay, mouse.kind) {
            (Some(Overlay::Approval), MouseEventKind::ScrollDown) => return self.scroll_gate(WHEEL as isize),
            (Some(Overlay::Approval), MouseEventKind::ScrollUp) => return self.scroll_gate(-(WHEEL as isize)),
            (Some(_), _) => return,
            (None, _) => {}
        }
        let area = Rect::new(0, 0, self.size.0, self.size.1);
        let areas = layout::areas(area, self.tasks.len(), self.unavailable.is_some());
        let at = Position::new(mouse.column, mouse.row);
        let pane = if areas.queue.contains(at) {
            Some(Pane::Queue)
        } else if areas.right.is_some_and(|r| r.contains(at)) {
            Some(Pane::Right)
        } else if areas.left.is_some_and(|r| r.contains(at)) {
            Some(Pane::Left)
        } else if areas.body.contains(at) || areas.tabs.contains(at) {
            Some(Pane::Lower)
        } else {
            None
        };
        let Some(pane) = pane else { return };
        match mouse.kind {
            MouseEventKind::ScrollDown => self.scroll(self.shown_pane(pane), WHEEL as isize),
            MouseEventKind::ScrollUp => self.scroll(self.shown_pane(pane), -(WHEEL as isize)),
            MouseEventKind::Down(MouseButton::Left) => {
                if areas.tabs.contains(at) {
                    self.click_tab(areas.tabs, mouse.column);
                    return;
                }
                self.focus = self.shown_pane(pane);
                if pane == Pane::Queue {
                    // Border and header take two rows; the table scrolls to keep the selection shown.
                    let row = mouse.row.saturating_sub(areas.queue.y + 2) as usize;
                    let visible = areas.queue.height.saturating_sub(3) as usize;
                    let offset = self.selected.saturating_sub(visible.saturating_sub(1));
                    if row < visible && offset + row < self.tasks.len() {
                        self.selected = offset + row;
                    }
                }
            }
            _ => {}
        }
    }

    /// In the compact layout the lower area shows the streams too.
    fn shown_pane(&self, pane: Pane) -> Pane {
        if pane == Pane::Lower && layout::is_compact(self.size) && matches!(self.focus, Pane::Right | Pane::Left) {
            self.focus
        } else {
            pane
        }
    }

    fn click_tab(&mut self, bar: Rect, column: u16) {
        let compact = layout::is_compact(self.size);
        let mut x = bar.x + 1;
        for (index, title) in super::render::tab_titles(compact).iter().enumerate() {
            let width = title.chars().count() as u16 + 3;
            if column >= x && column < x + width {
                match (compact, index) {
                    (true, 0) => self.focus = Pane::Right,
                    (true, 1) => self.focus = Pane::Left,
                    (true, i) => self.show(Tab::ALL[i - 2]),
                    (false, i) => self.show(Tab::ALL[i]),
                }
                return;
            }
            x += width;
        }
    }
}

/// Whether no agent works on a task any more unless something outside reopens it (PR ready,
/// rejected or cancelled): the domain's `is_settled`, which this layer cannot reach.
pub(crate) fn is_settled(status: TaskStatus) -> bool {
    matches!(status, TaskStatus::PrReady | TaskStatus::Rejected | TaskStatus::Cancelled)
}
