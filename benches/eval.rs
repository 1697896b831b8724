//! Evaluation benchmarks (the Left Hand's evidence, DESIGN §8), on a real temporary git repository
//! holding a small real Rust crate (a unit-test module and an integration test, ~1 s of test CPU):
//!
//! - **in-process** (criterion): parsing 5,000 tests of libtest JSON, comparing two 5,000-test
//!   reports, hashing a 3-row matrix of 5,000-test reports;
//! - **overhead** (one-shot report): one candidate's whole evaluation path (diff, reset, copy,
//!   instrumented run, comparison, changed lines, complexity, diff stats, matrix hash) against a
//!   bare `std::process::Command` run of the same instrumented command line, paired and
//!   alternated, at sandbox level none and under bubblewrap when it is usable;
//! - **concurrency** (one-shot report): two warm candidates run one after the other against both
//!   at once (`futures::join!` of two `eval::run_tests`), CPU-bound (`cargo test`, with libtest's
//!   own threads and with `--test-threads=1`) and sleep-bound (`sleep 1`).
//!
//! `EVAL_BENCH_PARTS` picks parts (comma-separated: `in_process`, `overhead`, `concurrency`;
//! default all); `EVAL_BENCH_QUICK=1` measures each once. Without `--bench` (`cargo test --benches`), only the criterion part runs, once.

// Test and benchmark code may unwrap and panic: that is how it reports a failure (see clippy.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use criterion::Criterion;
use tokio::runtime::Runtime;

use ambidex::eval::{self, RunTests};
use ambidex::protocol::{EvidenceMatrix, EvidenceRow, TaskId, TestFramework, TestReport};
use ambidex::tools::runner::scrubbed_env;
use ambidex::tools::sandbox::{SandboxLevel, probe};
use ambidex::workspace::{Worktree, WorktreeRequest, create, diff_against, file_at, reset_to};

/// Tests in the generated libtest output of the in-process benchmarks.
const TESTS: usize = 5_000;
/// Paired (bare, full) measurements per sandbox level, after one warm-up pair.
const OVERHEAD_PAIRS: usize = 8;
/// (sequential, concurrent) measurements per workload, after one warm-up pair.
const CONCURRENCY_ROUNDS: usize = 6;

/// `count`, or 1 with `EVAL_BENCH_QUICK` set (a check that everything runs).
fn repeats(count: usize) -> usize {
    if std::env::var_os("EVAL_BENCH_QUICK").is_some() { 1 } else { count }
}
/// CPU time the heavy tests should take together, in milliseconds.
const TEST_CPU_MS: f64 = 1_000.0;

// ---------------------------------------------------------------------------------------------
// The crate under test.

const MANIFEST: &str = "[package]\nname = \"evalbench\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\n";

const GITIGNORE: &str = "/target\nCargo.lock\n";

const BUGGY: &str = "    if x < 0 {\n        0\n    } else {\n        x\n    }\n";
const FIXED: &str = "    x.clamp(0, 100)\n";

const LIB: &str = r#"//! A small crate the evaluation benchmark measures.

/// `x` as a percentage: clamped to 0..=100.
pub fn clamp_percent(x: i64) -> i64 {
    if x < 0 {
        0
    } else {
        x
    }
}

/// Steps of the Collatz sequence from `n` to 1.
pub fn collatz_steps(mut n: u64) -> u32 {
    let mut steps = 0;
    while n != 1 {
        n = if n % 2 == 0 { n / 2 } else { 3 * n + 1 };
        steps += 1;
    }
    steps
}

/// CPU work: the Collatz steps of a thousand numbers, `rounds` times.
pub fn work(rounds: u64) -> u64 {
    let mut total = 0;
    for round in 0..rounds {
        for n in 1..=1_000 {
            total += u64::from(collatz_steps(n + round % 7));
        }
    }
    total
}

