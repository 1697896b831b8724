//! libgit2 sets up OpenSSL when it initialises, on the process's first git2 call, and that set-up
//! parses the system's whole CA bundle: about 55 ms of CPU (measured with `perf` on
//! `ambidex task list`, nine tenths of that command's time) that only a push over HTTPS needs.
//! A local command finds the repository root with git2, so it paid for TLS it never used.
//!
//! The binary therefore initialises libgit2 with OpenSSL's default CA file pointed at an empty
//! one ([`defer_ca_bundle`]), and the push loads the real bundle into libgit2's TLS context just
//! before it connects ([`load_ca_bundle`]). The CA directory (hashed certificates, read one by one
//! when a certificate is checked) costs nothing up front and stays as it was. A process that never
//! calls [`defer_ca_bundle`] (the tests, the benches, an embedding program) keeps libgit2's eager
//! set-up, and [`load_ca_bundle`] then only adds the certificates it already has.

use std::ffi::OsString;
use std::sync::OnceLock;

use super::ForgeError;

/// The variable OpenSSL reads its default CA file from.
const CERT_FILE_VAR: &str = "SSL_CERT_FILE";

/// An existing file with no certificate in it: OpenSSL loads it (and ignores that it found
/// none), and git2's certificate probe keeps it since it exists.
const EMPTY_CERT_FILE: &str = "/dev/null";

/// The CA file libgit2 would have loaded at initialisation, set once [`defer_ca_bundle`] has run.
static DEFERRED: OnceLock<Option<OsString>> = OnceLock::new();

/// The outcome of loading the deferred bundle, computed once.
static LOADED: OnceLock<Result<(), String>> = OnceLock::new();

/// Initialises libgit2 without loading the CA bundle, and remembers the bundle for
/// [`load_ca_bundle`]. `SSL_CERT_FILE` is restored to what git2's own initialisation would have
/// left it (the user's value, else the probed system bundle), so child processes see no change.
///
/// # Safety
/// It changes the process's environment: call it before any other thread exists, and before any
/// other git2 call.
pub unsafe fn defer_ca_bundle() {
    let bundle =
        bundle_to_load(std::env::var_os(CERT_FILE_VAR), || openssl_probe::probe().cert_file.map(OsString::from));
    // SAFETY: the caller guarantees no other thread exists that could read the environment.
    unsafe { std::env::set_var(CERT_FILE_VAR, EMPTY_CERT_FILE) };
    // Initialises libgit2 (and OpenSSL with it), once per process. An empty in-memory
    // configuration reads no file (`Version::get` would not initialise anything).
    drop(git2::Config::new());
    match &bundle {
        // SAFETY: as above.
        Some(file) => unsafe { std::env::set_var(CERT_FILE_VAR, file) },
        // SAFETY: as above.
        None => unsafe { std::env::remove_var(CERT_FILE_VAR) },
    }
    let _ = DEFERRED.set(bundle);
}

/// The CA file to load when TLS is first needed: the one the user named, else the system's.
fn bundle_to_load(from_env: Option<OsString>, probe: impl FnOnce() -> Option<OsString>) -> Option<OsString> {
    from_env.filter(|file| !file.is_empty() && std::path::Path::new(file).exists()).or_else(probe)
}

/// Loads the CA bundle [`defer_ca_bundle`] left out into libgit2's TLS context; does nothing when
/// nothing was deferred or it is loaded already. Call it before any git2 network operation.
pub fn load_ca_bundle() -> Result<(), ForgeError> {
    let Some(Some(file)) = DEFERRED.get() else {
        return Ok(());
    };
    LOADED
        .get_or_init(|| {
            // SAFETY: git2 marks this unsafe because it changes libgit2's global TLS context without
            // a lock of its own. It runs once (this `OnceLock`), and every libgit2 connection in
            // this crate is made by `forge::push`, after this call has returned; OpenSSL locks the
            // certificate store it adds to.
            unsafe { git2::opts::set_ssl_cert_file(file) }.map_err(|err| {
                format!("cannot load the CA certificates {}: {}", std::path::Path::new(file).display(), err.message())
            })
        })
        .clone()
        .map_err(ForgeError::Git)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_users_bundle_wins_over_the_probed_one_when_it_exists() {
        let probed = || Some(OsString::from("/probed.pem"));
        assert_eq!(bundle_to_load(Some(OsString::from("/dev/null")), probed), Some(OsString::from("/dev/null")));
        assert_eq!(bundle_to_load(None, probed), Some(OsString::from("/probed.pem")));
        assert_eq!(bundle_to_load(Some(OsString::new()), probed), Some(OsString::from("/probed.pem")));
        let missing = OsString::from("/no/such/bundle.pem");
        assert_eq!(bundle_to_load(Some(missing), || None), None);
    }

    #[test]
    fn nothing_is_loaded_when_nothing_was_deferred() {
        assert!(load_ca_bundle().is_ok());
    }
}
