//! Forges: where a task's pull request goes and where its issue comes from.
//!
//! - [`Forge`]: the trait every code host implements: read an issue, open (or reuse and update) a
//!   **draft** pull request, comment on an issue, list labelled issues, read a commit's CI checks.
//!   Nothing here ever merges.
//! - [`Local`]: the default; the PR is a Markdown document in the state directory.
//! - `github` (github.com and GitHub Enterprise) and `gitlab` (gitlab.com and self-hosted), over
//!   their REST APIs, built with [`client`]; `http` holds the shared request, retry and rate-limit
//!   handling, and turns statuses into errors that say what to do.
//! - [`issue_ref`]: `github:OWNER/REPO#N`, `gitlab:GROUP/PROJECT#N` and issue URLs.
//! - [`import`]: an issue (title, body, labels, comments) as a [`TaskSpec`](crate::protocol::TaskSpec),
//!   with acceptance criteria from checklists and "Acceptance criteria" sections.
//! - [`delivery`]: which forge a task is delivered to, its project, the PR body and issue comment.
//! - [`push`]: pushing the task's `ambidex/…` branch with the git program (never forced, never the
//!   target).
//! - [`token`]: the token from the configured variable or `gh auth token`; it is never put in a
//!   URL, a log, an event or the store.

pub mod delivery;
mod github;
mod gitlab;
mod http;
pub mod import;
pub mod issue_ref;
pub mod push;
pub mod token;

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;

use crate::config::{ForgeConfig, ForgesConfig};
use crate::protocol::{CiCheck, ForgeReview, TaskId};

pub use import::{Comment, Issue, spec_from_issue};
pub use issue_ref::IssueRef;
pub use token::Token;

/// A code host, or the local stand-in for one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ForgeKind {
    /// A Markdown document in the state directory.
    Local,
    /// GitHub or GitHub Enterprise.
    Github,
    /// GitLab or a self-hosted GitLab.
    Gitlab,
}

impl ForgeKind {
    /// The name used in configuration (`forges.delivery`) and events.
    pub fn as_str(self) -> &'static str {
        match self {
            ForgeKind::Local => "local",
            ForgeKind::Github => "github",
            ForgeKind::Gitlab => "gitlab",
        }
    }

    /// What the address of a PR (GitHub) or merge request (GitLab) of `project` holds: how a
    /// task's PR is known to belong to a watched project. `None` for local delivery.
    pub fn pr_marker(self, project: &str) -> Option<String> {
        match self {
            ForgeKind::Github => Some(format!("/{project}/pull/")),
            ForgeKind::Gitlab => Some(format!("/{project}/-/merge_requests/")),
            ForgeKind::Local => None,
        }
    }

    /// The number of the PR (merge request) of `project` at `location`, when it is one.
    pub fn pr_number(self, project: &str, location: &str) -> Option<u64> {
        let marker = self.pr_marker(project)?;
        let (_, after) = location.split_once(&marker)?;
        let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
        digits.parse().ok()
    }

    /// The name for people.
    pub fn display_name(self) -> &'static str {
        match self {
            ForgeKind::Local => "local delivery",
            ForgeKind::Github => "GitHub",
            ForgeKind::Gitlab => "GitLab",
        }
    }

    /// This forge's section of the configuration (`None` for local).
    pub fn config(self, forges: &ForgesConfig) -> Option<&ForgeConfig> {
        match self {
            ForgeKind::Local => None,
            ForgeKind::Github => Some(&forges.github),
            ForgeKind::Gitlab => Some(&forges.gitlab),
        }
    }
}

impl fmt::Display for ForgeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ForgeKind {
    type Err = ForgeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "local" | "" => Ok(ForgeKind::Local),
            "github" => Ok(ForgeKind::Github),
            "gitlab" => Ok(ForgeKind::Gitlab),
            other => Err(ForgeError::Config(format!(
                "unknown forge `{other}`: set `forges.delivery` to local, github or gitlab"
            ))),
        }
    }
}

