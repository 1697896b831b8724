//! The control room's state: what every pane shows, what is focused, which overlay is open.
//! `update` (in `update.rs` and `input.rs`) is the only code that changes it; render only reads it.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use crossterm::event::{KeyEvent, MouseEvent};
use jiff::Timestamp;

use super::diff_doc::DiffDoc;
use super::form::FormState;
use super::highlight::{HunkHighlight, Request};
use super::insights::Insights;
use super::keymap::Keymap;
use super::model::TaskDetail;
use super::theme::Theme;
use super::voice::{MessageDraft, RewindPick};
use crate::protocol::{
    CandidateDiff, Event, Exhibit, GateId, MemoryEntry, MetricsFilter, MetricsReport, ModelUnavailable, PRODUCTION,
    PlaybookList, TaskId, TaskStatus, TaskSummary, Update,
};

/// The panes that can hold the focus.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Pane {
    /// The task queue.
    Queue,
    /// The Right Hand stream.
    Right,
    /// The Left Hand stream.
    Left,
    /// The tabbed lower area.
    Lower,
}

impl Pane {
    /// Tab order.
    pub const ALL: [Pane; 4] = [Pane::Queue, Pane::Right, Pane::Left, Pane::Lower];
}

/// The tabs of the lower area.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tab {
    /// The selected task's diff.
    Diff,
    /// Two candidates side by side.
    Compare,
    /// The evidence matrix.
    Evidence,
    /// Open and decided gates.
    Gates,
    /// The audit log.
    Log,
    /// Repo memory.
    Memory,
    /// The four metric families, their weekly trend, per class and per strategy.
    Metrics,
    /// The bug museum.
    Museum,
    /// The playbook registry's versions, their evaluations, and every class's autonomy.
    Playbooks,
}

impl Tab {
    /// In order.
    pub const ALL: [Tab; 9] = [
        Tab::Diff,
        Tab::Compare,
        Tab::Evidence,
        Tab::Gates,
        Tab::Log,
        Tab::Memory,
        Tab::Metrics,
        Tab::Museum,
        Tab::Playbooks,
    ];

    /// The tab's title.
    pub fn title(self) -> &'static str {
        match self {
            Tab::Diff => "Diff",
            Tab::Compare => "Compare",
            Tab::Evidence => "Evidence",
            Tab::Gates => "Gates",
            Tab::Log => "Log",
            Tab::Memory => "Memory",
            Tab::Metrics => "Metrics",
            Tab::Museum => "Museum",
            Tab::Playbooks => "Playbooks",
        }
    }
}

/// What the control room reacts to.
#[derive(Debug, Clone)]
pub enum Msg {
    /// A key press.
    Key(KeyEvent),
    /// A mouse event.
    Mouse(MouseEvent),
    /// Pasted text.
    Paste(String),
    /// The terminal's new size.
    Resize(u16, u16),
    /// Something happened in the engine.
    Engine(Update),
    /// Time passed.
    Tick(Timestamp),
    /// A task's past events, read through the read port.
    History(TaskId, Result<Vec<Arc<Event>>, String>),
    /// A candidate's diff, read and parsed off the render path.
    Diff(DiffKey, u64, Result<(CandidateDiff, Arc<DiffDoc>), String>),
    /// A hunk's syntax highlighting.
    Highlighted(u64, Arc<HunkHighlight>),
    /// The metrics report, read through the read port.
    Metrics(Result<Box<MetricsReport>, String>),
    /// The playbook registry and every class's autonomy, read through the read port.
    Playbooks(Result<Box<PlaybookList>, String>),
}

/// Work the runtime does for the state (reads, highlighting, terminal signals).
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Read a task's past events.
    LoadHistory(TaskId),
    /// Read and parse a candidate's diff; the number is the task's diff version it answers.
    LoadDiff(DiffKey, u64),
    /// Highlight a hunk.
    Highlight(Request),
    /// Read the metrics report of the tasks the filter selects.
    LoadMetrics(MetricsFilter),
    /// Read the playbook registry and every class's autonomy.
    LoadPlaybooks,
    /// Ring the terminal bell.
    Bell,
    /// Send a desktop notification (OSC 9).
    Notify(String),
    /// Suspend the process (Ctrl-Z).
    Suspend,
}

/// A task's candidate.
pub type DiffKey = (TaskId, String);

