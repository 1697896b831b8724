//! Delivery to a forge, right after the local commit (`forges.delivery` = `github` or `gitlab`):
//! push the task's branch, open (or reuse and update) the draft PR, comment on the source issue,
//! then mark the task PR-ready. Every step is an event (`branch_pushed`, `forge_retry`,
//! `pr_created`, `issue_commented`), so a resumed task neither opens a second PR nor comments
//! twice. A forge error fails the task with a reason that says what to do; `ambidex task resume`
//! tries again.

use std::sync::Arc;

use tokio::sync::mpsc;

use super::flow::Ending;
use super::{Engine, EngineError, EngineSetup};
use crate::domain::{Rework, Task, check_transition};
use crate::forge::delivery::{self, source_issue};
use crate::forge::push::{self, PushCredentials, PushRequest};
use crate::forge::{self, ForgeError, ForgeKind, IssueRef, PrRequest, RetryNotice, RetryObserver, Token, token};
use crate::protocol::{
    ANSWER_MARKER, Actor, AgentIdentity, EventKind, NewEvent, PullRequest, Role, TaskId, TaskSource, TaskStatus, Track,
};
use crate::workspace::Worktree;

/// Why delivery stopped: a forge problem fails the task; an engine problem is returned as is.
enum Stop {
    Forge(ForgeError),
    Engine(EngineError),
}

impl From<ForgeError> for Stop {
    fn from(err: ForgeError) -> Self {
        Stop::Forge(err)
    }
}

impl From<EngineError> for Stop {
    fn from(err: EngineError) -> Self {
        Stop::Engine(err)
    }
}

/// The forge PRs go to, from the configuration.
pub(super) fn target(setup: &EngineSetup) -> Result<ForgeKind, EngineError> {
    delivery::target(&setup.config.forges).map_err(|err| EngineError::Refused(err.to_string()))
}

/// The PR agent, which records the PRs it opens.
pub(super) fn pr_agent() -> Actor {
    Actor::Agent(AgentIdentity { role: Role::Pr, track: Track::Right, candidate: None })
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ForgeError> + Send + 'static,
) -> Result<T, ForgeError> {
    tokio::task::spawn_blocking(work).await.map_err(|err| ForgeError::Git(format!("the git worker stopped: {err}")))?
}

/// The token for `kind`, refused unless the redactor would hide it (so it can never reach the
/// store, a log or a model).
async fn known_token(engine: &Engine, kind: ForgeKind, setup: &EngineSetup) -> Result<Token, ForgeError> {
    let forges = setup.config.forges.clone();
    let token = blocking(move || token::resolve(kind, &forges)).await?;
    if engine.redactor().redact(token.expose()) == token.expose() {
        return Err(ForgeError::Config(format!(
            "the {} token from {} is not known to the redactor, so it could leak into the store; open the engine with \
             a redactor that includes it (tokens shorter than 8 characters cannot be redacted)",
            kind.display_name(),
            token.source()
        )));
    }
    Ok(token)
}

/// An observer that turns retries into `forge_retry` events, and the task that appends them; the
/// task ends once every copy of the observer is dropped.
fn retry_recorder(engine: &Arc<Engine>, id: TaskId) -> (RetryObserver, tokio::task::JoinHandle<()>) {
    let (sender, mut notices) = mpsc::unbounded_channel::<RetryNotice>();
    let engine = engine.clone();
    let drain = tokio::spawn(async move {
        while let Some(notice) = notices.recv().await {
            let kind = EventKind::ForgeRetry {
                forge: notice.forge.as_str().to_owned(),
                attempt: notice.attempt,
                reason: notice.reason,
                delay_ms: notice.delay.as_millis() as u64,
            };
            // A retry that cannot be recorded does not stop the delivery.
            let _ = engine.append(vec![NewEvent::for_task(id, Actor::Orchestrator, kind)]).await;
        }
    });
    let observer: RetryObserver = Arc::new(move |notice| {
        let _ = sender.send(notice);
    });
    (observer, drain)
}

