//! A real PostgreSQL server for the tests of the shared store: started once per test binary
//! from the machine's own binaries (`initdb`, `pg_ctl`; Debian's `postgresql` package), on a
//! free port on 127.0.0.1 with a data directory of its own, stopped when the binary exits. Each
//! test takes a fresh database of it, so tests run in parallel without seeing each other.
//!
//! PostgreSQL refuses to run as root: as root (CI), the server runs as the `postgres` user.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

/// The running server.
pub struct Server {
    data: PathBuf,
    port: u16,
    bin: PathBuf,
}

static SERVER: OnceLock<Server> = OnceLock::new();
static DATABASES: AtomicU32 = AtomicU32::new(0);

/// Where `initdb` and `pg_ctl` are: on the PATH, or in Debian's versioned directory.
fn bin_dir() -> PathBuf {
    if let Ok(found) = which("pg_ctl") {
        return found.parent().unwrap().to_path_buf();
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL must be installed (`apt-get install postgresql`; .ci/run does it)")
        .flatten()
        .map(|entry| entry.path().join("bin"))
        .filter(|bin| bin.join("pg_ctl").exists())
        .collect();
    versions.sort();
    versions.pop().expect("no PostgreSQL server binaries under /usr/lib/postgresql")
}

fn which(program: &str) -> Result<PathBuf, ()> {
    let path = std::env::var_os("PATH").ok_or(())?;
    std::env::split_paths(&path).map(|dir| dir.join(program)).find(|candidate| candidate.exists()).ok_or(())
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// `program` of the server's binaries, run as the user the server runs as.
fn server_command(bin: &Path, program: &str) -> Command {
    if is_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(bin.join(program));
        command
    } else {
        Command::new(bin.join(program))
    }
}

fn run(mut command: Command, what: &str) {
    let output = command.output().unwrap_or_else(|err| panic!("{what}: {err}"));
    assert!(
        output.status.success(),
        "{what} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

extern "C" fn stop_at_exit() {
    if let Some(server) = SERVER.get() {
        let mut stop = server_command(&server.bin, "pg_ctl");
        stop.arg("stop").arg("-D").arg(&server.data).args(["-m", "immediate", "-s"]);
        let _ = stop.output();
        let _ = std::fs::remove_dir_all(server.data.parent().unwrap());
    }
}

impl Server {
    /// The server, started on first use.
    pub fn get() -> &'static Server {
        SERVER.get_or_init(|| {
            let bin = bin_dir();
            let root = tempfile::Builder::new().prefix("ambidex-pg-").tempdir().unwrap().keep();
            let data = root.join("data");
            std::fs::create_dir(&data).unwrap();
            if is_root() {
                run(
                    {
                        let mut chown = Command::new("chown");
                        chown.args(["-R", "postgres:postgres"]).arg(&root);
                        chown
                    },
                    "chown the test server's directory",
                );
            }
            let mut initdb = server_command(&bin, "initdb");
            initdb.arg("-D").arg(&data).args(["-A", "trust", "-U", "ambidex", "-E", "UTF8", "--no-sync"]);
            run(initdb, "initdb");
            let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
            let options = format!(
                "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200",
                root.display()
            );
            let mut start = server_command(&bin, "pg_ctl");
            start.arg("start").arg("-D").arg(&data).args(["-w", "-s", "-o", &options]).arg("-l").arg(root.join("log"));
            run(start, "pg_ctl start");
            // SAFETY: registering a plain `extern "C"` function has no preconditions.
            unsafe { libc::atexit(stop_at_exit) };
            Server { data, port, bin }
        })
    }

    /// The URL of a new, empty database on the server.
    pub fn database(&self) -> String {
        let name = format!("t{}_{}", std::process::id(), DATABASES.fetch_add(1, Ordering::SeqCst));
        let mut admin = postgres::Client::connect(&self.url("postgres"), postgres::NoTls).unwrap();
        admin.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
        self.url(&name)
    }

    /// The URL of database `name`.
    pub fn url(&self, name: &str) -> String {
        format!("postgres://ambidex@127.0.0.1:{}/{name}", self.port)
    }
}
