//! Ambidex: a terminal control room for autonomous software development with ambidextrous agents.
//!
//! Layers, from the bottom up (each may use only the ones above it in this list):
//! - [`protocol`]: ids, actors, commands and events: the language every part speaks.
//! - [`domain`]: the task model, its state machine and the task-file format.
//! - [`config`]: layered configuration with the source of every key.
//! - [`llm`]: model providers (OpenAI-compatible, Anthropic, scripted) behind one streaming trait.
//! - [`playbooks`]: the policy file (command rules, risk, routing, budgets, gates) and the playbooks
//!   of both hands.
//! - [`redact`]: the secret redactor every text passes before it is stored, shown or sent.
//! - [`store`]: the only code that touches redb: the hash-chained event log and projections.
//! - [`context`]: repository context for agents: search, ranked symbol map, build/test/CI facts.
//! - [`orchestrator`]: the engine clients talk to: commands in, updates out.
//! - [`workspace`]: git worktrees per task and candidate, their diffs, commits and reconciliation.
//! - [`forge`]: PR delivery (local document, GitHub, GitLab), issue import, branch push.
//! - [`agents`]: the agent loop, the calls that end a stage, prompt rendering.
//! - [`tools`]: what agents may do, and the sandbox levels this machine offers.
//! - [`eval`]: the evaluation layer: test commands instrumented and parsed, baselines compared,
//!   diffs split into hunks and combined, static analysis, complexity, candidate scoring.
//! - [`api`]: the loopback HTTP API (tasks, gates, the event stream) and the client the CLI uses.
//! - [`tui`]: the control room; it only sends commands and receives updates.

pub mod agents;
pub mod api;
pub mod config;
pub mod context;
pub mod domain;
pub mod eval;
pub mod forge;
pub mod llm;
pub mod orchestrator;
pub mod playbooks;
pub mod protocol;
pub mod redact;
pub mod store;
pub mod tools;
pub mod tui;
pub mod workspace;
