//! Hooks: the engineer's own commands at lifecycle events (`[[hooks]]` in the user's config),
//! the way git runs hooks. Each gets a JSON description of its event on stdin, runs in the
//! repository (or, for tool calls, the worktree) with the user's environment, and is killed after
//! its timeout; every run is audited as a `hook_ran` event with its output redacted.
//!
//! Lifecycle hooks (task created, stage started or finished, gate opened or decided, PR created)
//! run in order on a thread of their own, fed by the store's commits, so a slow or failing hook
//! never holds up the engine; an engine that closes first runs what is queued. A `pre_tool_call`
//! hook runs before the call and a non-zero exit (or its timeout) blocks it with the hook's
//! message; `post_tool_call` hooks run after it and cannot change it. Hooks are read from the
//! user's config and flags only: a repository cannot make Ambidex run commands outside the
//! sandbox.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub use crate::config::{HookConfig, HookEvent};
use crate::protocol::{Actor, Event, EventKind, NewEvent};
use crate::redact::Redactor;

/// Bytes of a hook's output kept in its audit event.
const OUTPUT_CAP: usize = 4096;

/// The hook event a stored event is, when hooks run at it.
pub fn lifecycle(kind: &EventKind) -> Option<HookEvent> {
    Some(match kind {
        EventKind::TaskCreated { .. } => HookEvent::TaskCreated,
        EventKind::StageStarted { .. } => HookEvent::StageStarted,
        EventKind::StageFinished { .. } => HookEvent::StageFinished,
        EventKind::GateOpened { .. } => HookEvent::GateOpened,
        EventKind::GateDecided { .. } => HookEvent::GateDecided,
        EventKind::PrCreated { .. } => HookEvent::PrCreated,
        _ => return None,
    })
}

/// The name of a hook event, as configured and audited.
pub fn name(event: HookEvent) -> String {
    serde_json::to_value(event).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

/// What one run of a hook did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookRun {
    /// Its exit code, when it exited.
    pub exit_code: Option<i32>,
    /// Whether its timeout killed it.
    pub timed_out: bool,
    /// Its stdout, then its stderr, capped.
    pub output: String,
    /// How long it ran.
    pub duration_ms: u64,
}

impl HookRun {
    /// Whether it exited 0.
    pub fn ok(&self) -> bool {
        self.exit_code == Some(0)
    }

    /// Its audit event, the output redacted.
    pub fn audited(&self, hook: &HookConfig, redactor: &Redactor, blocked: bool) -> EventKind {
        EventKind::HookRan {
            hook: name(hook.event),
            command: redactor.redact(&hook.command).into_owned(),
            exit_code: self.exit_code,
            timed_out: self.timed_out,
            blocked,
            output: redactor.redact(&self.output).into_owned(),
            duration_ms: self.duration_ms,
        }
    }
}

fn read_capped(mut from: impl Read) -> String {
    let mut kept = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(n) = from.read(&mut buf) {
        if n == 0 {
            break;
        }
        let room = OUTPUT_CAP.saturating_sub(kept.len());
        kept.extend_from_slice(&buf[..n.min(room)]);
    }
    String::from_utf8_lossy(&kept).into_owned()
}

/// Runs `hook` in `dir` with `payload` on its stdin, killing it (and what it started) after its
/// timeout. Blocks the calling thread.
pub fn run(hook: &HookConfig, payload: &serde_json::Value, dir: &Path) -> HookRun {
    use std::os::unix::process::CommandExt;
    let started = Instant::now();
    let failed = |output: String| HookRun {
        exit_code: None,
        timed_out: false,
        output,
        duration_ms: started.elapsed().as_millis() as u64,
    };
    let spawned = Command::new("/bin/sh")
        .arg("-c")
        .arg(&hook.command)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn();
    let mut child = match spawned {
        Ok(child) => child,
        Err(err) => return failed(format!("the hook could not start: {err}")),
    };
    // Written and read on threads of their own: a hook that reads nothing or prints a lot must
    // not block the wait for its timeout.
    let body = payload.to_string();
    let stdin = child.stdin.take().map(|mut stdin| {
        std::thread::spawn(move || {
            let _ = stdin.write_all(body.as_bytes());
        })
    });
    let stdout = child.stdout.take().map(|out| std::thread::spawn(move || read_capped(out)));
    let stderr = child.stderr.take().map(|err| std::thread::spawn(move || read_capped(err)));
    let deadline = started + Duration::from_secs(hook.timeout_secs.max(1));
    let (status, timed_out) = loop {
        match child.try_wait() {
            Ok(Some(status)) => break (Some(status), false),
            Ok(None) if Instant::now() >= deadline => break (None, true),
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(_) => break (None, false),
        }
    };
    if let Ok(pgid) = i32::try_from(child.id()) {
        // SAFETY: signals the process group this function created; a stale one just fails.
        unsafe {
            libc::kill(-pgid, libc::SIGKILL);
        }
    }
    let _ = child.wait();
    let join = |handle: Option<JoinHandle<String>>| handle.and_then(|h| h.join().ok()).unwrap_or_default();
    if let Some(writer) = stdin {
        let _ = writer.join();
    }
    let (out, err) = (join(stdout), join(stderr));
    let output = if err.is_empty() { out } else { format!("{out}{err}") };
    HookRun {
        exit_code: status.and_then(|s| s.code()),
        timed_out,
        output,
        duration_ms: started.elapsed().as_millis() as u64,
    }
}

