//! Another coding agent as a worker, over the Agent Client Protocol: Claude Code, Codex, Gemini
//! CLI and others (through their ACP adapters) do a stage's work instead of a model driven by
//! the agent loop.
//!
//! The agent runs as a child process inside the sandbox commands get (with the network, to reach
//! its model), in the worktree it works on, and gets the stage's instructions as one prompt.
//! Ambidex is the client: its messages stream into the hand's pane and are recorded, every tool
//! call it reports becomes a `tool_called` event counted against the budgets, each permission it
//! asks for is decided by the broker (the command policy, the worktree's bounds, a gate), and
//! its file reads and writes through the protocol are confined to the worktree. It never gets a
//! terminal from Ambidex: commands it runs, it runs itself, inside the sandbox. When its turn
//! ends, what the engineer said meanwhile is sent as another prompt; then the stage ends, and its
//! change is evaluated like any other.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use agent_client_protocol::schema::ProtocolVersion;
use agent_client_protocol::v1::ConnectionTo;
use agent_client_protocol::v1::schema::{
    CancelNotification, ClientCapabilities, ContentBlock, ContentChunk, FileSystemCapabilities, Implementation,
    InitializeRequest, NewSessionRequest, PermissionOptionKind, PromptRequest, ReadTextFileRequest,
    ReadTextFileResponse, RequestPermissionOutcome, RequestPermissionRequest, RequestPermissionResponse,
    SelectedPermissionOutcome, SessionNotification, SessionUpdate, StopReason, ToolCall, ToolCallContent,
    ToolCallStatus, ToolKind, WriteTextFileRequest, WriteTextFileResponse,
};
use agent_client_protocol::{Agent, ByteStreams, Client, Error};
use jiff::Timestamp;
use serde_json::Value;
use tokio::io::AsyncReadExt;
use tokio::sync::{mpsc, oneshot, watch};
use tokio_util::compat::{TokioAsyncReadCompatExt, TokioAsyncWriteCompatExt};

use super::agent_loop::{AgentHost, AgentOutcome};
use super::submit::{Finish, Submission};
use crate::config::AcpAgentConfig;
use crate::llm::{ModelError, ModelErrorKind};
use crate::protocol::{EventKind, NewEvent};
use crate::tools::broker::{AgentScope, Broker};
use crate::tools::budget::Breach;
use crate::tools::confine::Confined;
use crate::tools::external::{ExternalAction, ExternalCall};
use crate::tools::runner;

/// How often the run looks whether it must stop (a cancel, a gate, its time).
const STOP_POLL: Duration = Duration::from_millis(200);
/// How long a cancelled agent has to end its turn before it is killed.
const CANCEL_GRACE: Duration = Duration::from_secs(10);
/// Most prompts one stage sends: the instructions, then the engineer's messages.
const MAX_PROMPTS: usize = 8;
/// Bytes of the agent's stderr kept to explain a failure.
const STDERR_TAIL: usize = 4096;

/// The agent a stage runs: its name in `[acp.agents]` and how to start it.
pub struct AcpAgent<'a> {
    /// Its name.
    pub name: &'a str,
    /// How to start it.
    pub config: &'a AcpAgentConfig,
    /// Its `env`, expanded.
    pub env: Vec<(String, String)>,
}

