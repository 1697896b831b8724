//! Issue references: `github:OWNER/REPO#N`, `gitlab:GROUP/SUBGROUP/PROJECT#N`, or the issue's web
//! address on a configured host; plus the web host of each configured API and the project a git
//! remote's URL names.

use std::fmt;

use reqwest::Url;

use super::{ForgeError, ForgeKind};
use crate::config::ForgesConfig;

/// One issue on one forge.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IssueRef {
    /// GitHub or GitLab.
    pub kind: ForgeKind,
    /// `owner/repo` (GitHub) or `group/…/project` (GitLab).
    pub project: String,
    /// The issue number (GitLab: its iid).
    pub number: u64,
}

impl fmt::Display for IssueRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}#{}", self.kind, self.project, self.number)
    }
}

const FORMS: &str = "use `github:OWNER/REPO#N`, `gitlab:GROUP/PROJECT#N` or the issue's URL";

impl IssueRef {
    /// Parses a short reference or an issue URL. URLs must be on the host of a configured forge
    /// (`forges.github.base_url`, `forges.gitlab.base_url`), so a token is never sent elsewhere.
    pub fn parse(text: &str, forges: &ForgesConfig) -> Result<IssueRef, ForgeError> {
        let text = text.trim();
        if text.starts_with("http://") || text.starts_with("https://") {
            return parse_url(text, forges);
        }
        let Some((prefix, rest)) = text.split_once(':') else {
            return Err(ForgeError::Config(format!("`{text}` is not an issue reference: {FORMS}")));
        };
        let kind = match prefix.to_ascii_lowercase().as_str() {
            "github" => ForgeKind::Github,
            "gitlab" => ForgeKind::Gitlab,
            other => {
                return Err(ForgeError::Config(format!("unknown forge `{other}` in `{text}`: {FORMS}")));
            }
        };
        let Some((project, number)) = rest.rsplit_once('#') else {
            return Err(ForgeError::Config(format!("`{text}` has no issue number: {FORMS}")));
        };
        let number = parse_number(number, text)?;
        let project = check_project(kind, project.trim_matches('/'), text)?;
        Ok(IssueRef { kind, project, number })
    }

    /// The issue's web address on the configured host.
    pub fn web_url(&self, forges: &ForgesConfig) -> String {
        let base = self.kind.config(forges).map(|c| web_base(self.kind, &c.base_url)).unwrap_or_default();
        match self.kind {
            ForgeKind::Gitlab => format!("{base}/{}/-/issues/{}", self.project, self.number),
            _ => format!("{base}/{}/issues/{}", self.project, self.number),
        }
    }
}

fn parse_number(text: &str, whole: &str) -> Result<u64, ForgeError> {
    text.trim()
        .parse::<u64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| ForgeError::Config(format!("`{text}` in `{whole}` is not an issue number: {FORMS}")))
}

fn check_project(kind: ForgeKind, project: &str, whole: &str) -> Result<String, ForgeError> {
    let segments: Vec<&str> = project.split('/').collect();
    let valid_segment = |s: &&str| {
        !s.is_empty() && *s != "." && *s != ".." && s.chars().all(|c| c.is_alphanumeric() || "-_.".contains(c))
    };
    let shape_ok = match kind {
        ForgeKind::Github => segments.len() == 2,
        _ => segments.len() >= 2,
    };
    if !shape_ok || !segments.iter().all(valid_segment) {
        let expected = match kind {
            ForgeKind::Github => "OWNER/REPO",
            _ => "GROUP/PROJECT (subgroups allowed)",
        };
        return Err(ForgeError::Config(format!("`{project}` in `{whole}` is not a {expected} path: {FORMS}")));
    }
    Ok(project.to_owned())
}

/// The web root for a forge's API root: `https://api.github.com` → `https://github.com`,
/// `https://ghe.example/api/v3` → `https://ghe.example`, `https://gitlab.example/api/v4` →
/// `https://gitlab.example`.
pub fn web_base(kind: ForgeKind, base_url: &str) -> String {
    let base = base_url.trim().trim_end_matches('/');
    let Ok(url) = Url::parse(base) else { return base.to_owned() };
    let host = url.host_str().unwrap_or_default();
    if kind == ForgeKind::Github && host.eq_ignore_ascii_case("api.github.com") {
        return "https://github.com".into();
    }
    let suffix = match kind {
        ForgeKind::Github => "/api/v3",
        _ => "/api/v4",
    };
    base.strip_suffix(suffix).unwrap_or(base).to_owned()
}

