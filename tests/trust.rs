//! The attack suite: what a colleague with bad intent on the same machine or network
//! could try, through the host as 1C calls. On the machine: a symbolic link or a folder
//! planted in the shared default folder by another OS user (nobody), SQLite URI forms,
//! key=value connection strings taken for file names, look-alike names. On a
//! provisioned PostgreSQL store (needs CHAT1C_TEST_PG): psql with the client role's
//! credentials, forged, expired, foreign-secret and other-user tickets, Open without a
//! ticket, another user's conversation asked for directly, an old secret.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::*;
use serde_json::{json, Value as Json};

const SECRET: &str = "a long random secret, kept on the 1C server";

// ---- the shared default folder, attacked by another OS user ----

const AS_NOBODY: [&str; 4] = [
    "setpriv",
    "--reuid=65534",
    "--regid=65534",
    "--clear-groups",
];

/// Runs a shell command as user nobody; false when this machine cannot switch users.
fn as_nobody(script: &str) -> bool {
    Command::new(AS_NOBODY[0])
        .args(&AS_NOBODY[1..])
        .args(["sh", "-c", script])
        .status()
        .is_ok_and(|s| s.success())
}

/// A folder that user nobody may write in (the parent of the shared folder).
fn playground() -> Option<(tempfile::TempDir, PathBuf)> {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("temp dir");
    let open = std::fs::Permissions::from_mode(0o777);
    std::fs::set_permissions(dir.path(), open).expect("chmod");
    let shared = dir.path().join("chat1c");
    let probe = format!("test -w '{}'", dir.path().display());
    if !as_nobody(&probe) {
        eprintln!("skipped: user nobody cannot be used here (setpriv, or the temp folder is closed to it)");
        return None;
    }
    Some((dir, shared))
}

/// A 1C client (the host CLI) whose machine-wide default folder is `shared`.
fn client_with_default(shared: &Path) -> Client {
    let env = format!("CHAT1C_DEFAULT_DIR={}", shared.display());
    Client::start_via(
        &["env", &env],
        &chat1c_host::cli_path(),
        &chat1c_host::addin_path(),
        &[],
    )
}

#[test]
fn a_symlink_planted_in_the_shared_folder_is_never_followed() {
    let Some((dir, shared)) = playground() else {
        return;
    };
    let victim_file = dir.path().join("victims-profile");
    // The attacker makes the folder first, as it should be (sticky), and plants links
    // where the store and its journal will be.
    let plant = format!(
        "mkdir -m 1777 '{shared}' && ln -s '{victim}' '{shared}/chat1c.sqlite'",
        shared = shared.display(),
        victim = victim_file.display()
    );
    assert!(as_nobody(&plant), "plant the link");
    let mut victim = client_with_default(&shared);
    let r = victim.call("Open", json!(["", "victim"]));
    assert_eq!(r["ok"], false, "{r}");
    assert!(
        r["error"].as_str().unwrap().contains("symbolic link"),
        "{r}"
    );
    assert!(!victim_file.exists(), "the link's target was not created");
    // The same with the link at the journal.
    let replant = format!(
        "rm '{shared}/chat1c.sqlite' && ln -s '{victim}' '{shared}/chat1c.sqlite-wal'",
        shared = shared.display(),
        victim = victim_file.display()
    );
    assert!(as_nobody(&replant));
    let r = victim.call("Open", json!(["", "victim"]));
    assert_eq!(r["ok"], false, "{r}");
    assert!(!victim_file.exists());
    assert!(
        !shared.join("chat1c.sqlite").exists(),
        "nothing was made there"
    );
    victim.finish();
}

