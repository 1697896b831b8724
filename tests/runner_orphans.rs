//! A command the runner started dies with the process that started it, even when that process is
//! SIGKILLed and cannot clean up (the parent-death signal set between fork and exec).

// Test and benchmark code may unwrap and panic: that is how it reports a failure (see clippy.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use ambidex::tools::runner::{self, RunSpec};
use ambidex::tools::sandbox::SandboxLevel;

const CHILD: &str = "RUNNER_ORPHANS_PIDFILE";

/// Whether `pid` still runs (a zombie waiting for a reaper does not).
fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| stat.rsplit(')').next().map(|rest| rest.trim_start().chars().next()))
        .is_some_and(|state| !matches!(state, Some('Z' | 'X')))
}

/// In the re-executed test binary: run a sleeping command through the runner, its pid in `pidfile`.
fn be_the_engine(pidfile: &Path) {
    let workdir = pidfile.parent().unwrap().to_owned();
    let spec = RunSpec {
        command: format!("echo $$ > {}.tmp && mv {0}.tmp {0} && exec sleep 30", pidfile.display()),
        workdir,
        level: SandboxLevel::None,
        timeout: Duration::from_secs(60),
        output_cap: 4096,
        helper: PathBuf::new(),
        env: Vec::new(),
        paths: Default::default(),
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(runner::run(&spec)).unwrap();
}

#[test]
fn a_command_dies_when_the_engine_is_sigkilled() {
    if let Ok(pidfile) = std::env::var(CHILD) {
        be_the_engine(Path::new(&pidfile));
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("pid");
    let mut engine = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "a_command_dies_when_the_engine_is_sigkilled", "--nocapture"])
        .env(CHILD, &pidfile)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !pidfile.exists() {
        assert!(Instant::now() < deadline, "the command never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    let pid: i32 = std::fs::read_to_string(&pidfile).unwrap().trim().parse().unwrap();
    assert!(alive(pid), "the command runs while its engine does");
    engine.kill().unwrap();
    engine.wait().unwrap();
    let deadline = Instant::now() + Duration::from_secs(1);
    while alive(pid) {
        assert!(Instant::now() < deadline, "the command {pid} outlived its engine by a second");
        std::thread::sleep(Duration::from_millis(20));
    }
}
