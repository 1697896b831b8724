//! `ambidex __sandbox landlock --rw DIR … -- COMMAND …`: the helper the tool runner starts to put a
//! command under Landlock. It never returns on success: it becomes the command.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Level {
    /// Landlock filesystem and TCP rules with no_new_privs.
    Landlock,
}

#[derive(Debug, Args)]
pub struct SandboxArgs {
    /// The sandbox to apply.
    level: Level,
    /// A directory the command may write beneath (repeatable).
    #[arg(long = "rw", value_name = "DIR")]
    writable: Vec<PathBuf>,
    /// The command and its arguments.
    #[arg(last = true, required = true)]
    command: Vec<String>,
}

pub fn run(args: SandboxArgs) -> ExitCode {
    let reason = match args.level {
        Level::Landlock => ambidex::tools::landlock::exec_restricted(&args.writable, &args.command),
    };
    eprintln!("ambidex sandbox: {reason}");
    // 126 is what shells use for "found but could not run".
    ExitCode::from(126)
}