#[test]
fn a_shared_folder_made_by_another_user_without_the_sticky_bit_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let Some((_dir, shared)) = playground() else {
        return;
    };
    assert!(as_nobody(&format!("mkdir -m 0777 '{}'", shared.display())));
    for lang in ["en", "ru"] {
        let mut victim = client_with_default(&shared);
        if lang == "ru" {
            victim.finish();
            victim = Client::start_via(
                &["env", &format!("CHAT1C_DEFAULT_DIR={}", shared.display())],
                &chat1c_host::cli_path(),
                &chat1c_host::addin_path(),
                &["--lang", "ru"],
            );
        }
        let r = victim.call("Open", json!(["", "victim"]));
        assert_eq!(r["ok"], false, "{r}");
        let text = r["error"].as_str().unwrap();
        let needle = if lang == "ru" { "бит" } else { "sticky bit" };
        assert!(text.contains(needle), "{text}");
        victim.finish();
    }
    let mode = std::fs::metadata(&shared).unwrap().permissions().mode();
    assert_eq!(
        mode & 0o7777,
        0o777,
        "another user's folder is left as it was"
    );
    assert_eq!(
        std::fs::read_dir(&shared).unwrap().count(),
        0,
        "nothing made in it"
    );
}

#[test]
fn the_shared_folder_is_made_sticky_and_its_store_usable_by_every_user() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let shared = dir.path().join("made").join("chat1c");
    let mut first = client_with_default(&shared);
    assert_eq!(first.call("Open", json!(["", "Ann"]))["ok"], true);
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode(&shared), 0o1777, "like /tmp");
    assert_eq!(mode(&shared.join("chat1c.sqlite")), 0o666);
    first.finish();
}

// ---- Store strings ----

#[test]
fn sqlite_uri_forms_and_memory_stores_are_refused() {
    let lib = library();
    let cwd = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let n = dir.path().join("n.db");
    let n = n.display();
    for store in [
        format!("file:{n}?vfs=unix-none"),
        format!("{n}?nolock=1"),
        format!("{n}?mode=memory"),
        ":memory:".to_string(),
        "file::memory:".to_string(),
        "FILE:chat.db".to_string(),
    ] {
        let mut o = create(&lib, "en");
        fails(
            &mut o,
            "Open",
            &[s(&store), s("Ann")],
            "file path or a PostgreSQL",
        );
        assert_eq!(o.get("IsOpen").unwrap(), Value::Bool(false));
    }
    let mut ru = create(&lib, "ru");
    fails(
        &mut ru,
        "Открыть",
        &[s(":memory:"), s("Анна")],
        "путь к файлу",
    );
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "no file made"
    );
    assert_eq!(std::fs::read_dir(cwd.path()).unwrap().count(), 0);
    assert!(!Path::new("file:").exists(), "no stray file: folder here");
}

#[test]
fn key_value_connection_strings_never_become_files_nor_show_the_password() {
    let lib = library();
    let dir = tempfile::tempdir().unwrap();
    // Port 1: nothing listens there, so the connection fails at once.
    for store in [
        "password=S3cret host=127.0.0.1 port=1 dbname=chat".to_string(),
        "dbname=chat password=S3cret port=1 host=127.0.0.1".to_string(),
        "host = 127.0.0.1 port = 1 password = S3cret".to_string(),
        format!("{}/x password=S3cret", dir.path().display()),
    ] {
        let mut o = create(&lib, "en");
        let err = o
            .call("Open", &[s(&store), s("Ann")])
            .expect_err("no such server");
        assert!(!err.message.contains("S3cret"), "{}", err.message);
        let last = text(o.get("LastError").unwrap());
        assert!(!last.contains("S3cret"), "{last}");
        assert_eq!(text(o.get("Store").unwrap()), "");
    }
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "no file made"
    );
    for leftover in std::fs::read_dir(".").unwrap() {
        let name = leftover.unwrap().file_name();
        assert!(!name.to_string_lossy().contains("password"), "{name:?}");
    }
}

// ---- names (both stores) ----

#[test]
fn look_alike_names_are_refused_and_compatibility_forms_are_one_user() {
    let lib = library();
    let store = TempStore::new();
    for bad in [
        "An\u{200B}na",
        "\u{202E}annA",
        "Ann\u{2066}a",
        "Anna\u{FEFF}",
    ] {
        let mut o = create(&lib, "en");
        fails(&mut o, "Open", &[s(&store.location()), s(bad)], "invisible");
    }
    let mut kate = open(&lib, &store, "\u{212A}ate");
    assert_eq!(
        text(kate.get("User").unwrap()),
        "Kate",
        "shown in plain letters"
    );
    fails(
        &mut kate,
        "SendMessage",
        &[s("t"), s("Bo\u{200D}b"), s("x")],
        "invisible",
    );
    fails(
        &mut kate,
        "SendMessage",
        &[s("To\u{200B}pic"), s("Bob"), s("x")],
        "invisible",
    );
    // The Kelvin sign again in the list: still the same Kate, not a second member.
    send(&mut kate, "Deal", "\u{212A}ATE; Bob", "one Kate");
    let mut plain = open(&lib, &store, "kate");
    let groups = json(plain.call("GetGroups", &[]).unwrap());
    assert_eq!(groups[0]["participants"], json!(["KATE", "Bob"]));
    drop(plain);
}

