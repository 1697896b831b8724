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
