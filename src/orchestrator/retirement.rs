//! Retirement checks, run on every review. Each active production playbook version is held to
//! the reference architecture's retirement criteria: slower than its parent (the version it was
//! derived from or replaced), more send-backs per task, a lower completion rate, synthesis
//! recommendations flagged as contradicting the evidence, museum exhibits its latest shadow
//! evaluation left broken, and a stage tool that no longer exists. The hits are recorded on the
//! version as a retirement proposal (`playbook_changed`, `retirement_proposed`) for a person to
//! retire it or keep it; a later review that finds it clear again records the empty list.
//! Ambidex never retires a version itself.
//!
//! The metric comparisons need a parent and at least [`MIN_FINISHED`] finished tasks on each
//! side; a version that serves other classes than its parent is compared class by class, on the
//! classes it serves. Models are not checked: which models exist is known only by asking each
//! provider (`ambidex models list`), which a review does not do.

use std::collections::{BTreeSet, HashMap};

use super::metrics::MetricsFold;
use super::registry::Registry;
use super::{Engine, EngineError};
use crate::playbooks::playbook::{KNOWN_TOOLS, Playbook};
use crate::protocol::{
    Actor, Artifact, Event, EventKind, MetricsFilter, MetricsReport, NewEvent, PlaybookChange, PlaybookMetrics,
    PlaybookVersion, TaskId, TaskKind, VersionStatus,
};
use crate::store::{StoreError, StoreReader};

/// Finished tasks each side of a metric comparison needs before it counts.
pub const MIN_FINISHED: u64 = 3;

/// How much slower than its parent a version's median intake-to-PR time may be (25%).
pub const SLOWER: f64 = 1.25;

/// Events read from the store at a time while catching up.
const PAGE: usize = 4096;

/// What the synthesis agent recommended on one task.
#[derive(Debug, Clone, Default)]
struct TaskSyntheses {
    version: Option<String>,
    class: Option<TaskKind>,
    syntheses: u64,
    flagged: u64,
}

/// Synthesis recommendations per playbook version, and how many the evidence check flagged as
/// contradicting the evidence matrix. Feed it every event once, in order.
#[derive(Debug, Clone, Default)]
pub struct Contradictions {
    tasks: HashMap<TaskId, TaskSyntheses>,
    /// The last event taken.
    pub seq: u64,
}

/// Syntheses on the tasks of one version.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SynthesisCount {
    /// Recommendations made.
    pub syntheses: u64,
    /// Of them, those flagged as contradicting the evidence.
    pub flagged: u64,
}

impl SynthesisCount {
    fn share(&self) -> f64 {
        if self.syntheses == 0 { 0.0 } else { self.flagged as f64 / self.syntheses as f64 }
    }
}

impl Contradictions {
    /// Takes one event (an event at or before the last one taken is ignored).
    pub fn apply(&mut self, event: &Event) {
        if event.seq <= self.seq {
            return;
        }
        self.seq = event.seq;
        let Some(task) = event.task else { return };
        match &event.kind {
            EventKind::TaskTriaged(triage) => self.tasks.entry(task).or_default().class = Some(triage.kind),
            EventKind::PlaybookSelected { playbook_version, .. } => {
                self.tasks.entry(task).or_default().version = Some(playbook_version.clone());
            }
            EventKind::SynthesisSubmitted { synthesis } => {
                let facts = self.tasks.entry(task).or_default();
                facts.syntheses += 1;
                facts.flagged += u64::from(!synthesis.flags.is_empty());
            }
            _ => {}
        }
    }

    /// Takes every event the store holds after the last one taken.
    pub fn catch_up(&mut self, reader: &StoreReader) -> Result<(), StoreError> {
        loop {
            let before = self.seq;
            for event in &reader.events_after(self.seq, PAGE)? {
                self.apply(event);
            }
            if self.seq == before {
                return Ok(());
            }
        }
    }

    /// The syntheses on tasks that ran with `version` (of `class` only, when given).
    pub fn of(&self, version: &str, class: Option<TaskKind>) -> SynthesisCount {
        let mut count = SynthesisCount::default();
        let tasks = self.tasks.values().filter(|t| t.version.as_deref() == Some(version));
        for facts in tasks.filter(|t| class.is_none_or(|class| t.class == Some(class))) {
            count.syntheses += facts.syntheses;
            count.flagged += facts.flagged;
        }
        count
    }
}