#[test]
fn participants_that_name_nobody_are_refused() {
    let lib = library();
    let store = TempStore::new();
    let mut o = open(&lib, &store, "Ann");
    for nobody in [";;;", "[]", r#"["", " "]"#, " , "] {
        fails(
            &mut o,
            "SendMessage",
            &[s("t"), s(nobody), s("x")],
            "name nobody",
        );
    }
    let groups = json(o.call("GetGroups", &[]).unwrap());
    assert_eq!(groups, json!([]), "no public topic was made");
}

// ---- a provisioned PostgreSQL store ----

fn server() -> Option<String> {
    let url = std::env::var("CHAT1C_TEST_PG")
        .ok()
        .filter(|u| !u.is_empty());
    if url.is_none() {
        println!(
            "CHAT1C_TEST_PG is not set: PostgreSQL attacks not run (tests/pg/cluster.sh start)"
        );
    }
    url
}

/// psql as someone; the error text when it fails.
fn psql_as(url: &str, sql: &str) -> Result<String, String> {
    let out = Command::new("psql")
        .args(["-qAt", "-v", "ON_ERROR_STOP=1", url, "-c", sql])
        .output()
        .expect("run psql");
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).to_string())
    }
}

/// The client role of one provisioned store, dropped with it.
struct Provisioned {
    owner_url: String,
    client_url: String,
    role: String,
    base: String,
}

impl Drop for Provisioned {
    fn drop(&mut self) {
        let _ = psql_as(&self.owner_url, &format!("DROP OWNED BY {}", self.role));
        let _ = psql_as(&self.base, &format!("DROP ROLE IF EXISTS {}", self.role));
    }
}

static ROLES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// A store provisioned through the add-in (as an administrator does from 1C).
fn provision(base: &str, store: &TempStore) -> Provisioned {
    let n = ROLES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let role = format!("chat_client_{}_{n}", std::process::id());
    psql(
        base,
        &format!("DROP ROLE IF EXISTS {role}; CREATE ROLE {role} LOGIN PASSWORD 'client-pw'"),
    );
    let owner_url = store.location();
    // As an installation of release 0.1.0 left it: the store made, and the client role
    // given the grants that release documented. Provision must take them back.
    drop(open(&library(), store, "owner"));
    psql(
        &owner_url,
        &format!(
            "GRANT USAGE ON SCHEMA chat1c TO {role};
             GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA chat1c TO {role};
             GRANT USAGE ON ALL SEQUENCES IN SCHEMA chat1c TO {role};
             GRANT SELECT ON ALL TABLES IN SCHEMA chat1c TO PUBLIC;"
        ),
    );
    let mut admin = create(&library(), "en");
    admin
        .call("Provision", &[s(&owner_url), s(&role), s(SECRET)])
        .expect("Provision");
    let client_url = owner_url.replacen("chat1c:chat1c-pw@", &format!("{role}:client-pw@"), 1);
    Provisioned {
        owner_url,
        client_url,
        role,
        base: base.to_string(),
    }
}

fn ticket(secret: &str, user: &str) -> String {
    let mut server_side = create(&library(), "en");
    text(
        server_side
            .call("IssueTicket", &[s(secret), s(user), i(60)])
            .expect("IssueTicket"),
    )
}

fn open_with(store: &str, user: &str, ticket: &str) -> Object {
    let mut o = create(&library(), "en");
    o.call("Open", &[s(store), s(user), s(ticket)])
        .expect("Open with a ticket");
    o
}

