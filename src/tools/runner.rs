//! Running an agent's shell command: in the best sandbox available, with a scrubbed environment,
//! a timeout that kills the whole process group, resource limits and capped output.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Command;

use super::disk_watch::DiskWatch;
use super::sandbox::SandboxLevel;

/// Environment variables passed to commands (never one whose name says it holds a secret).
const PASSED_ENV: &[&str] = &[
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "TZ",
    "SHELL",
    "CARGO_HOME",
    "RUSTUP_HOME",
    "RUSTUP_TOOLCHAIN",
    "GOPATH",
    "GOROOT",
    "GOMODCACHE",
    "GOFLAGS",
    "JAVA_HOME",
    "VIRTUAL_ENV",
    "PYTHONPATH",
    "NODE_PATH",
    "CC",
    "CXX",
];

/// Variables passed besides [`PASSED_ENV`] when the command may reach the network (a setup
/// step's dependency fetch behind the user's proxy).
const NETWORK_ENV: &[&str] =
    &["HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "no_proxy", "all_proxy"];

/// What to run and how.
#[derive(Debug, Clone)]
pub struct RunSpec {
    /// The shell command line.
    pub command: String,
    /// The worktree: the working directory and the only writable tree.
    pub workdir: PathBuf,
    /// The isolation level to use.
    pub level: SandboxLevel,
    /// Kill everything after this long.
    pub timeout: Duration,
    /// Keep at most this many bytes of each stream (head and tail).
    pub output_cap: usize,
    /// The `ambidex` executable, which applies Landlock before running the command.
    pub helper: PathBuf,
    /// Extra variables for the command (already checked by the caller).
    pub env: Vec<(String, String)>,
    /// What the Landlock level may read besides the system and toolchains, and what it never may.
    pub paths: SandboxPaths,
}

/// What a command may reach beyond its worktree: paths that shape the read list (see
/// `tools/read_paths.rs`), how much disk it may take (see `tools/disk_watch.rs`), and, for a
/// setup step only, the network and the dependency caches it fills.
#[derive(Debug, Clone, Default)]
pub struct SandboxPaths {
    /// Extra paths commands may read (`sandbox.read_paths`); those reaching a secret are dropped.
    pub extra_read: Vec<PathBuf>,
    /// The engine's state directory, never readable (the worktree inside it is).
    pub state_dir: Option<PathBuf>,
    /// Bytes a command may write before it is killed (`sandbox.max_disk_mb`); `None` is
    /// [`super::disk_watch::MAX_DISK_WRITE`].
    pub max_disk_bytes: Option<u64>,
    /// Directories it may write besides the worktree: the dependency caches a setup step fills
    /// (see `tools/dep_caches.rs`); empty for agents' commands and validation.
    pub writable_caches: Vec<PathBuf>,
    /// Whether it may reach the network: only a setup step's dependency fetch, once a human
    /// allowed it for the repository.
    pub network: bool,
}

/// Most processes a command may add (a fork bomb stops there).
pub const MAX_PROCESSES: u64 = 1024;
/// Most tasks (processes and threads) a command's pids cgroup may hold, where one can be made.
pub const MAX_TASKS: u64 = 4096;
/// Most address space one process of a command may map, in bytes.
pub const MAX_MEMORY: u64 = 16 << 30;

/// How a command ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunOutcome {
    /// The exit code, when it exited.
    pub exit_code: Option<i32>,
    /// The signal that ended it, when one did.
    pub signal: Option<i32>,
    /// Whether the timeout killed it.
    pub timed_out: bool,
    /// Standard output (head and tail when long).
    pub stdout: String,
    /// Standard error (head and tail when long).
    pub stderr: String,
    /// Bytes of output dropped from the middle.
    pub dropped_bytes: usize,
    /// Wall time in milliseconds.
    pub duration_ms: u64,
    /// The isolation it ran under.
    pub level: SandboxLevel,
    /// Why it was killed for its disk use, when it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disk_filled: Option<String>,
}

impl RunOutcome {
    /// Whether it exited 0.
    pub fn success(&self) -> bool {
        self.exit_code == Some(0)
    }