/// The retirement criteria `version` hits, each as one line that starts with the criterion
/// (`slower than its parent: …`). The metric comparisons need `parent`.
pub fn hits(
    version: &PlaybookVersion,
    parent: Option<&PlaybookVersion>,
    fold: &MetricsFold,
    contradictions: &Contradictions,
) -> Vec<String> {
    let mut hits = Vec::new();
    if let Some(parent) = parent {
        // Alike classes: every task of each; otherwise the classes the version serves, one by one.
        let scopes: Vec<Option<TaskKind>> = if same_classes(version, parent) {
            vec![None]
        } else {
            version.classes.iter().map(|&class| Some(class)).collect()
        };
        for scope in scopes {
            let report = fold.report(&MetricsFilter { since: None, class: scope });
            hits.extend(compared(version, parent, &report, scope));
            hits.extend(contradicted(version, parent, contradictions, scope));
        }
    }
    if let Some(evaluation) = version.evaluation.as_deref() {
        let failed: Vec<&str> = evaluation.failed_exhibits().iter().map(|case| case.title.as_str()).collect();
        if !failed.is_empty() {
            hits.push(format!(
                "fails museum exhibits: its shadow evaluation of {} left {} of them broken ({})",
                evaluation.at.strftime("%Y-%m-%d"),
                failed.len(),
                failed.join("; ")
            ));
        }
    }
    hits.extend(retired_dependencies(version));
    hits
}

fn same_classes(a: &PlaybookVersion, b: &PlaybookVersion) -> bool {
    a.classes.iter().collect::<BTreeSet<_>>() == b.classes.iter().collect::<BTreeSet<_>>()
}

fn of<'a>(report: &'a MetricsReport, version: &PlaybookVersion) -> Option<&'a PlaybookMetrics> {
    report.by_playbook.iter().find(|p| p.version == version.hash)
}

/// ` on bug_fix tasks` for a class scope, nothing for every task.
fn scope_words(scope: Option<TaskKind>) -> String {
    scope.map(|class| format!(" on {class} tasks")).unwrap_or_default()
}

/// The delivery comparisons with the parent: time to PR, send-backs, completion.
fn compared(
    version: &PlaybookVersion,
    parent: &PlaybookVersion,
    report: &MetricsReport,
    scope: Option<TaskKind>,
) -> Vec<String> {
    let (Some(new), Some(old)) = (of(report, version), of(report, parent)) else { return Vec::new() };
    let (new, old) = (&new.families.delivery, &old.families.delivery);
    if new.finished < MIN_FINISHED || old.finished < MIN_FINISHED {
        return Vec::new();
    }
    let (within, name) = (scope_words(scope), parent.short());
    let sample = format!("{} finished tasks vs {}", new.finished, old.finished);
    let mut hits = Vec::new();
    if let (Some(now), Some(before)) = (new.intake_to_pr_secs, old.intake_to_pr_secs)
        && now > before * SLOWER
    {
        hits.push(format!(
            "slower than its parent{within}: median intake to PR {} vs {} for {name} ({sample})",
            duration(now),
            duration(before)
        ));
    }
    if let (Some(now), Some(before)) = (new.send_backs_per_task, old.send_backs_per_task)
        && now > before
    {
        hits.push(format!(
            "more send-backs per task than its parent{within}: {now:.2} vs {before:.2} for {name} ({sample})"
        ));
    }
    if let (Some(now), Some(before)) = (new.completion_rate, old.completion_rate)
        && now < before
    {
        hits.push(format!(
            "lower completion than its parent{within}: {:.0}% vs {:.0}% for {name} ({sample})",
            now * 100.0,
            before * 100.0
        ));
    }
    hits
}

