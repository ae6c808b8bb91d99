//! The PostgreSQL store, for installations whose 1C clients run on many machines.
//! Same register and rules as SQLite, in its own schema `chat1c`; every change
//! NOTIFYs (a trigger, so other writers are seen too) and the watcher LISTENs.
//! This file holds the queries; `config` the Store string and TLS, `conn` the
//! connection and its retries, `schema` the schema's history.

mod config;
mod conn;
mod schema;

use std::time::Duration;

use super::shape::{self, message_columns, Columns, SendRow};
use super::{Changes, Feed, GroupChanges, Messages, Page, Sent, Store, StoreError, WatchPlan};
use crate::chat::{Group, NewMessage};
use conn::{map_err, Conn, Connection, PgResult};

pub use config::{is_postgres, shown};
#[cfg(test)]
pub(super) use schema::HISTORY;

/// Bounds on how long a call may block 1C's thread (documented in README.md):
/// connecting (TCP, TLS and login) and each operation, enforced on the client side
/// so an unreachable or silent server cannot hang 1C.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(10);
/// The watcher's safety-net poll (notifications carry the fast path).
const POLL: Duration = Duration::from_secs(2);
const CHANNEL: &str = "chat1c_new";
/// Serialises changes so revisions commit in order: a watcher's cursor never skips
/// a change that commits late with a smaller revision.
const CHANGE_LOCK: i64 = 0x0C4A_7100;

pub struct PgStore {
    conn: Connection,
    location: String,
}

shape::columns_by!(tokio_postgres::Row, try_get);

impl PgStore {
    pub fn open(location: &str) -> Result<(PgStore, WatchPlan), StoreError> {
        let (config, tls) = config::parse(location)?;
        let location = config::display(&config);
        let mut conn = Connection::open(config, tls)?;
        schema::upgrade(&mut conn)?;
        let plan = WatchPlan {
            dir: None,
            poll: POLL,
        };
        Ok((PgStore { conn, location }, plan))
    }
}

async fn visible(c: &Conn, user_key: &str, group: i64) -> PgResult<Option<bool>> {
    Ok(c.query_opt(
        "SELECT is_public OR EXISTS(SELECT 1 FROM chat1c.members WHERE user_key = $1 AND group_id = g.id)
           FROM chat1c.groups g WHERE id = $2",
        &[&user_key, &group],
    )
    .await?
    .map(|r| r.get::<_, bool>(0)))
}

shape::page_queries!("chat1c.register", "$1", "$2", "$3");

const GROUPS_SQL: &str = concat!(
    "WITH visible AS (
        SELECT id, topic, participants FROM chat1c.groups WHERE is_public
        UNION ALL
        SELECT g.id, g.topic, g.participants
          FROM chat1c.members m JOIN chat1c.groups g ON g.id = m.group_id
         WHERE m.user_key = $1 AND NOT g.is_public)
     SELECT v.id, v.topic, v.participants,
            (SELECT count(*) FROM chat1c.register c
              WHERE c.group_id = v.id AND c.publisher_key <> $1
                AND c.id > coalesce(rd.up_to, 0)), ",
    message_columns!(),
    " FROM visible v
       LEFT JOIN chat1c.reads rd ON rd.user_key = $1 AND rd.group_id = v.id
       -- The newest message of each group: one backward seek in register_group.
       LEFT JOIN LATERAL (
            SELECT * FROM chat1c.register
             WHERE group_id = v.id ORDER BY id DESC LIMIT 1) r ON true
      ORDER BY coalesce(r.id, 0) DESC, v.id DESC"
);

/// The statements of [`insert`], in the order it takes them.
const INSERT_SQL: [&str; 5] = [
    "SELECT pg_advisory_xact_lock($1)",
    "SELECT id FROM chat1c.groups WHERE topic = $1 AND members_key = $2",
    "INSERT INTO chat1c.groups(topic, members_key, participants, is_public)
     VALUES ($1, $2, $3, $4) RETURNING id",
    "INSERT INTO chat1c.members(user_key, group_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
    // The change lock is held: the next revision is the newest plus one.
    "INSERT INTO chat1c.register(group_id, period, publisher, publisher_key, participants, topic, message, rev)
     VALUES ($1, $2, $3, $4, $5, $6, $7, (SELECT coalesce(max(rev), 0) + 1 FROM chat1c.register))
     RETURNING id, rev",
];