enum Message {
    Event(Arc<Event>),
    Stop,
}

/// What the store's commit hook offers stored events to; cheap to clone into it.
#[derive(Clone)]
pub struct HookFeed {
    sender: mpsc::Sender<Message>,
    events: BTreeSet<HookEvent>,
}

impl HookFeed {
    /// Queues `event` for the lifecycle hooks, when one runs at its kind.
    pub fn offer(&self, event: &Arc<Event>) {
        if lifecycle(&event.kind).is_some_and(|e| self.events.contains(&e)) {
            // A closed queue means the engine is closing: nothing is left to run hooks.
            let _ = self.sender.send(Message::Event(event.clone()));
        }
    }
}

/// The lifecycle hooks of one engine: the queue, then the thread that runs it.
pub struct LifecycleHooks {
    sender: mpsc::Sender<Message>,
    /// Taken by the thread when it starts.
    queue: std::sync::Mutex<Option<mpsc::Receiver<Message>>>,
    hooks: Vec<HookConfig>,
    thread: Option<JoinHandle<()>>,
}

impl LifecycleHooks {
    /// The lifecycle hooks among `hooks` and the feed for the store's commits; `None` when there
    /// are none.
    pub fn new(hooks: &[HookConfig]) -> Option<(LifecycleHooks, HookFeed)> {
        let hooks: Vec<HookConfig> = hooks.iter().filter(|h| lifecycle_event(h.event)).cloned().collect();
        if hooks.is_empty() {
            return None;
        }
        let (sender, queue) = mpsc::channel();
        let feed = HookFeed { sender: sender.clone(), events: hooks.iter().map(|h| h.event).collect() };
        Some((LifecycleHooks { sender, queue: std::sync::Mutex::new(Some(queue)), hooks, thread: None }, feed))
    }

    /// Starts running queued events' hooks in `dir`, recording each run with `record`.
    pub fn start(
        &mut self,
        dir: PathBuf,
        redactor: Arc<Redactor>,
        record: impl Fn(Vec<NewEvent>) + Send + 'static,
    ) -> std::io::Result<()> {
        let taken = self.queue.get_mut().map_or_else(|poisoned| poisoned.into_inner().take(), Option::take);
        let Some(queue) = taken else { return Ok(()) };
        let hooks = self.hooks.clone();
        let thread = std::thread::Builder::new().name("ambidex-hooks".into()).spawn(move || {
            let mut stopping = false;
            loop {
                let message = if stopping { queue.try_recv().ok() } else { queue.recv().ok() };
                match message {
                    Some(Message::Event(event)) => {
                        for hook in hooks.iter().filter(|h| lifecycle(&event.kind) == Some(h.event)) {
                            let ran = run(hook, &payload(hook.event, &event), &dir);
                            let audited = ran.audited(hook, &redactor, false);
                            record(vec![match event.task {
                                Some(task) => NewEvent::for_task(task, Actor::Orchestrator, audited),
                                None => NewEvent::global(Actor::Orchestrator, audited),
                            }]);
                        }
                    }
                    Some(Message::Stop) => stopping = true,
                    None => break,
                }
            }
        })?;
        self.thread = Some(thread);
        Ok(())
    }
}

impl Drop for LifecycleHooks {
    /// Runs what is queued, then stops.
    fn drop(&mut self) {
        let _ = self.sender.send(Message::Stop);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn lifecycle_event(event: HookEvent) -> bool {
    !matches!(event, HookEvent::PreToolCall | HookEvent::PostToolCall)
}

/// What a lifecycle hook reads on stdin.
fn payload(hook: HookEvent, event: &Event) -> serde_json::Value {
    serde_json::json!({
        "hook": name(hook),
        "task": event.task,
        "seq": event.seq,
        "at": event.at,
        "actor": event.actor,
        "event": event.kind,
    })
}

/// The tool-call hooks for `event` that apply to `tool`.
pub fn for_tool<'a>(hooks: &'a [HookConfig], event: HookEvent, tool: &'a str) -> impl Iterator<Item = &'a HookConfig> {
    hooks.iter().filter(move |h| h.event == event && (h.tools.is_empty() || h.tools.iter().any(|t| t == tool)))
}

#[cfg(test)]
#[path = "hooks_tests.rs"]
mod tests;
