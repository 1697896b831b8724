//! The sandbox levels a `run` command can get here, best first: bubblewrap, then Landlock, then
//! none (when every command needs an approval). Probing runs real checks, not guesses.

use std::fmt;
use std::process::{Command, Stdio};

use serde::{Deserialize, Serialize};

/// The filesystem every bubblewrap sandbox starts from: the root read-only, fresh `/dev` and
/// `/proc`, a private `/tmp`.
pub const BWRAP_ROOT: &[&str] = &["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"];

/// How strongly a command is isolated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SandboxLevel {
    /// No isolation: every command needs a human's approval.
    None,
    /// Landlock filesystem and TCP rules with `no_new_privs`.
    Landlock,
    /// bubblewrap namespaces: read-only root, private /tmp, no network.
    Bubblewrap,
}

impl fmt::Display for SandboxLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SandboxLevel::None => "none",
            SandboxLevel::Landlock => "landlock",
            SandboxLevel::Bubblewrap => "bubblewrap",
        })
    }
}

/// One facility and whether it works, with the detail a user needs to fix it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Facility {
    /// Whether it can be used.
    pub usable: bool,
    /// A version, or why not.
    pub detail: String,
}

/// What this machine offers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SandboxProbe {
    /// bubblewrap, tried with the flags the sandbox uses.
    pub bubblewrap: Facility,
    /// Landlock, with its ABI version.
    pub landlock: Facility,
    /// Unprivileged user namespaces (bubblewrap needs them when not root).
    pub user_namespaces: Facility,
}

impl SandboxProbe {
    /// The best level available.
    pub fn best(&self) -> SandboxLevel {
        if self.bubblewrap.usable {
            SandboxLevel::Bubblewrap
        } else if self.landlock.usable {
            SandboxLevel::Landlock
        } else {
            SandboxLevel::None
        }
    }
}

/// The level to use: `requested` (`None` for auto, the best available) when this machine can
/// hold it, else an error saying why and what to do.
pub fn choose(requested: Option<SandboxLevel>, probe: &SandboxProbe) -> Result<SandboxLevel, String> {
    match requested {
        None => Ok(probe.best()),
        Some(SandboxLevel::None) => Ok(SandboxLevel::None),
        Some(SandboxLevel::Bubblewrap) if probe.bubblewrap.usable => Ok(SandboxLevel::Bubblewrap),
        Some(SandboxLevel::Landlock) if probe.landlock.usable => Ok(SandboxLevel::Landlock),
        Some(level) => {
            let detail =
                if level == SandboxLevel::Bubblewrap { &probe.bubblewrap.detail } else { &probe.landlock.detail };
            Err(format!(
                "sandbox.level is `{level}` but this machine cannot hold it ({detail}); set sandbox.level = \"auto\" to \
                 use the best level available, or fix the cause (`ambidex doctor` shows every level)"
            ))
        }
    }
}

/// What one level confines on this machine: one row of `doctor`'s table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LevelRow {
    /// The level.
    pub level: SandboxLevel,
    /// Whether this machine can use it.
    pub available: bool,
    /// Reads only the worktree, git data, toolchains and system paths (home secrets, the state
    /// directory and /etc's secret files are not readable).
    pub reads: bool,
    /// Writes only the worktree and a private temp dir.
    pub writes: bool,
    /// No network of any family.
    pub network: bool,
    /// No signals or ptrace to processes outside the sandbox, and no access to their /proc entries.
    pub signals: bool,
    /// Every descendant dies with the command and the number of processes is limited.
    pub processes: bool,
    /// What a ✗ means here, and what happens instead.
    pub notes: Vec<String>,
}

impl LevelRow {
    /// The rows this level cannot hold here, by their names in `doctor`'s table, each with what
    /// `notes` say about it.
    pub fn missing(&self) -> Vec<(&'static str, Vec<&str>)> {
        [
            ("reads", self.reads),
            ("writes", self.writes),
            ("network", self.network),
            ("signals", self.signals),
            ("processes", self.processes),
        ]
        .into_iter()
        .filter(|(_, holds)| !holds)
        .map(|(name, _)| {
            let notes = self.notes.iter().filter_map(|n| n.strip_prefix(name)?.strip_prefix(": ")).collect();
            (name, notes)
        })
        .collect()
    }
}

impl SandboxProbe {
    /// The Landlock ABI version, when Landlock is available.
    pub fn landlock_abi(&self) -> Option<u32> {
        self.landlock.detail.strip_prefix("ABI ").and_then(|n| n.trim().parse().ok()).filter(|_| self.landlock.usable)
    }