/// Why a forge operation failed. Every message says what went wrong and what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ForgeError {
    /// The configuration or the reference given is missing something.
    #[error("{0}")]
    Config(String),
    /// The forge refused the token (401) or its permissions (403).
    #[error("{forge} refused the request ({status}) while {action}: {detail}")]
    Auth {
        /// The forge.
        forge: &'static str,
        /// 401 or 403.
        status: u16,
        /// What was being done.
        action: String,
        /// What is wrong and how to fix the token.
        detail: String,
    },
    /// The project, issue or PR does not exist (or the token cannot see it).
    #[error("{forge} found nothing (404) while {action}: {detail}")]
    NotFound {
        /// The forge.
        forge: &'static str,
        /// What was being done.
        action: String,
        /// What to check.
        detail: String,
    },
    /// The rate limit did not reset within the configured wait, or retries ran out.
    #[error("{forge} rate limit while {action}: {detail}")]
    RateLimited {
        /// The forge.
        forge: &'static str,
        /// What was being done.
        action: String,
        /// When to try again.
        detail: String,
    },
    /// Any other refusal by the forge.
    #[error("{forge} answered {status} while {action}: {message}")]
    Http {
        /// The forge.
        forge: &'static str,
        /// The HTTP status.
        status: u16,
        /// What was being done.
        action: String,
        /// The forge's message, with a hint when one is known.
        message: String,
    },
    /// The forge could not be reached.
    #[error("cannot reach {forge} while {action}: {message}; check `forges.{kind}.base_url` and the network, then retry", kind = forge.to_ascii_lowercase())]
    Transport {
        /// The forge.
        forge: &'static str,
        /// What was being done.
        action: String,
        /// The transport error (no URL credentials, no token).
        message: String,
    },
    /// The forge's answer could not be read.
    #[error("{forge} sent an unexpected answer while {action}: {message}")]
    Protocol {
        /// The forge.
        forge: &'static str,
        /// What was being done.
        action: String,
        /// What was wrong with it.
        message: String,
    },
    /// Pushing this branch is not allowed (outside `ambidex/`, or the target branch).
    #[error("{0}")]
    PushRefused(String),
    /// The remote rejected the push (for instance, not a fast-forward); nothing is forced.
    #[error("{0}")]
    PushRejected(String),
    /// A git operation failed.
    #[error("{0}")]
    Git(String),
    /// The forge cannot do this (e.g. issues on local delivery).
    #[error("{0}")]
    Unsupported(String),
}

/// A retry the client is about to make, for the engine to record as an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryNotice {
    /// The forge.
    pub forge: ForgeKind,
    /// The attempt that failed (1-based).
    pub attempt: u32,
    /// Why it is retried.
    pub reason: String,
    /// How long the client waits first.
    pub delay: Duration,
}

/// Called before every retry.
pub type RetryObserver = Arc<dyn Fn(RetryNotice) + Send + Sync>;

/// What a draft pull request should say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrRequest {
    /// The task it delivers.
    pub task: TaskId,
    /// The project (`owner/repo`, `group/subgroup/project`); empty for local delivery.
    pub project: String,
    /// The head branch (always under `ambidex/`).
    pub branch: String,
    /// The branch it targets.
    pub base: String,
    /// The title (GitLab gets a `Draft: ` prefix).
    pub title: String,
    /// The Markdown body.
    pub body: String,
    /// Labels to put on it.
    pub labels: Vec<String>,
}

/// A draft pull request as the forge knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenedPr {
    /// Its number (GitHub) or iid (GitLab); 0 for local delivery.
    pub number: u64,
    /// Its web address (a file path for local delivery).
    pub url: String,
    /// Whether it existed already and was updated instead of created.
    pub reused: bool,
}

