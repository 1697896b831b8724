//! `ambidex gate`: list open gates, show one with its evidence, and decide them.

use clap::Subcommand;

use super::{Context, Outcome, Writer, block_on, gate_show, table};
use ambidex::protocol::{Actor, Command, Decision, GateId, matrix_summary};

#[derive(Debug, Subcommand)]
pub enum GateCmd {
    /// List the gates waiting for a decision
    List {
        /// Print JSON instead of a table
        #[arg(long)]
        json: bool,
    },
    /// Show a gate: its question, reason and options, and for a promotion gate the evidence
    /// matrix, the synthesis and any evidence flags
    Show {
        /// The gate (an id or any unique ending of it; decided gates too)
        id: String,
        /// Print JSON instead of text
        #[arg(long)]
        json: bool,
    },
    /// Approve a gate (an id or any unique ending of it)
    Approve {
        /// The gate
        id: String,
        /// A comment the agents will see
        #[arg(long)]
        note: Option<String>,
        /// Also approve further gates of this kind for the same task
        #[arg(long)]
        for_task: bool,
        /// For a promotion gate: the option to adopt (`gate list` shows them; default: the recommended one)
        #[arg(long, value_name = "OPTION")]
        choose: Option<String>,
    },
    /// Say no to a gate: send the work back with a note, or stop the task
    ///
    /// With --note, the work goes back to the stage that produced what the gate shows, with the
    /// note in its instructions: at a plan gate the planner plans again; at a PR, breaker or
    /// escalation gate the implementer reworks it, then tests, validation and review run again.
    /// With --stop, the task ends (failed, with the note as the reason) and runs again only after
    /// `ambidex task resume`.
    Reject {
        /// The gate
        id: String,
        /// What to change (required to send back; the agents and the audit log see it)
        #[arg(long)]
        note: Option<String>,
        /// Stop the task instead of sending the work back
        #[arg(long)]
        stop: bool,
    },
}

pub fn run(command: GateCmd, context: &Context) -> Result<Outcome, String> {
    let tasks = match context.reader()? {
        Some(reader) => reader.tasks().map_err(|err| err.to_string())?,
        None => Vec::new(),
    };
    let open: Vec<_> = tasks.iter().flat_map(|t| t.open_gates.iter().map(move |g| (t, g))).collect();
    let (reference, decision, note, choice) = match command {
        GateCmd::List { json } => {
            if json {
                let rows: Vec<_> = open
                    .iter()
                    .map(|(t, g)| {
                        let matrix = gate_show::matrix_of(t, g.evidence_hash).map(matrix_summary);
                        serde_json::json!({
                            "gate": g.id, "task": t.id, "kind": g.kind, "reason": g.reason, "options": g.options,
                            "matrix": matrix,
                        })
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&rows).map_err(|err| err.to_string())?);
            } else if open.is_empty() {
                println!("no open gates");
            } else {
                let rows: Vec<Vec<String>> = open
                    .iter()
                    .map(|(t, g)| {
                        let mut reason = if g.options.is_empty() {
                            g.reason.clone()
                        } else {
                            format!("{} [options: {}]", g.reason, g.options.join(", "))
                        };
                        if let Some(matrix) = gate_show::matrix_of(t, g.evidence_hash) {
                            reason.push_str(&format!(
                                " [evidence: {}; `gate show {}`]",
                                matrix_summary(matrix),
                                g.id.short()
                            ));
                        }
                        vec![g.id.short(), t.id.short(), g.kind.to_string(), reason]
                    })
                    .collect();
                print!("{}", table::render(&["GATE", "TASK", "KIND", "REASON"], &rows));
            }
            return Ok(Outcome::Done);
        }
        GateCmd::Show { id, json } => {
            let gate = gate_show::find(&tasks, &id)?;
            if json {
                let value = gate_show::to_json(&gate);
                println!("{}", serde_json::to_string_pretty(&value).map_err(|err| err.to_string())?);
            } else {
                print!("{}", gate_show::to_text(&gate));
            }
            return Ok(Outcome::Done);
        }
        GateCmd::Approve { id, note, for_task, choose } => {
            (id, if for_task { Decision::ApproveForTask } else { Decision::Approve }, note, choose)
        }
        GateCmd::Reject { id, note, stop: true } => (id, Decision::Stop, note, None),
        GateCmd::Reject { id, note: Some(note), stop: false } => (id, Decision::SendBack, Some(note), None),
        GateCmd::Reject { note: None, stop: false, .. } => {
            return Err("say what to change with --note TEXT to send the work back, or --stop to end the task".into());
        }
    };
    let matches: Vec<GateId> = open
        .iter()
        .map(|(_, g)| g.id)
        .filter(|id| reference.parse::<GateId>().is_ok_and(|full| full == *id) || id.matches_suffix(&reference))
        .collect();
    let gate = match matches.as_slice() {
        [gate] => *gate,
        [] => return Err(format!("no open gate matches `{reference}` (see `ambidex gate list`)")),
        _ => return Err(format!("`{reference}` matches {} gates; give more characters", matches.len())),
    };
    let task = open.iter().find(|(_, g)| g.id == gate).map(|(t, _)| t.id.short()).unwrap_or_default();
    match context.writer()? {
        Writer::Local(engine) => {
            engine
                .execute_blocking(Command::DecideGate { gate, decision, note, choice }, Actor::local_human())
                .map_err(|err| err.to_string())?;
            println!("gate {} {decision}; continue the task with `ambidex run --task {task}`", gate.short());
        }
        Writer::Remote(client) => {
            let reply = block_on(client.decide(gate, decision, note, choice))?.map_err(|err| err.to_string())?;
            println!(
                "gate {} {decision} through the running engine at {}; task {task} is {}",
                gate.short(),
                client.base_url(),
                reply.status
            );
        }
    }
    Ok(Outcome::Done)
}
