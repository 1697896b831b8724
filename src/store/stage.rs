//! Turning a request's new events into the log's next records, checked against the task
//! projections: the part of appending every backend shares. A request that does not fit is
//! refused whole and takes no sequence numbers, so the log stays gap-free.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::path::Path;
use std::sync::Arc;

use jiff::Timestamp;

use super::error::StoreError;
use super::record;
use super::writer::Head;
use crate::domain::{ApplyError, Task};
use crate::protocol::{Event, EventKind, NewEvent, TaskId};
use crate::redact::Redactor;

/// One request's events as they will be stored.
pub(crate) struct Staged {
    /// The events, numbered and chained on the head they were staged on.
    pub events: Vec<Arc<Event>>,
    /// Their stored records, one per event.
    pub records: Vec<Vec<u8>>,
    /// The projections of the tasks they changed.
    pub tasks: HashMap<TaskId, Task>,
}

/// What staging needs of its store.
pub(crate) struct Stager<'a> {
    /// The store, for errors.
    pub location: &'a Path,
    /// Removes secrets from every event before it is hashed.
    pub redactor: Option<&'a Redactor>,
    /// The projections as committed before this batch (all the writer holds).
    pub held: &'a HashMap<TaskId, Task>,
}

impl Stager<'_> {
    /// Builds the events of one request on top of `head` and checks them against the
    /// projections: this batch's `staged` ones first, then the held ones, then `stored` (a task
    /// the writer does not hold).
    pub(crate) fn stage(
        &self,
        events: Vec<NewEvent>,
        head: Head,
        at: Timestamp,
        staged: &HashMap<TaskId, Task>,
        stored: &mut dyn FnMut(TaskId) -> Result<Option<Task>, StoreError>,
    ) -> Result<Staged, StoreError> {
        let mut scratch: HashMap<TaskId, Task> = HashMap::new();
        let mut out = Vec::with_capacity(events.len());
        let mut records = Vec::with_capacity(events.len());
        let mut prev = head;
        for new in events {
            let mut bytes = Vec::with_capacity(256);
            let event = record::encode(prev.seq + 1, at, prev.hash, new, self.redactor, &mut bytes)
                .map_err(|err| StoreError::Internal { path: self.location.to_owned(), detail: err.to_string() })?;
            if let Some(id) = event.task {
                let known = scratch.contains_key(&id) || staged.contains_key(&id) || self.held.contains_key(&id);
                if !known && let Some(task) = stored(id)? {
                    scratch.insert(id, task);
                }
                self.apply(id, &event, staged, &mut scratch)?;
            }
            prev = Head { seq: event.seq, hash: event.hash };
            out.push(Arc::new(event));
            records.push(bytes);
        }
        Ok(Staged { events: out, records, tasks: scratch })
    }

    fn apply(
        &self,
        id: TaskId,
        event: &Event,
        staged: &HashMap<TaskId, Task>,
        scratch: &mut HashMap<TaskId, Task>,
    ) -> Result<(), ApplyError> {
        if let EventKind::TaskCreated { spec } = &event.kind {
            if scratch.contains_key(&id) || staged.contains_key(&id) || self.held.contains_key(&id) {
                return Err(ApplyError::Duplicate(id));
            }
            scratch.insert(id, Task::created(id, spec.clone(), event));
            return Ok(());
        }
        let task = match scratch.entry(id) {
            Entry::Occupied(entry) => entry.into_mut(),
            Entry::Vacant(entry) => {
                let current = staged.get(&id).or_else(|| self.held.get(&id));
                entry.insert(current.ok_or(ApplyError::UnknownTask(id))?.clone())
            }
        };
        task.apply(event)
    }
}