/// A loaded (or loading) diff.
#[derive(Debug, Clone, PartialEq)]
pub struct DiffEntry {
    /// The task's diff version it was asked for at.
    pub version: u64,
    /// Whether a read is under way.
    pub loading: bool,
    /// When it was last asked for.
    pub asked_at: Timestamp,
    /// The diff, or why there is none.
    pub doc: Result<(CandidateDiff, Arc<DiffDoc>), String>,
}

/// What the runtime settings say about notifications.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Notifications {
    /// Ring the bell when a gate opens.
    pub bell: bool,
    /// Send OSC 9 when a gate opens.
    pub osc9: bool,
}

/// A line of the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// The event's sequence number.
    pub seq: u64,
    /// When.
    pub at: Timestamp,
    /// The task's short id.
    pub task: String,
    /// Who.
    pub actor: String,
    /// The event's kind.
    pub kind: &'static str,
    /// The one-line summary.
    pub summary: String,
}

impl LogLine {
    /// Whether the line matches a filter (case-insensitive, every word must appear).
    pub fn matches(&self, filter: &str) -> bool {
        if filter.is_empty() {
            return true;
        }
        let text = format!("{} {} {} {} {}", self.seq, self.task, self.actor, self.kind, self.summary).to_lowercase();
        filter.to_lowercase().split_whitespace().all(|word| text.contains(word))
    }
}

/// A modal over the panes.
#[derive(Debug, Clone)]
pub enum Overlay {
    /// The key help.
    Help {
        /// Lines scrolled.
        scroll: usize,
    },
    /// The approval overlay over the queue of gates.
    Approval,
    /// The new-task (or revise-task) form.
    Form(Box<FormState>),
    /// A yes/no question.
    Confirm(Confirm),
    /// The one-line message to a task's agents.
    Message(MessageDraft),
    /// The stages a task can be rewound to, then the note for the rerun.
    Rewind(Box<RewindPick>),
    /// What is behind an evidence cell.
    Cell {
        /// The heading.
        title: String,
        /// The text.
        lines: Vec<String>,
        /// Lines scrolled.
        scroll: usize,
    },
}

/// What a confirmation confirms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confirm {
    /// Quit while tasks run.
    Quit {
        /// How many run.
        running: usize,
    },
    /// Cancel a task.
    Cancel(TaskId),
    /// Remove a finished task's worktrees.
    Clean(TaskId),
    /// Rewind a stopped task to a stage's checkpoint (only `y` confirms).
    Rewind {
        /// The task.
        task: TaskId,
        /// The stage's name in the playbook.
        stage: String,
        /// What to do differently this time.
        note: Option<String>,
    },
    /// Promote a playbook proposal that has a shadow evaluation (only `y` confirms; the overlay
    /// shows the evaluation and the promotion criteria first).
    Promote {
        /// The proposal's hash.
        version: String,
        /// Rows its evaluation and criteria are scrolled down.
        scroll: usize,
    },
}

/// The approval overlay's own state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Approval {
    /// Gates waiting, oldest first.
    pub queue: Vec<(TaskId, GateId)>,
    /// The option picked (promotion gates).
    pub option: usize,
    /// Rows the gate's reason and evidence are scrolled down.
    pub scroll: usize,
    /// The note to send with the decision.
    pub note: String,
    /// Whether keys go into the note.
    pub editing_note: bool,
    /// Whether `enter` in the note sends the work back (the engineer pressed send back before
    /// writing the note it needs).
    pub send_back_on_enter: bool,
    /// Set after `esc`: do not pop the overlay up again until a new gate opens.
    pub dismissed: bool,
    /// Gates decided from here, awaiting the engine's event.
    pub sent: HashSet<GateId>,
    /// When the overlay last opened by itself (a gate opened): decision keys wait out
    /// [`AppState::gate_key_guard`] after it, so a key meant for another pane decides nothing.
    pub popped_at: Option<std::time::Instant>,
}

