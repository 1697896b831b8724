//! The sandbox holds against real commands: at each level this machine offers (bubblewrap, and
//! Landlock forced explicitly), writes outside the worktree and into git's data fail, TCP to a
//! listener the test opened fails, a timeout kills every child, and secrets stay out of the
//! environment. `.ci/run` installs bubblewrap so its level is tested, not skipped.

// Test and benchmark code may unwrap and panic: that is how it reports a failure (see clippy.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support {
    pub mod levels;
}

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ambidex::protocol::TaskId;
use ambidex::tools::runner::{RunOutcome, RunSpec, run};
use ambidex::tools::sandbox::SandboxLevel;
use ambidex::workspace::{WorktreeRequest, create};
use support::levels::levels;

struct Fixture {
    dir: tempfile::TempDir,
    worktree: PathBuf,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let repo_dir = dir.path().join("repo");
    let repo = git2::Repository::init(&repo_dir).unwrap();
    std::fs::write(repo_dir.join("README"), "hello\n").unwrap();
    let mut index = repo.index().unwrap();
    index.add_path(Path::new("README")).unwrap();
    let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
    let me = git2::Signature::now("t", "t@example.com").unwrap();
    repo.commit(Some("HEAD"), &me, &me, "init", &tree, &[]).unwrap();
    let worktree = create(&WorktreeRequest {
        repo: repo_dir,
        task: TaskId::new(),
        candidate: "production".into(),
        base: None,
        root: dir.path().join("worktrees"),
    })
    .unwrap()
    .path;
    std::fs::create_dir_all(dir.path().join("outside")).unwrap();
    Fixture { dir, worktree }
}

fn spec(fixture: &Fixture, level: SandboxLevel, command: &str) -> RunSpec {
    RunSpec {
        command: command.to_owned(),
        workdir: fixture.worktree.clone(),
        level,
        timeout: Duration::from_secs(30),
        output_cap: 64 * 1024,
        helper: PathBuf::from(env!("CARGO_BIN_EXE_ambidex")),
        env: Vec::new(),
        paths: Default::default(),
    }
}

async fn sh(fixture: &Fixture, level: SandboxLevel, command: &str) -> RunOutcome {
    run(&spec(fixture, level, command)).await.unwrap()
}

#[tokio::test]
async fn the_worktree_is_writable_and_nothing_outside_it_is() {
    let fixture = fixture();
    let outside = fixture.dir.path().join("outside/escaped.txt");
    for level in levels() {
        let inside = sh(&fixture, level, "echo made > made.txt && cat made.txt").await;
        assert!(inside.success(), "{level}: {}", inside.render());
        assert_eq!(inside.stdout, "made\n");
        assert_eq!(inside.level, level);

        let escaped = sh(&fixture, level, &format!("echo x > {}", outside.display())).await;
        assert!(!escaped.success(), "{level}: wrote outside: {}", escaped.render());
        assert!(!outside.exists(), "{level}: the file exists outside the worktree");
        let home = sh(&fixture, level, "touch \"$HOME/.ambidex-sandbox-probe\"").await;
        assert!(!home.success(), "{level}: wrote into HOME");
    }
}

#[tokio::test]
async fn git_data_is_read_only() {
    let fixture = fixture();
    for level in levels() {
        let head_before = sh(&fixture, level, "cat \"$(git rev-parse --git-dir)/HEAD\"").await;
        assert!(head_before.success(), "{level}: {}", head_before.render());
        let write = sh(&fixture, level, "echo junk >> \"$(git rev-parse --git-dir)/HEAD\"").await;
        assert!(!write.success(), "{level}: wrote into the git dir: {}", write.render());
        let objects = sh(&fixture, level, "touch \"$(git rev-parse --git-common-dir)/objects/planted\"").await;
        assert!(!objects.success(), "{level}: wrote into the object store");
        if level == SandboxLevel::Bubblewrap {
            let pointer = sh(&fixture, level, "echo 'gitdir: /tmp/evil' > .git").await;
            assert!(!pointer.success(), "bubblewrap: rewrote the .git pointer");
        }
    }
}

#[tokio::test]
async fn tcp_connections_are_refused() {
    let fixture = fixture();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let connect = format!(
        "python3 -c \"import socket; socket.create_connection(('127.0.0.1', {port}), timeout=3); print('connected')\""
    );
    for level in levels() {
        let outcome = sh(&fixture, level, &connect).await;
        assert!(!outcome.success() && !outcome.stdout.contains("connected"), "{level}: {}", outcome.render());
        assert!(listener.accept().is_err(), "{level}: the listener saw a connection");
    }
}

