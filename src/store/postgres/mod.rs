//! The PostgreSQL store, for installations whose 1C clients run on many machines.
//! Same register and rules as SQLite, in the schema `chat1c`. Every call is one call
//! of a server function (`api.sql`): the server applies identity and visibility, so
//! a provisioned store's clients can read nothing else, and each call is one round
//! trip. Every change NOTIFYs (a trigger) and the watcher LISTENs. The functions are
//! in `v3_api.sql` and `v4_live.sql`.
//! This file holds the calls; `config` the Store string and TLS, `conn` the
//! connection and its retries, `schema` the schema's history, `provision` the
//! administrator's step that makes a store require tickets.

mod config;
mod conn;
mod provision;
mod schema;
mod tls;

use std::time::{Duration, Instant};

use super::shape::{self, Columns, SendRow};
use super::{
    Change, Changed, Changes, Feed, GroupChanges, Identity, Messages, Page, Store, StoreError,
    Viewer, WatchPlan,
};
use crate::chat::files::NewFile;
use crate::chat::{Group, NewMessage, Unread};
use crate::store::notes::{Answer, CheckPace, Hints, Note};
use crate::store::unread::{self, UnreadCounts};
use conn::{map_err, Connection, PgResult};

pub use config::{is_postgres, shown};
pub use provision::provision;
#[cfg(test)]
pub(super) use schema::HISTORY;

/// Bounds on how long a call may block 1C's thread (documented in README.md):
/// connecting (TCP, TLS and login) and each operation, enforced on the client side
/// so an unreachable or silent server cannot hang 1C.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(10);
/// The watcher's safety-net poll (notifications carry the fast path; TCP keepalives find a
/// dead connection, on Linux within ~25 s, elsewhere this poll and the operation timeout
/// bound it). Each poll wakes the client process and its backend, which costs the server
/// more than the query: long, so that idle clients cost the server next to nothing.
const POLL: Duration = Duration::from_secs(30);
/// What NOTIFYs told is checked against the server this long after, at the latest (see
/// `notes`): as long as the poll. A forger cannot keep the real NOTIFY from the
/// connection (it contests the forged note, and the check follows at once) other than
/// by ending the session (a new connection checks at once), so this check is a backstop
/// for a change committed without its NOTIFY. Every 2 s, as before, it cost a query per
/// process per 2 s while messages came — 500 a second for 1,000 clients — and a third of
/// a reader's CPU per message (BENCHMARKS.md, section 6b).
const CHECK_NOTES: Duration = POLL;
/// On the notes' account the server is asked at most once a second — a check they ask
/// for at once (two that differ for one revision, an unreadable one, a new connection) or
/// which of the groups they name a viewer sees: anyone may NOTIFY, and a forger's stream
/// would otherwise make every listening client query the server at every note. A forged
/// note then delays the real change it contests, or that follows it, by a second at most.
const CHECK_PACE: CheckPace = CheckPace {
    every: CHECK_NOTES,
    urgent_gap: Duration::from_secs(1),
};
const CHANNEL: &str = "chat1c_new";

pub struct PgStore {
    conn: Connection,
    location: String,
    /// The server-side session of the user this store was opened for (methods only).
    session: String,
    /// A watcher's: it listens, and answers from the NOTIFYs' notes where it can.
    listening: bool,
    hints: Option<Hints>,
    /// GetUnread's counts between calls: the server adds what changed since.
    unread: UnreadCounts,
}

shape::columns_by!(tokio_postgres::Row, try_get);

impl PgStore {
    pub fn open(location: &str) -> Result<(PgStore, WatchPlan), StoreError> {
        let (config, tls) = config::parse(location)?;
        let shown = config::display(&config);
        let conn = Connection::open(location.trim(), config, tls)?;
        schema::upgrade(&conn)?;
        let plan = WatchPlan {
            store_file: None,
            poll: POLL,
        };
        let store = PgStore {
            conn,
            location: shown,
            session: String::new(),
            listening: false,
            hints: None,
            unread: UnreadCounts::default(),
        };
        Ok((store, plan))
    }

