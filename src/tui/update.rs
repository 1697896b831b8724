//! `update`: one message in, the commands for the engine out. Engine updates and read results are
//! handled here; keys and the mouse in `input.rs`. Work for the runtime (reads, highlighting,
//! bells) is queued in `effects`; nothing here does I/O.

use std::sync::Arc;

use super::app::{AppState, DiffEntry, Effect, LogLine, Msg, Overlay, Pane, Tab};
use super::diff_doc::Row;
use super::highlight::Request;
use super::layout;
use super::model::{IntakeView, Loaded};
use crate::protocol::{
    Actor, Command, Event, EventKind, ExhibitStatus, MemoryStatus, TaskId, TaskStatus, TaskSummary, Update,
};

/// The most log lines kept.
const LOG_CAP: usize = 20_000;
/// The most hunks highlighted ahead of the screen per diff.
const LAZY_HUNKS: usize = 200;

impl AppState {
    /// Applies one message and returns the commands it causes.
    pub fn update(&mut self, msg: Msg) -> Vec<Command> {
        // Streamed text and highlighting change nothing about what must be loaded.
        let settles = !matches!(msg, Msg::Engine(Update::Delta(_)) | Msg::Highlighted(..));
        let commands = match msg {
            Msg::Key(key) => {
                self.banner = None;
                self.on_key(key)
            }
            Msg::Mouse(mouse) => {
                self.on_mouse(mouse);
                Vec::new()
            }
            Msg::Paste(text) => {
                self.on_paste(&text);
                Vec::new()
            }
            Msg::Resize(width, height) => {
                self.size = (width, height);
                Vec::new()
            }
            Msg::Engine(update) => {
                self.on_update(update);
                Vec::new()
            }
            Msg::Tick(now) => {
                self.now = now;
                Vec::new()
            }
            Msg::History(task, result) => {
                self.on_history(task, result);
                Vec::new()
            }
            Msg::Diff(key, version, result) => {
                let entry = self.diffs.entry(key).or_insert_with(|| DiffEntry {
                    version,
                    loading: false,
                    asked_at: self.now,
                    doc: Err(String::new()),
                });
                entry.loading = false;
                entry.version = version;
                entry.doc = result;
                self.clamp_views();
                Vec::new()
            }
            Msg::Highlighted(key, lines) => {
                if self.highlights.len() > 20_000 {
                    self.highlights.clear();
                    self.highlight_asked.clear();
                }
                self.highlights.insert(key, lines);
                Vec::new()
            }
            Msg::Metrics(result) => {
                self.on_metrics(result);
                Vec::new()
            }
            Msg::Playbooks(result) => {
                self.on_playbooks(result);
                Vec::new()
            }
        };
        if settles {
            self.after_update();
        }
        commands
    }

    fn on_update(&mut self, update: Update) {
        match update {
            Update::Event(event) => self.on_event(&event, true),
            Update::Delta(delta) => {
                self.details.entry(delta.task).or_default().delta(&delta.actor, &delta.text);
            }
            Update::CommandFailed { command, error } => {
                let what = command.split([' ', '{', '(']).next().unwrap_or_default().to_owned();
                self.status = Some((format!("{what}: {error}"), true));
                if let Some(Overlay::Form(form)) = &mut self.overlay
                    && form.awaiting.is_some()
                {
                    form.awaiting = None;
                    form.message = Some(error);
                }
            }
            Update::Lagged { missed } => {
                self.status = Some((format!("the view missed {missed} updates; press R to reload"), true));
            }
            Update::Readiness { unavailable } => self.unavailable = unavailable,
        }
    }

