//! Recent commits and file churn from git: what changed lately and which files change most
//! (commits touching each file among the last N, merges excluded, as `git log --no-merges`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

/// One commit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommitInfo {
    /// The abbreviated id.
    pub id: String,
    /// The first line of the message.
    pub summary: String,
    /// The author's name.
    pub author: String,
    /// The commit date, `YYYY-MM-DD`.
    pub date: String,
}

/// A file and the number of commits that touched it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileChurn {
    /// The path relative to the root.
    pub path: String,
    /// Commits touching it among those scanned.
    pub commits: usize,
}

/// The repository's recent history.
#[derive(Debug, Clone, Default, Serialize)]
pub struct History {
    /// The checked-out branch, if any.
    pub branch: Option<String>,
    /// The most recent commits, newest first.
    pub commits: Vec<CommitInfo>,
    /// Files changed most recently (still present), newest first.
    pub recent_files: Vec<String>,
    /// Files changed most often (still present), most first.
    pub churn: Vec<FileChurn>,
    /// Commits scanned for churn.
    pub commits_scanned: usize,
    /// Why there is no history, when there is none.
    pub note: Option<String>,
}

/// How many entries of each list to keep.
const LISTED: usize = 10;

/// Reads the last `max_commits` commits of the repository containing `root`.
pub fn gather(root: &Path, max_commits: usize) -> History {
    match read(root, max_commits) {
        Ok(history) => history,
        Err(note) => History { note: Some(note), ..History::default() },
    }
}

fn read(root: &Path, max_commits: usize) -> Result<History, String> {
    let repo = git2::Repository::discover(root).map_err(|_| "not a git repository: no history".to_owned())?;
    let workdir: PathBuf =
        repo.workdir().ok_or_else(|| "a bare repository: no working tree".to_owned())?.components().collect();
    let root: PathBuf = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_owned());
    let workdir = std::fs::canonicalize(&workdir).unwrap_or(workdir);
    // Paths in git are relative to the work tree; the summary's are relative to `root`.
    let sub = root.strip_prefix(&workdir).map(|p| super::walk::relative(Path::new(""), p)).unwrap_or_default();
    let mut history = History::default();
    let head = match repo.head() {
        Ok(head) => head,
        Err(err) if err.code() == git2::ErrorCode::UnbornBranch => {
            history.note = Some("the repository has no commits yet".into());
            return Ok(history);
        }
        Err(err) => return Err(format!("cannot read HEAD: {}", err.message())),
    };
    history.branch = head.shorthand().ok().filter(|_| head.is_branch()).map(str::to_owned);
    let mut walk = repo.revwalk().map_err(|e| e.message().to_owned())?;
    walk.push_head().map_err(|e| e.message().to_owned())?;
    let _ = walk.set_sorting(git2::Sort::TIME);

    let mut counts: HashMap<String, usize> = HashMap::new();
    let mut recent: Vec<String> = Vec::new();
    for oid in walk.take(max_commits) {
        let Ok(commit) = oid.and_then(|oid| repo.find_commit(oid)) else {
            continue;
        };
        history.commits_scanned += 1;
        if history.commits.len() < LISTED {
            history.commits.push(info(&commit));
        }
        if commit.parent_count() > 1 {
            continue;
        }
        let Ok(tree) = commit.tree() else {
            continue;
        };
        let parent = commit.parent(0).ok().and_then(|p| p.tree().ok());
        let Ok(diff) = repo.diff_tree_to_tree(parent.as_ref(), Some(&tree), None) else {
            continue;
        };
        for delta in diff.deltas() {
            let Some(path) = delta.new_file().path().or_else(|| delta.old_file().path()) else {
                continue;
            };
            let path = super::walk::relative(Path::new(""), path);
            let path = if sub.is_empty() {
                path
            } else if let Some(rest) = path.strip_prefix(&format!("{sub}/")) {
                rest.to_owned()
            } else {
                continue;
            };
            let count = counts.entry(path.clone()).or_insert(0);
            if *count == 0 {
                recent.push(path);
            }
            *count += 1;
        }
    }
    let exists = |path: &str| root.join(path).is_file();
    history.recent_files = recent.iter().filter(|p| exists(p)).take(LISTED).cloned().collect();
    let mut churn: Vec<(String, usize)> = counts.into_iter().collect();
    churn.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    history.churn = churn
        .into_iter()
        .filter(|(p, _)| exists(p))
        .take(LISTED)
        .map(|(path, commits)| FileChurn { path, commits })
        .collect();
    Ok(history)
}

fn info(commit: &git2::Commit<'_>) -> CommitInfo {
    let id = commit.id().to_string();
    let date = jiff::Timestamp::from_second(commit.time().seconds())
        .map(|t| t.strftime("%Y-%m-%d").to_string())
        .unwrap_or_default();
    CommitInfo {
        id: id.chars().take(10).collect(),
        summary: String::from_utf8_lossy(commit.summary_bytes().unwrap_or_default()).into_owned(),
        author: String::from_utf8_lossy(commit.author().name_bytes()).into_owned(),
        date,
    }
}
