//! `ambidex gate show ID`: everything a human needs to decide a gate without the control room —
//! the question, the reason, the options, and for a promotion gate the full evidence matrix (the
//! control room's columns, from `protocol::matrix_cells`), the synthesis with its evidence flags,
//! and each candidate's diff size. `--json` gives the same.

use serde_json::{Value, json};

use super::table;
use ambidex::domain::Task;
use ambidex::protocol::{Decision, Digest, EvidenceMatrix, GateId, GateKind, MATRIX_HEADERS, matrix_cells};

/// A gate as `gate show` finds it: open, or decided (the latest decision).
pub struct ShownGate<'t> {
    pub task: &'t Task,
    pub id: GateId,
    pub kind: GateKind,
    pub reason: String,
    pub options: Vec<String>,
    pub evidence_hash: Option<Digest>,
    pub decided: Option<(Decision, Option<String>)>,
}

/// Every gate of `tasks` whose id is `reference` or ends with it, open ones first.
pub fn find<'t>(tasks: &'t [Task], reference: &str) -> Result<ShownGate<'t>, String> {
    let matches =
        |id: &GateId| reference.parse::<GateId>().is_ok_and(|full| full == *id) || id.matches_suffix(reference);
    let mut found: Vec<ShownGate<'t>> = Vec::new();
    for task in tasks {
        for gate in task.open_gates.iter().filter(|g| matches(&g.id)) {
            found.push(ShownGate {
                task,
                id: gate.id,
                kind: gate.kind,
                reason: gate.reason.clone(),
                options: gate.options.clone(),
                evidence_hash: gate.evidence_hash,
                decided: None,
            });
        }
        let open = |id: &GateId| task.open_gates.iter().any(|g| g.id == *id);
        for gate in task.decided_gates.iter().filter(|g| matches(&g.id) && !open(&g.id)) {
            found.push(ShownGate {
                task,
                id: gate.id,
                kind: gate.kind,
                reason: gate.reason.clone(),
                options: Vec::new(),
                evidence_hash: gate.evidence_hash,
                decided: Some((gate.decision, gate.choice.clone())),
            });
        }
    }
    // A gate decided more than once (a send-back, then a new decision) shows its latest.
    found.reverse();
    let mut seen = std::collections::HashSet::new();
    found.retain(|gate| seen.insert(gate.id));
    let count = found.len();
    match count {
        1 => Ok(found.remove(0)),
        0 => Err(format!("no gate matches `{reference}` (see `ambidex gate list`)")),
        _ => Err(format!("`{reference}` matches {count} gates; give more characters")),
    }
}

/// The matrix a gate was opened on, when it has one.
pub fn matrix_of(task: &Task, hash: Option<Digest>) -> Option<&EvidenceMatrix> {
    let recorded = task.exploration.as_ref()?.matrix.as_ref()?;
    (hash.is_none() || hash == Some(recorded.hash)).then_some(&recorded.matrix)
}

/// The gate as JSON.
pub fn to_json(gate: &ShownGate<'_>) -> Value {
    let exploration = gate.task.exploration.as_ref().filter(|_| gate.kind == GateKind::Promotion);
    let matrix = matrix_of(gate.task, gate.evidence_hash);
    json!({
        "gate": gate.id,
        "task": gate.task.id,
        "title": gate.task.spec.title,
        "kind": gate.kind,
        "question": question(gate.kind),
        "reason": gate.reason,
        "options": gate.options,
        "decided": gate.decided.as_ref().map(|(decision, choice)| json!({ "decision": decision, "choice": choice })),
        "evidence_hash": gate.evidence_hash,
        "matrix": matrix.map(|m| json!({
            "columns": MATRIX_HEADERS,
            "rows": m.rows.iter().map(|row| matrix_cells(row).to_vec()).collect::<Vec<_>>(),
            "full": m,
        })),
        "synthesis": exploration.and_then(|e| e.synthesis.as_ref()),
        "flags": exploration.and_then(|e| e.synthesis.as_ref()).map(|s| s.flags.clone()).unwrap_or_default(),
    })
}

