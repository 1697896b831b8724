//! Work that starts on the forge: `ambidex serve --watch github:OWNER/REPO --label ambidex`
//! imports every open issue carrying the label as a task, once. Each poll asks the forge
//! conditionally (`If-None-Match` with the last answer's `ETag`: an unchanged list costs GitHub's
//! rate limit nothing), waits out rate limits within `forges.max_wait_secs` (the forge client
//! does), and reports what failed without stopping the watch. An issue is never imported twice:
//! a task whose source is the issue's address, from this run or any earlier one, counts.
//!
//! The same watch reads the CI checks of the project's Ambidex PRs: each PR's head commit is
//! asked for until every check has finished, and each change is recorded as a `ci_checked`
//! event on its task (a failing check is evidence against the change). Then it reads their
//! reviews, and feedback sends a task back to rework its PR (see `feedback`).

use std::collections::BTreeSet;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use super::feedback::{FeedbackOutcome, FeedbackWatch};
use super::{Engine, EngineError};
use crate::forge::{Forge, ForgeError, ForgeKind, IssueListing, spec_from_issue};
use crate::protocol::{Actor, CiReport, Command, EventKind, NewEvent, TaskId, TaskSource};

/// How long after a task's last event its PR's checks are still asked for: checks settle within
/// hours, and a project without CI is not asked forever.
const CHECKS_FOR: jiff::SignedDuration = jiff::SignedDuration::from_hours(24);

/// What to watch: a project on a forge and the label that marks issues for Ambidex.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Watch {
    /// GitHub or GitLab.
    pub kind: ForgeKind,
    /// `owner/repo` or `group/…/project`.
    pub project: String,
    /// The label.
    pub label: String,
}

impl Watch {
    /// `github:OWNER/REPO` or `gitlab:GROUP/PROJECT`, watched for `label`.
    pub fn parse(text: &str, label: &str) -> Result<Watch, ForgeError> {
        let bad = || {
            ForgeError::Config(format!(
                "`{text}` is not a project to watch: write `github:OWNER/REPO` or `gitlab:GROUP/PROJECT`"
            ))
        };
        let (kind, project) = text.split_once(':').ok_or_else(bad)?;
        let kind = ForgeKind::from_str(kind)?;
        let project = project.trim().trim_matches('/');
        if kind == ForgeKind::Local || !project.contains('/') || project.contains(char::is_whitespace) {
            return Err(bad());
        }
        if label.trim().is_empty() {
            return Err(ForgeError::Config("the label to watch for is empty: pass `--label NAME`".into()));
        }
        Ok(Watch { kind, project: project.to_owned(), label: label.trim().to_owned() })
    }
}

impl std::fmt::Display for Watch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{} (label `{}`)", self.kind, self.project, self.label)
    }
}

/// One poll's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Polled {
    /// The tasks imported, with the issue each came from.
    pub imported: Vec<(TaskId, String)>,
    /// Whether the forge said nothing changed.
    pub unchanged: bool,
}

/// The addresses of the issues tasks were imported from.
fn imported_issues(engine: &Engine) -> Result<BTreeSet<String>, EngineError> {
    Ok(engine
        .tasks()?
        .into_iter()
        .filter_map(|task| match task.spec.source {
            TaskSource::Issue { url } => Some(url),
            _ => None,
        })
        .collect())
}

/// Lists the watched issues (conditionally on `etag`, which is updated) and imports each one no
/// task came from yet, as a task on the repository `repo`.
pub async fn poll(
    engine: &Engine,
    forge: &dyn Forge,
    watch: &Watch,
    repo: &str,
    etag: &mut Option<String>,
) -> Result<Polled, String> {
    let listing =
        forge.labelled_issues(&watch.project, &watch.label, etag.as_deref()).await.map_err(|e| e.to_string())?;
    let IssueListing::Changed { issues, etag: latest } = listing else {
        return Ok(Polled { unchanged: true, ..Polled::default() });
    };
    let mut known = imported_issues(engine).map_err(|err| err.to_string())?;
    let mut polled = Polled::default();
    for listed in issues {
        if known.contains(&listed.url) {
            continue;
        }
        let issue = forge.fetch_issue(&listed.reference).await.map_err(|err| err.to_string())?;
        if !known.insert(issue.url.clone()) {
            continue;
        }
        let mut spec = spec_from_issue(&issue);
        spec.repo = Some(repo.to_owned());
        let events =
            engine.execute(Command::AddTask { spec }, Actor::Orchestrator).await.map_err(|err| err.to_string())?;
        if let Some(task) = events.first().and_then(|event| event.task) {
            polled.imported.push((task, issue.url.clone()));
        }
    }
    // Only once every issue of this answer is imported: a failure above asks again next time.
    *etag = latest;
    Ok(polled)
}