    /// The outcome as the model will read it.
    pub fn render(&self) -> String {
        let status = match (self.timed_out, self.exit_code, self.signal) {
            _ if self.disk_filled.is_some() => format!(
                "killed for filling the disk: {}; write less (or into a narrower place), and remove what it left",
                self.disk_filled.as_deref().unwrap_or_default()
            ),
            (true, _, _) => format!("killed after the {:.1} s timeout", self.duration_ms as f64 / 1000.0),
            (false, Some(code), _) => format!("exit code {code}"),
            (false, None, Some(signal)) => format!("killed by signal {signal}"),
            (false, None, None) => "ended".to_owned(),
        };
        let mut out = format!("{status} ({:.2} s, sandbox: {})\n", self.duration_ms as f64 / 1000.0, self.level);
        for (name, text) in [("stdout", &self.stdout), ("stderr", &self.stderr)] {
            if text.is_empty() {
                out.push_str(&format!("[{name}: empty]\n"));
            } else {
                out.push_str(&format!("--- {name} ---\n{text}"));
                if !text.ends_with('\n') {
                    out.push('\n');
                }
            }
        }
        if self.dropped_bytes > 0 {
            out.push_str(&format!(
                "[{} bytes of output cut from the middle; pipe through `tail`, `grep` or a narrower command to see less]\n",
                self.dropped_bytes
            ));
        }
        out
    }
}

/// Why a command could not be started.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The process could not be spawned.
    #[error("could not start the command ({level} sandbox): {source}")]
    Spawn {
        /// The level tried.
        level: SandboxLevel,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The workdir is missing.
    #[error("the working directory {} does not exist", .0.display())]
    NoWorkdir(PathBuf),
}

/// The environment a command gets: the passed variables that are set here, minus secrets.
pub fn scrubbed_env() -> Vec<(String, String)> {
    PASSED_ENV
        .iter()
        .filter(|name| !crate::redact::is_secret_name(name))
        .filter_map(|name| std::env::var(name).ok().map(|value| ((*name).to_owned(), value)))
        .collect()
}

fn network_env() -> Vec<(String, String)> {
    NETWORK_ENV.iter().filter_map(|name| std::env::var(name).ok().map(|value| ((*name).to_owned(), value))).collect()
}

fn bwrap_command(spec: &RunSpec) -> Command {
    let workdir = &spec.workdir;
    let mut command = Command::new("bwrap");
    command.args(super::sandbox::BWRAP_ROOT);
    let emptied = hide_secrets(&mut command, spec);
    command.arg("--bind").arg(workdir).arg(workdir);
    for cache in spec.paths.writable_caches.iter().filter(|c| c.is_dir()) {
        command.arg("--bind").arg(cache).arg(cache);
    }
    // The repository's git data stays visible (read-only) even when it lives under /tmp, which
    // the private tmpfs would otherwise hide.
    if let Some(common) = crate::workspace::git_common_dir(workdir) {
        command.arg("--ro-bind").arg(&common).arg(&common);
    }
    let git = workdir.join(".git");
    if git.exists() {
        command.arg("--ro-bind").arg(&git).arg(&git);
    }
    // The emptied directories are read-only once what is bound into them is in place.
    for dir in emptied {
        command.arg("--remount-ro").arg(dir);
    }
    if spec.paths.network {
        // The resolver's configuration often points into `/run` (systemd-resolved), emptied above.
        if let Ok(resolv) = std::fs::canonicalize("/etc/resolv.conf")
            && resolv.starts_with("/run")
            && let Some(dir) = resolv.parent()
        {
            command.arg("--ro-bind").arg(dir).arg(dir);
        }
    } else {
        command.arg("--unshare-net");
    }
    command
        .args(["--unshare-pid", "--unshare-ipc", "--unshare-uts"])
        // Run as root, bubblewrap would keep every capability: device nodes (a disk's), raw
        // sockets. The command gets none.
        .args(["--cap-drop", "ALL"])
        .args(["--die-with-parent", "--new-session", "--chdir"])
        .arg(workdir)
        .args(["--", "/bin/sh", "-c", &spec.command]);
    command
}

