//! GitLab (gitlab.com or self-hosted) over the v4 REST API: issues with their notes, draft merge
//! requests (titled `Draft: …`; an open one for the branch is found and updated instead of failing
//! on 409), labels, and issue notes. Projects are addressed by their URL-encoded path.

use futures::future::BoxFuture;
use reqwest::Method;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

use super::http::{Api, Settings, encode_segment};
use super::issue_ref::web_base;
use super::{
    Comment, Forge, ForgeError, ForgeKind, Issue, IssueListing, IssueRef, ListedIssue, OpenedPr, PrRequest,
    ReviewListing,
};
use crate::protocol::{ANSWER_MARKER, CiCheck, CiState, ForgeReview, LineComment};

/// The most note pages read (100 notes each).
const MAX_NOTE_PAGES: u32 = 10;

/// A GitLab client.
pub(crate) struct GitLab {
    api: Api,
    web: String,
}

fn project_path(project: &str) -> String {
    format!("/projects/{}", encode_segment(project.trim_matches('/')))
}

fn text(value: &Value, key: &str) -> String {
    value.get(key).and_then(Value::as_str).unwrap_or_default().to_owned()
}

/// The merge request title GitLab shows as a draft.
pub(crate) fn draft_title(title: &str) -> String {
    let trimmed = title.trim();
    let lower = trimmed.to_ascii_lowercase();
    if lower.starts_with("draft:") || lower.starts_with("[draft]") {
        trimmed.to_owned()
    } else {
        format!("Draft: {trimmed}")
    }
}

impl GitLab {
    pub(crate) fn new(settings: Settings) -> Result<Self, ForgeError> {
        let web = web_base(ForgeKind::Gitlab, &settings.base);
        Ok(Self { api: Api::new(settings, HeaderMap::new())?, web })
    }

    async fn issue(&self, issue: &IssueRef) -> Result<Issue, ForgeError> {
        let project = project_path(&issue.project);
        let action = format!("reading issue {issue}");
        let what = format!("the project `{}` and issue #{}", issue.project, issue.number);
        let body = self
            .api
            .expect(Method::GET, &format!("{project}/issues/{}", issue.number), &[], None, &action, &what)
            .await?;
        let labels = body
            .get("labels")
            .and_then(Value::as_array)
            .map(|labels| labels.iter().filter_map(|l| l.as_str().map(str::to_owned)).collect())
            .unwrap_or_default();
        let mut comments = Vec::new();
        for page in 1..=MAX_NOTE_PAGES {
            let query = [
                ("sort", "asc".to_owned()),
                ("order_by", "created_at".to_owned()),
                ("per_page", "100".to_owned()),
                ("page", page.to_string()),
            ];
            let path = format!("{project}/issues/{}/notes", issue.number);
            let list = self.api.expect(Method::GET, &path, &query, None, &action, &what).await?;
            let items = list.as_array().cloned().unwrap_or_default();
            comments.extend(items.iter().filter(|n| n.get("system").and_then(Value::as_bool) != Some(true)).map(|n| {
                Comment {
                    author: n.get("author").map(|a| text(a, "username")).unwrap_or_default(),
                    body: text(n, "body"),
                }
            }));
            if items.len() < 100 {
                break;
            }
        }
        let url = Some(text(&body, "web_url")).filter(|u| !u.is_empty());
        Ok(Issue {
            reference: issue.clone(),
            url: url.unwrap_or_else(|| format!("{}/{}/-/issues/{}", self.web, issue.project, issue.number)),
            title: text(&body, "title"),
            body: text(&body, "description"),
            labels,
            comments,
        })
    }