#[test]
fn with_the_client_roles_credentials_psql_reads_no_chat_table() {
    let Some(base) = server() else { return };
    let store = TempStore::new();
    let p = provision(&base, &store);
    let mut anna = open_with(&p.client_url, "Анна", &ticket(SECRET, "Анна"));
    send(&mut anna, "Зарплата", "Борис", "секретно");
    for table in [
        "chat1c.register",
        "chat1c.groups",
        "chat1c.members",
        "chat1c.reads",
        "chat1c_private.secret",
        "chat1c_private.sessions",
    ] {
        let r = psql_as(&p.client_url, &format!("SELECT * FROM {table}"));
        assert!(
            r.as_ref().is_err_and(|e| e.contains("permission denied")),
            "{table}: {r:?}"
        );
    }
    for write in [
        "INSERT INTO chat1c.register(group_id, period, publisher, publisher_key, participants, topic, message) VALUES (1, 0, 'x', 'x', '[]', 't', 'm')",
        "UPDATE chat1c.register SET message = 'x'",
        "SELECT chat1c_private.viewer('x')",
        "CREATE TABLE chat1c.spy(x int)",
    ] {
        assert!(psql_as(&p.client_url, write).is_err(), "{write}");
    }
    // The API without a session or a ticket gives nothing.
    for call in [
        "SELECT * FROM chat1c.api_groups('guessed')",
        "SELECT * FROM chat1c.api_groups('guessed', 5)",
        "SELECT * FROM chat1c.api_unread('guessed')",
        // The helper that lists a user's groups belongs to the owner's functions only.
        "SELECT * FROM chat1c_private.visible_groups('анна', NULL)",
    ] {
        let r = psql_as(&p.client_url, call);
        let refused = |e: &String| e.contains("session ended") || e.contains("permission denied");
        assert!(r.is_err_and(|e| refused(&e)), "{call}");
    }
    let r = psql_as(&p.client_url, "SELECT * FROM chat1c.api_open('Анна', '')");
    assert!(r.is_err_and(|e| e.contains("requires a ticket")));
    // The owner still sees it: the data is there.
    assert_eq!(
        psql(&p.owner_url, "SELECT message FROM chat1c.register"),
        "секретно"
    );
}

#[test]
fn with_the_client_roles_credentials_the_summaries_are_neither_read_nor_forged() {
    let Some(base) = server() else { return };
    let store = TempStore::new();
    let p = provision(&base, &store);
    let mut anna = open_with(&p.client_url, "Анна", &ticket(SECRET, "Анна"));
    send(&mut anna, "Зарплата", "Борис", "секретно, @Борис");
    let mut boris = open_with(&p.client_url, "Борис", &ticket(SECRET, "Борис"));
    let before = json(boris.call("GetGroups", &[]).unwrap());
    assert_eq!(
        (before[0]["unread"].clone(), before[0]["mentions"].clone()),
        (json!(1), json!(1))
    );
    // Nobody's counts, last messages or read marks can be read…
    for read in [
        "SELECT * FROM chat1c.summary",
        "SELECT seen, mentioned FROM chat1c.reads",
        "SELECT marks FROM chat1c.groups",
        "SELECT * FROM chat1c.mark_moves",
    ] {
        let r = psql_as(&p.client_url, read);
        assert!(
            r.as_ref().is_err_and(|e| e.contains("permission denied")),
            "{read}: {r:?}"
        );
    }
    // …nor forged, nor the triggers that keep them turned off or called by hand.
    for forge in [
        "UPDATE chat1c.summary SET live = 100, message = 'подделка'",
        "INSERT INTO chat1c.summary(group_id, live) VALUES (999, 5)",
        "UPDATE chat1c.reads SET seen = 0, mentioned = 9",
        "INSERT INTO chat1c.reads(user_key, group_id, up_to, seen) VALUES ('борис', 1, 0, -5)",
        "UPDATE chat1c.groups SET marks = '{}'",
        "UPDATE chat1c.mark_moves SET moves = 0",
        "SELECT chat1c_private.summary_add()",
        "SELECT chat1c_private.reads_count()",
        "ALTER TABLE chat1c.summary DISABLE TRIGGER ALL",
        "DROP TRIGGER register_summary ON chat1c.register",
    ] {
        assert!(psql_as(&p.client_url, forge).is_err(), "{forge}");
    }
    // Eve's own session shows her own counts only: Anna's conversation is not hers.
    let session = psql_as(
        &p.client_url,
        &format!(
            "SELECT session FROM chat1c.api_open('Ева', '{}')",
            ticket(SECRET, "Ева")
        ),
    )
    .expect("Eve's own session");
    let seen = psql_as(
        &p.client_url,
        &format!("SELECT count(*) FROM chat1c.api_groups('{session}')"),
    );
    assert_eq!(seen.as_deref(), Ok("0"));
    // Asking GetUnread's server side for every change since revision 0 (the add-in
    // passes the revision it last counted at) names no group she does not see.
    for since in ["0, 0", "-1, 0", "0, NULL", "NULL, NULL"] {
        let unread = psql_as(
            &p.client_url,
            &format!(
                "SELECT ids::TEXT || unread::TEXT || mentions::TEXT FROM chat1c.api_unread('{session}', {since})"
            ),
        );
        assert_eq!(unread.as_deref(), Ok("{}{}{}"), "since {since}");
    }
    assert_eq!(json(boris.call("GetGroups", &[]).unwrap()), before);
    assert_eq!(
        psql(
            &p.owner_url,
            "SELECT live || ' ' || message FROM chat1c.summary"
        ),
        "1 секретно, @Борис"
    );
}

