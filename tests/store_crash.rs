//! Crash safety of the store, with real processes: a child appends events in a loop and reports
//! every acknowledged sequence number on a pipe; the parent kills it with SIGKILL at random points,
//! reopens the store and checks that nothing acknowledged was lost and the chain still verifies.
//! The same child, limited by RLIMIT_FSIZE, shows what a full disk does.
//!
//! The child is this test binary itself, re-run with `CHILD_STORE` set, so the child code is the
//! real library under a real process boundary.

// Test and benchmark code may unwrap and panic: that is how it reports a failure (see clippy.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use ambidex::protocol::{Actor, EventKind, NewEvent, TaskId, TaskSpec};
use ambidex::store::{Store, StoreReader, Verification};

const CHILD_STORE: &str = "CHILD_STORE";
const CHILD_FSIZE_LIMIT: &str = "CHILD_FSIZE_LIMIT";

fn batch(round: usize, size: usize, payload: usize) -> Vec<NewEvent> {
    let id = TaskId::new();
    let mut events = vec![NewEvent::for_task(
        id,
        Actor::Orchestrator,
        EventKind::TaskCreated { spec: TaskSpec::titled(format!("round {round}")) },
    )];
    for _ in 1..size {
        events.push(NewEvent::for_task(id, Actor::Orchestrator, EventKind::Note { text: "n".repeat(payload) }));
    }
    events
}

/// The child: appends until killed (or until the store refuses), printing `ack <seq>` per event.
#[test]
fn child_append_loop() {
    let Some(path) = std::env::var_os(CHILD_STORE) else {
        return;
    };
    let limit = std::env::var(CHILD_FSIZE_LIMIT).ok().and_then(|v| v.parse::<u64>().ok());
    let store = Store::open(Path::new(&path)).unwrap();
    if let Some(limit) = limit {
        // SAFETY: plain libc calls on this process's own limits and signal disposition.
        unsafe {
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            let rlimit = libc::rlimit { rlim_cur: limit, rlim_max: limit };
            assert_eq!(libc::setrlimit(libc::RLIMIT_FSIZE, &rlimit), 0);
        }
    }
    let payload = if limit.is_some() { 4096 } else { 64 };
    let mut round = 0;
    loop {
        round += 1;
        match store.append(batch(round, 1 + round % 7, payload)) {
            Ok(events) => {
                let mut out = String::new();
                for event in events {
                    out.push_str(&format!("ack {}\n", event.seq));
                }
                print!("{out}");
            }
            Err(err) => {
                println!("error {err}");
                return;
            }
        }
    }
}

fn spawn_child(path: &Path, fsize_limit: Option<u64>) -> Child {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args(["--exact", "child_append_loop", "--nocapture", "--test-threads=1"])
        .env(CHILD_STORE, path)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if let Some(limit) = fsize_limit {
        command.env(CHILD_FSIZE_LIMIT, limit.to_string());
    }
    command.spawn().unwrap()
}

/// Reads the child's lines on a thread so the parent can kill it at any moment.
fn collect_lines(child: &mut Child) -> mpsc::Receiver<String> {
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

fn acked(lines: impl IntoIterator<Item = String>) -> BTreeSet<u64> {
    lines.into_iter().filter_map(|l| l.strip_prefix("ack ").and_then(|s| s.parse().ok())).collect()
}

/// A small deterministic generator, so failures reproduce.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn stored_seqs(path: &Path) -> (BTreeSet<u64>, Verification) {
    let reader = StoreReader::open(path).unwrap().unwrap();
    let seqs = reader.events_after(0, usize::MAX).unwrap().into_iter().map(|e| e.seq).collect();
    (seqs, reader.verify().unwrap())
}

fn temp_store() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.redb");
    (dir, path)
}

#[test]
fn sigkill_at_random_points_loses_no_acknowledged_event() {
    let (_dir, path) = temp_store();
    let mut rng = XorShift(0x5eed_1234_abcd_0042);
    let mut all_acked = BTreeSet::new();
    for round in 0..6 {
        let mut child = spawn_child(&path, None);
        let lines = collect_lines(&mut child);
        // Wait for the child's first acknowledgement (libtest prints its own lines first), then
        // kill it somewhere in its loop.
        let first = loop {
            let line = lines.recv_timeout(Duration::from_secs(60)).expect("child made no progress");
            if line.starts_with("ack ") {
                break line;
            }
        };
        std::thread::sleep(Duration::from_millis(20 + rng.next() % 250));
        child.kill().unwrap();
        child.wait().unwrap();
        let acked_now = acked(std::iter::once(first).chain(lines.iter()));
        assert!(!acked_now.is_empty(), "round {round}: nothing acknowledged");
        all_acked.extend(acked_now);

        let (stored, verification) = stored_seqs(&path);
        let lost: Vec<_> = all_acked.difference(&stored).collect();
        assert!(lost.is_empty(), "round {round}: acknowledged but lost: {lost:?}");
        assert!(matches!(verification, Verification::Ok { .. }), "round {round}: {verification:?}");
        assert_eq!(stored.len() as u64, *stored.last().unwrap(), "round {round}: gap in the log");
    }
}

#[test]
fn a_full_disk_fails_the_commit_clearly_and_loses_nothing() {
    let (_dir, path) = temp_store();
    drop(Store::open(&path).unwrap());
    let size = std::fs::metadata(&path).unwrap().len();
    let mut child = spawn_child(&path, Some(size + 256 * 1024));
    let mut output = String::new();
    child.stdout.take().unwrap().read_to_string(&mut output).unwrap();
    child.wait().unwrap();
    let error = output.lines().find_map(|l| l.strip_prefix("error ")).expect("the child never hit the limit");
    assert!(error.contains(&path.display().to_string()), "{error}");
    assert!(error.contains("nothing committed before was lost"), "{error}");
    let acked = acked(output.lines().map(str::to_owned));
    assert!(!acked.is_empty());

    let (stored, verification) = stored_seqs(&path);
    assert!(acked.is_subset(&stored), "acknowledged events were lost");
    assert!(matches!(verification, Verification::Ok { .. }), "{verification:?}");
    // With space again, the store takes new events after the last durable one.
    let store = Store::open(&path).unwrap();
    let next = store.append(batch(0, 1, 1)).unwrap();
    assert_eq!(next[0].seq, stored.last().unwrap() + 1);
}
