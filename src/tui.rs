//! The control room. It only receives [`Update`]s and sends [`Command`]s through a [`Client`];
//! it never touches the store or the engine's internals.
//!
//! The loop waits for input, an engine update or a tick, drains whatever else is already queued,
//! updates the state, and draws once. The terminal is restored on exit, on error, on SIGTERM or
//! SIGHUP, and on panic (ratatui's hook).

pub mod render;
pub mod state;
pub mod theme;

use std::time::Duration;

use crossterm::event::{Event as TermEvent, EventStream, KeyEventKind};
use futures::StreamExt;
use jiff::Timestamp;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::broadcast::error::{RecvError, TryRecvError};

use crate::protocol::{Client, Command, Update};
use state::{AppState, Msg};

/// How often ages refresh when nothing else happens.
const TICK: Duration = Duration::from_secs(1);

/// Runs the control room until the user quits. `store_label` is shown in the title bar.
pub async fn run(mut client: Client, store_label: String) -> std::io::Result<()> {
    let mut state =
        AppState::new(client.snapshot.tasks.clone(), client.snapshot.head_seq, store_label, Timestamp::now());
    let mut terminal = ratatui::try_init()?;
    let result = event_loop(&mut terminal, &mut state, &mut client).await;
    ratatui::restore();
    result
}

async fn event_loop(
    terminal: &mut ratatui::DefaultTerminal,
    state: &mut AppState,
    client: &mut Client,
) -> std::io::Result<()> {
    let mut input = EventStream::new();
    let mut ticks = tokio::time::interval(TICK);
    let mut terminate = signal(SignalKind::terminate())?;
    let mut hangup = signal(SignalKind::hangup())?;
    let mut engine_gone = false;
    while !state.quit {
        terminal.draw(|frame| frame.render_widget(&*state, frame.area()))?;
        let mut messages = Vec::new();
        tokio::select! {
            key = input.next() => match key {
                Some(Ok(TermEvent::Key(key))) if key.kind != KeyEventKind::Release => messages.push(Msg::Key(key)),
                Some(Ok(_)) => {}
                Some(Err(err)) => return Err(err),
                None => break,
            },
            update = client.updates.recv(), if !engine_gone => {
                engine_gone = matches!(update, Err(RecvError::Closed));
                messages.push(Msg::Engine(lagged_or(update)));
            }
            _ = ticks.tick() => messages.push(Msg::Tick(Timestamp::now())),
            _ = terminate.recv() => break,
            _ = hangup.recv() => break,
        }
        loop {
            match client.updates.try_recv() {
                Ok(update) => messages.push(Msg::Engine(update)),
                Err(TryRecvError::Lagged(missed)) => messages.push(Msg::Engine(Update::Lagged { missed })),
                Err(TryRecvError::Empty | TryRecvError::Closed) => break,
            }
        }
        for message in messages {
            send_all(client, state.update(message));
        }
    }
    Ok(())
}

fn lagged_or(update: Result<Update, RecvError>) -> Update {
    match update {
        Ok(update) => update,
        Err(RecvError::Lagged(missed)) => Update::Lagged { missed },
        Err(RecvError::Closed) => {
            Update::CommandFailed { command: "connection".into(), error: "the engine stopped".into() }
        }
    }
}

fn send_all(client: &Client, commands: Vec<Command>) {
    for command in commands {
        // A closed channel means the engine is gone; the next update says so.
        let _ = client.commands.send(command);
    }
}
