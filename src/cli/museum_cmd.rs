//! `ambidex museum`: the bug museum. Lists and shows exhibits, keeps or rejects what Ambidex
//! proposed, imports an upstream fix commit as an exhibit only once it is verified to reproduce
//! (its tests fail on the parent and pass on the fix), re-checks exhibits, and exports them as a
//! directory of TOML plus patches a team can commit.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Subcommand;

use super::eval_cmd::{LocalBench, discovered_test_command};
use super::task::resolve_repo;
use super::{Context, Outcome, Writer, block_on, table};
use ambidex::eval::exhibit::{Reproduction, Setup, reproduce};
use ambidex::eval::is_test_path;
use ambidex::protocol::{
    Actor, Command, EventKind, Exhibit, ExhibitLinks, ExhibitSource, ExhibitStatus, MuseumEdit, NewExhibit, Reproducer,
    Verification,
};
use ambidex::workspace::{repo_root, resolve_commit, split_commit};

/// Where `museum export` writes and a team commits the museum.
const DEFAULT_DIR: &str = ".ambidex/museum";

#[derive(Debug, Subcommand)]
pub enum MuseumCmd {
    /// List this repository's exhibits: kept ones and proposals waiting for review
    List {
        /// Every exhibit of every repository, rejected and removed ones too
        #[arg(long)]
        all: bool,
        /// Print JSON instead of a table
        #[arg(long)]
        json: bool,
    },
    /// Show one exhibit: its reproducer, fix, root cause, last check and where it came from
    Show {
        /// The exhibit (an id or any unique ending of it)
        id: String,
        /// Print JSON instead of text
        #[arg(long)]
        json: bool,
    },
    /// Describe a bug present at a commit by the command (and tests) that show it; it is checked
    /// to fail there before it is kept
    Add {
        /// What goes wrong, in a line
        #[arg(long)]
        title: String,
        /// The command that shows it
        #[arg(long)]
        command: String,
        /// A test that fails while the bug is there (repeatable; none: the command's exit code)
        #[arg(long = "test", value_name = "NAME")]
        tests: Vec<String>,
        /// The commit that has the bug [default: HEAD]
        #[arg(long, value_name = "REV")]
        base: Option<String>,
        /// A file the bug lives in (repeatable): candidates touching it are checked against it
        #[arg(long = "file", value_name = "PATH")]
        files: Vec<String>,
        /// Why it happens
        #[arg(long, default_value = "")]
        root_cause: String,
        /// The check that catches it
        #[arg(long, default_value = "")]
        check: String,
        /// Keep it without checking that the command fails
        #[arg(long)]
        no_verify: bool,
    },
    /// Import an upstream fix commit: kept only if its tests fail on its parent (with the test
    /// changes applied) and pass on the fix
    Import {
        /// The fix commit
        #[arg(long, value_name = "COMMIT")]
        fix: String,
        /// The test files among its changes (repeatable) [default: the files that look like tests]
        #[arg(long = "tests", value_name = "PATH")]
        tests: Vec<String>,
        /// The command that runs them [default: the repository's discovered test command]
        #[arg(long, value_name = "CMD")]
        command: Option<String>,
        /// The title [default: the commit's summary]
        #[arg(long)]
        title: Option<String>,
        /// Kill the command after this many seconds
        #[arg(long, value_name = "SECS", default_value_t = 600)]
        timeout: u64,
    },
    /// Check again that exhibits reproduce (default: every kept one of this repository)
    Verify {
        /// The exhibits
        ids: Vec<String>,
        /// Kill a command after this many seconds
        #[arg(long, value_name = "SECS", default_value_t = 600)]
        timeout: u64,
    },
    /// Keep a proposal
    Accept {
        /// The exhibit
        id: String,
    },
    /// Reject a proposal (it is kept, so it is not proposed again)
    Reject {
        /// The exhibit
        id: String,
    },
    /// Remove an exhibit
    Rm {
        /// The exhibit
        id: String,
    },
    /// Write the kept exhibits as a directory of TOML plus patches, to review and commit
    Export {
        /// The directory (default: .ambidex/museum in the repository)
        #[arg(long)]
        dir: Option<PathBuf>,
    },
}

