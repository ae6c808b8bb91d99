//! Store faults: the file deleted or replaced while open, a folder that cannot be
//! written, a full disk, a corrupted file. Each gives a clear error in 1C (a non-empty
//! text, kept in LastError) and the add-in recovers or stays closed, without crashing.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::common::*;
use crate::sqlite_only;

fn clear_error(o: &mut Object, method: &str, args: &[Value]) -> String {
    let e = o
        .call(method, args)
        .expect_err(&format!("{method} should fail"));
    assert!(!e.message.trim().is_empty(), "{method}: empty error text");
    assert_ne!(e.scode, 0);
    assert_eq!(text(o.get("LastError").unwrap()), e.message);
    e.message
}

fn all_texts(o: &mut Object) -> Vec<String> {
    let groups = json(o.call("GetGroups", &[]).unwrap());
    let mut out = Vec::new();
    for g in groups.as_array().unwrap() {
        let id = g["id"].as_i64().unwrap() as i32;
        let page = json(o.call("GetMessages", &[i(id), i(0), i(1000)]).unwrap());
        out.extend(
            page.as_array()
                .unwrap()
                .iter()
                .map(|m| m["text"].as_str().unwrap().to_string()),
        );
    }
    out
}

fn remove_store(path: &Path) {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}

/// A message accepted by SendMessage must be readable by a fresh object on the same
/// Store; otherwise the call must fail with a text.
fn sent_is_durable_or_refused(lib: &Library, store: &TempStore, o: &mut Object, body: &str) {
    match o.call("SendMessage", &[s("t"), s(""), s(body)]) {
        Ok(_) => {
            let mut fresh = open(lib, store, "fresh");
            let texts = all_texts(&mut fresh);
            assert!(
                texts.iter().any(|t| t == body),
                "SendMessage returned an id but {body:?} is not in the store at {} (it went to the removed file)",
                store.location()
            );
        }
        Err(e) => {
            assert!(!e.message.trim().is_empty());
            println!("after the fault SendMessage failed with: {}", e.message);
        }
    }
}

#[test]
fn store_file_deleted_while_open() {
    let lib = library();
    let store = TempStore::new();
    sqlite_only!(store);
    let mut o = open(&lib, &store, "u");
    send(&mut o, "t", "", "before");
    remove_store(&store.path);
    sent_is_durable_or_refused(&lib, &store, &mut o, "after delete");
}

#[test]
fn store_file_replaced_while_open() {
    let lib = library();
    let store = TempStore::new();
    sqlite_only!(store);
    let mut o = open(&lib, &store, "u");
    send(&mut o, "t", "", "before");
    // Another, valid store is moved over the file (a restore from backup).
    let other = store.dir.path().join("other.sqlite");
    {
        let mut b = create(&lib, "en");
        b.call("Open", &[s(&other.display().to_string()), s("u")])
            .unwrap();
        send(&mut b, "t", "", "restored");
        b.call("Close", &[]).unwrap();
    }
    remove_store(&store.path);
    std::fs::rename(&other, &store.path).unwrap();
    sent_is_durable_or_refused(&lib, &store, &mut o, "after replace");
}

#[test]
fn store_deleted_or_replaced_while_open_never_crashes() {
    // The part of the two tests above that holds today: calls after the fault return
    // a value or a text, and a reopen sees the file that is there now.
    let lib = library();
    let store = TempStore::new();
    sqlite_only!(store);
    let mut o = open(&lib, &store, "u");
    send(&mut o, "t", "", "before");
    remove_store(&store.path);
    for m in ["GetGroups", "FillChat"] {
        if let Err(e) = o.call(m, &[]) {
            assert!(!e.message.trim().is_empty());
        }
    }
    let _ = o.call("SendMessage", &[s("t"), s(""), s("into the void")]);
    std::fs::write(&store.path, b"").unwrap();
    o.call("Open", &[s(&store.location()), s("u")])
        .expect("reopen on the new (empty) file");
    assert_eq!(
        json(o.call("GetGroups", &[]).unwrap()),
        serde_json::json!([])
    );
    o.call("Close", &[]).unwrap();
    remove_store(&store.path);
    std::fs::write(&store.path, vec![b'z'; 8192]).unwrap();
    let e = clear_error(&mut o, "Open", &[s(&store.location()), s("u")]);
    println!("a file replaced by junk: {e}");
    assert_eq!(o.get("IsOpen").unwrap(), Value::Bool(false), "stays closed");
    let d = o.destroy();
    assert_eq!(d.leaks, 0);
    assert!(d.violations.is_empty());
}