#[test]
fn forged_expired_foreign_and_other_users_tickets_open_nothing() {
    let Some(base) = server() else { return };
    let store = TempStore::new();
    let p = provision(&base, &store);
    let good = ticket(SECRET, "Анна");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let expired = chat1c::ticket::issue(SECRET, "Анна", 60, now - 2 * 3600).unwrap();
    let foreign = ticket("another secret of another firm", "Анна");
    let parts: Vec<&str> = good.split('.').collect();
    let boss_payload = {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(json!({"u": "Директор", "iat": now, "exp": now + 3600}).to_string())
    };
    let forged = format!("{}.{}.{}", parts[0], boss_payload, parts[2]);
    for (who, t, needle) in [
        ("Анна", "", "only with a ticket"),
        ("Анна", "nonsense", "not valid"),
        ("Директор", forged.as_str(), "not valid"),
        ("Анна", foreign.as_str(), "not valid"),
        ("Директор", good.as_str(), "not valid"),
        ("Анна", expired.as_str(), "expired"),
    ] {
        let mut o = create(&library(), "en");
        fails(&mut o, "Open", &[s(&p.client_url), s(who), s(t)], needle);
        assert_eq!(o.get("IsOpen").unwrap(), Value::Bool(false));
    }
    assert_eq!(
        psql(&p.owner_url, "SELECT count(*) FROM chat1c_private.sessions"),
        "0",
        "no session was opened"
    );
    let o = open_with(&p.client_url, "анна", &good);
    assert_eq!(
        text(o.get("User").unwrap()),
        "Анна",
        "the ticket's spelling"
    );
}