    /// Opens a server-side session for `user`: with a ticket on a provisioned store.
    pub fn sign_in(&mut self, user: &str, ticket: &str) -> Result<Identity, StoreError> {
        let row = self.conn.run(async |c| {
            c.query_one(
                "SELECT session, shown FROM chat1c.api_open($1, $2)",
                &[&user, &ticket],
            )
            .await
        })?;
        self.session = row.text(0)?;
        Ok(Identity {
            viewer: Viewer(self.session.clone()),
            shown: row.text(1)?,
        })
    }
}

/// The server reports a group the session may not see as "no such conversation";
/// the add-in says which one.
fn in_group<T>(group: i64, result: Result<T, StoreError>) -> Result<T, StoreError> {
    result.map_err(|e| match e {
        StoreError::UnknownGroup(_) => StoreError::UnknownGroup(group),
        e => e,
    })
}

/// `api_messages`' kind of page.
fn kind(page: Page) -> i32 {
    match page {
        Page::Newest => 0,
        Page::After(_) => 1,
        Page::Before(_) => 2,
    }
}

/// `api_messages`' kind for the changes after a revision.
const UPDATES: i32 = 3;

const SEND_SQL: &str = "SELECT * FROM chat1c.api_send($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";
const EDIT_SQL: &str = "SELECT * FROM chat1c.api_edit($1, $2, $3, $4)";
const DELETE_SQL: &str = "SELECT * FROM chat1c.api_delete($1, $2)";

impl PgStore {
    /// Runs a change that must not run twice ([`Connection::once`]): prepared
    /// first, so a connection found dead before anything was sent is replaced.
    fn change(
        &mut self,
        sql: &'static str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<Vec<tokio_postgres::Row>, StoreError> {
        self.conn.once(async |c| {
            let statement = match c.prepared(sql).await {
                Ok(s) => s,
                Err(e) => return Ok(Err(e)),
            };
            let answer: PgResult<_> = c.client.query(&statement, params).await;
            answer.map(Ok).map_err(map_err)
        })
    }

    fn page_of(&mut self, group: i64, kind: i32, bound: i64, limit: i64) -> Messages {
        let session = &self.session;
        let rows = in_group(
            group,
            self.conn.run(async |c| {
                c.query(
                    "SELECT * FROM chat1c.api_messages($1, $2, $3, $4, $5)",
                    &[session, &group, &kind, &bound, &limit],
                )
                .await
            }),
        )?;
        rows.iter().map(|r| shape::message(r, 0)).collect()
    }
}

/// The server reports a message the session may not change by code; the add-in says which.
fn on_message<T>(id: i64, result: Result<T, StoreError>) -> Result<T, StoreError> {
    result.map_err(|e| match e {
        StoreError::UnknownMessage(_) => StoreError::UnknownMessage(id),
        StoreError::NotAuthor(_) => StoreError::NotAuthor(id),
        StoreError::Deleted(_) => StoreError::Deleted(id),
        e => e,
    })
}

impl Store for PgStore {
    fn location(&self) -> &str {
        &self.location
    }

    fn groups(&mut self, limit: Option<i64>) -> Result<Vec<Group>, StoreError> {
        let session = &self.session;
        let rows = self.conn.run(async |c| {
            c.query(
                "SELECT * FROM chat1c.api_groups($1, $2)",
                &[session, &limit],
            )
            .await
        })?;
        let groups = rows.iter().map(shape::group).collect::<Result<_, _>>()?;
        Ok(shape::newest_first(groups))
    }

