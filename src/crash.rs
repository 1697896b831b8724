//! Crash points: where the kill test (`tests/kill_points.rs`, `bench/kill-every-event.sh`) makes
//! this process die with SIGKILL, exactly as a power cut or an OOM kill would, to prove that a
//! resumed run ends where an uninterrupted one does.
//!
//! Two triggers, read once from the environment (not `AMBIDEX_*`: those are configuration):
//! - `KILL_AMBIDEX_AFTER_EVENT=N`: die right after the Nth event this process committed is durable;
//! - `KILL_AMBIDEX_AT=NAME[:K]`: die the Kth time (default the first) the code passes the crash
//!   point `NAME` (e.g. `worktree.checkout`, `commit.written`, `adopt.reset`).
//!
//! The triggers exist only in debug builds (every `cargo test`) and in builds with the `kill-hook`
//! feature; in a release build both functions are empty and the environment is never read.

/// The crash points the code passes, in the order a task meets them; the kill test walks them all.
pub const POINTS: &[&str] = &[
    "worktree.branch",
    "worktree.staged",
    "worktree.checkout",
    "checkpoint.written",
    "commit.index",
    "commit.written",
    "adopt.reset",
    "adopt.applied",
];

/// Called after each committed batch with its number of events: dies once the count set by
/// `KILL_AMBIDEX_AFTER_EVENT` is reached.
#[inline]
pub fn events_committed(count: usize) {
    #[cfg(any(debug_assertions, feature = "kill-hook"))]
    armed::events_committed(count);
    #[cfg(not(any(debug_assertions, feature = "kill-hook")))]
    let _ = count;
}

/// Marks the crash point `name` (one of [`POINTS`]): dies here when `KILL_AMBIDEX_AT` names it.
#[inline]
pub fn point(name: &'static str) {
    #[cfg(any(debug_assertions, feature = "kill-hook"))]
    armed::point(name);
    #[cfg(not(any(debug_assertions, feature = "kill-hook")))]
    let _ = name;
}

#[cfg(any(debug_assertions, feature = "kill-hook"))]
mod armed {
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicU64, Ordering};

    struct Triggers {
        after_events: Option<u64>,
        at: Option<(String, u64)>,
    }

    static TRIGGERS: OnceLock<Triggers> = OnceLock::new();
    static EVENTS: AtomicU64 = AtomicU64::new(0);
    static PASSES: AtomicU64 = AtomicU64::new(0);

    fn triggers() -> &'static Triggers {
        TRIGGERS.get_or_init(|| {
            let after_events = std::env::var("KILL_AMBIDEX_AFTER_EVENT").ok().and_then(|n| n.trim().parse().ok());
            let at = std::env::var("KILL_AMBIDEX_AT").ok().map(|spec| match spec.split_once(':') {
                Some((name, nth)) => (name.to_owned(), nth.trim().parse().unwrap_or(1)),
                None => (spec, 1),
            });
            Triggers { after_events, at }
        })
    }

    pub(super) fn events_committed(count: usize) {
        let Some(limit) = triggers().after_events else { return };
        let seen = EVENTS.fetch_add(count as u64, Ordering::SeqCst) + count as u64;
        if seen >= limit {
            die();
        }
    }

    pub(super) fn point(name: &str) {
        let Some((wanted, nth)) = &triggers().at else { return };
        if wanted == name && PASSES.fetch_add(1, Ordering::SeqCst) + 1 == *nth {
            die();
        }
    }

    fn die() {
        // SAFETY: sends SIGKILL to this very process; nothing is read or written.
        unsafe {
            libc::kill(libc::getpid(), libc::SIGKILL);
        }
    }
}
