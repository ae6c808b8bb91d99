//! The store's schema across releases, through the host as 1C calls: a store made by
//! release 0.1.0 (tests/fixtures) opens, upgrades and keeps every message, group and
//! read mark, also when several clients open it at once; a store made by a newer
//! release is refused; a file that is not a chat store is refused and left as it was.

mod common;

sqlite_helper!();

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use chat1c::store::{POSTGRES_VERSION, SQLITE_VERSION};
use common::*;
use serde_json::{json, Value as Json};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/v0.1.0")
        .join(name)
}

/// Puts the 0.1.0 store into `store` and returns what each user saw in it then.
fn restore_release_0_1(store: &TempStore) -> Json {
    let expected = if store.is_pg() {
        let out = Command::new("psql")
            .args(["-qAt", "-v", "ON_ERROR_STOP=1", &store.location()])
            .arg("-f")
            .arg(fixture("postgres.sql"))
            .output()
            .expect("run psql");
        assert!(
            out.status.success(),
            "restore the dump: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        "expected-postgres.json"
    } else {
        std::fs::copy(fixture("chat.sqlite"), &store.path).expect("copy the fixture");
        "expected-sqlite.json"
    };
    let text = std::fs::read_to_string(fixture(expected)).expect("read the expectations");
    serde_json::from_str(&text).expect("expectations are JSON")
}

/// Every field the old release showed is there with the same value (new fields may be added).
fn assert_kept(old: &Json, now: &Json, path: &str) {
    match (old, now) {
        (Json::Object(o), Json::Object(n)) => {
            for (k, v) in o {
                let field = n.get(k).unwrap_or_else(|| panic!("{path}.{k} is gone"));
                assert_kept(v, field, &format!("{path}.{k}"));
            }
        }
        (Json::Array(o), Json::Array(n)) => {
            assert_eq!(o.len(), n.len(), "{path}: count");
            for (i, (a, b)) in o.iter().zip(n).enumerate() {
                assert_kept(a, b, &format!("{path}[{i}]"));
            }
        }
        _ => assert_eq!(old, now, "{path}"),
    }
}

/// The schema this release brings `store` to (PostgreSQL's may be ahead of SQLite's).
fn this_releases_version(store: &TempStore) -> i64 {
    i64::from(if store.is_pg() {
        POSTGRES_VERSION
    } else {
        SQLITE_VERSION
    })
}

fn schema_version(store: &TempStore) -> i64 {
    if store.is_pg() {
        psql(
            &store.location(),
            "SELECT version FROM chat1c.schema_version",
        )
        .parse()
        .expect("a version")
    } else {
        // In a child process: this process's own SQLite closing the file would drop the
        // add-in's locks on it (POSIX locks belong to the process).
        sqlite_in_another_process(
            &store.path,
            "SELECT CAST(user_version AS TEXT) FROM pragma_user_version",
            false,
        )
        .trim()
        .parse()
        .expect("user_version")
    }
}

#[test]
fn a_store_made_by_release_0_1_upgrades_and_keeps_every_message_group_and_read_mark() {
    let lib = library();
    let store = TempStore::new();
    let seen = restore_release_0_1(&store);
    for (user, then) in seen.as_object().expect("users") {
        let mut o = open(&lib, &store, user);
        let groups = json(o.call("GetGroups", &[]).expect("GetGroups"));
        assert_kept(&then["groups"], &groups, &format!("{user}: groups"));
        for g in groups.as_array().expect("groups") {
            let id = g["id"].as_i64().expect("id");
            let messages = json(
                o.call("GetMessages", &[i(id as i32), i(0), i(1000)])
                    .expect("GetMessages"),
            );
            let old = &then["messages"][id.to_string()];
            assert_kept(old, &messages, &format!("{user}: group {id}"));
        }
    }
    assert_eq!(schema_version(&store), this_releases_version(&store));
    assert_eq!(
        summary_drift(&store),
        Vec::<String>::new(),
        "GetGroups' summaries filled at the upgrade"
    );

    // It keeps working: ids go on, read marks move, the others hear of new messages.
    let mut anna = open(&lib, &store, "Анна");
    let vera = open(&lib, &store, "Вера");
    let id = send(&mut anna, "Склад", "Борис; Вера", "после обновления");
    assert_eq!(id, 9, "ids continue after the old ones");
    let e = vera
        .events()
        .wait(Duration::from_secs(5))
        .expect("Вера hears of it");
    let data: Json = serde_json::from_str(&e.data).expect("JSON");
    assert_eq!(data["cursor"], json!(9));
    let group = data["groups"][0].as_i64().expect("group") as i32;
    anna.call("MarkRead", &[i(group), i(9)]).expect("MarkRead");
    let groups = json(anna.call("GetGroups", &[]).expect("GetGroups"));
    let sklad = groups
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["id"] == json!(group))
        .expect("the group");
    assert_eq!(sklad["unread"], json!(0));
    assert_eq!(sklad["last"]["text"], json!("после обновления"));
}

