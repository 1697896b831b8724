//! The Landlock level: the `ambidex __sandbox landlock` helper becomes a small supervisor
//! (`tools/supervisor.rs`) whose child restricts itself and then executes the command, which
//! inherits every restriction:
//! - files: reads only beneath the read list (the worktree, the git data, the private temp dir,
//!   system paths and discovered toolchains: `tools/read_paths.rs`), writes only beneath the
//!   worktree, the private temp dir and a few devices; no device nodes can be made;
//! - network: TCP bind and connect refused by Landlock, every other socket family and every
//!   `connect`/`bind` by the seccomp filter (`tools/seccomp.rs`);
//! - scopes (Landlock ABI 6): no signals to, and no abstract Unix sockets of, processes outside
//!   the sandbox; ptrace and the `/proc` entries that need it (`environ`, `mem`, `fd`) of the
//!   engine are refused by Landlock's own ptrace rule;
//! - `no_new_privs`, every capability dropped (so running as root grants nothing more), a
//!   memory limit per process and, for a user other than root, a process-count limit.
//!
//! Doing this in a fresh process keeps the engine's own threads out of the restriction.

use std::path::PathBuf;

use landlock::{
    ABI, Access, AccessFs, AccessNet, CompatLevel, Compatible, Ruleset, RulesetAttr, RulesetCreatedAttr, RulesetStatus,
    Scope, path_beneath_rules,
};

/// The Landlock ABI whose rights are asked for (6 adds the signal and abstract-socket scopes).
pub const WANTED_ABI: ABI = ABI::V6;

/// Devices every command may write to (and query with ioctl: `isatty` on /dev/null).
const WRITABLE_DEVICES: &[&str] = &["/dev/null", "/dev/zero", "/dev/full"];
/// Terminal devices a command may open for reading and writing but never ioctl: `TIOCSTI` on a
/// terminal of the user's would type into it. `/dev/tty` (the engine's terminal) is left out.
const TERMINALS: &[&str] = &["/dev/ptmx", "/dev/pts"];
/// Devices every command may read.
const READABLE_DEVICES: &[&str] = &["/dev/random", "/dev/urandom"];

/// What a confined command may touch, and its limits.
#[derive(Debug, Clone, Default)]
pub struct Confinement {
    /// Directories (or files) it may read beneath.
    pub readable: Vec<PathBuf>,
    /// Directories it may write beneath.
    pub writable: Vec<PathBuf>,
    /// Most processes of the command's user while it runs (not enforced for root: see doctor).
    pub max_processes: u64,
    /// Most address space per process, in bytes.
    pub max_memory: u64,
    /// Whether it may reach the network (a setup step's dependency fetch); never for agents'
    /// commands or validation.
    pub network: bool,
}

/// How much of the restriction the kernel enforced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enforced {
    /// Every right asked for.
    Fully,
    /// Some (an older ABI): files and TCP but maybe not the scopes.
    Partially,
}

