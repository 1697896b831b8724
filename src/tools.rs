//! The tool broker: everything an agent can do to a workspace goes through here, confined to its
//! worktree, judged by the command policy, sandboxed, redacted, audited and counted against budgets.

pub mod broker;
pub mod budget;
pub mod cgroup;
pub mod confine;
pub mod dep_caches;
pub mod disk_watch;
pub mod external;
pub mod failure;
pub mod files;
pub mod landlock;
pub mod output;
pub mod read_paths;
pub mod runner;
pub mod sandbox;
pub mod schema;
pub mod seccomp;
pub mod supervisor;
