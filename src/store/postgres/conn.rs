//! One connection to the server and how calls use it: a runtime of its own, bounded
//! waits (a silent server must not hang 1C), prepared statements, one reconnect when
//! the server dropped the connection, and NOTIFYs turned into wake-ups.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::runtime::Runtime;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::{AsyncMessage, Client, Config, NoTls, Row, Statement};

use super::config::{rustls_config, Tls};
use super::{CHANNEL, CONNECT_TIMEOUT, OPERATION_TIMEOUT};
use crate::store::StoreError;

const STATEMENT_TIMEOUT_MS: u32 = 10_000;

pub type Params<'a> = &'a [&'a (dyn ToSql + Sync)];
pub type PgResult<T> = Result<T, tokio_postgres::Error>;

/// A client and its prepared statements: the server parses and plans each SQL
/// text once per connection, so a statement costs one round trip instead of two.
pub struct Conn {
    pub client: Client,
    statements: Mutex<HashMap<&'static str, Statement>>,
}

impl Conn {
    fn new(client: Client) -> Conn {
        Conn {
            client,
            statements: Mutex::new(HashMap::new()),
        }
    }

    pub async fn prepared(&self, sql: &'static str) -> PgResult<Statement> {
        let cached = self
            .statements
            .lock()
            .ok()
            .and_then(|m| m.get(sql).cloned());
        if let Some(statement) = cached {
            return Ok(statement);
        }
        let statement = self.client.prepare(sql).await?;
        if let Ok(mut m) = self.statements.lock() {
            m.insert(sql, statement.clone());
        }
        Ok(statement)
    }

    pub async fn query(&self, sql: &'static str, params: Params<'_>) -> PgResult<Vec<Row>> {
        let statement = self.prepared(sql).await?;
        self.client.query(&statement, params).await
    }

    pub async fn query_one(&self, sql: &'static str, params: Params<'_>) -> PgResult<Row> {
        let statement = self.prepared(sql).await?;
        self.client.query_one(&statement, params).await
    }

    pub async fn execute(&self, sql: &'static str, params: Params<'_>) -> PgResult<u64> {
        let statement = self.prepared(sql).await?;
        self.client.execute(&statement, params).await
    }
}

/// The SQLSTATEs the chat's API functions raise (api.sql).
fn api_error(code: &str, e: &tokio_postgres::Error) -> Option<StoreError> {
    Some(match code {
        "C1T01" => StoreError::TicketRequired,
        "C1T02" => StoreError::TicketInvalid,
        "C1T03" => StoreError::TicketExpired,
        "C1S01" => StoreError::SessionEnded,
        "C1G01" => StoreError::UnknownGroup(0),
        "C1M01" => StoreError::UnknownMessage(0),
        "C1M02" => StoreError::NotAuthor(0),
        "C1M03" => StoreError::Deleted(0),
        "C1M04" => StoreError::BadReply(0),
        "C1F01" => StoreError::UnknownFile(0),
        c if c.starts_with("C1V") => StoreError::Refused(
            e.as_db_error()
                .map_or_else(String::new, |d| d.message().into()),
        ),
        _ => return None,
    })
}

pub fn map_err(e: tokio_postgres::Error) -> StoreError {
    if let Some(api) = e.code().and_then(|c| api_error(c.code(), &e)) {
        return api;
    }
    if let Some(code) = e.code() {
        if *code == SqlState::READ_ONLY_SQL_TRANSACTION || *code == SqlState::INSUFFICIENT_PRIVILEGE
        {
            return StoreError::ReadOnly;
        }
        if *code == SqlState::LOCK_NOT_AVAILABLE || *code == SqlState::QUERY_CANCELED {
            return StoreError::Busy;
        }
        if *code == SqlState::DISK_FULL {
            return StoreError::Full;
        }
    }
    if e.is_closed() {
        return connection_lost();
    }
    // The server's own words ("db error" alone says nothing).
    match e.as_db_error() {
        Some(db) => StoreError::Other(db.message().to_string()),
        None => StoreError::Other(e.to_string()),
    }
}

fn connection_lost() -> StoreError {
    StoreError::Other("the connection to PostgreSQL was lost".into())
}

fn timed_out() -> StoreError {
    StoreError::Timeout(OPERATION_TIMEOUT.as_secs())
}

/// True when an error means the connection is dead (closed, or the server ended
/// the session, e.g. pg_terminate_backend or a restart).
fn connection_gone(e: &tokio_postgres::Error, client: &Client) -> bool {
    e.is_closed()
        || client.is_closed()
        || e.code()
            .is_some_and(|c| *c == SqlState::ADMIN_SHUTDOWN || *c == SqlState::CRASH_SHUTDOWN)
}

fn connect_error(e: &tokio_postgres::Error) -> String {
    // The server's own words (e.g. "password authentication failed for user x") or
    // the network's; neither carries the password.
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text = format!("{text}: {s}");
        source = s.source();
    }
    text
}

