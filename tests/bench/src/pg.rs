//! PostgreSQL (BENCHMARKS.md sections 1, 3 and 4 on a PG store): a server from
//! CHAT1C_PG_URL or a throwaway cluster, then scale, latency and throughput through it.

use std::path::Path;
use std::process::{Command, Stdio};

use chat1c_host::testing::pg_url_with_db;
use chat1c_host::Library;

use crate::stats::Report;
use crate::{fanout, latency, scale, throughput, Cfg};

/// PostgreSQL: the same latency and throughput through a PG store, with a raw INSERT floor.
pub fn run(lib: &Library, cfg: &Cfg, report: &mut Report, with_scale: bool) {
    in_database_of_its_own(cfg, report, "bench", |report, url| {
        println!("\n-- PostgreSQL at {}", strip_password(url));
        // Scale first: the 8-writer run below leaves the machine loaded for a while.
        if with_scale {
            scale::postgres(lib, cfg, report, url);
            psql(url, "DROP SCHEMA IF EXISTS chat1c, chat1c_private CASCADE");
        }
        call_overhead(lib, cfg, report, url);
        latency::run(lib, cfg, report, "PostgreSQL", url);
        throughput::postgres(lib, cfg, report, url);
    });
}

/// 6b. Fan-out on PostgreSQL: N reader processes, each with its one connection.
pub fn fanout(cfg: &Cfg, report: &mut Report) {
    in_database_of_its_own(cfg, report, "fan-out", |report, url| {
        fanout::postgres(cfg, report, url)
    });
}

/// 2b. Idle cost on PostgreSQL: 50 idle objects, each process with its connection.
pub fn idle(lib: &Library, cfg: &Cfg, report: &mut Report) {
    in_database_of_its_own(cfg, report, "idle", |report, url| {
        crate::idle::postgres(lib, cfg, report, url)
    });
}

/// Runs `section` in a database of its own on the server (CHAT1C_PG_URL or the throwaway
/// cluster), dropped afterwards; skipped with a note when there is no server.
fn in_database_of_its_own(
    cfg: &Cfg,
    report: &mut Report,
    what: &str,
    section: impl FnOnce(&mut Report, &str),
) {
    let Some(base) = cfg.pg.clone().or_else(start_cluster) else {
        println!("\n-- PostgreSQL {what}: skipped (no server: tests/pg/cluster.sh start failed and CHAT1C_PG_URL unset)");
        report.note(format!("PostgreSQL {what}: skipped, no server"));
        return;
    };
    let db = format!("chat1c_{}_{}", what.replace('-', ""), std::process::id());
    psql(&base, &format!("CREATE DATABASE {db}"));
    section(report, &pg_url_with_db(&base, &db));
    psql(&base, &format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"));
}

/// The values psql prints for `sql` (unaligned, one per line) that parse as `T`.
pub fn psql_values<T: std::str::FromStr>(url: &str, sql: &str) -> Vec<T> {
    let out = Command::new("psql")
        .args(["-qAt", url, "-c", sql])
        .output()
        .expect("run psql");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

/// Starts the throwaway cluster of tests/pg/cluster.sh; its URL, or None when it cannot.
fn start_cluster() -> Option<String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../pg/cluster.sh");
    let out = Command::new("bash")
        .arg(script)
        .arg("start")
        .output()
        .ok()?;
    if !out.status.success() {
        eprintln!("{}", String::from_utf8_lossy(&out.stderr));
        return None;
    }
    String::from_utf8(out.stdout)
        .ok()?
        .lines()
        .last()
        .map(str::to_string)
}

/// Runs SQL with psql, quietly; panics when it fails.
pub fn psql(url: &str, sql: &str) {
    assert!(psql_may_fail(url, sql), "psql failed: {sql}");
}

/// Runs `sql` through psql; false when it failed.
pub fn psql_may_fail(url: &str, sql: &str) -> bool {
    Command::new("psql")
        .args(["-q", "-v", "ON_ERROR_STOP=1", url, "-c", sql])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn strip_password(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(a), Some(b)) if a < b => {
            let creds = &url[a + 3..b];
            let user = creds.split(':').next().unwrap_or("");
            format!("{}{}@{}", &url[..a + 3], user, &url[b + 1..])
        }
        _ => url.to_string(),
    }
}

/// What a call through the add-in's PostgreSQL connection costs beyond the server's work:
/// GetUnread on a near-empty store through the host, against the same API function
/// called by a tokio-postgres client on the calling thread (one round trip).
fn call_overhead(lib: &Library, cfg: &Cfg, report: &mut Report, url: &str) {
    let n = cfg.size(200, 1_000, 5_000);
    let mut o = crate::open(lib, url, "caller");
    o.call("GetUnread", &[]).unwrap();
    let mut through = Vec::with_capacity(n);
    for _ in 0..n {
        let t0 = chat1c_host::mono_ns();
        o.call("GetUnread", &[]).unwrap();
        through.push(chat1c_host::mono_ns() - t0);
    }
    o.destroy();
    let (rt, client) = crate::roles::raw_pg_client(url);
    let direct = rt.block_on(async {
        let session: String = client
            .query_one("SELECT session FROM chat1c.api_open('caller', '')", &[])
            .await
            .unwrap()
            .get(0);
        // As the add-in asks after its first call: what changed since the revision and
        // read-mark moves of the last answer.
        let first = client
            .query_one(
                "SELECT at_rev, at_moves FROM chat1c.api_unread($1)",
                &[&session],
            )
            .await
            .unwrap();
        let (rev, moves): (i64, i64) = (first.get(0), first.get(1));
        let st = client
            .prepare("SELECT * FROM chat1c.api_unread($1, $2, $3)")
            .await
            .unwrap();
        let mut direct = Vec::with_capacity(n);
        for _ in 0..n {
            let t0 = chat1c_host::mono_ns();
            client
                .query_one(&st, &[&session, &rev, &moves])
                .await
                .unwrap();
            direct.push(chat1c_host::mono_ns() - t0);
        }
        direct
    });
    report.add(
        "calls",
        "PostgreSQL: GetUnread through the host (a near-empty store)",
        &crate::stats::Summary::of(&through),
        Some((
            "api_unread from tokio-postgres on the calling thread",
            &crate::stats::Summary::of(&direct),
        )),
    );
}