#[test]
fn folder_not_writable() {
    let lib = library();
    let store = TempStore::new();
    sqlite_only!(store);
    let dir = store.dir.path().join("locked");
    std::fs::create_dir(&dir).unwrap();
    let path = dir.join("chat.sqlite").display().to_string();
    {
        let mut o = create(&lib, "en");
        o.call("Open", &[s(&path), s("u")]).unwrap();
        send(&mut o, "t", "", "before the lock");
        o.destroy();
    }
    let new_store = dir.join("new.sqlite").display().to_string();
    let mut o = create(&lib, "en");
    if is_root() && !chattr("+i", &dir) {
        // Root ignores modes and the immutable flag is not allowed here: the locked
        // part runs as user nobody, for whom the folder and its files are read-only.
        let Some(mut r) = nobody_client(&store.dir.path().join("bin")) else {
            println!("skipped: root without chattr +i, and setpriv cannot switch users");
            return;
        };
        // Modes set explicitly: a umask of 0 would leave them writable by everyone.
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path, m: u32| {
            let _ = std::fs::set_permissions(p, std::fs::Permissions::from_mode(m));
        };
        mode(&dir, 0o755);
        for suffix in ["", "-wal", "-shm", "-journal"] {
            mode(Path::new(&format!("{path}{suffix}")), 0o644);
        }
        let e = r.call("Open", serde_json::json!([new_store, "u"]));
        assert_eq!(
            e["ok"], false,
            "new store in a folder nobody cannot write: {e}"
        );
        println!("new store in a locked folder (user nobody): {}", e["error"]);
        let opened = r.call("Open", serde_json::json!([path, "u"]));
        if opened["ok"] == true {
            let sent = r.call("SendMessage", serde_json::json!(["t", "", "as nobody"]));
            assert_eq!(sent["ok"], false, "nobody cannot write the file: {sent}");
            assert!(!sent["error"].as_str().unwrap_or_default().trim().is_empty());
            println!("existing store, SendMessage as nobody: {}", sent["error"]);
        } else {
            assert!(!opened["error"]
                .as_str()
                .unwrap_or_default()
                .trim()
                .is_empty());
            println!("existing store, Open as nobody: {}", opened["error"]);
        }
        r.finish();
    } else {
        folder_locked(&mut o, &dir, &path, &new_store);
    }
    // Recovers once the folder is writable again.
    o.call("Open", &[s(&path), s("u")])
        .expect("Open after unlocking");
    send(&mut o, "t", "", "after the lock");
    let texts = all_texts(&mut o);
    assert!(texts.iter().any(|x| x == "after the lock"));
    let d = o.destroy();
    assert_eq!(d.leaks, 0);
    assert!(d.violations.is_empty());
}

/// The locked part of [`folder_not_writable`] for this process: the folder is
/// immutable (root) or mode 0555, and unlocked again before returning.
fn folder_locked(o: &mut Object, dir: &Path, path: &str, new_store: &str) {
    use std::os::unix::fs::PermissionsExt;
    // Unlocks even when an assertion fails, so the temporary folder can be removed.
    struct Unlock(std::path::PathBuf);
    impl Drop for Unlock {
        fn drop(&mut self) {
            if is_root() {
                chattr("-i", &self.0);
            } else {
                let _ = std::fs::set_permissions(&self.0, std::fs::Permissions::from_mode(0o755));
            }
        }
    }
    if !is_root() {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o555)).unwrap();
    }
    let unlock = Unlock(dir.to_path_buf());
    let e = clear_error(o, "Open", &[s(new_store), s("u")]);
    println!("new store in a locked folder: {e}");
    // The existing store: its -wal/-shm may still exist (a watcher thread finishing
    // late keeps them), and existing files stay writable in an immutable folder. So a
    // send either fails with a text or succeeds for real (checked after unlocking).
    let mut accepted = false;
    match o.call("Open", &[s(path), s("u")]) {
        Ok(_) => match o.call("SendMessage", &[s("t"), s(""), s("in the locked folder")]) {
            Ok(_) => accepted = true,
            Err(e) => {
                assert!(!e.message.trim().is_empty());
                assert_eq!(text(o.get("LastError").unwrap()), e.message);
                println!(
                    "existing store in a locked folder, SendMessage: {}",
                    e.message
                );
            }
        },
        Err(e) => {
            assert!(!e.message.trim().is_empty());
            println!("existing store in a locked folder, Open: {}", e.message);
        }
    }
    drop(unlock);
    if accepted {
        println!("existing store in a locked folder: SendMessage worked (journal files present)");
        o.call("Open", &[s(path), s("u")])
            .expect("Open after unlocking");
        assert!(
            all_texts(o).iter().any(|x| x == "in the locked folder"),
            "an accepted message is stored"
        );
    }
}

