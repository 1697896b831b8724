//! `ambidex audit`: verify the hash chain.

use clap::Subcommand;

use super::{Context, Outcome};
use ambidex::store::Verification;

#[derive(Debug, Subcommand)]
pub enum AuditCmd {
    /// Walk the hash-chained event log; prints `ok: N events` or the first broken sequence number
    Verify {
        /// Print JSON instead of text
        #[arg(long)]
        json: bool,
    },
}

pub fn run(command: AuditCmd, context: &Context) -> Result<Outcome, String> {
    match command {
        AuditCmd::Verify { json } => {
            let verification = match context.reader()? {
                Some(reader) => reader.verify().map_err(|err| err.to_string())?,
                None => Verification::Ok {
                    events: 0,
                    head: Default::default(),
                },
            };
            if json {
                let text =
                    serde_json::to_string_pretty(&verification).map_err(|err| err.to_string())?;
                println!("{text}");
            } else {
                match &verification {
                    Verification::Ok { events, head } => {
                        println!("ok: {events} events (head {head})")
                    }
                    Verification::Broken {
                        seq,
                        reason,
                        verified,
                    } => println!(
                        "broken at event #{seq}: {reason}\n{verified} events before it verify; \
                         everything from #{seq} on cannot be trusted"
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
