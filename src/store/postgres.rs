//! The PostgreSQL store, for installations whose 1C clients run on many machines.
//! Same register and rules as SQLite, in its own schema `chat1c`; every insert
//! NOTIFYs (a trigger, so other writers are seen too) and the watcher LISTENs.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::runtime::Runtime;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::{AsyncMessage, Client, Config, NoTls, Statement};

use super::{Store, StoreError, WatchPlan};
use crate::chat::{Group, Message, NewMessage};

/// Bounds on how long a call may block 1C's thread (documented in README.md):
/// connecting (TCP, TLS and login) and each operation, enforced on the client side
/// so an unreachable or silent server cannot hang 1C.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(10);
const STATEMENT_TIMEOUT_MS: u32 = 10_000;
/// The watcher's safety-net poll (notifications carry the fast path).
const POLL: Duration = Duration::from_secs(2);
const CHANNEL: &str = "chat1c_new";
/// Serialises message inserts so ids commit in order: a cursor never skips a
/// message that commits late with a smaller id.
const SEND_LOCK: i64 = 0x0C4A_7100;
const SCHEMA_LOCK: i64 = 0x0C4A_7101;

const SCHEMA: &str = "
CREATE SCHEMA IF NOT EXISTS chat1c;
CREATE TABLE IF NOT EXISTS chat1c.groups(
    id BIGSERIAL PRIMARY KEY,
    topic TEXT NOT NULL,
    members_key TEXT NOT NULL,
    participants TEXT NOT NULL,
    is_public BOOLEAN NOT NULL,
    UNIQUE(topic, members_key));
CREATE INDEX IF NOT EXISTS groups_public ON chat1c.groups(is_public);
CREATE TABLE IF NOT EXISTS chat1c.members(
    user_key TEXT NOT NULL,
    group_id BIGINT NOT NULL,
    PRIMARY KEY(user_key, group_id));