struct Tmpfs(std::path::PathBuf);

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

#[test]
fn disk_full() {
    let lib = library();
    let store = TempStore::new();
    sqlite_only!(store);
    let mnt = store.dir.path().join("small");
    std::fs::create_dir(&mnt).unwrap();
    let mounted = is_root()
        && admin_allowed()
        && Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=2m", "tmpfs"])
            .arg(&mnt)
            .status()
            .is_ok_and(|s| s.success());
    if !mounted {
        println!("no tmpfs here (needs root and mount rights): a file-size limit instead");
        return file_size_limit(&store);
    }
    let _guard = Tmpfs(mnt.clone());
    let path = mnt.join("chat.sqlite").display().to_string();
    let mut o = create(&lib, "en");
    o.call("Open", &[s(&path), s("u")]).unwrap();
    let filler = mnt.join("filler");
    // Leave about 300 KiB free, then write until the disk is full.
    std::fs::write(&filler, vec![0u8; 1536 * 1024]).ok();
    // Just under the 10,000-character text limit, so only the disk can refuse it.
    let big = "x".repeat(9_000);
    let mut sent = 0;
    let err = loop {
        match o.call("SendMessage", &[s("t"), s(""), s(&big)]) {
            Ok(_) => sent += 1,
            Err(e) => break e,
        }
        assert!(sent < 1000, "the 2 MiB disk never filled");
    };
    println!("disk full after {sent} messages: {}", err.message);
    assert!(sent > 0, "the first message must fit: {}", err.message);
    assert!(!err.message.trim().is_empty());
    assert_ne!(err.scode, 0);
    // Reads still work, and writes resume once space is freed.
    o.call("GetGroups", &[]).expect("GetGroups on a full disk");
    std::fs::remove_file(&filler).unwrap();
    let mut ok = o.call("SendMessage", &[s("t"), s(""), s("after freeing space")]);
    if ok.is_err() {
        o.call("Open", &[s(&path), s("u")])
            .expect("reopen after freeing space");
        ok = o.call("SendMessage", &[s("t"), s(""), s("after freeing space")]);
    }
    ok.expect("SendMessage after freeing space");
    let d = o.destroy();
    assert_eq!(d.leaks, 0);
    assert!(d.violations.is_empty());
}

/// Where no small file system can be mounted: a client whose process may not grow a
/// file past 1 MiB (RLIMIT_FSIZE, with SIGXFSZ ignored so the write fails instead of
/// killing it). SQLite then fails the write as the full disk does, with an I/O error.
fn file_size_limit(store: &TempStore) {
    // Only the soft limit: raising a hard limit would need CAP_SYS_RESOURCE.
    const LIMIT: &str = "--fsize=1048576:";
    let wrapper = [
        "sh",
        "-c",
        "trap '' XFSZ; exec prlimit \"$0\" \"$@\"",
        LIMIT,
    ];
    let mut c = Client::start_via(
        &wrapper,
        &chat1c_host::cli_path(),
        &chat1c_host::addin_path(),
        &[],
    );
    let opened = c.call("Open", serde_json::json!([store.location(), "u"]));
    assert_eq!(opened["ok"], true, "{opened}");
    let big = "x".repeat(9_000);
    let mut sent = Vec::new();
    let err = loop {
        let r = c.call("SendMessage", serde_json::json!(["t", "", big]));
        if r["ok"] != true {
            break r;
        }
        sent.push(r["value"].as_i64().expect("an id"));
        if sent.len() == 1000 {
            println!("skipped: this system does not enforce RLIMIT_FSIZE (9 MB written)");
            return;
        }
    };
    println!(
        "file size limit after {} messages: {}",
        sent.len(),
        err["error"]
    );
    assert!(!sent.is_empty(), "the first message must fit: {err}");
    let text = err["error"].as_str().unwrap_or_default();
    assert!(
        text.contains("disk refused"),
        "a clear text, not SQLite's: {err}"
    );
    assert_ne!(err["scode"], 0, "{err}");
    let groups = c.call("GetGroups", serde_json::json!([]));
    assert_eq!(groups["ok"], true, "GetGroups at the limit: {groups}");
    // Lift the limit where this system lets us change another process's limits: the
    // same client writes again (after reopening if its connection gave up).
    let pid = c.child().id().to_string();
    let lifted = Command::new("prlimit")
        .args(["--pid", &pid, "--fsize=unlimited:"])
        .status()
        .is_ok_and(|s| s.success());
    if lifted {
        let mut after = c.call(
            "SendMessage",
            serde_json::json!(["t", "", "after the limit"]),
        );
        if after["ok"] != true {
            c.call("Open", serde_json::json!([store.location(), "u"]));
            after = c.call(
                "SendMessage",
                serde_json::json!(["t", "", "after the limit"]),
            );
        }
        assert_eq!(
            after["ok"], true,
            "SendMessage after lifting the limit: {after}"
        );
    } else {
        println!(
            "prlimit --pid is not allowed here: writes resume from a client without the limit"
        );
    }
    let done = c.finish();
    assert_eq!(done["leaks"], 0, "{done}");
    // A client without the limit: the store is sound, every message that got an id is
    // there, and writing goes on.
    let mut o = open(&library(), store, "u");
    let ids = ids(&json(
        o.call("GetMessages", &[i(1), i(0), i(1000)]).unwrap(),
    ));
    for id in &sent {
        assert!(
            ids.contains(id),
            "message {id} returned an id but is not stored"
        );
    }
    send(&mut o, "t", "", "from a client without the limit");
    let d = o.destroy();
    assert_eq!(d.leaks, 0);
}