/// Whether the synthesis recommendations on the version's tasks were flagged as contradicting
/// the evidence more often than on its parent's.
fn contradicted(
    version: &PlaybookVersion,
    parent: &PlaybookVersion,
    contradictions: &Contradictions,
    scope: Option<TaskKind>,
) -> Option<String> {
    let (new, old) = (contradictions.of(&version.hash, scope), contradictions.of(&parent.hash, scope));
    (new.flagged > 0 && new.share() > old.share()).then(|| {
        format!(
            "recommendations flagged as contradicting the evidence{}: {} of {} syntheses vs {} of {} for {}",
            scope_words(scope),
            new.flagged,
            new.syntheses,
            old.flagged,
            old.syntheses,
            parent.short()
        )
    })
}

/// Stage tools the version lists that this build no longer has, or why its text no longer loads.
fn retired_dependencies(version: &PlaybookVersion) -> Vec<String> {
    let table: Result<toml::Table, _> = toml::from_str(&version.text);
    let mut gone: Vec<String> = Vec::new();
    if let Ok(table) = &table {
        let stages = table.get("stage").and_then(toml::Value::as_array).map(Vec::as_slice).unwrap_or_default();
        for stage in stages {
            let name = stage.get("name").and_then(toml::Value::as_str).unwrap_or("?");
            let tools = stage.get("tools").and_then(toml::Value::as_array).map(Vec::as_slice).unwrap_or_default();
            for tool in tools.iter().filter_map(toml::Value::as_str).filter(|t| !KNOWN_TOOLS.contains(t)) {
                gone.push(format!("`{tool}` (stage `{name}`)"));
            }
        }
    }
    if !gone.is_empty() {
        return vec![format!(
            "depends on a tool that no longer exists: {}; this build has {}",
            gone.join(", "),
            KNOWN_TOOLS.join(", ")
        )];
    }
    match Playbook::parse(&version.text, &format!("registry {}", version.short())) {
        Ok(_) => Vec::new(),
        Err(err) => vec![format!("depends on what this build no longer accepts: its text does not load ({err})")],
    }
}

fn duration(secs: f64) -> String {
    match secs {
        s if s < 90.0 => format!("{s:.0}s"),
        s if s < 5_400.0 => format!("{:.0}m", s / 60.0),
        s if s < 172_800.0 => format!("{:.1}h", s / 3_600.0),
        s => format!("{:.1}d", s / 86_400.0),
    }
}

/// The criterion a hit names (the words before its first colon).
fn criterion(hit: &str) -> &str {
    hit.split(':').next().unwrap_or(hit)
}

/// The `retirement_proposed` events a review calls for: one for each active production version
/// whose criteria hit changed (new hits, or none left), carrying the version with its hits.
/// Figures that moved under the same criteria are not recorded again.
pub fn review(registry: &Registry, fold: &MetricsFold, contradictions: &Contradictions) -> Vec<NewEvent> {
    let active =
        registry.versions().iter().filter(|v| v.artifact == Artifact::Playbook && v.status == VersionStatus::Active);
    let mut events = Vec::new();
    for version in active {
        let parent = version.parent.as_deref().and_then(|hash| registry.get(hash));
        let found = hits(version, parent, fold, contradictions);
        let before: Vec<&str> = version.retirement.iter().map(|hit| criterion(hit)).collect();
        let now: Vec<&str> = found.iter().map(|hit| criterion(hit)).collect();
        if before == now {
            continue;
        }
        let mut proposed = version.clone();
        proposed.retirement = found;
        let change =
            EventKind::PlaybookChanged { change: PlaybookChange::RetirementProposed, version: Box::new(proposed) };
        events.push(NewEvent::global(Actor::Orchestrator, change));
    }
    events
}

impl Engine {
    /// Checks every active production playbook version against the retirement criteria and
    /// records each change in what it hits as a retirement proposal (never a retirement).
    pub async fn review_retirement(&self) -> Result<Vec<NewEvent>, EngineError> {
        let reader = self.reader();
        let registry = self.registry()?;
        let mut contradictions = Contradictions::default();
        contradictions.catch_up(&reader)?;
        let events = {
            let mut fold = super::lock(&self.metrics);
            fold.catch_up(&reader)?;
            review(&registry, &fold, &contradictions)
        };
        self.append(events.clone()).await?;
        Ok(events)
    }
}

#[cfg(test)]
#[path = "retirement_tests.rs"]
mod tests;
