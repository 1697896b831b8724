//! Why a command failed: in the code under change, or in the environment it ran in. A failed
//! validation is only worth another implementation attempt when the code is at fault; a
//! registry that cannot be reached, a missing toolchain, a sandbox denial, a full disk or a
//! timeout is no fault of the change, and spending model requests on it only hides the cause.
//! The engine keys its decision off [`FailureClass`]; the matching on tool output lives here,
//! in one place, with the samples it was written from in its tests.

use std::fmt;

/// What a failed command's output says about the cause.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FailureClass {
    /// The code fails: a test, a compile error, a lint; another attempt may fix it.
    Code,
    /// A package registry or the network could not be reached (dependencies not fetched).
    Network,
    /// The command or a toolchain it needs is not installed (exit 127, `command not found`).
    MissingCommand,
    /// The sandbox or the command policy refused something the command needed.
    SandboxDenied,
    /// The disk is full, or the command was killed for filling it.
    DiskFull,
    /// The command ran past its timeout and was killed.
    Timeout,
}

impl FailureClass {
    /// Whether the environment, not the code, is at fault.
    pub fn is_environment(self) -> bool {
        self != FailureClass::Code
    }

    /// What went wrong, in a few words.
    pub fn what(self) -> &'static str {
        match self {
            FailureClass::Code => "the code fails its checks",
            FailureClass::Network => "dependencies not fetched: a package registry or the network could not be reached",
            FailureClass::MissingCommand => "a command or toolchain is not installed (or not on the sandbox's PATH)",
            FailureClass::SandboxDenied => "the sandbox or the command policy refused something the command needed",
            FailureClass::DiskFull => "the disk is full",
            FailureClass::Timeout => "the command ran past its timeout",
        }
    }

    /// What the engineer can do about it.
    pub fn fix(self) -> &'static str {
        match self {
            FailureClass::Code => "let the implementer fix the code",
            FailureClass::Network => {
                "let the setup step fetch them with network (add the fetch, e.g. `cargo fetch`, to `[setup] \
                 commands` in .ambidex/config.toml if it was not discovered; the first fetch asks at the network \
                 gate), or fetch on this machine and commit the lockfile, or vendor the dependencies; then approve \
                 to validate again"
            }
            FailureClass::MissingCommand => {
                "install the tool on this machine (the sandbox sees the host's PATH), or change the validation \
                 commands (the task's or the playbook's `validation`)"
            }
            FailureClass::SandboxDenied => {
                "allow the command in the policy file, or change the validation command so it needs no more than the \
                 sandbox gives"
            }
            FailureClass::DiskFull => "free disk space (or raise sandbox.max_disk_mb), then retry",
            FailureClass::Timeout => {
                "raise the command timeout, or find what hangs (send back to the implementer if the change does)"
            }
        }
    }
}

impl fmt::Display for FailureClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FailureClass::Code => "code",
            FailureClass::Network => "network",
            FailureClass::MissingCommand => "missing_command",
            FailureClass::SandboxDenied => "sandbox_denied",
            FailureClass::DiskFull => "disk_full",
            FailureClass::Timeout => "timeout",
        })
    }
}

/// Output that says a registry or the network could not be reached (cargo, pip, uv, npm, go).
const NETWORK: &[&str] = &[
    "could not connect to index.crates.io",
    "could not resolve host",
    "couldn't resolve host name",
    "attempting to make an http request, but --offline was specified",
    "failed to download from `https://",
    "unable to update registry",
    "temporary failure in name resolution",
    "name or service not known",
    "failed to establish a new connection",
    "network is unreachable",
    "getaddrinfo enotfound",
    "getaddrinfo eai_again",
    "npm err! code enotfound",
    "npm err! code eai_again",
    "npm error code enotfound",
    "npm error code eai_again",
    "dial tcp: lookup ",
    "failed to lookup address information",
    "couldn't connect to server",
    "failed to connect to",
    "connection refused",
    "no matching distribution found for",
];

/// Output that says a command or toolchain is missing.
const MISSING: &[&str] = &[
    "command not found",
    ": not found\n",
    "error: no such command:",
    "is not installed",
    "execvp",
    "no such file or directory (os error 2)",
];

/// Output that says the sandbox or the policy refused.
const DENIED: &[&str] = &["refused by policy:", "bwrap: ", "operation not permitted (os error 1)"];

/// Output that says the disk is full.
const DISK: &[&str] = &["no space left on device", "enospc", "killed for filling the disk", "disk quota exceeded"];

/// Output that says the code itself failed to compile or its tests failed: it wins over any
/// environment marker a test happens to print.
const CODE: &[&str] = &[
    "test result: failed",
    "error[e",
    "panicked at",
    "assertionerror",
    "--- fail:",
    "failures:",
    "short test summary info",
];

/// Classifies a failed command from its exit code and output (the runner's rendering, which
/// says when the timeout or the disk watch killed it).
pub fn classify(exit_code: Option<i32>, output: &str) -> FailureClass {
    let text = output.to_lowercase();
    let has = |markers: &[&str]| markers.iter().any(|m| text.contains(m));
    if text.contains("killed after the") && text.contains("timeout") {
        return FailureClass::Timeout;
    }
    if has(DISK) {
        return FailureClass::DiskFull;
    }
    if has(CODE) {
        return FailureClass::Code;
    }
    if has(NETWORK) {
        return FailureClass::Network;
    }
    if exit_code == Some(127) || has(MISSING) {
        return FailureClass::MissingCommand;
    }
    if has(DENIED) {
        return FailureClass::SandboxDenied;
    }
    FailureClass::Code
}

#[cfg(test)]
#[path = "failure_tests.rs"]
mod tests;