/// Rounds of work of each heavy test (`EVALBENCH_ROUNDS`, default 1).
pub fn rounds() -> u64 {
    std::env::var("EVALBENCH_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clamps_below() {
        assert_eq!(clamp_percent(-5), 0);
    }

    #[test]
    fn clamps_above() {
        assert_eq!(clamp_percent(150), 100);
    }

    #[test]
    fn collatz_of_27() {
        assert_eq!(collatz_steps(27), 111);
    }

    #[test]
    fn heavy_unit_a() {
        assert!(work(rounds()) > 0 || rounds() == 0);
    }

    #[test]
    fn heavy_unit_b() {
        assert!(work(rounds()) > 0 || rounds() == 0);
    }
}
"#;

const INTEGRATION: &str = r#"use evalbench::{clamp_percent, rounds, work};

#[test]
fn percentages_are_never_negative() {
    assert!((-10..10).all(|x| clamp_percent(x) >= 0));
}

#[test]
fn heavy_integration_a() {
    assert!(work(rounds()) > 0 || rounds() == 0);
}

#[test]
fn heavy_integration_b() {
    assert!(work(rounds()) > 0 || rounds() == 0);
}
"#;

fn commit_all(repo: &git2::Repository, message: &str) {
    let mut index = repo.index().unwrap();
    index.add_all(["*"], git2::IndexAddOption::DEFAULT, None).unwrap();
    index.write().unwrap();
    let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
    let me = git2::Signature::now("bench", "bench@example.com").unwrap();
    repo.commit(Some("HEAD"), &me, &me, message, &tree, &[]).unwrap();
}

fn make_worktree(repo: &Path, task: TaskId, root: &Path, label: &str) -> Worktree {
    create(&WorktreeRequest { repo: repo.to_owned(), task, candidate: label.into(), base: None, root: root.to_owned() })
        .unwrap()
}

/// The temporary repository, its candidate and what the candidate changed.
struct Fixture {
    dir: tempfile::TempDir,
    repo: PathBuf,
    task: TaskId,
    candidate: Worktree,
    helper: PathBuf,
    runtime: Runtime,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path().join("repo");
        let git = git2::Repository::init(&repo).unwrap();
        std::fs::create_dir_all(repo.join("src")).unwrap();
        std::fs::create_dir_all(repo.join("tests")).unwrap();
        std::fs::write(repo.join("Cargo.toml"), MANIFEST).unwrap();
        std::fs::write(repo.join(".gitignore"), GITIGNORE).unwrap();
        std::fs::write(repo.join("src/lib.rs"), LIB).unwrap();
        std::fs::write(repo.join("tests/integration.rs"), INTEGRATION).unwrap();
        commit_all(&git, "a small crate");
        let task = TaskId::new();
        let root = dir.path().join("worktrees");
        // The candidate fixes `clamp_percent` (a failing test on the base passes here).
        let candidate = make_worktree(&repo, task, &root, "c1");
        let fixed = LIB.replace(BUGGY, FIXED);
        assert_ne!(fixed, LIB);
        std::fs::write(candidate.path.join("src/lib.rs"), fixed).unwrap();
        Fixture {
            dir,
            repo,
            task,
            candidate,
            helper: PathBuf::from(env!("CARGO_BIN_EXE_ambidex")),
            runtime: Runtime::new().unwrap(),
        }
    }

    fn worktree(&self, label: &str) -> Worktree {
        make_worktree(&self.repo, self.task, &self.dir.path().join("worktrees"), label)
    }

    fn report_dir(&self) -> PathBuf {
        self.dir.path().join("reports")
    }

    /// Resets `scratch` to the base and copies the candidate's changed files in (what the
    /// engine's `prepare` does), returning the two steps' times.
    fn prepare(&self, scratch: &Worktree, files: &[String]) -> (Duration, Duration) {
        let started = Instant::now();
        reset_to(&scratch.path, &scratch.base).unwrap();
        let reset = started.elapsed();
        let started = Instant::now();
        for file in files {
            let target = scratch.path.join(file);
            std::fs::create_dir_all(target.parent().unwrap()).unwrap();
            std::fs::copy(self.candidate.path.join(file), target).unwrap();
        }
        (reset, started.elapsed())
    }

    fn run_tests(&self, worktree: &Path, command: &str, level: SandboxLevel, env: &[(String, String)]) -> TestReport {
        self.runtime.block_on(run_tests(self, worktree, command, level, env))
    }
}

