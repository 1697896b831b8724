//! Gates: human decision points held by code. A gate is opened with its reason and evidence hash,
//! the task waits (or, in a headless run, parks and the run returns), and the decision is
//! persisted before anything moves on. Open gates survive a restart: a resumed task waits on the
//! gate it already has instead of opening another.
//!
//! Every gate offers approve, approve for the rest of the task, send back with a note, and stop.
//! What a decision does is written in the events that record it ([`Engine::decision_events`]),
//! so it is the same whether it came from the control room, the CLI or the API, and whether a
//! runner was waiting or the task was parked: a send-back returns the work to the stage kind that
//! produced what the gate shows ([`send_back_to`]), a stop fails the task. Automatic approval has
//! a ceiling from policy ([`auto_ceiling`]).

use std::sync::Arc;

use tokio::sync::oneshot;

use super::flow::GateRequest;
use super::{Engine, EngineError, lock};
use crate::domain::Task;
use crate::playbooks::GateRules;
use crate::protocol::{
    Actor, Decision, Digest, Event, EventKind, GateId, GateKind, NewEvent, Risk, StageKind, TaskId, TaskStatus,
};

/// How a gate ended for the runner that asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GateOutcome {
    /// Decided, with the human's note.
    Decided(Decision, Option<String>),
    /// Left open for a human; the run stops here and resumes later.
    Parked(GateId),
}

/// The event that opens a gate a human may approve, approve for the task, send back or stop.
fn opened(gate: GateId, kind: GateKind, reason: String, evidence: Option<Digest>, options: Vec<String>) -> EventKind {
    let allowed = Decision::OFFERED.to_vec();
    EventKind::GateOpened { gate, kind, reason, evidence_hash: evidence, allowed, options }
}

/// Where a send-back returns the work: the kind of stage that produced what each gate shows (for
/// budget, escalation and breaker gates opened inside a stage, that stage instead).
/// Gates missing here have no stage to return to: a sent-back command is refused to the agent
/// with the note, a sent-back promotion keeps production's change, and the note reaches every
/// later stage either way.
const SEND_BACK: &[(GateKind, StageKind)] = &[
    (GateKind::Plan, StageKind::Plan),
    (GateKind::Sensitive, StageKind::Plan),
    (GateKind::PullRequest, StageKind::Implement),
    (GateKind::Breaker, StageKind::Implement),
    (GateKind::Escalation, StageKind::Implement),
    (GateKind::Budget, StageKind::Implement),
    (GateKind::Environment, StageKind::Implement),
];

/// The kind of stage a send-back from a gate of `kind` returns the work to.
pub(crate) fn send_back_to(kind: GateKind) -> Option<StageKind> {
    SEND_BACK.iter().find(|(gate, _)| *gate == kind).map(|(_, stage)| *stage)
}

/// Why automatic approval may not decide a gate of `kind` on this task, if it may not: the
/// budgets would grow past `gates.auto_budget_multiple`, or the task already had
/// `gates.auto_escalations` escalations approved.
pub(crate) fn auto_ceiling(task: &Task, kind: GateKind, rules: &GateRules) -> Option<String> {
    let answered = |kind: GateKind| task.decided_gates.iter().filter(|g| g.kind == kind && !g.decision.stops()).count();
    match kind {
        GateKind::Budget => {
            let next = 1u64 << (answered(GateKind::Budget) + 1).min(16);
            (next > rules.auto_budget_multiple).then(|| {
                format!(
                    "approving would grow the budgets to {next}× the risk level's, past gates.auto_budget_multiple = {}",
                    rules.auto_budget_multiple
                )
            })
        }
        GateKind::Escalation => {
            let approved = answered(GateKind::Escalation);
            (approved >= rules.auto_escalations as usize).then(|| {
                format!(
                    "{approved} escalations were approved already, the most gates.auto_escalations = {} allows",
                    rules.auto_escalations
                )
            })
        }
        _ => None,
    }
}

