//! The command policy the broker enforces, under the name the broker's users know it by.
//!
//! The rules and the judging of a command line are part of the policy file, so they live in
//! [`crate::playbooks::commands`]; `tools` depends on `playbooks`, never the other way round.

pub use crate::playbooks::commands::{CommandPolicy, CommandRule, Judgement, Verdict};