/// Drives a connection, turning its NOTIFYs into wake-ups.
async fn drive<S, T>(mut conn: tokio_postgres::Connection<S, T>, notify: UnboundedSender<()>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    loop {
        match std::future::poll_fn(|cx| conn.poll_message(cx)).await {
            Some(Ok(AsyncMessage::Notification(_))) => {
                let _ = notify.send(());
            }
            Some(Ok(_)) => {}
            Some(Err(_)) | None => {
                // Wake a waiting watcher: it finds the connection closed and reconnects.
                let _ = notify.send(());
                return;
            }
        }
    }
}

/// The connection of one store value (a Chat object's, or a watcher's).
pub struct Connection {
    config: Config,
    tls: Tls,
    runtime: Runtime,
    client: Option<Conn>,
    /// One unit per NOTIFY, per lost connection, or per interrupt by the watcher's owner.
    notified: Option<UnboundedReceiver<()>>,
    notify: UnboundedSender<()>,
    listening: bool,
}

impl Connection {
    pub fn open(config: Config, tls: Tls) -> Result<Connection, StoreError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()
            .map_err(|e| StoreError::Other(e.to_string()))?;
        let (notify, notified) = unbounded_channel();
        let mut connection = Connection {
            config,
            tls,
            runtime,
            client: None,
            notified: Some(notified),
            notify,
            listening: false,
        };
        connection.connect()?;
        Ok(connection)
    }

    fn connect(&mut self) -> Result<(), StoreError> {
        self.client = None;
        let (config, tls, listening) = (self.config.clone(), self.tls, self.listening);
        let tx = self.notify.clone();
        let connecting = async move {
            let client = match tls {
                Tls::Off => {
                    let (client, conn) = config
                        .connect(NoTls)
                        .await
                        .map_err(|e| StoreError::CannotOpen(connect_error(&e)))?;
                    tokio::spawn(drive(conn, tx));
                    client
                }
                tls => {
                    let maker = tokio_postgres_rustls::MakeRustlsConnect::new(rustls_config(tls)?);
                    let (client, conn) = config
                        .connect(maker)
                        .await
                        .map_err(|e| StoreError::CannotOpen(connect_error(&e)))?;
                    tokio::spawn(drive(conn, tx));
                    client
                }
            };
            let mut setup = format!("SET statement_timeout = {STATEMENT_TIMEOUT_MS}; SET lock_timeout = {STATEMENT_TIMEOUT_MS};");
            if listening {
                setup.push_str(&format!("LISTEN {CHANNEL};"));
            }
            client.batch_execute(&setup).await.map_err(map_err)?;
            Ok(client)
        };
        let client = self
            .runtime
            .block_on(async { tokio::time::timeout(CONNECT_TIMEOUT, connecting).await })
            .map_err(|_| StoreError::Timeout(CONNECT_TIMEOUT.as_secs()))??;
        self.client = Some(Conn::new(client));
        Ok(())
    }

    /// The live client, reconnecting once when the last one died.
    fn live(&mut self) -> Result<Conn, StoreError> {
        if self.client.as_ref().is_none_or(|c| c.client.is_closed()) {
            self.connect()?;
        }
        self.client.take().ok_or_else(connection_lost)
    }

    /// Runs `f` on the live client, at most [`OPERATION_TIMEOUT`] long. Past it the
    /// client is dropped (a late answer must not be taken for a later call's).
    fn attempt<T>(&mut self, f: impl AsyncFnOnce(&mut Conn) -> T) -> Result<(T, Conn), StoreError> {
        let mut conn = self.live()?;
        let done = self
            .runtime
            .block_on(async { tokio::time::timeout(OPERATION_TIMEOUT, f(&mut conn)).await });
        done.map(|result| (result, conn)).map_err(|_| timed_out())
    }

    /// Runs statements that may be repeated safely (reads, idempotent writes); a
    /// connection that died under them is replaced and they run once more.
    pub fn run<T>(&mut self, f: impl AsyncFn(&Conn) -> PgResult<T>) -> Result<T, StoreError> {
        for attempt in 0..2 {
            let (result, conn) = self.attempt(async |c| f(&*c).await)?;
            match result {
                Err(e) if attempt == 0 && connection_gone(&e, &conn.client) => {}
                result => {
                    self.client = Some(conn);
                    return result.map_err(map_err);
                }
            }
        }
        Err(connection_lost())
    }

    /// Runs a transaction that must not run twice. `f`'s outer error is a failure
    /// after the transaction began (never repeated: the commit may or may not have
    /// happened); its inner one is a connection found dead before anything was
    /// written, which is replaced once.
    pub fn transact<T>(
        &mut self,
        f: impl AsyncFn(&mut Conn) -> Result<PgResult<T>, StoreError>,
    ) -> Result<T, StoreError> {
        for attempt in 0..2 {
            let (result, conn) = self.attempt(async |c| f(c).await)?;
            let gone = match &result {
                Ok(Err(e)) => connection_gone(e, &conn.client),
                _ => conn.client.is_closed(),
            };
            if !gone {
                self.client = Some(conn);
            }
            match result? {
                Ok(value) => return Ok(value),
                Err(_) if attempt == 0 && gone => {}
                Err(e) => return Err(map_err(e)),
            }
        }
        Err(connection_lost())
    }

    /// From now on (and after every reconnect) this connection LISTENs for commits.
    pub fn listen(&mut self) -> Result<(), StoreError> {
        self.listening = true;
        self.run(async |c| c.client.batch_execute(&format!("LISTEN {CHANNEL}")).await)
    }

    /// Waits up to `timeout` for a NOTIFY (or an interrupt); an error when the
    /// connection was lost meanwhile.
    pub fn wait_change(&mut self, timeout: Duration) -> Result<bool, StoreError> {
        self.client = Some(self.live()?);
        let mut rx = self.notified.take().ok_or_else(connection_lost)?;
        let got = self.runtime.block_on(async {
            match tokio::time::timeout(timeout, rx.recv()).await {
                Ok(_) => {
                    // Drain what else arrived: one round covers them all.
                    while rx.try_recv().is_ok() {}
                    true
                }
                Err(_) => false,
            }
        });
        self.notified = Some(rx);
        if self.client.as_ref().is_none_or(|c| c.client.is_closed()) {
            self.client = None;
            return Err(connection_lost());
        }
        Ok(got)
    }

    /// Ends a [`Connection::wait_change`] early, from any thread.
    pub fn interrupter(&self) -> Box<dyn Fn() + Send + Sync> {
        let tx = self.notify.clone();
        Box::new(move || {
            let _ = tx.send(());
        })
    }

    pub fn reconnect(&mut self) -> Result<(), StoreError> {
        self.connect()
    }
}
