//! The loopback HTTP API: the engine's third client, beside the control room and headless runs.
//!
//! It listens on 127.0.0.1 only (port `api.port`, 0 picks a free one). Every route but
//! `GET /v1/openapi.json` needs `Authorization: Bearer <token>` with the token from `api.token`
//! in the state directory (mode 0600, compared in constant time). Once it listens, the server
//! announces its address and pid in `api.json` there, so a second `ambidex` process that finds
//! the store held by this one sends its changes here instead; a clean stop removes the file.
//!
//! Routes (the same in `api/openapi.json`): `POST /v1/tasks` (a JSON `TaskSpec`, or a Markdown
//! task file with `Content-Type: text/markdown`), `GET /v1/tasks`, `GET /v1/tasks/{id}`,
//! `POST /v1/tasks/{id}/cancel`, `POST /v1/tasks/{id}/resume`, `POST /v1/tasks/{id}/revise` (the
//! spec fields to replace; the task goes through intake again), `POST /v1/tasks/{id}/notes`
//! (`{"text": ...}`), `GET /v1/events?since=SEQ` (server-sent events: the log after SEQ, then
//! live), `GET /v1/gates`, `POST /v1/gates/{id}/decision`, `GET /v1/openapi.json`. Errors are JSON
//! `{error, detail}`.
//!
//! - `auth`: the token file and the bearer check;
//! - `discovery`: `api.json`;
//! - `routes`: tasks, gates and the OpenAPI document;
//! - `events`: the event stream, replayed from the store and then live, without gaps or repeats;
//! - `reply`: error answers;
//! - `types`: request and answer bodies;
//! - `client`: what the CLI uses to talk to a running engine.

mod auth;
pub mod client;
mod discovery;
mod events;
mod openmetrics;
mod reply;
mod routes;
pub mod types;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::ApiConfig;
use crate::orchestrator::Engine;

pub use client::{ApiClient, EventStream};
pub use discovery::Discovery;
pub use types::{
    CancelRequest, CleanReply, CleanRequest, DecisionReply, DecisionRequest, ErrorBody, GateInfo, MemoryList,
    MuseumList, NoteRequest, RemovedWorktree, RewindRequest, TaskList, TaskListQuery,
};

/// The token file in the state directory.
pub const TOKEN_FILE: &str = "api.token";
/// The announcement file in the state directory.
pub const DISCOVERY_FILE: &str = "api.json";

/// How long a stop waits for open requests before it drops them.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// What went wrong starting, stopping or calling the API; each message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The port is taken or not allowed.
    #[error(
        "cannot listen on 127.0.0.1:{port}: {source}; another program may use that port: pick another \
         with `-c api.port=PORT` (0 picks a free one) or turn the API off with `-c api.enabled=false`"
    )]
    Bind {
        /// The configured port.
        port: u16,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// The token or announcement file could not be read or written.
    #[error("cannot {action} {}: {source}; check the state directory's permissions", path.display())]
    File {
        /// What was being done.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// The server did not answer.
    #[error(
        "the Ambidex API at {url} did not answer ({detail}); is the engine still running? (`ambidex serve` or the control room)"
    )]
    Unreachable {
        /// The address tried.
        url: String,
        /// What the HTTP client said.
        detail: String,
    },
    /// The server answered with an error.
    #[error("the running engine refused: {detail} (HTTP {status} {error})")]
    Refused {
        /// The HTTP status.
        status: u16,
        /// The error code from the body.
        error: String,
        /// The explanation from the body.
        detail: String,
        /// The field at fault, when named.
        field: Option<String>,
    },
    /// The server answered something this client does not understand.
    #[error("unexpected answer from the Ambidex API at {url}: {detail}; are the two ambidex versions the same?")]
    Protocol {
        /// The address called.
        url: String,
        /// What did not fit.
        detail: String,
    },
}

impl ApiError {
    pub(crate) fn file(action: &'static str, path: &Path, source: std::io::Error) -> Self {
        ApiError::File { action, path: path.to_owned(), source }
    }
}

/// What every request handler shares.
pub(crate) struct AppState {
    engine: Arc<Engine>,
    token: String,
    token_path: PathBuf,
    stop: watch::Receiver<bool>,
    default_repo: Option<PathBuf>,
    max_body: usize,
}

/// A running server. Stop it with [`shutdown`](ApiHandle::shutdown); dropping it also stops it
/// and removes `api.json`, without waiting.
#[derive(Debug)]
pub struct ApiHandle {
    addr: SocketAddr,
    token_path: PathBuf,
    discovery_path: PathBuf,
    stop: watch::Sender<bool>,
    server: Option<JoinHandle<std::io::Result<()>>>,
}

impl ApiHandle {
    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The file holding the bearer token.
    pub fn token_path(&self) -> &Path {
        &self.token_path
    }

    /// Stops accepting requests, ends event streams, waits briefly for requests in flight, and
    /// removes `api.json`.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(mut server) = self.server.take()
            && tokio::time::timeout(STOP_GRACE, &mut server).await.is_err()
        {
            server.abort();
        }
        Discovery::remove_own(&self.discovery_path);
    }
}

impl Drop for ApiHandle {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        Discovery::remove_own(&self.discovery_path);
    }
}

/// Starts the API for `engine` on 127.0.0.1 and announces it in `state_dir`. Tasks submitted
/// without a repository get `default_repo` (relative ones are taken from it). Call from a tokio
/// runtime; the server runs on it until stopped.
pub async fn serve(
    engine: Arc<Engine>,
    config: &ApiConfig,
    state_dir: &Path,
    default_repo: Option<&Path>,
) -> Result<ApiHandle, ApiError> {
    crate::protocol::private::create_private_dir(state_dir)
        .map_err(|source| ApiError::file("create", state_dir, source))?;
    let token_path = state_dir.join(TOKEN_FILE);
    let token = auth::ensure_token(&token_path)?;
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, config.port))
        .await
        .map_err(|source| ApiError::Bind { port: config.port, source })?;
    let addr = listener.local_addr().map_err(|source| ApiError::Bind { port: config.port, source })?;
    let (stop, stopped) = watch::channel(false);
    let state = Arc::new(AppState {
        engine,
        token,
        token_path: token_path.clone(),
        stop: stopped.clone(),
        default_repo: default_repo.map(Path::to_path_buf),
        max_body: usize::try_from(config.max_body_bytes).unwrap_or(usize::MAX),
    });
    let router = routes::router(state);
    let mut until = stopped;
    let server = tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async move {
                // A dropped sender stops the server as well.
                let _ = until.wait_for(|stop| *stop).await;
            })
            .await
    });
    let discovery_path = state_dir.join(DISCOVERY_FILE);
    let handle = ApiHandle { addr, token_path, discovery_path, stop, server: Some(server) };
    let announcement = Discovery {
        pid: std::process::id(),
        port: addr.port(),
        url: handle.base_url(),
        token_file: handle.token_path.clone(),
        started_at: Timestamp::now(),
    };
    announcement.write(&handle.discovery_path)?;
    Ok(handle)
}