/// Restricts this process (meant for the child right before `exec`). Never partially applied:
/// on error, nothing should be executed.
pub fn restrict(confinement: &Confinement) -> Result<Enforced, String> {
    set_limits(confinement);
    drop_bounding_capabilities();
    let abi = WANTED_ABI;
    let failed = |err: landlock::RulesetError| format!("Landlock could not be applied: {err}");
    // Landlock takes rules on directories, files and devices only (a socket or a pipe is refused
    // with EBADFD, which would fail the whole ruleset).
    let ruleable = |path: &PathBuf| {
        use std::os::unix::fs::FileTypeExt;
        std::fs::metadata(path).is_ok_and(|m| m.is_dir() || m.is_file() || m.file_type().is_char_device())
    };
    let existing = |paths: &[PathBuf]| paths.iter().filter(|p| ruleable(p)).cloned().collect::<Vec<_>>();
    let devices = |names: &[&str]| names.iter().map(PathBuf::from).filter(|p| ruleable(p)).collect::<Vec<_>>();
    let write_access = AccessFs::from_all(abi) & !(AccessFs::MakeChar | AccessFs::MakeBlock);
    let mut ruleset = Ruleset::default()
        .set_compatibility(CompatLevel::BestEffort)
        .handle_access(AccessFs::from_all(abi))
        .map_err(failed)?;
    if !confinement.network {
        ruleset = ruleset.handle_access(AccessNet::from_all(abi)).map_err(failed)?;
    }
    let status = ruleset
        .scope(Scope::from_all(abi))
        .map_err(failed)?
        .create()
        .map_err(failed)?
        .add_rules(path_beneath_rules(existing(&confinement.readable), AccessFs::from_read(abi)))
        .map_err(failed)?
        .add_rules(path_beneath_rules(devices(READABLE_DEVICES), AccessFs::from_read(abi)))
        .map_err(failed)?
        .add_rules(path_beneath_rules(existing(&confinement.writable), write_access))
        .map_err(failed)?
        .add_rules(path_beneath_rules(
            devices(WRITABLE_DEVICES),
            AccessFs::from_read(abi) | AccessFs::WriteFile | AccessFs::IoctlDev,
        ))
        .map_err(failed)?
        .add_rules(path_beneath_rules(devices(TERMINALS), AccessFs::from_read(abi) | AccessFs::WriteFile))
        .map_err(failed)?
        .restrict_self()
        .map_err(failed)?;
    let enforced = match status.ruleset {
        RulesetStatus::NotEnforced => return Err("Landlock is not enforced by this kernel".into()),
        RulesetStatus::PartiallyEnforced => Enforced::Partially,
        RulesetStatus::FullyEnforced => Enforced::Fully,
    };
    if !status.no_new_privs {
        return Err("no_new_privs could not be set".into());
    }
    super::seccomp::install(confinement.network)?;
    clear_capabilities()?;
    Ok(enforced)
}

fn set_limits(confinement: &Confinement) {
    let limit = |resource, value: libc::rlim_t| {
        let rlimit = libc::rlimit { rlim_cur: value, rlim_max: value };
        // SAFETY: setrlimit reads the struct it is given.
        unsafe { libc::setrlimit(resource, &rlimit) };
    };
    if confinement.max_memory > 0 {
        limit(libc::RLIMIT_AS, confinement.max_memory);
    }
    // SAFETY: getuid has no preconditions.
    let uid = unsafe { libc::getuid() };
    if confinement.max_processes > 0 && uid != 0 {
        // The limit counts every process of the user: the ones running now plus the budget.
        limit(libc::RLIMIT_NPROC, processes_of(uid) + confinement.max_processes);
    }
}

/// How many processes `uid` runs now.
fn processes_of(uid: u32) -> u64 {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0;
    };
    let owned = |entry: &std::fs::DirEntry| {
        use std::os::unix::fs::MetadataExt;
        entry.file_name().to_string_lossy().bytes().all(|b| b.is_ascii_digit())
            && entry.metadata().is_ok_and(|m| m.uid() == uid)
    };
    entries.flatten().filter(owned).count() as u64
}

/// Empties the capability bounding set, so the command's `exec`s (as root too) gain nothing.
fn drop_bounding_capabilities() {
    for capability in 0..64 {
        // SAFETY: prctl with PR_CAPBSET_DROP takes a capability number; an unknown one is EINVAL.
        unsafe { libc::prctl(libc::PR_CAPBSET_DROP, capability as libc::c_ulong, 0, 0, 0) };
    }
    // SAFETY: clears the ambient set; no pointers involved.
    unsafe { libc::prctl(libc::PR_CAP_AMBIENT, libc::PR_CAP_AMBIENT_CLEAR_ALL as libc::c_ulong, 0, 0, 0) };
}

/// Clears this process's effective, permitted and inheritable capabilities.
fn clear_capabilities() -> Result<(), String> {
    #[repr(C)]
    struct Header {
        version: u32,
        pid: i32,
    }
    #[repr(C)]
    #[derive(Clone, Copy)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    const VERSION_3: u32 = 0x2008_0522;
    let mut header = Header { version: VERSION_3, pid: 0 };
    let data = [Data { effective: 0, permitted: 0, inheritable: 0 }; 2];
    // SAFETY: capset reads a version-3 header and two data structs, as given.
    let result = unsafe { libc::syscall(libc::SYS_capset, &mut header as *mut Header, data.as_ptr()) };
    if result != 0 {
        return Err(format!("capabilities could not be dropped: {}", std::io::Error::last_os_error()));
    }
    Ok(())
}