#[test]
fn a_valid_ticket_sees_exactly_what_the_chat_shows_its_user() {
    let Some(base) = server() else { return };
    let store = TempStore::new();
    let p = provision(&base, &store);
    let mut anna = open_with(&p.client_url, "Анна", &ticket(SECRET, "Анна"));
    let private = send(&mut anna, "Зарплата", "Борис", "секретно");
    send(&mut anna, "Новости", "", "для всех");
    let private_group = json(anna.call("GetGroups", &[]).unwrap())
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["topic"] == "Зарплата")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    // Eve holds a genuine ticket of her own and the client role's password.
    let eve_ticket = ticket(SECRET, "Ева");
    let session = psql_as(
        &p.client_url,
        &format!("SELECT session FROM chat1c.api_open('Ева', '{eve_ticket}')"),
    )
    .expect("Eve's own session");
    let groups = psql_as(
        &p.client_url,
        &format!("SELECT g_topic FROM chat1c.api_groups('{session}')"),
    )
    .unwrap();
    assert_eq!(groups, "Новости", "only the public topic");
    let r = psql_as(
        &p.client_url,
        &format!("SELECT * FROM chat1c.api_messages('{session}', {private_group}, 0, 0, 100)"),
    );
    assert!(r.is_err_and(|e| e.contains("no such conversation")));
    let r = psql_as(
        &p.client_url,
        &format!("SELECT chat1c.api_mark_read('{session}', {private_group}, {private})"),
    );
    assert!(r.is_err_and(|e| e.contains("no such conversation")));
    // She cannot speak as Anna either: the publisher is the session's user.
    psql_as(
        &p.client_url,
        &format!(
            "SELECT * FROM chat1c.api_send('{session}', NULL, 'Новости', '[]', 'от Евы', 0, NULL, NULL, NULL, NULL)"
        ),
    )
    .unwrap();
    // Nor change what Anna wrote, seen or unseen.
    let public_id = psql(
        &p.owner_url,
        "SELECT id FROM chat1c.register WHERE message = 'для всех'",
    );
    for (msg, refusal) in [
        (private.to_string(), "no such message"),
        (public_id, "not the publisher"),
    ] {
        for call in [
            format!("SELECT * FROM chat1c.api_edit('{session}', {msg}, 'подделка', 0)"),
            format!("SELECT * FROM chat1c.api_delete('{session}', {msg})"),
        ] {
            let r = psql_as(&p.client_url, &call);
            assert!(
                r.as_ref().is_err_and(|e| e.contains(refusal)),
                "{call}: {r:?}"
            );
        }
    }
    let publishers = psql(
        &p.owner_url,
        "SELECT string_agg(publisher, ',' ORDER BY id) FROM chat1c.register",
    );
    assert_eq!(publishers, "Анна,Анна,Ева");
    // A file of Anna's private conversation stays hers; a file Eve claims is an image
    // but is not gets no image type (the page shows only images inline).
    let id = number(
        anna.call(
            "SendFile",
            &[
                s("Зарплата"),
                s("Борис"),
                s("ведомость.pdf"),
                Value::Blob(b"%PDF-1.7 secret".to_vec()),
            ],
        )
        .unwrap(),
    );
    let fid = psql(
        &p.owner_url,
        &format!("SELECT id FROM chat1c.files WHERE message_id = {id}"),
    );
    let r = psql_as(
        &p.client_url,
        &format!("SELECT chat1c.api_file('{session}', {fid})"),
    );
    assert!(r.is_err_and(|e| e.contains("no such file")));
    psql_as(
        &p.client_url,
        &format!(
            "SELECT * FROM chat1c.api_send('{session}', NULL, 'Новости', '[]', '', 0, NULL, 'x.png', 'image/png', 'MZ not a png'::bytea)"
        ),
    )
    .expect("Eve's file");
    assert_eq!(
        psql(
            &p.owner_url,
            "SELECT type FROM chat1c.files WHERE name = 'x.png'"
        ),
        "application/octet-stream"
    );
    // Through the add-in, the same.
    let mut eve = open_with(&p.client_url, "Ева", &eve_ticket);
    fails(
        &mut eve,
        "GetMessages",
        &[i(private_group as i32)],
        "not available to you",
    );
}

#[test]
fn a_new_secret_ends_every_session_and_ticket() {
    let Some(base) = server() else { return };
    let store = TempStore::new();
    let p = provision(&base, &store);
    let old_ticket = ticket(SECRET, "Анна");
    let mut anna = open_with(&p.client_url, "Анна", &old_ticket);
    send(&mut anna, "t", "", "before");
    let mut admin = create(&library(), "en");
    let rotated = "a brand new secret after the leak";
    admin
        .call("Provision", &[s(&p.owner_url), s(&p.role), s(rotated)])
        .expect("rotate");
    fails(&mut anna, "GetGroups", &[], "session");
    let mut again = create(&library(), "en");
    fails(
        &mut again,
        "Open",
        &[s(&p.client_url), s("Анна"), s(&old_ticket)],
        "not valid",
    );
    let mut fresh = open_with(&p.client_url, "Анна", &ticket(rotated, "Анна"));
    assert_eq!(
        json(fresh.call("GetGroups", &[]).unwrap())[0]["last"]["text"],
        "before"
    );
    // Provision again with the same secret changes nothing: the session lives on.
    admin
        .call("Provision", &[s(&p.owner_url), s(&p.role), s(rotated)])
        .expect("idempotent");
    assert!(fresh.call("GetGroups", &[]).is_ok());
}