/// What the protocol's handlers pass to the run.
enum Incoming {
    Update(SessionUpdate),
    Permission(RequestPermissionRequest, oneshot::Sender<RequestPermissionOutcome>),
    FileCall { tool: &'static str, path: PathBuf, ok: bool, output: String, started_at: Timestamp },
}

/// Why the run stopped before the agent ended its turn.
#[derive(Debug, Clone, PartialEq)]
enum Stop {
    Asked,
    Budget(Vec<Breach>),
    Audit(String),
    Timeout(Duration),
}

/// How the prompts ended, as the session saw it.
enum Ended {
    Done,
    Cancelled,
    OutOfTurns,
    Refused,
}

/// Runs `agent` on `instructions` in `scope`'s worktree until it ends its turn, a budget runs
/// out, the host stops it, or its `timeout_secs` pass.
pub async fn run_acp_agent(
    agent: &AcpAgent<'_>,
    broker: &Broker,
    scope: &mut AgentScope,
    host: &dyn AgentHost,
    instructions: String,
) -> AgentOutcome {
    let failed = |message: String| AgentOutcome::ModelFailed(ModelError::new(ModelErrorKind::Protocol, message));
    let command = agent.config.command_line();
    if let Some(permit) = broker.permit_agent_start(scope, host, agent.name, &command).await
        && !permit.allowed
    {
        return failed(format!("a human refused to start the ACP agent `{}` outside a full sandbox", agent.name));
    }
    let timeout = Duration::from_secs(agent.config.timeout_secs.max(1));
    let spec = broker.agent_run_spec(command, scope.worktree.path.clone(), agent.env.clone(), timeout);
    let mut piped = match runner::spawn_piped(&spec) {
        Ok(piped) => piped,
        Err(err) => return failed(format!("the ACP agent `{}` could not be started: {err}", agent.name)),
    };
    let (Some(stdin), Some(stdout)) = (piped.child.stdin.take(), piped.child.stdout.take()) else {
        return failed(format!("the ACP agent `{}` has no pipes", agent.name));
    };
    let stderr = tokio::spawn(tail(piped.child.stderr.take()));
    let transport = ByteStreams::new(stdin.compat_write(), stdout.compat());

    let (incoming, mut received) = mpsc::unbounded_channel();
    let (stop_sender, stop) = watch::channel(false);
    let cwd = scope.confined.root().to_owned();
    let session = Session { incoming, confined: scope.confined.clone(), cwd, stop, host, instructions };
    let mut run = Run::new(agent.name, broker, spec.level.to_string());
    let deadline = tokio::time::Instant::now() + timeout;
    let (ended, ()) = tokio::join!(session.run(transport), async {
        let mut ticks = tokio::time::interval(STOP_POLL);
        loop {
            tokio::select! {
                message = received.recv() => match message {
                    Some(message) => run.handle(message, scope, host).await,
                    None => break,
                },
                _ = ticks.tick() => {
                    if run.stop.is_none() && host.should_stop() {
                        run.stop = Some(Stop::Asked);
                    }
                    if run.stop.is_none() && tokio::time::Instant::now() >= deadline {
                        run.stop = Some(Stop::Timeout(timeout));
                    }
                }
            }
            if run.stop.is_some() {
                let _ = stop_sender.send(true);
            }
        }
    });
    run.flush_message(scope, host).await;
    drop(piped);
    let stderr = stderr.await.unwrap_or_default();
    let said = |what: &str| {
        let stderr = stderr.trim();
        if stderr.is_empty() { what.to_owned() } else { format!("{what}; it wrote:\n{stderr}") }
    };
    match (run.stop, ended) {
        (Some(Stop::Audit(detail)), _) => super::agent_loop::audit_failure(&detail),
        (Some(Stop::Budget(breaches)), _) => AgentOutcome::BudgetExceeded(breaches),
        (Some(Stop::Asked), _) => AgentOutcome::Stopped,
        (Some(Stop::Timeout(after)), _) => {
            failed(said(&format!("the ACP agent `{}` did not finish within {} s", agent.name, after.as_secs())))
        }
        (None, Ok(Ended::Done)) => {
            let summary = run.last_message.trim();
            let summary = if summary.is_empty() { "the agent ended its turn" } else { summary };
            AgentOutcome::Submitted(Submission::Finish(Finish { summary: summary.to_owned(), confidence: None }))
        }
        (None, Ok(Ended::OutOfTurns)) => AgentOutcome::TurnsExhausted(0),
        (None, Ok(Ended::Refused)) => failed(format!("the ACP agent `{}` refused the task", agent.name)),
        (None, Ok(Ended::Cancelled)) => failed(format!("the ACP agent `{}` cancelled its turn", agent.name)),
        (None, Err(err)) => failed(said(&format!("the ACP agent `{}` failed: {err}", agent.name))),
    }
}

/// `err` naming the request it broke, when it does not say so itself: a prompt written to an
/// agent that has already exited fails with a bare "Broken pipe".
fn during(method: &str, err: Error) -> Error {
    if err.to_string().contains(method) { err } else { Error::internal_error().data(format!("{method}: {err}")) }
}

/// What `ambidex acp check` found of one agent.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AcpCheck {
    /// Its name in `[acp.agents]`.
    pub agent: String,
    /// How it introduced itself (`claude-code-acp 0.5.0`), when it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub info: Option<String>,
    /// The protocol version it speaks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol: Option<u16>,
    /// How long the handshake took, in milliseconds.
    pub millis: u64,
    /// Why it could not be used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Starts `agent` in `workdir` (its `env` expanded into `env`; no sandbox, as nothing is asked
/// of it) and shakes hands: the `initialize` exchange only, within `timeout`.
pub async fn check_agent(
    name: &str,
    agent: &AcpAgentConfig,
    env: Vec<(String, String)>,
    workdir: &Path,
    timeout: Duration,
) -> AcpCheck {
    let started = std::time::Instant::now();
    let spec = runner::RunSpec {
        command: agent.command_line(),
        workdir: workdir.to_owned(),
        level: crate::tools::sandbox::SandboxLevel::None,
        timeout,
        output_cap: STDERR_TAIL,
        helper: PathBuf::new(),
        env,
        paths: runner::SandboxPaths { network: true, ..runner::SandboxPaths::default() },
    };
    let handshake = async {
        let mut piped = runner::spawn_piped(&spec).map_err(|err| err.to_string())?;
        let (Some(stdin), Some(stdout)) = (piped.child.stdin.take(), piped.child.stdout.take()) else {
            return Err("it has no pipes".to_owned());
        };
        let stderr = tokio::spawn(tail(piped.child.stderr.take()));
        let transport = ByteStreams::new(stdin.compat_write(), stdout.compat());
        let hello = InitializeRequest::new(ProtocolVersion::V1)
            .client_capabilities(ClientCapabilities::new().terminal(false))
            .client_info(Implementation::new("ambidex", env!("CARGO_PKG_VERSION")));
        let answer = Client
            .v1()
            .connect_with(transport, async |cx: ConnectionTo<Agent>| cx.send_request(hello).block_task().await)
            .await;
        drop(piped);
        let stderr = stderr.await.unwrap_or_default();
        answer.map_err(|err| {
            let stderr = stderr.trim();
            if stderr.is_empty() { err.to_string() } else { format!("{err}; it wrote:\n{stderr}") }
        })
    };
    let answer = tokio::time::timeout(timeout, handshake)
        .await
        .unwrap_or_else(|_| Err(format!("it did not answer `initialize` within {} s", timeout.as_secs())));
    let millis = started.elapsed().as_millis() as u64;
    match answer {
        Ok(hello) => AcpCheck {
            agent: name.to_owned(),
            info: hello.agent_info.map(|info| format!("{} {}", info.name, info.version)),
            protocol: Some(hello.protocol_version.as_u16()),
            millis,
            error: None,
        },
        Err(error) => AcpCheck { agent: name.to_owned(), info: None, protocol: None, millis, error: Some(error) },
    }
}

/// The last [`STDERR_TAIL`] bytes the agent wrote to its stderr.
async fn tail(stream: Option<tokio::process::ChildStderr>) -> String {
    let Some(mut stream) = stream else { return String::new() };
    let mut kept: Vec<u8> = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(n) = stream.read(&mut buf).await {
        if n == 0 {
            break;
        }
        kept.extend_from_slice(&buf[..n]);
        if kept.len() > STDERR_TAIL {
            kept.drain(..kept.len() - STDERR_TAIL);
        }
    }
    String::from_utf8_lossy(&kept).into_owned()
}

/// The protocol side: the connection, its handlers, and the prompts.
struct Session<'a> {
    incoming: mpsc::UnboundedSender<Incoming>,
    confined: Confined,
    cwd: PathBuf,
    stop: watch::Receiver<bool>,
    host: &'a dyn AgentHost,
    instructions: String,
}

