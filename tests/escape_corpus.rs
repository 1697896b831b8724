//! The escape corpus: what a hostile agent tries, through the tool broker, at every sandbox level
//! this machine offers (bubblewrap, which CI installs, and Landlock, forced), with secrets planted
//! in the engine's environment, in a fake home (`~/.ssh`, `~/.aws`, `~/.config`, `~/.netrc`) and
//! in a committed `.env`. Every attempt is approved by the "human" when the policy asks, so the
//! sandbox, not the approval, has to hold. Each case asserts the policy's verdict, its own
//! outcome, one audit event, and at the end no planted secret (plain, base64 or hex) appears in any
//! audit event or any text the model would read.
//!
//! One test function: it points HOME at the fake home before anything starts.

// Test and benchmark code may unwrap and panic: that is how it reports a failure (see clippy.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/leaks.rs"]
mod leaks;
#[path = "support/levels.rs"]
mod levels;

#[path = "escape_corpus/cases.rs"]
mod cases;

use std::io::ErrorKind;
use std::net::{TcpListener, UdpSocket};
use std::os::unix::net::{UnixDatagram, UnixListener};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;

use ambidex::protocol::{Actor, AgentIdentity, Decision, EventKind, NewEvent, Role, TaskId, Track};
use ambidex::redact::Redactor;
use ambidex::tools::broker::{AgentScope, ApprovalRequest, Broker, ToolHost};
use ambidex::tools::budget::{BudgetLimits, BudgetUsage};
use ambidex::tools::sandbox::SandboxLevel;
use ambidex::workspace::{WorktreeRequest, create};
use leaks::{DOTENV_SECRET, ENGINE_SECRET, SECRETS, leak_forms, plant_home};
use levels::{broker_config, levels};

/// What a case expects of the call.
pub enum Outcome {
    /// The policy forbids it: nothing runs.
    Forbidden,
    /// It runs (approved when asked) and fails: the sandbox refuses.
    Fails,
    /// It runs; whatever it prints, the side checks decide.
    Runs,
    /// A file tool refuses it.
    Refused,
}

/// A check that an attempt left no trace.
pub type Check = Box<dyn Fn(&World) -> Result<(), String>>;

/// One escape attempt.
pub struct Case {
    pub name: String,
    pub tool: &'static str,
    pub args: serde_json::Value,
    /// For `run`: the policy verdict the audit record must carry.
    pub verdict: Option<&'static str>,
    pub outcome: Outcome,
    /// Checked after the call: the escape left no trace.
    pub after: Option<Check>,
}

/// Everything outside the worktree an attempt may aim at.
pub struct World {
    pub level: SandboxLevel,
    pub worktree: PathBuf,
    pub common_dir: PathBuf,
    pub outside: PathBuf,
    pub home: PathBuf,
    pub tcp: TcpListener,
    pub tcp6: Option<TcpListener>,
    pub udp: UdpSocket,
    pub unix: UnixListener,
    pub unix_path: PathBuf,
    pub dgram: UnixDatagram,
    pub dgram_path: PathBuf,
    pub abstract_name: String,
    pub abstract_listener: UnixListener,
    pub bystander: std::process::Child,
    pub engine_pid: u32,
}

impl World {
    pub fn nothing_connected(&self) -> Result<(), String> {
        let quiet = |r: std::io::Result<()>, what: &str| match r {
            Err(err) if err.kind() == ErrorKind::WouldBlock => Ok(()),
            Err(err) => Err(format!("{what}: {err}")),
            Ok(()) => Err(format!("{what}: something got through")),
        };
        quiet(self.tcp.accept().map(|_| ()), "tcp")?;
        if let Some(tcp6) = &self.tcp6 {
            quiet(tcp6.accept().map(|_| ()), "tcp6")?;
        }
        quiet(self.udp.recv_from(&mut [0u8; 64]).map(|_| ()), "udp")?;
        quiet(self.unix.accept().map(|_| ()), "unix")?;
        quiet(self.dgram.recv(&mut [0u8; 64]).map(|_| ()), "unix datagram")?;
        quiet(self.abstract_listener.accept().map(|_| ()), "abstract unix")
    }