async fn run_tests(
    fixture: &Fixture,
    worktree: &Path,
    command: &str,
    level: SandboxLevel,
    env: &[(String, String)],
) -> TestReport {
    let report_dir = fixture.report_dir();
    let spec = RunTests {
        worktree,
        command,
        level,
        helper: &fixture.helper,
        timeout: Duration::from_secs(300),
        report_dir: &report_dir,
        env,
        redactor: None,
    };
    eval::run_tests(spec).await.unwrap()
}

/// The crate's environment: its own target directory (inside the worktree, the only tree that
/// is writable under bubblewrap; ignored, so `reset_to` keeps it) and the heavy tests' rounds.
fn crate_env(worktree: &Path, rounds: u64) -> Vec<(String, String)> {
    vec![
        ("CARGO_TARGET_DIR".into(), worktree.join("target").display().to_string()),
        ("EVALBENCH_ROUNDS".into(), rounds.to_string()),
    ]
}

/// CPU time (user + system) of `who` (`RUSAGE_SELF`, `RUSAGE_CHILDREN`) so far.
fn cpu_of(who: libc::c_int) -> Duration {
    // SAFETY: getrusage only writes the struct it is given.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(who, &mut usage);
        usage
    };
    let time = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1_000);
    time(usage.ru_utime) + time(usage.ru_stime)
}

/// CPU time of this process's reaped children (the commands and everything they ran) so far.
fn children_cpu() -> Duration {
    cpu_of(libc::RUSAGE_CHILDREN)
}

/// CPU time of this process and its reaped children so far.
fn all_cpu() -> Duration {
    cpu_of(libc::RUSAGE_SELF) + children_cpu()
}