#[test]
fn clients_opening_an_old_store_together_upgrade_it_once() {
    let store = TempStore::new();
    restore_release_0_1(&store);
    let mut clients: Vec<Client> = (0..4).map(|_| Client::start(&[])).collect();
    let location = store.location();
    let opened: Vec<Json> = std::thread::scope(|scope| {
        let running: Vec<_> = clients
            .iter_mut()
            .map(|c| {
                let location = location.clone();
                scope.spawn(move || c.call("Open", json!([location, "Анна"])))
            })
            .collect();
        running.into_iter().map(|t| t.join().unwrap()).collect()
    });
    for r in &opened {
        assert_eq!(r["ok"], true, "{r}");
    }
    for c in &mut clients {
        let groups = c.call("GetGroups", json!([]));
        let groups: Json = serde_json::from_str(groups["value"].as_str().unwrap()).unwrap();
        assert_eq!(groups.as_array().unwrap().len(), 3);
    }
    assert_eq!(schema_version(&store), this_releases_version(&store));
    for c in clients {
        let fin = c.finish();
        assert_eq!(fin["violations"], json!([]), "{fin}");
    }
}

#[test]
fn a_store_made_by_a_newer_release_is_refused_with_a_clear_error() {
    let lib = library();
    let store = TempStore::new();
    drop(open(&lib, &store, "Ann"));
    if store.is_pg() {
        psql(
            &store.location(),
            "UPDATE chat1c.schema_version SET version = 99",
        );
    } else {
        let conn = rusqlite::Connection::open(&store.path).unwrap();
        conn.execute_batch("PRAGMA user_version = 99").unwrap();
    }
    for (lang, needle) in [("en", "newer version"), ("ru", "более новой версией")]
    {
        let mut o = create(&lib, lang);
        fails(&mut o, "Open", &[s(&store.location()), s("Ann")], needle);
        assert_eq!(o.get("IsOpen").unwrap(), Value::Bool(false));
    }
}

#[test]
fn another_applications_database_is_refused_and_left_byte_identical() {
    let lib = library();
    let store = TempStore::new();
    sqlite_only!(store);
    {
        let conn = rusqlite::Connection::open(&store.path).unwrap();
        conn.execute_batch(
            "CREATE TABLE chat_register(secret_column TEXT);
             CREATE TABLE invoices(id INTEGER PRIMARY KEY, total REAL);
             INSERT INTO invoices(total) VALUES (42.5);",
        )
        .unwrap();
    }
    let before = std::fs::read(&store.path).unwrap();
    for (lang, needle) in [
        ("en", "another application's database"),
        ("ru", "база данных другой программы"),
    ] {
        let mut o = create(&lib, lang);
        let text = fails(&mut o, "Open", &[s(&store.location()), s("Ann")], needle);
        assert!(
            !text.contains("CREATE") && !text.contains("secret_column"),
            "no schema in the text: {text}"
        );
    }
    assert_eq!(
        std::fs::read(&store.path).unwrap(),
        before,
        "not a byte changed"
    );
    let journal: String = rusqlite::Connection::open(&store.path)
        .unwrap()
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(journal, "delete", "no switch to WAL");
}