impl Session<'_> {
    async fn run(
        self,
        transport: ByteStreams<impl futures::AsyncWrite + Send + 'static, impl futures::AsyncRead + Send + 'static>,
    ) -> Result<Ended, Error> {
        let Session { incoming, confined, cwd, mut stop, host, instructions } = self;
        let (updates, permissions, writes, reads) = (incoming.clone(), incoming.clone(), incoming.clone(), incoming);
        let (write_root, read_root) = (confined.clone(), confined);
        // Whether the handshake is over: a connection that breaks after it broke a prompt.
        let prompting = Arc::new(AtomicBool::new(false));
        let prompted = prompting.clone();
        let ended = Client
            .v1()
            .name("ambidex")
            .on_receive_notification(
                async move |notification: SessionNotification, _cx: ConnectionTo<Agent>| {
                    let _ = updates.send(Incoming::Update(notification.update));
                    Ok(())
                },
                agent_client_protocol::on_receive_notification!(),
            )
            .on_receive_request(
                async move |request: RequestPermissionRequest, responder, cx: ConnectionTo<Agent>| {
                    // Answered off the dispatch loop: a human may take a while.
                    let permissions = permissions.clone();
                    cx.spawn(async move {
                        let (answer, answered) = oneshot::channel();
                        let _ = permissions.send(Incoming::Permission(request, answer));
                        let outcome = answered.await.unwrap_or(RequestPermissionOutcome::Cancelled);
                        responder.respond(RequestPermissionResponse::new(outcome))
                    })
                },
                agent_client_protocol::on_receive_request!(),
            )
            .on_receive_request(
                async move |request: WriteTextFileRequest, responder, _cx: ConnectionTo<Agent>| {
                    let started_at = Timestamp::now();
                    let written = confined_path(&write_root, &request.path, true).and_then(|path| {
                        if let Some(parent) = path.parent() {
                            std::fs::create_dir_all(parent).map_err(|err| err.to_string())?;
                        }
                        std::fs::write(&path, &request.content).map_err(|err| err.to_string())
                    });
                    let output =
                        written.as_ref().err().cloned().unwrap_or_else(|| format!("{} bytes", request.content.len()));
                    let ok = written.is_ok();
                    let call =
                        Incoming::FileCall { tool: "fs/write_text_file", path: request.path, ok, output, started_at };
                    let _ = writes.send(call);
                    match written {
                        Ok(()) => responder.respond(WriteTextFileResponse::new()),
                        Err(why) => responder.respond_with_error(Error::invalid_params().data(why)),
                    }
                },
                agent_client_protocol::on_receive_request!(),
            )
            .on_receive_request(
                async move |request: ReadTextFileRequest, responder, _cx: ConnectionTo<Agent>| {
                    let started_at = Timestamp::now();
                    let read = confined_path(&read_root, &request.path, false)
                        .and_then(|path| std::fs::read_to_string(path).map_err(|err| err.to_string()))
                        .map(|text| lines(&text, request.line, request.limit));
                    let output = match &read {
                        Ok(text) => format!("{} bytes", text.len()),
                        Err(why) => why.clone(),
                    };
                    let call = Incoming::FileCall {
                        tool: "fs/read_text_file",
                        path: request.path,
                        ok: read.is_ok(),
                        output,
                        started_at,
                    };
                    let _ = reads.send(call);
                    match read {
                        Ok(text) => responder.respond(ReadTextFileResponse::new(text)),
                        Err(why) => responder.respond_with_error(Error::invalid_params().data(why)),
                    }
                },
                agent_client_protocol::on_receive_request!(),
            )
            .connect_with(transport, async |cx: ConnectionTo<Agent>| {
                let capabilities = ClientCapabilities::new()
                    .fs(FileSystemCapabilities::new().read_text_file(true).write_text_file(true))
                    .terminal(false);
                let hello = InitializeRequest::new(ProtocolVersion::V1)
                    .client_capabilities(capabilities)
                    .client_info(Implementation::new("ambidex", env!("CARGO_PKG_VERSION")));
                let handshake = async {
                    cx.send_request(hello).block_task().await?;
                    Ok::<_, Error>(cx.send_request(NewSessionRequest::new(cwd.clone())).block_task().await?.session_id)
                };
                // An agent that hangs before its first prompt is stopped like one that hangs in it.
                let session = tokio::select! {
                    session = handshake => session?,
                    () = async { let _ = stop.wait_for(|stopped| *stopped).await; } => return Ok(Ended::Cancelled),
                };
                prompted.store(true, Ordering::SeqCst);
                let mut heard = host.message_cursor();
                let mut text = instructions;
                for _ in 0..MAX_PROMPTS {
                    let prompt = cx.send_request(PromptRequest::new(session.clone(), vec![ContentBlock::from(text)]));
                    let mut answer = std::pin::pin!(prompt.block_task());
                    let response = tokio::select! {
                        response = &mut answer => response?,
                        // The guard `wait_for` answers with is dropped at once: it must not live across an await.
                        () = async { let _ = stop.wait_for(|stopped| *stopped).await; } => {
                            cx.send_notification(CancelNotification::new(session.clone()))?;
                            let _ = tokio::time::timeout(CANCEL_GRACE, answer).await;
                            return Ok(Ended::Cancelled);
                        }
                    };
                    match response.stop_reason {
                        StopReason::EndTurn => {}
                        StopReason::MaxTokens | StopReason::MaxTurnRequests => return Ok(Ended::OutOfTurns),
                        StopReason::Refusal => return Ok(Ended::Refused),
                        _ => return Ok(Ended::Cancelled),
                    }
                    let said: Vec<(u64, String)> = host.messages_after(heard);
                    let Some((cursor, _)) = said.last() else { return Ok(Ended::Done) };
                    heard = *cursor;
                    let messages: Vec<String> = said.into_iter().map(|(_, text)| text).collect();
                    text = format!("Message from the engineer, who is watching: {}", messages.join("\n\n"));
                }
                Ok(Ended::Done)
            })
            .await;
        ended.map_err(|err| if prompting.load(Ordering::SeqCst) { during("session/prompt", err) } else { err })
    }
}