    async fn open(&self, request: &PrRequest) -> Result<OpenedPr, ForgeError> {
        let project = project_path(&request.project);
        let action = format!("opening a draft merge request for {} in {}", request.branch, request.project);
        let what = format!("the project `{}` and the target branch `{}`", request.project, request.base);
        let title = draft_title(&request.title);
        let mut create = json!({
            "source_branch": request.branch,
            "target_branch": request.base,
            "title": title,
            "description": request.body,
        });
        if !request.labels.is_empty() {
            create["labels"] = json!(request.labels.join(","));
        }
        let path = format!("{project}/merge_requests");
        let reply = self.api.send(Method::POST, &path, &[], Some(&create), &action).await?;
        let exists =
            reply.status == 409 || (reply.status == 422 && reply.message().to_lowercase().contains("already exists"));
        let (mr, reused) = if reply.ok() {
            (reply.body, false)
        } else if exists {
            (self.update_existing(&project, request, &title, &action, &what).await?, true)
        } else {
            return Err(self.api.error(&reply, &action, &what));
        };
        let number = mr
            .get("iid")
            .and_then(Value::as_u64)
            .ok_or_else(|| self.api.protocol(&action, "the merge request has no iid"))?;
        Ok(OpenedPr { number, url: text(&mr, "web_url"), reused })
    }

    /// An open merge request for the branch exists: find it and update it.
    async fn update_existing(
        &self,
        project: &str,
        request: &PrRequest,
        title: &str,
        action: &str,
        what: &str,
    ) -> Result<Value, ForgeError> {
        let query = [("source_branch", request.branch.clone()), ("state", "opened".to_owned())];
        let list =
            self.api.expect(Method::GET, &format!("{project}/merge_requests"), &query, None, action, what).await?;
        let Some(iid) = list.as_array().and_then(|items| items.first()).and_then(|mr| mr.get("iid")?.as_u64()) else {
            return Err(ForgeError::Http {
                forge: ForgeKind::Gitlab.display_name(),
                status: 409,
                action: action.to_owned(),
                message: format!(
                    "GitLab says a merge request for {} exists but none is open: reopen it or delete the remote branch, then retry",
                    request.branch
                ),
            });
        };
        let mut update = json!({ "title": title, "description": request.body, "target_branch": request.base });
        if !request.labels.is_empty() {
            update["add_labels"] = json!(request.labels.join(","));
        }
        let action = format!("updating the existing merge request !{iid}");
        self.api
            .expect(Method::PUT, &format!("{project}/merge_requests/{iid}"), &[], Some(&update), &action, what)
            .await
    }

    async fn comment(&self, issue: &IssueRef, body: &str) -> Result<String, ForgeError> {
        let project = project_path(&issue.project);
        let action = format!("commenting on {issue}");
        let what = format!("the project `{}` and issue #{}", issue.project, issue.number);
        let path = format!("{project}/issues/{}/notes", issue.number);
        let note = self.api.expect(Method::POST, &path, &[], Some(&json!({ "body": body })), &action, &what).await?;
        let issue_url = format!("{}/{}/-/issues/{}", self.web, issue.project, issue.number);
        Ok(match note.get("id").and_then(Value::as_u64) {
            Some(id) => format!("{issue_url}#note_{id}"),
            None => issue_url,
        })
    }
}

impl GitLab {
    async fn labelled(&self, project: &str, label: &str, etag: Option<&str>) -> Result<IssueListing, ForgeError> {
        let path = format!("{}/issues", project_path(project));
        let action = format!("listing the open issues of {project} labelled `{label}`");
        let query = [
            ("labels", label.to_owned()),
            ("state", "opened".to_owned()),
            ("order_by", "created_at".to_owned()),
            ("sort", "asc".to_owned()),
            ("per_page", "100".to_owned()),
        ];
        let reply = self.api.get_if_changed(&path, &query, etag, &action).await?;
        if reply.status == 304 {
            return Ok(IssueListing::Unchanged);
        }
        if !reply.ok() {
            return Err(self.api.error(&reply, &action, &format!("the project `{project}`")));
        }
        let items = reply.body.as_array().cloned().unwrap_or_default();
        let issues = items
            .iter()
            .filter_map(|item| {
                let number = item.get("iid")?.as_u64()?;
                let url = Some(text(item, "web_url"))
                    .filter(|u| !u.is_empty())
                    .unwrap_or_else(|| format!("{}/{project}/-/issues/{number}", self.web));
                Some(ListedIssue {
                    reference: IssueRef { kind: ForgeKind::Gitlab, project: project.to_owned(), number },
                    url,
                    title: text(item, "title"),
                })
            })
            .collect();
        Ok(IssueListing::Changed { issues, etag: reply.header("etag").map(str::to_owned) })
    }
}