async fn fail(engine: &Arc<Engine>, id: TaskId, kind: ForgeKind, err: ForgeError) -> Result<Ending, EngineError> {
    let short = id.short();
    let mut reason = format!("delivery to {} failed: {err}", kind.display_name())
        .replace("ambidex task resume ID", &format!("ambidex task resume {short}"));
    if !reason.contains("ambidex task resume") {
        reason.push_str(&format!(
            "; once fixed, `ambidex task resume {short}` then `ambidex run --task {short}` delivers again (an open PR is \
             reused, never duplicated)"
        ));
    }
    let status = engine.task(id)?.status;
    if check_transition(status, TaskStatus::Failed).is_ok() {
        let change = EventKind::StatusChanged { from: status, to: TaskStatus::Failed, reason: reason.clone() };
        engine.append(vec![NewEvent::for_task(id, Actor::Orchestrator, change)]).await?;
    }
    Ok(Ending::Failed(reason))
}

async fn finished(engine: &Arc<Engine>, id: TaskId, pr: PullRequest) -> Result<Ending, EngineError> {
    let status = engine.task(id)?.status;
    if status == TaskStatus::Running {
        let reason = format!("draft PR ready: {}", pr.location);
        let change = EventKind::StatusChanged { from: TaskStatus::Running, to: TaskStatus::PrReady, reason };
        engine.append(vec![NewEvent::for_task(id, Actor::Orchestrator, change)]).await?;
    }
    Ok(Ending::PrReady(pr))
}

/// Pushes the committed branch, opens or updates the draft PR, comments on the source issue and
/// marks the task PR-ready. `pr` is the committed local PR (its body is the PR document).
pub(super) async fn deliver(
    engine: &Arc<Engine>,
    setup: &EngineSetup,
    task: &Task,
    worktree: &Worktree,
    pr: PullRequest,
    kind: ForgeKind,
) -> Result<Ending, EngineError> {
    match push_and_open(engine, setup, task, worktree, pr, kind).await {
        Ok(pr) => finished(engine, task.id, pr).await,
        Err(Stop::Forge(err)) => fail(engine, task.id, kind, err).await,
        Err(Stop::Engine(err)) => Err(err),
    }
}

async fn push_and_open(
    engine: &Arc<Engine>,
    setup: &EngineSetup,
    task: &Task,
    worktree: &Worktree,
    mut pr: PullRequest,
    kind: ForgeKind,
) -> Result<PullRequest, Stop> {
    let forges = &setup.config.forges;
    let id = task.id;
    let issue = source_issue(&task.spec, kind, forges);
    let (path, remote) = (worktree.path.clone(), forges.remote.clone());
    let remote_url = blocking(move || push::remote_url(&path, &remote)).await?;
    let project = delivery::project(kind, forges, Some(&remote_url), issue.as_ref())?;
    let token = known_token(engine, kind, setup).await?;

    let credentials = PushCredentials::for_forge(kind, forges, token.clone());
    let (path, remote, branch, base) =
        (worktree.path.clone(), forges.remote.clone(), pr.branch.clone(), pr.base_branch.clone());
    let pushed = blocking(move || {
        push::push(&PushRequest {
            repo: &path,
            remote: &remote,
            branch: &branch,
            target_branch: &base,
            credentials: credentials.as_ref(),
        })
    })
    .await?;
    let event = EventKind::BranchPushed {
        remote: forges.remote.clone(),
        branch: pr.branch.clone(),
        commit: pushed.commit.clone(),
    };
    engine.append(vec![NewEvent::for_task(id, Actor::Orchestrator, event)]).await?;

    let labels = kind.config(forges).map(|c| c.labels.clone()).unwrap_or_default();
    let issue_url = match &task.spec.source {
        TaskSource::Issue { url } if issue.is_some() => Some(url.clone()),
        _ => None,
    };
    let request = PrRequest {
        task: id,
        project,
        branch: pr.branch.clone(),
        base: pr.base_branch.clone(),
        title: pr.title.clone(),
        body: delivery::pr_body(&pr.body, issue_url.as_deref()),
        labels,
    };
    let (observer, drain) = retry_recorder(engine, id);
    // The issue was told about the PR already when this delivers a rework.
    let issue = issue.filter(|_| task.issue_comment.is_none());
    let result =
        open_and_comment(engine, setup, task, kind, token, observer, &request, issue.as_ref(), &mut pr, &pushed.commit)
            .await;
    let _ = drain.await;
    result?;
    Ok(pr)
}

