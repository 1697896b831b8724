//! The recent history of a repository: its last commits, newest first, each with the files it
//! touched. The context summary (recent commits, churn) and triage (how often the files a task
//! names change) read it from here, so neither walks git itself.

use std::path::Path;

use git2::{DiffOptions, ErrorCode, Sort};

use super::repo::discover_with_prefix;

/// One commit of the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedCommit {
    /// The full id (hex).
    pub id: String,
    /// The first line of the message.
    pub summary: String,
    /// The author's name.
    pub author: String,
    /// The commit time, in seconds since the Unix epoch.
    pub time: i64,
    /// Whether it has more than one parent. A merge's files are not listed (as
    /// `git log --no-merges` would not count it).
    pub merge: bool,
    /// The files the commit changed against its parent, under the directory asked about,
    /// relative to it and `/`-separated.
    pub files: Vec<String>,
}

/// The log of the repository around a directory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Log {
    /// The checked-out branch, if one is.
    pub branch: Option<String>,
    /// The commits, newest first.
    pub commits: Vec<LoggedCommit>,
}

/// Why there is no log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LogError {
    /// The directory is not inside a git work tree.
    #[error("not a git repository: no history")]
    NotARepo,
    /// Nothing has been committed yet.
    #[error("the repository has no commits yet")]
    NoCommits,
    /// git failed.
    #[error("cannot read the history: {0}")]
    Git(String),
}

/// Reads the last `max_commits` commits of the repository containing `dir`, newest first. With
/// `only`, the files listed per commit are limited to those paths (relative to `dir`), which is
/// much cheaper than listing every change.
pub fn log(dir: &Path, max_commits: usize, only: Option<&[String]>) -> Result<Log, LogError> {
    let (repo, prefix) = discover_with_prefix(dir).ok_or(LogError::NotARepo)?;
    let git = |err: git2::Error| LogError::Git(err.message().to_owned());
    let head = match repo.head() {
        Ok(head) => head,
        Err(err) if err.code() == ErrorCode::UnbornBranch => return Err(LogError::NoCommits),
        Err(err) => return Err(git(err)),
    };
    let branch = head.shorthand().ok().filter(|_| head.is_branch()).map(str::to_owned);
    let mut walk = repo.revwalk().map_err(git)?;
    walk.push_head().map_err(git)?;
    walk.set_sorting(Sort::TIME).map_err(git)?;
    let mut options = DiffOptions::new();
    if let Some(only) = only {
        for path in only {
            options.pathspec(format!("{prefix}{path}"));
        }
        options.disable_pathspec_match(true);
    }
    let mut commits = Vec::new();
    for oid in walk.take(max_commits) {
        let Ok(commit) = oid.and_then(|oid| repo.find_commit(oid)) else {
            continue;
        };
        let mut logged = LoggedCommit {
            id: commit.id().to_string(),
            summary: String::from_utf8_lossy(commit.summary_bytes().unwrap_or_default()).into_owned(),
            author: String::from_utf8_lossy(commit.author().name_bytes()).into_owned(),
            time: commit.time().seconds(),
            merge: commit.parent_count() > 1,
            files: Vec::new(),
        };
        if !logged.merge
            && let Ok(tree) = commit.tree()
        {
            let parent = commit.parent(0).ok().and_then(|p| p.tree().ok());
            if let Ok(diff) = repo.diff_tree_to_tree(parent.as_ref(), Some(&tree), Some(&mut options)) {
                for delta in diff.deltas() {
                    let Some(path) = delta.new_file().path().or_else(|| delta.old_file().path()) else {
                        continue;
                    };
                    let parts: Vec<String> =
                        path.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
                    if let Some(rel) = parts.join("/").strip_prefix(prefix.as_str()) {
                        logged.files.push(rel.to_owned());
                    }
                }
            }
        }
        commits.push(logged);
    }
    Ok(Log { branch, commits })
}

/// A commit that reverts another, as `git revert` writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevertCommit {
    /// The reverting commit (hex).
    pub id: String,
    /// Its summary (`Revert "…"`).
    pub summary: String,
    /// The commit it names in "This reverts commit …", when it does.
    pub reverted: Option<String>,
}

/// The commits among the last `max_commits` of HEAD in the repository containing `dir` that
/// revert another (a summary starting `Revert "`, or a message saying "This reverts commit"),
/// newest first. A repository without commits has none.
pub fn reverts(dir: &Path, max_commits: usize) -> Result<Vec<RevertCommit>, LogError> {
    let (repo, _) = discover_with_prefix(dir).ok_or(LogError::NotARepo)?;
    let git = |err: git2::Error| LogError::Git(err.message().to_owned());
    let mut walk = repo.revwalk().map_err(git)?;
    match walk.push_head() {
        Err(err) if err.code() == ErrorCode::UnbornBranch => return Ok(Vec::new()),
        pushed => pushed.map_err(git)?,
    }
    let mut found = Vec::new();
    for oid in walk.take(max_commits) {
        let Ok(commit) = oid.and_then(|oid| repo.find_commit(oid)) else { continue };
        let message = String::from_utf8_lossy(commit.message_bytes()).into_owned();
        let reverted = message
            .split("This reverts commit ")
            .nth(1)
            .map(|rest| rest.chars().take_while(char::is_ascii_hexdigit).collect::<String>())
            .filter(|sha| sha.len() >= 7);
        let summary = message.lines().next().unwrap_or_default().to_owned();
        if reverted.is_some() || summary.starts_with("Revert \"") {
            found.push(RevertCommit { id: commit.id().to_string(), summary, reverted });
        }
    }
    Ok(found)
}
