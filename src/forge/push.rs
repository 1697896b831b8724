//! Pushing a task's branch with git2. Only `ambidex/…` branches are pushed, never the target
//! branch, never with force: a remote branch that is not an ancestor of ours stops the push with
//! an error saying what to do. Credentials come through a callback: the forge token (only for a
//! remote on the forge's host), else git's credential helpers, else the SSH agent.

use std::cell::{Cell, RefCell};
use std::path::Path;

use git2::{Cred, CredentialType, Direction, ErrorCode, PushOptions, RemoteCallbacks, Repository};

use super::issue_ref::{remote_project, web_host};
use super::{ForgeError, ForgeKind, Token};
use crate::config::ForgesConfig;

/// The prefix of every branch Ambidex may push.
pub const BRANCH_PREFIX: &str = "ambidex/";

/// The token offered to a remote on the forge's host.
#[derive(Debug, Clone)]
pub struct PushCredentials {
    /// The user name sent with the token (`x-access-token` on GitHub, `oauth2` on GitLab).
    pub username: String,
    /// The token.
    pub token: Token,
    /// The only host the token is offered to (no port).
    pub host: String,
}

impl PushCredentials {
    /// The credentials for pushing to a forge with its API token.
    pub fn for_forge(kind: ForgeKind, forges: &ForgesConfig, token: Token) -> Option<Self> {
        let username = match kind {
            ForgeKind::Github => "x-access-token",
            ForgeKind::Gitlab => "oauth2",
            ForgeKind::Local => return None,
        };
        let host = web_host(kind, forges)?.split(':').next().unwrap_or_default().to_owned();
        Some(Self { username: username.into(), token, host })
    }
}

/// What to push.
#[derive(Debug, Clone, Copy)]
pub struct PushRequest<'a> {
    /// The repository or one of its worktrees.
    pub repo: &'a Path,
    /// The remote's name.
    pub remote: &'a str,
    /// The branch (pushed to the same name on the remote).
    pub branch: &'a str,
    /// The branch the PR targets (never pushed).
    pub target_branch: &'a str,
    /// The token for the forge's host, if any.
    pub credentials: Option<&'a PushCredentials>,
}

/// A push that went through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pushed {
    /// The commit the remote branch points at now.
    pub commit: String,
    /// Whether the remote already had it (nothing was sent).
    pub up_to_date: bool,
}

/// Refuses any branch outside `ambidex/`, the target branch, and names git would read as more
/// than a branch (force markers, refspec separators, globs).
pub fn check_branch(branch: &str, target_branch: &str) -> Result<(), ForgeError> {
    let name = branch.strip_prefix("refs/heads/").unwrap_or(branch);
    let target = target_branch.strip_prefix("refs/heads/").unwrap_or(target_branch);
    if name == target {
        return Err(ForgeError::PushRefused(format!(
            "refusing to push `{name}`: it is the target branch; Ambidex pushes only the task's own branch and never \
             the branch a PR targets"
        )));
    }
    let odd = name.chars().any(|c| c.is_whitespace() || c.is_control() || ":+*?[\\^~".contains(c));
    if !name.starts_with(BRANCH_PREFIX) || name.len() == BRANCH_PREFIX.len() || odd || name.contains("..") {
        return Err(ForgeError::PushRefused(format!(
            "refusing to push `{name}`: Ambidex pushes only its own `{BRANCH_PREFIX}…` branches; push other branches yourself"
        )));
    }
    Ok(())
}

/// Text with the `user:password@` part of every URL in it removed, for messages.
pub fn without_userinfo(text: &str) -> String {
    static USERINFO: std::sync::OnceLock<Option<regex::Regex>> = std::sync::OnceLock::new();
    match USERINFO.get_or_init(|| regex::Regex::new(r"([A-Za-z][A-Za-z0-9+.\-]*://)[^/@\s]+@").ok()) {
        Some(pattern) => pattern.replace_all(text, "$1").into_owned(),
        None => text.to_owned(),
    }
}

