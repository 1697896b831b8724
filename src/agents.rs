//! Agents: the loop that turns a model into a worker, other coding agents as workers over the
//! Agent Client Protocol, the calls that end a stage, and prompt rendering. The roles' prompts and tool sets come from playbooks.

pub mod acp;
pub mod agent_loop;
pub mod context_window;
pub mod prompt;
pub mod submit;

pub use agent_loop::{AUDIT_FAILED, AgentHost, AgentOutcome, AgentSpec, REPEAT_LIMIT, audit_failure, run_agent};
pub use submit::{Finish, PrDraft, Submission};
