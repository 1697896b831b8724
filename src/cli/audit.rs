//! `ambidex audit`: verify the hash chain and read the audit log.

use clap::Subcommand;

use super::{Context, Outcome};
use ambidex::protocol::{Event, EventKind};
use ambidex::store::Verification;

#[derive(Debug, Subcommand)]
pub enum AuditCmd {
    /// Walk the hash-chained event log; prints `ok: N events` or the first broken sequence number
    Verify {
        /// Print JSON instead of text
        #[arg(long)]
        json: bool,
    },
    /// Print the audit log: every event, with tool calls in full (identity, call, directory,
    /// exit status, sandbox, policy decision, redacted output)
    Log {
        /// Only this task's events (an id or any unique ending of it)
        #[arg(long)]
        task: Option<String>,
        /// Only tool calls
        #[arg(long)]
        tools: bool,
        /// Show the last N events of the whole log (ignored with --task)
        #[arg(long, default_value_t = 200)]
        limit: u64,
        /// Show the whole log
        #[arg(long, conflicts_with = "limit")]
        all: bool,
        /// Print one JSON event per line
        #[arg(long)]
        json: bool,
    },
}

fn log(context: &Context, task: Option<&str>, tools_only: bool, limit: u64, json: bool) -> Result<Outcome, String> {
    let Some(reader) = context.reader()? else {
        println!("the audit log is empty: no store yet");
        return Ok(Outcome::Done);
    };
    let mut note = None;
    let events = match task {
        Some(reference) => {
            let task = reader.find_task(reference).map_err(|err| err.to_string())?;
            reader.task_events(task.id).map_err(|err| err.to_string())?
        }
        None => {
            let head = reader.head().map_err(|err| err.to_string())?.seq;
            if head > limit {
                note = Some(format!("showing the last {limit} of {head} events; --limit N or --all for more"));
            }
            let limit = usize::try_from(limit).unwrap_or(usize::MAX);
            reader.events_after(head.saturating_sub(limit as u64), limit).map_err(|err| err.to_string())?
        }
    };
    let shown = events.iter().filter(|e| !tools_only || matches!(e.kind, EventKind::ToolCalled(_)));
    for event in shown {
        if json {
            println!("{}", serde_json::to_string(event).map_err(|err| err.to_string())?);
        } else {
            print_event(event);
        }
    }
    if let Some(note) = note {
        // With --json, stdout stays one event per line.
        if json { eprintln!("{note}") } else { println!("{note}") }
    }
    Ok(Outcome::Done)
}

fn print_event(event: &Event) {
    let task = event.task.map(|t| t.short()).unwrap_or_else(|| "-".into());
    println!(
        "#{:<7} {}  {:<8} {:<24} {}",
        event.seq,
        event.at.strftime("%Y-%m-%d %H:%M:%S"),
        task,
        event.actor.to_string(),
        event.kind.summary()
    );
    if let EventKind::ToolCalled(record) = &event.kind {
        println!("          arguments {}", record.arguments);
        println!(
            "          in {}{}",
            record.workdir,
            record.workspace.as_deref().map(|b| format!(" ({b})")).unwrap_or_default()
        );
        let millis = record.finished_at.duration_since(record.started_at).as_millis();
        let sandbox = record.sandbox.as_deref().map(|s| format!(", sandbox {s}")).unwrap_or_default();
        println!("          {} in {millis} ms{sandbox}", if record.ok { "ok" } else { "failed" });
        if let Some(policy) = &record.policy {
            let decision = policy.decision.map(|d| format!(", human: {d}")).unwrap_or_default();
            println!("          policy {}{decision}: {}", policy.verdict, policy.reasons.join("; "));
        }
        for line in record.output.lines().take(6) {
            println!("          │ {line}");
        }
    }
}

pub fn run(command: AuditCmd, context: &Context) -> Result<Outcome, String> {
    match command {
        AuditCmd::Log { task, tools, limit, all, json } => {
            log(context, task.as_deref(), tools, if all { u64::MAX } else { limit }, json)
        }
        AuditCmd::Verify { json } => {
            let reader_path = context.store_path();
            let verification = match context.reader()? {
                Some(reader) => reader.verify().map_err(|err| err.to_string())?,
                None => Verification::Ok { events: 0, head: Default::default() },
            };
            if json {
                let text = serde_json::to_string_pretty(&verification).map_err(|err| err.to_string())?;
                println!("{text}");
            } else {
                match &verification {
                    Verification::Ok { events, head } => {
                        println!("ok: {events} events (head {head})")
                    }
                    Verification::Broken { seq, reason, verified } => println!(
                        "broken at event #{seq}: {reason}\n{verified} events before it verify; \
                         everything from #{seq} on cannot be trusted\nthe store {} is damaged; \
                         `ambidex store salvage OUT.jsonl` exports every event up to the damage",
                        reader_path.display()
                    ),
                }
            }
            Ok(match verification {
                Verification::Ok { .. } => Outcome::Done,
                Verification::Broken { .. } => Outcome::Exit(1),
            })
        }
    }
}
