//! The control room. It only receives [`Update`]s and sends [`Command`]s through a [`Client`]
//! (and reads past events and diffs through the client's read port); it never touches the store
//! or the engine's internals.
//!
//! - `app`: the state; `update` and `input`: the one function that changes it;
//! - `render` and the pane files (`stream_view`, `diff_view`, `compare`, `evidence_view`,
//!   `log_view`, `memory_view`, `museum_view`, `metrics_view`, `playbooks_view`, `overlay`, `form`):
//!   drawing, which only reads the state; `review`: keeping or rejecting what the Memory and Museum
//!   tabs propose; `insights`: the Metrics and Playbooks tabs' data, read through the read port when
//!   shown, and promoting a playbook proposal;
//! - `voice`: the message to a task's agents and the rewind picker (their state, keys, drawing);
//! - `model`, `streams`, `diff_doc`: what a task's events fold into;
//! - `gate_view`: the approval overlay, every kind of gate; `wrap`: word wrapping for overlays;
//! - `highlight`: syntect on a worker thread; `keymap`, `theme`, `layout`.
//!
//! The loop waits for input, an engine update, a read result or a tick, drains whatever else is
//! already queued, updates the state, and draws at most once per frame interval. The terminal is
//! restored on exit, on error, on SIGTERM or SIGHUP, and on panic; Ctrl-Z suspends.

pub mod app;
pub mod compare;
pub mod diff_doc;
pub mod diff_view;
pub mod evidence_view;
pub mod form;
#[cfg(test)]
mod gate_tests;
pub mod gate_view;
pub mod highlight;
mod input;
pub mod insights;
pub mod keymap;
pub mod layout;
pub mod log_view;
#[cfg(test)]
mod memory_tests;
pub mod memory_view;
#[cfg(test)]
mod metrics_tests;
pub mod metrics_view;
pub mod model;
#[cfg(test)]
mod museum_tests;
pub mod museum_view;
pub mod overlay;
#[cfg(test)]
mod playbooks_tests;
pub mod playbooks_view;
pub mod render;
#[cfg(test)]
mod render_tests;
mod review;
pub mod stream_view;
pub mod streams;
pub mod theme;
mod update;
#[cfg(test)]
mod update_tests;
pub mod voice;
#[cfg(test)]
mod voice_tests;
pub mod wrap;

use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossterm::event::{
    DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste, EnableMouseCapture, Event as TermEvent,
    EventStream, KeyEventKind,
};
use crossterm::terminal::{EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode};
use futures::StreamExt;
use jiff::Timestamp;
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use tokio::sync::mpsc;

pub use app::{AppState, Effect, Msg, Notifications};
use diff_doc::DiffDoc;
use highlight::Highlighter;
pub use keymap::Keymap;
pub use theme::Theme;

use crate::protocol::{Client, Command, Queries, Update};

/// How often ages refresh when nothing else happens.
const TICK: Duration = Duration::from_secs(1);
/// The most queued messages handled before drawing again.
const BATCH: usize = 20_000;

/// How the control room looks and behaves.
#[derive(Debug, Clone)]
pub struct Options {
    /// Shown in the title bar (the store's path).
    pub store_label: String,
    /// Styles.
    pub theme: Theme,
    /// Keys.
    pub keymap: Keymap,
    /// Bell and desktop notification when a gate opens.
    pub notifications: Notifications,
    /// Frames per second at most.
    pub max_fps: u32,
    /// A first-screen message in the footer until the first key press (the demo's keys).
    pub banner: Option<String>,
    /// How long decision keys are ignored after a gate pops the approval overlay up.
    pub gate_key_guard: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            store_label: String::new(),
            theme: Theme::default(),
            keymap: Keymap::default(),
            notifications: Notifications { bell: true, osc9: true },
            max_fps: 60,
            banner: None,
            gate_key_guard: Duration::from_millis(400),
        }
    }
}

