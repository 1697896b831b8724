//! What the Metrics and Playbooks tabs show and how it stays current. Neither comes with the
//! snapshot: each is read through the read port (`Effect::LoadMetrics`, `Effect::LoadPlaybooks`)
//! when its tab comes into view or, while in view, once it went stale, and the answer comes back as
//! `Msg::Metrics` or `Msg::Playbooks`. Metrics go stale when a task finishes or a gate is decided;
//! `playbook_changed` and `autonomy_changed` events carry the whole new state and are applied in
//! place. Also the promotion of a playbook proposal from the Playbooks tab: only one with a shadow
//! evaluation, and only after a confirmation that shows the evaluation and the criteria.

use std::cmp::Ordering;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use jiff::Timestamp;

use super::app::{AppState, Confirm, Effect, Overlay, Pane, Tab};
use super::keymap::{Action, Mode};
use super::layout;
use crate::protocol::{
    Command, Event, EventKind, MetricsFilter, MetricsReport, PlaybookList, PlaybookVersion, RegistryEdit, TaskStatus,
    VersionStatus,
};

/// Something read through the read port: the last answer, and whether a read is due or under way.
#[derive(Debug, Clone, PartialEq)]
pub struct Fetched<T> {
    /// The last answer, kept while a new read is under way and after one failed.
    pub value: Option<T>,
    /// Why the last read failed, if it did.
    pub error: Option<String>,
    /// Whether a read is under way.
    pub loading: bool,
    /// Whether it must be read again the next time it is in view.
    pub stale: bool,
    /// When the value was read.
    pub at: Option<Timestamp>,
}

impl<T> Default for Fetched<T> {
    fn default() -> Self {
        Fetched { value: None, error: None, loading: false, stale: true, at: None }
    }
}

impl<T> Fetched<T> {
    /// Marks a read under way if one is due; whether it did (the caller asks for it).
    fn start(&mut self) -> bool {
        let due = self.stale && !self.loading;
        if due {
            self.loading = true;
            self.stale = false;
        }
        due
    }

    /// Takes a read's answer.
    fn finish(&mut self, result: Result<T, String>, now: Timestamp) {
        self.loading = false;
        match result {
            Ok(value) => {
                self.value = Some(value);
                self.error = None;
                self.at = Some(now);
            }
            Err(error) => self.error = Some(error),
        }
    }
}

/// The Metrics and Playbooks tabs' data.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Insights {
    /// Which tasks the Metrics tab covers.
    pub filter: MetricsFilter,
    /// The metrics report.
    pub metrics: Fetched<MetricsReport>,
    /// The registry and every class's autonomy; the versions in the order the tab lists them
    /// (see [`listing_order`]).
    pub playbooks: Fetched<PlaybookList>,
    /// The tab of the two in view at the last update: coming into view reads it again.
    pub shown: Option<Tab>,
}

/// The order the Playbooks tab lists versions in: active ones first (by artifact and name), then
/// proposals, retired and rejected ones, newest first.
pub fn listing_order(a: &PlaybookVersion, b: &PlaybookVersion) -> Ordering {
    let rank = |v: &PlaybookVersion| match v.status {
        VersionStatus::Active => 0,
        VersionStatus::Proposed => 1,
        VersionStatus::Retired => 2,
        VersionStatus::Rejected => 3,
    };
    rank(a).cmp(&rank(b)).then_with(|| match a.status {
        VersionStatus::Active => (a.artifact, &a.name).cmp(&(b.artifact, &b.name)),
        _ => b.created.cmp(&a.created),
    })
}

/// Whether a task in `status` has ended (its metrics are final).
fn finished(status: TaskStatus) -> bool {
    matches!(status, TaskStatus::PrReady | TaskStatus::Failed | TaskStatus::Cancelled | TaskStatus::Rejected)
}

impl AppState {
    /// The versions the Playbooks tab lists, in its order.
    pub fn playbook_versions(&self) -> &[PlaybookVersion] {
        self.insights.playbooks.value.as_ref().map_or(&[], |list| list.versions.as_slice())
    }

