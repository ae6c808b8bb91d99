//! The PostgreSQL store's schema `chat1c`: its history, and the upgrade run at Open.
//! The version lives in `chat1c.schema_version`; release 0.1.0 had no such table and
//! is recognised by its `reads` table.

use tokio_postgres::error::SqlState;
use tokio_postgres::GenericClient;

use super::conn::{map_err, Connection};
use crate::store::schema::{pending, Migration, POSTGRES_VERSION as SCHEMA_VERSION};
use crate::store::StoreError;

/// Taken while the schema is created or upgraded, so clients starting together do it once.
const SCHEMA_LOCK: i64 = 0x0C4A_7101;

pub static HISTORY: &[Migration] = &[
    Migration {
        to: 1,
        sql: "
CREATE SCHEMA IF NOT EXISTS chat1c;
CREATE TABLE chat1c.groups(
    id BIGSERIAL PRIMARY KEY,
    topic TEXT NOT NULL,
    members_key TEXT NOT NULL,
    participants TEXT NOT NULL,
    is_public BOOLEAN NOT NULL,
    UNIQUE(topic, members_key));
CREATE INDEX groups_public ON chat1c.groups(is_public);
CREATE TABLE chat1c.members(
    user_key TEXT NOT NULL,
    group_id BIGINT NOT NULL,
    PRIMARY KEY(user_key, group_id));
CREATE TABLE chat1c.register(
    id BIGSERIAL PRIMARY KEY,
    group_id BIGINT NOT NULL,
    period BIGINT NOT NULL,
    publisher TEXT NOT NULL,
    publisher_key TEXT NOT NULL,
    participants TEXT NOT NULL,
    topic TEXT NOT NULL,
    message TEXT NOT NULL);
CREATE INDEX register_group ON chat1c.register(group_id, id, publisher_key);
CREATE TABLE chat1c.reads(
    user_key TEXT NOT NULL,
    group_id BIGINT NOT NULL,
    up_to BIGINT NOT NULL,
    PRIMARY KEY(user_key, group_id));
CREATE OR REPLACE FUNCTION chat1c.notify_new() RETURNS trigger LANGUAGE plpgsql AS
    $$ BEGIN PERFORM pg_notify('chat1c_new', ''); RETURN NULL; END $$;
CREATE TRIGGER register_notify AFTER INSERT ON chat1c.register
    FOR EACH STATEMENT EXECUTE PROCEDURE chat1c.notify_new();
",
    },
    Migration {
        to: 2,
        sql: "
-- The change feed: the store-wide revision of each row's last change; a change is
-- an insert or an update, and either wakes the listeners.
ALTER TABLE chat1c.register ADD COLUMN rev BIGINT NOT NULL DEFAULT 0;
UPDATE chat1c.register SET rev = id;
CREATE INDEX register_rev ON chat1c.register(rev);
DROP TRIGGER register_notify ON chat1c.register;
CREATE TRIGGER register_notify AFTER INSERT OR UPDATE ON chat1c.register
    FOR EACH STATEMENT EXECUTE PROCEDURE chat1c.notify_new();
-- The version is no secret: every role that may connect may read it.
CREATE TABLE chat1c.schema_version(version INTEGER NOT NULL);
GRANT SELECT ON chat1c.schema_version TO PUBLIC;
",
    },
    Migration {
        to: 3,
        sql: API_SQL,
    },
    Migration {
        to: 4,
        sql: LIVE_SQL,
    },
    Migration {
        to: 5,
        sql: FIND_SQL,
    },
    Migration {
        to: 6,
        sql: PLANS_SQL,
    },
    Migration {
        to: 7,
        sql: SEARCH_SQL,
    },
];

/// The chat's API of server functions (schema version 3).
pub const API_SQL: &str = include_str!("v3_api.sql");
/// Messages that live: the API made anew for edits, tombstones, replies, mentions (4).
pub const LIVE_SQL: &str = include_str!("v4_live.sql");
/// Find, share, link: discussions, files, message search; wake-ups that say what
/// changed; GetGroups' summaries (5).
pub const FIND_SQL: &str = concat!(
    include_str!("v5_find.sql"),
    include_str!("v5_notes.sql"),
    include_str!("v5_summaries.sql")
);

/// The server functions keep their plans for the connection (6).
pub const PLANS_SQL: &str = include_str!("v6_plans.sql");

/// Search reads the trigram index for older messages, never every one of them (7).
pub const SEARCH_SQL: &str = include_str!("v7_search.sql");

/// The version of the schema found (0: none yet).
async fn found_version(c: &impl GenericClient) -> Result<u32, tokio_postgres::Error> {
    // pg_class is read as a table, with the statement's snapshot: to_regclass would
    // use the session's catalog cache, which can miss a table another client just made.
    let tables = c
        .query_one(
            "SELECT coalesce(bool_or(c.relname = 'schema_version'), false),
                    coalesce(bool_or(c.relname = 'reads'), false)
               FROM pg_catalog.pg_class c
               JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname = 'chat1c' AND c.relname IN ('schema_version', 'reads')",
            &[],
        )
        .await?;
    if !tables.get::<_, bool>(0) {
        return Ok(u32::from(tables.get::<_, bool>(1)));
    }
    let version: i32 = c
        .query_one(
            "SELECT coalesce(max(version), 0) FROM chat1c.schema_version",
            &[],
        )
        .await?
        .get(0);
    Ok(u32::try_from(version).unwrap_or(0))
}