CREATE TABLE IF NOT EXISTS chat1c.register(
    id BIGSERIAL PRIMARY KEY,
    group_id BIGINT NOT NULL,
    period BIGINT NOT NULL,
    publisher TEXT NOT NULL,
    publisher_key TEXT NOT NULL,
    participants TEXT NOT NULL,
    topic TEXT NOT NULL,
    message TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS register_group ON chat1c.register(group_id, id, publisher_key);
CREATE TABLE IF NOT EXISTS chat1c.reads(
    user_key TEXT NOT NULL,
    group_id BIGINT NOT NULL,
    up_to BIGINT NOT NULL,
    PRIMARY KEY(user_key, group_id));
CREATE OR REPLACE FUNCTION chat1c.notify_new() RETURNS trigger LANGUAGE plpgsql AS
    $$ BEGIN PERFORM pg_notify('chat1c_new', ''); RETURN NULL; END $$;
DROP TRIGGER IF EXISTS register_notify ON chat1c.register;
CREATE TRIGGER register_notify AFTER INSERT ON chat1c.register
    FOR EACH STATEMENT EXECUTE PROCEDURE chat1c.notify_new();
";

/// True when a Store string names a PostgreSQL server rather than a file.
pub fn is_postgres(location: &str) -> bool {
    let l = location.trim_start();
    let lower = l.to_ascii_lowercase();
    if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
        return true;
    }
    // key=value form: every word has '=' and a libpq key we know comes first.
    let first = lower.split_whitespace().next().unwrap_or("");
    ["host=", "hostaddr=", "dbname=", "user=", "port="]
        .iter()
        .any(|k| first.starts_with(k))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Tls {
    Off,
    /// Encrypt without checking the certificate (libpq's `require` / `prefer`).
    Encrypt,
    /// Encrypt and verify the server against the Mozilla roots (`verify-ca`, `verify-full`).
    Verify,
}

pub struct PgStore {
    config: Config,
    tls: Tls,
    runtime: Runtime,
    client: Option<Conn>,
    /// One unit per NOTIFY, per lost connection, or per interrupt by the watcher's owner.
    notified: Option<UnboundedReceiver<()>>,
    notify: UnboundedSender<()>,
    location: String,
    listening: bool,
}

/// A connection and its prepared statements: the server parses and plans each SQL
/// text once per connection, so a statement costs one round trip instead of two.
struct Conn {
    client: Client,
    statements: Mutex<HashMap<&'static str, Statement>>,
}

type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

impl Conn {
    fn new(client: Client) -> Conn {
        Conn {
            client,
            statements: Mutex::new(HashMap::new()),
        }
    }

    async fn prepared(&self, sql: &'static str) -> Result<Statement, tokio_postgres::Error> {
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

    async fn query(
        &self,
        sql: &'static str,
        params: Params<'_>,
    ) -> Result<Vec<tokio_postgres::Row>, tokio_postgres::Error> {
        let statement = self.prepared(sql).await?;
        self.client.query(&statement, params).await
    }

    async fn query_one(
        &self,
        sql: &'static str,
        params: Params<'_>,
    ) -> Result<tokio_postgres::Row, tokio_postgres::Error> {
        let statement = self.prepared(sql).await?;
        self.client.query_one(&statement, params).await
    }

    async fn query_opt(
        &self,
        sql: &'static str,
        params: Params<'_>,
    ) -> Result<Option<tokio_postgres::Row>, tokio_postgres::Error> {
        let statement = self.prepared(sql).await?;
        self.client.query_opt(&statement, params).await
    }

    async fn execute(
        &self,
        sql: &'static str,
        params: Params<'_>,
    ) -> Result<u64, tokio_postgres::Error> {
        let statement = self.prepared(sql).await?;
        self.client.execute(&statement, params).await
    }
}

fn map_err(e: tokio_postgres::Error) -> StoreError {
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
        return StoreError::Other("the connection to PostgreSQL was lost".into());
    }
    StoreError::Other(e.to_string())
}

/// libpq's sslmode values that tokio-postgres does not parse are mapped here.
fn parse(location: &str) -> Result<(Config, Tls), StoreError> {
    let mut text = location.trim().to_string();
    let mut tls = None;
    for mode in ["verify-full", "verify-ca"] {
        let needle = format!("sslmode={mode}");
        if text.contains(&needle) {
            text = text.replace(&needle, "sslmode=require");
            tls = Some(Tls::Verify);
        }
    }
    let mut config: Config = text.parse().map_err(|e: tokio_postgres::Error| {
        StoreError::CannotOpen(format!("invalid connection string: {e}"))
    })?;
    let tls = tls.unwrap_or(match config.get_ssl_mode() {
        tokio_postgres::config::SslMode::Disable => Tls::Off,
        _ => Tls::Encrypt,
    });
    config
        .connect_timeout(CONNECT_TIMEOUT)
        .keepalives(true)
        .keepalives_idle(Duration::from_secs(10))
        .tcp_user_timeout(Duration::from_secs(15));
    if config.get_application_name().is_none() {
        config.application_name("chat1c");
    }
    Ok((config, tls))
}

/// A connection string as texts show it (see [`display`]); unparsable ones are not echoed.
pub fn shown(location: &str) -> String {
    parse(location).map_or_else(
        |_| "postgresql://(invalid connection string)".into(),
        |(c, _)| display(&c),
    )
}

/// What the Store property shows: the server and database, never the password.
fn display(config: &Config) -> String {
    let host = match config.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
        #[cfg(unix)]
        Some(tokio_postgres::config::Host::Unix(p)) => p.display().to_string(),
        None => "localhost".into(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let user = config
        .get_user()
        .map(|u| format!("{u}@"))
        .unwrap_or_default();
    let db = config.get_dbname().unwrap_or("");
    format!("postgresql://{user}{host}:{port}/{db}")
}

fn rustls_config(tls: Tls) -> Result<rustls::ClientConfig, StoreError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| StoreError::CannotOpen(e.to_string()))?;
    let config = if tls == Tls::Verify {
        let roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        builder.with_root_certificates(roots).with_no_client_auth()
    } else {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerify(provider)))
            .with_no_client_auth()
    };
    Ok(config)
}

