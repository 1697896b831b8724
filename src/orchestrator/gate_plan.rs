//! Which gates policy requires and where they stand, by stage kind and risk. The driver asks
//! here before each stage and before the PR; a playbook names and orders stages but has no say in
//! their gates, so no playbook edit can remove a gate that policy or the task requires.

use std::collections::BTreeSet;

use super::flow::GateRequest;
use crate::domain::Task;
use crate::playbooks::Policy;
use crate::protocol::{GateKind, GatePlan, Risk, StageKind};

/// The gates the task must pass: those triage planned, and those today's policy requires for
/// its risk (a policy made stricter since triage applies; a laxer one removes nothing).
pub(crate) fn required(task: &Task, policy: &Policy) -> BTreeSet<GatePlan> {
    let mut gates: BTreeSet<GatePlan> = task.triage.iter().flat_map(|t| t.gates.iter().cloned()).collect();
    if task.risk().unwrap_or(Risk::Medium) >= policy.gates.plan_at_or_above {
        gates.insert(GatePlan::Plan);
    }
    if policy.gates.pr {
        gates.insert(GatePlan::PullRequest);
    }
    gates
}

/// Whether a human (or the run's approval policy) approved a gate of `kind` on this task.
pub(crate) fn approved(task: &Task, kind: GateKind) -> bool {
    approved_count(task, kind) > 0
}

/// How many gates of `kind` were approved on this task.
pub(crate) fn approved_count(task: &Task, kind: GateKind) -> usize {
    task.decided_gates.iter().filter(|g| g.kind == kind && g.decision.approves() && !g.superseded).count()
}

/// The gate that must be decided before a stage of `kind` starts, if any. The plan gate (which
/// also carries the sensitive areas the task touches) stands before the first stage that changes
/// files, whatever the playbook calls it or where it puts it.
pub(crate) fn before_stage(task: &Task, policy: &Policy, kind: StageKind) -> Option<GateRequest> {
    if !kind.changes_files() || approved(task, GateKind::Plan) {
        return None;
    }
    let required = required(task, policy);
    let areas: Vec<&str> = required
        .iter()
        .filter_map(|gate| match gate {
            GatePlan::Sensitive { area } => Some(area.as_str()),
            _ => None,
        })
        .collect();
    if !required.contains(&GatePlan::Plan) && areas.is_empty() {
        return None;
    }
    let risk = task.risk().unwrap_or(Risk::Medium);
    let plan = task.plan.as_ref().map(|p| p.summary.as_str()).unwrap_or("(no plan was submitted)");
    let touches = if areas.is_empty() { String::new() } else { format!("; it touches {}", areas.join(", ")) };
    Some(GateRequest::new(
        GateKind::Plan,
        format!(
            "risk is {risk}{touches}: approve the plan before any file changes (send back with a note to have the \
             planner plan again). {plan}"
        ),
    ))
}

/// Whether the PR gate still stands before the PR is created.
pub(crate) fn pr_gate_due(task: &Task, policy: &Policy) -> bool {
    required(task, policy).contains(&GatePlan::PullRequest) && !approved(task, GateKind::PullRequest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{TaskSpec, Triage};

    fn task(risk: Risk, gates: Vec<GatePlan>) -> Task {
        let mut task = crate::domain::task::fresh(TaskSpec::titled("Harden the session tokens"));
        task.triage = Some(Triage {
            kind: crate::protocol::TaskKind::Feature,
            risk,
            novelty: 0,
            route: crate::protocol::Route::RightOnly,
            reasons: Vec::new(),
            budgets: None,
            gates,
            areas: Vec::new(),
            policy_version: String::new(),
        });
        task
    }

    #[test]
    fn the_plan_gate_stands_before_any_stage_that_changes_files_and_only_there() {
        let policy = Policy::built_in().unwrap();
        let high = task(Risk::High, Vec::new());
        for kind in StageKind::ALL {
            assert_eq!(before_stage(&high, &policy, kind).is_some(), kind.changes_files(), "{kind}");
        }
        let low = task(Risk::Low, Vec::new());
        assert_eq!(before_stage(&low, &policy, StageKind::Implement), None);
        let requested = task(Risk::Low, vec![GatePlan::Plan]);
        assert!(before_stage(&requested, &policy, StageKind::Implement).is_some(), "a requested gate holds");
        let sensitive = task(Risk::Low, vec![GatePlan::Sensitive { area: "auth".into() }]);
        let gate = before_stage(&sensitive, &policy, StageKind::Test).unwrap();
        assert!(gate.reason.contains("touches auth"), "{}", gate.reason);
    }
}