    pub fn bystander_alive(&mut self) -> Result<(), String> {
        match self.bystander.try_wait() {
            Ok(None) => Ok(()),
            other => Err(format!("the process outside the sandbox was killed: {other:?}")),
        }
    }
}

/// Whether a process whose command line contains `marker` still runs (zombies do not count).
pub fn running(marker: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else { continue };
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let zombie = state.rsplit(')').next().is_some_and(|rest| rest.trim_start().starts_with('Z'));
        if cmdline.contains(marker) && !zombie && pid != std::process::id() {
            found.push(format!("{pid}: {cmdline}"));
        }
    }
    found
}

#[derive(Default)]
struct Host {
    events: Mutex<Vec<NewEvent>>,
    asked: Mutex<Vec<ApprovalRequest>>,
}

impl ToolHost for Host {
    fn record(&self, events: Vec<NewEvent>) -> BoxFuture<'_, Result<(), String>> {
        self.events.lock().unwrap().extend(events);
        Box::pin(async { Ok(()) })
    }

    fn approve(&self, request: ApprovalRequest) -> BoxFuture<'_, (Decision, Option<String>)> {
        // The human approves everything: the sandbox must hold anyway.
        self.asked.lock().unwrap().push(request);
        Box::pin(async { (Decision::Approve, None) })
    }
}

fn user_repo(dir: &Path) {
    let repo = git2::Repository::init(dir).unwrap();
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(dir.join("src/lib.rs"), "pub fn answer() -> u32 {\n    42\n}\n").unwrap();
    std::fs::write(dir.join(".env"), format!("DEPLOY_TOKEN={DOTENV_SECRET}\n")).unwrap();
    let mut index = repo.index().unwrap();
    index.add_all(["*"], git2::IndexAddOption::DEFAULT, None).unwrap();
    index.add_path(Path::new(".env")).unwrap();
    let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
    let me = git2::Signature::now("t", "t@example.com").unwrap();
    repo.commit(Some("HEAD"), &me, &me, "init", &tree, &[]).unwrap();
}

fn world(level: SandboxLevel, dir: &Path, home: &Path) -> (World, AgentScope) {
    let repo = dir.join("repo");
    user_repo(&repo);
    let task = TaskId::new();
    let worktree = create(&WorktreeRequest {
        repo: repo.clone(),
        task,
        candidate: "production".into(),
        base: None,
        root: dir.join("worktrees"),
    })
    .unwrap();
    let outside = dir.join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("victim.txt"), "untouched\n").unwrap();
    let nonblocking_tcp = |addr: &str| TcpListener::bind(addr).ok().inspect(|l| l.set_nonblocking(true).unwrap());
    let tcp = nonblocking_tcp("127.0.0.1:0").unwrap();
    let tcp6 = nonblocking_tcp("[::1]:0");
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    udp.set_nonblocking(true).unwrap();
    let unix_path = outside.join("listener.sock");
    let unix = UnixListener::bind(&unix_path).unwrap();
    unix.set_nonblocking(true).unwrap();
    let dgram_path = outside.join("dgram.sock");
    let dgram = UnixDatagram::bind(&dgram_path).unwrap();
    dgram.set_nonblocking(true).unwrap();
    let abstract_name = format!("ambidex-corpus-{}-{level}", std::process::id());
    let abstract_listener = {
        use std::os::linux::net::SocketAddrExt;
        let addr = std::os::unix::net::SocketAddr::from_abstract_name(abstract_name.as_bytes()).unwrap();
        UnixListener::bind_addr(&addr).unwrap()
    };
    abstract_listener.set_nonblocking(true).unwrap();
    let bystander = std::process::Command::new("sleep").arg("1399.5").spawn().unwrap();
    let actor = Actor::Agent(AgentIdentity { role: Role::Implementer, track: Track::Right, candidate: None });
    let task_budget = Arc::new(Mutex::new(BudgetUsage::new("task", BudgetLimits::default())));
    let scope = AgentScope::new(task, actor, worktree.clone(), BudgetLimits::default(), task_budget).unwrap();
    let common_dir = repo.join(".git");
    let world = World {
        level,
        worktree: worktree.path,
        common_dir,
        outside,
        home: home.to_owned(),
        tcp,
        tcp6,
        udp,
        unix,
        unix_path,
        dgram,
        dgram_path,
        abstract_name,
        abstract_listener,
        bystander,
        engine_pid: std::process::id(),
    };
    (world, scope)
}

