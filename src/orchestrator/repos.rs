//! Where a task's repository is on this machine. A task names it by path (the repository
//! shared by everyone who runs its tasks) or by URL; a URL is cloned into the worker's cache
//! (`ambidex worker --repos DIR`), the task's worktrees are made there, and its refs go back to
//! the remote after every stage checkpoint and at the end of each run, so another machine can
//! resume it (see `workspace::clone_cache`).

use std::path::PathBuf;

use super::{Engine, EngineError};
use crate::domain::Task;
use crate::protocol::{Actor, EventKind, NewEvent, TaskId};
use crate::workspace::{cached_clone, is_repo_url, push_task_refs, sync_clone};

impl Engine {
    /// The directory here of a task's repository (`repo` as its spec names it): its path, or
    /// for a URL the clone in this worker's cache (the URL itself, which names no directory,
    /// when there is no cache).
    pub fn repo_dir(&self, repo: Option<&str>) -> PathBuf {
        let repo = repo.unwrap_or(".");
        match self.setup.as_ref().and_then(|setup| setup.repos.as_ref()) {
            Some(repos) if is_repo_url(repo) => cached_clone(repos, repo),
            _ => PathBuf::from(repo),
        }
    }

    /// The directory of a task's repository (`repo` as its spec names it) when this machine has
    /// one: a path, or a URL with a clone cache; `None` for no repository or a URL without one.
    pub(super) fn local_repo(&self, repo: Option<&str>) -> Option<PathBuf> {
        let repo = repo?;
        (!is_repo_url(repo) || self.clones()).then(|| self.repo_dir(Some(repo)))
    }

    /// Why this process cannot run `task` here, if it cannot: its repository is a URL and there
    /// is no clone cache, or a path this machine does not have.
    pub fn unreachable_repo(&self, task: &Task) -> Option<String> {
        let repo = task.spec.repo.as_deref().unwrap_or(".");
        match self.uncloned(task) {
            Some(why) => Some(why),
            None if is_repo_url(repo) || std::path::Path::new(repo).is_dir() => None,
            None => Some(format!("its repository {repo} is not on this machine")),
        }
    }

    /// Why `task` is left to workers that clone, when its repository is a URL and this process
    /// has no clone cache.
    pub(super) fn uncloned(&self, task: &Task) -> Option<String> {
        let repo = task.spec.repo.as_deref().filter(|repo| is_repo_url(repo))?;
        (!self.clones()).then(|| format!("its repository is {repo}: a worker started with `--repos DIR` clones it"))
    }

    /// Brings the clone of `task`'s repository up to date (cloning it the first time), with the
    /// refs another machine pushed for it. Nothing for a repository named by path; a URL this
    /// process has no clone cache for is refused, saying what would run it.
    pub(super) async fn sync_repo(&self, task: &Task) -> Result<(), EngineError> {
        if let Some(why) = self.uncloned(task) {
            return Err(EngineError::Refused(format!("task {} cannot run here: {why}", task.id.short())));
        }
        let Some((repos, url)) = self.remote_of(task) else { return Ok(()) };
        let (id, resumed) = (task.id, !task.worktrees.is_empty() || !task.removed_worktrees.is_empty());
        tokio::task::spawn_blocking(move || sync_clone(&repos, &url, id, resumed))
            .await
            .map_err(|err| EngineError::Refused(format!("fetching the repository stopped: {err}")))?
            .map(|_| ())
            .map_err(|err| EngineError::Refused(format!("task {}: {err}", id.short())))
    }

    /// Pushes `task`'s private refs (checkpoints) and branches from the clone to its remote, so
    /// another machine can go on from here. Nothing for a repository named by path. A push that
    /// fails costs no work here: the log notes it (once while it says the same), and the next
    /// push carries everything.
    pub(super) async fn publish(&self, id: TaskId) {
        if !self.clones() {
            return;
        }
        let Ok(task) = self.task(id) else { return };
        let Some((repos, url)) = self.remote_of(&task) else { return };
        let clone = cached_clone(&repos, &url);
        let pushed = tokio::task::spawn_blocking(move || push_task_refs(&clone, id))
            .await
            .unwrap_or_else(|err| Err(format!("pushing stopped: {err}")));
        let (cause, text) = match pushed {
            Ok(None) => return,
            Ok(Some(why)) => {
                let cause = format!("the task's branch was not pushed to {url}");
                let text = format!(
                    "{cause} ({why}); its checkpoints were, so another machine can resume it, and its branch goes \
                     with a later push that fits"
                );
                (cause, text)
            }
            Err(why) => {
                let cause = format!("the task's checkpoints were not pushed to {url}");
                let text = format!(
                    "{cause}: {why}; another machine cannot resume it from here until a later push goes through"
                );
                (cause, text)
            }
        };
        // Said once while pushes keep failing for the same cause (git's words name each new ref).
        let said = self.reader().task_events(id).ok().and_then(|events| {
            events.iter().rev().find_map(|e| match &e.kind {
                EventKind::Note { text } => Some(text.clone()),
                _ => None,
            })
        });
        if !said.is_some_and(|said| said.starts_with(&cause)) {
            // A note that cannot be stored either leaves the next push to try again.
            let _ = self.append(vec![NewEvent::for_task(id, Actor::Orchestrator, EventKind::Note { text })]).await;
        }
    }

    /// Pushes `task`'s refs now, from code that may not wait (a rewind): what it says is ignored,
    /// as the next run's pushes say it again.
    pub(super) fn publish_now(&self, task: &Task) {
        if let Some((repos, url)) = self.remote_of(task) {
            let _ = push_task_refs(&cached_clone(&repos, &url), task.id);
        }
    }

    /// Whether `task`'s work is exchanged with its remote (its repository is named by URL and
    /// this process clones such repositories).
    pub(super) fn publishes(&self, task: &Task) -> bool {
        self.remote_of(task).is_some()
    }

    /// Whether this process clones repositories named by URL (`worker --repos`): without it no
    /// task's work is exchanged with a remote, and nothing needs reading to know so.
    pub(super) fn clones(&self) -> bool {
        self.setup.as_ref().is_some_and(|setup| setup.repos.is_some())
    }

    fn remote_of(&self, task: &Task) -> Option<(PathBuf, String)> {
        let repo = task.spec.repo.as_deref().filter(|repo| is_repo_url(repo))?;
        let repos = self.setup.as_ref()?.repos.clone()?;
        Some((repos, repo.to_owned()))
    }
}