/// A bare run of the instrumented command line, as `eval::run_tests` would make it but without
/// Ambidex: its wall time and CPU time.
fn bare(worktree: &Path, command: &str, env: &[(String, String)], report_dir: &Path) -> (Duration, Duration) {
    let instrumented = eval::instrument(command, report_dir);
    let tmp = tempfile::tempdir().unwrap();
    let cpu = children_cpu();
    let started = Instant::now();
    let out = Command::new("/bin/sh")
        .arg("-c")
        .arg(&instrumented.command)
        .current_dir(worktree)
        .env_clear()
        .envs(scrubbed_env())
        .envs(env.iter().cloned())
        .envs(instrumented.env.iter().cloned())
        .env("TMPDIR", tmp.path())
        .env("TERM", "dumb")
        .env("NO_COLOR", "1")
        .env("CARGO_TERM_COLOR", "never")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let wall = started.elapsed();
    let cpu = children_cpu().saturating_sub(cpu);
    assert!(out.status.success(), "{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (wall, cpu)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1_000.0
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 { values[n / 2] } else { (values[n / 2 - 1] + values[n / 2]) / 2.0 }
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// Calibration: rounds of work per heavy test so the four take ~1 s of CPU together.

fn calibrate(fixture: &Fixture, worktree: &Path) -> u64 {
    const PROBE: u64 = 400;
    let reports = fixture.report_dir();
    let cpu =
        |rounds| (0..2).map(|_| bare(worktree, "cargo test", &crate_env(worktree, rounds), &reports).1).min().unwrap();
    let idle = cpu(0);
    let busy = cpu(PROBE);
    let per_round = ms(busy.saturating_sub(idle)) / PROBE as f64;
    let rounds = (TEST_CPU_MS / per_round.max(1e-6)).round().max(1.0) as u64;
    eprintln!(
        "calibration: `cargo test` takes {:.0} ms of CPU with no work, {:.3} ms per round of the four heavy tests: {rounds} rounds",
        ms(idle),
        per_round
    );
    rounds
}

// ---------------------------------------------------------------------------------------------
// Overhead of the evaluation path.

/// Times of each step of one candidate's evaluation.
#[derive(Default)]
struct Steps {
    diff: Duration,
    reset: Duration,
    copy: Duration,
    run_tests: Duration,
    command: Duration,
    compare: Duration,
    changed_lines: Duration,
    complexity: Duration,
    diff_stats: Duration,
    hash: Duration,
    total: Duration,
    /// CPU time of the processes it ran (the command, and bubblewrap).
    command_cpu: Duration,
}

/// The time since `lap`, which restarts.
fn split(lap: &mut Instant) -> Duration {
    let now = Instant::now();
    let elapsed = now - *lap;
    *lap = now;
    elapsed
}

/// One candidate's evaluation, as `orchestrator::explore::evaluate` does it (without clippy,
/// which is a command of its own, and without re-runs: the candidate's tests all pass).
fn evaluate_once(
    fixture: &Fixture,
    scratch: &Worktree,
    level: SandboxLevel,
    env: &[(String, String)],
    baseline: &TestReport,
) -> Steps {
    let mut steps = Steps::default();
    let cpu = children_cpu();
    let started = Instant::now();
    let mut lap = Instant::now();
    let diff = diff_against(&fixture.candidate.path, &fixture.candidate.base).unwrap();
    steps.diff = split(&mut lap);
    let files: Vec<String> = diff.files.iter().map(|f| f.path.clone()).collect();
    let (reset, copy) = fixture.prepare(scratch, &files);
    (steps.reset, steps.copy) = (reset, copy);
    split(&mut lap);
    let report = fixture.run_tests(&scratch.path, "cargo test", level, env);
    steps.run_tests = split(&mut lap);
    steps.command = Duration::from_millis(report.duration_ms);
    assert!(report.ok, "{report:#?}");
    let comparison = eval::compare(std::slice::from_ref(baseline), std::slice::from_ref(&report));
    steps.compare = split(&mut lap);
    assert_eq!(comparison.fixed.len(), 1, "{comparison:?}");
    let changed = eval::changed_lines(&diff.patch);
    steps.changed_lines = split(&mut lap);
    black_box(changed);
    let mut before = Vec::new();
    let mut after = Vec::new();
    for file in &files {
        if let Some(text) = file_at(&fixture.candidate.path, &fixture.candidate.base, file) {
            before.push((file.clone(), text));
        }
        if let Ok(text) = std::fs::read_to_string(fixture.candidate.path.join(file)) {
            after.push((file.clone(), text));
        }
    }
    let complexity_delta = eval::complexity_delta(&before, &after);
    steps.complexity = split(&mut lap);
    let stats = eval::diff_stats(&diff.patch);
    steps.diff_stats = split(&mut lap);
    let row = EvidenceRow {
        candidate: "c1".into(),
        strategy: "minimal_diff".into(),
        branch: fixture.candidate.branch.clone(),
        validation_ok: report.ok,
        tests_passed: comparison.passed,
        tests_failed: comparison.failed,
        fixed: comparison.fixed,
        broken: comparison.broken,
        diff: stats,
        complexity_delta,
        wall_ms: started.elapsed().as_millis() as u64,
        reports: vec![report],
        ..EvidenceRow::default()
    };
    let rows = ["production", "c1", "c2"]
        .iter()
        .map(|label| EvidenceRow { candidate: (*label).into(), ..row.clone() })
        .collect();
    let matrix = EvidenceMatrix {
        base: scratch.base.clone(),
        baseline: vec![baseline.clone()],
        acceptance_tests: Vec::new(),
        weak_acceptance: Vec::new(),
        rows,
    };
    black_box(eval::matrix_hash(&matrix));
    steps.hash = split(&mut lap);
    steps.total = started.elapsed();
    steps.command_cpu = children_cpu().saturating_sub(cpu);
    steps
}

/// The fixed cost of `eval::run_tests` at `level` (temporary directories, instrumentation,
/// spawn, sandbox start, reading pipes, parsing): its wall time on `true` against a bare
/// `/bin/sh -c true`, alternated, medians. Returns (run_tests, bare) in milliseconds.
fn fixed_cost(fixture: &Fixture, worktree: &Path, level: SandboxLevel) -> (f64, f64) {
    const RUNS: usize = 30;
    let reports = fixture.report_dir();
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for _ in 0..=repeats(RUNS) {
        let started = Instant::now();
        let report = fixture.run_tests(worktree, "true", level, &[]);
        ours.push(ms(started.elapsed()));
        assert!(report.ok);
        theirs.push(ms(bare(worktree, "true", &[], &reports).0));
    }
    (median(ours[1..].to_vec()), median(theirs[1..].to_vec()))
}

fn overhead(fixture: &Fixture, scratch: &Worktree, rounds: u64, baseline: &TestReport, level: SandboxLevel) {
    let env = crate_env(&scratch.path, rounds);
    let files = vec!["src/lib.rs".to_owned()];
    let reports = fixture.report_dir();
    let (mut bare_wall, mut bare_cpu, mut all) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..=repeats(OVERHEAD_PAIRS) {
        let mut pair = (Duration::ZERO, Duration::ZERO, None);
        for bare_first in [i % 2 == 0, i % 2 == 1] {
            if bare_first {
                fixture.prepare(scratch, &files);
                let (wall, cpu) = bare(&scratch.path, "cargo test", &env, &reports);
                (pair.0, pair.1) = (wall, cpu);
            } else {
                pair.2 = Some(evaluate_once(fixture, scratch, level, &env, baseline));
            }
        }
        if i > 0 {
            bare_wall.push(pair.0);
            bare_cpu.push(pair.1);
            all.push(pair.2.unwrap());
        }
    }
    let med = |f: &dyn Fn(&Steps) -> Duration| median(all.iter().map(|s| ms(f(s))).collect());
    let bare_ms = median(bare_wall.iter().copied().map(ms).collect());
    let (fixed_ours, fixed_bare) = fixed_cost(fixture, &scratch.path, level);
    let fixed = fixed_ours - fixed_bare;
    let other_steps = med(&|s| s.total.saturating_sub(s.run_tests));
    let estimate = other_steps + fixed;
    let mut paired: Vec<f64> = all.iter().zip(&bare_wall).map(|(s, b)| ms(s.total) - ms(*b)).collect();
    paired.sort_by(f64::total_cmp);
    let pct = |x: f64| 100.0 * x / bare_ms;
    eprintln!("\noverhead, sandbox {level}: {} alternated pairs, medians (load average {})", all.len(), load_average());
    eprintln!(
        "  bare instrumented `cargo test` (rebuild of the changed crate + tests): {bare_ms:.0} ms wall, {:.0} ms CPU",
        median(bare_cpu.iter().copied().map(ms).collect())
    );
    eprintln!(
        "  full evaluation path: {:.0} ms, of it run_tests {:.0} ms (TestReport::duration_ms {:.0} ms)",
        med(&|s| s.total),
        med(&|s| s.run_tests),
        med(&|s| s.command),
    );
    eprintln!(
        "  OVERHEAD {level}: {estimate:.1} ms = {:.2} % of the command: steps outside run_tests {other_steps:.1} ms + run_tests' fixed cost {fixed:.1} ms (on `true`: {fixed_ours:.1} ms vs a bare spawn {fixed_bare:.1} ms)",
        pct(estimate)
    );
    eprintln!(
        "  cross-check, full path - bare run, paired: median {:.0} ms = {:.1} % (min {:.0}, max {:.0}: the command's own variance under load)",
        median(paired.clone()),
        pct(median(paired.clone())),
        paired.first().copied().unwrap_or(f64::NAN),
        paired.last().copied().unwrap_or(f64::NAN)
    );
    if level == SandboxLevel::None {
        // Under bubblewrap the command's processes are reaped inside its PID namespace: their
        // CPU time does not reach this process.
        let cpu_paired = median(all.iter().zip(&bare_cpu).map(|(s, b)| ms(s.command_cpu) - ms(*b)).collect());
        eprintln!(
            "  the command's CPU: {:.0} ms under run_tests; paired difference with the bare run: median {cpu_paired:.0} ms",
            med(&|s| s.command_cpu)
        );
    }
    eprintln!(
        "  steps: diff_against {:.2} ms, reset_to {:.2}, copy {:.2}, run_tests beyond duration_ms {:.2}, compare {:.3}, changed_lines {:.3}, complexity {:.2}, diff_stats {:.3}, matrix_hash {:.3}",
        med(&|s| s.diff),
        med(&|s| s.reset),
        med(&|s| s.copy),
        med(&|s| s.run_tests.saturating_sub(s.command)),
        med(&|s| s.compare),
        med(&|s| s.changed_lines),
        med(&|s| s.complexity),
        med(&|s| s.diff_stats),
        med(&|s| s.hash),
    );
}

// ---------------------------------------------------------------------------------------------
// Two candidates at once.

/// Pure CPU work in this process: the Collatz steps of `numbers` numbers.
fn spin(numbers: u64) -> u64 {
    (1..=numbers)
        .map(|mut n| {
            let mut steps = 0u64;
            while n != 1 {
                n = if n % 2 == 0 { n / 2 } else { 3 * n + 1 };
                steps += 1;
            }
            steps
        })
        .sum()
}

/// Numbers for [`spin`] to take about one second on one core.
fn spin_numbers() -> u64 {
    let probe = 200_000;
    let started = Instant::now();
    black_box(spin(black_box(probe)));
    (probe as f64 / started.elapsed().as_secs_f64()) as u64
}

fn concurrency(fixture: &Fixture, a: &Worktree, b: &Worktree, rounds: u64) {
    let (env_a, env_b) = (crate_env(&a.path, rounds), crate_env(&b.path, rounds));
    let workloads = [
        ("reference: 1 s of pure CPU in this process, two threads", None),
        ("cargo test (libtest's own threads)", Some("cargo test")),
        ("cargo test -- --test-threads=1", Some("cargo test -- --test-threads=1")),
        ("sleep 1 (sleep-bound)", Some("sleep 1")),
    ];
    let numbers = spin_numbers();
    eprintln!(
        "\nconcurrency: two warm candidates, {} alternated rounds, medians (load average {})",
        repeats(CONCURRENCY_ROUNDS),
        load_average()
    );
    for (name, command) in workloads {
        let level = SandboxLevel::None;
        let (mut seq, mut conc, mut seq_cpu, mut conc_cpu) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for i in 0..=repeats(CONCURRENCY_ROUNDS) {
            for sequential in [i % 2 == 0, i % 2 == 1] {
                let cpu = all_cpu();
                let started = Instant::now();
                match (command, sequential) {
                    (None, true) => {
                        black_box((spin(black_box(numbers)), spin(black_box(numbers))));
                    }
                    (None, false) => std::thread::scope(|scope| {
                        let other = scope.spawn(|| black_box(spin(black_box(numbers))));
                        black_box(spin(black_box(numbers)));
                        other.join().unwrap();
                    }),
                    (Some(command), _) => {
                        let (ra, rb) = fixture.runtime.block_on(async {
                            if sequential {
                                let ra = run_tests(fixture, &a.path, command, level, &env_a).await;
                                let rb = run_tests(fixture, &b.path, command, level, &env_b).await;
                                (ra, rb)
                            } else {
                                futures::join!(
                                    run_tests(fixture, &a.path, command, level, &env_a),
                                    run_tests(fixture, &b.path, command, level, &env_b)
                                )
                            }
                        });
                        assert!(ra.ok && rb.ok, "{ra:#?}\n{rb:#?}");
                    }
                }
                let wall = started.elapsed();
                let cpu = all_cpu().saturating_sub(cpu);
                if i > 0 {
                    let (walls, cpus) = if sequential { (&mut seq, &mut seq_cpu) } else { (&mut conc, &mut conc_cpu) };
                    walls.push(ms(wall));
                    cpus.push(ms(cpu));
                }
            }
        }
        let (s, c) = (median(seq), median(conc));
        eprintln!(
            "  {name}: sequential {s:.0} ms ({:.0} ms CPU), concurrent {c:.0} ms ({:.0} ms CPU): SPEEDUP {:.2}x",
            median(seq_cpu),
            median(conc_cpu),
            s / c
        );
    }
}

// ---------------------------------------------------------------------------------------------
// In-process parts.

/// libtest JSON of `tests` tests in two suites (unit tests, an integration test), every 250th
/// failing (offset by `shift`), with cargo's lines on stderr.
fn libtest_output(tests: usize, shift: usize) -> (String, String) {
    let mut stdout = String::with_capacity(tests * 160);
    let unit = tests * 4 / 5;
    for (start, end) in [(0, unit), (unit, tests)] {
        stdout
            .push_str(&format!("{{ \"type\": \"suite\", \"event\": \"started\", \"test_count\": {} }}\n", end - start));
        let mut failed = 0;
        for i in start..end {
            let name = format!("module_{:03}::tests::case_{i:05}", i / 50);
            stdout.push_str(&format!("{{ \"type\": \"test\", \"event\": \"started\", \"name\": \"{name}\" }}\n"));
            if (i + shift).is_multiple_of(250) {
                failed += 1;
                stdout.push_str(&format!(
                    "{{ \"type\": \"test\", \"name\": \"{name}\", \"event\": \"failed\", \"exec_time\": 0.004, \"stdout\": \"\\nthread '{name}' panicked at src/module_{:03}.rs:{}:9:\\nassertion `left == right` failed\\n  left: 1\\n right: 2\\nnote: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\\n\" }}\n",
                    i / 50,
                    i % 400
                ));
            } else {
                stdout.push_str(&format!(
                    "{{ \"type\": \"test\", \"name\": \"{name}\", \"event\": \"ok\", \"exec_time\": 0.00{} }}\n",
                    i % 10
                ));
            }
        }
        let event = if failed > 0 { "failed" } else { "ok" };
        stdout.push_str(&format!(
            "{{ \"type\": \"suite\", \"event\": \"{event}\", \"passed\": {}, \"failed\": {failed}, \"ignored\": 0, \"measured\": 0, \"filtered_out\": 0, \"exec_time\": 1.5 }}\n",
            end - start - failed
        ));
    }
    let stderr = "   Compiling big v0.1.0 (/x/big)\n    Finished `test` profile [unoptimized + debuginfo] target(s) in 9.21s\n     Running unittests src/lib.rs (/x/target/debug/deps/big-8348ca7a80742723)\nerror: test failed, to rerun pass `--lib`\n     Running tests/api.rs (/x/target/debug/deps/api-6a21baa472736a34)\nerror: test failed, to rerun pass `--test api`\n".to_owned();
    (stdout, stderr)
}

fn parse_output(stdout: &str, stderr: &str) -> TestReport {
    eval::parse(TestFramework::Libtest, "cargo test", stdout, stderr, Some(101), 9_210, None)
}

fn in_process(c: &mut Criterion) {
    let (stdout, stderr) = libtest_output(TESTS, 0);
    let baseline = parse_output(&stdout, &stderr);
    assert_eq!(baseline.tests.len(), TESTS);
    let (other, _) = libtest_output(TESTS, 7);
    let candidate = parse_output(&other, &stderr);
    let comparison = eval::compare(std::slice::from_ref(&baseline), std::slice::from_ref(&candidate));
    assert!(!comparison.fixed.is_empty() && !comparison.broken.is_empty());
    let row = |label: &str| EvidenceRow {
        candidate: label.into(),
        validation_ok: false,
        tests_passed: comparison.passed,
        tests_failed: comparison.failed,
        fixed: comparison.fixed.clone(),
        broken: comparison.broken.clone(),
        reports: vec![candidate.clone()],
        ..EvidenceRow::default()
    };
    let matrix = EvidenceMatrix {
        base: "0123456789abcdef0123456789abcdef01234567".into(),
        baseline: vec![baseline.clone()],
        rows: vec![row("production"), row("c1"), row("c2")],
        ..EvidenceMatrix::default()
    };
    eprintln!(
        "in-process inputs: libtest output {:.1} MiB for {TESTS} tests; matrix JSON {:.1} MiB",
        stdout.len() as f64 / (1 << 20) as f64,
        serde_json::to_vec(&matrix).unwrap().len() as f64 / (1 << 20) as f64
    );
    let mut group = c.benchmark_group("eval_in_process");
    group.sample_size(20).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    group.bench_function("parse_libtest_5000", |b| b.iter(|| parse_output(black_box(&stdout), black_box(&stderr))));
    group.bench_function("compare_5000", |b| {
        b.iter(|| {
            eval::compare(black_box(std::slice::from_ref(&baseline)), black_box(std::slice::from_ref(&candidate)))
        })
    });
    group.bench_function("matrix_hash_3x5000", |b| b.iter(|| eval::matrix_hash(black_box(&matrix))));
    group.finish();
}

// ---------------------------------------------------------------------------------------------

fn wanted(part: &str) -> bool {
    std::env::var("EVAL_BENCH_PARTS").map_or(true, |parts| parts.split(',').any(|p| p.trim() == part))
}

fn measured_runs() {
    let (overhead_wanted, concurrency_wanted) = (wanted("overhead"), wanted("concurrency"));
    if !overhead_wanted && !concurrency_wanted {
        return;
    }
    let started = Instant::now();
    let fixture = Fixture::new();
    let scratch = fixture.worktree("eval-c1");
    // The baseline: the base commit's run (one test fails there); it also warms the build.
    let baseline = fixture.run_tests(&scratch.path, "cargo test", SandboxLevel::None, &crate_env(&scratch.path, 1));
    assert!(!baseline.ok && baseline.tests.len() > 5, "{baseline:#?}");
    fixture.prepare(&scratch, &["src/lib.rs".to_owned()]);
    let warm = fixture.run_tests(&scratch.path, "cargo test", SandboxLevel::None, &crate_env(&scratch.path, 1));
    assert!(warm.ok, "{warm:#?}");
    let rounds = calibrate(&fixture, &scratch.path);
    reset_to(&scratch.path, &scratch.base).unwrap();
    let baseline =
        fixture.run_tests(&scratch.path, "cargo test", SandboxLevel::None, &crate_env(&scratch.path, rounds));
    eprintln!(
        "setup: {:.1} s (baseline: {} tests, {} failing, {} ms)",
        started.elapsed().as_secs_f64(),
        baseline.tests.len(),
        baseline.count(ambidex::protocol::TestStatus::Failed),
        baseline.duration_ms
    );
    if overhead_wanted {
        let mut levels = vec![SandboxLevel::None];
        let probe = probe();
        if probe.bubblewrap.usable {
            levels.push(SandboxLevel::Bubblewrap);
        } else {
            eprintln!("bubblewrap is not usable here ({}): measured without a sandbox only", probe.bubblewrap.detail);
        }
        for level in levels {
            overhead(&fixture, &scratch, rounds, &baseline, level);
        }
    }
    if concurrency_wanted {
        let (a, b) = (fixture.worktree("eval-a"), fixture.worktree("eval-b"));
        for worktree in [&a, &b] {
            fixture.prepare(worktree, &["src/lib.rs".to_owned()]);
            let warm =
                fixture.run_tests(&worktree.path, "cargo test", SandboxLevel::None, &crate_env(&worktree.path, 1));
            assert!(warm.ok, "{warm:#?}");
        }
        concurrency(&fixture, &a, &b, rounds);
    }
    eprintln!("\nmeasured runs took {:.0} s", started.elapsed().as_secs_f64());
}

fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    if wanted("in_process") {
        in_process(&mut criterion);
    }
    criterion.final_summary();
    if std::env::args().any(|a| a == "--bench") {
        measured_runs();
    }
}
