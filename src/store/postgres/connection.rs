//! A PostgreSQL session on a thread of its own. The driver's blocking client runs its own
//! runtime, which must not be entered from the engine's tokio threads; queries are therefore
//! sent to this thread and answered over a channel, like appends to the redb writer. A session
//! the server dropped is opened again for the next query.

use std::path::PathBuf;
use std::sync::mpsc::{Sender, sync_channel};
use std::time::Duration;

use postgres::{Client, Config, NoTls};

use super::super::error::StoreError;

/// How long a connection attempt may take when the URL does not say (`connect_timeout`).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a query failed, before it is told as a store error.
#[derive(Debug)]
pub(crate) enum PgFailure {
    /// The server or the driver failed.
    Db(postgres::Error),
    /// A stored value does not decode.
    Damaged(String),
}

impl From<postgres::Error> for PgFailure {
    fn from(err: postgres::Error) -> Self {
        PgFailure::Db(err)
    }
}

impl PgFailure {
    /// Told for the store at `location`, which was being `action`ed.
    pub(crate) fn into_store_error(self, location: &std::path::Path, action: &'static str) -> StoreError {
        match self {
            PgFailure::Db(err) => StoreError::Server { path: location.to_owned(), action, detail: describe(&err) },
            PgFailure::Damaged(detail) => StoreError::Damaged { path: location.to_owned(), detail },
        }
    }
}

/// The server's own message when there is one (the driver's `Display` says only "db error").
pub(crate) fn describe(err: &postgres::Error) -> String {
    match err.as_db_error() {
        Some(db) => format!("{}: {}", db.severity(), db.message()),
        None => {
            let mut text = err.to_string();
            let mut source = std::error::Error::source(err);
            while let Some(inner) = source {
                text = format!("{text}: {inner}");
                source = inner.source();
            }
            text
        }
    }
}

/// The parsed `store.url`, with a password from `PGPASSWORD` when the URL has none, and a
/// connection timeout when it sets none.
pub(crate) fn config(url: &str) -> Result<Config, String> {
    let mut config: Config = url.parse().map_err(|err: postgres::Error| describe(&err))?;
    if config.get_password().is_none()
        && let Some(password) = std::env::var_os("PGPASSWORD").filter(|p| !p.is_empty())
    {
        config.password(password.as_encoded_bytes());
    }
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(CONNECT_TIMEOUT);
    }
    if config.get_application_name().is_none() {
        config.application_name("ambidex");
    }
    Ok(config)
}

/// Where a store is, for messages: the URL without its password.
pub(crate) fn location(config: &Config) -> PathBuf {
    let user = config.get_user().map(|user| format!("{user}@")).unwrap_or_default();
    let host = config
        .get_hosts()
        .first()
        .map(|host| match host {
            postgres::config::Host::Tcp(name) => name.clone(),
            postgres::config::Host::Unix(path) => path.display().to_string(),
        })
        .unwrap_or_else(|| "localhost".into());
    let port = config.get_ports().first().map(|port| format!(":{port}")).unwrap_or_default();
    let db = config.get_dbname().unwrap_or_default();
    PathBuf::from(format!("postgres://{user}{host}{port}/{db}"))
}

/// Opens a session.
pub(crate) fn connect(config: &Config) -> Result<Client, postgres::Error> {
    config.connect(NoTls)
}

type Job = Box<dyn FnOnce(&mut Option<Client>) + Send>;

/// A session served by its own thread.
pub(crate) struct Connection {
    jobs: Sender<Job>,
    config: Config,
    location: PathBuf,
}

impl Connection {
    /// Starts the thread with `client`, a session already open.
    pub(crate) fn start(config: Config, location: PathBuf, client: Client) -> Result<Connection, StoreError> {
        let (jobs, received) = std::sync::mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("ambidex-store-reader".into())
            .spawn(move || {
                let mut session = Some(client);
                for job in received {
                    job(&mut session);
                }
            })
            .map_err(|source| StoreError::Io {
                path: location.clone(),
                action: "start the reader of",
                durable_seq: None,
                source,
            })?;
        Ok(Connection { jobs, config, location })
    }

    /// Runs `query` on the session's thread and waits for its answer. A read the server or the
    /// connection failed runs once more on a new session: the server may have dropped the old
    /// one (a restart, a failover, an administrator).
    pub(crate) fn run<T: Send + 'static>(
        &self,
        query: impl Fn(&mut Client) -> Result<T, PgFailure> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (answer, answered) = sync_channel(1);
        let config = self.config.clone();
        let job: Job = Box::new(move |session: &mut Option<Client>| {
            let mut result = with_session(session, &config, &query);
            if let Err(PgFailure::Db(_)) = &result {
                // The driver may not have noticed yet that the server closed the session.
                *session = None;
                result = with_session(session, &config, &query);
            }
            let _ = answer.send(result);
        });
        let stopped = || StoreError::WriterStopped { reason: Some("the store's reader thread has stopped".into()) };
        self.jobs.send(job).map_err(|_| stopped())?;
        answered.recv().map_err(|_| stopped())?.map_err(|failure| failure.into_store_error(&self.location, "read"))
    }
}

/// Runs `query` on the open session, opening one first when there is none or the server
/// dropped it.
pub(crate) fn with_session<T>(
    session: &mut Option<Client>,
    config: &Config,
    query: impl FnOnce(&mut Client) -> Result<T, PgFailure>,
) -> Result<T, PgFailure> {
    query(open_session(session, config)?)
}

/// The open session, opened anew when there is none or the server dropped it.
pub(crate) fn open_session<'a>(session: &'a mut Option<Client>, config: &Config) -> Result<&'a mut Client, PgFailure> {
    let client = match session.take().filter(|client| !client.is_closed()) {
        Some(client) => client,
        None => connect(config)?,
    };
    Ok(session.insert(client))
}
