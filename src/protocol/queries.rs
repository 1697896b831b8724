//! The read port a client uses for what the update stream does not carry: where things stand
//! now, the log after a point, a task's past events (after a restart), a candidate's diff
//! against its base, the metrics report and the playbook registry with every class's autonomy.
//! Clients (the control room, the HTTP API) call it off their render path and async threads; the
//! engine implements it over its store and worktrees.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::event::Event;
use super::ids::TaskId;
use super::metrics::{MetricsFilter, MetricsReport};
use super::registry::{AutonomyState, PlaybookVersion};
use super::snapshot::Snapshot;

/// A candidate's change against the commit it started from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CandidateDiff {
    /// The candidate's label (`production`, `c1`, …).
    pub candidate: String,
    /// The base commit (hex).
    pub base: String,
    /// The branch the change lives on.
    pub branch: String,
    /// The unified diff (`git diff` style).
    pub patch: String,
}

/// The playbook registry and the autonomy of every task class, as a client reads them (the same
/// shape as the API's `GET /v1/playbooks` answer).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PlaybookList {
    /// Every version of every playbook, exploration playbook and policy (every status), oldest
    /// first.
    pub versions: Vec<PlaybookVersion>,
    /// Every task class's autonomy, in the classes' order (a class that never changed is
    /// supervised).
    pub autonomy: Vec<AutonomyState>,
}

/// What a client may read besides the update stream. Calls may block (they read the store or
/// git), so clients run them on a blocking thread.
pub trait Queries: Send + Sync {
    /// Every task's summary and the log position they reflect.
    fn snapshot(&self) -> Result<Snapshot, String>;

    /// Up to `limit` events after sequence number `after`, in log order.
    fn events_after(&self, after: u64, limit: usize) -> Result<Vec<Arc<Event>>, String>;

    /// Every event of a task, in log order.
    fn task_events(&self, task: TaskId) -> Result<Vec<Arc<Event>>, String>;

    /// The change of one of a task's candidates against its base.
    fn diff(&self, task: TaskId, candidate: &str) -> Result<CandidateDiff, String>;

    /// The metrics of the tasks `filter` selects: the four families overall, per class, per
    /// playbook version, the Left Hand's strategies and the weekly trend.
    fn metrics(&self, filter: &MetricsFilter) -> Result<MetricsReport, String>;

    /// Every playbook version and every class's autonomy.
    fn playbooks(&self) -> Result<PlaybookList, String>;
}

/// A port that knows nothing: for clients without an engine behind them (tests, previews).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoQueries;

impl Queries for NoQueries {
    fn snapshot(&self) -> Result<Snapshot, String> {
        Ok(Snapshot { tasks: Vec::new(), head_seq: 0, unavailable: None, memory: Vec::new(), museum: Vec::new() })
    }

    fn events_after(&self, _after: u64, _limit: usize) -> Result<Vec<Arc<Event>>, String> {
        Ok(Vec::new())
    }

    fn task_events(&self, _task: TaskId) -> Result<Vec<Arc<Event>>, String> {
        Ok(Vec::new())
    }

    fn diff(&self, _task: TaskId, candidate: &str) -> Result<CandidateDiff, String> {
        Err(format!("no diff of `{candidate}` is available here"))
    }

    fn metrics(&self, filter: &MetricsFilter) -> Result<MetricsReport, String> {
        Ok(MetricsReport { filter: filter.clone(), ..MetricsReport::default() })
    }

    fn playbooks(&self) -> Result<PlaybookList, String> {
        Ok(PlaybookList::default())
    }
}
