//! GitHub and GitHub Enterprise over the REST API (`2022-11-28`): issues with their comments,
//! draft pull requests (created with `draft: true`, or found by head branch and updated when one
//! exists), labels, and issue comments.

use futures::future::BoxFuture;
use reqwest::Method;
use reqwest::header::{ACCEPT, HeaderMap, HeaderName, HeaderValue};
use serde_json::{Value, json};

use super::http::{Api, Settings, encode_segment};
use super::{Comment, Forge, ForgeError, ForgeKind, Issue, IssueListing, IssueRef, ListedIssue, OpenedPr, PrRequest};
use crate::protocol::{CiCheck, CiState};

/// The most comment pages read (100 comments each).
const MAX_COMMENT_PAGES: u32 = 10;

/// A GitHub client.
pub(crate) struct GitHub {
    api: Api,
}

fn repo_path(project: &str) -> Result<String, ForgeError> {
    match project.split_once('/') {
        Some((owner, repo)) if !owner.is_empty() && !repo.is_empty() && !repo.contains('/') => {
            Ok(format!("/repos/{}/{}", encode_segment(owner), encode_segment(repo)))
        }
        _ => Err(ForgeError::Config(format!(
            "`{project}` is not a GitHub OWNER/REPO: set `forges.github.project = \"owner/repo\"`"
        ))),
    }
}

fn text(value: &Value, key: &str) -> String {
    value.get(key).and_then(Value::as_str).unwrap_or_default().to_owned()
}

impl GitHub {
    pub(crate) fn new(settings: Settings) -> Result<Self, ForgeError> {
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_static("application/vnd.github+json"));
        headers.insert(HeaderName::from_static("x-github-api-version"), HeaderValue::from_static("2022-11-28"));
        Ok(Self { api: Api::new(settings, headers)? })
    }

    async fn issue(&self, issue: &IssueRef) -> Result<Issue, ForgeError> {
        let repo = repo_path(&issue.project)?;
        let action = format!("reading issue {issue}");
        let what = format!("the repository `{}` and issue #{}", issue.project, issue.number);
        let path = format!("{repo}/issues/{}", issue.number);
        let body = self.api.expect(Method::GET, &path, &[], None, &action, &what).await?;
        let labels = body
            .get("labels")
            .and_then(Value::as_array)
            .map(|labels| {
                labels
                    .iter()
                    .filter_map(|l| {
                        l.as_str().map(str::to_owned).or_else(|| l.get("name")?.as_str().map(str::to_owned))
                    })
                    .collect()
            })
            .unwrap_or_default();
        let mut comments = Vec::new();
        for page in 1..=MAX_COMMENT_PAGES {
            let query = [("per_page", "100".to_owned()), ("page", page.to_string())];
            let path = format!("{repo}/issues/{}/comments", issue.number);
            let list = self.api.expect(Method::GET, &path, &query, None, &action, &what).await?;
            let items = list.as_array().cloned().unwrap_or_default();
            comments.extend(items.iter().map(|c| Comment {
                author: c.get("user").map(|u| text(u, "login")).unwrap_or_default(),
                body: text(c, "body"),
            }));
            if items.len() < 100 {
                break;
            }
        }
        let url = Some(text(&body, "html_url")).filter(|u| !u.is_empty());
        Ok(Issue {
            reference: issue.clone(),
            url: url.unwrap_or_else(|| format!("https://github.com/{}/issues/{}", issue.project, issue.number)),
            title: text(&body, "title"),
            body: text(&body, "body"),
            labels,
            comments,
        })
    }

    async fn open(&self, request: &PrRequest) -> Result<OpenedPr, ForgeError> {
        let repo = repo_path(&request.project)?;
        let action = format!("opening a draft PR for {} in {}", request.branch, request.project);
        let what = format!("the repository `{}` and the base branch `{}`", request.project, request.base);
        let create = json!({
            "title": request.title,
            "head": request.branch,
            "base": request.base,
            "body": request.body,
            "draft": true,
        });
        let reply = self.api.send(Method::POST, &format!("{repo}/pulls"), &[], Some(&create), &action).await?;
        let (pr, reused) = if reply.ok() {
            (reply.body, false)
        } else if reply.status == 422 && reply.message().to_lowercase().contains("already exists") {
            (self.update_existing(&repo, request, &action, &what).await?, true)
        } else {
            return Err(self.api.error(&reply, &action, &what));
        };
        let number = pr
            .get("number")
            .and_then(Value::as_u64)
            .ok_or_else(|| self.api.protocol(&action, "the PR has no number"))?;
        let url = text(&pr, "html_url");
        if !request.labels.is_empty() {
            let labels = json!({ "labels": request.labels });
            let action = format!("labelling PR #{number}");
            self.api
                .expect(Method::POST, &format!("{repo}/issues/{number}/labels"), &[], Some(&labels), &action, &what)
                .await?;
        }
        Ok(OpenedPr { number, url, reused })
    }

    /// A PR for the branch exists: find it and bring its title, body and base up to date.
    async fn update_existing(
        &self,
        repo: &str,
        request: &PrRequest,
        action: &str,
        what: &str,
    ) -> Result<Value, ForgeError> {
        let owner = request.project.split('/').next().unwrap_or_default();
        let query = [
            ("head", format!("{owner}:{}", request.branch)),
            ("state", "open".to_owned()),
            ("per_page", "10".to_owned()),
        ];
        let list = self.api.expect(Method::GET, &format!("{repo}/pulls"), &query, None, action, what).await?;
        let Some(number) = list.as_array().and_then(|items| items.first()).and_then(|pr| pr.get("number")?.as_u64())
        else {
            return Err(ForgeError::Http {
                forge: ForgeKind::Github.display_name(),
                status: 422,
                action: action.to_owned(),
                message: format!(
                    "GitHub says a PR for {} exists but none is open (closed?): reopen it or delete the remote branch, then retry",
                    request.branch
                ),
            });
        };
        let update = json!({ "title": request.title, "body": request.body, "base": request.base });
        let action = format!("updating the existing PR #{number}");
        self.api.expect(Method::PATCH, &format!("{repo}/pulls/{number}"), &[], Some(&update), &action, what).await
    }

    async fn comment(&self, issue: &IssueRef, body: &str) -> Result<String, ForgeError> {
        let repo = repo_path(&issue.project)?;
        let action = format!("commenting on {issue}");
        let what = format!("the repository `{}` and issue #{}", issue.project, issue.number);
        let path = format!("{repo}/issues/{}/comments", issue.number);
        let reply = self.api.expect(Method::POST, &path, &[], Some(&json!({ "body": body })), &action, &what).await?;
        Ok(text(&reply, "html_url"))
    }
}

