//! `ambidex __sandbox landlock --rw DIR … --ro PATH … -- COMMAND …`: the helper the tool runner
//! starts to put a command under Landlock, seccomp and a supervisor that outlives it only to kill
//! what it left behind. It never returns on success: it exits with the command's status.

use std::path::PathBuf;
use std::process::ExitCode;

use ambidex::tools::landlock::Confinement;
use clap::{Args, ValueEnum};

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Level {
    /// Landlock file, network and scope rules, a seccomp filter, no_new_privs, no capabilities.
    Landlock,
}

#[derive(Debug, Args)]
pub struct SandboxArgs {
    /// The sandbox to apply.
    level: Level,
    /// A directory the command may write beneath (repeatable).
    #[arg(long = "rw", value_name = "DIR")]
    writable: Vec<PathBuf>,
    /// A path the command may read beneath (repeatable).
    #[arg(long = "ro", value_name = "PATH")]
    readable: Vec<PathBuf>,
    /// Most processes the command may add (for a user other than root).
    #[arg(long, default_value_t = 0)]
    max_processes: u64,
    /// Most address space per process, in bytes (0: no limit).
    #[arg(long, default_value_t = 0)]
    max_memory: u64,
    /// Leave IPv4/IPv6 connections open (a setup step's dependency fetch).
    #[arg(long)]
    network: bool,
    /// The command and its arguments.
    #[arg(last = true, required = true)]
    command: Vec<String>,
}

pub fn run(args: SandboxArgs) -> ExitCode {
    let reason = match args.level {
        Level::Landlock => {
            let mut readable = args.readable;
            readable.extend(args.writable.iter().cloned());
            let confinement = Confinement {
                readable,
                writable: args.writable,
                max_processes: args.max_processes,
                max_memory: args.max_memory,
                network: args.network,
            };
            ambidex::tools::supervisor::run(&confinement, &args.command)
        }
    };
    eprintln!("ambidex sandbox: {reason}");
    // 126 is what shells use for "found but could not run".
    ExitCode::from(126)
}