    fn group(&mut self, id: i64) -> Result<Group, StoreError> {
        let session = &self.session;
        let rows = in_group(
            id,
            self.conn.run(async |c| {
                c.query(
                    "SELECT * FROM chat1c.api_groups($1, NULL, $2)",
                    &[session, &id],
                )
                .await
            }),
        )?;
        match rows.first() {
            Some(row) => shape::group(row),
            None => Err(StoreError::UnknownGroup(id)),
        }
    }

    fn unread(&mut self) -> Result<Unread, StoreError> {
        let session = &self.session;
        let (rev, moves) = self.unread.since().unzip();
        let row = self.conn.run(async |c| {
            c.query_one(
                "SELECT * FROM chat1c.api_unread($1, $2, $3)",
                &[session, &rev, &moves],
            )
            .await
        })?;
        let get = |i| row.try_get::<_, Vec<i64>>(i).map_err(map_err);
        self.unread.apply(unread::Answer {
            whole: row.flag(0)?,
            at: (row.int(1)?, row.int(2)?),
            ids: get(3)?,
            unread: get(4)?,
            mentions: get(5)?,
        })?;
        Ok(self.unread.total())
    }

    fn messages(&mut self, group: i64, page: Page, limit: i64) -> Messages {
        let list = self.page_of(group, kind(page), page.bound(), limit)?;
        Ok(shape::ascending(list))
    }

    fn send(&mut self, m: &NewMessage, file: Option<&NewFile>, period: i64) -> Changed {
        let row = SendRow::new(m, period)?;
        let session = self.session.clone();
        let reply_to = m.reply_to;
        let (name, mime, data) = match file {
            Some(f) => (Some(f.name.as_str()), Some(f.mime), Some(f.data)),
            None => (None, None, None),
        };
        let rows = self
            .change(
                SEND_SQL,
                &[
                    &session,
                    &m.group,
                    &m.topic,
                    &row.participants,
                    &m.text,
                    &row.period,
                    &reply_to,
                    &name,
                    &mime,
                    &data,
                ],
            )
            .map_err(|e| match (e, reply_to, m.group) {
                (StoreError::BadReply(_), Some(original), _) => StoreError::BadReply(original),
                (StoreError::UnknownGroup(_), _, Some(group)) => StoreError::UnknownGroup(group),
                (e, _, _) => e,
            })?;
        let sent = rows
            .first()
            .ok_or_else(|| StoreError::Other("no answer".into()))?;
        Ok(Change {
            id: sent.int(0)?,
            group: sent.int(1)?,
            rev: sent.int(2)?,
        })
    }

    fn file(&mut self, id: i64) -> Result<Vec<u8>, StoreError> {
        let session = &self.session;
        let row = self
            .conn
            .run(async |c| {
                c.query_one("SELECT chat1c.api_file($1, $2)", &[session, &id])
                    .await
            })
            .map_err(|e| match e {
                StoreError::UnknownFile(_) => StoreError::UnknownFile(id),
                e => e,
            })?;
        row.try_get(0).map_err(map_err)
    }

    fn search(&mut self, text: &str, group: i64, limit: i64) -> Messages {
        let session = &self.session;
        let rows = in_group(
            group,
            self.conn.run(async |c| {
                c.query(
                    "SELECT * FROM chat1c.api_search($1, $2, $3, $4)",
                    &[session, &text, &group, &limit],
                )
                .await
            }),
        )?;
        rows.iter().map(|r| shape::message(r, 0)).collect()
    }

    fn discussion(&mut self, context: &str, title: &str) -> Result<i64, StoreError> {
        let session = self.session.clone();
        let rows = self.change(
            "SELECT chat1c.api_discussion($1, $2, $3)",
            &[&session, &context, &title],
        )?;
        rows.first()
            .ok_or_else(|| StoreError::Other("no answer".into()))?
            .int(0)
    }

    fn edit(&mut self, id: i64, text: &str, at: i64) -> Changed {
        let session = self.session.clone();
        let rows = on_message(id, self.change(EDIT_SQL, &[&session, &id, &text, &at]))?;
        let done = rows
            .first()
            .ok_or_else(|| StoreError::Other("no answer".into()))?;
        Ok(Change {
            id,
            group: done.int(0)?,
            rev: done.int(1)?,
        })
    }

