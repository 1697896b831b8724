//! `ambidex`: the command-line entry point.
//!
//! Map of the crate (see `lib.rs` for the layering rules):
//! - `protocol`: ids, actors, `Command`s in, `Event`s and `Update`s out; the work products.
//! - `domain`: task projection, state machine, task-file format.
//! - `config`: layered TOML configuration with per-key sources.
//! - `redact`: the secret redactor every stored, shown or sent text passes.
//! - `store`: redb event log with a sha256 hash chain, projections, single batching writer.
//! - `llm`: OpenAI-compatible, Anthropic and scripted model clients behind one streaming trait.
//! - `context`: repository search, ranked symbol map, build/test/CI discovery, conventions, history,
//!   and its tag cache.
//! - `workspace`: git worktrees per task and candidate, diffs, commits, reconciliation.
//! - `tools`: the tool broker: confinement, file tools, command policy, sandboxed runner, budgets.
//! - `playbooks`: the policy file and the playbooks the tracks follow.
//! - `agents`: the agent loop, submissions, prompts.
//! - `eval`: test-result parsers, baseline comparison, hunks and their combination, static
//!   analysis, complexity, scoring of the evidence matrix.
//! - `forge`: GitHub and GitLab: issue import, branch push, draft PRs, issue comments.
//! - `orchestrator`: the engine: intake, triage, gates, the production track, the Left Hand
//!   (exploration, evidence, promotion), breakers, resume, the live scheduler.
//! - `api`: the loopback HTTP API (tasks, gates, event stream), its token and `api.json`, the client.
//! - `tui`: the control room.
//! - `cli` (this binary): argument parsing and the subcommands' output; `ambidex serve`;
//!   `ambidex demo`; changes go through a running engine's API when another process holds the store.

mod cli;

fn main() -> std::process::ExitCode {
    // SAFETY: first thing in the process: no tree-sitter object exists yet, and no other thread.
    unsafe { ambidex::context::install_parser_allocator() };
    quiet_on_closed_stdout();
    cli::main()
}

/// Ends the process quietly, with the status a shell gives a command killed by SIGPIPE (141), when
/// stdout is a pipe whose reader has gone (`ambidex task list | head`): printing to it would
/// otherwise panic. SIGPIPE itself stays ignored, so the API's and the model clients' sockets
/// still see a closed peer as an error rather than a signal that kills the process.
fn quiet_on_closed_stdout() {
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = payload.downcast_ref::<String>().map(String::as_str).or(payload.downcast_ref::<&str>().copied());
        if message.is_some_and(|m| m.starts_with("failed printing to stdout") && m.contains("(os error 32)")) {
            std::process::exit(141);
        }
        report(info);
    }));
}