/// `path` (absolute, as the protocol sends it) inside the worktree, for reading or writing.
fn confined_path(confined: &Confined, path: &Path, write: bool) -> Result<PathBuf, String> {
    let relative =
        path.strip_prefix(confined.root()).map_err(|_| format!("{} is outside the worktree", path.display()))?;
    let relative = relative.to_string_lossy();
    let resolved = if write { confined.write_path(&relative) } else { confined.read_path(&relative) };
    resolved.map_err(|err| err.to_string())
}

/// Lines `line` (1-based) onwards of `text`, at most `limit` of them.
fn lines(text: &str, line: Option<u32>, limit: Option<u32>) -> String {
    if line.is_none() && limit.is_none() {
        return text.to_owned();
    }
    let skip = line.map_or(0, |line| line.saturating_sub(1) as usize);
    let take = limit.map_or(usize::MAX, |limit| limit as usize);
    text.split_inclusive('\n').skip(skip).take(take).collect()
}

/// The run's side: what the agent said and did, recorded as it happens.
struct Run<'a> {
    agent: &'a str,
    broker: &'a Broker,
    sandbox: String,
    /// The message being streamed.
    message: String,
    /// The last complete message: the stage's summary.
    last_message: String,
    calls: HashMap<String, Tracked>,
    stop: Option<Stop>,
}

