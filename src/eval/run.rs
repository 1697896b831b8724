//! Running one test command for evidence: instrument it, run it in the sandbox, parse what it
//! reported, and fall back to its exit code when it reported nothing structured.
//!
//! Report files must be writable from inside the sandbox: bubblewrap leaves only the worktree
//! writable (and gives the command a private `/tmp`), Landlock the worktree and the runner's own
//! temporary directory. So when `report_dir` is not inside the worktree and the command runs
//! sandboxed, the report is written to a hidden directory in the worktree (`.ambidex-eval-*`),
//! copied to `report_dir`, and the hidden directory removed, leaving the worktree as it was.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::instrument::instrument;
use super::parse::parse;
use crate::protocol::TestReport;
use crate::redact::Redactor;
use crate::tools::runner::{self, RunError, RunSpec};
use crate::tools::sandbox::SandboxLevel;

/// Bytes kept of each output stream: libtest's JSON for thousands of tests fits.
pub const OUTPUT_CAP: usize = 16 * 1024 * 1024;

/// One test command to run for evidence.
#[derive(Debug, Clone)]
pub struct RunTests<'a> {
    /// The candidate's worktree (the working directory).
    pub worktree: &'a Path,
    /// The test command as configured.
    pub command: &'a str,
    /// The sandbox level to run it under.
    pub level: SandboxLevel,
    /// The `ambidex` executable (it applies Landlock).
    pub helper: &'a Path,
    /// Kill the command after this long.
    pub timeout: Duration,
    /// Where report files are kept (a fresh directory per run is made inside).
    pub report_dir: &'a Path,
    /// Extra environment variables (already checked by the caller).
    pub env: &'a [(String, String)],
    /// Redacts test output before it enters the report.
    pub redactor: Option<&'a Redactor>,
}

/// The file in each run's report directory that holds what the command printed.
const OUTPUT_LOG: &str = "output.log";