/// A setup step's command (network allowed, a dependency cache writable) connects and fills the
/// cache, and only that cache: the rest of the outside stays read-only, and the command after it,
/// without the allowance, is refused the network again.
#[tokio::test]
async fn only_a_setup_step_reaches_the_network_and_writes_its_caches() {
    let fixture = fixture();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let cache = fixture.dir.path().join("outside/registry");
    std::fs::create_dir_all(&cache).unwrap();
    let other = fixture.dir.path().join("outside/other.txt");
    let fetch = format!(
        "python3 -c \"import socket; socket.create_connection(('127.0.0.1', {port}), timeout=3); print('connected')\" \
         && echo crate > {cache}/tinyadd.crate && (echo no > {other} || true)",
        cache = cache.display(),
        other = other.display()
    );
    for level in levels() {
        let mut setup = spec(&fixture, level, &fetch);
        setup.paths.network = true;
        setup.paths.writable_caches = vec![cache.clone()];
        let outcome = run(&setup).await.unwrap();
        assert!(outcome.success() && outcome.stdout.contains("connected"), "{level}: {}", outcome.render());
        listener.accept().expect("the listener saw the setup's connection");
        assert_eq!(std::fs::read_to_string(cache.join("tinyadd.crate")).unwrap(), "crate\n", "{level}");
        assert!(!other.exists(), "{level}: only the cache is writable");
        std::fs::remove_file(cache.join("tinyadd.crate")).unwrap();

        let offline = sh(&fixture, level, &fetch).await;
        assert!(!offline.stdout.contains("connected"), "{level}: {}", offline.render());
        listener.set_nonblocking(true).unwrap();
        assert!(listener.accept().is_err(), "{level}: the command after setup reached the network");
        listener.set_nonblocking(false).unwrap();
        assert!(!cache.join("tinyadd.crate").exists(), "{level}: the cache is read-only after setup");
    }
}

fn processes_with(marker: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        if let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) {
            let text = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            if text.contains(marker) && !text.contains("sh -c") {
                found.push(text);
            }
        }
    }
    found
}

#[tokio::test]
async fn a_timeout_kills_the_command_and_all_its_children() {
    let fixture = fixture();
    let mut all = levels();
    all.push(SandboxLevel::None);
    for (i, level) in all.into_iter().enumerate() {
        let marker = format!("3{i}.4217");
        let mut spec =
            spec(&fixture, level, &format!("sleep {marker} & sleep {marker} & echo started; sleep {marker}"));
        spec.timeout = Duration::from_millis(700);
        let outcome = run(&spec).await.unwrap();
        assert!(outcome.timed_out, "{level}: {}", outcome.render());
        assert!(outcome.render().contains("killed after the"), "{}", outcome.render());
        std::thread::sleep(Duration::from_millis(200));
        assert_eq!(processes_with(&marker), Vec::<String>::new(), "{level}: children survived");
    }
}

#[tokio::test]
async fn long_output_is_cut_in_the_middle_with_a_note() {
    let fixture = fixture();
    let mut spec = spec(&fixture, SandboxLevel::None, "seq 1 200000");
    spec.output_cap = 4096;
    let outcome = run(&spec).await.unwrap();
    assert!(outcome.success());
    assert!(outcome.stdout.starts_with("1\n2\n") && outcome.stdout.ends_with("199999\n200000\n"));
    assert!(outcome.dropped_bytes > 1_000_000);
    assert!(outcome.render().contains("bytes of output cut from the middle"), "{}", outcome.render());
}

/// Re-run by `secrets_never_reach_the_command` with a secret in its environment.
#[tokio::test]
async fn child_env_dump() {
    if std::env::var_os("SANDBOX_CHILD").is_none() {
        return;
    }
    let fixture = fixture();
    for level in levels().into_iter().chain([SandboxLevel::None]) {
        let outcome = sh(&fixture, level, "env").await;
        println!("LEVEL {level}\n{}", outcome.stdout);
    }
}

#[test]
fn secrets_never_reach_the_command() {
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_env_dump", "--nocapture"])
        .env("SANDBOX_CHILD", "1")
        .env("DEPLOY_TOKEN", "tok-0123456789-secret")
        .env("OPENAI_API_KEY", "sk-never-shown-0123456789")
        .env("DB_PASSWORD", "hunter2hunter2")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("LEVEL none") && stdout.contains("PATH="), "{stdout}");
    for secret in ["tok-0123456789-secret", "sk-never-shown", "hunter2hunter2", "DEPLOY_TOKEN", "OPENAI_API_KEY"] {
        assert!(!stdout.contains(secret), "{secret} leaked:\n{stdout}");
    }
}

/// Where this machine lets the engine make a pids cgroup (root here and in CI), a command's
/// processes are capped and every one of them, whatever its session, is killed with the group.
#[test]
fn a_pids_cgroup_caps_a_process_flood_and_kills_it_whole() {
    use std::os::unix::process::CommandExt;
    let group = match ambidex::tools::cgroup::PidsCgroup::create(40) {
        Ok(group) => group,
        Err(reason) => {
            assert!(std::env::var_os("CI").is_none(), "CI runs as root and needs the pids cgroup: {reason}");
            eprintln!("skipped: {reason}");
            return;
        }
    };
    let fd = group.procs_fd();
    let mut command = std::process::Command::new("/bin/sh");
    command.args(["-c", "for i in $(seq 80); do setsid sleep 1307.5 > /dev/null 2>&1 & done; echo spawned"]);
    command.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
    // SAFETY: only `write` runs between fork and exec.
    unsafe {
        command.pre_exec(move || {
            if libc::write(fd, b"0".as_ptr().cast(), 1) != 1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let out = command.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("fork"), "80 processes fit under a cap of 40: {stderr}");
    let alive = |marker: &str| {
        std::fs::read_dir("/proc")
            .unwrap()
            .flatten()
            .filter(|e| {
                let cmdline = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
                let stat = std::fs::read_to_string(e.path().join("stat")).unwrap_or_default();
                String::from_utf8_lossy(&cmdline).contains(marker) && !stat.contains(") Z")
            })
            .count()
    };
    assert!(alive("1307.5") > 0, "the setsid sleepers outlive their shell until the group goes");
    drop(group);
    assert_eq!(alive("1307.5"), 0, "every process of the group is killed with it");
}
