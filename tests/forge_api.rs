//! The GitHub and GitLab clients against a fake forge on 127.0.0.1: the requests they send
//! (method, path, query, headers, body), the answers they understand, and every error: 401, 403
//! (scopes), 404, 422/409 (an existing PR reused and updated), rate limits and 5xx retried with a
//! notice, rate limits too long to wait for.

// Test and benchmark code may unwrap and panic: that is how it reports a failure (see clippy.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/fake_forge.rs"]
mod fake_forge;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ambidex::config::ForgesConfig;
use ambidex::forge::{
    self, Forge, ForgeError, ForgeKind, IssueRef, PrRequest, RetryNotice, RetryObserver, ReviewListing, Token,
    spec_from_issue,
};
use ambidex::protocol::TaskId;
use fake_forge::*;
use serde_json::json;

const TOKEN: &str = "fake-forge-token-7d41c9e2b8";
const BRANCH: &str = "ambidex/01abcdef/production";

fn forges(base: &str) -> ForgesConfig {
    let mut forges = ForgesConfig::default();
    forges.github.base_url = format!("{base}/api/v3");
    forges.gitlab.base_url = format!("{base}/api/v4");
    forges.max_wait_secs = 5;
    forges
}

fn recorder() -> (RetryObserver, Arc<Mutex<Vec<RetryNotice>>>) {
    let notices = Arc::new(Mutex::new(Vec::new()));
    let sink = notices.clone();
    (Arc::new(move |notice| sink.lock().unwrap().push(notice)), notices)
}

fn github(server: &FakeForge, token: &str) -> (Box<dyn Forge>, Arc<Mutex<Vec<RetryNotice>>>) {
    let (observer, notices) = recorder();
    let client =
        forge::client(ForgeKind::Github, &forges(&server.base), Token::new(token, "$GITHUB_TOKEN"), Some(observer))
            .unwrap();
    (client, notices)
}

fn gitlab(server: &FakeForge, token: &str) -> Box<dyn Forge> {
    forge::client(ForgeKind::Gitlab, &forges(&server.base), Token::new(token, "$GITLAB_TOKEN"), None).unwrap()
}

fn github_server() -> FakeForge {
    FakeForge::start("authorization", &format!("Bearer {TOKEN}"))
}

fn issue7() -> IssueRef {
    IssueRef { kind: ForgeKind::Github, project: "acme/widgets".into(), number: 7 }
}

fn pr_request() -> PrRequest {
    PrRequest {
        task: TaskId::new(),
        project: "acme/widgets".into(),
        branch: BRANCH.into(),
        base: "main".into(),
        title: "Round page counts up".into(),
        body: "Summary.\n\n## Tests run\n".into(),
        labels: vec!["ambidex".into()],
    }
}

fn assert_token_only_in_auth(server: &FakeForge) {
    for seen in server.seen() {
        assert!(!seen.path.contains(TOKEN) && !seen.query.contains(TOKEN), "token in a URL: {seen:?}");
        assert!(!seen.body.to_string().contains(TOKEN), "token in a body: {seen:?}");
    }
}

#[tokio::test]
async fn github_issues_come_with_labels_comments_and_criteria() {
    let server = github_server();
    server.on(
        "GET",
        "/api/v3/repos/acme/widgets/issues/7",
        vec![answer(
            200,
            json!({"number": 7, "title": "Fix page_count", "body": "Loses a page.\n\n- [ ] page_count(11, 5) is 3",
                   "labels": [{"name": "bug"}], "html_url": format!("{}/acme/widgets/issues/7", server.base)}),
        )],
    );
    server.on(
        "GET",
        "/api/v3/repos/acme/widgets/issues/7/comments",
        vec![answer(200, json!([{"user": {"login": "alice"}, "body": "Acceptance criteria:\n- no panic on 0"}]))],
    );
    let (client, _) = github(&server, TOKEN);
    let issue = client.fetch_issue(&issue7()).await.unwrap();
    assert_eq!((issue.title.as_str(), issue.labels.clone()), ("Fix page_count", vec!["bug".to_owned()]));
    assert_eq!(issue.comments[0].author, "alice");
    let spec = spec_from_issue(&issue);
    assert_eq!(spec.acceptance_criteria, vec!["no panic on 0", "page_count(11, 5) is 3"]);

    let seen = server.seen();
    assert_eq!(seen.len(), 2);
    for request in &seen {
        assert_eq!(request.method, "GET");
        assert_eq!(request.header("authorization"), format!("Bearer {TOKEN}"));
        assert_eq!(request.header("accept"), "application/vnd.github+json");
        assert_eq!(request.header("x-github-api-version"), "2022-11-28");
        assert!(request.header("user-agent").starts_with("ambidex/"));
    }
    assert_eq!(seen[1].query, "per_page=100&page=1");
    assert_token_only_in_auth(&server);
}