type Term = Terminal<CrosstermBackend<std::io::Stdout>>;

/// Runs the control room until the user quits.
pub async fn run(mut client: Client, options: Options) -> std::io::Result<()> {
    let mut state =
        AppState::new(client.snapshot.tasks.clone(), client.snapshot.head_seq, options.store_label, Timestamp::now());
    state.theme = options.theme;
    state.keymap = options.keymap;
    state.notifications = options.notifications;
    state.banner = options.banner;
    state.unavailable = client.snapshot.unavailable.clone();
    state.memory = client.snapshot.memory.clone();
    state.museum = client.snapshot.museum.clone();
    state.gate_key_guard = options.gate_key_guard;
    install_panic_hook();
    let mut terminal = enter()?;
    let frame = Duration::from_secs(1) / options.max_fps.clamp(1, 240);
    let result = event_loop(&mut terminal, &mut state, &mut client, frame).await;
    leave();
    // `leave` has shown the cursor. ratatui's drop would show it again and, on a terminal that
    // hung up (its window closed), report the failure with `eprintln!`, which panics there: the
    // engine would then close the store while unwinding, and the next start repair it.
    std::mem::forget(terminal);
    result
}

fn enter() -> std::io::Result<Term> {
    enable_raw_mode()?;
    let mut stdout = std::io::stdout();
    crossterm::execute!(stdout, EnterAlternateScreen, EnableMouseCapture, EnableBracketedPaste)?;
    let mut terminal = Terminal::new(CrosstermBackend::new(std::io::stdout()))?;
    terminal.clear()?;
    Ok(terminal)
}

/// Puts the terminal back as it was (also from the panic hook, so errors are ignored).
fn leave() {
    let _ = disable_raw_mode();
    let _ = crossterm::execute!(
        std::io::stdout(),
        DisableBracketedPaste,
        DisableMouseCapture,
        LeaveAlternateScreen,
        crossterm::cursor::Show
    );
}

fn install_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        leave();
        previous(info);
    }));
}

async fn event_loop(
    terminal: &mut Term,
    state: &mut AppState,
    client: &mut Client,
    frame: Duration,
) -> std::io::Result<()> {
    let (tx, mut inbox) = mpsc::unbounded_channel::<Msg>();
    let highlighter = {
        let tx = tx.clone();
        Highlighter::spawn(move |key, lines| {
            let _ = tx.send(Msg::Highlighted(key, lines));
        })
        .ok()
    };
    let mut input = EventStream::new();
    let mut ticks = tokio::time::interval(TICK);
    let mut terminate = signal(SignalKind::terminate())?;
    let mut hangup = signal(SignalKind::hangup())?;
    let mut engine_gone = false;
    let size = terminal.size()?;
    send_all(client, state.update(Msg::Resize(size.width, size.height)));
    let mut dirty = true;
    let mut last_draw: Option<Instant> = None;
    loop {
        for effect in state.take_effects() {
            if effect == Effect::Suspend {
                suspend(terminal)?;
                dirty = true;
                continue;
            }
            perform(effect, &client.queries, &tx, highlighter.as_ref());
        }
        if state.quit {
            break;
        }
        let due = last_draw.map_or(Instant::now(), |at| at + frame);
        if dirty && Instant::now() >= due {
            terminal.draw(|f| f.render_widget(&*state, f.area()))?;
            last_draw = Some(Instant::now());
            dirty = false;
        }
        let wake = tokio::time::Instant::from_std(last_draw.map_or(Instant::now(), |at| at + frame));
        let mut messages = Vec::new();
        tokio::select! {
            event = input.next() => match event {
                Some(Ok(event)) => messages.extend(terminal_msg(event)),
                Some(Err(err)) => return Err(err),
                None => break,
            },
            update = client.updates.recv(), if !engine_gone => {
                engine_gone = matches!(update, Err(RecvError::Closed));
                messages.push(Msg::Engine(lagged_or(update)));
            }
            Some(message) = inbox.recv() => messages.push(message),
            _ = ticks.tick() => messages.push(Msg::Tick(Timestamp::now())),
            _ = tokio::time::sleep_until(wake), if dirty => {}
            _ = terminate.recv() => break,
            _ = hangup.recv() => break,
        }
        while messages.len() < BATCH {
            match client.updates.try_recv() {
                Ok(update) => messages.push(Msg::Engine(update)),
                Err(TryRecvError::Lagged(missed)) => messages.push(Msg::Engine(Update::Lagged { missed })),
                Err(TryRecvError::Empty | TryRecvError::Closed) => break,
            }
        }
        while messages.len() < BATCH {
            match inbox.try_recv() {
                Ok(message) => messages.push(message),
                Err(_) => break,
            }
        }
        dirty |= !messages.is_empty();
        for message in messages {
            send_all(client, state.update(message));
        }
    }
    Ok(())
}

