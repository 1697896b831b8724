//! `ambidex`: the command-line entry point.
//!
//! Map of the crate (see `lib.rs` for the layering rules):
//! - `protocol`: ids, actors, `Command`s in, `Event`s and `Update`s out.
//! - `domain`: task projection, state machine, task-file format.
//! - `config`: layered TOML configuration with per-key sources.
//! - `store`: redb event log with a sha256 hash chain, projections, single batching writer.
//! - `orchestrator`: the engine that turns commands into events and broadcasts updates.
//! - `tools`: the tool broker; today, the sandbox probe.
//! - `tui`: the control room.
//! - `cli` (this binary): argument parsing and the subcommands' output.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
