//! Whether a bug museum exhibit reproduces, and how one fared against a candidate.
//!
//! An exhibit reproduces when, on its base with its bug (and its test changes) in, the tests it
//! names fail, and with the fix in place of the bug they pass. Real repositories set traps that
//! make a non-reproduction look like one, and each is refused with what to do:
//! - a test filter that matches nothing exits 0 ("ran no test", or the named test "did not run");
//! - a stale build that hides a new test file: every source is freshened before each run
//!   ([`super::freshen`]) and each state starts from a reset worktree;
//! - a snapshot tool that rewrites its snapshot instead of failing: a run that changes a file the
//!   exhibit set up is refused.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::bench::{Bench, run_all};
use super::identity::{self, Outcome, is_pseudo};
use super::parse::{BUILD_TEST, NO_TESTS};
use crate::protocol::{ExhibitOutcome, TaskId, TestReport, TestStatus};
use crate::workspace::{WorktreeRequest, apply_patch, create, delete_branch, remove, reset_to, uncommitted};

/// How an exhibit's reproducer fared in `reports` (its command's): its tests all pass (held),
/// one fails (broken), or they did not run. With no named tests, the command's success decides.
pub fn outcome(tests: &[String], reports: &[TestReport]) -> ExhibitOutcome {
    if let Some(why) = not_run(reports) {
        return ExhibitOutcome::NotRun { why };
    }
    if tests.is_empty() {
        return if reports.iter().all(|r| r.ok) {
            ExhibitOutcome::Held
        } else {
            ExhibitOutcome::Broken { tests: Vec::new() }
        };
    }
    let mut failed = Vec::new();
    let mut missing = Vec::new();
    for name in tests {
        match identity::outcome(name, reports) {
            Outcome::Passed => {}
            Outcome::Failed => failed.push(name.clone()),
            Outcome::NotRun => missing.push(name.clone()),
        }
    }
    if !failed.is_empty() {
        ExhibitOutcome::Broken { tests: failed }
    } else if !missing.is_empty() {
        ExhibitOutcome::NotRun { why: format!("its tests did not run: {}", missing.join(", ")) }
    } else {
        ExhibitOutcome::Held
    }
}

/// Why `reports` show no test at all, if they do not: the command was refused, did not build or
/// ran none.
fn not_run(reports: &[TestReport]) -> Option<String> {
    if reports.is_empty() {
        return Some("no command ran".into());
    }
    for report in reports {
        if report.tests.iter().any(|t| !is_pseudo(&t.name)) {
            continue;
        }
        let named = |name: &str| report.tests.iter().find(|t| t.name == name || t.name.ends_with(name));
        let why = if let Some(refused) = named(super::NOT_RUN) {
            refused.output.clone()
        } else if named(BUILD_TEST).is_some_and(|t| t.status == TestStatus::Failed) {
            "it does not build".to_owned()
        } else if named(NO_TESTS).is_some() {
            "it ran no test".to_owned()
        } else if report.framework == crate::protocol::TestFramework::ExitCode {
            continue;
        } else {
            "it reported no test".to_owned()
        };
        return Some(format!("`{}`: {why}", report.command));
    }
    None
}

/// What to reproduce, and where.
#[derive(Debug, Clone)]
pub struct Setup<'a> {
    /// The repository (any path inside it).
    pub repo: &'a Path,
    /// The commit the reproducer is set up on.
    pub base: &'a str,
    /// The change that brings the bug in, if the base does not have it.
    pub bug: Option<&'a str>,
    /// Test changes applied in both states.
    pub tests: Option<&'a str>,
    /// The change that fixes the bug.
    pub fix: Option<&'a str>,
    /// The command that runs the tests.
    pub command: &'a str,
    /// The tests that should fail with the bug and pass without (empty: found by running).
    pub declared: &'a [String],
    /// Where the scratch worktree goes (removed at the end).
    pub scratch: &'a Path,
}