#[allow(clippy::too_many_arguments)]
async fn open_and_comment(
    engine: &Arc<Engine>,
    setup: &EngineSetup,
    task: &Task,
    kind: ForgeKind,
    token: Token,
    observer: RetryObserver,
    request: &PrRequest,
    issue: Option<&IssueRef>,
    pr: &mut PullRequest,
    commit: &str,
) -> Result<(), Stop> {
    let client = forge::client(kind, &setup.config.forges, token, Some(observer))?;
    let opened = client.open_draft_pr(request).await?;
    pr.commit = commit.to_owned();
    pr.body = request.body.clone();
    pr.draft = true;
    pr.location = opened.url.clone();
    engine.append(vec![NewEvent::for_task(task.id, pr_agent(), EventKind::PrCreated { pr: pr.clone() })]).await?;
    if let Some(issue) = issue {
        let body = delivery::issue_comment(&opened.url, task.id, opened.reused);
        let url = client.comment_on_issue(issue, &body).await?;
        let event = EventKind::IssueCommented { issue: issue.web_url(&setup.config.forges), url };
        engine.append(vec![NewEvent::for_task(task.id, Actor::Orchestrator, event)]).await?;
    }
    if let Some(rework) = &task.rework {
        let body = answer(task, rework, commit);
        let url = client.comment_on_pr(&request.project, opened.number, &body).await?;
        let event = EventKind::PrAnswered { url, commit: commit.to_owned() };
        engine.append(vec![NewEvent::for_task(task.id, Actor::Orchestrator, event)]).await?;
    }
    Ok(())
}

/// The comment that answers feedback on the PR: the commit that addresses it, what the
/// implementation said it changed, and how validation went.
fn answer(task: &Task, rework: &Rework, commit: &str) -> String {
    let mut out = format!(
        "{ANSWER_MARKER}\nReworked in {} after the feedback from {} (Ambidex task `{}`).\n",
        &commit[..commit.len().min(12)],
        rework.from,
        task.id.short()
    );
    let outcome =
        task.send_backs.iter().rev().find(|back| back.feedback.is_some()).and_then(|back| back.outcome.as_ref());
    if let Some(outcome) = outcome {
        out.push_str(&format!("\n{}\n", outcome.trim()));
    }
    if !task.validation.is_empty() {
        out.push_str("\nValidation:\n");
        for run in &task.validation {
            let result = if run.result.ok { "passed" } else { "FAILED" };
            out.push_str(&format!("- `{}`: {result}\n", run.result.command));
        }
    }
    out
}

/// A resumed task whose PR exists: comments on the source issue if that did not happen yet, then
/// marks the task PR-ready.
pub(super) async fn finish(
    engine: &Arc<Engine>,
    setup: &EngineSetup,
    task: &Task,
    pr: PullRequest,
    kind: ForgeKind,
) -> Result<Ending, EngineError> {
    let forges = &setup.config.forges;
    let on_forge = pr.location.starts_with("http://") || pr.location.starts_with("https://");
    let issue = source_issue(&task.spec, kind, forges).filter(|_| on_forge && task.issue_comment.is_none());
    if let Some(issue) = issue {
        let comment = async {
            let token = known_token(engine, kind, setup).await?;
            let (observer, drain) = retry_recorder(engine, task.id);
            let result = async {
                let client = forge::client(kind, forges, token, Some(observer))?;
                let body = delivery::issue_comment(&pr.location, task.id, true);
                let url = client.comment_on_issue(&issue, &body).await?;
                let event = EventKind::IssueCommented { issue: issue.web_url(forges), url };
                engine.append(vec![NewEvent::for_task(task.id, Actor::Orchestrator, event)]).await?;
                Ok::<(), Stop>(())
            }
            .await;
            let _ = drain.await;
            result
        };
        match comment.await {
            Ok(()) => {}
            Err(Stop::Forge(err)) => return fail(engine, task.id, kind, err).await,
            Err(Stop::Engine(err)) => return Err(err),
        }
    }
    finished(engine, task.id, pr).await
}