/// The URL of a remote (it may hold credentials: do not show it without [`without_userinfo`]).
pub fn remote_url(repo: &Path, remote: &str) -> Result<String, ForgeError> {
    let repository = open(repo)?;
    let found = find_remote(&repository, repo, remote)?;
    found
        .url()
        .map(str::to_owned)
        .map_err(|err| ForgeError::Git(format!("the remote `{remote}` has no URL: {}", err.message())))
}

fn open(repo: &Path) -> Result<Repository, ForgeError> {
    Repository::open(repo)
        .map_err(|err| ForgeError::Git(format!("cannot open the repository {}: {}", repo.display(), err.message())))
}

fn find_remote<'r>(repository: &'r Repository, repo: &Path, remote: &str) -> Result<git2::Remote<'r>, ForgeError> {
    repository.find_remote(remote).map_err(|_| {
        ForgeError::Config(format!(
            "the repository {} has no git remote `{remote}`: add it with `git remote add {remote} URL` or set \
             `forges.remote` to the remote PRs should come from",
            repo.display()
        ))
    })
}

/// The host a remote URL points at (`None` for local paths).
fn url_host(url: &str) -> Option<String> {
    remote_project(url).map(|(host, _)| host)
}

/// Callbacks offering credentials: the token only to its own host, at most three times.
fn callbacks<'a>(credentials: Option<&'a PushCredentials>, tries: &'a Cell<u32>) -> RemoteCallbacks<'a> {
    let mut callbacks = RemoteCallbacks::new();
    callbacks.credentials(move |url, username, allowed| {
        tries.set(tries.get() + 1);
        if tries.get() > 3 {
            return Err(git2::Error::from_str(
                "the remote refused every credential offered (token, credential helper, SSH agent)",
            ));
        }
        if allowed.contains(CredentialType::USER_PASS_PLAINTEXT) {
            if let Some(creds) = credentials.filter(|c| url_host(url).as_deref() == Some(c.host.as_str()))
                && tries.get() == 1
            {
                return Cred::userpass_plaintext(&creds.username, creds.token.expose());
            }
            if let Ok(config) = git2::Config::open_default()
                && let Ok(cred) = Cred::credential_helper(&config, url, username)
            {
                return Ok(cred);
            }
        }
        if allowed.contains(CredentialType::SSH_KEY) {
            return Cred::ssh_key_from_agent(username.unwrap_or("git"));
        }
        if allowed.contains(CredentialType::USERNAME) {
            return Cred::username(username.unwrap_or("git"));
        }
        Cred::default()
    });
    callbacks
}

fn non_fast_forward(remote: &str, branch: &str) -> ForgeError {
    ForgeError::PushRejected(format!(
        "the remote branch `{branch}` on `{remote}` has commits the task's branch lacks (not a fast-forward); Ambidex \
         never force-pushes: look at them with `git fetch {remote} && git log {remote}/{branch}`, then delete that \
         remote branch or bring its commits into the task's worktree, and retry (`ambidex task resume ID`)"
    ))
}