impl Setup<'_> {
    /// Whether there is a state without the bug to compare with.
    fn has_fixed_state(&self) -> bool {
        self.bug.is_some() || self.fix.is_some()
    }
}

/// A reproduction that held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reproduction {
    /// The tests that fail with the bug (and pass with the fix, when one is known).
    pub failing: Vec<String>,
    /// What was seen, in words.
    pub detail: String,
}

/// Why a reproduction did not hold.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReproduceError {
    /// The check could not be made (the base is unknown, a patch does not apply, no worktree).
    #[error("cannot check: {0}")]
    Setup(String),
    /// The check was made, and the bug did not show as the exhibit says it would.
    #[error("does not reproduce: {0}")]
    Not(String),
}

/// One state's run: the reports and the files the run changed that the state had set up.
#[derive(Debug, Clone, Default)]
pub struct StateRun {
    /// The command's reports.
    pub reports: Vec<TestReport>,
    /// Files the exhibit set up (tracked or patched) that the run rewrote.
    pub rewritten: Vec<String>,
}

/// Checks the exhibit described by `setup` in a scratch worktree: its bug state (base, bug,
/// tests), then its fixed state (base, tests, fix) when it has one. The worktree and its branch
/// are removed at the end, whatever happened.
pub async fn reproduce(setup: &Setup<'_>, bench: &Bench<'_>) -> Result<Reproduction, ReproduceError> {
    std::fs::create_dir_all(setup.scratch)
        .map_err(|err| ReproduceError::Setup(format!("cannot create {}: {err}", setup.scratch.display())))?;
    let worktree = create(&WorktreeRequest {
        repo: setup.repo.to_owned(),
        task: TaskId::new(),
        candidate: "museum".into(),
        base: Some(setup.base.to_owned()),
        root: setup.scratch.to_owned(),
    })
    .map_err(|err| ReproduceError::Setup(format!("cannot create a worktree at {}: {err}", setup.base)))?;
    let result = check_states(setup, bench, &worktree.path).await;
    // Best effort: a scratch worktree left behind is only disk space, and `ambidex clean` finds it.
    let _ = remove(&worktree, true);
    let _ = delete_branch(&worktree.repo, &worktree.branch);
    result
}

async fn check_states(setup: &Setup<'_>, bench: &Bench<'_>, path: &Path) -> Result<Reproduction, ReproduceError> {
    let broken = run_state(bench, path, setup.base, &[setup.bug, setup.tests], setup.command, "museum-bug").await?;
    let fixed = if setup.has_fixed_state() {
        Some(run_state(bench, path, setup.base, &[setup.tests, setup.fix], setup.command, "museum-fix").await?)
    } else {
        None
    };
    judge(setup.declared, &broken, fixed.as_ref())
}

/// Sets the worktree at `path` to `base` with `patches` applied, runs `command` once, and notes
/// the files the run rewrote.
pub async fn run_state(
    bench: &Bench<'_>,
    path: &Path,
    base: &str,
    patches: &[Option<&str>],
    command: &str,
    purpose: &str,
) -> Result<StateRun, ReproduceError> {
    let setup = |what: String| ReproduceError::Setup(what);
    reset_to(path, base).map_err(|err| setup(format!("cannot check out {base}: {err}")))?;
    for patch in patches.iter().flatten() {
        apply_patch(path, patch)
            .map_err(|err| setup(format!("a patch of the exhibit does not apply to {base}: {err}")))?;
    }
    let before = fingerprints(path).map_err(setup)?;
    let measured = run_all(bench, path, &[command.to_owned()], purpose).await;
    let after = fingerprints(path).map_err(setup)?;
    let rewritten = after
        .iter()
        .filter(|(file, print)| {
            before.get(*file).is_some_and(|old| old != *print) || tracked_new(path, base, file, &before)
        })
        .map(|(file, _)| file.clone())
        .collect();
    Ok(StateRun { reports: measured.reports, rewritten })
}