/// Over the read-only root: the home is an empty tmpfs with only its toolchains bound back (so
/// `~/.ssh`, `~/.aws`, `~/.config`, … are not there), the state directory and `/run` (where
/// daemons' Unix sockets live) are empty too, and `/etc`'s secret files are replaced by empty
/// ones. Returns the emptied directories, to be made read-only after the worktree is bound.
fn hide_secrets(command: &mut Command, spec: &RunSpec) -> Vec<PathBuf> {
    let mut emptied = Vec::new();
    let home = std::env::var_os("HOME").map(PathBuf::from).filter(|h| h.is_dir() && h.parent().is_some());
    let readable =
        super::read_paths::discover(home.as_deref(), spec.paths.state_dir.as_deref(), &spec.paths.extra_read);
    if let Some(home) = &home {
        command.arg("--tmpfs").arg(home);
        emptied.push(home.clone());
        for path in readable.iter().filter(|p| p.starts_with(home)) {
            command.arg("--ro-bind").arg(path).arg(path);
        }
    }
    // A toolchain under /tmp (a `CARGO_HOME` there) is behind the private /tmp: bound back.
    for path in readable.iter().filter(|p| p.starts_with("/tmp") && home.as_ref().is_none_or(|h| !p.starts_with(h))) {
        command.arg("--ro-bind").arg(path).arg(path);
    }
    if let Some(state) = spec.paths.state_dir.as_ref().filter(|s| s.is_dir())
        && home.as_ref().is_none_or(|h| !state.starts_with(h))
    {
        command.arg("--tmpfs").arg(state);
        emptied.push(state.clone());
    }
    if Path::new("/run").is_dir() {
        command.args(["--tmpfs", "/run"]);
        emptied.push(PathBuf::from("/run"));
    }
    for secret in super::read_paths::ETC_SECRETS {
        let path = Path::new("/etc").join(secret);
        match std::fs::symlink_metadata(&path) {
            Ok(meta) if meta.is_dir() => {
                command.arg("--tmpfs").arg(&path);
                emptied.push(path);
            }
            Ok(meta) if meta.is_file() => {
                command.arg("--ro-bind").arg("/dev/null").arg(&path);
            }
            _ => {}
        }
    }
    emptied
}

fn landlock_command(spec: &RunSpec, tmp: &Path) -> Command {
    let mut command = Command::new(&spec.helper);
    command.args(["__sandbox", "landlock", "--rw"]).arg(&spec.workdir).arg("--rw").arg(tmp);
    for cache in spec.paths.writable_caches.iter().filter(|c| c.is_dir()) {
        command.arg("--rw").arg(cache);
    }
    if spec.paths.network {
        command.arg("--network");
    }
    // The git data stays readable (not writable), wherever the repository lives.
    if let Some(common) = crate::workspace::git_common_dir(&spec.workdir) {
        command.arg("--ro").arg(common);
    }
    let home = std::env::var_os("HOME").map(PathBuf::from);
    for path in super::read_paths::discover(home.as_deref(), spec.paths.state_dir.as_deref(), &spec.paths.extra_read) {
        command.arg("--ro").arg(path);
    }
    command
        .arg("--max-processes")
        .arg(MAX_PROCESSES.to_string())
        .arg("--max-memory")
        .arg(MAX_MEMORY.to_string())
        .args(["--", "/bin/sh", "-c", &spec.command]);
    command
}

/// The command for `spec` at its sandbox level, with its environment, its limits and a pids
/// cgroup of its own where this machine allows one (held by the caller until the command is
/// done: dropping it kills what is left). `tmp` is its private temporary directory.
fn prepared(spec: &RunSpec, tmp: &Path) -> (Command, Option<super::cgroup::PidsCgroup>) {
    let mut command = match spec.level {
        SandboxLevel::Bubblewrap => bwrap_command(spec),
        SandboxLevel::Landlock => landlock_command(spec, tmp),
        SandboxLevel::None => {
            let mut command = Command::new("/bin/sh");
            command.args(["-c", &spec.command]);
            command
        }
    };
    let tmp_for_command = if spec.level == SandboxLevel::Bubblewrap { PathBuf::from("/tmp") } else { tmp.to_owned() };
    command
        .current_dir(&spec.workdir)
        .env_clear()
        .envs(scrubbed_env())
        .envs(if spec.paths.network { network_env() } else { Vec::new() })
        .envs(spec.env.iter().cloned())
        .env("TMPDIR", &tmp_for_command)
        .env("TERM", "dumb")
        .env("NO_COLOR", "1")
        .env("CARGO_TERM_COLOR", "never");
    if spec.level == SandboxLevel::Landlock {
        // The home directory is not readable at this level; git treats an unreadable
        // ~/.gitconfig as fatal, so it is told there is none.
        command.env("GIT_CONFIG_GLOBAL", "/dev/null");
    }
    command.kill_on_drop(true).process_group(0);
    // The command dies with this process, even when it is SIGKILLed and cannot kill the group:
    // the kernel signals the child when the thread that forked it ends (runtime threads live as
    // long as the engine). Checked against the parent that forked, in case it died already.
    // A pids cgroup of its own, where this machine allows one: a process limit that binds root,
    // and every descendant found at the end.
    let cgroup = super::cgroup::PidsCgroup::create(MAX_TASKS).ok();
    let procs_fd = cgroup.as_ref().map(super::cgroup::PidsCgroup::procs_fd);
    // SAFETY: `getpid` is async-signal-safe.
    let parent = unsafe { libc::getpid() };
    // The Landlock supervisor is told to stop (it then kills what the command left); anything
    // else is killed outright.
    let max_file = spec.paths.max_disk_bytes.unwrap_or(super::disk_watch::MAX_DISK_WRITE).min(8 << 30);
    let death_signal = if spec.level == SandboxLevel::Landlock { libc::SIGTERM } else { libc::SIGKILL };
    // SAFETY: the closure only calls `prctl`, `getppid`, `write` and `setrlimit`, which are
    // async-signal-safe, between fork and exec.
    unsafe {
        command.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, death_signal as libc::c_ulong, 0, 0, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            if libc::getppid() != parent {
                return Err(std::io::Error::from_raw_os_error(libc::ESRCH));
            }
            if let Some(fd) = procs_fd
                && libc::write(fd, b"0".as_ptr().cast(), 1) != 1
            {
                return Err(std::io::Error::last_os_error());
            }
            let limit = |resource, value: libc::rlim_t| {
                let rlimit = libc::rlimit { rlim_cur: value, rlim_max: value };
                libc::setrlimit(resource, &rlimit);
            };
            limit(libc::RLIMIT_CORE, 0);
            limit(libc::RLIMIT_FSIZE, max_file);
            limit(libc::RLIMIT_NOFILE, 8192);
            Ok(())
        });
    }
    (command, cgroup)
}