impl Engine {
    /// Opens a gate of `kind` for `task` (or takes the one of that kind already open) and
    /// resolves it: automatically when this run's approval policy covers the task's risk, by
    /// waiting for a human, or by parking.
    pub(crate) async fn gate(
        &self,
        task: TaskId,
        request: GateRequest,
        evidence: Option<Digest>,
    ) -> Result<GateOutcome, EngineError> {
        self.choice_gate(task, request, evidence, Vec::new()).await
    }

    /// Like [`Engine::gate`], for a gate whose approval picks one of `options` (the first is the
    /// recommended one, taken when the human does not pick and when approval is automatic). The
    /// pick is in the task's decided gates.
    pub(crate) async fn choice_gate(
        &self,
        task: TaskId,
        request: GateRequest,
        evidence: Option<Digest>,
        options: Vec<String>,
    ) -> Result<GateOutcome, EngineError> {
        let GateRequest { kind, reason, human_only } = request;
        let setup = self.setup()?.clone();
        let current = self.task(task)?;
        if kind == GateKind::Command
            && let Some(earlier) =
                current.decided_gates.iter().find(|g| g.kind == kind && g.reason == reason && g.decision.approves())
        {
            return Ok(GateOutcome::Decided(earlier.decision, earlier.note.clone()));
        }
        // Automatic approval: this run's `--approve` covers the task's risk, or a human approved
        // this kind for the rest of the task; either way only up to policy's ceiling.
        let risk = current.risk().unwrap_or(Risk::Medium);
        let for_task = current.decided_gates.iter().any(|g| g.kind == kind && g.decision == Decision::ApproveForTask);
        let wanted = if human_only {
            None
        } else if setup.auto_approve.covers(risk) {
            Some(format!("approved automatically: this run was started with --approve {}", setup.auto_approve.as_str()))
        } else if for_task && kind != GateKind::Promotion {
            Some(format!("approved automatically: a human approved {kind} gates for the rest of this task"))
        } else {
            None
        };
        let ceiling = wanted.as_ref().and_then(|_| auto_ceiling(&current, kind, &setup.policy.gates));
        let automatic = if ceiling.is_none() { wanted } else { None };
        let reason = match ceiling {
            Some(why) => format!("{reason} — not approved automatically: {why}; only a human can decide this gate"),
            None => reason,
        };
        let gate = match current.open_gates.iter().find(|g| g.kind == kind) {
            Some(open) => open.id,
            None => {
                let gate = GateId::new();
                let opened = opened(gate, kind, reason.clone(), evidence, options);
                let mut events = vec![NewEvent::for_task(task, Actor::Orchestrator, opened)];
                if current.status == TaskStatus::Running {
                    events.push(NewEvent::for_task(
                        task,
                        Actor::Orchestrator,
                        EventKind::StatusChanged {
                            from: TaskStatus::Running,
                            to: TaskStatus::AwaitingGate,
                            reason: format!("waiting for a human: {kind} gate"),
                        },
                    ));
                }
                self.append(events).await?;
                gate
            }
        };
        if let Some(why) = automatic {
            let note = Some(why);
            let events =
                self.decision_events(gate, Decision::Approve, note.clone(), None, Actor::Orchestrator, true)?;
            self.append(events).await?;
            return Ok(GateOutcome::Decided(Decision::Approve, note));
        }
        if !setup.wait_at_gates {
            return Ok(GateOutcome::Parked(gate));
        }
        let (sender, receiver) = oneshot::channel();
        lock(&self.waiters).insert(gate, sender);
        // A decision that landed before the waiter was registered is in the log already.
        if let Some(decided) = self.task(task)?.decided_gates.iter().find(|g| g.id == gate) {
            lock(&self.waiters).remove(&gate);
            return Ok(GateOutcome::Decided(decided.decision, decided.note.clone()));
        }
        Ok(match receiver.await {
            Ok((decision, note)) => GateOutcome::Decided(decision, note),
            Err(_) => GateOutcome::Parked(gate),
        })
    }

