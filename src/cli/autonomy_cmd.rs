//! `ambidex autonomy`: each task class's level (which gates it skips), the evidence over the
//! policy's window against the thresholds, and a proposal waiting for a person; `grant`,
//! `decline` and `tighten` are that person's answers.

use clap::Subcommand;
use jiff::Timestamp;

use ambidex::orchestrator::autonomy::{evidence, shortfalls, state_of};
use ambidex::orchestrator::metrics::MetricsFold;
use ambidex::protocol::{Actor, AutonomyEdit, AutonomyState, Command, EventKind, TaskKind};

use super::{Context, Outcome, Writer, block_on, table};

#[derive(Debug, Subcommand)]
pub enum AutonomyCmd {
    /// Review every class against its metrics now (a regression tightens it, passing thresholds
    /// make a proposal), then show each class's level and evidence
    Show {
        /// Print JSON instead of a table
        #[arg(long)]
        json: bool,
    },
    /// Grant the level proposed for a class
    Grant {
        /// The class
        class: TaskKind,
    },
    /// Decline the proposal for a class
    Decline {
        /// The class
        class: TaskKind,
        /// Why
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Put a class back under every gate policy requires
    Tighten {
        /// The class
        class: TaskKind,
        /// Why
        #[arg(long)]
        reason: String,
    },
}

pub fn run(command: Option<AutonomyCmd>, context: &Context) -> Result<Outcome, String> {
    let edit = match command.unwrap_or(AutonomyCmd::Show { json: false }) {
        AutonomyCmd::Show { json } => return show(context, json),
        AutonomyCmd::Grant { class } => AutonomyEdit::Grant { class },
        AutonomyCmd::Decline { class, reason } => AutonomyEdit::Decline { class, reason },
        AutonomyCmd::Tighten { class, reason } => AutonomyEdit::Tighten { class, reason },
    };
    let events: Vec<EventKind> = match context.writer()? {
        Writer::Local(engine) => {
            let events = engine
                .execute_blocking(Command::EditAutonomy { edit }, Actor::local_human())
                .map_err(|err| err.to_string());
            engine.shutdown();
            events?.into_iter().map(|event| event.kind.clone()).collect()
        }
        Writer::Remote(client) => vec![block_on(client.edit_autonomy(&edit))?.map_err(|err| err.to_string())?.kind],
    };
    for kind in events {
        if let EventKind::AutonomyChanged { state, .. } = kind {
            println!("{} is {} ({}): {}", state.class, state.level, state.level.describe(), state.reason);
        }
    }
    Ok(Outcome::Done)
}

/// Reviews the classes (when the store is free to write) and prints where each stands.
fn show(context: &Context, json: bool) -> Result<Outcome, String> {
    let setup = context.checks_setup()?;
    let rules = setup.policy.autonomy.clone();
    let mut reviewed = Vec::new();
    if let Ok(Writer::Local(engine)) = context.writer() {
        let result = block_on(engine.review_autonomy());
        engine.shutdown();
        reviewed = result?.map_err(|err| err.to_string())?;
    }
    let Some(reader) = context.reader()? else {
        println!("no tasks yet: every class is supervised");
        return Ok(Outcome::Done);
    };
    let states = reader.autonomy().map_err(|err| err.to_string())?;
    let mut fold = MetricsFold::default();
    fold.catch_up(&reader).map_err(|err| err.to_string())?;
    let now = Timestamp::now();
    let classes: Vec<(AutonomyState, Vec<String>)> = TaskKind::ALL
        .iter()
        .map(|&class| {
            let mut state = state_of(&states, class);
            state.evidence = evidence(&fold, class, &rules, now);
            let missing = shortfalls(&state.evidence, &rules);
            (state, missing)
        })
        .collect();
    if json {
        let shown: Vec<&AutonomyState> = classes.iter().map(|(s, _)| s).collect();
        println!("{}", serde_json::to_string_pretty(&shown).map_err(|err| err.to_string())?);
        return Ok(Outcome::Done);
    }
    for event in &reviewed {
        if let EventKind::AutonomyChanged { state, .. } = &event.kind {
            println!("now: {} {}", state.class, state.reason);
        }
    }
    let rows: Vec<Vec<String>> = classes
        .iter()
        .map(|(state, missing)| {
            let e = &state.evidence;
            vec![
                state.class.to_string(),
                state.level.to_string(),
                state.proposed.map_or_else(|| "-".into(), |p| format!("{p} (grant?)")),
                e.finished.to_string(),
                e.completion_rate.map_or_else(|| "-".into(), |r| format!("{:.0}%", r * 100.0)),
                e.escaped_defects.to_string(),
                e.send_backs_per_task.map_or_else(|| "-".into(), |r| format!("{r:.2}")),
                if missing.is_empty() { "thresholds met".into() } else { missing.join("; ") },
            ]
        })
        .collect();
    println!(
        "last {} days; thresholds: ≥{} tasks, ≥{:.0}% completed, ≤{} escaped defects, ≤{:.2} send-backs per task",
        rules.window_days,
        rules.min_tasks,
        rules.min_completion * 100.0,
        rules.max_escaped_defects,
        rules.max_send_backs_per_task
    );
    print!(
        "{}",
        table::render(&["CLASS", "LEVEL", "PROPOSED", "TASKS", "DONE", "ESCAPED", "SEND-BACKS", "NEEDS"], &rows)
    );
    for (state, _) in classes.iter().filter(|(s, _)| s.proposed.is_some() || !s.level.is_supervised()) {
        println!("{}: {}", state.class, state.reason);
    }
    Ok(Outcome::Done)
}