    /// The version selected on the Playbooks tab.
    pub fn selected_version(&self) -> Option<&PlaybookVersion> {
        let versions = self.playbook_versions();
        versions.get(self.views.playbook.min(versions.len().saturating_sub(1)))
    }

    /// Takes the metrics report read.
    pub(crate) fn on_metrics(&mut self, result: Result<Box<MetricsReport>, String>) {
        self.insights.metrics.finish(result.map(|report| *report), self.now);
        self.views.metrics_scroll = self.views.metrics_scroll.min(super::metrics_view::max_scroll(self));
    }

    /// Takes the registry read: sorted for the list, the selection kept on its version.
    pub(crate) fn on_playbooks(&mut self, result: Result<Box<PlaybookList>, String>) {
        let selected = self.selected_version().map(|v| v.hash.clone());
        let result = result.map(|list| {
            let mut list = *list;
            list.versions.sort_by(listing_order);
            list
        });
        self.insights.playbooks.finish(result, self.now);
        self.reselect_version(selected);
    }

    /// What an event changes on the two tabs.
    pub(crate) fn insight_event(&mut self, event: &Event) {
        match &event.kind {
            EventKind::StatusChanged { to, .. } if finished(*to) => self.insights.metrics.stale = true,
            EventKind::GateDecided { .. } => self.insights.metrics.stale = true,
            EventKind::PlaybookChanged { version, .. } => {
                let selected = self.selected_version().map(|v| v.hash.clone());
                if self.insights.playbooks.loading {
                    // The answer on its way may predate the change: read again after it.
                    self.insights.playbooks.stale = true;
                }
                let Some(list) = &mut self.insights.playbooks.value else { return };
                match list.versions.iter_mut().find(|v| v.hash == version.hash) {
                    Some(known) => *known = (**version).clone(),
                    None => list.versions.push((**version).clone()),
                }
                list.versions.sort_by(listing_order);
                self.reselect_version(selected);
            }
            EventKind::AutonomyChanged { state, .. } => {
                if self.insights.playbooks.loading {
                    self.insights.playbooks.stale = true;
                }
                let Some(list) = &mut self.insights.playbooks.value else { return };
                match list.autonomy.iter_mut().find(|s| s.class == state.class) {
                    Some(known) => *known = state.clone(),
                    None => list.autonomy.push(state.clone()),
                }
            }
            _ => {}
        }
    }

    /// Asks for what the tab in view shows when it came into view or went stale.
    pub(crate) fn want_insights(&mut self) {
        let compact = layout::is_compact(self.size);
        let lower_visible = !compact || matches!(self.focus, Pane::Lower | Pane::Queue);
        let shown = Some(self.tab).filter(|tab| lower_visible && matches!(tab, Tab::Metrics | Tab::Playbooks));
        if shown != self.insights.shown {
            self.insights.shown = shown;
            match shown {
                Some(Tab::Metrics) => self.insights.metrics.stale = true,
                Some(Tab::Playbooks) => self.insights.playbooks.stale = true,
                _ => {}
            }
        }
        match shown {
            Some(Tab::Metrics) if self.insights.metrics.start() => {
                self.effects.push(Effect::LoadMetrics(self.insights.filter.clone()));
            }
            Some(Tab::Playbooks) if self.insights.playbooks.start() => self.effects.push(Effect::LoadPlaybooks),
            _ => {}
        }
    }

    /// `R` on the Metrics or Playbooks tab: read it again.
    pub(crate) fn refresh_insights(&mut self) {
        match self.tab {
            Tab::Metrics => self.insights.metrics.stale = true,
            Tab::Playbooks => self.insights.playbooks.stale = true,
            _ => {}
        }
    }

    /// Moves the Playbooks tab's selection by `delta` versions; the details start at the top.
    pub(crate) fn scroll_playbooks(&mut self, delta: isize) {
        let last = self.playbook_versions().len().saturating_sub(1);
        let selected = self.views.playbook.min(last).saturating_add_signed(delta).min(last);
        if selected != self.views.playbook {
            self.views.playbook = selected;
            self.views.playbook_scroll = 0;
        }
    }