/// Brings the schema to [`SCHEMA_VERSION`], creating it on first use.
pub fn upgrade(conn: &Connection) -> Result<(), StoreError> {
    let found = conn.run(async |c| found_version(&c.client).await)?;
    if pending(HISTORY, found)?.is_empty() {
        return Ok(());
    }
    conn.alone(async |client| {
        let tx = client.transaction().await.map_err(map_err)?;
        let refused = |e: tokio_postgres::Error| match e.code() {
            Some(c) if *c == SqlState::INSUFFICIENT_PRIVILEGE && found == 0 => {
                StoreError::CannotOpen(
                    "the schema chat1c does not exist and this user may not create it (see README: grants)".into(),
                )
            }
            Some(c) if *c == SqlState::INSUFFICIENT_PRIVILEGE => {
                StoreError::UpgradeNeedsOwner {
                    found,
                    to: SCHEMA_VERSION,
                }
            }
            _ => map_err(e),
        };
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&SCHEMA_LOCK])
            .await
            .map_err(refused)?;
        // Looked at again under the lock: another client may have just done it.
        let now = found_version(&tx).await.map_err(refused)?;
        for step in pending(HISTORY, now)? {
            tx.batch_execute(step.sql).await.map_err(refused)?;
        }
        // A provisioned store's client role gets the functions this version added.
        tx.batch_execute("SELECT chat1c_private.restrict_to_api()")
            .await
            .map_err(refused)?;
        let version = i32::try_from(SCHEMA_VERSION).unwrap_or(i32::MAX);
        tx.batch_execute("DELETE FROM chat1c.schema_version")
            .await
            .map_err(refused)?;
        tx.execute(
            "INSERT INTO chat1c.schema_version(version) VALUES ($1)",
            &[&version],
        )
        .await
        .map_err(refused)?;
        tx.commit().await.map_err(refused)
    })
}

#[cfg(test)]
mod tests {
    use super::{API_SQL, FIND_SQL, LIVE_SQL, PLANS_SQL, SEARCH_SQL};
    use crate::chat::{is_invisible, limits};
    use unicode_normalization::UnicodeNormalization;

    #[test]
    fn the_servers_limits_are_the_add_ins() {
        // Each function's latest definition is in force: v6 makes api_messages anew,
        // v7 api_search, v5 the rest (v6 only sets how api_send's plans are kept).
        let page = format!("least(greatest(lim, 1), {})", limits::PAGE_MAX);
        assert!(
            PLANS_SQL.contains(&page),
            "v6_plans.sql should check {page}"
        );
        let search = format!("least(greatest(lim, 1), {})", limits::SEARCH_MAX);
        assert!(
            SEARCH_SQL.contains(&search),
            "v7_search.sql should check {search}"
        );
        let shortest = format!("coalesce(q, ''))) < {}", limits::SEARCH_MIN_CHARS);
        assert!(
            SEARCH_SQL.contains(&shortest),
            "v7_search.sql should check {shortest}"
        );
        for rule in [
            format!("length(p_text) > {}", limits::TEXT_MAX_CHARS),
            format!("length(t) > {}", limits::TOPIC_MAX_CHARS),
            format!("length(n) > {}", limits::NAME_MAX_CHARS),
            format!("cardinality(keys) > {}", limits::PARTICIPANTS_MAX),
            format!("length(p_file) > {}", limits::FILE_MAX_BYTES),
            format!("length(p_file_name) > {}", limits::FILE_NAME_MAX_CHARS),
            format!("least(greatest(lim, 1), {})", limits::SEARCH_MAX),
            format!("length(p_context) > {}", limits::CONTEXT_MAX_CHARS),
        ] {
            assert!(FIND_SQL.contains(&rule), "v5_find.sql should check {rule}");
        }
        assert!(!PLANS_SQL.contains("CREATE OR REPLACE FUNCTION chat1c.api_send"));
        // The old steps stay as they were (a migration history only grows).
        assert!(LIVE_SQL.contains("CREATE FUNCTION chat1c.api_send"));
        assert!(FIND_SQL.contains("CREATE FUNCTION chat1c.api_send"));
    }

    /// The code points of the regular expression class in `bad_chars`.
    fn server_class() -> Vec<(u32, u32)> {
        let start = API_SQL.find("~ '[").expect("the class") + 4;
        let class = &API_SQL[start..start + API_SQL[start..].find("]'").expect("its end")];
        let mut points = Vec::new();
        let mut rest = class;
        while !rest.is_empty() {
            let width = if rest.starts_with("\\U") { 8 } else { 4 };
            let n = u32::from_str_radix(&rest[2..2 + width], 16).expect("hex");
            rest = &rest[2 + width..];
            points.push(n);
            if let Some(after) = rest.strip_prefix('-') {
                rest = after;
                points.push(u32::MAX); // a range: the next point closes it
            }
        }
        let mut ranges = Vec::new();
        let mut i = 0;
        while i < points.len() {
            if points.get(i + 1) == Some(&u32::MAX) {
                ranges.push((points[i], points[i + 2]));
                i += 3;
            } else {
                ranges.push((points[i], points[i]));
                i += 1;
            }
        }
        ranges
    }

    #[test]
    fn the_server_refuses_the_characters_the_add_in_refuses() {
        let class = server_class();
        for c in (1..=0x10FFFFu32).filter_map(char::from_u32) {
            // Both sides look after NFKC: a character it changes is never seen as it is.
            if c.nfkc().ne(std::iter::once(c)) {
                continue;
            }
            let server = class.iter().any(|&(a, b)| (a..=b).contains(&(c as u32)));
            let add_in = c.is_control() || is_invisible(c) || (c.is_whitespace() && c != ' ');
            assert_eq!(server, add_in, "U+{:04X}", c as u32);
        }
    }
}