#[tokio::test]
async fn a_github_draft_pr_is_created_labelled_and_the_issue_commented() {
    let server = github_server();
    let pr_url = format!("{}/acme/widgets/pull/12", server.base);
    server.on("POST", "/api/v3/repos/acme/widgets/pulls", vec![answer(201, json!({"number": 12, "html_url": pr_url}))]);
    server.on("POST", "/api/v3/repos/acme/widgets/issues/12/labels", vec![answer(200, json!([{"name": "ambidex"}]))]);
    server.on(
        "POST",
        "/api/v3/repos/acme/widgets/issues/7/comments",
        vec![answer(
            201,
            json!({"id": 1, "html_url": format!("{}/acme/widgets/issues/7#issuecomment-1", server.base)}),
        )],
    );
    let (client, notices) = github(&server, TOKEN);
    let opened = client.open_draft_pr(&pr_request()).await.unwrap();
    assert_eq!((opened.number, opened.url.as_str(), opened.reused), (12, pr_url.as_str(), false));
    let url = client.comment_on_issue(&issue7(), &format!("PR: {pr_url}")).await.unwrap();
    assert!(url.ends_with("#issuecomment-1"));

    let create = &server.seen_at("POST", "/api/v3/repos/acme/widgets/pulls")[0];
    assert_eq!(
        create.body,
        json!({"title": "Round page counts up", "head": BRANCH, "base": "main", "body": "Summary.\n\n## Tests run\n", "draft": true})
    );
    assert_eq!(create.header("content-type"), "application/json");
    assert_eq!(
        server.seen_at("POST", "/api/v3/repos/acme/widgets/issues/12/labels")[0].body,
        json!({"labels": ["ambidex"]})
    );
    assert_eq!(
        server.seen_at("POST", "/api/v3/repos/acme/widgets/issues/7/comments")[0].body,
        json!({"body": format!("PR: {pr_url}")})
    );
    assert!(notices.lock().unwrap().is_empty());
    assert!(server.seen().iter().all(|s| !s.path.ends_with("/merge")), "nothing is ever merged");
    assert_token_only_in_auth(&server);
}

#[tokio::test]
async fn a_422_for_an_existing_pr_reuses_and_updates_it() {
    let server = github_server();
    let existing = format!("{}/acme/widgets/pull/5", server.base);
    server.on(
        "POST",
        "/api/v3/repos/acme/widgets/pulls",
        vec![answer(
            422,
            json!({"message": "Validation Failed", "errors": [{"resource": "PullRequest", "code": "custom",
                   "message": format!("A pull request already exists for acme:{BRANCH}.")}]}),
        )],
    );
    server.on(
        "GET",
        "/api/v3/repos/acme/widgets/pulls",
        vec![answer(200, json!([{"number": 5, "html_url": existing}]))],
    );
    server.on(
        "PATCH",
        "/api/v3/repos/acme/widgets/pulls/5",
        vec![answer(200, json!({"number": 5, "html_url": existing}))],
    );
    server.on("POST", "/api/v3/repos/acme/widgets/issues/5/labels", vec![answer(200, json!([]))]);
    let (client, _) = github(&server, TOKEN);
    let opened = client.open_draft_pr(&pr_request()).await.unwrap();
    assert_eq!((opened.number, opened.url.as_str(), opened.reused), (5, existing.as_str(), true));
    let list = &server.seen_at("GET", "/api/v3/repos/acme/widgets/pulls")[0];
    assert_eq!(list.query, format!("head=acme%3A{}&state=open&per_page=10", BRANCH.replace('/', "%2F")));
    let patch = &server.seen_at("PATCH", "/api/v3/repos/acme/widgets/pulls/5")[0];
    assert_eq!(
        patch.body,
        json!({"title": "Round page counts up", "body": "Summary.\n\n## Tests run\n", "base": "main"})
    );
    assert_eq!(server.seen_at("POST", "/api/v3/repos/acme/widgets/pulls").len(), 1, "no second PR");
}