pub fn run(command: MuseumCmd, context: &Context) -> Result<Outcome, String> {
    let repo = resolve_repo(None, &context.repo_dir);
    let exhibits = exhibits(context)?;
    let mine = |e: &&Exhibit| e.repo == repo;
    match command {
        MuseumCmd::List { all, json } => {
            let shown: Vec<&Exhibit> = exhibits
                .iter()
                .filter(|e| all || (e.repo == repo && matches!(e.status, ExhibitStatus::Kept | ExhibitStatus::Pending)))
                .collect();
            print_list(&shown, json)?;
        }
        MuseumCmd::Show { id, json } => {
            let exhibit = find(&exhibits, &id)?;
            if json {
                println!("{}", serde_json::to_string_pretty(exhibit).map_err(|err| err.to_string())?);
            } else {
                print!("{}", describe(exhibit));
            }
        }
        MuseumCmd::Add { title, command, tests, base, files, root_cause, check, no_verify } => {
            let root = root_of(context)?;
            let base = resolve_commit(&root, base.as_deref().unwrap_or("HEAD")).map_err(|err| err.to_string())?;
            let reproducer = Reproducer { command, tests, tests_patch: None };
            let mut exhibit = NewExhibit {
                repo,
                title,
                base,
                reproducer,
                bug_patch: None,
                fix_patch: None,
                files,
                root_cause,
                check,
                source: ExhibitSource::Human,
                links: ExhibitLinks::default(),
                verification: None,
            };
            if !no_verify {
                let checked = check_new(context, &root, &exhibit, Duration::from_secs(600))?;
                exhibit.reproducer.tests = checked.failing.clone();
                exhibit.verification = Some(verified(true, checked.detail));
            }
            edit(context, MuseumEdit::Add { exhibit: Box::new(exhibit) })?;
        }
        MuseumCmd::Import { fix, tests, command, title, timeout } => {
            let root = root_of(context)?;
            let exhibit = import(context, &root, repo, &fix, &tests, command, title, timeout, &exhibits)?;
            edit(context, MuseumEdit::Add { exhibit: Box::new(exhibit) })?;
        }
        MuseumCmd::Verify { ids, timeout } => {
            let root = root_of(context)?;
            let chosen: Vec<&Exhibit> = if ids.is_empty() {
                exhibits.iter().filter(mine).filter(|e| e.status == ExhibitStatus::Kept).collect()
            } else {
                ids.iter().map(|id| find(&exhibits, id)).collect::<Result<_, _>>()?
            };
            if chosen.is_empty() {
                println!("no kept exhibit to verify in this repository");
            }
            let mut failed = 0;
            for exhibit in chosen {
                let (reproduces, detail) = verify(context, &root, exhibit, Duration::from_secs(timeout))?;
                failed += usize::from(!reproduces);
                let id = exhibit.id;
                edit_quietly(context, MuseumEdit::Verified { id, verification: verified(reproduces, detail.clone()) })?;
                let word = if reproduces { "reproduces" } else { "DOES NOT REPRODUCE" };
                println!("{} {word}: {} ({detail})", id.short(), exhibit.title);
            }
            if failed > 0 {
                return Err(format!(
                    "{failed} exhibit(s) no longer reproduce: fix the reproducer (`ambidex museum show ID`), or remove it"
                ));
            }
        }
        MuseumCmd::Accept { id } => edit(context, MuseumEdit::Accept { id: find(&exhibits, &id)?.id })?,
        MuseumCmd::Reject { id } => edit(context, MuseumEdit::Reject { id: find(&exhibits, &id)?.id })?,
        MuseumCmd::Rm { id } => edit(context, MuseumEdit::Remove { id: find(&exhibits, &id)?.id })?,
        MuseumCmd::Export { dir } => {
            let dir = dir.unwrap_or_else(|| Path::new(&repo).join(DEFAULT_DIR));
            let kept: Vec<&Exhibit> =
                exhibits.iter().filter(mine).filter(|e| e.status == ExhibitStatus::Kept).collect();
            for exhibit in &kept {
                super::museum_export::write(&dir, exhibit)?;
            }
            println!("exported {} kept exhibits to {}", kept.len(), dir.display());
        }
    }
    Ok(Outcome::Done)
}

