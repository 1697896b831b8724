//! The Landlock level's supervisor: the helper process forks the confined command and stays
//! outside the sandbox as its "child subreaper", so every descendant that loses its parent
//! (a daemon, a `setsid` child, a double fork) is re-parented to it rather than to init. When the
//! command ends, or the runner asks it to stop (SIGTERM, SIGINT, SIGHUP, or the engine dying:
//! the runner sets that as the parent-death signal), it kills every process left beneath it and
//! only then exits, with the command's status.
//!
//! The confined command cannot signal the supervisor: Landlock's signal scope keeps it from
//! signalling any process outside its domain.

use std::ffi::CString;

use super::landlock::{Confinement, restrict};

/// Runs `argv` confined and supervised. Returns only the reason it could not start; otherwise
/// this process exits with the command's status.
pub fn run(confinement: &Confinement, argv: &[String]) -> String {
    let Some(program) = argv.first() else {
        return "no command given".into();
    };
    let Ok(args) = argv.iter().map(|a| CString::new(a.as_bytes())).collect::<Result<Vec<_>, _>>() else {
        return "the command contains a NUL byte".into();
    };
    // SAFETY: prctl with PR_SET_CHILD_SUBREAPER takes an integer flag.
    if unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1 as libc::c_ulong, 0, 0, 0) } != 0 {
        return format!("could not become a subreaper: {}", std::io::Error::last_os_error());
    }
    let waited = blocked_signals();
    let mut previous = empty_set();
    // SAFETY: both sets are initialised sigset_t values.
    unsafe { libc::sigprocmask(libc::SIG_BLOCK, &waited, &mut previous) };
    // SAFETY: this helper is single-threaded (it was just started for this), so the child may
    // run ordinary Rust code before exec.
    let child = unsafe { libc::fork() };
    if child < 0 {
        return format!("could not fork: {}", std::io::Error::last_os_error());
    }
    if child == 0 {
        // SAFETY: restores the mask the helper started with.
        unsafe { libc::sigprocmask(libc::SIG_SETMASK, &previous, std::ptr::null_mut()) };
        // SAFETY: the command dies with its supervisor.
        unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong, 0, 0, 0) };
        let reason = match restrict(confinement) {
            Ok(_) => {
                let mut pointers: Vec<*const libc::c_char> = args.iter().map(|a| a.as_ptr()).collect();
                pointers.push(std::ptr::null());
                // SAFETY: a NUL-terminated argv of valid C strings that outlive the call.
                unsafe { libc::execvp(pointers[0], pointers.as_ptr()) };
                format!("could not run `{program}`: {}", std::io::Error::last_os_error())
            }
            Err(reason) => reason,
        };
        eprintln!("ambidex sandbox: {reason}");
        // SAFETY: ends the child without running the parent's exit handlers.
        unsafe { libc::_exit(126) };
    }
    let status = supervise(child, &waited);
    kill_descendants();
    finish(status)
}

fn empty_set() -> libc::sigset_t {
    // SAFETY: sigset_t is plain data; sigemptyset initialises it.
    let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: a valid pointer to the set.
    unsafe { libc::sigemptyset(&mut set) };
    set
}

fn blocked_signals() -> libc::sigset_t {
    let mut set = empty_set();
    for signal in [libc::SIGCHLD, libc::SIGTERM, libc::SIGINT, libc::SIGHUP] {
        // SAFETY: a valid set and signal number.
        unsafe { libc::sigaddset(&mut set, signal) };
    }
    set
}

/// How the supervised command ended.
enum Ended {
    Exited(i32),
    Signalled(i32),
    Stopped(i32),
}

/// Waits until the command ends or the supervisor is told to stop.
fn supervise(child: libc::pid_t, waited: &libc::sigset_t) -> Ended {
    loop {
        // SAFETY: sigwaitinfo fills the info struct it is given.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: a valid set and info pointer.
        let signal = unsafe { libc::sigwaitinfo(waited, &mut info) };
        if signal == libc::SIGTERM || signal == libc::SIGINT || signal == libc::SIGHUP {
            return Ended::Stopped(signal);
        }
        // SIGCHLD (or EINTR): reap whatever ended; the command's own end ends the wait.
        loop {
            let mut status = 0;
            // SAFETY: a valid status pointer.
            let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
            if pid <= 0 {
                break;
            }
            if pid == child {
                if libc::WIFEXITED(status) {
                    return Ended::Exited(libc::WEXITSTATUS(status));
                }
                if libc::WIFSIGNALED(status) {
                    return Ended::Signalled(libc::WTERMSIG(status));
                }
            }
        }
    }
}

/// The pids whose parent is this process.
fn children() -> Vec<libc::pid_t> {
    // SAFETY: getpid has no preconditions.
    let me = unsafe { libc::getpid() };
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| entry.file_name().to_str().and_then(|name| name.parse::<libc::pid_t>().ok()))
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|stat| stat.rsplit_once(')').map(|(_, rest)| rest.to_owned()))
                .and_then(|rest| rest.split_whitespace().nth(1).and_then(|ppid| ppid.parse::<libc::pid_t>().ok()))
                == Some(me)
        })
        .collect()
}

/// Kills every process beneath this one: children first; their orphans are re-parented here
/// and killed in the next round, until no child is left.
fn kill_descendants() {
    loop {
        for pid in children() {
            // SAFETY: signals a child of this process.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        let mut status = 0;
        // SAFETY: a valid status pointer.
        let reaped = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
        if reaped < 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::ECHILD) {
            return;
        }
        if reaped == 0 {
            // Children remain that have not died yet: look again shortly.
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }
}

/// Exits like the command did.
fn finish(ended: Ended) -> String {
    let signal = match ended {
        Ended::Exited(code) => std::process::exit(code),
        Ended::Signalled(signal) | Ended::Stopped(signal) => signal,
    };
    // Die of the same signal, so the runner sees it.
    let set = blocked_signals();
    // SAFETY: resets the disposition and unblocks before raising the signal on this process.
    unsafe {
        libc::signal(signal, libc::SIG_DFL);
        libc::sigprocmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
        libc::raise(signal);
    }
    std::process::exit(128 + signal)
}