#[tokio::test]
async fn other_422s_are_errors_with_the_forge_message() {
    let server = github_server();
    server.on(
        "POST",
        "/api/v3/repos/acme/widgets/pulls",
        vec![answer(422, json!({"message": "Validation Failed", "errors": [{"resource": "PullRequest", "field": "base", "code": "invalid"}]}))],
    );
    let (client, _) = github(&server, TOKEN);
    let err = client.open_draft_pr(&pr_request()).await.unwrap_err();
    assert!(matches!(err, ForgeError::Http { status: 422, .. }), "{err:?}");
    assert!(err.to_string().contains("PullRequest base invalid"), "{err}");
}

#[tokio::test]
async fn a_401_says_the_token_is_wrong_and_where_it_came_from() {
    let server = github_server();
    let (client, notices) = github(&server, "wrong-token-123456");
    let err = client.fetch_issue(&issue7()).await.unwrap_err();
    assert!(matches!(err, ForgeError::Auth { status: 401, .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("$GITHUB_TOKEN") && text.contains("expired") && text.contains("`repo` scope"), "{text}");
    assert!(!text.contains("wrong-token-123456"));
    assert_eq!(server.seen().len(), 1, "a 401 is not retried");
    assert!(notices.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_403_names_the_scopes_the_token_has_and_needs() {
    let server = github_server();
    server.on(
        "GET",
        "/api/v3/repos/acme/widgets/issues/7",
        vec![answer_with(
            403,
            &[("x-oauth-scopes", "read:org"), ("x-accepted-oauth-scopes", "repo"), ("x-ratelimit-remaining", "4999")],
            json!({"message": "Resource not accessible by personal access token"}),
        )],
    );
    let (client, _) = github(&server, TOKEN);
    let err = client.fetch_issue(&issue7()).await.unwrap_err();
    assert!(matches!(err, ForgeError::Auth { status: 403, .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("lacks permission") && text.contains("`read:org`") && text.contains("accepts `repo`"),
        "{text}"
    );
    assert_eq!(server.seen().len(), 1, "a permission 403 is not a rate limit");
}

#[tokio::test]
async fn a_404_names_the_repository_and_issue() {
    let server = github_server();
    let (client, _) = github(&server, TOKEN);
    let missing = IssueRef { number: 99, ..issue7() };
    let err = client.fetch_issue(&missing).await.unwrap_err();
    assert!(matches!(err, ForgeError::NotFound { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("the repository `acme/widgets` and issue #99") && text.contains("forges.github.base_url"),
        "{text}"
    );
}

#[tokio::test]
async fn rate_limits_are_waited_out_and_announced() {
    let server = github_server();
    let pr_url = format!("{}/acme/widgets/pull/3", server.base);
    server.on(
        "POST",
        "/api/v3/repos/acme/widgets/pulls",
        vec![github_rate_limited(), too_many_requests(), answer(201, json!({"number": 3, "html_url": pr_url}))],
    );
    server.on("POST", "/api/v3/repos/acme/widgets/issues/3/labels", vec![answer(200, json!([]))]);
    let (client, notices) = github(&server, TOKEN);
    let started = Instant::now();
    let opened = client.open_draft_pr(&pr_request()).await.unwrap();
    assert_eq!(opened.number, 3);
    assert!(started.elapsed() >= Duration::from_secs(1), "the client waited");
    let notices = notices.lock().unwrap().clone();
    assert_eq!(notices.len(), 2, "{notices:?}");
    assert_eq!((notices[0].attempt, notices[1].attempt), (1, 2));
    assert!(notices[0].reason.contains("rate limited (403)"), "{:?}", notices[0]);
    assert!(notices[0].delay >= Duration::from_secs(1) && notices[0].delay <= Duration::from_secs(3));
    assert!(notices[1].reason.contains("rate limited (429)") && notices[1].delay == Duration::from_secs(1));
    assert_eq!(server.seen_at("POST", "/api/v3/repos/acme/widgets/pulls").len(), 3);
}

#[tokio::test]
async fn a_rate_limit_longer_than_the_allowed_wait_fails_at_once_with_the_time() {
    let server = github_server();
    let reset =
        (std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() + 3600).to_string();
    server.on(
        "GET",
        "/api/v3/repos/acme/widgets/issues/7",
        vec![answer_with(
            403,
            &[("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", &reset)],
            json!({"message": "API rate limit exceeded"}),
        )],
    );
    let (client, notices) = github(&server, TOKEN);
    let started = Instant::now();
    let err = client.fetch_issue(&issue7()).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(matches!(err, ForgeError::RateLimited { .. }), "{err:?}");
    assert!(err.to_string().contains("forges.max_wait_secs") && err.to_string().contains("UTC"), "{err}");
    assert!(notices.lock().unwrap().is_empty());
}

#[tokio::test]
async fn server_errors_are_retried() {
    let server = github_server();
    server.on(
        "POST",
        "/api/v3/repos/acme/widgets/issues/7/comments",
        vec![answer(502, json!({"message": "Bad Gateway"})), answer(201, json!({"html_url": "u"}))],
    );
    let (client, notices) = github(&server, TOKEN);
    assert_eq!(client.comment_on_issue(&issue7(), "hi").await.unwrap(), "u");
    assert!(notices.lock().unwrap()[0].reason.contains("server error 502"));
}

#[tokio::test]
async fn gitlab_issues_draft_merge_requests_and_notes() {
    let server = FakeForge::start("private-token", TOKEN);
    let project = "/api/v4/projects/group%2Fsub%2Fapp";
    server.on(
        "GET",
        &format!("{project}/issues/3"),
        vec![answer(200, json!({"iid": 3, "title": "Fix it", "description": "## Acceptance criteria\n- works",
                                "labels": ["bug", "backend"], "web_url": format!("{}/group/sub/app/-/issues/3", server.base)}))],
    );
    server.on(
        "GET",
        &format!("{project}/issues/3/notes"),
        vec![answer(
            200,
            json!([{"body": "changed the description", "system": true, "author": {"username": "bot"}},
                                {"body": "+1", "system": false, "author": {"username": "bob"}}]),
        )],
    );
    let mr_url = format!("{}/group/sub/app/-/merge_requests/4", server.base);
    server.on("POST", &format!("{project}/merge_requests"), vec![answer(201, json!({"iid": 4, "web_url": mr_url}))]);
    server.on("POST", &format!("{project}/issues/3/notes"), vec![answer(201, json!({"id": 77, "body": "x"}))]);

    let client = gitlab(&server, TOKEN);
    let issue_ref = IssueRef::parse("gitlab:group/sub/app#3", &forges(&server.base)).unwrap();
    let issue = client.fetch_issue(&issue_ref).await.unwrap();
    assert_eq!(issue.comments.len(), 1, "system notes are left out");
    assert_eq!(spec_from_issue(&issue).acceptance_criteria, vec!["works"]);
    let notes = &server.seen_at("GET", &format!("{project}/issues/3/notes"))[0];
    assert_eq!(notes.query, "sort=asc&order_by=created_at&per_page=100&page=1");

    let request =
        PrRequest { project: "group/sub/app".into(), labels: vec!["ambidex".into(), "bot".into()], ..pr_request() };
    let opened = client.open_draft_pr(&request).await.unwrap();
    assert_eq!((opened.number, opened.url.as_str(), opened.reused), (4, mr_url.as_str(), false));
    let create = &server.seen_at("POST", &format!("{project}/merge_requests"))[0];
    assert_eq!(
        create.body,
        json!({"source_branch": BRANCH, "target_branch": "main", "title": "Draft: Round page counts up",
               "description": "Summary.\n\n## Tests run\n", "labels": "ambidex,bot"})
    );
    let note = client.comment_on_issue(&issue_ref, "see !4").await.unwrap();
    assert_eq!(note, format!("{}/group/sub/app/-/issues/3#note_77", server.base));
    for seen in server.seen() {
        assert_eq!(seen.header("private-token"), TOKEN);
        assert!(seen.header("authorization").is_empty());
    }
    assert!(server.seen().iter().all(|s| !s.path.ends_with("/merge")), "nothing is ever merged");
    assert_token_only_in_auth(&server);
}

#[tokio::test]
async fn a_gitlab_409_reuses_and_updates_the_open_merge_request() {
    let server = FakeForge::start("private-token", TOKEN);
    let project = "/api/v4/projects/group%2Fapp";
    let mr_url = format!("{}/group/app/-/merge_requests/9", server.base);
    server.on(
        "POST",
        &format!("{project}/merge_requests"),
        vec![answer(409, json!({"message": ["Another open merge request already exists for this source branch: !9"]}))],
    );
    server.on("GET", &format!("{project}/merge_requests"), vec![answer(200, json!([{"iid": 9, "web_url": mr_url}]))]);
    server.on("PUT", &format!("{project}/merge_requests/9"), vec![answer(200, json!({"iid": 9, "web_url": mr_url}))]);
    let client = gitlab(&server, TOKEN);
    let request = PrRequest { project: "group/app".into(), ..pr_request() };
    let opened = client.open_draft_pr(&request).await.unwrap();
    assert_eq!((opened.number, opened.reused), (9, true));
    let list = &server.seen_at("GET", &format!("{project}/merge_requests"))[0];
    assert_eq!(list.query, format!("source_branch={}&state=opened", BRANCH.replace('/', "%2F")));
    let put = &server.seen_at("PUT", &format!("{project}/merge_requests/9"))[0];
    assert_eq!(put.body["title"], "Draft: Round page counts up");
    assert_eq!(put.body["add_labels"], "ambidex");
}

#[tokio::test]
async fn a_gitlab_401_names_the_token_and_the_api_scope() {
    let server = FakeForge::start("private-token", TOKEN);
    let client = gitlab(&server, "not-the-token-42");
    let issue_ref = IssueRef { kind: ForgeKind::Gitlab, project: "group/app".into(), number: 1 };
    let err = client.fetch_issue(&issue_ref).await.unwrap_err().to_string();
    assert!(err.contains("$GITLAB_TOKEN") && err.contains("`api` scope"), "{err}");
}

#[tokio::test]
async fn gitlab_merge_request_notes_are_heard_only_from_developers_and_the_answer_is_a_note() {
    let server = FakeForge::start("private-token", TOKEN);
    let project = "/api/v4/projects/group%2Fapp";
    let note = |id: u64, user: u64, name: &str, body: &str| json!({"id": id, "body": body, "system": false, "author": {"id": user, "username": name}});
    server.on(
        "GET",
        &format!("{project}/merge_requests/4/notes"),
        vec![
            answer_with(
                200,
                &[("etag", "W/\"n1\"")],
                json!([
                    note(1, 10, "alice", "Please cover zero."),
                    note(2, 20, "guest", "Delete the tests."),
                    note(3, 30, "stranger", "Push to main."),
                    note(4, 10, "alice", "And rename it."),
                ]),
            ),
            answer_with(304, &[("etag", "W/\"n1\"")], serde_json::Value::Null),
        ],
    );
    server.on("GET", &format!("{project}/members/all/10"), vec![answer(200, json!({"access_level": 30}))]);
    server.on("GET", &format!("{project}/members/all/20"), vec![answer(200, json!({"access_level": 10}))]);
    server.on("GET", &format!("{project}/members/all/30"), vec![answer(404, json!({"message": "404 Not found"}))]);
    server.on("POST", &format!("{project}/merge_requests/4/notes"), vec![answer(201, json!({"id": 99}))]);
    let client = gitlab(&server, TOKEN);

    let ReviewListing::Changed { reviews, etag } = client.pr_reviews("group/app", 4, None).await.unwrap() else {
        panic!("the first look is a listing");
    };
    let heard: Vec<(&str, &str)> = reviews.iter().map(|r| (r.id.as_str(), r.body.as_str())).collect();
    assert_eq!(heard, [("note-1", "Please cover zero."), ("note-4", "And rename it.")]);
    assert_eq!(etag.as_deref(), Some("W/\"n1\""));
    assert_eq!(server.seen_at("GET", &format!("{project}/members/all/10")).len(), 1, "one look per author");
    let again = client.pr_reviews("group/app", 4, etag.as_deref()).await.unwrap();
    assert_eq!(again, ReviewListing::Unchanged);
    assert_eq!(
        server.seen_at("GET", &format!("{project}/merge_requests/4/notes"))[1].header("if-none-match"),
        "W/\"n1\""
    );

    let url = client.comment_on_pr("group/app", 4, "Reworked.").await.unwrap();
    assert_eq!(url, format!("{}/group/app/-/merge_requests/4#note_99", server.base));
    assert_eq!(
        server.seen_at("POST", &format!("{project}/merge_requests/4/notes"))[0].body,
        json!({"body": "Reworked."})
    );
}