/// `host[:port]`, lowercased.
pub fn host_port(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host,
    }
}

/// The `host[:port]` of a forge's web root.
pub fn web_host(kind: ForgeKind, forges: &ForgesConfig) -> Option<String> {
    let config = kind.config(forges)?;
    Url::parse(&web_base(kind, &config.base_url)).ok().map(|u| host_port(&u))
}

fn parse_url(text: &str, forges: &ForgesConfig) -> Result<IssueRef, ForgeError> {
    let url =
        Url::parse(text).map_err(|err| ForgeError::Config(format!("`{text}` is not a valid URL ({err}): {FORMS}")))?;
    let host = host_port(&url);
    let gitlab_shape = url.path().contains("/-/");
    let on = |kind| web_host(kind, forges).as_deref() == Some(host.as_str());
    let kind = match (on(ForgeKind::Github), on(ForgeKind::Gitlab)) {
        (true, true) => {
            if gitlab_shape {
                ForgeKind::Gitlab
            } else {
                ForgeKind::Github
            }
        }
        (true, false) => ForgeKind::Github,
        (false, true) => ForgeKind::Gitlab,
        (false, false) => {
            let (key, api) = if gitlab_shape { ("gitlab", "api/v4") } else { ("github", "api/v3") };
            return Err(ForgeError::Config(format!(
                "`{text}` is on {host}, which no configured forge serves: set `forges.{key}.base_url = \"{}://{host}/{api}\"` \
                 (and its token) to use issues from there",
                url.scheme()
            )));
        }
    };
    let base = kind.config(forges).map(|c| web_base(kind, &c.base_url)).unwrap_or_default();
    let prefix = Url::parse(&base).map(|u| u.path().trim_end_matches('/').to_owned()).unwrap_or_default();
    let path = url.path().strip_prefix(&prefix).unwrap_or(url.path()).trim_matches('/');
    let shape_error = || {
        let example = match kind {
            ForgeKind::Gitlab => "https://HOST/GROUP/PROJECT/-/issues/N",
            _ => "https://HOST/OWNER/REPO/issues/N",
        };
        ForgeError::Config(format!("`{text}` is not an issue URL (expected {example}): {FORMS}"))
    };
    let (project, number) = match kind {
        ForgeKind::Gitlab => match path.split_once("/-/") {
            Some((project, rest)) => {
                let number = rest.strip_prefix("issues/").or_else(|| rest.strip_prefix("work_items/"));
                (project, number.ok_or_else(shape_error)?)
            }
            None => path.rsplit_once("/issues/").ok_or_else(shape_error)?,
        },
        _ => {
            let parts: Vec<&str> = path.split('/').collect();
            if parts.len() != 4 || parts[2] != "issues" {
                return Err(shape_error());
            }
            (&path[..parts[0].len() + 1 + parts[1].len()], parts[3])
        }
    };
    let number = parse_number(number, text)?;
    let project = check_project(kind, project, text)?;
    Ok(IssueRef { kind, project, number })
}

/// The `(host, project)` a git remote URL names: `git@host:owner/repo.git`,
/// `ssh://git@host:22/group/project.git`, `https://host/owner/repo`. `None` for local paths.
pub fn remote_project(remote_url: &str) -> Option<(String, String)> {
    let text = remote_url.trim();
    let (host, path) = if text.contains("://") {
        let url = Url::parse(text).ok()?;
        if url.scheme() == "file" {
            return None;
        }
        (url.host_str()?.to_ascii_lowercase(), url.path().to_owned())
    } else {
        // scp-like: [user@]host:path (a path with a slash before the colon is a local path).
        let (before, path) = text.split_once(':')?;
        if before.contains('/') || before.is_empty() {
            return None;
        }
        let host = before.rsplit('@').next()?.to_ascii_lowercase();
        (host, path.to_owned())
    };
    let project = path.trim_matches('/').trim_end_matches(".git").to_owned();
    (project.split('/').filter(|s| !s.is_empty()).count() >= 2).then_some((host, project))
}

