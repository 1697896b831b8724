//! The classifier on output real tools print.

use super::*;

const CARGO_NO_NETWORK: &str = "exit code 101 (0.41 s, sandbox: bubblewrap)
--- stderr ---
    Updating crates.io index
warning: spurious network error (3 tries remaining): [6] Couldn't resolve host name (Could not resolve host: index.crates.io)
error: failed to get `serde` as a dependency of package `demo v0.1.0 (/work/demo)`

Caused by:
  download of config.json failed

Caused by:
  failed to download from `https://index.crates.io/config.json`

Caused by:
  [6] Couldn't resolve host name (Could not resolve host: index.crates.io)
";

const CARGO_OFFLINE: &str = "exit code 101 (0.05 s, sandbox: landlock)
--- stderr ---
error: failed to get `anyhow` as a dependency of package `demo v0.1.0 (/work/demo)`

Caused by:
  attempting to make an HTTP request, but --offline was specified
";

const CARGO_CONNECT: &str = "error: failed to get `rand` as a dependency of package `demo v0.1.0`
Caused by:
  Could not connect to index.crates.io (Connection refused)";

const PIP: &str = "WARNING: Retrying (Retry(total=4, connect=None, read=None, redirect=None, status=None)) after \
connection broken by 'NewConnectionError('<pip._vendor.urllib3.connection.HTTPSConnection object at 0x7f>: Failed to \
establish a new connection: [Errno -3] Temporary failure in name resolution')': /simple/requests/
ERROR: Could not find a version that satisfies the requirement requests (from versions: none)
ERROR: No matching distribution found for requests";

const UV: &str = "error: Failed to fetch: `https://pypi.org/simple/requests/`
  Caused by: Request failed after 3 retries
  Caused by: error sending request for url (https://pypi.org/simple/requests/)
  Caused by: client error (Connect)
  Caused by: dns error: failed to lookup address information: Temporary failure in name resolution";

const NPM: &str = "npm ERR! code ENOTFOUND
npm ERR! syscall getaddrinfo
npm ERR! errno ENOTFOUND
npm ERR! network request to https://registry.npmjs.org/left-pad failed, reason: getaddrinfo ENOTFOUND registry.npmjs.org";

const GO: &str = "go: downloading github.com/google/uuid v1.6.0
main.go:3:8: github.com/google/uuid@v1.6.0: Get \"https://proxy.golang.org/github.com/google/uuid/@v/v1.6.0.zip\": \
dial tcp: lookup proxy.golang.org on 127.0.0.53:53: server misbehaving";

const NOT_FOUND: &str = "exit code 127 (0.00 s, sandbox: bubblewrap)
--- stderr ---
bash: line 1: pytest: command not found
";

const CARGO_NO_SUBCOMMAND: &str = "error: no such command: `nextest`

\tView all installed commands with `cargo --list`";

const ENOSPC: &str =
    "error: failed to write /work/target/debug/deps/libdemo.rlib: No space left on device (os error 28)";

const TIMEOUT: &str = "killed after the 600.0 s timeout (600.00 s, sandbox: bubblewrap)
--- stdout ---
running 3 tests
";

const DENIAL: &str = "refused by policy: `curl https://example.com` matches deny rule `curl`";

const BWRAP: &str = "bwrap: Can't mount proc on /newroot/proc: Operation not permitted";

const FAILING_TEST: &str = "exit code 101 (2.10 s, sandbox: bubblewrap)
--- stdout ---
running 2 tests
test tests::adds ... ok
test tests::subtracts ... FAILED

failures:

---- tests::subtracts stdout ----
thread 'tests::subtracts' panicked at src/lib.rs:12:9:
assertion `left == right` failed
  left: 1
 right: 2

failures:
    tests::subtracts

test result: FAILED. 1 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s
";

const COMPILE_ERROR: &str = "exit code 101 (0.80 s, sandbox: landlock)
--- stderr ---
   Compiling demo v0.1.0 (/work/demo)
error[E0425]: cannot find value `x` in this scope
 --> src/lib.rs:3:5
  |
3 |     x + 1
  |     ^ not found in this scope
";

const TEST_THAT_PRINTS_A_DNS_ERROR: &str = "test client::fetches ... FAILED
thread 'client::fetches' panicked at src/client.rs:40:5:
called `Result::unwrap()` on an `Err` value: Could not resolve host: api.example.com
test result: FAILED. 0 passed; 1 failed";

#[test]
fn network_failures_of_every_ecosystem_are_the_environment() {
    for (name, sample) in [
        ("cargo without network", CARGO_NO_NETWORK),
        ("cargo --offline", CARGO_OFFLINE),
        ("cargo connect", CARGO_CONNECT),
        ("pip", PIP),
        ("uv", UV),
        ("npm", NPM),
        ("go", GO),
    ] {
        assert_eq!(classify(Some(1), sample), FailureClass::Network, "{name}");
    }
}

#[test]
fn missing_commands_disk_timeouts_and_denials_are_the_environment() {
    assert_eq!(classify(Some(127), NOT_FOUND), FailureClass::MissingCommand);
    assert_eq!(classify(Some(2), "/bin/sh: 1: pytest: not found\n"), FailureClass::MissingCommand, "dash says it so");
    assert_eq!(classify(Some(127), ""), FailureClass::MissingCommand, "exit 127 alone says it");
    assert_eq!(classify(Some(101), CARGO_NO_SUBCOMMAND), FailureClass::MissingCommand);
    assert_eq!(classify(Some(101), ENOSPC), FailureClass::DiskFull);
    assert_eq!(classify(None, TIMEOUT), FailureClass::Timeout);
    assert_eq!(classify(None, DENIAL), FailureClass::SandboxDenied);
    assert_eq!(classify(Some(1), BWRAP), FailureClass::SandboxDenied);
    for class in [
        FailureClass::Network,
        FailureClass::MissingCommand,
        FailureClass::DiskFull,
        FailureClass::Timeout,
        FailureClass::SandboxDenied,
    ] {
        assert!(class.is_environment(), "{class}");
        assert!(!class.fix().is_empty() && !class.what().is_empty());
    }
}

#[test]
fn failing_tests_and_compile_errors_are_the_code() {
    assert_eq!(classify(Some(101), FAILING_TEST), FailureClass::Code);
    assert_eq!(classify(Some(101), COMPILE_ERROR), FailureClass::Code);
    assert_eq!(classify(Some(101), TEST_THAT_PRINTS_A_DNS_ERROR), FailureClass::Code, "a failing test wins");
    assert_eq!(classify(Some(1), "something went wrong"), FailureClass::Code);
    assert!(!FailureClass::Code.is_environment());
}
