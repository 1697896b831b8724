//! `ambidex eval`: the evaluation layer on its own. Patches or branches (an engineer's own,
//! another agent's, a colleague's PR) are evaluated against a base with acceptance tests in a
//! scratch worktree, through the same measurement and judgement the Left Hand uses, and the
//! evidence matrix is printed: as a table, or with `--json` one object per candidate.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use serde_json::{Value, json};

use super::{Context, Outcome, block_on, table};
use ambidex::context::{ContextOptions, RepoContext};
use ambidex::eval::Bench;
use ambidex::eval::session::{self, Candidate, Change, Request};
use ambidex::protocol::{EvidenceMatrix, EvidenceRow};
use ambidex::redact::Redactor;
use ambidex::tools::sandbox;
use ambidex::workspace::repo_root;

#[derive(Debug, Args)]
pub struct EvalArgs {
    /// The base revision the candidates are measured against [default: HEAD]
    #[arg(long, value_name = "REV")]
    base: Option<String>,
    /// The acceptance tests: a patch file, or a revision whose test files (only) are taken, e.g. an
    /// upstream fix commit
    #[arg(long, value_name = "PATCH|REV")]
    tests: Option<String>,
    /// A candidate: a name and a patch file or a revision (branch, tag, commit) whose change since
    /// it left the base is taken (repeatable)
    #[arg(long = "candidate", value_name = "NAME=PATCH|REV", required = true)]
    candidates: Vec<String>,
    /// A validation command (repeatable) [default: the test command discovered in the repository]
    #[arg(long = "validate", value_name = "CMD")]
    validate: Vec<String>,
    /// An acceptance test name to expect besides those the tests add or change (repeatable)
    #[arg(long = "expect", value_name = "TEST")]
    expect: Vec<String>,
    /// Kill a validation command after this many seconds
    #[arg(long, value_name = "SECS", default_value_t = 600)]
    timeout: u64,
    /// Print one JSON object per candidate (an array) instead of the table
    #[arg(long)]
    json: bool,
}

/// A patch file's text when `value` names a file, else the revision `value`.
fn change(value: &str) -> Result<Change, String> {
    let path = Path::new(value);
    if path.is_file() {
        let text = std::fs::read_to_string(path).map_err(|err| format!("cannot read the patch {value}: {err}"))?;
        return Ok(Change::Patch(text));
    }
    Ok(Change::Rev(value.to_owned()))
}

fn candidate(value: &str) -> Result<Candidate, String> {
    let Some((name, source)) = value.split_once('=') else {
        return Err(format!("--candidate {value}: expected NAME=PATCH|REV, e.g. `--candidate fix=fix.patch`"));
    };
    let name = name.trim();
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) {
        return Err(format!("--candidate {value}: a name is letters, digits, `-`, `_` or `.`"));
    }
    Ok(Candidate { name: name.to_owned(), change: change(source.trim())? })
}

/// The repository's discovered test command (`cd DIR && CMD` when it runs in a subdirectory).
pub(super) fn discovered_test_command(root: &Path) -> Result<String, String> {
    let found = RepoContext::gather(root, &ContextOptions::default()).map_err(|err| err.to_string())?;
    let hint =
        found.discovery.test_commands.first().ok_or_else(|| {
            "no test command was discovered in this repository: pass one with --validate CMD".to_owned()
        })?;
    Ok(if hint.dir.is_empty() { hint.command.clone() } else { format!("cd {} && {}", hint.dir, hint.command) })
}

/// What runs commands for evidence from the command line: the best sandbox here, a redactor of
/// the configured secrets, this executable as the sandbox's helper, and a scratch directory
/// (removed when dropped) under the state directory.
pub(super) struct LocalBench {
    redactor: Redactor,
    helper: PathBuf,
    scratch: tempfile::TempDir,
    timeout: Duration,
}

/// No command is refused: the engineer named them.
fn refuse_none(_: &str) -> Option<String> {
    None
}

impl LocalBench {
    /// A bench whose commands are killed after `timeout`, its scratch directory named `prefix…`.
    pub(super) fn new(context: &Context, prefix: &str, timeout: Duration) -> Result<Self, String> {
        let scratch_root = context.state_dir.join("scratch");
        std::fs::create_dir_all(&scratch_root)
            .map_err(|err| format!("cannot create {}: {err}", scratch_root.display()))?;
        let scratch = tempfile::Builder::new()
            .prefix(prefix)
            .tempdir_in(&scratch_root)
            .map_err(|err| format!("cannot create a scratch directory in {}: {err}", scratch_root.display()))?;
        let named = context.effective.config.secret_env_names().into_iter();
        let redactor =
            Redactor::from_env(named.filter_map(|name| std::env::var(&name).ok().map(|value| (name, value))));
        let helper = std::env::current_exe().map_err(|err| format!("cannot find the ambidex executable: {err}"))?;
        Ok(LocalBench { redactor, helper, scratch, timeout })
    }

    /// The scratch directory.
    pub(super) fn scratch(&self) -> &Path {
        self.scratch.path()
    }