    fn delete(&mut self, id: i64) -> Result<Option<Change>, StoreError> {
        let session = self.session.clone();
        let rows = on_message(id, self.change(DELETE_SQL, &[&session, &id]))?;
        rows.first()
            .map(|done| {
                Ok(Change {
                    id,
                    group: done.int(0)?,
                    rev: done.int(1)?,
                })
            })
            .transpose()
    }

    fn updates(&mut self, group: i64, after: i64, limit: i64) -> Messages {
        self.page_of(group, UPDATES, after, limit)
    }

    fn mark_read(&mut self, group: i64, up_to: i64) -> Result<(), StoreError> {
        let session = &self.session;
        in_group(
            group,
            self.conn.run(async |c| {
                c.execute(
                    "SELECT chat1c.api_mark_read($1, $2, $3)",
                    &[session, &group, &up_to],
                )
                .await
            }),
        )
        .map(|_| ())
    }
}

/// Pages of `api_notes` one check reads at most; past them the rest waits for the next.
const CHECK_PAGES: usize = 20;
/// `api_notes`' page.
const NOTES_PAGE: usize = 1000;

impl PgStore {
    fn server_head(&mut self, viewer: &Viewer) -> Result<i64, StoreError> {
        let row = self.conn.run(async |c| {
            c.query_one("SELECT chat1c.api_head($1)", &[&viewer.0])
                .await
        })?;
        row.int(0)
    }