fn terminal_msg(event: TermEvent) -> Option<Msg> {
    match event {
        TermEvent::Key(key) if key.kind != KeyEventKind::Release => Some(Msg::Key(key)),
        TermEvent::Mouse(mouse) => Some(Msg::Mouse(mouse)),
        TermEvent::Paste(text) => Some(Msg::Paste(text)),
        TermEvent::Resize(width, height) => Some(Msg::Resize(width, height)),
        _ => None,
    }
}

/// Carries out an effect off the render path; results come back as messages.
fn perform(
    effect: Effect,
    queries: &Arc<dyn Queries>,
    tx: &mpsc::UnboundedSender<Msg>,
    highlighter: Option<&Highlighter>,
) {
    let mut out = std::io::stdout();
    match effect {
        Effect::LoadHistory(task) => {
            let (queries, tx) = (queries.clone(), tx.clone());
            tokio::task::spawn_blocking(move || {
                let _ = tx.send(Msg::History(task, queries.task_events(task)));
            });
        }
        Effect::LoadDiff(key, version) => {
            let (queries, tx) = (queries.clone(), tx.clone());
            tokio::task::spawn_blocking(move || {
                let result = queries.diff(key.0, &key.1).map(|diff| {
                    let doc = Arc::new(DiffDoc::parse(&diff.patch));
                    (diff, doc)
                });
                let _ = tx.send(Msg::Diff(key, version, result));
            });
        }
        Effect::LoadMetrics(filter) => {
            let (queries, tx) = (queries.clone(), tx.clone());
            tokio::task::spawn_blocking(move || {
                let _ = tx.send(Msg::Metrics(queries.metrics(&filter).map(Box::new)));
            });
        }
        Effect::LoadPlaybooks => {
            let (queries, tx) = (queries.clone(), tx.clone());
            tokio::task::spawn_blocking(move || {
                let _ = tx.send(Msg::Playbooks(queries.playbooks().map(Box::new)));
            });
        }
        Effect::Highlight(request) => {
            if let Some(highlighter) = highlighter {
                highlighter.request(request);
            }
        }
        Effect::Bell => {
            let _ = out.write_all(b"\x07");
            let _ = out.flush();
        }
        Effect::Notify(text) => {
            let clean: String = text.chars().filter(|c| !c.is_control()).take(200).collect();
            let _ = write!(out, "\x1b]9;{clean}\x07");
            let _ = out.flush();
        }
        Effect::Suspend => {}
    }
}

/// Ctrl-Z: give the terminal back, stop, and take it again when continued.
fn suspend(terminal: &mut Term) -> std::io::Result<()> {
    leave();
    // SAFETY: raising a signal has no memory-safety preconditions.
    unsafe {
        libc::raise(libc::SIGTSTP);
    }
    enable_raw_mode()?;
    crossterm::execute!(std::io::stdout(), EnterAlternateScreen, EnableMouseCapture, EnableBracketedPaste)?;
    terminal.clear()
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