    /// Opens a gate of `kind` and decides it at once for policy, picking `choice`; both are
    /// recorded like a human's, with `why` as the note.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn open_decided(
        &self,
        task: TaskId,
        kind: GateKind,
        reason: String,
        evidence: Option<Digest>,
        options: Vec<String>,
        choice: String,
        why: String,
    ) -> Result<(), EngineError> {
        let gate = GateId::new();
        let opened = opened(gate, kind, reason, evidence, options);
        self.append(vec![NewEvent::for_task(task, Actor::Orchestrator, opened)]).await?;
        let note = Some(format!("decided by policy: {why}"));
        let events = self.decision_events(gate, Decision::Approve, note, Some(choice), Actor::Orchestrator, true)?;
        self.append(events).await?;
        Ok(())
    }

    /// The events that decide `gate`: the decision, and the task's move out of waiting once no
    /// other gate holds it (back to running when a runner continues it here, else to the queue).
    pub(crate) fn decision_events(
        &self,
        gate: GateId,
        decision: Decision,
        note: Option<String>,
        choice: Option<String>,
        actor: Actor,
        continues_here: bool,
    ) -> Result<Vec<NewEvent>, EngineError> {
        // A gate waits on a task under way, nearly always: those (and the newest finished ones)
        // are read without the history; the whole history only when the gate is not among them.
        let holds = |tasks: &[Task]| tasks.iter().any(|t| t.open_gates.iter().any(|g| g.id == gate));
        let mut tasks = self.reader().current_tasks(super::queries::SNAPSHOT_FINISHED)?;
        if !holds(&tasks) {
            tasks = self.reader().tasks()?;
        }
        let (task, open) = tasks
            .iter()
            .find_map(|t| t.open_gates.iter().find(|g| g.id == gate).map(|g| (t, g)))
            .ok_or_else(|| EngineError::Refused(format!("no open gate {gate} (decided already, or never opened)")))?;
        if let Some(picked) = &choice
            && !open.options.contains(picked)
        {
            let options = if open.options.is_empty() { "none".to_owned() } else { open.options.join(", ") };
            return Err(EngineError::Refused(format!(
                "gate {} has no option `{picked}`; its options are: {options}",
                gate.short()
            )));
        }
        let note = note.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
        if decision == Decision::Reject {
            return Err(EngineError::Refused(
                "a gate is no longer rejected: send the work back with a note saying what to change (send_back), \
                 or stop the task (stop)"
                    .into(),
            ));
        }
        // Budgets, turns and repeated calls run out inside whatever stage was running: that stage
        // does its work again. Otherwise the table says which stage produced what the gate shows.
        let running = task.stage.as_ref().and_then(|stage| stage.kind);
        let back_to = match open.kind {
            GateKind::Budget | GateKind::Escalation | GateKind::Breaker => running.or(send_back_to(open.kind)),
            kind => send_back_to(kind),
        };
        if decision == Decision::SendBack && note.is_none() {
            let to = back_to.map(|to| format!(" (the {to} stage does it again with it)")).unwrap_or_default();
            return Err(EngineError::Refused(format!("sending back needs a note saying what to change{to}")));
        }
        let orchestrator = |kind| NewEvent::for_task(task.id, Actor::Orchestrator, kind);
        let decided = EventKind::GateDecided { gate, decision, note: note.clone(), choice };
        let mut events = vec![NewEvent::for_task(task.id, actor, decided)];
        if decision == Decision::Stop {
            let said = note.map(|n| format!(": {n}")).unwrap_or_default();
            // An environment gate's cause (its second line: the command, the kind of failure and
            // what it means) goes into the reason, so the failed task says what to fix.
            let cause = match open.kind {
                GateKind::Environment => open.reason.lines().nth(1).map(|c| format!(" ({c})")).unwrap_or_default(),
                _ => String::new(),
            };
            let reason = format!("stopped by the engineer at the {} gate{cause}{said}", open.kind);
            // The task's other open gates close with it.
            for other in task.open_gates.iter().filter(|other| other.id != gate) {
                let closed = EventKind::GateDecided { gate: other.id, decision, note: None, choice: None };
                events.push(orchestrator(closed));
            }
            events.push(orchestrator(EventKind::StatusChanged { from: task.status, to: TaskStatus::Failed, reason }));
            return Ok(events);
        }
        if decision == Decision::SendBack
            && let Some(note) = &note
        {
            // Said before on another task of the repository: proposed as one of its conventions.
            let memory = self.reader().memory()?;
            events.extend(super::memory::repeated_note_proposal(&memory, &tasks, task, note));
            // A change sent back at the PR gate is a failure worth keeping.
            if open.kind == GateKind::PullRequest {
                events.extend(super::museum::sent_back_proposal(&self.reader().museum()?, task, gate, note));
            }
        }
        if decision == Decision::SendBack
            && let (Some(to), Some(note)) = (back_to, note)
        {
            events.push(orchestrator(EventKind::SentBack { gate, gate_kind: open.kind, to, note }));
        }
        if task.status == TaskStatus::AwaitingGate && task.open_gates.len() == 1 {
            let waiting = continues_here || lock(&self.waiters).contains_key(&gate);
            let to = if waiting { TaskStatus::Running } else { TaskStatus::Queued };
            events.push(NewEvent::for_task(
                task.id,
                Actor::Orchestrator,
                EventKind::StatusChanged {
                    from: TaskStatus::AwaitingGate,
                    to,
                    reason: format!("gate {} decided: {decision}", gate.short()),
                },
            ));
        }
        Ok(events)
    }

    /// Decides a gate for a client, then wakes the runner waiting on it.
    pub(crate) async fn decide_gate(
        &self,
        gate: GateId,
        decision: Decision,
        note: Option<String>,
        choice: Option<String>,
        actor: Actor,
    ) -> Result<Vec<Arc<Event>>, EngineError> {
        let events = self.decision_events(gate, decision, note.clone(), choice, actor, false)?;
        let appended = self.append(events).await?;
        if let Some(waiter) = lock(&self.waiters).remove(&gate) {
            // The runner may have stopped meanwhile; the decision is durable either way.
            let _ = waiter.send((decision, note));
        }
        Ok(appended)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::DecidedGate;

    fn answered(kind: GateKind, decision: Decision) -> DecidedGate {
        DecidedGate {
            id: GateId::new(),
            kind,
            reason: String::new(),
            decision,
            note: None,
            choice: None,
            evidence_hash: None,
            superseded: false,
        }
    }

    #[test]
    fn automatic_approval_stops_at_the_budget_multiple_and_the_escalation_count() {
        let rules = crate::playbooks::Policy::built_in().unwrap().gates;
        assert_eq!((rules.auto_budget_multiple, rules.auto_escalations), (4, 2));
        let mut task = crate::domain::task::fresh(crate::protocol::TaskSpec::titled("Never submits"));
        // 1× → 2× → 4× may be approved automatically; 8× may not.
        for approved in 0..2 {
            assert_eq!(auto_ceiling(&task, GateKind::Budget, &rules), None, "after {approved} doublings");
            task.decided_gates.push(answered(GateKind::Budget, Decision::Approve));
        }
        let why = auto_ceiling(&task, GateKind::Budget, &rules).unwrap();
        assert!(why.contains("8×") && why.contains("gates.auto_budget_multiple = 4"), "{why}");
        // A send-back counts like an approval; a stop does not.
        task.decided_gates.push(answered(GateKind::Escalation, Decision::SendBack));
        task.decided_gates.push(answered(GateKind::Escalation, Decision::Stop));
        assert_eq!(auto_ceiling(&task, GateKind::Escalation, &rules), None);
        task.decided_gates.push(answered(GateKind::Escalation, Decision::Approve));
        assert!(auto_ceiling(&task, GateKind::Escalation, &rules).is_some());
        assert_eq!(auto_ceiling(&task, GateKind::Plan, &rules), None, "other gates have no ceiling");
    }

    #[test]
    fn work_goes_back_to_the_stage_that_produced_what_the_gate_shows() {
        assert_eq!(send_back_to(GateKind::Plan), Some(StageKind::Plan));
        assert_eq!(send_back_to(GateKind::PullRequest), Some(StageKind::Implement));
        assert_eq!(send_back_to(GateKind::Command), None, "a command is refused to the agent instead");
        assert_eq!(send_back_to(GateKind::Promotion), None, "production keeps its change instead");
    }
}