/// An open issue that carries a watched label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedIssue {
    /// The issue.
    pub reference: IssueRef,
    /// Its web address (what an imported task's source records).
    pub url: String,
    /// Its title.
    pub title: String,
}

/// The open issues with a label, or word that nothing changed since the caller's version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IssueListing {
    /// The forge answered `304 Not Modified` to the caller's `etag`.
    Unchanged,
    /// The issues (oldest first), with the version to send next time.
    Changed {
        /// The issues.
        issues: Vec<ListedIssue>,
        /// The forge's `ETag` for this answer, when it gave one.
        etag: Option<String>,
    },
}

/// The reviews of a PR, or word that nothing changed since the caller's version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReviewListing {
    /// The forge answered `304 Not Modified` to the caller's `etag`.
    Unchanged,
    /// The reviews (oldest first), with the version to send next time.
    Changed {
        /// The reviews.
        reviews: Vec<ForgeReview>,
        /// The forge's `ETag` for this answer, when it gave one.
        etag: Option<String>,
    },
}

/// A code host: issues in, draft pull requests out. Implementations never merge anything.
pub trait Forge: Send + Sync {
    /// Which forge this is.
    fn kind(&self) -> ForgeKind;

    /// Reads an issue with its labels and comments.
    fn fetch_issue<'a>(&'a self, issue: &'a IssueRef) -> BoxFuture<'a, Result<Issue, ForgeError>>;

    /// Opens a draft PR for the branch, or, when one is already open for it, updates that one.
    fn open_draft_pr<'a>(&'a self, request: &'a PrRequest) -> BoxFuture<'a, Result<OpenedPr, ForgeError>>;

    /// Comments on an issue; returns the comment's web address.
    fn comment_on_issue<'a>(&'a self, issue: &'a IssueRef, body: &'a str) -> BoxFuture<'a, Result<String, ForgeError>>;

    /// The open issues of `project` labelled `label` (at most 100, oldest first), asked for
    /// conditionally: with the `etag` of the last answer, an unchanged list costs nothing.
    fn labelled_issues<'a>(
        &'a self,
        project: &'a str,
        label: &'a str,
        etag: Option<&'a str>,
    ) -> BoxFuture<'a, Result<IssueListing, ForgeError>>;

    /// The CI checks the forge ran (or runs) on `commit` of `project` (GitHub's check runs,
    /// GitLab's commit statuses), in the forge's order.
    fn commit_checks<'a>(
        &'a self,
        project: &'a str,
        commit: &'a str,
    ) -> BoxFuture<'a, Result<Vec<CiCheck>, ForgeError>>;

    /// The reviews of PR (merge request) `number` of `project` by people who may push to the
    /// project, oldest first (the first 100): GitHub reviews that request changes or comment,
    /// with their line comments; GitLab's notes by members with Developer access or more.
    /// Approvals, system notes and Ambidex's own answers ([`ANSWER_MARKER`](crate::protocol::ANSWER_MARKER)) are left out, and
    /// so is anyone else's comment: a stranger's words never reach an agent.
    /// Asked for conditionally: with the `etag` of the last answer, an unchanged list costs nothing.
    fn pr_reviews<'a>(
        &'a self,
        project: &'a str,
        number: u64,
        etag: Option<&'a str>,
    ) -> BoxFuture<'a, Result<ReviewListing, ForgeError>>;

    /// Comments on PR (merge request) `number` of `project`; returns the comment's web address.
    fn comment_on_pr<'a>(
        &'a self,
        project: &'a str,
        number: u64,
        body: &'a str,
    ) -> BoxFuture<'a, Result<String, ForgeError>>;
}