/// Writes one message in one transaction (see [`Connection::transact`] for the errors).
async fn insert(conn: &mut Conn, row: &SendRow<'_>) -> Result<PgResult<Sent>, StoreError> {
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
    let m = row.message;
    let tx = match conn.client.transaction().await {
        Ok(tx) => tx,
        Err(e) => return Ok(Err(e)),
    };
    if let Err(e) = tx.execute(lock, &[&CHANGE_LOCK]).await {
        return Ok(Err(e));
    }
    let existing = tx
        .query_opt(find, &[&m.topic, &row.members_key])
        .await
        .map_err(map_err)?;
    let group: i64 = match existing {
        Some(r) => r.get(0),
        None => {
            let params: [&(dyn tokio_postgres::types::ToSql + Sync); 4] = [
                &m.topic,
                &row.members_key,
                &row.participants,
                &row.is_public(),
            ];
            let id: i64 = tx
                .query_one(add_group, &params)
                .await
                .map_err(map_err)?
                .get(0);
            for key in row.member_keys() {
                tx.execute(add_member, &[&key, &id])
                    .await
                    .map_err(map_err)?;
            }
            id
        }
    };
    let added = tx
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
        .map_err(map_err)?;
    tx.commit().await.map_err(map_err)?;
    Ok(Ok(Sent {
        id: added.get(0),
        group,
        rev: added.get(1),
    }))
}

impl Store for PgStore {
    fn location(&self) -> &str {
        &self.location
    }

    fn groups(&mut self, user_key: &str) -> Result<Vec<Group>, StoreError> {
        let rows = self
            .conn
            .run(async |c| c.query(GROUPS_SQL, &[&user_key]).await)?;
        rows.iter().map(shape::group).collect()
    }

    fn messages(&mut self, user_key: &str, group: i64, page: Page, limit: i64) -> Messages {
        let (found, rows) = self.conn.run(async |c| {
            let found = visible(c, user_key, group).await?;
            if found != Some(true) {
                return Ok((found, Vec::new()));
            }
            let rows = c
                .query(page_sql(page), &[&group, &page.bound(), &limit])
                .await?;
            Ok((found, rows))
        })?;
        shape::visible(found, group)?;
        let list = rows
            .iter()
            .map(|r| shape::message(r, 0))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(shape::ascending(list))
    }

    fn send(&mut self, m: &NewMessage, period: i64) -> Result<Sent, StoreError> {
        let row = SendRow::new(m, period)?;
        self.conn.transact(async |c| insert(c, &row).await)
    }

    fn mark_read(&mut self, user_key: &str, group: i64, up_to: i64) -> Result<(), StoreError> {
        let up_to = up_to.max(0);
        let found = self.conn.run(async |c| {
            let found = visible(c, user_key, group).await?;
            if found == Some(true) {
                c.execute(
                    "INSERT INTO chat1c.reads(user_key, group_id, up_to)
                     SELECT $1, $2, LEAST($3, coalesce(max(id), 0)) FROM chat1c.register WHERE group_id = $2
                     ON CONFLICT (user_key, group_id) DO UPDATE SET up_to = GREATEST(chat1c.reads.up_to, excluded.up_to)",
                    &[&user_key, &group, &up_to],
                )
                .await?;
            }
            Ok(found)
        })?;
        shape::visible(found, group)
    }
}

impl Feed for PgStore {
    fn head(&mut self) -> Result<i64, StoreError> {
        self.conn.run(async |c| {
            Ok(
                c.query_one("SELECT coalesce(max(rev), 0) FROM chat1c.register", &[])
                    .await?
                    .get(0),
            )
        })
    }

    fn changes(&mut self, user_key: &str, after: i64, up_to: i64) -> Changes {
        let rows = self.conn.run(async |c| {
            c.query(
                "SELECT r.group_id, max(r.id), max(r.rev), count(*)
                   FROM chat1c.register r JOIN chat1c.groups g ON g.id = r.group_id
                  WHERE r.rev > $2 AND r.rev <= $3
                    AND (g.is_public OR EXISTS(SELECT 1 FROM chat1c.members m
                                                WHERE m.user_key = $1 AND m.group_id = r.group_id))
                  GROUP BY r.group_id ORDER BY r.group_id",
                &[&user_key, &after, &up_to],
            )
            .await
        })?;
        rows.iter()
            .map(|r| {
                Ok(GroupChanges {
                    group: r.int(0)?,
                    last_id: r.int(1)?,
                    last_rev: r.int(2)?,
                    count: r.int(3)?,
                })
            })
            .collect()
    }

    fn change_token(&mut self) -> Result<i64, StoreError> {
        self.head()
    }

    fn listen(&mut self) -> Result<bool, StoreError> {
        self.conn.listen()?;
        Ok(true)
    }

    fn wait_change(&mut self, timeout: Duration) -> Result<bool, StoreError> {
        self.conn.wait_change(timeout)
    }

    fn interrupter(&self) -> Option<Box<dyn Fn() + Send + Sync>> {
        Some(self.conn.interrupter())
    }

    fn reconnect(&mut self) -> Result<(), StoreError> {
        self.conn.reconnect()
    }
}
