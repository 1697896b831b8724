//! The sandbox levels this machine offers, and a broker configured for one: what the sandbox,
//! broker and escape-corpus tests share.

#![allow(dead_code)]

use std::path::PathBuf;
use std::time::Duration;

use ambidex::playbooks::Policy;
use ambidex::tools::broker::BrokerConfig;
use ambidex::tools::sandbox::{SandboxLevel, probe};

/// Every level above none this machine can hold; in CI bubblewrap must be one of them.
pub fn levels() -> Vec<SandboxLevel> {
    let probe = probe();
    let mut levels = Vec::new();
    if probe.bubblewrap.usable {
        levels.push(SandboxLevel::Bubblewrap);
    } else if std::env::var_os("CI").is_some() {
        panic!("bubblewrap must be usable in CI: {}", probe.bubblewrap.detail);
    }
    if probe.landlock.usable {
        levels.push(SandboxLevel::Landlock);
    }
    assert!(!levels.is_empty(), "no sandbox level is available on this machine");
    levels
}

/// A broker with the built-in policy at `level`, this build's binary as its sandbox helper.
pub fn broker_config(level: SandboxLevel) -> BrokerConfig {
    BrokerConfig {
        policy: Policy::built_in().unwrap().commands,
        sandbox: level,
        helper: PathBuf::from(env!("CARGO_BIN_EXE_ambidex")),
        command_timeout: Duration::from_secs(60),
        output_cap: 64 * 1024,
        result_cap: 16 * 1024,
        paths: Default::default(),
        gaps: Vec::new(),
        mcp: None,
    }
}
