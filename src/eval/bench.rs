//! Measuring a prepared worktree: making sure its build sees every file, running the validation
//! commands for per-test evidence, re-running failures once for flakiness. The Left Hand and
//! `ambidex eval` both measure through [`measure`], so they judge alike.
//!
//! No stale builds: a scratch worktree is reset and re-filled between measurements, and build
//! tools decide what to rebuild from file times and the inputs they know of. A test file that a
//! crate collects at compile time (a build script listing `tests/cases/`, a macro globbing a
//! directory) is not an input cargo knows of, so copying one in does not rebuild the test binary:
//! the old binary runs, its filter matches nothing, and the run "passes". [`freshen`] therefore
//! marks every source file of the worktree as changed (its modification time set to now; build
//! output directories, virtual environments and `.git` left alone) and removes Python's cached
//! bytecode: every build tool then rebuilds the project's own code as a cold build would, while
//! the dependencies the tools track themselves (cargo's registry crates, Go's module cache) are
//! reused. The evidence records this as the row's `build`.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::compare::{flaky_candidates, merge_rerun};
use super::judge::not_run_report;
use super::run::{RunTests, run_tests};
use crate::protocol::{TestReport, TestStatus};
use crate::redact::Redactor;
use crate::tools::sandbox::SandboxLevel;

/// How commands are run for evidence.
pub struct Bench<'a> {
    /// The sandbox level.
    pub level: SandboxLevel,
    /// The `ambidex` executable (it applies Landlock).
    pub helper: &'a Path,
    /// Each command is killed after this long.
    pub timeout: Duration,
    /// Where report files are kept (a directory per purpose is made inside).
    pub report_dir: &'a Path,
    /// Redacts test output.
    pub redactor: Option<&'a Redactor>,
    /// Why a command may not be run, if it may not (the command policy).
    pub refuse: &'a (dyn Fn(&str) -> Option<String> + Send + Sync),
}

/// What one measurement found.
#[derive(Debug, Clone, Default)]
pub struct Measured {
    /// One report per command (flaky re-runs merged).
    pub reports: Vec<TestReport>,
    /// Tests that failed, then passed when re-run.
    pub flaky: Vec<String>,
    /// How the build was made.
    pub build: String,
}

/// Makes every build tool see the worktree at `root` as changed (see the module documentation);
/// returns how, for the evidence.
pub fn freshen(root: &Path) -> String {
    let mut count = Count::default();
    walk(root, &mut count);
    let mut out = format!(
        "every source file ({}) marked changed after the change was applied, so the project's own code was rebuilt \
         as in a cold build (dependencies reused where the build tool tracks them)",
        count.touched
    );
    if count.caches > 0 {
        out.push_str(&format!("; {} Python bytecode caches removed", count.caches));
    }
    if count.failed > 0 {
        out.push_str(&format!("; {} files could not be marked (read-only)", count.failed));
    }
    out
}

#[derive(Default)]
struct Count {
    touched: usize,
    caches: usize,
    failed: usize,
}

/// Directories that hold build output or installed packages, not sources.
fn is_output_dir(dir: &Path) -> bool {
    let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or("");
    matches!(name, ".git" | "node_modules" | ".tox" | ".nox" | ".mypy_cache" | ".pytest_cache" | ".ruff_cache")
        || name.starts_with(".ambidex-eval-")
        || dir.join("CACHEDIR.TAG").exists()
        || dir.join("pyvenv.cfg").exists()
        || (name == "target" && dir.join(".rustc_info.json").exists())
}

fn walk(dir: &Path, count: &mut Count) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let now = SystemTime::now();
    for entry in entries.flatten() {
        let path: PathBuf = entry.path();
        let Ok(kind) = entry.file_type() else { continue };
        if kind.is_symlink() {
            continue;
        }
        if kind.is_dir() {
            if path.file_name().is_some_and(|n| n == "__pycache__") {
                if std::fs::remove_dir_all(&path).is_ok() {
                    count.caches += 1;
                }
            } else if !is_output_dir(&path) {
                walk(&path, count);
            }
            continue;
        }
        let touched = std::fs::File::options().append(true).open(&path).and_then(|f| f.set_modified(now));
        match touched {
            Ok(()) => count.touched += 1,
            Err(_) => count.failed += 1,
        }
    }
}

/// Runs `commands` in `worktree` once each, after [`freshen`]; a refused command or one that
/// cannot start yields a report saying so. Returns the reports and how the build was made.
pub async fn run_all(bench: &Bench<'_>, worktree: &Path, commands: &[String], purpose: &str) -> Measured {
    let root = worktree.to_owned();
    let build = tokio::task::spawn_blocking(move || freshen(&root)).await.unwrap_or_default();
    let report_dir = bench.report_dir.join(purpose);
    let mut reports = Vec::with_capacity(commands.len());
    for command in commands {
        reports.push(run_one(bench, worktree, command, &report_dir).await);
    }
    Measured { reports, flaky: Vec::new(), build }
}

async fn run_one(bench: &Bench<'_>, worktree: &Path, command: &str, report_dir: &Path) -> TestReport {
    if let Some(why) = (bench.refuse)(command) {
        return not_run_report(command, why);
    }
    let spec = RunTests {
        worktree,
        command,
        level: bench.level,
        helper: bench.helper,
        timeout: bench.timeout,
        report_dir,
        env: &[],
        redactor: bench.redactor,
    };
    match run_tests(spec).await {
        Ok(report) => report,
        Err(err) => not_run_report(command, format!("could not run: {err}")),
    }
}

/// [`run_all`], then each command with failed tests (and some that passed) once more: a test
/// that passes the second time is flaky and counts as passed.
pub async fn measure(bench: &Bench<'_>, worktree: &Path, commands: &[String], purpose: &str) -> Measured {
    let first = run_all(bench, worktree, commands, purpose).await;
    let report_dir = bench.report_dir.join(purpose);
    let mut measured = Measured { build: first.build, ..Measured::default() };
    for report in first.reports {
        if flaky_candidates(&report).is_empty() || !report.tests.iter().any(|t| t.status == TestStatus::Passed) {
            measured.reports.push(report);
            continue;
        }
        let rerun = run_one(bench, worktree, &report.command, &report_dir).await;
        let (merged, found) = merge_rerun(&report, &rerun);
        measured.flaky.extend(found);
        measured.reports.push(merged);
    }
    measured
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn freshen_marks_sources_and_leaves_build_output_alone() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let old = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let write = |rel: &str| {
            let path = root.join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, "x").unwrap();
            std::fs::File::options().append(true).open(&path).unwrap().set_modified(old).unwrap();
            path
        };
        let source = write("tests/cases/a.rs");
        let build = write("build.rs");
        let output = write("target/debug/app");
        std::fs::write(root.join("target/.rustc_info.json"), "{}").unwrap();
        let git = write(".git/HEAD");
        write("pkg/__pycache__/m.cpython-311.pyc");
        let how = freshen(root);
        let modified = |p: &Path| std::fs::metadata(p).unwrap().modified().unwrap();
        assert!(modified(&source) > old && modified(&build) > old);
        assert_eq!(modified(&output), old, "build output is not a source");
        assert_eq!(modified(&git), old);
        assert!(!root.join("pkg/__pycache__").exists(), "stale bytecode goes");
        assert!(how.contains("every source file (2)") && how.contains("1 Python bytecode caches removed"), "{how}");
    }
}