fn root_of(context: &Context) -> Result<PathBuf, String> {
    repo_root(&context.repo_dir).ok_or_else(|| format!("{} is not inside a git repository", context.repo_dir.display()))
}

fn verified(reproduces: bool, detail: String) -> Verification {
    Verification { at: jiff::Timestamp::now(), reproduces, detail }
}

/// An upstream fix commit as a new exhibit, verified in a scratch worktree; an error saying why
/// when it does not reproduce.
#[allow(clippy::too_many_arguments)]
fn import(
    context: &Context,
    root: &Path,
    repo: String,
    fix: &str,
    tests: &[String],
    command: Option<String>,
    title: Option<String>,
    timeout: u64,
    known: &[Exhibit],
) -> Result<NewExhibit, String> {
    let named: Vec<String> = tests.iter().map(|t| t.trim().trim_start_matches("./").to_owned()).collect();
    let is_test = |path: &str| {
        if named.is_empty() {
            is_test_path(path)
        } else {
            named.iter().any(|t| path == t || path.starts_with(&format!("{}/", t.trim_end_matches('/'))))
        }
    };
    let split = split_commit(root, fix, &is_test).map_err(|err| err.to_string())?;
    let held = known.iter().find(|e| {
        e.repo == repo && e.status != ExhibitStatus::Removed && e.links.commit.as_deref() == Some(split.commit.as_str())
    });
    if let Some(same) = held {
        return Err(format!("exhibit {} already holds fix {} ({})", same.id.short(), split.commit, same.status));
    }
    if split.tests.files.is_empty() {
        return Err(format!(
            "commit {} changes no test file{}: an exhibit needs tests that fail before the fix (name them with --tests PATH)",
            &split.commit[..10],
            if named.is_empty() { "" } else { " among those named" }
        ));
    }
    if split.rest.files.is_empty() {
        return Err(format!(
            "commit {} changes only tests: there is no fix to check them against",
            &split.commit[..10]
        ));
    }
    let command = match command {
        Some(command) => command,
        None => discovered_test_command(root)?,
    };
    let mut exhibit = NewExhibit {
        repo,
        title: title.unwrap_or_else(|| split.summary.clone()),
        base: split.parent.clone(),
        reproducer: Reproducer { command, tests: Vec::new(), tests_patch: Some(split.tests.patch.clone()) },
        bug_patch: None,
        fix_patch: Some(split.rest.patch.clone()),
        files: split.rest.files.iter().map(|f| f.path.clone()).collect(),
        root_cause: String::new(),
        check: String::new(),
        source: ExhibitSource::Imported { fix: split.commit.clone() },
        links: ExhibitLinks { commit: Some(split.commit.clone()), ..ExhibitLinks::default() },
        verification: None,
    };
    let checked = check_new(context, root, &exhibit, Duration::from_secs(timeout))
        .map_err(|err| format!("commit {} is not kept: {err}", &split.commit[..10]))?;
    exhibit.check = format!("`{}`: {}", exhibit.reproducer.command, checked.failing.join(", "));
    exhibit.reproducer.tests = checked.failing;
    exhibit.verification = Some(verified(true, checked.detail));
    Ok(exhibit)
}

