//! Ambidex: a terminal control room for autonomous software development with ambidextrous agents.
//!
//! Layers, from the bottom up (each may use only the ones above it in this list):
//! - [`protocol`]: ids, actors, commands and events: the language every part speaks.
//! - [`domain`]: the task model, its state machine and the task-file format.
//! - [`config`]: layered configuration with the source of every key.
//! - [`store`]: the only code that touches redb: the hash-chained event log and projections.
//! - [`orchestrator`]: the engine clients talk to: commands in, updates out.
//! - [`tools`]: what agents may do, and the sandbox levels this machine offers.
//! - [`tui`]: the control room; it only sends commands and receives updates.

pub mod config;
pub mod domain;
pub mod orchestrator;
pub mod protocol;
pub mod store;
pub mod tools;
pub mod tui;
