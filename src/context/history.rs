//! Recent commits and file churn from git: what changed lately and which files change most
//! (commits touching each file among the last N, merges excluded, as `git log --no-merges`).

use std::collections::HashMap;
use std::path::Path;

use serde::Serialize;

use crate::workspace::{self, LogError, LoggedCommit};

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
    let log = match workspace::log(root, max_commits, None) {
        Ok(log) => log,
        Err(LogError::NoCommits) => {
            return Ok(History { note: Some(LogError::NoCommits.to_string()), ..History::default() });
        }
        Err(err) => return Err(err.to_string()),
    };
    let mut history = History { branch: log.branch, commits_scanned: log.commits.len(), ..History::default() };
    let mut counts: HashMap<String, usize> = HashMap::new();
    let mut recent: Vec<String> = Vec::new();
    for commit in log.commits {
        for path in &commit.files {
            let count = counts.entry(path.clone()).or_insert(0);
            if *count == 0 {
                recent.push(path.clone());
            }
            *count += 1;
        }
        if history.commits.len() < LISTED {
            history.commits.push(info(commit));
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

fn info(commit: LoggedCommit) -> CommitInfo {
    let date =
        jiff::Timestamp::from_second(commit.time).map(|t| t.strftime("%Y-%m-%d").to_string()).unwrap_or_default();
    CommitInfo { id: commit.id.chars().take(10).collect(), summary: commit.summary, author: commit.author, date }
}