impl GitLab {
    async fn checks(&self, project: &str, commit: &str) -> Result<Vec<CiCheck>, ForgeError> {
        let path = format!("{}/repository/commits/{commit}/statuses", project_path(project));
        let action = format!("reading the pipeline jobs of {project}@{}", &commit[..commit.len().min(12)]);
        let query = [("per_page", "100".to_owned())];
        let reply = self.api.expect(Method::GET, &path, &query, None, &action, &format!("the commit {commit}")).await?;
        Ok(reply.as_array().cloned().unwrap_or_default().iter().map(commit_status).collect())
    }
}

/// GitLab's Developer access level: the least that may push, and so steer the work by a note.
const DEVELOPER_ACCESS: u64 = 30;

/// A merge request note as a [`ForgeReview`], unless it is a system note or Ambidex's answer.
fn note_review(note: &Value, web: &str) -> Option<ForgeReview> {
    let id = note.get("id")?.as_u64()?;
    let body = text(note, "body");
    if note.get("system").and_then(Value::as_bool).unwrap_or(false) || body.contains(ANSWER_MARKER) {
        return None;
    }
    let position = note.get("position").filter(|p| p.is_object());
    let comments = position
        .map(|p| {
            let path = Some(text(p, "new_path")).filter(|path| !path.is_empty()).unwrap_or_else(|| text(p, "old_path"));
            let line = p.get("new_line").and_then(Value::as_u64).map(|l| l as u32);
            vec![LineComment { path, line, body: body.clone() }]
        })
        .unwrap_or_default();
    let author = note.get("author").map(|a| text(a, "username")).unwrap_or_default();
    Some(ForgeReview {
        id: format!("note-{id}"),
        author,
        requests_changes: false,
        // A line note's text is its line comment.
        body: if comments.is_empty() { body } else { String::new() },
        comments,
        url: Some(format!("{web}#note_{id}")),
    })
}

impl GitLab {
    async fn reviews(&self, project: &str, number: u64, etag: Option<&str>) -> Result<ReviewListing, ForgeError> {
        let base = project_path(project);
        let action = format!("reading the notes of {project}!{number}");
        let what = format!("the project `{project}` and merge request !{number}");
        let query = [("sort", "asc".to_owned()), ("order_by", "created_at".to_owned()), ("per_page", "100".to_owned())];
        let path = format!("{base}/merge_requests/{number}/notes");
        let reply = self.api.get_if_changed(&path, &query, etag, &action).await?;
        if reply.status == 304 {
            return Ok(ReviewListing::Unchanged);
        }
        if !reply.ok() {
            return Err(self.api.error(&reply, &action, &what));
        }
        let web = format!("{}/{project}/-/merge_requests/{number}", self.web);
        let mut access: std::collections::HashMap<u64, bool> = std::collections::HashMap::new();
        let mut reviews = Vec::new();
        for note in reply.body.as_array().cloned().unwrap_or_default() {
            let Some(review) = note_review(&note, &web) else { continue };
            let Some(user) = note.get("author").and_then(|a| a.get("id")).and_then(Value::as_u64) else { continue };
            let trusted = match access.get(&user) {
                Some(&trusted) => trusted,
                None => {
                    let trusted = self.may_push(&base, user, &action, &what).await?;
                    access.insert(user, trusted);
                    trusted
                }
            };
            if trusted {
                reviews.push(review);
            }
        }
        Ok(ReviewListing::Changed { reviews, etag: reply.header("etag").map(str::to_owned) })
    }

    /// Whether `user` is a member of the project with Developer access or more.
    async fn may_push(&self, base: &str, user: u64, action: &str, what: &str) -> Result<bool, ForgeError> {
        let member = self.api.send(Method::GET, &format!("{base}/members/all/{user}"), &[], None, action).await?;
        if !member.ok() && member.status != 404 {
            return Err(self.api.error(&member, action, what));
        }
        let level = member.body.get("access_level").and_then(Value::as_u64).unwrap_or(0);
        Ok(member.ok() && level >= DEVELOPER_ACCESS)
    }