#[test]
fn sessions_slide_while_used_and_end_after_a_week_unused() {
    let Some(base) = server() else { return };
    let store = TempStore::new();
    let p = provision(&base, &store);
    let mut anna = open_with(&p.client_url, "Анна", &ticket(SECRET, "Анна"));
    psql(
        &p.owner_url,
        "UPDATE chat1c_private.sessions SET seen = now() - interval '6 days'",
    );
    assert!(
        anna.call("GetGroups", &[]).is_ok(),
        "six days idle: still open"
    );
    let seen = psql(
        &p.owner_url,
        "SELECT seen > now() - interval '1 minute' FROM chat1c_private.sessions",
    );
    assert_eq!(seen, "t", "a use slides the session");
    psql(
        &p.owner_url,
        "UPDATE chat1c_private.sessions SET seen = now() - interval '8 days'",
    );
    fails(&mut anna, "GetGroups", &[], "ended");
}

/// LISTENs as the client role for three seconds; the payloads heard.
fn payloads_heard(url: &str, ready: std::sync::mpsc::Sender<()>) -> Vec<String> {
    use tokio_postgres::AsyncMessage;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let (client, mut conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .expect("connect as the client role");
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Some(Ok(message)) = std::future::poll_fn(|cx| conn.poll_message(cx)).await {
                if let AsyncMessage::Notification(n) = message {
                    let _ = tx.send(n.payload().to_string());
                }
            }
        });
        client
            .batch_execute("LISTEN chat1c_new")
            .await
            .expect("LISTEN");
        let _ = ready.send(());
        tokio::time::sleep(Duration::from_secs(3)).await;
        let mut heard = Vec::new();
        while let Ok(payload) = rx.try_recv() {
            heard.push(payload);
        }
        heard
    })
}

#[test]
fn events_reach_the_users_of_a_provisioned_store_and_notify_carries_no_text() {
    let Some(base) = server() else { return };
    let store = TempStore::new();
    let p = provision(&base, &store);
    let (ready, listening) = std::sync::mpsc::channel();
    let listener = {
        let url = p.client_url.clone();
        std::thread::spawn(move || payloads_heard(&url, ready))
    };
    listening.recv().expect("the listener is listening");
    let mut anna = open_with(&p.client_url, "Анна", &ticket(SECRET, "Анна"));
    let boris = open_with(&p.client_url, "Борис", &ticket(SECRET, "Борис"));
    let id = send(&mut anna, "Зарплата", "Борис", "секретный текст");
    let e = boris
        .events()
        .wait(Duration::from_secs(10))
        .expect("Борис is told");
    let data: Json = serde_json::from_str(&e.data).unwrap();
    assert_eq!(data["cursor"], json!(id));
    let heard = listener.join().unwrap();
    assert!(
        !heard.is_empty(),
        "the client role's LISTEN heard the change"
    );
    assert!(
        heard.iter().all(|payload| payload
            .chars()
            .all(|c| c.is_ascii_digit() || ",:".contains(c))),
        "ids at most, never text or names: {heard:?}"
    );
}

#[test]
fn provision_refuses_what_would_leave_the_store_open() {
    let Some(base) = server() else { return };
    let store = TempStore::new();
    drop(open(&library(), &store, "owner"));
    let mut admin = create(&library(), "en");
    let owner_role = "chat1c"; // the test cluster's superuser, who owns the schema
    fails(
        &mut admin,
        "Provision",
        &[s(&store.location()), s(owner_role), s(SECRET)],
        "superuser",
    );
    fails(
        &mut admin,
        "Provision",
        &[s(&store.location()), s("no_such_role_here"), s(SECRET)],
        "no such role",
    );
    fails(
        &mut admin,
        "Provision",
        &[s(&store.location()), s("x\"; DROP TABLE y; --"), s(SECRET)],
        "plain role name",
    );
    fails(
        &mut admin,
        "Provision",
        &[s(&store.location()), s("chat_user"), s("short")],
        "at least 16 bytes",
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("c.sqlite");
    fails(
        &mut admin,
        "Provision",
        &[s(&file.display().to_string()), s("chat_user"), s(SECRET)],
        "only a PostgreSQL store",
    );
    let _ = base;
}