impl GitHub {
    async fn labelled(&self, project: &str, label: &str, etag: Option<&str>) -> Result<IssueListing, ForgeError> {
        let repo = repo_path(project)?;
        let action = format!("listing the open issues of {project} labelled `{label}`");
        let query = [
            ("labels", label.to_owned()),
            ("state", "open".to_owned()),
            ("sort", "created".to_owned()),
            ("direction", "asc".to_owned()),
            ("per_page", "100".to_owned()),
        ];
        let reply = self.api.get_if_changed(&format!("{repo}/issues"), &query, etag, &action).await?;
        if reply.status == 304 {
            return Ok(IssueListing::Unchanged);
        }
        if !reply.ok() {
            return Err(self.api.error(&reply, &action, &format!("the repository `{project}`")));
        }
        let items = reply.body.as_array().cloned().unwrap_or_default();
        let issues = items
            .iter()
            // GitHub lists pull requests among issues.
            .filter(|item| item.get("pull_request").is_none())
            .filter_map(|item| {
                let number = item.get("number")?.as_u64()?;
                Some(ListedIssue {
                    reference: IssueRef { kind: ForgeKind::Github, project: project.to_owned(), number },
                    url: text(item, "html_url"),
                    title: text(item, "title"),
                })
            })
            .collect();
        Ok(IssueListing::Changed { issues, etag: reply.header("etag").map(str::to_owned) })
    }
}

impl GitHub {
    async fn checks(&self, project: &str, commit: &str) -> Result<Vec<CiCheck>, ForgeError> {
        let repo = repo_path(project)?;
        let action = format!("reading the checks of {project}@{}", &commit[..commit.len().min(12)]);
        let path = format!("{repo}/commits/{commit}/check-runs");
        let query = [("per_page", "100".to_owned())];
        let reply = self.api.expect(Method::GET, &path, &query, None, &action, &format!("the commit {commit}")).await?;
        let runs = reply.get("check_runs").and_then(Value::as_array).cloned().unwrap_or_default();
        Ok(runs.iter().map(check_run).collect())
    }
}

/// A GitHub check run as a [`CiCheck`]: queued or in progress is pending; a conclusion of
/// success or neutral passed, skipped skipped, anything else (failure, cancelled, timed out,
/// action required) failed.
fn check_run(run: &Value) -> CiCheck {
    let state = match (run.get("status").and_then(Value::as_str), run.get("conclusion").and_then(Value::as_str)) {
        (Some("completed"), Some("success" | "neutral")) => CiState::Passed,
        (Some("completed"), Some("skipped")) => CiState::Skipped,
        (Some("completed"), _) => CiState::Failed,
        _ => CiState::Pending,
    };
    let url = Some(text(run, "html_url")).filter(|url| !url.is_empty());
    CiCheck { name: text(run, "name"), state, url }
}

impl Forge for GitHub {
    fn kind(&self) -> ForgeKind {
        self.api.kind()
    }

    fn fetch_issue<'a>(&'a self, issue: &'a IssueRef) -> BoxFuture<'a, Result<Issue, ForgeError>> {
        Box::pin(self.issue(issue))
    }

    fn open_draft_pr<'a>(&'a self, request: &'a PrRequest) -> BoxFuture<'a, Result<OpenedPr, ForgeError>> {
        Box::pin(self.open(request))
    }

    fn comment_on_issue<'a>(&'a self, issue: &'a IssueRef, body: &'a str) -> BoxFuture<'a, Result<String, ForgeError>> {
        Box::pin(self.comment(issue, body))
    }

    fn labelled_issues<'a>(
        &'a self,
        project: &'a str,
        label: &'a str,
        etag: Option<&'a str>,
    ) -> BoxFuture<'a, Result<IssueListing, ForgeError>> {
        Box::pin(self.labelled(project, label, etag))
    }

    fn commit_checks<'a>(
        &'a self,
        project: &'a str,
        commit: &'a str,
    ) -> BoxFuture<'a, Result<Vec<CiCheck>, ForgeError>> {
        Box::pin(self.checks(project, commit))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_runs_map_to_check_states() {
        let state = |status: &str, conclusion: Option<&str>| {
            check_run(&json!({ "name": "test", "status": status, "conclusion": conclusion })).state
        };
        assert_eq!(state("queued", None), CiState::Pending);
        assert_eq!(state("in_progress", None), CiState::Pending);
        assert_eq!(state("completed", Some("success")), CiState::Passed);
        assert_eq!(state("completed", Some("neutral")), CiState::Passed);
        assert_eq!(state("completed", Some("skipped")), CiState::Skipped);
        for failed in ["failure", "cancelled", "timed_out", "action_required", "stale"] {
            assert_eq!(state("completed", Some(failed)), CiState::Failed, "{failed}");
        }
    }
}