/// Whether `file`, changed by the run and not set up by a patch, is tracked at `base` (the run
/// changed a file of the repository).
fn tracked_new(path: &Path, base: &str, file: &str, before: &BTreeMap<String, Vec<u8>>) -> bool {
    !before.contains_key(file) && crate::workspace::file_at(path, base, file).is_some()
}

/// Each uncommitted file's content digest.
fn fingerprints(path: &Path) -> Result<BTreeMap<String, Vec<u8>>, String> {
    let files = uncommitted(path).map_err(|err| format!("cannot read the worktree's status: {err}"))?;
    Ok(files
        .into_iter()
        .map(|file| {
            let digest = std::fs::read(path.join(&file))
                .ok()
                .and_then(|bytes| crate::workspace::blob_id(&bytes))
                .unwrap_or_default();
            (file, digest)
        })
        .collect())
}

/// The verdict of the runs of the bug state and, when there is one, the fixed state.
pub fn judge(declared: &[String], broken: &StateRun, fixed: Option<&StateRun>) -> Result<Reproduction, ReproduceError> {
    let not = |why: String| Err(ReproduceError::Not(why));
    for (state, run) in [("with the bug", Some(broken)), ("with the fix", fixed)] {
        let Some(run) = run else { continue };
        if !run.rewritten.is_empty() {
            return not(format!(
                "the command rewrote {} {state}: a snapshot tool that updates instead of failing? Run it in check \
                 mode (e.g. `INSTA_UPDATE=no`, `CI=true`, no `-u`)",
                run.rewritten.join(", ")
            ));
        }
        if let Some(why) = not_run(&run.reports) {
            return not(format!("{why} {state}: does the command's filter match the tests, and do they build there?"));
        }
    }
    if declared.is_empty() && fixed.is_none() {
        return if broken.reports.iter().any(|r| !r.ok) {
            Ok(Reproduction { failing: Vec::new(), detail: "the command fails with the bug".into() })
        } else {
            not("the command passes with the bug: it does not catch it".into())
        };
    }
    let failing: Vec<String> = if declared.is_empty() {
        let fixed = fixed.map(|f| f.reports.as_slice()).unwrap_or_default();
        broken
            .reports
            .iter()
            .flat_map(|r| &r.tests)
            .filter(|t| t.status == TestStatus::Failed && !is_pseudo(&t.name))
            .filter(|t| identity::outcome(&t.name, fixed) == Outcome::Passed)
            .map(|t| t.name.clone())
            .collect()
    } else {
        for name in declared {
            match identity::outcome(name, &broken.reports) {
                Outcome::Failed => {}
                Outcome::Passed => return not(format!("`{name}` passes with the bug: it does not catch it")),
                Outcome::NotRun => {
                    return not(format!("`{name}` did not run with the bug: does the command's filter match it?"));
                }
            }
            if let Some(fixed) = fixed {
                match identity::outcome(name, &fixed.reports) {
                    Outcome::Passed => {}
                    Outcome::Failed => return not(format!("`{name}` fails with the fix too")),
                    Outcome::NotRun => return not(format!("`{name}` did not run with the fix")),
                }
            }
        }
        declared.to_vec()
    };
    if failing.is_empty() {
        return not("no test fails with the bug and passes with the fix: the tests do not catch it".into());
    }
    let detail = match fixed {
        Some(_) => format!("{} fail with the bug and pass with the fix", failing.join(", ")),
        None => format!("{} fail with the bug", failing.join(", ")),
    };
    Ok(Reproduction { failing, detail })
}

/// A scratch directory for reproductions under the state directory.
pub fn scratch_dir(state_dir: &Path) -> PathBuf {
    state_dir.join("scratch").join("museum")
}

#[cfg(test)]
#[path = "exhibit_tests.rs"]
mod tests;