    /// Applies an event: to the queue (live ones), the task's detail, the log and the overlays.
    fn on_event(&mut self, event: &Arc<Event>, live: bool) {
        self.log_event(event);
        self.insight_event(event);
        match &event.kind {
            EventKind::MemoryChanged { entry, .. } => {
                let shown = matches!(entry.status, MemoryStatus::Active | MemoryStatus::Pending);
                self.views.memory = keep_shown(&mut self.memory, entry, |e| e.id == entry.id, shown, self.views.memory);
            }
            EventKind::ExhibitChanged { exhibit, .. } => {
                let shown = matches!(exhibit.status, ExhibitStatus::Kept | ExhibitStatus::Pending);
                self.views.museum =
                    keep_shown(&mut self.museum, exhibit, |e| e.id == exhibit.id, shown, self.views.museum);
            }
            _ => {}
        }
        if live && event.seq > self.seen_seq {
            self.seen_seq = event.seq;
            self.summarize(event);
        }
        let Some(task) = event.task else { return };
        let detail = self.details.entry(task).or_default();
        let fresh = event.seq > detail.applied_seq;
        detail.apply(event);
        if !fresh {
            return;
        }
        match &event.kind {
            EventKind::GateOpened { gate, kind, reason, .. } => {
                let view = self.details.get(&task).and_then(|d| d.gates.iter().find(|g| g.id == *gate));
                if view.is_some_and(|g| g.decided.is_none())
                    && !self.approval.queue.iter().any(|(_, g)| g == gate)
                    && !self.approval.sent.contains(gate)
                {
                    self.approval.queue.push((task, *gate));
                    if live {
                        self.approval.dismissed = false;
                        let title = self.summary(task).map(|t| t.title.clone()).unwrap_or_default();
                        if self.notifications.bell {
                            self.effects.push(Effect::Bell);
                        }
                        if self.notifications.osc9 {
                            self.effects.push(Effect::Notify(format!("Ambidex: {kind} gate: {title} — {reason}")));
                        }
                    }
                    if self.overlay.is_none() && !self.approval.dismissed && !self.views.log_editing {
                        self.pop_approval();
                    }
                }
            }
            EventKind::GateDecided { gate, .. } => {
                self.approval.queue.retain(|(_, g)| g != gate);
                self.approval.sent.remove(gate);
                if matches!(self.overlay, Some(Overlay::Approval)) && self.approval.queue.is_empty() {
                    self.overlay = None;
                }
            }
            EventKind::Rewound { stage, abandoned, .. } if live => {
                let what =
                    format!("task {} rewound to the {stage} stage; the work set aside is on {abandoned}", task.short());
                self.status = Some((what, false));
            }
            EventKind::TaskCreated { spec } | EventKind::TaskRevised { spec } => {
                if let Some(Overlay::Form(form)) = &mut self.overlay
                    && form.awaiting.as_ref() == Some(spec)
                    && matches!(event.actor, Actor::Human { .. })
                {
                    form.task = Some(task);
                }
            }
            EventKind::IntakeAssessed { verdict, reasons, questions, suggested_split } => {
                let view = IntakeView {
                    verdict: *verdict,
                    reasons: reasons.clone(),
                    questions: questions.clone(),
                    suggested_split: suggested_split.clone(),
                };
                if let Some(Overlay::Form(form)) = &mut self.overlay
                    && form.task == Some(task)
                    && (form.awaiting.is_some() || live)
                    && form.assessed(view)
                {
                    self.overlay = None;
                    if let Some(at) = self.tasks.iter().position(|t| t.id == task) {
                        self.selected = at;
                    }
                    self.status = Some(("task accepted by intake".into(), false));
                    self.reopen_pending_gates();
                }
            }
            _ => {}
        }
    }

    /// Updates the queue line of the event's task.
    fn summarize(&mut self, event: &Event) {
        let Some(id) = event.task else { return };
        if let EventKind::TaskCreated { spec } = &event.kind {
            if !self.tasks.iter().any(|t| t.id == id) {
                self.tasks.push(TaskSummary {
                    id,
                    title: spec.title.clone(),
                    status: TaskStatus::Received,
                    kind: spec.kind,
                    risk: spec.risk,
                    route: None,
                    created_at: event.at,
                    open_gates: 0,
                    cost_micros: 0,
                });
                let detail = self.details.entry(id).or_default();
                // A task born while we watch has no past to read.
                if detail.loaded == Loaded::No {
                    detail.loaded = Loaded::Yes;
                }
            }
            return;
        }
        let Some(task) = self.tasks.iter_mut().find(|t| t.id == id) else { return };
        match &event.kind {
            EventKind::StatusChanged { to, .. } => task.status = *to,
            EventKind::TaskRevised { spec } => task.title = spec.title.clone(),
            EventKind::TaskTriaged(triage) => {
                let crate::protocol::Triage { kind, risk, route, .. } = triage;
                task.kind = Some(*kind);
                task.risk = Some(*risk);
                task.route = Some(*route);
            }
            EventKind::GateOpened { .. } => task.open_gates += 1,
            EventKind::GateDecided { .. } => task.open_gates = task.open_gates.saturating_sub(1),
            EventKind::UsageRecorded { cost_micros, .. } => task.cost_micros += cost_micros,
            _ => {}
        }
    }

