//! The validation stage: the engine runs the task's validation commands in the production
//! worktree (no model), records each result, and when they fail decides between another
//! implementation attempt, the repeated-edits breaker and an escalation. A command that failed
//! for a cause in the environment (see `tools::failure`) spends no attempt: the stage stays open
//! at an environment gate that names the cause and the fix, and approving runs it again.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use serde_json::json;

use super::{finished, scope, trip};
use crate::domain::Task;
use crate::eval;
use crate::orchestrator::EngineError;
use crate::orchestrator::artifacts::Output;
use crate::orchestrator::breakers;
use crate::orchestrator::flow::{Ending, Flow, GateRequest};
use crate::orchestrator::task_run::TaskRun;
use crate::playbooks::playbook::Stage;
use crate::protocol::{Actor, ArtifactKind, EventKind, GateKind, Role, StageKind, ValidationResult};
use crate::tools::failure::{FailureClass, classify};

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Runs the validation commands; a failure sends the task back to implementation until the
/// playbook's retries (plus one per approved escalation) are spent.
pub(super) async fn run(run: &mut TaskRun, stage: &Stage, task: &Task) -> Result<Flow, EngineError> {
    let commands = run.validation_commands(task);
    let attempt = task.completed(StageKind::Implement).max(1) as u32;
    if commands.is_empty() {
        let summary = "no validation command was given or discovered".to_owned();
        run.record(vec![finished(run, stage, true, summary)]).await?;
        return Ok(Flow::Next);
    }
    let broker = run.broker();
    let mut scope = scope(run, Role::Ci, task)?;
    let ci = scope.actor.clone();
    let host = run.host().clone();
    // The build must see every file the change and any copied-in tests added (a test file a crate
    // collects at compile time is no input cargo knows of): sources are marked changed first.
    let root = run.worktree().path.clone();
    tokio::task::spawn_blocking(move || eval::freshen(&root))
        .await
        .map_err(|err| EngineError::Refused(format!("background work stopped: {err}")))?;
    let mut failed = Vec::new();
    let mut environment: Vec<(String, FailureClass, String)> = Vec::new();
    for command in &commands {
        let started = Instant::now();
        let result = broker.call(&mut scope, host.as_ref(), "run", &json!({ "command": command })).await;
        if let Some(refused) = result.audit_error {
            // A validation run the audit trail does not hold never counts.
            return Err(EngineError::Refused(refused));
        }
        if host.parked()
            && let Some(gate) = run.task()?.open_gates.first()
        {
            return Ok(Flow::End(Ending::Parked { gate: gate.id, kind: gate.kind }));
        }
        // A command whose tests ran zero times validated nothing: it fails, saying so.
        let no_tests = if result.output.ok { eval::requested_not_run(command, &result.output.text) } else { None };
        let summary = match &no_tests {
            Some(why) => format!("FAILED: {why}\n{}", tail(&result.output.text, 28)),
            None => tail(&result.output.text, 30),
        };
        let outcome = ValidationResult {
            command: command.clone(),
            ok: result.output.ok && no_tests.is_none(),
            exit_code: result.exit_code,
            duration_ms: started.elapsed().as_millis() as u64,
            summary,
        };
        if !outcome.ok {
            failed.push(command.clone());
            let class =
                if no_tests.is_some() { FailureClass::Code } else { classify(result.exit_code, &result.output.text) };
            if class.is_environment() {
                environment.push((command.clone(), class, tail(&result.output.text, 6)));
            }
        }
        let mut events = vec![run.event(ci.clone(), EventKind::ValidationRan { attempt, result: outcome })];
        let log =
            Output::new(ArtifactKind::Log, format!("validation attempt {attempt}: {command}"), result.output.text);
        events.extend(run.engine().keep(task.id, vec![log]).await);
        run.record(events).await?;
    }
    if failed.is_empty() {
        let summary = format!("{} validation commands passed", commands.len());
        run.record(vec![finished(run, stage, true, summary)]).await?;
        return Ok(Flow::Next);
    }
    if !environment.is_empty() {
        // The stage stays open: no attempt is spent, no breaker counts it, exploration does not
        // start from it, and approving the gate runs this stage again.
        // Only a human who changed the environment can say running it again is worth it:
        // automatic approval would run the same commands into the same failure forever.
        let request = GateRequest::new(GateKind::Environment, environment_reason(&environment)).human_only(true);
        return Ok(Flow::Ask(request));
    }
    run.record(vec![finished(run, stage, false, format!("failed: {}", failed.join(", ")))]).await?;
    let task = run.task()?;
    if let Some(evidence) = repeated_edits(run, &task)? {
        return trip(run, "repeated_edits", evidence).await;
    }
    // Each escalation approved or sent back buys one more attempt.
    let extra = task.decided_gates.iter().filter(|g| g.kind == GateKind::Escalation && !g.decision.stops()).count();
    let limit = run.playbook().retries.implementation + extra as u32;
    if attempt >= limit {
        let reason = format!(
            "validation failed in {attempt} implementation attempts ({}); approve for one more attempt, send back \
             with a note to guide it, or stop the task",
            failed.join(", ")
        );
        return Ok(Flow::ask(GateKind::Escalation, reason));
    }
    Ok(Flow::Next)
}

/// What the environment gate says: each command, what failed, the fix, and the output's end.
fn environment_reason(failures: &[(String, FailureClass, String)]) -> String {
    let mut reason = String::from("validation failed for a cause in the environment, not the code");
    for (command, class, output) in failures {
        reason.push_str(&format!(
            "\n`{command}` ({class}): {}.\nFix: {}.\nIts output ended with:\n{output}",
            class.what(),
            class.fix()
        ));
    }
    reason.push_str(
        "\nApprove to run validation again once it is fixed, send back with a note if the change is at \
         fault after all, or stop the task.",
    );
    reason
}

/// The repeated-edits breaker, from the task's validation runs and the files each
/// implementation attempt changed.
fn repeated_edits(run: &TaskRun, task: &Task) -> Result<Option<String>, EngineError> {
    let events = run.engine().reader().task_events(task.id)?;
    let mut history = Vec::new();
    let mut files: BTreeMap<u32, BTreeSet<String>> = BTreeMap::new();
    let mut attempt = 0u32;
    for event in &events {
        match &event.kind {
            EventKind::StageStarted { stage, kind, .. }
                if StageKind::of_event(*kind, stage) == Some(StageKind::Implement) =>
            {
                attempt += 1
            }
            EventKind::ToolCalled(record) if matches!(&event.actor, Actor::Agent(a) if a.role == Role::Implementer) => {
                if let Some(path) = record.arguments.get("path").and_then(|p| p.as_str())
                    && matches!(record.tool.as_str(), "write_file" | "edit_file")
                    && record.ok
                {
                    files.entry(attempt).or_default().insert(path.to_owned());
                }
            }
            EventKind::ValidationRan { attempt, result } => history.push((*attempt, result.clone())),
            _ => {}
        }
    }
    Ok(breakers::repeated_edits(&history, &files))
}
