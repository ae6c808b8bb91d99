//! The connection to the server and how calls use it. A client process holds one
//! connection per store: every Chat object of the process and its watcher share it
//! (calls are pipelined on it; the watcher LISTENs on it), so a server with the
//! default max_connections serves about ninety 1C clients. Around it: a runtime driven by
//! whichever thread waits on it (the watcher while it waits for NOTIFYs, keeping the
//! connection read between calls; a caller during its call), bounded waits (a silent
//! server must not hang 1C), prepared statements, one reconnect when the server
//! dropped the connection, and NOTIFYs turned into wake-ups.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use once_cell::sync::Lazy;
use tokio::runtime::Runtime;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::{AsyncMessage, Client, Config, NoTls, Row, Statement};

use super::config::{rustls_config, Tls};
use super::{CHANNEL, CONNECT_TIMEOUT, OPERATION_TIMEOUT};
use crate::store::notes::Inbox;
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
    if e.code() == Some(&SqlState::TOO_MANY_CONNECTIONS) {
        return StoreError::ServerFull;
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

/// Why a connection could not be made: the server full, or its words.
fn connect_failed(e: &tokio_postgres::Error) -> StoreError {
    if e.code() == Some(&SqlState::TOO_MANY_CONNECTIONS) {
        return StoreError::ServerFull;
    }
    StoreError::CannotOpen(connect_error(e))
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

/// Drives a connection, turning its NOTIFYs into wake-ups of every listener.
async fn drive<S, T>(mut conn: tokio_postgres::Connection<S, T>, listeners: Arc<Listeners>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    loop {
        match std::future::poll_fn(|cx| conn.poll_message(cx)).await {
            Some(Ok(AsyncMessage::Notification(n))) => {
                lock(&listeners.inbox).receive(n.payload());
                listeners.wake();
            }
            Some(Ok(_)) => {}
            Some(Err(_)) | None => {
                // Wake the waiting watchers: they find the connection closed and reconnect.
                listeners.wake();
                return;
            }
        }
    }
}

/// The watchers listening on a connection, one wake-up channel each, and what the
/// NOTIFYs said.
#[derive(Default)]
struct Listeners {
    woken: Mutex<Vec<UnboundedSender<()>>>,
    inbox: Mutex<Inbox>,
}

impl Listeners {
    fn wake(&self) {
        lock(&self.woken).retain(|tx| tx.send(()).is_ok());
    }
}

/// What every [`Connection`] to one store in this process shares.
struct Shared {
    config: Config,
    tls: Tls,
    /// Runs the connection's task (answers, NOTIFYs), see [`Shared::block_on`].
    runtime: Runtime,
    live: Mutex<Option<Arc<Conn>>>,
    listeners: Arc<Listeners>,
    /// Some watcher listens: every (re)connection LISTENs.
    listening: AtomicBool,
}

/// The shared connections of this process, by Store string (in memory only).
static SHARED: Lazy<Mutex<HashMap<String, Weak<Shared>>>> =
    Lazy::new(|| Mutex::new(HashMap::new()));

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Shared {
    /// The process's connection to `location`, made when none is alive.
    fn of(location: &str, config: Config, tls: Tls) -> Result<Arc<Shared>, StoreError> {
        let mut all = lock(&SHARED);
        all.retain(|_, shared| shared.strong_count() > 0);
        if let Some(shared) = all.get(location).and_then(Weak::upgrade) {
            return Ok(shared);
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()
            .map_err(|e| StoreError::Other(e.to_string()))?;
        let shared = Arc::new(Shared {
            config,
            tls,
            runtime,
            live: Mutex::new(None),
            listeners: Arc::default(),
            listening: AtomicBool::new(false),
        });
        all.insert(location.to_string(), Arc::downgrade(&shared));
        Ok(shared)
    }

    /// Runs `future` to its end on the runtime. It is a current-thread runtime with no
    /// thread of its own: whichever thread blocks on it drives the connection's task and
    /// the I/O and timer drivers, the others' futures are answered through it (tokio hands
    /// the drivers over when that call returns). The watcher waits for NOTIFYs this way,
    /// so a NOTIFY wakes one thread, which raises the events itself (a thread of the
    /// runtime's own cost a second wake-up per message); a call made while nobody waits
    /// drives its own answer.
    fn block_on<T>(&self, future: impl Future<Output = T>) -> T {
        // The scheduler's block_on is instantiated once, for a boxed future, not once per
        // caller's future type (30 KB of code in every binary).
        let mut output = None;
        let boxed: Pin<Box<dyn Future<Output = ()> + '_>> = Box::pin(async {
            output = Some(future.await);
        });
        self.runtime.block_on(boxed);
        match output {
            Some(value) => value,
            None => unreachable!("block_on returns once the future has completed"),
        }
    }

    /// The live connection, made (again) when there is none or it died.
    fn live(&self) -> Result<Arc<Conn>, StoreError> {
        let mut live = lock(&self.live);
        if let Some(conn) = live.as_ref().filter(|c| !c.client.is_closed()) {
            return Ok(conn.clone());
        }
        *live = None;
        let conn = Arc::new(Conn::new(self.connect()?));
        *live = Some(conn.clone());
        Ok(conn)
    }

    /// Drops `conn` when it is the live one (it timed out or died): the next call
    /// connects anew.
    fn forget(&self, conn: &Arc<Conn>) {
        let mut live = lock(&self.live);
        if live.as_ref().is_some_and(|l| Arc::ptr_eq(l, conn)) {
            *live = None;
        }
    }

    /// A new client, its connection's task spawned on the runtime.
    fn connect(&self) -> Result<Client, StoreError> {
        let (config, tls) = (self.config.clone(), self.tls);
        let listening = self.listening.load(Ordering::SeqCst);
        let listeners = self.listeners.clone();
        let driven = self.listeners.clone();
        let connecting = async move {
            let client = match tls {
                Tls::Off => {
                    let (client, conn) = config
                        .connect(NoTls)
                        .await
                        .map_err(|e| connect_failed(&e))?;
                    tokio::spawn(drive(conn, driven.clone()));
                    client
                }
                tls => {
                    let maker = super::tls::MakeRustlsConnect::new(rustls_config(tls)?);
                    let (client, conn) = config
                        .connect(maker)
                        .await
                        .map_err(|e| connect_failed(&e))?;
                    tokio::spawn(drive(conn, driven.clone()));
                    client
                }
            };
            let mut setup = format!("SET statement_timeout = {STATEMENT_TIMEOUT_MS}; SET lock_timeout = {STATEMENT_TIMEOUT_MS};");
            if listening {
                setup.push_str(&format!("LISTEN {CHANNEL};"));
            }
            client.batch_execute(&setup).await.map_err(map_err)?;
            if listening {
                // Notes may have been missed between the connections.
                lock(&listeners.inbox).epoch += 1;
            }
            Ok(client)
        };
        self.block_on(async { tokio::time::timeout(CONNECT_TIMEOUT, connecting).await })
            .map_err(|_| StoreError::Timeout(CONNECT_TIMEOUT.as_secs()))?
    }
}

/// A store value's handle on the process's connection (a Chat object's, or a watcher's).
pub struct Connection {
    shared: Arc<Shared>,
    /// This handle's wake-ups: NOTIFYs once it listens (a watcher), and interrupts.
    notified: Option<UnboundedReceiver<()>>,
    notify: UnboundedSender<()>,
    listening: bool,
}

impl Connection {
    /// The connection to `location` (the Store string, a key in memory only).
    pub fn open(location: &str, config: Config, tls: Tls) -> Result<Connection, StoreError> {
        let shared = Shared::of(location, config, tls)?;
        shared.live()?;
        let (notify, notified) = unbounded_channel();
        Ok(Connection {
            shared,
            notified: Some(notified),
            notify,
            listening: false,
        })
    }

    /// Runs `f` on the live connection, at most [`OPERATION_TIMEOUT`] long. Past it the
    /// connection is given up (a silent server), so the next call connects anew.
    fn attempt<T>(&self, f: impl AsyncFnOnce(&Conn) -> T) -> Result<(T, Arc<Conn>), StoreError> {
        let conn = self.shared.live()?;
        let done = self
            .shared
            .block_on(async { tokio::time::timeout(OPERATION_TIMEOUT, f(&conn)).await });
        match done {
            Ok(result) => Ok((result, conn)),
            Err(_) => {
                self.shared.forget(&conn);
                Err(timed_out())
            }
        }
    }

    /// Runs statements that may be repeated safely (reads, idempotent writes); a
    /// connection that died under them is replaced and they run once more.
    pub fn run<T>(&self, f: impl AsyncFn(&Conn) -> PgResult<T>) -> Result<T, StoreError> {
        for attempt in 0..2 {
            let (result, conn) = self.attempt(async |c| f(c).await)?;
            match result {
                Err(e) if attempt == 0 && connection_gone(&e, &conn.client) => {
                    self.shared.forget(&conn);
                }
                result => return result.map_err(map_err),
            }
        }
        Err(connection_lost())
    }

    /// Runs a statement that must not run twice. `f`'s outer error is a failure after
    /// it was sent (never repeated: it may or may not have committed); its inner one is
    /// a connection found dead before anything was sent, which is replaced once.
    pub fn once<T>(
        &self,
        f: impl AsyncFn(&Conn) -> Result<PgResult<T>, StoreError>,
    ) -> Result<T, StoreError> {
        for attempt in 0..2 {
            let (result, conn) = self.attempt(async |c| f(c).await)?;
            let gone = match &result {
                Ok(Err(e)) => connection_gone(e, &conn.client),
                _ => conn.client.is_closed(),
            };
            if gone {
                self.shared.forget(&conn);
            }
            match result? {
                Ok(value) => return Ok(value),
                Err(_) if attempt == 0 && gone => {}
                Err(e) => return Err(map_err(e)),
            }
        }
        Err(connection_lost())
    }

    /// Runs `f` on a connection of its own, for a transaction (the shared one carries
    /// other objects' calls between its statements); closed afterwards.
    pub fn alone<T>(
        &self,
        f: impl AsyncFnOnce(&mut Client) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut client = self.shared.connect()?;
        self.shared
            .block_on(async { tokio::time::timeout(OPERATION_TIMEOUT, f(&mut client)).await })
            .map_err(|_| timed_out())?
    }

    /// From now on (and after every reconnect) the connection LISTENs for commits, and
    /// this handle is woken by each.
    pub fn listen(&mut self) -> Result<(), StoreError> {
        if !self.listening {
            lock(&self.shared.listeners.woken).push(self.notify.clone());
            self.listening = true;
        }
        self.shared.listening.store(true, Ordering::SeqCst);
        self.run(async |c| c.client.batch_execute(&format!("LISTEN {CHANNEL}")).await)
    }

    /// Waits up to `timeout` for a NOTIFY (or an interrupt); an error when the
    /// connection was lost meanwhile.
    pub fn wait_change(&mut self, timeout: Duration) -> Result<bool, StoreError> {
        let conn = self.shared.live()?;
        let mut rx = self.notified.take().ok_or_else(connection_lost)?;
        let got = self.shared.block_on(async {
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
        if conn.client.is_closed() {
            self.shared.forget(&conn);
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

    /// What the NOTIFYs said (filled once some handle listens).
    pub fn inbox(&self) -> std::sync::MutexGuard<'_, Inbox> {
        lock(&self.shared.listeners.inbox)
    }

    pub fn reconnect(&mut self) -> Result<(), StoreError> {
        self.shared.live().map(|_| ())
    }
}