    /// Scrolls the selected version's details by `delta` rows, within them.
    pub(crate) fn scroll_playbook_details(&mut self, delta: isize) {
        let max = super::playbooks_view::max_detail_scroll(self);
        self.views.playbook_scroll = self.views.playbook_scroll.min(max).saturating_add_signed(delta).min(max);
    }

    /// Scrolls the Metrics tab by `delta` rows, within its text.
    pub(crate) fn scroll_metrics(&mut self, delta: isize) {
        let max = super::metrics_view::max_scroll(self);
        self.views.metrics_scroll = self.views.metrics_scroll.min(max).saturating_add_signed(delta).min(max);
    }

    /// `P`: asks to promote the selected proposal, showing its evaluation first; refuses (in the
    /// footer) what the engine would refuse: another tab, a version that is no proposal, a
    /// proposal without a shadow evaluation.
    pub(crate) fn ask_promote(&mut self) {
        if self.tab != Tab::Playbooks {
            let key = self.keymap.key(Action::TabPlaybooks);
            self.status = Some((format!("press {key} (Playbooks), then pick a proposal to promote"), true));
            return;
        }
        let Some(version) = self.selected_version() else {
            self.status = Some(("no playbook version is selected".into(), true));
            return;
        };
        let short = version.short().to_owned();
        if version.status != VersionStatus::Proposed {
            let why = format!("version {short} is {}: only a proposal can be promoted", version.status);
            self.status = Some((why, true));
            return;
        }
        if version.evaluation.is_none() {
            let why = format!(
                "version {short} has no shadow evaluation: run `ambidex playbook evaluate {short}` first, so there \
                 is evidence to promote on"
            );
            self.status = Some((why, true));
            return;
        }
        self.overlay = Some(Overlay::Confirm(Confirm::Promote { version: version.hash.clone(), scroll: 0 }));
    }

    /// The promotion's confirmation: `y` promotes, the arrows and page keys scroll the evidence,
    /// any other key cancels.
    pub(crate) fn confirm_promote(&mut self, version: String, scroll: usize, key: KeyEvent) -> Vec<Command> {
        let page = super::layout::diff_viewport(self.size, false) as isize;
        let delta = match self.keymap.action(Mode::Normal, &key) {
            Some(Action::Down) => Some(1),
            Some(Action::Up) => Some(-1),
            Some(Action::PageDown) => Some(page),
            Some(Action::PageUp) => Some(-page),
            _ => None,
        };
        if let Some(delta) = delta {
            let max = super::playbooks_view::promote_max_scroll(self, &version);
            let scroll = scroll.min(max).saturating_add_signed(delta).min(max);
            self.overlay = Some(Overlay::Confirm(Confirm::Promote { version, scroll }));
            return Vec::new();
        }
        let short = version.get(..12).unwrap_or(&version).to_owned();
        if matches!(key.code, KeyCode::Char('y' | 'Y')) && !key.modifiers.contains(KeyModifiers::CONTROL) {
            self.status = Some((format!("promoting {short}: `ambidex playbook rollback CLASS` undoes it"), false));
            let edit = RegistryEdit::Promote { version, note: "from the control room".into() };
            return vec![Command::EditRegistry { edit }];
        }
        self.status = Some((format!("{short} not promoted: it stays a proposal"), false));
        self.reopen_pending_gates();
        Vec::new()
    }

    fn reselect_version(&mut self, hash: Option<String>) {
        let versions = self.playbook_versions();
        let at = hash.and_then(|hash| versions.iter().position(|v| v.hash == hash));
        let selected = at.unwrap_or(self.views.playbook).min(versions.len().saturating_sub(1));
        if selected != self.views.playbook {
            self.views.playbook = selected;
            self.views.playbook_scroll = 0;
        }
    }
}
