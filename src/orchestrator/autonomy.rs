//! Autonomy that expands only after measurement. A task class starts supervised (every gate the
//! policy requires). When its metrics over the policy's window pass every threshold, Ambidex
//! proposes the next level, with the numbers; only a person grants it. A regression among the
//! tasks that ran relaxed (a reverted change, a streak of failures) puts the class back under
//! every gate at once and says why. Tasks record the level they were triaged with, and a class
//! tightened since lowers it for them too.

use jiff::{Span, Timestamp};

use super::metrics::MetricsFold;
use super::{Engine, EngineError};
use crate::domain::Task;
use crate::playbooks::AutonomyRules;
use crate::protocol::{
    Actor, AutonomyChange, AutonomyEdit, AutonomyEvidence, AutonomyLevel, AutonomyState, EventKind, MetricsFilter,
    NewEvent, Risk, TaskKind,
};
use crate::store::StoreError;

/// A class's state, or supervised when it never changed.
pub fn state_of(states: &[AutonomyState], class: TaskKind) -> AutonomyState {
    states.iter().find(|s| s.class == class).cloned().unwrap_or(AutonomyState {
        class,
        level: AutonomyLevel::Supervised,
        proposed: None,
        evidence: AutonomyEvidence::default(),
        reason: "the policy's gates, as written".into(),
        at: Timestamp::UNIX_EPOCH,
        since: Timestamp::UNIX_EPOCH,
    })
}

/// The class's metrics over the window ending `now`.
pub fn evidence(fold: &MetricsFold, class: TaskKind, rules: &AutonomyRules, now: Timestamp) -> AutonomyEvidence {
    let since = now.checked_sub(Span::new().hours(24 * i64::from(rules.window_days))).ok();
    let report = fold.report(&MetricsFilter { since, class: Some(class) });
    let delivery = &report.overall.delivery;
    AutonomyEvidence {
        window_days: rules.window_days,
        finished: delivery.finished,
        completion_rate: delivery.completion_rate,
        escaped_defects: report.overall.quality.escaped_defects,
        send_backs_per_task: delivery.send_backs_per_task,
    }
}

/// The thresholds `evidence` misses, in words (none: it passes).
pub fn shortfalls(evidence: &AutonomyEvidence, rules: &AutonomyRules) -> Vec<String> {
    let mut missing = Vec::new();
    if evidence.finished < rules.min_tasks {
        missing.push(format!("{} finished tasks (needs {})", evidence.finished, rules.min_tasks));
    }
    let completion = evidence.completion_rate.unwrap_or(0.0);
    if completion < rules.min_completion {
        missing.push(format!("completion {:.0}% (needs {:.0}%)", completion * 100.0, rules.min_completion * 100.0));
    }
    if evidence.escaped_defects > rules.max_escaped_defects {
        missing.push(format!("{} escaped defects (at most {})", evidence.escaped_defects, rules.max_escaped_defects));
    }
    let send_backs = evidence.send_backs_per_task.unwrap_or(0.0);
    if send_backs > rules.max_send_backs_per_task {
        missing.push(format!("{send_backs:.2} send-backs per task (at most {:.2})", rules.max_send_backs_per_task));
    }
    missing
}

/// Why the class's relaxed level must go, if it must: among its tasks created since the level was
/// granted, a reverted change or the last `failure_streak` all failed.
fn regression(fold: &MetricsFold, state: &AutonomyState, rules: &AutonomyRules) -> Option<String> {
    let ran: Vec<_> = fold.outcomes(state.class).into_iter().filter(|o| o.created >= state.since).collect();
    if let Some(reverted) = ran.iter().find(|o| o.reverted) {
        return Some(format!("the change of task {} was reverted (an escaped defect)", reverted.task.short()));
    }
    let streak = rules.failure_streak as usize;
    let last = ran.len().checked_sub(streak).map(|start| &ran[start..]).unwrap_or_default();
    (!last.is_empty() && last.iter().all(|o| !o.completed)).then(|| {
        let ids: Vec<String> = last.iter().map(|o| o.task.short()).collect();
        format!("{streak} tasks in a row failed ({})", ids.join(", "))
    })
}

/// What the class's metrics call for now: a tightening on a regression, the withdrawal of a
/// waiting proposal whose evidence no longer holds, a proposal of the next level when the
/// thresholds pass and none waits, else nothing.
pub fn review(fold: &MetricsFold, state: &AutonomyState, rules: &AutonomyRules, now: Timestamp) -> Option<NewEvent> {
    let evidence = evidence(fold, state.class, rules, now);
    let event = |change, state: AutonomyState| {
        Some(NewEvent::global(Actor::Orchestrator, EventKind::AutonomyChanged { change, state }))
    };
    if state.level > AutonomyLevel::Supervised
        && let Some(why) = regression(fold, state, rules)
    {
        let tightened = AutonomyState {
            level: AutonomyLevel::Supervised,
            proposed: None,
            evidence,
            reason: format!("tightened: {why}"),
            at: now,
            since: now,
            ..state.clone()
        };
        return event(AutonomyChange::Tightened, tightened);
    }
    let missing = shortfalls(&evidence, rules);
    if state.proposed.is_some() {
        if missing.is_empty() {
            return None;
        }
        let reason = format!("proposal withdrawn: the evidence no longer holds ({})", missing.join("; "));
        let withdrawn = AutonomyState { proposed: None, evidence, reason, at: now, ..state.clone() };
        return event(AutonomyChange::Declined, withdrawn);
    }
    let next = state.level.next()?;
    // Only tasks that ran at the level count toward the next step.
    let at_level = fold.outcomes(state.class).into_iter().filter(|o| o.created >= state.since).count() as u64;
    if !missing.is_empty() || at_level < rules.min_tasks {
        return None;
    }
    let reason = format!(
        "{} tasks finished in {} days, {:.0}% completed, {} escaped defects, {:.2} send-backs per task: {} may be granted ({})",
        evidence.finished,
        evidence.window_days,
        evidence.completion_rate.unwrap_or(0.0) * 100.0,
        evidence.escaped_defects,
        evidence.send_backs_per_task.unwrap_or(0.0),
        next,
        next.describe()
    );
    let proposed = AutonomyState { proposed: Some(next), evidence, reason, at: now, ..state.clone() };
    event(AutonomyChange::Proposed, proposed)
}