#[test]
fn every_escape_attempt_fails_at_every_level() {
    let home = tempfile::tempdir().unwrap();
    plant_home(home.path());
    // SAFETY: set before any other thread of this test binary exists (one test, runtime below).
    unsafe {
        std::env::set_var("HOME", home.path());
        std::env::set_var("CORPUS_DEPLOY_TOKEN", ENGINE_SECRET);
    }
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut attempts = 0;
    let mut failures = Vec::new();
    let forms: Vec<(String, String)> =
        SECRETS.iter().flat_map(|s| leak_forms(s).into_iter().map(move |f| ((*s).to_owned(), f))).collect();
    for level in levels() {
        let dir = tempfile::tempdir().unwrap();
        let (mut world, mut scope) = world(level, dir.path(), home.path());
        let mut config = broker_config(level);
        config.paths.max_disk_bytes = Some(cases::DISK_ALLOWANCE);
        let redactor = Redactor::new([
            ("CORPUS_DEPLOY_TOKEN".to_owned(), ENGINE_SECRET.to_owned()),
            ("DEPLOY_TOKEN".to_owned(), DOTENV_SECRET.to_owned()),
        ]);
        let broker = Broker::new(config, Arc::new(redactor));
        let host = Host::default();
        let mut outputs = Vec::new();
        let mut level_attempts = 0;
        for case in cases::all(&world) {
            let signals_leaked = failures.iter().any(|f: &String| f.starts_with(&format!("[{level}] kill")));
            if case.name.starts_with("kill -9 -1") && signals_leaked {
                failures.push(format!("[{level}] `kill -9 -1` not tried: signals escaped the sandbox above"));
                continue;
            }
            attempts += 1;
            level_attempts += 1;
            let before = host.events.lock().unwrap().len();
            let result = runtime.block_on(broker.call(&mut scope, &host, case.tool, &case.args));
            let text = result.output.text.clone();
            outputs.push(text.clone());
            let label = format!("[{level}] {}", case.name);
            let records: Vec<_> = host.events.lock().unwrap()[before..]
                .iter()
                .filter_map(|e| match &e.kind {
                    EventKind::ToolCalled(record) => Some((**record).clone()),
                    _ => None,
                })
                .collect();
            if records.len() != 1 {
                failures.push(format!("{label}: {} audit records instead of 1", records.len()));
                continue;
            }
            let record = &records[0];
            if let Some(verdict) = case.verdict {
                let got = record.policy.as_ref().map(|p| p.verdict.as_str());
                if got != Some(verdict) {
                    failures.push(format!("{label}: verdict {got:?}, expected {verdict}: {:?}", record.policy));
                }
            }
            let ok = result.output.ok;
            let outcome_holds = match case.outcome {
                Outcome::Forbidden => !ok && text.contains("refused by policy"),
                Outcome::Refused | Outcome::Fails => !ok,
                Outcome::Runs => true,
            };
            if !outcome_holds {
                failures.push(format!("{label}: unexpected outcome (ok = {ok}): {text}"));
            }
            if let Some(after) = &case.after
                && let Err(problem) = after(&world)
            {
                failures.push(format!("{label}: {problem}\n{text}"));
            }
            if let Err(problem) = world.bystander_alive() {
                failures.push(format!("{label}: {problem}"));
            }
        }
        // Nothing planted reached the audit log or the model, in any form.
        let mut recorded: Vec<String> =
            host.events.lock().unwrap().iter().map(|e| serde_json::to_string(&e.kind).unwrap()).collect();
        recorded.extend(host.asked.lock().unwrap().iter().map(|r| format!("{} {}", r.reason, r.command)));
        recorded.extend(outputs);
        for text in &recorded {
            for (secret, form) in &forms {
                if text.contains(form.as_str()) {
                    failures.push(format!("[{level}] the secret {secret} leaked as `{form}` in: {text}"));
                }
            }
        }
        assert!(level_attempts >= 60, "[{level}] only {level_attempts} attempts");
        world.bystander.kill().unwrap();
        world.bystander.wait().unwrap();
    }
    assert!(failures.is_empty(), "{} of {attempts} attempts broke out:\n{}", failures.len(), failures.join("\n\n"));
}
