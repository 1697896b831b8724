//! Pushing a task's branch with the git program, which brings the user's own transport set-up
//! (SSH configuration and agent, credential helpers, proxies, CA certificates) and keeps TLS out
//! of every other command's start-up. Only `ambidex/…` branches are pushed, never the target
//! branch, never with force: a remote branch that is not an ancestor of ours stops the push with
//! an error saying what to do. The forge token goes only to a remote on the forge's host, through
//! a credential helper given in the child's environment (never on a command line); any other
//! remote gets the user's own credentials. No hook runs and git never prompts.

use std::path::Path;
use std::process::Command;

use git2::Repository;

use super::issue_ref::web_host;
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

fn non_fast_forward(remote: &str, branch: &str) -> ForgeError {
    ForgeError::PushRejected(format!(
        "the remote branch `{branch}` on `{remote}` has commits the task's branch lacks (not a fast-forward); Ambidex \
         never force-pushes: look at them with `git fetch {remote} && git log {remote}/{branch}`, then delete that \
         remote branch or bring its commits into the task's worktree, and retry (`ambidex task resume ID`)"
    ))
}

/// The variables the credential helper reads the forge token from.
const USERNAME_VAR: &str = "AMBIDEX_PUSH_USERNAME";
const TOKEN_VAR: &str = "AMBIDEX_PUSH_TOKEN";

/// A credential helper (git runs it with `sh`) answering `get` with the variables above.
const HELPER: &str = "!f() { test \"$1\" = get && printf 'username=%s\\npassword=%s\\n' \"$AMBIDEX_PUSH_USERNAME\" \"$AMBIDEX_PUSH_TOKEN\"; }; f";

/// Configuration given to git through its environment: `(key, value)` pairs.
fn credential_config(url: &str, credentials: Option<&PushCredentials>) -> Vec<(String, String)> {
    let Some(creds) = credentials else {
        return Vec::new();
    };
    let Some(origin) = http_origin(url).filter(|origin| origin.host == creds.host) else {
        return Vec::new();
    };
    // The empty helper first clears the user's helpers for this origin only, so the token is the
    // one answer; every other host keeps them.
    let key = format!("credential.{}.helper", origin.prefix);
    vec![(key.clone(), String::new()), (key, HELPER.to_owned())]
}

/// The scheme, host and port of an HTTP(S) URL, as git's `credential.<url>` matches them.
struct HttpOrigin {
    prefix: String,
    host: String,
}

fn http_origin(url: &str) -> Option<HttpOrigin> {
    let (scheme, rest) = url.split_once("://")?;
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        return None;
    }
    let authority = rest.split('/').next()?;
    let host_port = authority.rsplit('@').next()?;
    let host = host_port.split(':').next()?.to_ascii_lowercase();
    Some(HttpOrigin { prefix: format!("{}://{host_port}", scheme.to_ascii_lowercase()), host })
}

/// A `git` command on `repo` that never prompts, runs no hook and ignores the caller's
/// repository variables, with `config` and the token (if any) in its environment. `own_ssh`: the
/// user chose an SSH command (`core.sshCommand`), which is then left as it is.
fn git(repo: &Path, config: &[(String, String)], credentials: Option<&PushCredentials>, own_ssh: bool) -> Command {
    let mut command = crate::workspace::git_command(repo);
    command.env("GIT_TERMINAL_PROMPT", "0").env("GCM_INTERACTIVE", "never");
    let own_ssh = own_ssh || std::env::var_os("GIT_SSH_COMMAND").is_some() || std::env::var_os("GIT_SSH").is_some();
    if !own_ssh {
        // A key's passphrase or an unknown host key would otherwise ask on the terminal.
        command.env("GIT_SSH_COMMAND", "ssh -o BatchMode=yes");
    }
    if !config.is_empty() {
        command.env("GIT_CONFIG_COUNT", config.len().to_string());
        for (n, (key, value)) in config.iter().enumerate() {
            command.env(format!("GIT_CONFIG_KEY_{n}"), key).env(format!("GIT_CONFIG_VALUE_{n}"), value);
        }
    }
    if let Some(creds) = credentials.filter(|_| !config.is_empty()) {
        command.env(USERNAME_VAR, &creds.username).env(TOKEN_VAR, creds.token.expose());
    }
    command
}