#[test]
fn corrupted_file() {
    let lib = library();
    let store = TempStore::new();
    sqlite_only!(store);
    {
        let mut o = open(&lib, &store, "u");
        for n in 0..300 {
            send(
                &mut o,
                &format!("topic {}", n % 20),
                "",
                &format!("message {n} {}", "y".repeat(200)),
            );
        }
        o.destroy();
    }
    // The last connection to close (the watcher's or the checkpoint thread's, after
    // destroy returns) copies the WAL into the file and deletes it; with the disk busy
    // (a CI run fresh from a build) that took long enough to be read half done.
    let mut wal = store.path.clone().into_os_string();
    wal.push("-wal");
    assert!(
        eventually(Duration::from_secs(30), || !Path::new(&wal).exists()),
        "the WAL is copied into the file when the last connection closes"
    );
    // Overwrite everything after the header page with garbage.
    let mut bytes = std::fs::read(&store.path).unwrap();
    assert!(bytes.len() > 8192, "the store has several pages");
    for (k, b) in bytes.iter_mut().enumerate().skip(4096) {
        *b = (k * 31 % 251) as u8;
    }
    std::fs::write(&store.path, &bytes).unwrap();
    let mut o = create(&lib, "en");
    let mut texts = Vec::new();
    match o.call("Open", &[s(&store.location()), s("u")]) {
        Err(e) => texts.push(format!("Open: {}", e.message)),
        Ok(_) => {
            for m in ["GetGroups", "FillChat"] {
                if let Err(e) = o.call(m, &[]) {
                    assert!(!e.message.trim().is_empty());
                    texts.push(format!("{m}: {}", e.message));
                }
            }
            for (m, args) in [
                ("GetMessages", vec![i(1), i(0), i(50)]),
                (
                    "SendMessage",
                    vec![s("topic 1"), s(""), s("into a damaged file")],
                ),
            ] {
                if let Err(e) = o.call(m, &args) {
                    assert!(!e.message.trim().is_empty());
                    texts.push(format!("{m}: {}", e.message));
                }
            }
        }
    }
    println!("corrupted store: {texts:?}");
    assert!(!texts.is_empty(), "a damaged store must be reported");
    // A truncated file too.
    std::fs::write(&store.path, &bytes[..5000]).unwrap();
    let r = o.call("Open", &[s(&store.location()), s("u")]);
    if let Ok(()) = r.as_ref().map(|_| ()) {
        let _ = o.call("GetGroups", &[]);
    }
    // The object is still usable on a healthy store.
    let other = TempStore::new();
    o.call("Open", &[s(&other.location()), s("u")]).unwrap();
    send(&mut o, "t", "", "fine");
    let d = o.destroy();
    assert_eq!(d.leaks, 0);
    assert!(d.violations.is_empty());
}