    fn server_changes(&mut self, viewer: &Viewer, after: i64, up_to: i64) -> Changes {
        let rows = self.conn.run(async |c| {
            c.query(
                "SELECT * FROM chat1c.api_changes($1, $2, $3)",
                &[&viewer.0, &after, &up_to],
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

    /// The watcher's hints, started at the server's head on first use (after LISTEN,
    /// so no note is missed).
    fn hints(&mut self, viewer: &Viewer) -> Result<Option<&mut Hints>, StoreError> {
        if !self.listening {
            return Ok(None);
        }
        if self.hints.is_none() {
            let head = self.server_head(viewer)?;
            self.hints = Some(Hints::new(head, &mut self.conn.inbox(), CHECK_PACE));
        }
        Ok(self.hints.as_mut())
    }

    /// Compares what the notes told with the server's list of changes (see `notes`).
    fn check(&mut self, viewer: &Viewer) -> Result<(), StoreError> {
        let checked = self.check_pages(viewer);
        if checked.is_err() {
            if let Some(hints) = self.hints.as_mut() {
                hints.postpone_check(Instant::now());
            }
        }
        checked
    }

    fn check_pages(&mut self, viewer: &Viewer) -> Result<(), StoreError> {
        for _ in 0..CHECK_PAGES {
            if self.hints(viewer)?.is_none() {
                return Ok(());
            }
            let Some((after, started)) =
                self.hints.as_ref().map(|h| h.checking(&self.conn.inbox()))
            else {
                return Ok(());
            };
            let rows = self.conn.run(async |c| {
                c.query(
                    "SELECT * FROM chat1c.api_notes($1, $2)",
                    &[&viewer.0, &after],
                )
                .await
            })?;
            let list = rows
                .iter()
                .map(|r| {
                    Ok((
                        r.int(0)?,
                        Note {
                            group: r.int(1)?,
                            id: r.int(2)?,
                        },
                    ))
                })
                .collect::<Result<Vec<_>, StoreError>>()?;
            let complete = list.len() < NOTES_PAGE;
            if let Some(hints) = self.hints.as_mut() {
                hints.settle(&mut self.conn.inbox(), &list, complete, started);
            }
            if complete {
                break;
            }
        }
        Ok(())
    }

    /// Which of `groups` the viewer sees, from the server.
    fn visible(&mut self, viewer: &Viewer, groups: &[i64]) -> Result<Vec<i64>, StoreError> {
        let mut seen = Vec::new();
        // api_visible takes 1,000 groups at most (forged notes can name any number).
        for some in groups.chunks(1000) {
            let rows = self.conn.run(async |c| {
                c.query(
                    "SELECT * FROM chat1c.api_visible($1, $2)",
                    &[&viewer.0, &some],
                )
                .await
            })?;
            for r in &rows {
                seen.push(r.int(0)?);
            }
        }
        Ok(seen)
    }
}

impl Feed for PgStore {
    fn head(&mut self, viewer: &Viewer) -> Result<i64, StoreError> {
        if self.hints(viewer)?.is_none() {
            return self.server_head(viewer);
        }
        let now = Instant::now();
        let must_check = self
            .hints
            .as_ref()
            .is_some_and(|h| h.must_check(&self.conn.inbox(), now));
        if must_check {
            self.check(viewer)?;
        }
        let inbox = self.conn.inbox();
        Ok(self.hints.as_mut().map_or(0, |h| h.head(&inbox, now)))
    }

    fn changes(&mut self, viewer: &Viewer, after: i64, up_to: i64) -> Changes {
        // Twice at most: once more after learning which groups the viewer sees.
        for _ in 0..2 {
            let Some(hints) = self.hints.as_ref() else {
                break;
            };
            let answer = hints.answer(&self.conn.inbox(), viewer, after, up_to);
            match answer {
                Answer::Told(changes) => return Ok(changes),
                Answer::Unknown(groups) => {
                    if let Some(hints) = self.hints.as_mut() {
                        hints.asking(Instant::now());
                    }
                    let seen = self.visible(viewer, &groups)?;
                    if let Some(hints) = self.hints.as_mut() {
                        hints.learn(viewer, &groups, &seen);
                    }
                }
                Answer::Ask => break,
            }
        }
        self.server_changes(viewer, after, up_to)
    }

    fn change_token(&mut self, viewer: &Viewer) -> Result<i64, StoreError> {
        if self.hints(viewer)?.is_none() {
            return self.server_head(viewer);
        }
        // The idle poll: what the notes told is checked, and news is news.
        self.check(viewer)?;
        Ok(self.hints.as_ref().map_or(0, Hints::news))
    }

    fn retracted(&mut self) -> Option<i64> {
        self.hints.as_mut()?.take_retraction()
    }

    fn listen(&mut self) -> Result<bool, StoreError> {
        self.conn.listen()?;
        self.listening = true;
        Ok(true)
    }

    fn wait_change(&mut self, timeout: Duration) -> Result<bool, StoreError> {
        // Notes told and not yet checked are checked within CHECK_NOTES (the idle
        // look does it), however long the slow poll; a check that fails is put off
        // (`check`), and the floor keeps anything else from spinning. Notes `head` held
        // back (see `Hints::head`) are a change whose turn comes: a round, not a check.
        let now = Instant::now();
        let (due, held) = self.hints.as_ref().map_or((None, None), |h| {
            (h.check_due(&self.conn.inbox(), now), h.held_due(now))
        });
        let floor = Duration::from_millis(50);
        let wait = [due, held]
            .into_iter()
            .flatten()
            .fold(timeout, |wait, d| wait.min(d.max(floor)));
        let woken = self.conn.wait_change(wait)?;
        let turn = held.is_some_and(|h| h.max(floor) <= wait);
        if turn {
            if let Some(hints) = self.hints.as_mut() {
                hints.release_held();
            }
        }
        Ok(woken || turn)
    }

    fn interrupter(&self) -> Option<Box<dyn Fn() + Send + Sync>> {
        Some(self.conn.interrupter())
    }

    fn reconnect(&mut self) -> Result<(), StoreError> {
        self.conn.reconnect()
    }
}