/// A tool call the agent reported, until it ends.
struct Tracked {
    call: ToolCall,
    started_at: Timestamp,
    policy: Option<crate::protocol::PolicyRecord>,
}

impl<'a> Run<'a> {
    fn new(agent: &'a str, broker: &'a Broker, level: String) -> Self {
        Run {
            agent,
            broker,
            sandbox: format!("acp:{agent} in {level}"),
            message: String::new(),
            last_message: String::new(),
            calls: HashMap::new(),
            stop: None,
        }
    }

    async fn handle(&mut self, incoming: Incoming, scope: &mut AgentScope, host: &dyn AgentHost) {
        match incoming {
            Incoming::Update(SessionUpdate::AgentMessageChunk(ContentChunk {
                content: ContentBlock::Text(text),
                ..
            })) => {
                host.delta(&scope.actor, &text.text);
                self.message.push_str(&text.text);
            }
            Incoming::Update(SessionUpdate::ToolCall(call)) => {
                self.flush_message(scope, host).await;
                let id = call.tool_call_id.to_string();
                let tracked = Tracked { call, started_at: Timestamp::now(), policy: None };
                let tracked = self.calls.entry(id.clone()).or_insert(tracked);
                if is_done(tracked.call.status) {
                    self.finish_call(&id, scope, host).await;
                }
            }
            Incoming::Update(SessionUpdate::ToolCallUpdate(update)) => {
                let id = update.tool_call_id.to_string();
                let tracked = self.calls.entry(id.clone()).or_insert_with(|| Tracked {
                    call: ToolCall::new(update.tool_call_id.clone(), String::new()),
                    started_at: Timestamp::now(),
                    policy: None,
                });
                tracked.call.update(update.fields);
                if is_done(tracked.call.status) {
                    self.finish_call(&id, scope, host).await;
                }
            }
            Incoming::Update(_) => {}
            Incoming::Permission(request, answer) => {
                self.flush_message(scope, host).await;
                let outcome = self.permission(request, scope, host).await;
                let _ = answer.send(outcome);
            }
            Incoming::FileCall { tool, path, ok, output, started_at } => {
                let call = ExternalCall {
                    tool: format!("acp:{}:{tool}", self.agent),
                    arguments: serde_json::json!({ "path": path }),
                    ok,
                    output,
                    started_at,
                    sandbox: self.sandbox.clone(),
                    policy: None,
                    changes_files: tool.contains("write"),
                };
                self.record(call, scope, host).await;
            }
        }
    }

