//! Turns a panic inside redb on a damaged file into [`StoreError::Damaged`].
//!
//! redb promises errors, not panics, only for an integrity check; a plain open or read of a file
//! whose pages were changed outside redb can hit an `unreachable!` or an out-of-bounds slice deep
//! in its B-tree code. The store is the only module that touches redb, so it is the one place
//! that can turn such a panic into an error a user can act on (salvage the log).
//!
//! The guard is narrow on purpose: [`guarded`] wraps only calls into the store, and it converts
//! only panics raised *in redb's source files*. A panic anywhere else inside the closure (a bug
//! in Ambidex, in serde, …) is reported by the usual hook and re-raised unchanged, so real bugs
//! are not hidden. While a guarded call runs on a thread, a redb panic's default report ("thread
//! 'main' panicked at …") is kept off stderr; its message and location go into the error instead.

use std::cell::{Cell, RefCell};
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::path::Path;
use std::sync::Once;

use super::StoreError;

thread_local! {
    /// How many guarded calls are running on this thread.
    static DEPTH: Cell<u32> = const { Cell::new(0) };
    /// Where the last guarded redb panic on this thread was raised, and what it said.
    static CAUGHT: RefCell<Option<String>> = const { RefCell::new(None) };
}

static HOOK: Once = Once::new();

/// Whether a panic raised at `file` comes from redb's own source.
fn in_redb(file: &str) -> bool {
    file.contains("/redb-") || file.contains("\\redb-") || file.starts_with("redb")
}

fn message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_else(|| "a panic without a message".to_owned())
}

/// Installs (once per process) a hook in front of the existing one: it stays silent for a redb
/// panic inside a guarded call and hands every other panic to the hook that was there before.
fn install_hook() {
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let location = info.location();
            let guarded = DEPTH.with(Cell::get) > 0;
            if guarded && location.is_some_and(|l| in_redb(l.file())) {
                // From the crate's directory on: the registry path before it says nothing.
                let at = location
                    .map(|l| {
                        let file = l.file();
                        format!(" at {}:{}", file.rfind("redb-").map_or(file, |i| &file[i..]), l.line())
                    })
                    .unwrap_or_default();
                let text = format!("redb panicked{at}: {}", message(info.payload()));
                CAUGHT.with(|c| *c.borrow_mut() = Some(text));
                return;
            }
            previous(info);
        }));
    });
}

/// Runs `call` (a read or open of the store at `path`); a panic raised by redb while it runs
/// becomes [`StoreError::Damaged`], any other panic goes on unwinding.
pub(crate) fn guarded<T>(path: &Path, call: impl FnOnce() -> Result<T, StoreError>) -> Result<T, StoreError> {
    install_hook();
    DEPTH.with(|d| d.set(d.get() + 1));
    CAUGHT.with(|c| c.borrow_mut().take());
    // Unwind safety: after a redb panic the handle the closure used is only ever reported as
    // damaged; nothing reads state the panic may have left half-updated as if it were whole.
    let result = catch_unwind(AssertUnwindSafe(call));
    DEPTH.with(|d| d.set(d.get() - 1));
    match result {
        Ok(result) => result,
        Err(payload) => match CAUGHT.with(|c| c.borrow_mut().take()) {
            Some(detail) => Err(StoreError::Damaged { path: path.to_owned(), detail }),
            None => resume_unwind(payload),
        },
    }
}