/// libpq's `require`: the channel is encrypted, the certificate is not checked.
#[derive(Debug)]
struct NoVerify(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for NoVerify {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// Drives a connection, turning its NOTIFYs into wake-ups.
async fn drive<S, T>(
    mut conn: tokio_postgres::Connection<S, T>,
    notify: tokio::sync::mpsc::UnboundedSender<()>,
) where
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

fn lost() -> StoreError {
    StoreError::Timeout(OPERATION_TIMEOUT.as_secs())
}

impl PgStore {
    pub fn open(location: &str) -> Result<(PgStore, WatchPlan), StoreError> {
        let (config, tls) = parse(location)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()
            .map_err(|e| StoreError::Other(e.to_string()))?;
        let (notify, notified) = unbounded_channel();
        let mut store = PgStore {
            location: display(&config),
            config,
            tls,
            runtime,
            client: None,
            notified: Some(notified),
            notify,
            listening: false,
        };
        store.connect()?;
        store.ensure_schema()?;
        Ok((
            store,
            WatchPlan {
                dir: None,
                poll: POLL,
            },
        ))
    }

    /// Runs a future on this connection's runtime, at most `limit` long; past it the
    /// connection is dropped (a late answer must not be taken for a later call's).
    fn block<T>(
        &mut self,
        limit: Duration,
        f: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        match self
            .runtime
            .block_on(async { tokio::time::timeout(limit, f).await })
        {
            Ok(result) => result,
            Err(_) => {
                self.client = None;
                Err(lost())
            }
        }
    }

    fn connect(&mut self) -> Result<&Conn, StoreError> {
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
        let timed_out = || StoreError::Timeout(CONNECT_TIMEOUT.as_secs());
        let client = match self
            .runtime
            .block_on(async { tokio::time::timeout(CONNECT_TIMEOUT, connecting).await })
        {
            Ok(r) => r?,
            Err(_) => return Err(timed_out()),
        };
        Ok(self.client.insert(Conn::new(client)))
    }

    fn ensure_schema(&mut self) -> Result<(), StoreError> {
        let Some(mut conn) = self.client.take() else {
            return Err(lost());
        };
        let result = self.block(OPERATION_TIMEOUT, async {
            let client = &mut conn.client;
            let present: bool = client
                .query_one("SELECT to_regclass('chat1c.reads') IS NOT NULL", &[])
                .await
                .map_err(map_err)?
                .get(0);
            if present {
                return Ok(());
            }
            // First use: create under a lock so two clients starting together do not collide.
            let tx = client.transaction().await.map_err(map_err)?;
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&SCHEMA_LOCK]).await.map_err(map_err)?;
            tx.batch_execute(SCHEMA).await.map_err(|e| match e.code() {
                Some(c) if *c == SqlState::INSUFFICIENT_PRIVILEGE => StoreError::CannotOpen(
                    "the schema chat1c does not exist and this user may not create it (see README: grants)".into(),
                ),
                _ => map_err(e),
            })?;
            tx.commit().await.map_err(map_err)
        });
        self.client = Some(conn);
        result
    }

    /// The live client, reconnecting once when the last one died.
    fn live(&mut self) -> Result<(), StoreError> {
        if self.client.as_ref().is_none_or(|c| c.client.is_closed()) {
            self.connect()?;
        }
        Ok(())
    }

    /// Runs a read; a connection that died under it is replaced and the read retried once.
    fn read<T>(
        &mut self,
        f: impl AsyncFn(&Conn) -> Result<T, tokio_postgres::Error>,
    ) -> Result<T, StoreError> {
        self.live()?;
        for attempt in 0..2 {
            let Some(client) = self.client.take() else {
                return Err(lost());
            };
            let result = self
                .runtime
                .block_on(async { tokio::time::timeout(OPERATION_TIMEOUT, f(&client)).await });
            match result {
                Err(_) => return Err(lost()),
                Ok(Err(e)) if attempt == 0 && connection_gone(&e, &client.client) => {
                    self.connect()?;
                }
                Ok(r) => {
                    self.client = Some(client);
                    return r.map_err(map_err);
                }
            }
        }
        Err(lost())
    }

    fn page(
        &mut self,
        user_key: &str,
        group: i64,
        sql: &'static str,
        bound: i64,
        limit: i64,
    ) -> Result<Vec<Message>, StoreError> {
        let found = self.read(async |c| {
            if !visible(c, user_key, group).await? {
                return Ok(None);
            }
            let rows = c.query(sql, &[&group, &bound, &limit]).await?;
            Ok(Some(rows.iter().map(row_to_message).collect::<Vec<_>>()))
        })?;
        let mut list = found.ok_or(StoreError::UnknownGroup(group))?;
        list.sort_by_key(|m| m.id);
        Ok(list)
    }
}