    fn log_event(&mut self, event: &Event) {
        if self.log.contains_key(&event.seq) {
            return;
        }
        let line = LogLine {
            seq: event.seq,
            at: event.at,
            task: event.task.map(|t| t.short()).unwrap_or_default(),
            actor: event.actor.to_string(),
            kind: event.kind.name(),
            summary: event.kind.summary(),
        };
        let matches = line.matches(&self.views.log_filter);
        let newest = self.log.last_key_value().is_none_or(|(seq, _)| *seq < event.seq);
        self.log.insert(event.seq, line);
        if self.log.len() > LOG_CAP {
            let drop: Vec<u64> = self.log.keys().take(LOG_CAP / 4).copied().collect();
            for seq in drop {
                self.log.remove(&seq);
            }
            self.refilter_log();
        } else if matches {
            if newest {
                self.log_matches.push(event.seq);
            } else {
                self.refilter_log();
            }
        }
    }

    /// Recomputes which log lines match the filter.
    pub(crate) fn refilter_log(&mut self) {
        let filter = self.views.log_filter.clone();
        self.log_matches = self.log.values().filter(|l| l.matches(&filter)).map(|l| l.seq).collect();
    }

    fn on_history(&mut self, task: TaskId, result: Result<Vec<Arc<Event>>, String>) {
        match result {
            Ok(events) => {
                for event in &events {
                    self.log_event(event);
                }
                let detail = self.details.entry(task).or_default();
                detail.load(&events);
                let open: Vec<_> = detail.open_gates().map(|g| g.id).collect();
                for gate in open {
                    if !self.approval.queue.iter().any(|(_, g)| *g == gate) && !self.approval.sent.contains(&gate) {
                        self.approval.queue.push((task, gate));
                    }
                }
                self.approval.queue.sort_by_key(|(task, gate)| {
                    self.details.get(task).and_then(|d| d.gates.iter().find(|g| g.id == *gate)).map(|g| g.opened_seq)
                });
                if !self.approval.queue.is_empty()
                    && self.overlay.is_none()
                    && !self.approval.dismissed
                    && !self.views.log_editing
                {
                    self.pop_approval();
                }
            }
            Err(error) => {
                self.details.entry(task).or_default().loaded = Loaded::Failed(error.clone());
                self.status = Some((format!("could not read task {}: {error}", task.short()), true));
            }
        }
    }

    pub(crate) fn open_approval(&mut self) {
        self.approval.popped_at = None;
        self.approval.option = 0;
        self.approval.scroll = 0;
        self.approval.note.clear();
        self.approval.editing_note = false;
        self.approval.send_back_on_enter = false;
        self.overlay = Some(Overlay::Approval);
    }

    /// After the form or another overlay closes: gates that waited pop up.
    pub(crate) fn reopen_pending_gates(&mut self) {
        if self.overlay.is_none()
            && !self.approval.queue.is_empty()
            && !self.approval.dismissed
            && !self.views.log_editing
        {
            self.pop_approval();
        }
    }

    /// Opens the approval overlay by itself (not at the user's request).
    pub(crate) fn pop_approval(&mut self) {
        self.open_approval();
        self.approval.popped_at = Some(std::time::Instant::now());
    }

    /// Keeps selections within bounds.
    pub(crate) fn clamp_views(&mut self) {
        self.selected = self.selected.min(self.tasks.len().saturating_sub(1));
    }

    /// What the screen needs next: the selected task's past, visible diffs, highlighting, the
    /// Metrics or Playbooks tab's data.
    fn after_update(&mut self) {
        if let Some(id) = self.selected_task().map(|t| t.id) {
            self.request_history(id);
        }
        for (task, candidate) in self.visible_diffs() {
            self.want_diff(task, &candidate);
        }
        self.request_highlights();
        self.want_insights();
    }

