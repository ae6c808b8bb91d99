//! Shared helpers for the contract tests: every test drives the built library
//! through the 1C-faithful host (C++ platform side), as 1C would.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[allow(unused_imports)]
pub use chat1c_host::testing::{i, ids, json, number, pg_url_with_db, s, text};
#[allow(unused_imports)]
pub use chat1c_host::{CallError, Event, Library, Object, Options, Value};

pub fn library() -> Library {
    Library::load(chat1c_host::addin_path()).expect("load the built chat1c library")
}

pub fn create(lib: &Library, lang: &str) -> Object {
    lib.create(
        "Chat",
        &Options {
            lang: lang.into(),
            ..Default::default()
        },
    )
    .expect("create AddIn.Chat.Chat")
}

/// A fresh, empty store: a SQLite file in a temporary folder, or, when
/// CHAT1C_TEST_PG holds a server URL (see tests/pg/cluster.sh), a new PostgreSQL
/// database, so the same contract runs against both stores.
pub struct TempStore {
    pub dir: tempfile::TempDir,
    pub path: PathBuf,
    pg: Option<(String, String)>,
}

static NEXT_DB: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Runs SQL with psql against a test server; returns its unaligned output.
pub fn psql(url: &str, sql: &str) -> String {
    let out = Command::new("psql")
        .args(["-qAt", "-v", "ON_ERROR_STOP=1", url, "-c", sql])
        .output()
        .expect("run psql");
    assert!(
        out.status.success(),
        "psql {sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

impl TempStore {
    pub fn new() -> TempStore {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("chat.sqlite");
        let pg = std::env::var("CHAT1C_TEST_PG")
            .ok()
            .filter(|u| !u.is_empty())
            .map(|base| {
                let n = NEXT_DB.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let db = format!("chat1c_t{}_{n}", std::process::id());
                psql(&base, &format!("CREATE DATABASE {db}"));
                (base, db)
            });
        TempStore { dir, path, pg }
    }

    pub fn is_pg(&self) -> bool {
        self.pg.is_some()
    }

    pub fn location(&self) -> String {
        match &self.pg {
            Some((base, db)) => pg_url_with_db(base, db),
            None => self.path.display().to_string(),
        }
    }
}

impl Drop for TempStore {
    fn drop(&mut self) {
        if let Some((base, db)) = &self.pg {
            let _ = Command::new("psql")
                .args([
                    "-q",
                    base.as_str(),
                    "-c",
                    &format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"),
                ])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
}

/// Skips a test that is about SQLite files when the suite runs against PostgreSQL.
#[macro_export]
macro_rules! sqlite_only {
    ($store:expr) => {
        if $store.is_pg() {
            println!("SQLite-only check, not applicable to PostgreSQL");
            return;
        }
    };
}

/// A created object opened on `store` as `user`.
pub fn open(lib: &Library, store: &TempStore, user: &str) -> Object {
    let mut o = create(lib, "en");
    o.call("Open", &[s(&store.location()), s(user)])
        .expect("Open");
    o
}

/// Like [`open`], with the object's event queue `depth` events deep (1C starts at 1).
pub fn open_at_depth(lib: &Library, store: &TempStore, user: &str, depth: i32) -> Object {
    let mut o = create(lib, "en");
    o.events().set_depth(depth);
    o.call("Open", &[s(&store.location()), s(user)])
        .expect("Open");
    o
}

pub fn send(o: &mut Object, topic: &str, who: &str, body: &str) -> i64 {
    number(
        o.call("SendMessage", &[s(topic), s(who), s(body)])
            .expect("SendMessage"),
    )
}

/// Asserts a call fails with a message containing `needle`, and that LastError keeps it.
pub fn fails(o: &mut Object, method: &str, args: &[Value], needle: &str) -> String {
    let err = o
        .call(method, args)
        .expect_err(&format!("{method} should fail"));
    assert!(
        err.message.contains(needle),
        "{method}: error {:?} should mention {needle:?}",
        err.message
    );
    assert_ne!(err.scode, 0, "AddError must carry a non-zero scode");
    let last = text(o.get("LastError").expect("LastError"));
    assert_eq!(last, err.message, "LastError keeps the failure text");
    err.message
}

/// A second simulated 1C client: the host CLI in its own process.
#[allow(unused_imports)]
pub use chat1c_host::Client;

/// Waits until `f` is true or `limit` passes (no timing assertion: a generous bound
/// only keeps a broken build from hanging the suite).
pub fn eventually(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    f()
}

pub fn exists(p: &Path) -> bool {
    p.exists()
}

/// True when the tests run as root, which ignores file modes.
#[cfg(unix)]
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// False when CHAT1C_TEST_NO_ADMIN is set: tests then act as if `chattr +i` and
/// `mount` were not allowed, as in a container (build.sh runs both ways).
pub fn admin_allowed() -> bool {
    std::env::var_os("CHAT1C_TEST_NO_ADMIN").is_none()
}

/// `chattr +i` or `-i` on a path; false when the flag cannot be set here (containers
/// drop CAP_LINUX_IMMUTABLE; some file systems lack the flag).
pub fn chattr(flag: &str, p: &Path) -> bool {
    (flag == "-i" || admin_allowed())
        && Command::new("chattr")
            .arg(flag)
            .arg(p)
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
}

/// A second client run as user `nobody` (uid 65534), for file-rights tests where root
/// would ignore file modes and `chattr +i` is not allowed. The host CLI and the add-in
/// are copied into `bin_dir` (made reachable by everyone), since the build folder may
/// not be. None when this process cannot switch users.
#[cfg(unix)]
pub fn nobody_client(bin_dir: &Path) -> Option<Client> {
    use std::os::unix::fs::PermissionsExt;
    const AS_NOBODY: [&str; 4] = [
        "setpriv",
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
    ];
    let switched = Command::new(AS_NOBODY[0])
        .args(&AS_NOBODY[1..])
        .arg("true")
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !switched {
        return None;
    }
    std::fs::create_dir_all(bin_dir).expect("bin folder");
    let reachable = std::fs::Permissions::from_mode(0o755);
    let mut dir = Some(bin_dir);
    while let Some(d) =
        dir.filter(|d| d.starts_with(std::env::temp_dir()) && *d != std::env::temp_dir())
    {
        std::fs::set_permissions(d, reachable.clone()).expect("open the folder to nobody");
        dir = d.parent();
    }
    let cli = bin_dir.join("chat1c-host");
    let lib = bin_dir.join("libchat1c.so");
    std::fs::copy(chat1c_host::cli_path(), &cli).expect("copy the host CLI");
    std::fs::copy(chat1c_host::addin_path(), &lib).expect("copy the add-in");
    // A temp folder nobody cannot enter (TMPDIR under /root, say) makes the test moot.
    let reachable = Command::new(AS_NOBODY[0])
        .args(&AS_NOBODY[1..])
        .args(["test", "-x"])
        .arg(&cli)
        .status()
        .is_ok_and(|s| s.success());
    if !reachable {
        eprintln!("user nobody cannot reach {}", cli.display());
        return None;
    }
    Some(Client::start_via(&AS_NOBODY, &cli, &lib, &[]))
}

/// Follows one group by events and GetUpdates, the way the kit does: the texts by id.
pub fn follow(o: &mut Object, group: i64, rev: &mut i64, seen: &mut BTreeMap<i64, String>) {
    loop {
        let page = json(
            o.call("GetUpdates", &[i(group as i32), i(*rev as i32), i(50)])
                .unwrap(),
        );
        let page = page.as_array().unwrap();
        for m in page {
            seen.insert(
                m["id"].as_i64().unwrap(),
                m["text"].as_str().unwrap().into(),
            );
            *rev = (*rev).max(m["rev"].as_i64().unwrap());
        }
        if page.len() < 50 {
            return;
        }
    }
}

// ---- GetGroups' summaries ----

/// Rows of the summaries that differ from a recomputation from the register, the
/// mentions, the files and the read marks (empty when every trigger did its part).
const SQLITE_DRIFT: &str = "
SELECT 'summary of group ' || g.id FROM chat_groups g
  LEFT JOIN chat_summary s ON s.group_id = g.id
  LEFT JOIN chat_register r ON r.id = s.last_id
 WHERE s.group_id IS NULL
    OR s.live IS NOT (SELECT count(*) FROM chat_register x WHERE x.group_id = g.id AND x.deleted = 0)
    OR s.last_id IS NOT (SELECT max(x.id) FROM chat_register x WHERE x.group_id = g.id)
    OR (r.id IS NOT NULL AND (r.period IS NOT s.period OR r.publisher IS NOT s.publisher
        OR r.message IS NOT s.message OR r.rev IS NOT s.rev OR r.edited IS NOT s.edited
        OR r.deleted IS NOT s.deleted OR r.reply_to IS NOT s.reply_to
        OR r.mentions IS NOT s.mentions
        OR s.files IS NOT (SELECT json_group_array(json_object('id', f.id, 'name', f.name,
                                  'size', f.size, 'type', f.type))
                             FROM chat_files f WHERE f.message_id = r.id)))
UNION ALL
SELECT 'read marks of group ' || g.id FROM chat_groups g
 WHERE (g.is_public = 1 AND g.marks IS NOT NULL)
    OR (g.is_public = 0 AND (g.marks IS NULL
        OR (SELECT count(*) FROM json_each(g.marks))
           <> (SELECT count(*) FROM chat_reads rd WHERE rd.group_id = g.id)
        OR EXISTS(SELECT 1 FROM chat_reads rd WHERE rd.group_id = g.id
                    AND rd.up_to IS NOT (SELECT j.value FROM json_each(g.marks) j
                                          WHERE j.key = rd.user_key))))
UNION ALL
SELECT 'counts of ' || rd.user_key || ' in group ' || rd.group_id FROM chat_reads rd
 WHERE rd.seen IS NOT (SELECT count(*) FROM chat_register r
                        WHERE r.group_id = rd.group_id AND r.deleted = 0
                          AND (r.id <= rd.up_to OR r.publisher_key = rd.user_key))
    OR rd.mentioned IS NOT (SELECT count(*) FROM chat_mentions m
                             WHERE m.user_key = rd.user_key AND m.group_id = rd.group_id
                               AND m.message_id > rd.up_to)
UNION ALL
SELECT 'no counts of ' || x.k || ' in group ' || x.g
  FROM (SELECT publisher_key AS k, group_id AS g FROM chat_register
        UNION SELECT user_key, group_id FROM chat_mentions) x
 WHERE NOT EXISTS(SELECT 1 FROM chat_reads rd WHERE rd.user_key = x.k AND rd.group_id = x.g)
UNION ALL
SELECT 'newest id of ' || m.user_key || ' in group ' || m.group_id FROM chat_members m
 WHERE m.last_id <> coalesce((SELECT max(x.id) FROM chat_register x WHERE x.group_id = m.group_id), 0)
UNION ALL
SELECT 'listed of group ' || g.id FROM chat_groups g JOIN chat_summary s ON s.group_id = g.id
 WHERE s.listed <> (g.is_public = 1 AND g.context IS NULL)";

const POSTGRES_DRIFT: &str = "
SELECT 'summary of group ' || g.id FROM chat1c.groups g
  LEFT JOIN chat1c.summary s ON s.group_id = g.id
  LEFT JOIN chat1c.register r ON r.id = s.last_id
 WHERE s.group_id IS NULL
    OR s.live <> (SELECT count(*) FROM chat1c.register x WHERE x.group_id = g.id AND NOT x.deleted)
    OR s.last_id IS DISTINCT FROM (SELECT max(x.id) FROM chat1c.register x WHERE x.group_id = g.id)
    OR (r.id IS NOT NULL AND
        (r.period, r.publisher, r.message, r.rev, r.edited, r.deleted, r.reply_to, r.mentions,
         chat1c_private.files_of(r.id))
        IS DISTINCT FROM
        (s.period, s.publisher, s.message, s.rev, s.edited, s.deleted, s.reply_to, s.mentions,
         s.files))
UNION ALL
SELECT 'read marks of group ' || g.id FROM chat1c.groups g
 WHERE g.marks IS DISTINCT FROM
       (CASE WHEN g.is_public THEN NULL
             ELSE coalesce((SELECT jsonb_object_agg(rd.user_key, rd.up_to) FROM chat1c.reads rd
                             WHERE rd.group_id = g.id), '{}') END)
UNION ALL
SELECT 'counts of ' || rd.user_key || ' in group ' || rd.group_id FROM chat1c.reads rd
 WHERE rd.seen IS DISTINCT FROM (SELECT count(*) FROM chat1c.register r
                                  WHERE r.group_id = rd.group_id AND NOT r.deleted
                                    AND (r.id <= rd.up_to OR r.publisher_key = rd.user_key))
    OR rd.mentioned <> (SELECT count(*) FROM chat1c.mentions m
                         WHERE m.user_key = rd.user_key AND m.group_id = rd.group_id
                           AND m.message_id > rd.up_to)
UNION ALL
SELECT 'no counts of ' || x.k || ' in group ' || x.g
  FROM (SELECT publisher_key AS k, group_id AS g FROM chat1c.register
        UNION SELECT user_key, group_id FROM chat1c.mentions) x
 WHERE NOT EXISTS(SELECT 1 FROM chat1c.reads rd WHERE rd.user_key = x.k AND rd.group_id = x.g)
UNION ALL
SELECT 'newest id of ' || m.user_key || ' in group ' || m.group_id FROM chat1c.members m
 WHERE m.last_id <> coalesce((SELECT max(x.id) FROM chat1c.register x WHERE x.group_id = m.group_id), 0)
UNION ALL
SELECT 'listed of group ' || g.id FROM chat1c.groups g JOIN chat1c.summary s ON s.group_id = g.id
 WHERE s.listed <> (g.is_public AND g.context IS NULL)";

/// A query's rows, one text column each, read by another process: a second SQLite
/// library in this process would take the add-in's open connections for none, and on
/// closing checkpoint and unlink the WAL under them.
pub fn rows(store: &TempStore, sql: &str) -> Vec<String> {
    let out = if store.is_pg() {
        psql(&store.location(), sql)
    } else {
        sqlite_in_another_process(&store.path, sql, false)
    };
    out.lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

/// Runs SQL on a SQLite file in a child process, this test binary again running only
/// its `sqlite_helper` test (made by [`sqlite_helper!`]): the first column of each
/// row, one a line; `script`: statements, committed.
pub fn sqlite_in_another_process(path: &Path, sql: &str, script: bool) -> String {
    let out = Command::new(std::env::current_exe().expect("the test binary"))
        .args([
            "--exact",
            "sqlite_helper",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env("CHAT1C_SQLITE_HELPER_DB", path)
        .env("CHAT1C_SQLITE_HELPER_SQL", sql)
        .env("CHAT1C_SQLITE_HELPER_SCRIPT", if script { "1" } else { "" })
        .output()
        .expect("run the SQLite helper");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("sqlite helper done"),
        "{sql}: {stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
        .lines()
        // The harness may print "test sqlite_helper ... " first on the same line.
        .filter_map(|l| l.split_once("sqlite row\t").map(|(_, row)| row))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The test [`sqlite_in_another_process`] runs in a child process; nothing otherwise.
#[macro_export]
macro_rules! sqlite_helper {
    () => {
        #[test]
        fn sqlite_helper() {
            let Some(db) = std::env::var_os("CHAT1C_SQLITE_HELPER_DB") else {
                return;
            };
            let sql = std::env::var("CHAT1C_SQLITE_HELPER_SQL").unwrap();
            let conn = rusqlite::Connection::open(db).unwrap();
            conn.busy_timeout(std::time::Duration::from_secs(10))
                .unwrap();
            if std::env::var("CHAT1C_SQLITE_HELPER_SCRIPT").is_ok_and(|s| !s.is_empty()) {
                conn.execute_batch(&sql).unwrap();
            } else {
                let mut st = conn.prepare(&sql).unwrap();
                let mut rows = st.query([]).unwrap();
                while let Some(r) = rows.next().unwrap() {
                    println!("sqlite row\t{}", r.get::<_, String>(0).unwrap());
                }
            }
            println!("sqlite helper done");
        }
    };
}

/// The rows of GetGroups' summaries (tests/summaries.rs) that differ from a
/// recomputation from the register, the mentions, the files and the read marks: empty
/// when every trigger did its part.
pub fn summary_drift(store: &TempStore) -> Vec<String> {
    rows(
        store,
        if store.is_pg() {
            POSTGRES_DRIFT
        } else {
            SQLITE_DRIFT
        },
    )
}
