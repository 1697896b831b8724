//! The events other processes commit to a shared store, delivered to this one as they land:
//! a session that `LISTEN`s on the channel every commit notifies, and reads the log after the
//! last event it delivered, in order. This process's own events are left out (its writer
//! delivers those); the writer marks their seqs before it commits, so the feed, which can only
//! read them after the commit, always knows them.

use std::collections::HashSet;
use std::sync::mpsc::{Receiver, TryRecvError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use postgres::fallible_iterator::FallibleIterator;
use postgres::{Client, Config};

use super::super::writer::CommitHook;
use super::connection::{PgFailure, open_session};
use super::writer::CHANNEL;
use crate::protocol::Event;

/// How long the feed waits for a notification before it looks anyway (and whether to stop).
const WAIT: Duration = Duration::from_millis(500);
/// Events read per round trip.
const CHUNK: i64 = 1000;

/// The seqs this process's writer is committing or committed and the feed has not passed yet.
pub(crate) type Own = Arc<Mutex<HashSet<u64>>>;

pub(crate) struct Feed {
    pub config: Config,
    pub own: Own,
    pub hook: CommitHook,
    /// The last event delivered (or known before the feed started).
    pub delivered: u64,
    /// Closed when the store is dropped.
    pub stop: Receiver<()>,
}

impl Feed {
    /// Delivers until the store is dropped. A lost session is opened again (and listens again);
    /// nothing is skipped, since every look reads from the last event delivered.
    pub(crate) fn run(mut self) {
        let mut session: Option<Client> = None;
        while let Err(TryRecvError::Empty) = self.stop.try_recv() {
            if self.look(&mut session).is_err() {
                session = None;
                std::thread::sleep(WAIT);
            }
        }
    }

    fn look(&mut self, session: &mut Option<Client>) -> Result<(), PgFailure> {
        let fresh = session.is_none();
        let client = open_session(session, &self.config)?;
        if fresh {
            client.batch_execute(&format!("LISTEN {CHANNEL}"))?;
        } else {
            // Woken by a commit anywhere, or by the wait's end.
            client.notifications().timeout_iter(WAIT).next()?;
            while client.notifications().iter().next()?.is_some() {}
        }
        loop {
            let rows = client.query(
                "SELECT seq, record FROM ambidex_events WHERE seq > $1 ORDER BY seq LIMIT $2",
                &[&(self.delivered as i64), &CHUNK],
            )?;
            let mut foreign: Vec<Arc<Event>> = Vec::new();
            {
                let mut own = self.own.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                for row in &rows {
                    let seq = row.get::<_, i64>(0) as u64;
                    if !own.remove(&seq) {
                        let event = super::read::event(row)?;
                        foreign.push(Arc::new(event));
                    }
                    self.delivered = seq;
                }
            }
            if !foreign.is_empty() {
                (self.hook)(&foreign);
            }
            if (rows.len() as i64) < CHUNK {
                return Ok(());
            }
        }
    }
}
