//! A process-count limit that binds root too, and a sure way to kill every descendant: a `pids`
//! cgroup of its own for each command, when this machine lets the engine make one (cgroup v1's
//! `pids` hierarchy, or v2 with the `pids` controller, writable by this user).
//!
//! The command joins the group between fork and exec (writing `0` to `cgroup.procs` moves the
//! writer), so everything it starts is counted against `pids.max` and found again at the end,
//! whatever its session or parent. The group cannot be left from inside: both sandboxes keep
//! `/sys` read-only. RLIMIT_NPROC, the fallback, counts every process of the user and does not
//! bind root at all.

use std::io::Write;
use std::os::fd::{AsRawFd, RawFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

static NEXT: AtomicU64 = AtomicU64::new(0);

/// One command's `pids` cgroup; dropping it kills whatever is left in it and removes it.
#[derive(Debug)]
pub struct PidsCgroup {
    dir: PathBuf,
    /// Closed before the directory is removed (an open control file keeps it busy).
    procs: Option<std::fs::File>,
}

/// The directory of this process's own cgroup in a hierarchy with the `pids` controller.
fn own_pids_dir() -> Option<PathBuf> {
    let membership = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    for line in membership.lines() {
        let mut fields = line.splitn(3, ':');
        let (_, controllers, path) = (fields.next()?, fields.next()?, fields.next()?);
        let relative = path.trim_start_matches('/');
        if controllers.split(',').any(|c| c == "pids") {
            return Some(Path::new("/sys/fs/cgroup/pids").join(relative));
        }
        if controllers.is_empty() {
            let unified = Path::new("/sys/fs/cgroup").join(relative);
            let offers = std::fs::read_to_string(unified.join("cgroup.subtree_control")).unwrap_or_default();
            if offers.split_whitespace().any(|c| c == "pids") {
                return Some(unified);
            }
        }
    }
    None
}

impl PidsCgroup {
    /// A new group allowing `max_tasks` tasks (processes and threads), or why not.
    pub fn create(max_tasks: u64) -> Result<PidsCgroup, String> {
        let parent = own_pids_dir().ok_or("no writable pids cgroup controller here")?;
        sweep(&parent);
        let name = format!("ambidex-{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        let dir = parent.join(name);
        std::fs::create_dir(&dir).map_err(|err| format!("cannot create {}: {err}", dir.display()))?;
        let setup = || -> std::io::Result<std::fs::File> {
            std::fs::OpenOptions::new()
                .write(true)
                .open(dir.join("pids.max"))?
                .write_all(max_tasks.to_string().as_bytes())?;
            std::fs::OpenOptions::new().write(true).open(dir.join("cgroup.procs"))
        };
        match setup() {
            Ok(procs) => Ok(PidsCgroup { dir, procs: Some(procs) }),
            Err(err) => {
                let _ = std::fs::remove_dir(&dir);
                Err(format!("cannot set up {}: {err}", dir.display()))
            }
        }
    }

    /// The descriptor a child writes `0` to (between fork and exec) to join the group.
    pub fn procs_fd(&self) -> RawFd {
        self.procs.as_ref().map_or(-1, AsRawFd::as_raw_fd)
    }

    fn members(&self) -> Vec<i32> {
        std::fs::read_to_string(self.dir.join("cgroup.procs"))
            .unwrap_or_default()
            .lines()
            .filter_map(|line| line.trim().parse().ok())
            .collect()
    }

    /// Kills every process in the group until none is left (new ones cannot outrun it: a
    /// killed process forks no more, and the group is capped).
    pub fn kill_all(&self) {
        for _ in 0..10_000 {
            let members = self.members();
            if members.is_empty() {
                return;
            }
            for pid in members.into_iter().filter(|pid| *pid > 1) {
                // SAFETY: signals a process of this command's group.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }
}

impl Drop for PidsCgroup {
    fn drop(&mut self) {
        self.kill_all();
        self.procs = None;
        // A killed process leaves the group once reaped; its parent (the runner, or the
        // supervisor) reaps it, so removal is retried briefly.
        for _ in 0..200 {
            if std::fs::remove_dir(&self.dir).is_ok() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }
}

/// Removes the groups of engines that died without cleaning up (SIGKILLed): their members are
/// killed and the directories removed.
fn sweep(parent: &Path) {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name.strip_prefix("ambidex-").and_then(|rest| rest.split('-').next()) else {
            continue;
        };
        if pid.parse::<u32>().is_ok() && !Path::new("/proc").join(pid).exists() {
            drop(PidsCgroup { dir: entry.path(), procs: None });
        }
    }
}

/// Whether a per-command process limit can be set here, with the reason when it cannot.
pub fn probe() -> Result<(), String> {
    PidsCgroup::create(16).map(drop)
}