/// Scroll and selection of the views.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Views {
    /// Right Hand: lines scrolled up from the bottom (0 follows the stream).
    pub right_scroll: usize,
    /// Right Hand: tool outputs unfolded.
    pub right_unfolded: bool,
    /// Left Hand: lines scrolled up from the bottom.
    pub left_scroll: usize,
    /// Left Hand: tool outputs unfolded.
    pub left_unfolded: bool,
    /// Left Hand: the candidate column focused (narrow screens show one).
    pub left_column: usize,
    /// Diff: which candidate (index into the task's diffable candidates).
    pub diff_candidate: usize,
    /// Diff: the first row shown.
    pub diff_scroll: usize,
    /// Compare: the left and right candidates.
    pub compare: (usize, usize),
    /// Compare: the first row shown.
    pub compare_scroll: usize,
    /// Evidence: the selected row and column.
    pub evidence: (usize, usize),
    /// Gates: the selected gate.
    pub gate: usize,
    /// Log: lines scrolled up from the bottom.
    pub log_scroll: usize,
    /// Log: the filter.
    pub log_filter: String,
    /// Log: whether keys go into the filter.
    pub log_editing: bool,
    /// Memory: the selected entry.
    pub memory: usize,
    /// Museum: the selected exhibit.
    pub museum: usize,
    /// Metrics: rows scrolled down.
    pub metrics_scroll: usize,
    /// Playbooks: the selected version (in the order the tab lists them).
    pub playbook: usize,
    /// Playbooks: rows the selected version's details are scrolled down.
    pub playbook_scroll: usize,
}

/// Everything the control room shows.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The task queue, oldest first.
    pub tasks: Vec<TaskSummary>,
    /// The highlighted row.
    pub selected: usize,
    /// What is known about each task beyond its summary.
    pub details: HashMap<TaskId, TaskDetail>,
    /// Updates at or below this sequence number are already in the summaries.
    pub seen_seq: u64,
    /// The clock used for ages.
    pub now: Timestamp,
    /// The terminal's size.
    pub size: (u16, u16),
    /// The focused pane.
    pub focus: Pane,
    /// The lower area's tab.
    pub tab: Tab,
    /// The open overlay.
    pub overlay: Option<Overlay>,
    /// Gates waiting for a decision.
    pub approval: Approval,
    /// Scroll and selection of each view.
    pub views: Views,
    /// Loaded diffs.
    pub diffs: HashMap<DiffKey, DiffEntry>,
    /// Syntax highlighting by hunk key.
    pub highlights: HashMap<u64, Arc<HunkHighlight>>,
    /// Hunks asked for.
    pub highlight_asked: HashSet<u64>,
    /// Diffs (by address) whose every hunk was queued for highlighting.
    pub highlight_docs: HashSet<usize>,
    /// The audit log, by sequence number.
    pub log: BTreeMap<u64, LogLine>,
    /// Sequence numbers of the log lines matching the filter.
    pub log_matches: Vec<u64>,
    /// A message for the footer: text and whether it is an error.
    pub status: Option<(String, bool)>,
    /// The store this control room runs on (shown in the title).
    pub store_label: String,
    /// A first-screen message in the footer (the demo's keys), until the first key press.
    pub banner: Option<String>,
    /// Why no task can run now (no usable model provider), from the engine: shown in a banner
    /// under the title until the engine says tasks can run again.
    pub unavailable: Option<ModelUnavailable>,
    /// The repository memory's active entries and the proposals waiting for review, oldest
    /// first.
    pub memory: Vec<MemoryEntry>,
    /// The bug museum's kept exhibits and the proposals waiting for review, oldest first.
    pub museum: Vec<Exhibit>,
    /// What the Metrics and Playbooks tabs show, read through the read port when shown.
    pub insights: Insights,
    /// How long decision keys are ignored after the approval overlay opened by itself.
    pub gate_key_guard: std::time::Duration,
    /// Styles.
    pub theme: Theme,
    /// Keys.
    pub keymap: Keymap,
    /// Bell and desktop notifications.
    pub notifications: Notifications,
    /// Work for the runtime, taken after each update.
    pub effects: Vec<Effect>,
    /// Set when the user asked to quit.
    pub quit: bool,
}

impl AppState {
    /// A state showing `tasks` as of `seen_seq`.
    pub fn new(tasks: Vec<TaskSummary>, seen_seq: u64, store_label: String, now: Timestamp) -> Self {
        let mut state = Self {
            tasks,
            selected: 0,
            details: HashMap::new(),
            seen_seq,
            now,
            size: (80, 24),
            focus: Pane::Queue,
            tab: Tab::Diff,
            overlay: None,
            approval: Approval::default(),
            views: Views::default(),
            diffs: HashMap::new(),
            highlights: HashMap::new(),
            highlight_asked: HashSet::new(),
            highlight_docs: HashSet::new(),
            log: BTreeMap::new(),
            log_matches: Vec::new(),
            status: None,
            store_label,
            banner: None,
            unavailable: None,
            memory: Vec::new(),
            museum: Vec::new(),
            insights: Insights::default(),
            gate_key_guard: std::time::Duration::ZERO,
            theme: Theme::default(),
            keymap: Keymap::default(),
            notifications: Notifications { bell: true, osc9: true },
            effects: Vec::new(),
            quit: false,
        };
        // Tasks that are not finished may hold gates and streams: read their pasts now.
        let unfinished: Vec<TaskId> = state
            .tasks
            .iter()
            .filter(|t| !matches!(t.status, TaskStatus::PrReady | TaskStatus::Rejected | TaskStatus::Cancelled))
            .map(|t| t.id)
            .collect();
        for id in unfinished {
            state.request_history(id);
        }
        if let Some(first) = state.tasks.first().map(|t| t.id) {
            state.request_history(first);
        }
        state
    }

