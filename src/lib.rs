//! Ambidex: a terminal control room for autonomous software development with ambidextrous agents.
//!
//! Layers, from the bottom up: each may use only the ones above it in this list, and only those
//! its row in `docs/architecture.md` names (`tests/layering.rs` checks every reference, and that
//! this list keeps the table's order).
//! - [`protocol`]: ids, actors, commands and events, the client surface: the language every part
//!   speaks. It depends on nothing else in the crate.
//! - [`domain`]: the task model, its state machine and the task-file format.
//! - [`redact`]: the secret redactor every text passes before it is stored, shown or sent.
//! - [`crash`]: crash points where the kill test makes the process die (debug builds only).
//! - [`artifacts`]: the object store for logs, patches, PR documents and evaluation outputs,
//!   addressed by content hash (a local directory, or an S3-compatible bucket).
//! - [`workspace`]: git worktrees per task and candidate, their diffs, commits and reconciliation;
//!   the only module that talks to git, but for the forge's push.
//! - [`config`]: layered configuration with the source of every key.
//! - [`llm`]: model providers (OpenAI-compatible, Anthropic, scripted) behind one streaming trait.
//! - [`store`]: the hash-chained event log and projections, in redb or PostgreSQL.
//! - [`context`]: repository context for agents: search, ranked symbol map, build/test/CI facts,
//!   and its tag cache.
//! - [`playbooks`]: the policy file (command rules, risk, routing, budgets, gates) and the playbooks
//!   of both hands.
//! - [`mcp`]: the Model Context Protocol client: the configured servers and their tools.
//! - [`tools`]: what agents may do (enforcing the policy), and the sandbox levels this machine
//!   offers.
//! - [`agents`]: the agent loop, the calls that end a stage, prompt rendering.
//! - [`eval`]: the evaluation layer: test commands instrumented and parsed, baselines compared,
//!   diffs split into hunks and combined, static analysis, complexity, candidate scoring.
//! - [`forge`]: PR delivery (local document, GitHub, GitLab), issue import, branch push, CI checks.
//! - [`hooks`]: the engineer's commands at lifecycle events and around tool calls.
//! - [`orchestrator`]: the engine clients talk to: commands in, updates out.
//! - [`api`]: the loopback HTTP API (tasks, gates, the event stream) and the client the CLI uses;
//!   it reaches the engine through `protocol::Queries` and a narrow `Engine` handle.
//! - [`tui`]: the control room; it only sends commands and receives updates.

pub mod agents;
pub mod api;
pub mod artifacts;
pub mod config;
pub mod context;
pub mod crash;
pub mod domain;
pub mod eval;
pub mod forge;
pub mod hooks;
pub mod llm;
pub mod mcp;
pub mod orchestrator;
pub mod playbooks;
pub mod protocol;
pub mod redact;
pub mod store;
pub mod tools;
pub mod tui;
pub mod workspace;