    /// The diffs on screen now.
    pub(crate) fn visible_diffs(&self) -> Vec<(TaskId, String)> {
        let mut wanted = Vec::new();
        if let Some(Overlay::Approval) = &self.overlay {
            if let Some(gate) = self.current_gate()
                && let Some(candidate) = self.gate_candidate(gate)
            {
                wanted.push((gate.task, candidate));
            }
            return wanted;
        }
        let Some(task) = self.selected_task().map(|t| t.id) else { return wanted };
        let compact = layout::is_compact(self.size);
        let lower_visible = !compact || self.focus == Pane::Lower || self.focus == Pane::Queue;
        if !lower_visible {
            return wanted;
        }
        match self.tab {
            Tab::Diff => wanted.extend(self.diff_candidate().map(|c| (task, c))),
            Tab::Compare => {
                if let Some((left, right)) = self.compare_candidates() {
                    wanted.push((task, left));
                    wanted.push((task, right));
                }
            }
            _ => {}
        }
        wanted
    }

    fn want_diff(&mut self, task: TaskId, candidate: &str) {
        let version = self.details.get(&task).map_or(0, |d| d.diff_version);
        let key = (task, candidate.to_owned());
        let now = self.now;
        match self.diffs.get_mut(&key) {
            Some(entry) if entry.loading || entry.version >= version || entry.asked_at >= now => {}
            Some(entry) => {
                entry.loading = true;
                entry.asked_at = now;
                self.effects.push(Effect::LoadDiff(key, version));
            }
            None => {
                self.diffs.insert(
                    key.clone(),
                    DiffEntry { version, loading: true, asked_at: now, doc: Err("loading…".into()) },
                );
                self.effects.push(Effect::LoadDiff(key, version));
            }
        }
    }

    /// Asks for the highlighting of hunks on screen first, then of the rest of those diffs.
    fn request_highlights(&mut self) {
        let viewport = layout::diff_viewport(self.size, self.unavailable.is_some()) as usize;
        let mut urgent = Vec::new();
        let mut later = Vec::new();
        for (task, candidate) in self.visible_diffs() {
            let Some(DiffEntry { doc: Ok((_, doc)), .. }) = self.diffs.get(&(task, candidate)) else { continue };
            let scroll = match self.tab {
                Tab::Compare => 0,
                _ => self.views.diff_scroll,
            };
            let mut on_screen = Vec::new();
            for row in doc.rows.iter().skip(scroll).take(viewport) {
                if let Row::Hunk(f, h) | Row::Line(f, h, _) = row
                    && !on_screen.contains(&(*f, *h))
                {
                    on_screen.push((*f, *h));
                }
            }
            // The whole diff is queued once (lazily, behind the screen); the screen every time.
            let whole = self.highlight_docs.insert(Arc::as_ptr(doc) as usize);
            let targets: Vec<(usize, usize)> = if whole {
                doc.files.iter().enumerate().flat_map(|(f, file)| (0..file.hunks.len()).map(move |h| (f, h))).collect()
            } else {
                on_screen.clone()
            };
            for (f, h) in targets {
                let file = &doc.files[f];
                let hunk = &file.hunks[h];
                if self.highlight_asked.contains(&hunk.key) || self.highlights.contains_key(&hunk.key) {
                    continue;
                }
                let request = Request {
                    key: hunk.key,
                    extension: file.extension().to_owned(),
                    lines: hunk.lines.iter().map(|l| l.text.clone()).collect(),
                    urgent: on_screen.contains(&(f, h)),
                };
                if request.urgent {
                    urgent.push(request);
                } else if later.len() < LAZY_HUNKS {
                    later.push(request);
                }
            }
        }
        for request in urgent.into_iter().chain(later) {
            if self.highlight_asked.insert(request.key) {
                self.effects.push(Effect::Highlight(request));
            }
        }
    }
}

/// Keeps a tab's list (Memory, Museum) current: a shown item replaces its old state or is added
/// at the end, one no longer shown goes. Returns the selection `selected`, kept on a row.
fn keep_shown<T: Clone>(list: &mut Vec<T>, item: &T, same: impl Fn(&T) -> bool, shown: bool, selected: usize) -> usize {
    match list.iter().position(same) {
        Some(at) if shown => list[at] = item.clone(),
        Some(at) => {
            list.remove(at);
        }
        None if shown => list.push(item.clone()),
        None => {}
    }
    selected.min(list.len().saturating_sub(1))
}
