//! `GET /v1/events?since=SEQ`: server-sent events, one per persisted event after SEQ, from the
//! store first and then live, in log order, without gaps or repeats.
//!
//! The stream subscribes to the engine's updates *before* it reads the backlog, so nothing
//! committed in between is missed; a live event at or below the last sequence number sent is
//! dropped, and a gap (or a lagging subscription) is filled from the store. Each message has
//! `id: SEQ` and the event as JSON in `data`, so a client that reconnects with `Last-Event-ID`
//! (or `since`) continues exactly where it stopped. A store failure ends the stream with one
//! `event: stream_error` message.

use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use futures::Stream;
use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{mpsc, watch};

use super::AppState;
use super::reply::{Failure, named_field};
use crate::protocol::{Event, Queries, Update};

/// Events read from the store at a time.
const PAGE: usize = 512;
/// Messages buffered per stream before the reader waits for the client.
const BUFFER: usize = 256;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EventsQuery {
    /// Send the events after this sequence number (0: all).
    #[serde(default)]
    since: u64,
}

/// The client went away or the server stops.
struct Closed;

pub(crate) async fn stream(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    query: Result<Query<EventsQuery>, QueryRejection>,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, Failure> {
    let Query(query) = query.map_err(|err| {
        let text = err.body_text();
        let field = named_field(&text).unwrap_or_else(|| "since".to_owned());
        Failure::bad_field(&field, format!("{text}; `since` is the last sequence number already seen (0 for all)"))
    })?;
    let resume_from = headers
        .get("last-event-id")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok())
        .unwrap_or(0);
    let since = query.since.max(resume_from);
    // Subscribe first: whatever commits while the backlog is read arrives here as well.
    let updates = state.engine.listen();
    let (sender, mut messages) = mpsc::channel(BUFFER);
    let queries: Arc<dyn Queries> = state.engine.clone();
    let pump = Pump { queries, sender, last: since, stop: state.stop.clone() };
    tokio::spawn(pump.run(updates));
    let body = futures::stream::poll_fn(move |cx| messages.poll_recv(cx).map(|next| next.map(Ok::<_, Infallible>)));
    Ok(Sse::new(body).keep_alive(KeepAlive::default()))
}

/// Moves events from the store and the engine to one client.
struct Pump {
    /// The log, read through the clients' read port.
    queries: Arc<dyn Queries>,
    sender: mpsc::Sender<SseEvent>,
    /// The last sequence number sent (or the client's `since`).
    last: u64,
    stop: watch::Receiver<bool>,
}

impl Pump {
    async fn run(mut self, mut updates: tokio::sync::broadcast::Receiver<Update>) {
        if self.catch_up().await.is_err() {
            return;
        }
        let mut stop = self.stop.clone();
        loop {
            let update = tokio::select! {
                _ = stop.wait_for(|stop| *stop) => return,
                () = self.sender.closed() => return,
                update = updates.recv() => update,
            };
            let result = match update {
                Ok(Update::Event(event)) if event.seq <= self.last => Ok(()),
                Ok(Update::Event(event)) if event.seq == self.last + 1 => self.send(&event).await,
                // A gap, or updates this subscription dropped: the store has them all.
                Ok(Update::Event(_)) | Err(RecvError::Lagged(_)) => self.catch_up().await,
                Ok(_) => Ok(()),
                Err(RecvError::Closed) => return,
            };
            if result.is_err() {
                return;
            }
        }
    }

    /// Sends everything the store holds after `last`.
    async fn catch_up(&mut self) -> Result<(), Closed> {
        loop {
            let (queries, after) = (self.queries.clone(), self.last);
            let page = tokio::task::spawn_blocking(move || queries.events_after(after, PAGE)).await;
            let page = match page {
                Ok(Ok(page)) => page,
                Ok(Err(err)) => return self.fail(err).await,
                Err(err) => return self.fail(format!("a store read stopped: {err}")).await,
            };
            let full = page.len() == PAGE;
            for event in &page {
                self.send(event).await?;
            }
            if !full {
                return Ok(());
            }
        }
    }

    async fn send(&mut self, event: &Event) -> Result<(), Closed> {
        let data = serde_json::to_string(event).map_err(|_| Closed)?;
        let message = SseEvent::default().id(event.seq.to_string()).data(data);
        self.sender.send(message).await.map_err(|_| Closed)?;
        self.last = event.seq;
        Ok(())
    }

    /// Tells the client the stream ends because the store failed, then ends it.
    async fn fail(&mut self, detail: String) -> Result<(), Closed> {
        let body = serde_json::json!({ "error": "internal", "detail": format!("{detail}; reconnect with since={}", self.last) });
        let _ = self.sender.send(SseEvent::default().event("stream_error").data(body.to_string())).await;
        Err(Closed)
    }
}