/// Reproduces a new exhibit in a scratch worktree (see [`reproduce`]).
fn check_new(context: &Context, root: &Path, exhibit: &NewExhibit, timeout: Duration) -> Result<Reproduction, String> {
    eprintln!(
        "checking that `{}` shows the bug at {}…",
        exhibit.reproducer.command,
        &exhibit.base[..exhibit.base.len().min(10)]
    );
    let local = LocalBench::new(context, "museum-", timeout)?;
    let reports = local.scratch().join("reports");
    let setup = Setup {
        repo: root,
        base: &exhibit.base,
        bug: exhibit.bug_patch.as_deref(),
        tests: exhibit.reproducer.tests_patch.as_deref(),
        fix: exhibit.fix_patch.as_deref(),
        command: &exhibit.reproducer.command,
        declared: &exhibit.reproducer.tests,
        scratch: &local.scratch().join("worktrees"),
    };
    block_on(reproduce(&setup, &local.bench(&reports)))?.map_err(|err| err.to_string())
}

/// Whether a stored exhibit still reproduces, and what was seen. An exhibit without a reproducer
/// does not.
fn verify(context: &Context, root: &Path, exhibit: &Exhibit, timeout: Duration) -> Result<(bool, String), String> {
    if !exhibit.reproducer.is_known() {
        return Ok((false, "it has no reproducer: give one with the API's edit, or remove it".into()));
    }
    let new = NewExhibit {
        repo: exhibit.repo.clone(),
        title: exhibit.title.clone(),
        base: exhibit.base.clone(),
        reproducer: exhibit.reproducer.clone(),
        bug_patch: exhibit.bug_patch.clone(),
        fix_patch: exhibit.fix_patch.clone(),
        files: Vec::new(),
        root_cause: String::new(),
        check: String::new(),
        source: ExhibitSource::Human,
        links: ExhibitLinks::default(),
        verification: None,
    };
    match check_new(context, root, &new, timeout) {
        Ok(found) => Ok((true, found.detail)),
        Err(why) if why.starts_with("cannot check") => Err(format!("exhibit {}: {why}", exhibit.id.short())),
        Err(why) => Ok((false, why)),
    }
}

/// Every exhibit in the store (none when there is no store yet).
fn exhibits(context: &Context) -> Result<Vec<Exhibit>, String> {
    match context.reader()? {
        Some(reader) => reader.museum().map_err(|err| err.to_string()),
        None => Ok(Vec::new()),
    }
}

fn find<'a>(exhibits: &'a [Exhibit], reference: &str) -> Result<&'a Exhibit, String> {
    let found: Vec<&Exhibit> = exhibits.iter().filter(|e| e.id.matches_suffix(reference.trim())).collect();
    match found.as_slice() {
        [one] => Ok(one),
        [] => Err(format!("no exhibit ends in `{reference}`; `ambidex museum list --all` shows them")),
        _ => Err(format!("`{reference}` names {} exhibits: give more of the id", found.len())),
    }
}

/// Carries out `edit` (through the running engine when one holds the store) and says what changed.
fn edit(context: &Context, edit: MuseumEdit) -> Result<(), String> {
    let exhibit = edit_quietly(context, edit)?;
    println!("exhibit {} is {}: {}", exhibit.id.short(), exhibit.status, exhibit.title);
    Ok(())
}

fn edit_quietly(context: &Context, edit: MuseumEdit) -> Result<Exhibit, String> {
    let events = match context.writer()? {
        Writer::Local(engine) => {
            let events = engine
                .execute_blocking(Command::EditMuseum { edit }, Actor::local_human())
                .map_err(|err| err.to_string());
            engine.shutdown();
            events?.into_iter().map(|event| event.kind.clone()).collect::<Vec<_>>()
        }
        Writer::Remote(client) => vec![block_on(client.edit_museum(&edit))?.map_err(|err| err.to_string())?.kind],
    };
    events
        .into_iter()
        .find_map(|kind| match kind {
            EventKind::ExhibitChanged { exhibit, .. } => Some(*exhibit),
            _ => None,
        })
        .ok_or_else(|| "the engine recorded no museum change".to_owned())
}