fn private_tmp(spec: &RunSpec) -> Result<tempfile::TempDir, RunError> {
    tempfile::Builder::new()
        .prefix("ambidex-run-")
        .tempdir()
        .map_err(|source| RunError::Spawn { level: spec.level, source })
}

/// A sandboxed program that talks over its stdin and stdout (an ACP agent), started by
/// [`spawn_piped`]. Dropping it kills it and everything it started.
pub struct PipedChild {
    /// The process (its stdin, stdout and stderr are piped).
    pub child: tokio::process::Child,
    level: SandboxLevel,
    pgid: Option<u32>,
    _cgroup: Option<super::cgroup::PidsCgroup>,
    _tmp: tempfile::TempDir,
}

impl Drop for PipedChild {
    fn drop(&mut self) {
        if self.level == SandboxLevel::Landlock {
            stop_supervisor(self.pgid);
        }
        kill_group(self.pgid);
    }
}

/// Starts `spec`'s command like [`run`] does (same sandbox, environment and limits) but leaves
/// it running with its streams piped; `spec.timeout` and `spec.output_cap` are the caller's to
/// apply.
pub fn spawn_piped(spec: &RunSpec) -> Result<PipedChild, RunError> {
    if !spec.workdir.is_dir() {
        return Err(RunError::NoWorkdir(spec.workdir.clone()));
    }
    let tmp = private_tmp(spec)?;
    let (mut command, cgroup) = prepared(spec, tmp.path());
    command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let child = command.spawn().map_err(|source| RunError::Spawn { level: spec.level, source })?;
    let pgid = child.id();
    Ok(PipedChild { child, level: spec.level, pgid, _cgroup: cgroup, _tmp: tmp })
}

/// Runs the command and waits for it (or its timeout).
pub async fn run(spec: &RunSpec) -> Result<RunOutcome, RunError> {
    if !spec.workdir.is_dir() {
        return Err(RunError::NoWorkdir(spec.workdir.clone()));
    }
    let tmp = private_tmp(spec)?;
    let (mut command, _cgroup) = prepared(spec, tmp.path());
    command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = command.spawn().map_err(|source| RunError::Spawn { level: spec.level, source })?;
    let pgid = child.id();
    let cap = spec.output_cap;
    let stdout = tokio::spawn(read_capped(child.stdout.take(), cap));
    let stderr = tokio::spawn(read_capped(child.stderr.take(), cap));
    let watch = DiskWatch::start(
        &[spec.workdir.as_path(), tmp.path()],
        spec.paths.max_disk_bytes.unwrap_or(super::disk_watch::MAX_DISK_WRITE),
    );
    let ended = tokio::select! {
        status = child.wait() => Ended::Exited(status.ok()),
        () = tokio::time::sleep(spec.timeout) => Ended::Stopped(None),
        filled = watch.crossed() => Ended::Stopped(Some(filled.reason)),
    };
    let (status, stopped) = match ended {
        Ended::Exited(status) => (status, None),
        Ended::Stopped(filled) => {
            if spec.level == SandboxLevel::Landlock {
                // The supervisor kills every descendant, setsid ones too, before it exits.
                stop_supervisor(pgid);
                if let Ok(Ok(status)) = tokio::time::timeout(Duration::from_secs(5), child.wait()).await {
                    kill_group(pgid);
                    return Ok(finish(spec, started, Some(status), Some(filled), stdout, stderr).await);
                }
            }
            kill_group(pgid);
            let status = tokio::time::timeout(Duration::from_secs(5), child.wait()).await.ok().and_then(Result::ok);
            (status, Some(filled))
        }
    };
    // Whatever the command left running in the background goes too; that also closes the pipes.
    kill_group(pgid);
    Ok(finish(spec, started, status, stopped, stdout, stderr).await)
}