/// Why the tests could not be run.
#[derive(Debug, thiserror::Error)]
pub enum RunTestsError {
    /// The command could not be started.
    #[error(transparent)]
    Run(#[from] RunError),
    /// A report directory or file could not be prepared.
    #[error("could not {action}: {source}")]
    Io {
        /// What failed.
        action: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

fn io(action: impl Into<String>) -> impl FnOnce(std::io::Error) -> RunTestsError {
    let action = action.into();
    move |source| RunTestsError::Io { action, source }
}

/// Runs `spec.command` in `spec.worktree` and returns its parsed report.
pub async fn run_tests(spec: RunTests<'_>) -> Result<TestReport, RunTestsError> {
    std::fs::create_dir_all(spec.report_dir)
        .map_err(io(format!("create the report directory {}", spec.report_dir.display())))?;
    let kept = tempfile::Builder::new()
        .prefix("run-")
        .tempdir_in(spec.report_dir)
        .map_err(io(format!("create a run directory in {}", spec.report_dir.display())))?
        .keep();
    let visible = spec.level == SandboxLevel::None || inside(spec.report_dir, spec.worktree);
    let hidden = if visible {
        None
    } else {
        let dir = tempfile::Builder::new()
            .prefix(".ambidex-eval-")
            .tempdir_in(spec.worktree)
            .map_err(io(format!("create a report directory in {}", spec.worktree.display())))?;
        Some(dir)
    };
    let run_dir: PathBuf = hidden.as_ref().map_or_else(|| kept.clone(), |d| d.path().to_owned());
    // Absolute, so a `cd` in the command (or nextest's rule for tool configs) does not matter.
    let run_dir = std::path::absolute(&run_dir).map_err(io("resolve the report directory"))?;
    let instrumented = instrument(spec.command, &run_dir);
    for (path, text) in &instrumented.files {
        std::fs::write(path, text).map_err(io(format!("write {}", path.display())))?;
    }
    let mut env = spec.env.to_vec();
    env.extend(instrumented.env.iter().cloned());
    let run_spec = RunSpec {
        command: instrumented.command.clone(),
        workdir: spec.worktree.to_owned(),
        level: spec.level,
        timeout: spec.timeout,
        output_cap: OUTPUT_CAP,
        helper: spec.helper.to_owned(),
        env,
        paths: Default::default(),
    };
    let outcome = runner::run(&run_spec).await?;
    let report_text = instrumented.report_file.as_ref().and_then(|path| std::fs::read_to_string(path).ok());
    if let (Some(text), Some(path), Some(_)) = (&report_text, &instrumented.report_file, &hidden)
        && let Some(name) = path.file_name()
    {
        // Best effort: the parsed report is what counts; the copy is for a human to look at.
        let _ = std::fs::write(kept.join(name), text);
    }
    drop(hidden);
    // What the command printed, for a human (and the artifact store) to look at later.
    let printed = format!("$ {}\n{}{}", spec.command, outcome.stdout, outcome.stderr);
    let printed = spec.redactor.map_or(std::borrow::Cow::Borrowed(printed.as_str()), |r| r.redact(&printed));
    let _ = std::fs::write(kept.join(OUTPUT_LOG), printed.as_bytes());
    let mut report = parse(
        instrumented.framework,
        spec.command,
        &outcome.stdout,
        &outcome.stderr,
        outcome.exit_code,
        outcome.duration_ms,
        report_text.as_deref(),
    );
    if let Some(redactor) = spec.redactor {
        for test in &mut report.tests {
            if !test.output.is_empty() {
                test.output = redactor.redact(&test.output).into_owned();
            }
        }
    }
    Ok(report)
}

/// Whether `path` lies inside `dir` (both resolved when they exist).
fn inside(path: &Path, dir: &Path) -> bool {
    let resolve = |p: &Path| p.canonicalize().unwrap_or_else(|_| p.to_owned());
    resolve(path).starts_with(resolve(dir))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{TestFramework, TestStatus};

    fn spec<'a>(worktree: &'a Path, command: &'a str, report_dir: &'a Path) -> RunTests<'a> {
        RunTests {
            worktree,
            command,
            level: SandboxLevel::None,
            helper: Path::new("/nonexistent"),
            timeout: Duration::from_secs(30),
            report_dir,
            env: &[],
            redactor: None,
        }
    }

    #[tokio::test]
    async fn a_plain_command_is_judged_by_its_exit_code_and_redacted() {
        let dir = tempfile::tempdir().unwrap();
        let reports = dir.path().join("reports");
        let redactor = Redactor::new([("API_TOKEN".to_owned(), "sekrit-value-123".to_owned())]);
        let mut run = spec(dir.path(), "echo token sekrit-value-123 >&2; exit 3", &reports);
        run.redactor = Some(&redactor);
        let report = run_tests(run).await.unwrap();
        assert_eq!(report.framework, TestFramework::ExitCode);
        assert_eq!(report.exit_code, Some(3));
        assert!(!report.ok);
        assert_eq!(report.tests[0].status, TestStatus::Failed);
        assert!(!report.tests[0].output.contains("sekrit-value-123"), "{}", report.tests[0].output);
        assert!(report.tests[0].output.contains("token"));
        assert!(reports.is_dir());
    }

    /// A stand-in `pytest` in `dir` that writes the JUnit file it is asked for, so the
    /// instrumentation, the report file and the parser meet for real.
    fn fake_pytest(dir: &Path) -> PathBuf {
        let script = "#!/bin/sh\nfor a in \"$@\"; do case \"$a\" in --junitxml=*) out=\"${a#--junitxml=}\";; esac; done\n\
            printf '<testsuites><testsuite name=\"pytest\"><testcase classname=\"tests.test_a\" name=\"test_ok\" time=\"0.1\"/>\
            <testcase classname=\"tests.test_a\" name=\"test_bad\"><failure message=\"assert 1 == 2\">E assert 1 == 2</failure></testcase>\
            </testsuite></testsuites>' > \"$out\"\nexit 1\n";
        let fake = dir.join("pytest");
        std::fs::write(&fake, script).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
        fake
    }

    fn assert_fake_pytest_report(report: &TestReport, command: &str) {
        assert_eq!(report.framework, TestFramework::Pytest, "{report:#?}");
        assert_eq!(report.command, command);
        let names: Vec<(&str, TestStatus)> = report.tests.iter().map(|t| (t.name.as_str(), t.status)).collect();
        assert_eq!(
            names,
            [("tests/test_a.py::test_ok", TestStatus::Passed), ("tests/test_a.py::test_bad", TestStatus::Failed)]
        );
        assert!(report.tests[1].output.contains("E assert 1 == 2"));
    }

    #[tokio::test]
    async fn a_fake_pytest_report_is_read_from_the_report_file() {
        let dir = tempfile::tempdir().unwrap();
        let fake = fake_pytest(dir.path());
        let command = format!("{} -q", fake.display());
        let reports = dir.path().join("reports");
        let report = run_tests(spec(dir.path(), &command, &reports)).await.unwrap();
        assert_fake_pytest_report(&report, &command);
    }

    #[tokio::test]
    async fn in_bubblewrap_the_report_goes_through_the_worktree_and_leaves_it_clean() {
        if !crate::tools::sandbox::probe().bubblewrap.usable {
            eprintln!("bubblewrap is not usable here: skipped");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let worktree = dir.path().join("worktree");
        std::fs::create_dir(&worktree).unwrap();
        let fake = fake_pytest(&worktree);
        let command = format!("{} -q", fake.display());
        // Outside the worktree: invisible (and read-only) inside the sandbox.
        let reports = dir.path().join("reports");
        let mut run = spec(&worktree, &command, &reports);
        run.level = SandboxLevel::Bubblewrap;
        let report = run_tests(run).await.unwrap();
        assert_fake_pytest_report(&report, &command);
        let left: Vec<String> = std::fs::read_dir(&worktree)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(left, ["pytest"], "the hidden report directory is gone");
        let run_dir = std::fs::read_dir(&reports).unwrap().next().unwrap().unwrap().path();
        assert!(run_dir.join("pytest-junit.xml").is_file(), "a copy of the report is kept");
    }

    #[test]
    fn inside_resolves_paths() {
        let dir = tempfile::tempdir().unwrap();
        assert!(inside(&dir.path().join("a/b"), dir.path()));
        assert!(!inside(Path::new("/elsewhere"), dir.path()));
    }
}