    /// The selected task.
    pub fn selected_task(&self) -> Option<&TaskSummary> {
        self.tasks.get(self.selected)
    }

    /// The selected task's detail, if known.
    pub fn selected_detail(&self) -> Option<&TaskDetail> {
        self.selected_task().and_then(|t| self.details.get(&t.id))
    }

    /// Takes the work queued for the runtime.
    pub fn take_effects(&mut self) -> Vec<Effect> {
        std::mem::take(&mut self.effects)
    }

    /// Asks for a task's history unless it is loaded or loading.
    pub fn request_history(&mut self, id: TaskId) {
        let detail = self.details.entry(id).or_default();
        if matches!(detail.loaded, super::model::Loaded::No) {
            detail.loaded = super::model::Loaded::Loading;
            self.effects.push(Effect::LoadHistory(id));
        }
    }

    /// Tasks that run now.
    pub fn running(&self) -> usize {
        self.tasks.iter().filter(|t| t.status == TaskStatus::Running).count()
    }

    /// The candidates of the selected task that have (or will have) diffs.
    pub fn candidates(&self) -> Vec<String> {
        self.selected_detail().map(TaskDetail::diffable).unwrap_or_default()
    }

    /// The candidate the Diff tab shows.
    pub fn diff_candidate(&self) -> Option<String> {
        let candidates = self.candidates();
        if candidates.is_empty() {
            return None;
        }
        Some(candidates[self.views.diff_candidate % candidates.len()].clone())
    }

    /// The two candidates the Compare tab shows (left, right): production against the
    /// recommended candidate at first, then as `b` and `c` move each side on.
    pub fn compare_candidates(&self) -> Option<(String, String)> {
        let candidates = self.candidates();
        let count = candidates.len();
        if count < 2 {
            return None;
        }
        let position = |label: &str| candidates.iter().position(|c| c == label);
        let first_left = position(PRODUCTION).unwrap_or(0);
        let recommended = self.selected_detail().and_then(TaskDetail::recommended).and_then(position);
        let first_right = recommended.filter(|r| *r != first_left).unwrap_or((first_left + 1) % count);
        let (left, right) = self.views.compare;
        let left = (first_left + left) % count;
        let mut right = (first_right + right) % count;
        if right == left {
            right = (left + 1) % count;
        }
        Some((candidates[left].clone(), candidates[right].clone()))
    }

    /// The candidate whose diff the approval overlay shows with `gate`: for a choice, the one the
    /// picked option adopts (else the recommended one); otherwise production's.
    pub fn gate_candidate(&self, gate: &super::model::GateView) -> Option<String> {
        let detail = self.details.get(&gate.task)?;
        let candidates = detail.diffable();
        let picked = gate.options.get(self.approval.option).and_then(|o| detail.option_candidate(o));
        let recommended = detail.recommended().map(str::to_owned).filter(|_| !gate.options.is_empty());
        picked.or(recommended).filter(|c| candidates.contains(c)).or_else(|| candidates.first().cloned())
    }

    /// A loaded diff.
    pub fn diff(&self, task: TaskId, candidate: &str) -> Option<&DiffEntry> {
        self.diffs.get(&(task, candidate.to_owned()))
    }

    /// The gate the approval overlay shows.
    pub fn current_gate(&self) -> Option<&super::model::GateView> {
        let (task, gate) = self.approval.queue.first()?;
        self.details.get(task)?.gates.iter().find(|g| g.id == *gate)
    }

    /// A task's summary.
    pub fn summary(&self, id: TaskId) -> Option<&TaskSummary> {
        self.tasks.iter().find(|t| t.id == id)
    }
}