/// What a gate of `kind` asks.
fn question(kind: GateKind) -> &'static str {
    match kind {
        GateKind::Plan => "Go ahead with this plan?",
        GateKind::PullRequest => "Create this draft PR?",
        GateKind::Command => "Let the agent run this command?",
        GateKind::Promotion => "Which change goes to production?",
        _ => "Go on?",
    }
}

/// The gate as text.
pub fn to_text(gate: &ShownGate<'_>) -> String {
    let mut out = format!(
        "gate {} ({}) of task {}: {}\n{}\n\n{}\n",
        gate.id.short(),
        gate.kind,
        gate.task.id.short(),
        gate.task.spec.title,
        question(gate.kind),
        gate.reason
    );
    match &gate.decided {
        Some((decision, choice)) => {
            let chose = choice.as_deref().map_or_else(String::new, |c| format!(", chose `{c}`"));
            out.push_str(&format!("\ndecided: {decision}{chose}\n"));
        }
        None => {
            out.push_str("\noptions:\n");
            if gate.options.is_empty() {
                out.push_str(&format!("  approve   ambidex gate approve {}\n", gate.id.short()));
            }
            for (i, option) in gate.options.iter().enumerate() {
                let recommended = if i == 0 { "  (recommended)" } else { "" };
                out.push_str(&format!(
                    "  {}. {option}{recommended}   ambidex gate approve {} --choose \"{option}\"\n",
                    i + 1,
                    gate.id.short()
                ));
            }
            out.push_str(&format!("  send back  ambidex gate reject {} --note \"…\"\n", gate.id.short()));
            out.push_str(&format!("  stop       ambidex gate reject {} --stop\n", gate.id.short()));
        }
    }
    if let Some(matrix) = matrix_of(gate.task, gate.evidence_hash) {
        let hash = gate.evidence_hash.map(|h| h.to_string()).unwrap_or_default();
        out.push_str(&format!("\nevidence matrix {} (base {}):\n", &hash[..hash.len().min(12)], short(&matrix.base)));
        out.push_str(&matrix_table(matrix));
    }
    if let Some(synthesis) = gate.task.exploration.as_ref().and_then(|e| e.synthesis.as_ref())
        && gate.kind == GateKind::Promotion
    {
        out.push_str(&format!("\nsynthesis recommends `{}`:\n", synthesis.recommendation.label()));
        for reason in &synthesis.reasons {
            out.push_str(&format!("  - {} [{}]\n", reason.text, reason.rows.join(", ")));
        }
        for flag in &synthesis.flags {
            out.push_str(&format!("  ⚠ {flag}\n"));
        }
    }
    out
}

/// The matrix as a table (the control room's columns), then the test names behind its cells.
pub fn matrix_table(matrix: &EvidenceMatrix) -> String {
    let rows: Vec<Vec<String>> = matrix.rows.iter().map(|row| matrix_cells(row).to_vec()).collect();
    let mut out = table::render(&MATRIX_HEADERS, &rows);
    if !matrix.weak_acceptance.is_empty() {
        out.push_str(&format!("weak acceptance tests (pass on the base): {}\n", matrix.weak_acceptance.join(", ")));
    }
    for row in &matrix.rows {
        let lists = [
            ("fixed", &row.fixed),
            ("broken", &row.broken),
            ("missing (deleted or skipped)", &row.missing),
            ("acceptance failed", &row.acceptance_failed),
        ];
        for (what, names) in lists.iter().filter(|(_, names)| !names.is_empty()) {
            out.push_str(&format!("  {} {what}: {}\n", row.candidate, names.join(", ")));
        }
    }
    out
}

fn short(commit: &str) -> &str {
    &commit[..commit.len().min(12)]
}