    async fn comment_on_merge_request(&self, project: &str, number: u64, body: &str) -> Result<String, ForgeError> {
        let action = format!("commenting on {project}!{number}");
        let what = format!("the project `{project}` and merge request !{number}");
        let path = format!("{}/merge_requests/{number}/notes", project_path(project));
        let note = self.api.expect(Method::POST, &path, &[], Some(&json!({ "body": body })), &action, &what).await?;
        let url = format!("{}/{project}/-/merge_requests/{number}", self.web);
        Ok(match note.get("id").and_then(Value::as_u64) {
            Some(id) => format!("{url}#note_{id}"),
            None => url,
        })
    }
}

/// A GitLab commit status as a [`CiCheck`]: success passed; failed or canceled failed; skipped
/// or manual skipped; anything else (created, pending, running) pending.
fn commit_status(status: &Value) -> CiCheck {
    let state = match status.get("status").and_then(Value::as_str) {
        Some("success") => CiState::Passed,
        Some("failed" | "canceled") => CiState::Failed,
        Some("skipped" | "manual") => CiState::Skipped,
        _ => CiState::Pending,
    };
    let url = Some(text(status, "target_url")).filter(|url| !url.is_empty());
    CiCheck { name: text(status, "name"), state, url }
}

impl Forge for GitLab {
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

    fn pr_reviews<'a>(
        &'a self,
        project: &'a str,
        number: u64,
        etag: Option<&'a str>,
    ) -> BoxFuture<'a, Result<ReviewListing, ForgeError>> {
        Box::pin(self.reviews(project, number, etag))
    }

    fn comment_on_pr<'a>(
        &'a self,
        project: &'a str,
        number: u64,
        body: &'a str,
    ) -> BoxFuture<'a, Result<String, ForgeError>> {
        Box::pin(self.comment_on_merge_request(project, number, body))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_request_notes_become_reviews_and_line_notes_line_comments() {
        let web = "https://gitlab.example/g/p/-/merge_requests/4";
        let note =
            json!({ "id": 9, "body": "Cover zero.", "author": { "username": "alice", "id": 1 }, "system": false });
        let review = note_review(&note, web).unwrap();
        assert_eq!(
            (review.id.as_str(), review.author.as_str(), review.body.as_str()),
            ("note-9", "alice", "Cover zero.")
        );
        assert_eq!(review.url.as_deref(), Some("https://gitlab.example/g/p/-/merge_requests/4#note_9"));
        let on_line = json!({ "id": 10, "body": "Here.", "author": { "username": "alice", "id": 1 },
                              "position": { "new_path": "src/lib.rs", "new_line": 7 } });
        let review = note_review(&on_line, web).unwrap();
        assert_eq!(review.comments, [LineComment { path: "src/lib.rs".into(), line: Some(7), body: "Here.".into() }]);
        assert!(review.body.is_empty());
        let system = json!({ "id": 11, "body": "added 1 commit", "system": true, "author": { "username": "alice" } });
        assert!(note_review(&system, web).is_none());
        let ours = json!({ "id": 12, "body": format!("{ANSWER_MARKER}\nReworked"), "author": { "username": "bot" } });
        assert!(note_review(&ours, web).is_none());
    }

    #[test]
    fn commit_statuses_map_to_check_states() {
        let state = |status: &str| commit_status(&json!({ "name": "job", "status": status })).state;
        assert_eq!(state("success"), CiState::Passed);
        for failed in ["failed", "canceled"] {
            assert_eq!(state(failed), CiState::Failed);
        }
        for skipped in ["skipped", "manual"] {
            assert_eq!(state(skipped), CiState::Skipped);
        }
        for pending in ["created", "pending", "running", "something new"] {
            assert_eq!(state(pending), CiState::Pending);
        }
        let check = commit_status(&json!({ "name": "rspec", "status": "failed", "target_url": "https://ci/1" }));
        assert_eq!((check.name.as_str(), check.url.as_deref()), ("rspec", Some("https://ci/1")));
    }

    #[test]
    fn titles_are_marked_draft_once() {
        assert_eq!(draft_title("Round page counts up"), "Draft: Round page counts up");
        assert_eq!(draft_title("Draft: already"), "Draft: already");
        assert_eq!(project_path("group/sub/app"), "/projects/group%2Fsub%2Fapp");
    }
}