/// `3 tests, verified`, `command only, unverified`, `no reproducer`.
pub(super) fn reproducer_summary(exhibit: &Exhibit) -> String {
    if !exhibit.reproducer.is_known() {
        return "no reproducer".into();
    }
    let tests = match exhibit.reproducer.tests.len() {
        0 => "exit code".to_owned(),
        1 => "1 test".to_owned(),
        n => format!("{n} tests"),
    };
    let check = match &exhibit.verification {
        Some(v) if v.reproduces => "verified",
        Some(_) => "does not reproduce",
        None => "unverified",
    };
    format!("{tests}, {check}")
}

fn print_list(exhibits: &[&Exhibit], json: bool) -> Result<(), String> {
    if json {
        println!("{}", serde_json::to_string_pretty(exhibits).map_err(|err| err.to_string())?);
        return Ok(());
    }
    if exhibits.is_empty() {
        println!(
            "the museum is empty for this repository: `ambidex museum import --fix COMMIT` keeps an upstream fix's bug"
        );
        return Ok(());
    }
    let rows: Vec<Vec<String>> = exhibits
        .iter()
        .map(|e| vec![e.id.short(), e.status.to_string(), e.source.label(), reproducer_summary(e), e.title.clone()])
        .collect();
    print!("{}", table::render(&["ID", "STATUS", "SOURCE", "REPRODUCER", "TITLE"], &rows));
    Ok(())
}

fn describe(exhibit: &Exhibit) -> String {
    let mut out = format!(
        "exhibit {} ({})\n{}\n\nrepository  {}\nbase        {}\nsource      {}\ncreated     {}\n",
        exhibit.id,
        exhibit.status,
        exhibit.title,
        exhibit.repo,
        exhibit.base,
        exhibit.source.label(),
        exhibit.created
    );
    let links = &exhibit.links;
    for (name, value) in [
        ("task", links.task.map(|t| t.to_string())),
        ("candidate", links.candidate.clone()),
        ("gate", links.gate.map(|g| g.to_string())),
        ("pr", links.pr.clone()),
        ("commit", links.commit.clone()),
    ] {
        if let Some(value) = value {
            out.push_str(&format!("{name:<11} {value}\n"));
        }
    }
    out.push_str(&format!("\nreproducer  {}\n", reproducer_summary(exhibit)));
    if exhibit.reproducer.is_known() {
        out.push_str(&format!("  command   {}\n", exhibit.reproducer.command));
    }
    for test in &exhibit.reproducer.tests {
        out.push_str(&format!("  fails     {test}\n"));
    }
    for (name, patch) in
        [("test changes", &exhibit.reproducer.tests_patch), ("bug", &exhibit.bug_patch), ("fix", &exhibit.fix_patch)]
    {
        if let Some(patch) = patch {
            let files = ambidex::eval::parse_patch(patch).len();
            out.push_str(&format!("  {name:<9} {files} file(s), {} lines of patch\n", patch.lines().count()));
        }
    }
    if !exhibit.files.is_empty() {
        out.push_str(&format!("files       {}\n", exhibit.files.join(", ")));
    }
    if let Some(check) = &exhibit.verification {
        let word = if check.reproduces { "reproduces" } else { "does not reproduce" };
        out.push_str(&format!("last check  {word} ({}): {}\n", check.at, check.detail));
    }
    if !exhibit.root_cause.is_empty() {
        out.push_str(&format!("\nroot cause\n{}\n", exhibit.root_cause));
    }
    if !exhibit.check.is_empty() {
        out.push_str(&format!("\nthe check that catches it\n{}\n", exhibit.check));
    }
    out
}