/// One line of `git push --porcelain`'s report on a ref.
#[derive(Debug, PartialEq, Eq)]
enum RefReport {
    Pushed,
    UpToDate,
    Rejected(String),
}

/// The report on `refname` in `git push --porcelain`'s output (`flag TAB from:to TAB summary`).
fn ref_report(stdout: &str, refname: &str) -> Option<RefReport> {
    stdout.lines().find_map(|line| {
        let mut fields = line.splitn(3, '\t');
        let (flag, refs, summary) = (fields.next()?, fields.next()?, fields.next().unwrap_or_default());
        (refs.split(':').nth(1)? == refname).then(|| match flag {
            "=" => RefReport::UpToDate,
            "!" => RefReport::Rejected(summary.trim().to_owned()),
            _ => RefReport::Pushed,
        })
    })
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
    let url = find_remote(&repository, repo, remote)?.url().unwrap_or_default().to_owned();
    let shown = without_userinfo(&url);
    let config = credential_config(&url, credentials);
    let refspec = format!("{refname}:{refname}");
    let own_ssh = repository.config().and_then(|config| config.get_string("core.sshCommand")).is_ok();
    let output = git(repo, &config, credentials, own_ssh)
        .args(["push", "--porcelain", "--no-verify", remote, &refspec])
        .output()
        .map_err(|err| ForgeError::Git(format!("cannot run git to push (pushing needs the git program): {err}")))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    match ref_report(&stdout, &refname) {
        Some(RefReport::UpToDate) => Ok(Pushed { commit: local.to_string(), up_to_date: true }),
        Some(RefReport::Pushed) if output.status.success() => {
            Ok(Pushed { commit: local.to_string(), up_to_date: false })
        }
        Some(RefReport::Rejected(status)) if status.contains("fast-forward") || status.contains("fetch first") => {
            Err(non_fast_forward(remote, branch))
        }
        Some(RefReport::Rejected(status)) => Err(ForgeError::PushRejected(format!(
            "`{remote}` rejected `{branch}`: {}; fix what the remote asks for (branch protection, hooks), then retry \
             (`ambidex task resume ID`)",
            without_userinfo(&status)
        ))),
        Some(RefReport::Pushed) | None => {
            let said = String::from_utf8_lossy(&output.stderr);
            let said = said.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join("; ");
            Err(ForgeError::Git(format!(
                "pushing to `{remote}` ({shown}) failed: {}; check the remote's URL and your access to it",
                without_userinfo(&said)
            )))
        }
    }
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
        let config = credential_config("https://github.com/acme/w.git", Some(&creds));
        let keys: Vec<&str> = config.iter().map(|(key, _)| key.as_str()).collect();
        assert_eq!(keys, ["credential.https://github.com.helper"; 2]);
        assert_eq!(config[0].1, "", "the user's helpers for that host are cleared first");
        assert!(!config[1].1.contains("t0k3n"), "the token stays in the environment, out of the configuration");
        let with_port = credential_config("http://me@GitHub.com:8080/acme/w.git", Some(&creds));
        assert_eq!(with_port[0].0, "credential.http://GitHub.com:8080.helper", "git matches the port exactly");
        for elsewhere in ["https://gitlab.com/acme/w.git", "git@github.com:acme/w.git", "/srv/git/w.git"] {
            assert!(credential_config(elsewhere, Some(&creds)).is_empty(), "{elsewhere}");
        }
        assert!(credential_config("https://github.com/acme/w.git", None).is_empty());
    }

    #[test]
    fn porcelain_reports_are_read_per_ref() {
        let out = "To /srv/w.git\n=\trefs/heads/ambidex/a:refs/heads/ambidex/a\t[up to date]\n\
                   !\trefs/heads/ambidex/b:refs/heads/ambidex/b\t[rejected] (non-fast-forward)\n\
                   *\trefs/heads/ambidex/c:refs/heads/ambidex/c\t[new branch]\nDone\n";
        assert_eq!(ref_report(out, "refs/heads/ambidex/a"), Some(RefReport::UpToDate));
        assert_eq!(
            ref_report(out, "refs/heads/ambidex/b"),
            Some(RefReport::Rejected("[rejected] (non-fast-forward)".into()))
        );
        assert_eq!(ref_report(out, "refs/heads/ambidex/c"), Some(RefReport::Pushed));
        assert_eq!(ref_report(out, "refs/heads/ambidex/d"), None);
    }
}