    /// What every level confines here.
    pub fn table(&self) -> Vec<LevelRow> {
        // SAFETY: getuid has no preconditions.
        let root = unsafe { libc::getuid() } == 0;
        // A pids cgroup per command limits processes at every level, root included.
        let cgroup = super::cgroup::probe();
        let mut bubblewrap = LevelRow {
            level: SandboxLevel::Bubblewrap,
            available: self.bubblewrap.usable,
            reads: true,
            writes: true,
            network: true,
            signals: true,
            processes: cgroup.is_ok(),
            notes: Vec::new(),
        };
        if let Err(reason) = &cgroup {
            bubblewrap.notes.push(format!(
                "processes: every descendant dies with the command (its own PID namespace), but their number is \
                 bounded only by the timeout ({reason})"
            ));
        }
        if !self.bubblewrap.usable {
            bubblewrap.notes.push(format!("unavailable: {}", self.bubblewrap.detail));
        }
        let scoped = self.landlock_abi().is_some_and(|abi| abi >= 6);
        let mut landlock = LevelRow {
            level: SandboxLevel::Landlock,
            available: self.landlock.usable,
            reads: true,
            writes: true,
            network: super::seccomp::check().is_ok(),
            signals: scoped,
            processes: cgroup.is_ok() || !root,
            notes: Vec::new(),
        };
        if !scoped {
            landlock.notes.push("signals: this kernel's Landlock ABI is below 6, so signals are not scoped".into());
        }
        if root && let Err(reason) = &cgroup {
            landlock.notes.push(format!(
                "processes: every descendant dies with the command (a supervising subreaper), but as root \
                     RLIMIT_NPROC does not bind, so their number is bounded only by the timeout ({reason})"
            ));
        }
        if let Err(reason) = super::seccomp::check() {
            landlock.notes.push(format!("network: {reason}"));
        }
        if !self.landlock.usable {
            landlock.notes.push(format!("unavailable: {}", self.landlock.detail));
        }
        let none = LevelRow {
            level: SandboxLevel::None,
            available: true,
            reads: false,
            writes: false,
            network: false,
            signals: false,
            processes: false,
            notes: vec!["nothing is confined: every command waits for a human's approval".into()],
        };
        vec![bubblewrap, landlock, none]
    }
}

/// Probes every level.
pub fn probe() -> SandboxProbe {
    SandboxProbe { bubblewrap: probe_bubblewrap(), landlock: probe_landlock(), user_namespaces: probe_userns() }
}

fn probe_bubblewrap() -> Facility {
    let version = match Command::new("bwrap").arg("--version").stdin(Stdio::null()).output() {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout).trim().to_owned(),
        Ok(out) => {
            return Facility { usable: false, detail: format!("`bwrap --version` failed: {}", out.status) };
        }
        Err(_) => {
            return Facility {
                usable: false,
                detail: "not installed (Debian/Ubuntu: `apt-get install bubblewrap`)".into(),
            };
        }
    };
    let trial = Command::new("bwrap")
        .args(BWRAP_ROOT)
        .args(["--unshare-net", "--unshare-pid", "--die-with-parent", "--new-session", "true"])
        .stdin(Stdio::null())
        .output();
    match trial {
        Ok(out) if out.status.success() => Facility { usable: true, detail: version },
        Ok(out) => Facility {
            usable: false,
            detail: format!(
                "{version} is installed but cannot create namespaces here: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        },
        Err(err) => Facility { usable: false, detail: format!("{version} failed to start: {err}") },
    }
}

fn probe_landlock() -> Facility {
    const LANDLOCK_CREATE_RULESET_VERSION: libc::c_uint = 1;
    // SAFETY: with a null attribute pointer, size 0 and the VERSION flag, this syscall only
    // returns the ABI version (or an error); it creates nothing and touches no memory.
    let abi = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<libc::c_void>(),
            0usize,
            LANDLOCK_CREATE_RULESET_VERSION,
        )
    };
    if abi > 0 {
        Facility { usable: true, detail: format!("ABI {abi}") }
    } else {
        let err = std::io::Error::last_os_error();
        Facility { usable: false, detail: format!("not available in this kernel ({err})") }
    }
}

fn probe_userns() -> Facility {
    let read = |path: &str| std::fs::read_to_string(path).ok().map(|s| s.trim().to_owned());
    if read("/proc/sys/kernel/unprivileged_userns_clone").as_deref() == Some("0") {
        return Facility { usable: false, detail: "disabled by kernel.unprivileged_userns_clone=0".into() };
    }
    match read("/proc/sys/user/max_user_namespaces") {
        Some(max) if max != "0" => Facility { usable: true, detail: format!("up to {max}") },
        Some(_) => Facility { usable: false, detail: "user.max_user_namespaces is 0".into() },
        None => Facility { usable: false, detail: "not supported by this kernel".into() },
    }
}