    async fn permission(
        &mut self,
        request: RequestPermissionRequest,
        scope: &mut AgentScope,
        host: &dyn AgentHost,
    ) -> RequestPermissionOutcome {
        if self.stop.is_some() {
            return RequestPermissionOutcome::Cancelled;
        }
        let id = request.tool_call.tool_call_id.to_string();
        let known = self.calls.get(&id).map(|tracked| tracked.call.clone());
        let mut call = known.unwrap_or_else(|| ToolCall::new(request.tool_call.tool_call_id.clone(), String::new()));
        call.update(request.tool_call.fields.clone());
        let action = action_of(&call);
        let permit = self.broker.permit(scope, host, &call.title, &action).await;
        if host.should_stop() {
            self.stop = Some(Stop::Asked);
            return RequestPermissionOutcome::Cancelled;
        }
        let wanted: &[PermissionOptionKind] = match (permit.allowed, permit.for_task) {
            (true, true) => &[PermissionOptionKind::AllowAlways, PermissionOptionKind::AllowOnce],
            (true, false) => &[PermissionOptionKind::AllowOnce, PermissionOptionKind::AllowAlways],
            (false, _) => &[PermissionOptionKind::RejectOnce, PermissionOptionKind::RejectAlways],
        };
        let chosen = wanted.iter().find_map(|kind| request.options.iter().find(|option| option.kind == *kind));
        self.calls.entry(id).or_insert_with(|| Tracked { call, started_at: Timestamp::now(), policy: None }).policy =
            Some(permit.policy);
        match chosen {
            Some(option) => {
                RequestPermissionOutcome::Selected(SelectedPermissionOutcome::new(option.option_id.clone()))
            }
            None => RequestPermissionOutcome::Cancelled,
        }
    }

    async fn finish_call(&mut self, id: &str, scope: &mut AgentScope, host: &dyn AgentHost) {
        let Some(tracked) = self.calls.remove(id) else { return };
        let Tracked { call, started_at, policy } = tracked;
        let kind = serde_json::to_value(call.kind).ok().and_then(|v| v.as_str().map(str::to_owned));
        let mut arguments = serde_json::json!({ "title": call.title });
        if let Some(input) = call.raw_input.clone() {
            arguments["input"] = input;
        }
        let call_record = ExternalCall {
            tool: format!("acp:{}:{}", self.agent, kind.as_deref().unwrap_or("other")),
            arguments,
            ok: call.status == ToolCallStatus::Completed,
            output: output_of(&call),
            started_at,
            sandbox: self.sandbox.clone(),
            policy,
            changes_files: matches!(call.kind, ToolKind::Edit | ToolKind::Delete | ToolKind::Move | ToolKind::Execute),
        };
        self.record(call_record, scope, host).await;
    }