/// Pushes `refs/heads/<branch>` to the same name on the remote, without force.
pub fn push(request: &PushRequest<'_>) -> Result<Pushed, ForgeError> {
    let PushRequest { repo, remote, branch, target_branch, credentials } = *request;
    check_branch(branch, target_branch)?;
    let repository = open(repo)?;
    let refname = format!("refs/heads/{branch}");
    let local = repository
        .find_reference(&refname)
        .and_then(|r| r.peel_to_commit())
        .map_err(|err| ForgeError::Git(format!("the branch `{branch}` has no commit to push: {}", err.message())))?
        .id();
    let mut found = find_remote(&repository, repo, remote)?;
    let shown = without_userinfo(found.url().unwrap_or_default());
    let git_error = |what: &str, err: git2::Error| {
        ForgeError::Git(format!(
            "{what} `{remote}` ({shown}) failed: {}; check the remote's URL and your access to it",
            without_userinfo(err.message())
        ))
    };
    // The CA bundle the binary left out of libgit2's start-up (`git_tls`): needed from here on.
    super::git_tls::load_ca_bundle()?;
    let tries = Cell::new(0);
    let remote_tip = {
        let connection = found
            .connect_auth(Direction::Push, Some(callbacks(credentials, &tries)), None)
            .map_err(|err| git_error("connecting to", err))?;
        let heads = connection.list().map_err(|err| git_error("listing the branches of", err))?;
        heads.iter().find(|head| head.name() == refname).map(|head| head.oid())
    };
    if let Some(tip) = remote_tip {
        if tip == local {
            return Ok(Pushed { commit: local.to_string(), up_to_date: true });
        }
        if !repository.graph_descendant_of(local, tip).unwrap_or(false) {
            return Err(non_fast_forward(remote, branch));
        }
    }
    let rejected = RefCell::new(None::<String>);
    let tries = Cell::new(0);
    let mut push_callbacks = callbacks(credentials, &tries);
    push_callbacks.push_update_reference(|_name, status| {
        if let Some(status) = status {
            *rejected.borrow_mut() = Some(status.to_owned());
        }
        Ok(())
    });
    let mut options = PushOptions::new();
    options.remote_callbacks(push_callbacks);
    let refspec = format!("{refname}:{refname}");
    if let Err(err) = found.push(&[refspec.as_str()], Some(&mut options)) {
        return Err(match err.code() {
            ErrorCode::NotFastForward => non_fast_forward(remote, branch),
            _ => git_error("pushing to", err),
        });
    }
    drop(options);
    if let Some(status) = rejected.into_inner() {
        return Err(if status.contains("fast-forward") || status.contains("fetch first") {
            non_fast_forward(remote, branch)
        } else {
            ForgeError::PushRejected(format!(
                "`{remote}` rejected `{branch}`: {status}; fix what the remote asks for (branch protection, hooks), then \
                 retry (`ambidex task resume ID`)"
            ))
        });
    }
    Ok(Pushed { commit: local.to_string(), up_to_date: false })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_ambidex_branches_other_than_the_target_may_be_pushed() {
        assert!(check_branch("ambidex/01abc/production", "main").is_ok());
        for (branch, target, says) in [
            ("main", "main", "target branch"),
            ("feature/x", "main", "only its own"),
            ("ambidex/", "main", "only its own"),
            ("+ambidex/x", "main", "only its own"),
            ("ambidex/x:refs/heads/main", "main", "only its own"),
            ("refs/heads/ambidex/x", "ambidex/x", "target branch"),
            ("ambidex/../main", "dev", "only its own"),
        ] {
            let err = check_branch(branch, target).unwrap_err().to_string();
            assert!(err.contains(says), "{branch}: {err}");
        }
    }

    #[test]
    fn credentials_are_cut_from_shown_urls() {
        assert_eq!(without_userinfo("https://user:tok@github.com/acme/w.git"), "https://github.com/acme/w.git");
        assert_eq!(without_userinfo("https://github.com"), "https://github.com");
        assert_eq!(without_userinfo("git@github.com:acme/w.git"), "git@github.com:acme/w.git");
        assert_eq!(
            without_userinfo("failed for https://x:tok@h/a and http://u@h2/b"),
            "failed for https://h/a and http://h2/b"
        );
    }

    #[test]
    fn the_token_goes_only_to_the_forge_host() {
        let forges = ForgesConfig::default();
        let creds = PushCredentials::for_forge(ForgeKind::Github, &forges, Token::new("t0k3n-value", "$X")).unwrap();
        assert_eq!((creds.username.as_str(), creds.host.as_str()), ("x-access-token", "github.com"));
        assert_eq!(url_host("https://github.com/acme/w.git").as_deref(), Some("github.com"));
        assert_eq!(url_host("/srv/git/w.git"), None);
    }
}
