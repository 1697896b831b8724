//! Delivery decisions that need no network: which forge a task's PR goes to, the project on that
//! forge, the issue to comment on, and the texts of the PR body and the issue comment.

use super::issue_ref::project_on_forge;
use super::{ForgeError, ForgeKind, IssueRef};
use crate::config::ForgesConfig;
use crate::protocol::{TaskId, TaskSource, TaskSpec};

/// The forge PRs go to (`forges.delivery`).
pub fn target(forges: &ForgesConfig) -> Result<ForgeKind, ForgeError> {
    forges.delivery.parse()
}

/// The issue a task came from, when it is on `kind` (an issue elsewhere gets no comment).
pub fn source_issue(spec: &TaskSpec, kind: ForgeKind, forges: &ForgesConfig) -> Option<IssueRef> {
    match &spec.source {
        TaskSource::Issue { url } => IssueRef::parse(url, forges).ok().filter(|issue| issue.kind == kind),
        _ => None,
    }
}

/// The project the PR goes to: `forges.<kind>.project` when set, else the one the remote's URL
/// names on the forge's host, else the source issue's.
pub fn project(
    kind: ForgeKind,
    forges: &ForgesConfig,
    remote_url: Option<&str>,
    issue: Option<&IssueRef>,
) -> Result<String, ForgeError> {
    if let Some(config) = kind.config(forges)
        && !config.project.trim().is_empty()
    {
        return Ok(config.project.trim().trim_matches('/').to_owned());
    }
    if let Some(project) = remote_url.and_then(|url| project_on_forge(kind, forges, url)) {
        return Ok(project);
    }
    if let Some(issue) = issue {
        return Ok(issue.project.clone());
    }
    let example = match kind {
        ForgeKind::Gitlab => "group/project",
        _ => "owner/repo",
    };
    Err(ForgeError::Config(format!(
        "cannot tell which {} project the PR goes to: the remote's URL is not on `forges.{kind}.base_url`'s host and \
         the task has no issue there; set `forges.{kind}.project = \"{example}\"`",
        kind.display_name()
    )))
}

/// The PR body: the local PR document without its title line (the PR has its own title), with
/// the source issue and a note that nothing is merged automatically.
pub fn pr_body(document: &str, issue_url: Option<&str>) -> String {
    let rest = match document.split_once('\n') {
        Some((first, rest)) if first.starts_with("# ") => rest,
        _ => document,
    };
    let mut body = rest.trim().to_owned();
    body.push_str("\n\n---\n");
    if let Some(url) = issue_url {
        body.push_str(&format!("Source issue: {url}\n"));
    }
    body.push_str(
        "Opened as a draft by Ambidex, which never merges: review it, then mark it ready and merge it yourself.\n",
    );
    body
}

/// The comment left on the source issue.
pub fn issue_comment(pr_url: &str, task: TaskId, reused: bool) -> String {
    let what = if reused { "updated the draft PR" } else { "opened a draft PR" };
    format!(
        "Ambidex {what} for this issue: {pr_url}\n\nTask `{task}`; its audit trail: `ambidex audit log --task {}`.",
        task.short()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_project_comes_from_config_then_remote_then_issue() {
        let mut forges = ForgesConfig::default();
        let issue = IssueRef { kind: ForgeKind::Github, project: "acme/issues".into(), number: 1 };
        let remote = "git@github.com:acme/code.git";
        assert_eq!(project(ForgeKind::Github, &forges, Some(remote), Some(&issue)).unwrap(), "acme/code");
        assert_eq!(project(ForgeKind::Github, &forges, Some("/srv/x.git"), Some(&issue)).unwrap(), "acme/issues");
        forges.github.project = "acme/override".into();
        assert_eq!(project(ForgeKind::Github, &forges, Some(remote), Some(&issue)).unwrap(), "acme/override");
        let err = project(ForgeKind::Gitlab, &forges, Some(remote), None).unwrap_err().to_string();
        assert!(err.contains("forges.gitlab.project = \"group/project\""), "{err}");
    }

    #[test]
    fn only_issues_on_the_delivery_forge_get_a_comment() {
        let forges = ForgesConfig::default();
        let mut spec = TaskSpec::titled("x");
        spec.source = TaskSource::Issue { url: "https://github.com/acme/w/issues/3".into() };
        assert_eq!(source_issue(&spec, ForgeKind::Github, &forges).map(|i| i.number), Some(3));
        assert_eq!(source_issue(&spec, ForgeKind::Gitlab, &forges), None);
        assert_eq!(source_issue(&TaskSpec::titled("y"), ForgeKind::Github, &forges), None);
    }

    #[test]
    fn the_body_drops_the_title_and_links_the_issue() {
        let body = pr_body("# Title\n\nSummary.\n\n## Tests run\n| a |\n", Some("https://github.com/acme/w/issues/3"));
        assert!(body.starts_with("Summary.\n\n## Tests run"), "{body}");
        assert!(body.contains("Source issue: https://github.com/acme/w/issues/3"));
        assert!(body.contains("never merges"));
        let comment = issue_comment("https://github.com/acme/w/pull/9", TaskId::new(), false);
        assert!(comment.contains("opened a draft PR for this issue: https://github.com/acme/w/pull/9"));
    }
}