/// The project a remote URL names when the remote is on this forge's host.
pub fn project_on_forge(kind: ForgeKind, forges: &ForgesConfig, remote_url: &str) -> Option<String> {
    let (host, project) = remote_project(remote_url)?;
    let web = web_host(kind, forges)?;
    let web_name = web.split(':').next().unwrap_or_default();
    (host == web_name).then_some(project)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forges() -> ForgesConfig {
        let mut forges = ForgesConfig::default();
        forges.gitlab.base_url = "https://git.example.org/api/v4".into();
        forges
    }

    #[test]
    fn short_references_parse() {
        let github = IssueRef::parse("github:acme/widgets#42", &forges()).unwrap();
        assert_eq!(github, IssueRef { kind: ForgeKind::Github, project: "acme/widgets".into(), number: 42 });
        assert_eq!(github.web_url(&forges()), "https://github.com/acme/widgets/issues/42");
        let gitlab = IssueRef::parse("gitlab:group/sub/app#7", &forges()).unwrap();
        assert_eq!(gitlab.project, "group/sub/app");
        assert_eq!(gitlab.web_url(&forges()), "https://git.example.org/group/sub/app/-/issues/7");
        assert_eq!(gitlab.to_string(), "gitlab:group/sub/app#7");
    }

    #[test]
    fn bad_references_say_which_forms_work() {
        for bad in [
            "acme/widgets#1",
            "github:acme#1",
            "github:a/b/c#1",
            "github:acme/widgets",
            "bitbucket:a/b#1",
            "github:a/b#x",
            "github:a/b#0",
            "gitlab:../x#1",
        ] {
            let err = IssueRef::parse(bad, &forges()).unwrap_err().to_string();
            assert!(err.contains("github:OWNER/REPO#N"), "{bad}: {err}");
        }
    }

    #[test]
    fn urls_on_configured_hosts_parse() {
        let forges = forges();
        let github = IssueRef::parse("https://github.com/acme/widgets/issues/9", &forges).unwrap();
        assert_eq!((github.kind, github.project.as_str(), github.number), (ForgeKind::Github, "acme/widgets", 9));
        let gitlab = IssueRef::parse("https://git.example.org/group/sub/app/-/issues/3", &forges).unwrap();
        assert_eq!((gitlab.kind, gitlab.project.as_str(), gitlab.number), (ForgeKind::Gitlab, "group/sub/app", 3));
        let work_item = IssueRef::parse("https://git.example.org/g/app/-/work_items/5", &forges).unwrap();
        assert_eq!(work_item.number, 5);
    }

    #[test]
    fn enterprise_and_test_hosts_use_their_configured_roots() {
        let mut forges = ForgesConfig::default();
        forges.github.base_url = "http://127.0.0.1:4321/api/v3".into();
        assert_eq!(web_base(ForgeKind::Github, &forges.github.base_url), "http://127.0.0.1:4321");
        let issue = IssueRef::parse("http://127.0.0.1:4321/acme/widgets/issues/7", &forges).unwrap();
        assert_eq!(issue.web_url(&forges), "http://127.0.0.1:4321/acme/widgets/issues/7");
        assert_eq!(web_base(ForgeKind::Gitlab, "https://gitlab.com/api/v4/"), "https://gitlab.com");
    }

    #[test]
    fn urls_on_unknown_hosts_name_the_key_to_set() {
        let err = IssueRef::parse("https://ghe.corp.example/acme/app/issues/1", &forges()).unwrap_err().to_string();
        assert!(err.contains("forges.github.base_url = \"https://ghe.corp.example/api/v3\""), "{err}");
        let err = IssueRef::parse("https://gl.corp.example/g/app/-/issues/1", &forges()).unwrap_err().to_string();
        assert!(err.contains("forges.gitlab.base_url"), "{err}");
        let err = IssueRef::parse("https://github.com/acme/widgets/pull/2", &forges()).unwrap_err().to_string();
        assert!(err.contains("not an issue URL"), "{err}");
    }

    #[test]
    fn remote_urls_name_their_project() {
        assert_eq!(
            remote_project("git@github.com:acme/widgets.git"),
            Some(("github.com".into(), "acme/widgets".into()))
        );
        assert_eq!(
            remote_project("https://x-access-token@github.com/acme/widgets"),
            Some(("github.com".into(), "acme/widgets".into()))
        );
        assert_eq!(
            remote_project("ssh://git@git.example.org:2222/group/sub/app.git"),
            Some(("git.example.org".into(), "group/sub/app".into()))
        );
        assert_eq!(remote_project("/srv/git/widgets.git"), None);
        assert_eq!(remote_project("file:///srv/git/widgets.git"), None);
        assert_eq!(
            project_on_forge(ForgeKind::Github, &forges(), "git@github.com:acme/widgets.git").as_deref(),
            Some("acme/widgets")
        );
        assert_eq!(project_on_forge(ForgeKind::Gitlab, &forges(), "git@github.com:acme/widgets.git"), None);
    }
}