    /// The bench to run with.
    pub(super) fn bench<'a>(&'a self, reports: &'a Path) -> Bench<'a> {
        Bench {
            level: sandbox::probe().best(),
            helper: &self.helper,
            timeout: self.timeout,
            report_dir: reports,
            redactor: Some(&self.redactor),
            refuse: &refuse_none,
        }
    }
}

pub fn run(args: EvalArgs, context: &Context) -> Result<Outcome, String> {
    let root = repo_root(&context.repo_dir)
        .ok_or_else(|| format!("{} is not inside a git repository", context.repo_dir.display()))?;
    let candidates = args.candidates.iter().map(|c| candidate(c)).collect::<Result<Vec<_>, _>>()?;
    let mut commands: Vec<String> =
        args.validate.iter().map(|c| c.trim().to_owned()).filter(|c| !c.is_empty()).collect();
    if commands.is_empty() {
        commands.push(discovered_test_command(&root)?);
    }
    let local = LocalBench::new(context, "eval-", Duration::from_secs(args.timeout))?;
    let request = Request {
        repo: root,
        base: args.base.clone(),
        tests: args.tests.as_deref().map(change).transpose()?,
        expect: args.expect.clone(),
        candidates,
        commands,
        scratch: local.scratch().join("worktrees"),
    };
    let reports = local.scratch().join("reports");
    let bench = local.bench(&reports);
    eprintln!(
        "evaluating {} candidate(s) with {} in a scratch worktree…",
        request.candidates.len(),
        request.commands.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ")
    );
    let matrix = block_on(session::evaluate(&request, &bench))?.map_err(|err| err.to_string())?;
    if args.json {
        let rows: Vec<Value> = matrix.rows.iter().map(json_row).collect();
        println!("{}", serde_json::to_string_pretty(&rows).map_err(|err| err.to_string())?);
    } else {
        print!("{}", render(&matrix));
    }
    Ok(Outcome::Done)
}

/// One candidate as JSON: the contract (`candidate`, `valid`, `fixed`, `broken`,
/// `missing`, `acceptance`) and the details behind it.
fn json_row(row: &EvidenceRow) -> Value {
    json!({
        "candidate": row.candidate,
        "valid": row.validation_ok,
        "acceptable": row.acceptable(),
        "fixed": row.fixed,
        "broken": row.broken,
        "missing": row.missing,
        "did_not_run": row.acceptance_not_run,
        "acceptance": { "passed": row.acceptance_passed, "total": row.acceptance_total },
        "acceptance_failed": row.acceptance_failed,
        "tests": { "passed": row.tests_passed, "failed": row.tests_failed },
        "flaky": row.flaky,
        "shortcomings": row.shortcomings().join("; "),
        "diff": { "files": row.diff.files, "added": row.diff.added, "removed": row.diff.removed },
        "build": row.build,
        "reports": row.reports,
    })
}

fn list(names: &[String]) -> String {
    if names.is_empty() { "-".into() } else { names.join(", ") }
}

/// The matrix as a table, then each candidate's details.
fn render(matrix: &EvidenceMatrix) -> String {
    let short = &matrix.base[..matrix.base.len().min(10)];
    let mut out = format!(
        "base {short}; acceptance tests ({}): {}\n",
        matrix.acceptance_tests.len(),
        list(&matrix.acceptance_tests)
    );
    if !matrix.weak_acceptance.is_empty() {
        out.push_str(&format!("weak: these already pass on the base: {}\n", matrix.weak_acceptance.join(", ")));
    }
    out.push('\n');
    let rows: Vec<Vec<String>> = matrix
        .rows
        .iter()
        .map(|row| {
            vec![
                row.candidate.clone(),
                if row.validation_ok { "yes".into() } else { "no".into() },
                row.fixed.len().to_string(),
                row.broken.len().to_string(),
                row.missing.len().to_string(),
                format!("{}/{}", row.acceptance_passed, row.acceptance_total),
                row.acceptance_not_run.len().to_string(),
                if row.acceptable() { "acceptable".into() } else { "not acceptable".into() },
            ]
        })
        .collect();
    out.push_str(&table::render(
        &["CANDIDATE", "VALID", "FIXED", "BROKEN", "MISSING", "ACCEPTANCE", "DID NOT RUN", "VERDICT"],
        &rows,
    ));
    for row in &matrix.rows {
        out.push_str(&format!("\n{}\n", row.candidate));
        out.push_str(&format!(
            "  fixed: {}\n  broken: {}\n  missing: {}\n",
            list(&row.fixed),
            list(&row.broken),
            list(&row.missing)
        ));
        out.push_str(&format!(
            "  acceptance failed: {}\n  did not run: {}\n",
            list(&row.acceptance_failed),
            list(&row.acceptance_not_run)
        ));
        if !row.acceptable() {
            out.push_str(&format!("  not acceptable: {}\n", row.shortcomings().join("; ")));
        }
        for report in row.reports.iter().filter(|r| !r.ok) {
            if let Some(pseudo) = report.tests.iter().find(|t| t.name.starts_with('<')) {
                let last = pseudo.output.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("").trim();
                out.push_str(&format!("  `{}`: {} {last}\n", report.command, pseudo.name));
            }
        }
        if !row.build.is_empty() {
            out.push_str(&format!("  build: {}\n", row.build));
        }
    }
    out
}