/// The events that carry out a person's `edit`.
pub fn edit_events(
    states: &[AutonomyState],
    edit: AutonomyEdit,
    actor: &Actor,
    now: Timestamp,
) -> Result<Vec<NewEvent>, EngineError> {
    if !matches!(actor, Actor::Human { .. }) {
        return Err(EngineError::Refused(format!("only a person may change a class's autonomy ({actor} asked)")));
    }
    let (change, state) = match edit {
        AutonomyEdit::Grant { class } => {
            let state = state_of(states, class);
            let Some(level) = state.proposed else {
                return Err(EngineError::Refused(format!(
                    "no autonomy proposal waits for {class}: Ambidex proposes one only when the class's metrics pass \
                     the thresholds in policy `[autonomy]` (`ambidex autonomy` shows them)"
                )));
            };
            let reason = format!("granted by {actor}: {}", state.reason);
            (AutonomyChange::Granted, AutonomyState { level, proposed: None, reason, at: now, since: now, ..state })
        }
        AutonomyEdit::Decline { class, reason } => {
            let state = state_of(states, class);
            if state.proposed.is_none() {
                return Err(EngineError::Refused(format!("no autonomy proposal waits for {class}")));
            }
            let reason =
                format!("declined by {actor}{}", if reason.is_empty() { String::new() } else { format!(": {reason}") });
            (AutonomyChange::Declined, AutonomyState { proposed: None, reason, at: now, ..state })
        }
        AutonomyEdit::Tighten { class, reason } => {
            let state = state_of(states, class);
            let reason = format!("tightened by {actor}: {reason}");
            let tightened = AutonomyState {
                level: AutonomyLevel::Supervised,
                proposed: None,
                reason,
                at: now,
                since: now,
                ..state
            };
            (AutonomyChange::Tightened, tightened)
        }
    };
    Ok(vec![NewEvent::global(actor.clone(), EventKind::AutonomyChanged { change, state })])
}

/// Whether a task at `level` skips the plan gate (never at high risk or above).
pub fn skips_plan(level: AutonomyLevel, risk: Risk) -> bool {
    level >= AutonomyLevel::TrustedPlan && risk < Risk::High
}

/// Whether a task at `level` skips the pull-request gate (never at high risk or above).
pub fn skips_pr(level: AutonomyLevel, risk: Risk) -> bool {
    level >= AutonomyLevel::TrustedPr && risk < Risk::High
}

/// `task` with its recorded level lowered to the class's level now (a class tightened since the
/// task was triaged gets its gates back at once).
pub fn capped(task: &Task, now: AutonomyLevel) -> Task {
    let mut task = task.clone();
    if let Some(triage) = task.triage.as_mut() {
        triage.autonomy = triage.autonomy.min(now);
    }
    task
}

impl Engine {
    /// Every class's autonomy that ever changed.
    pub fn autonomy(&self) -> Result<Vec<AutonomyState>, EngineError> {
        Ok(self.reader().autonomy()?)
    }

    /// Every class's autonomy, in the classes' order (supervised when it never changed).
    pub fn autonomy_of_every_class(&self) -> Result<Vec<AutonomyState>, StoreError> {
        let changed = self.reader().autonomy()?;
        Ok(TaskKind::ALL.iter().map(|&class| state_of(&changed, class)).collect())
    }

    /// The level of `class` now.
    pub fn autonomy_level(&self, class: TaskKind) -> AutonomyLevel {
        self.reader().autonomy().map(|states| state_of(&states, class).level).unwrap_or_default()
    }

    /// Reviews every class's autonomy against its metrics and records what that calls for.
    pub async fn review_autonomy(&self) -> Result<Vec<NewEvent>, EngineError> {
        let Ok(setup) = self.setup() else { return Ok(Vec::new()) };
        let rules = setup.policy.autonomy.clone();
        let states = self.autonomy()?;
        let events: Vec<NewEvent> = {
            let mut fold = super::lock(&self.metrics);
            fold.catch_up(&self.reader())?;
            let now = Timestamp::now();
            TaskKind::ALL.iter().filter_map(|&class| review(&fold, &state_of(&states, class), &rules, now)).collect()
        };
        self.append(events.clone()).await?;
        Ok(events)
    }
}

#[cfg(test)]
#[path = "autonomy_tests.rs"]
mod tests;