/// Reads the CI checks of every recent task whose PR lives in the watched project and whose
/// checks have not settled (none recorded for its head commit, or one still pending), and
/// records each change. Returns the tasks whose checks changed, with their report.
pub async fn poll_checks(engine: &Engine, forge: &dyn Forge, watch: &Watch) -> Result<Vec<(TaskId, CiReport)>, String> {
    let Some(marker) = watch.kind.pr_marker(&watch.project) else {
        return Ok(Vec::new());
    };
    let since = jiff::Timestamp::now() - CHECKS_FOR;
    let tasks = engine.reader().current_tasks(super::queries::SNAPSHOT_FINISHED).map_err(|err| err.to_string())?;
    let mut changed = Vec::new();
    for task in tasks.iter().filter(|task| task.updated_at >= since) {
        let Some(pr) = task.pr.as_ref().filter(|pr| pr.location.contains(&marker)) else {
            continue;
        };
        if task.ci.as_ref().is_some_and(|ci| ci.commit == pr.commit && ci.settled()) {
            continue;
        }
        let checks = forge.commit_checks(&watch.project, &pr.commit).await.map_err(|err| err.to_string())?;
        let report = CiReport { commit: pr.commit.clone(), checks };
        if task.ci.as_ref() == Some(&report) {
            continue;
        }
        let event = NewEvent::for_task(task.id, Actor::Orchestrator, EventKind::CiChecked { report: report.clone() });
        engine.append(vec![event]).await.map_err(|err| err.to_string())?;
        changed.push((task.id, report));
    }
    Ok(changed)
}

/// Polls `watch` every `every` until the task is aborted, reporting each import, each change of
/// a PR's checks, each PR sent back by feedback on it, and each failure.
pub async fn run(
    engine: Arc<Engine>,
    forge: Arc<dyn Forge>,
    watch: Watch,
    repo: String,
    every: Duration,
    report: impl Fn(String) + Send + 'static,
) {
    let mut etag = None;
    let mut feedback = FeedbackWatch::default();
    loop {
        match poll(&engine, forge.as_ref(), &watch, &repo, &mut etag).await {
            Ok(polled) => {
                for (task, url) in polled.imported {
                    report(format!("imported {url} as task {}", task.short()));
                }
            }
            Err(err) => report(format!("watching {watch}: {err}; trying again in {} s", every.as_secs())),
        }
        match poll_checks(&engine, forge.as_ref(), &watch).await {
            Ok(changed) => {
                for (task, ci) in changed {
                    report(format!("task {}: CI {}", task.short(), ci.summary()));
                }
            }
            Err(err) => report(format!("reading the CI checks of {watch}: {err}")),
        }
        match feedback.poll(&engine, forge.as_ref(), &watch.project).await {
            Ok(outcomes) => {
                for outcome in outcomes {
                    report(match outcome {
                        FeedbackOutcome::SentBack(task, from) => {
                            format!("task {}: feedback on its PR from {from}; reworking it", task.short())
                        }
                        FeedbackOutcome::Capped(task, from) => format!(
                            "task {}: feedback on its PR from {from} left alone: it was reworked \
                             `forges.max_reworks` times already",
                            task.short()
                        ),
                    });
                }
            }
            Err(err) => report(format!("reading the reviews of {watch}'s PRs: {err}")),
        }
        tokio::time::sleep(every).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn projects_to_watch_are_parsed_and_bad_ones_say_how_to_write_them() {
        let watch = Watch::parse("github:acme/widgets", "ambidex").unwrap();
        assert_eq!(
            (watch.kind, watch.project.as_str(), watch.label.as_str()),
            (ForgeKind::Github, "acme/widgets", "ambidex")
        );
        assert_eq!(Watch::parse("gitlab:group/sub/app", "ai").unwrap().project, "group/sub/app");
        for bad in ["acme/widgets", "github:widgets", "local:a/b", "bitbucket:a/b"] {
            let err = Watch::parse(bad, "ambidex").unwrap_err().to_string();
            assert!(err.contains("github:") || err.contains("unknown forge"), "{bad}: {err}");
        }
        assert!(Watch::parse("github:a/b", " ").unwrap_err().to_string().contains("--label"));
    }
}