    async fn record(&mut self, call: ExternalCall, scope: &mut AgentScope, host: &dyn AgentHost) {
        match self.broker.record_external(scope, host, call).await {
            Ok(breaches) if breaches.is_empty() => {}
            Ok(breaches) => {
                self.stop.get_or_insert(Stop::Budget(breaches));
            }
            Err(err) => {
                self.stop = Some(Stop::Audit(err));
            }
        }
    }

    /// Records the message streamed so far, if any.
    async fn flush_message(&mut self, scope: &AgentScope, host: &dyn AgentHost) {
        let text = std::mem::take(&mut self.message);
        if text.trim().is_empty() {
            return;
        }
        self.last_message = text.clone();
        let event = NewEvent::for_task(scope.task, scope.actor.clone(), EventKind::AgentMessage { text });
        if let Err(err) = host.record(vec![event]).await {
            self.stop = Some(Stop::Audit(err));
        }
    }
}

fn is_done(status: ToolCallStatus) -> bool {
    matches!(status, ToolCallStatus::Completed | ToolCallStatus::Failed)
}

/// What a tool call asks permission for, from its kind, input and locations.
fn action_of(call: &ToolCall) -> ExternalAction {
    let paths = || call.locations.iter().map(|location| location.path.clone()).collect();
    match call.kind {
        ToolKind::Execute => {
            let input = call.raw_input.as_ref();
            let command = input.and_then(|input| match input.get("command").or_else(|| input.get("cmd")) {
                Some(Value::String(line)) => Some(line.clone()),
                Some(Value::Array(words)) => Some(words.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(" ")),
                _ => None,
            });
            ExternalAction::Execute { command: command.unwrap_or_else(|| call.title.clone()) }
        }
        ToolKind::Edit | ToolKind::Delete | ToolKind::Move => ExternalAction::Change { paths: paths() },
        ToolKind::Read | ToolKind::Search | ToolKind::Think | ToolKind::SwitchMode => {
            ExternalAction::Read { paths: paths() }
        }
        _ => ExternalAction::Other,
    }
}

/// What came of a tool call: its text, and the files its diffs changed.
fn output_of(call: &ToolCall) -> String {
    let parts: Vec<String> = call
        .content
        .iter()
        .map(|content| match content {
            ToolCallContent::Content(content) => match &content.content {
                ContentBlock::Text(text) => text.text.clone(),
                _ => "[non-text content]".to_owned(),
            },
            ToolCallContent::Diff(diff) => format!("changed {}", diff.path.display()),
            _ => "[terminal output]".to_owned(),
        })
        .collect();
    parts.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_range_is_read_from_its_first_line() {
        let text = "a\nb\nc\nd\n";
        assert_eq!(lines(text, None, None), text);
        assert_eq!(lines(text, Some(2), Some(2)), "b\nc\n");
        assert_eq!(lines(text, Some(4), None), "d\n");
        assert_eq!(lines(text, None, Some(1)), "a\n");
    }

    #[test]
    fn commands_edits_and_the_rest_ask_for_different_things() {
        let mut run = ToolCall::new("c1", "Run tests");
        run.kind = ToolKind::Execute;
        run.raw_input = Some(serde_json::json!({ "command": ["cargo", "test"] }));
        assert_eq!(action_of(&run), ExternalAction::Execute { command: "cargo test".into() });
        run.raw_input = None;
        assert_eq!(action_of(&run), ExternalAction::Execute { command: "Run tests".into() });
        let mut edit = ToolCall::new("c2", "Edit");
        edit.kind = ToolKind::Edit;
        edit.locations = vec![agent_client_protocol::v1::schema::ToolCallLocation::new("/w/src/lib.rs")];
        assert_eq!(action_of(&edit), ExternalAction::Change { paths: vec![PathBuf::from("/w/src/lib.rs")] });
        let mut fetch = ToolCall::new("c3", "Fetch docs");
        fetch.kind = ToolKind::Fetch;
        assert_eq!(action_of(&fetch), ExternalAction::Other);
    }
}