/// How the wait for a command ended.
enum Ended {
    /// It exited (its status, when it could be read).
    Exited(Option<std::process::ExitStatus>),
    /// It was stopped: by its timeout (`None`), or for filling the disk (why).
    Stopped(Option<String>),
}

async fn finish(
    spec: &RunSpec,
    started: Instant,
    status: Option<std::process::ExitStatus>,
    stopped: Option<Option<String>>,
    stdout: tokio::task::JoinHandle<Capped>,
    stderr: tokio::task::JoinHandle<Capped>,
) -> RunOutcome {
    let out = finish_reader(stdout).await;
    let err = finish_reader(stderr).await;
    use std::os::unix::process::ExitStatusExt;
    let timed_out = stopped.as_ref().is_some_and(Option::is_none);
    let disk_filled = stopped.flatten();
    RunOutcome {
        exit_code: if timed_out || disk_filled.is_some() { None } else { status.and_then(|s| s.code()) },
        signal: status.and_then(|s| s.signal()),
        timed_out,
        dropped_bytes: out.dropped + err.dropped,
        stdout: out.text(),
        stderr: err.text(),
        duration_ms: started.elapsed().as_millis() as u64,
        level: spec.level,
        disk_filled,
    }
}

/// Asks the Landlock supervisor (the group's leader) to stop.
fn stop_supervisor(pid: Option<u32>) {
    if let Some(pid) = pid.and_then(|p| i32::try_from(p).ok()).filter(|p| *p > 1) {
        // SAFETY: signals the process this runner started; a stale pid just fails.
        unsafe {
            libc::kill(pid, libc::SIGTERM);
        }
    }
}

/// Kills every process left in the command's group (bubblewrap's own namespace dies with it).
fn kill_group(pgid: Option<u32>) {
    if let Some(pgid) = pgid.and_then(|p| i32::try_from(p).ok()).filter(|p| *p > 1) {
        // SAFETY: signals a process group this runner created; a stale group id just fails.
        unsafe {
            libc::kill(-pgid, libc::SIGKILL);
        }
    }
}

/// The head and the tail of a stream.
#[derive(Default)]
struct Capped {
    head: Vec<u8>,
    tail: VecDeque<u8>,
    dropped: usize,
}

impl Capped {
    fn text(&self) -> String {
        let mut bytes = self.head.clone();
        if self.dropped > 0 {
            bytes.extend_from_slice(format!("\n[… {} bytes cut …]\n", self.dropped).as_bytes());
        }
        bytes.extend(self.tail.iter());
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

/// Waits briefly for a reader; a pipe still held open by an escaped process is abandoned.
async fn finish_reader(reader: tokio::task::JoinHandle<Capped>) -> Capped {
    let abort = reader.abort_handle();
    match tokio::time::timeout(Duration::from_secs(2), reader).await {
        Ok(Ok(capped)) => capped,
        _ => {
            abort.abort();
            Capped::default()
        }
    }
}

async fn read_capped(stream: Option<impl AsyncRead + Unpin>, cap: usize) -> Capped {
    let mut capped = Capped::default();
    let Some(mut stream) = stream else {
        return capped;
    };
    let head_cap = cap / 2;
    let tail_cap = cap - head_cap;
    let mut buf = [0u8; 8192];
    while let Ok(n) = stream.read(&mut buf).await {
        if n == 0 {
            break;
        }
        let mut chunk = &buf[..n];
        if capped.head.len() < head_cap {
            let take = chunk.len().min(head_cap - capped.head.len());
            capped.head.extend_from_slice(&chunk[..take]);
            chunk = &chunk[take..];
        }
        for &byte in chunk {
            if capped.tail.len() == tail_cap {
                capped.tail.pop_front();
                capped.dropped += 1;
            }
            capped.tail.push_back(byte);
        }
    }
    capped
}