/// Builds the client for a remote forge. `token` authenticates every request (it is sent only
/// to `forges.<kind>.base_url`); `observer` hears about every retry.
pub fn client(
    kind: ForgeKind,
    forges: &ForgesConfig,
    token: Token,
    observer: Option<RetryObserver>,
) -> Result<Box<dyn Forge>, ForgeError> {
    let settings = http::Settings::new(kind, forges, token, observer)?;
    match kind {
        ForgeKind::Github => Ok(Box::new(github::GitHub::new(settings)?)),
        ForgeKind::Gitlab => Ok(Box::new(gitlab::GitLab::new(settings)?)),
        ForgeKind::Local => {
            Err(ForgeError::Unsupported("local delivery needs no client: use `Local::new(dir)`".into()))
        }
    }
}

/// Local delivery: the PR is a Markdown document, one file per task, in a directory.
#[derive(Debug, Clone)]
pub struct Local {
    dir: PathBuf,
}

impl Local {
    /// Documents go in `dir` (created when needed).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// Writes a task's PR document and returns its path.
    pub fn write_document(&self, task: TaskId, body: &str) -> Result<PathBuf, ForgeError> {
        let file = self.dir.join(format!("{}.md", task.short()));
        std::fs::create_dir_all(&self.dir)
            .and_then(|()| std::fs::write(&file, body))
            .map_err(|err| ForgeError::Git(format!("cannot write the PR document {}: {err}", file.display())))?;
        Ok(file)
    }

    /// The directory documents go in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Forge for Local {
    fn kind(&self) -> ForgeKind {
        ForgeKind::Local
    }

    fn fetch_issue<'a>(&'a self, _issue: &'a IssueRef) -> BoxFuture<'a, Result<Issue, ForgeError>> {
        Box::pin(async {
            Err(ForgeError::Unsupported(
                "local delivery has no issues: import with `github:OWNER/REPO#N`, `gitlab:GROUP/PROJECT#N` or an issue URL".into(),
            ))
        })
    }

    fn open_draft_pr<'a>(&'a self, request: &'a PrRequest) -> BoxFuture<'a, Result<OpenedPr, ForgeError>> {
        Box::pin(async move {
            let path = self.write_document(request.task, &request.body)?;
            Ok(OpenedPr { number: 0, url: path.display().to_string(), reused: false })
        })
    }

    fn comment_on_issue<'a>(
        &'a self,
        _issue: &'a IssueRef,
        _body: &'a str,
    ) -> BoxFuture<'a, Result<String, ForgeError>> {
        Box::pin(async {
            Err(ForgeError::Unsupported(
                "local delivery cannot comment on issues: set `forges.delivery` to github or gitlab".into(),
            ))
        })
    }

    fn labelled_issues<'a>(
        &'a self,
        _project: &'a str,
        _label: &'a str,
        _etag: Option<&'a str>,
    ) -> BoxFuture<'a, Result<IssueListing, ForgeError>> {
        Box::pin(async {
            Err(ForgeError::Unsupported(
                "local delivery has no issues to watch: watch `github:OWNER/REPO` or `gitlab:GROUP/PROJECT`".into(),
            ))
        })
    }

    fn commit_checks<'a>(
        &'a self,
        _project: &'a str,
        _commit: &'a str,
    ) -> BoxFuture<'a, Result<Vec<CiCheck>, ForgeError>> {
        Box::pin(async { Err(ForgeError::Unsupported("local delivery runs no CI: its PRs are documents".into())) })
    }

    fn pr_reviews<'a>(
        &'a self,
        _project: &'a str,
        _number: u64,
        _etag: Option<&'a str>,
    ) -> BoxFuture<'a, Result<ReviewListing, ForgeError>> {
        Box::pin(async {
            Err(ForgeError::Unsupported(
                "a local PR document has no reviews: send the task back at its PR gate or with `ambidex task rewind`"
                    .into(),
            ))
        })
    }

    fn comment_on_pr<'a>(
        &'a self,
        _project: &'a str,
        _number: u64,
        _body: &'a str,
    ) -> BoxFuture<'a, Result<String, ForgeError>> {
        Box::pin(async { Err(ForgeError::Unsupported("a local PR document takes no comments".into())) })
    }
}