async fn visible(client: &Conn, user_key: &str, group: i64) -> Result<bool, tokio_postgres::Error> {
    Ok(client
        .query_opt(
            "SELECT is_public OR EXISTS(SELECT 1 FROM chat1c.members WHERE user_key = $1 AND group_id = g.id)
               FROM chat1c.groups g WHERE id = $2",
            &[&user_key, &group],
        )
        .await?
        .is_some_and(|r| r.get::<_, bool>(0)))
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

fn row_to_message(r: &tokio_postgres::Row) -> Message {
    Message {
        id: r.get(0),
        group: r.get(1),
        period: r.get(2),
        publisher: r.get(3),
        text: r.get(4),
    }
}

/// The statements of [`insert`], in the order it takes them.
const INSERT_SQL: [&str; 5] = [
    "SELECT pg_advisory_xact_lock($1)",
    "SELECT id FROM chat1c.groups WHERE topic = $1 AND members_key = $2",
    "INSERT INTO chat1c.groups(topic, members_key, participants, is_public)
     VALUES ($1, $2, $3, $4) RETURNING id",
    "INSERT INTO chat1c.members(user_key, group_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
    "INSERT INTO chat1c.register(group_id, period, publisher, publisher_key, participants, topic, message)
     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
];

/// A message's derived columns, computed once for every attempt.
struct Row {
    key: String,
    participants: String,
    publisher_key: String,
    period: i64,
}

/// Writes one message in one transaction. The outer error is a failure after the
/// transaction began (never retried: the commit may or may not have happened); the
/// inner one is a connection that was already dead when it began.
async fn insert(
    conn: &mut Conn,
    m: &NewMessage,
    row: &Row,
) -> Result<Result<Message, tokio_postgres::Error>, StoreError> {
    // Prepared before the transaction begins: a connection found dead here may be
    // replaced and the send retried, as nothing was written.
    let mut statements = Vec::with_capacity(INSERT_SQL.len());
    for sql in INSERT_SQL {
        match conn.prepared(sql).await {
            Ok(s) => statements.push(s),
            Err(e) => return Ok(Err(e)),
        }
    }
    let [lock, find, add_group, add_member, add_message] = &statements[..] else {
        return Err(StoreError::Other("statements not prepared".into()));
    };
    let tx = match conn.client.transaction().await {
        Ok(tx) => tx,
        Err(e) => return Ok(Err(e)),
    };
    if let Err(e) = tx.execute(lock, &[&SEND_LOCK]).await {
        return Ok(Err(e));
    }
    let existing = tx
        .query_opt(find, &[&m.topic, &row.key])
        .await
        .map_err(map_err)?;
    let group: i64 = match existing {
        Some(r) => r.get(0),
        None => {
            let id: i64 = tx
                .query_one(
                    add_group,
                    &[&m.topic, &row.key, &row.participants, &row.key.is_empty()],
                )
                .await
                .map_err(map_err)?
                .get(0);
            for p in &m.participants {
                tx.execute(add_member, &[&crate::chat::user_key(p), &id])
                    .await
                    .map_err(map_err)?;
            }
            id
        }
    };
    let id: i64 = tx
        .query_one(
            add_message,
            &[
                &group,
                &row.period,
                &m.publisher,
                &row.publisher_key,
                &row.participants,
                &m.topic,
                &m.text,
            ],
        )
        .await
        .map_err(map_err)?
        .get(0);
    tx.commit().await.map_err(map_err)?;
    Ok(Ok(Message {
        id,
        group,
        period: row.period,
        publisher: m.publisher.clone(),
        text: m.text.clone(),
    }))
}

impl Store for PgStore {
    fn location(&self) -> &str {
        &self.location
    }

    fn groups(&mut self, user_key: &str) -> Result<Vec<Group>, StoreError> {
        self.read(async |c| {
            let rows = c
                .query(
                    "WITH visible AS (
                        SELECT id, topic, participants FROM chat1c.groups WHERE is_public
                        UNION ALL
                        SELECT g.id, g.topic, g.participants
                          FROM chat1c.members m JOIN chat1c.groups g ON g.id = m.group_id
                         WHERE m.user_key = $1 AND NOT g.is_public)
                     SELECT v.id, v.topic, v.participants,
                            (SELECT count(*) FROM chat1c.register c
                              WHERE c.group_id = v.id AND c.publisher_key <> $1
                                AND c.id > coalesce(rd.up_to, 0)),
                            r.id, r.group_id, r.period, r.publisher, r.message
                       FROM visible v
                       LEFT JOIN chat1c.reads rd ON rd.user_key = $1 AND rd.group_id = v.id
                       -- The newest message of each group: one backward seek in register_group.
                       LEFT JOIN LATERAL (
                            SELECT id, group_id, period, publisher, message FROM chat1c.register
                             WHERE group_id = v.id ORDER BY id DESC LIMIT 1) r ON true
                      ORDER BY coalesce(r.id, 0) DESC, v.id DESC",
                    &[&user_key],
                )
                .await?;
            Ok(rows
                .iter()
                .map(|r| Group {
                    id: r.get(0),
                    topic: r.get(1),
                    participants: serde_json::from_str(r.get::<_, &str>(2)).unwrap_or_default(),
                    unread: r.get(3),
                    last: r.get::<_, Option<i64>>(4).map(|id| Message {
                        id,
                        group: r.get(5),
                        period: r.get(6),
                        publisher: r.get(7),
                        text: r.get(8),
                    }),
                })
                .collect())
        })
    }

    fn messages(
        &mut self,
        user_key: &str,
        group: i64,
        after: i64,
        limit: i64,
    ) -> Result<Vec<Message>, StoreError> {
        if after <= 0 {
            self.page(
                user_key,
                group,
                "SELECT id, group_id, period, publisher, message FROM chat1c.register
                  WHERE group_id = $1 AND id > $2 ORDER BY id DESC LIMIT $3",
                0,
                limit,
            )
        } else {
            self.page(
                user_key,
                group,
                "SELECT id, group_id, period, publisher, message FROM chat1c.register
                  WHERE group_id = $1 AND id > $2 ORDER BY id ASC LIMIT $3",
                after,
                limit,
            )
        }
    }

    fn history(
        &mut self,
        user_key: &str,
        group: i64,
        before: i64,
        limit: i64,
    ) -> Result<Vec<Message>, StoreError> {
        self.page(
            user_key,
            group,
            "SELECT id, group_id, period, publisher, message FROM chat1c.register
              WHERE group_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3",
            before,
            limit,
        )
    }

    fn send(&mut self, m: &NewMessage, period: i64) -> Result<Message, StoreError> {
        let row = Row {
            key: super::members_key(&m.participants),
            participants: serde_json::to_string(&m.participants)
                .map_err(|e| StoreError::Other(e.to_string()))?,
            publisher_key: crate::chat::user_key(&m.publisher),
            period,
        };
        for attempt in 0..2 {
            self.live()?;
            let Some(mut conn) = self.client.take() else {
                return Err(lost());
            };
            let result = self.block(OPERATION_TIMEOUT, insert(&mut conn, m, &row));
            let gone = match &result {
                Ok(Err(e)) => connection_gone(e, &conn.client),
                _ => conn.client.is_closed(),
            };
            if !gone {
                self.client = Some(conn);
            }
            match result? {
                Ok(message) => return Ok(message),
                // Nothing was written yet: a connection found dead is replaced once.
                Err(_) if attempt == 0 && gone => {}
                Err(e) => return Err(map_err(e)),
            }
        }
        Err(lost())
    }

    fn mark_read(&mut self, user_key: &str, group: i64, up_to: i64) -> Result<(), StoreError> {
        let up_to = up_to.max(0);
        let visible = self.read(async |c| {
            if !visible(c, user_key, group).await? {
                return Ok(false);
            }
            c.execute(
                "INSERT INTO chat1c.reads(user_key, group_id, up_to)
                 SELECT $1, $2, LEAST($3, coalesce(max(id), 0)) FROM chat1c.register WHERE group_id = $2
                 ON CONFLICT (user_key, group_id) DO UPDATE SET up_to = GREATEST(chat1c.reads.up_to, excluded.up_to)",
                &[&user_key, &group, &up_to],
            )
            .await?;
            Ok(true)
        })?;
        if visible {
            Ok(())
        } else {
            Err(StoreError::UnknownGroup(group))
        }
    }

    fn latest_id(&mut self) -> Result<i64, StoreError> {
        self.read(async |c| {
            Ok(
                c.query_one("SELECT coalesce(max(id), 0) FROM chat1c.register", &[])
                    .await?
                    .get(0),
            )
        })
    }

    fn visible_news(
        &mut self,
        user_key: &str,
        after: i64,
        up_to: i64,
    ) -> Result<Vec<(i64, i64)>, StoreError> {
        let rows = self.read(async |c| {
            c.query(
                "SELECT r.group_id, max(r.id) FROM chat1c.register r JOIN chat1c.groups g ON g.id = r.group_id
                  WHERE r.id > $2 AND r.id <= $3
                    AND (g.is_public OR EXISTS(SELECT 1 FROM chat1c.members m
                                                WHERE m.user_key = $1 AND m.group_id = r.group_id))
                  GROUP BY r.group_id ORDER BY r.group_id",
                &[&user_key, &after, &up_to],
            )
            .await
        })?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    fn change_token(&mut self) -> Result<i64, StoreError> {
        self.latest_id()
    }

    fn listen(&mut self) -> Result<bool, StoreError> {
        self.listening = true;
        self.read(async |c| c.client.batch_execute(&format!("LISTEN {CHANNEL}")).await)?;
        Ok(true)
    }

    fn wait_change(&mut self, timeout: Duration) -> Result<bool, StoreError> {
        self.live()?;
        let Some(mut rx) = self.notified.take() else {
            return Err(lost());
        };
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
            return Err(StoreError::Other(
                "the connection to PostgreSQL was lost".into(),
            ));
        }
        Ok(got)
    }

    fn interrupter(&self) -> Option<Box<dyn Fn() + Send + Sync>> {
        let tx = self.notify.clone();
        Some(Box::new(move || {
            let _ = tx.send(());
        }))
    }

    fn reconnect(&mut self) -> Result<(), StoreError> {
        self.connect().map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_connection_strings() {
        assert!(is_postgres("postgresql://u:p@db/chat"));
        assert!(is_postgres("postgres://db"));
        assert!(is_postgres(
            "host=db dbname=chat user=u password=secret sslmode=require"
        ));
        assert!(!is_postgres("/var/tmp/chat1c/chat.sqlite"));
        assert!(!is_postgres("C:\\chat\\host=x.sqlite"));
        assert!(!is_postgres(""));
    }

    #[test]
    fn the_shown_location_has_no_password() {
        let (c, tls) =
            parse("postgresql://ann:s3cret@db.local:6432/chat?sslmode=verify-full").unwrap();
        assert_eq!(display(&c), "postgresql://ann@db.local:6432/chat");
        assert!(tls == Tls::Verify);
        let (c, tls) = parse("host=h dbname=d user=u password=s3cret sslmode=disable").unwrap();
        assert_eq!(display(&c), "postgresql://u@h:5432/d");
        assert!(tls == Tls::Off);
        assert!(parse("host=h sslmode=bogus").is_err());
    }
}
