//! `chat1c-host [--lib PATH] [--lang en|ru] [--depth N] [--class NAME] [SCRIPT|-]`
//!
//! Drives a Native API add-in as 1C would, one JSON command per line (from SCRIPT or stdin),
//! printing one JSON line per result and per event. See host/README.md for the commands.

use chat1c_host::{mono_ns, Events, Library, Object, Options, Value};
use serde_json::{json, Map, Value as Json};
use std::io::{BufRead, Write};
use std::time::{Duration, Instant};

const USAGE: &str =
    "usage: chat1c-host [--lib PATH] [--lang en|ru] [--depth N] [--class NAME] [SCRIPT|-]";

struct Args {
    lib: std::path::PathBuf,
    lang: String,
    depth: Option<i32>,
    class: String,
    script: Option<String>,
}

fn parse_args() -> Result<Args, String> {
    let default_lib = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(|d| d.to_path_buf()))
        .unwrap_or_default()
        .join(format!(
            "{}chat1c{}",
            std::env::consts::DLL_PREFIX,
            std::env::consts::DLL_SUFFIX
        ));
    let mut a = Args {
        lib: default_lib,
        lang: "en".into(),
        depth: None,
        class: "Chat".into(),
        script: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--lib" => a.lib = value("--lib")?.into(),
            "--lang" => a.lang = value("--lang")?,
            "--class" => a.class = value("--class")?,
            "--depth" => {
                a.depth = Some(
                    value("--depth")?
                        .parse()
                        .map_err(|_| "--depth needs a number".to_string())?,
                )
            }
            "-h" | "--help" => return Err(USAGE.into()),
            s if s.starts_with("--") => return Err(format!("unknown option {s}\n{USAGE}")),
            s => a.script = Some(s.to_string()),
        }
    }
    Ok(a)
}

/// Prints one JSON line (with "mono_ns") and flushes, so pipes see it at once.
fn emit(mut v: Map<String, Json>) {
    v.insert("mono_ns".into(), json!(mono_ns()));
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{}", Json::Object(v));
    let _ = out.flush();
}

fn obj(v: Json) -> Map<String, Json> {
    match v {
        Json::Object(m) => m,
        _ => Map::new(),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Result<Vec<u8>, String> {
    if !s.len().is_multiple_of(2) {
        return Err("odd hex length".into());
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2).unwrap_or(""), 16).map_err(|e| e.to_string()))
        .collect()
}

fn parse_tm(s: &str) -> Result<Value, String> {
    // YYYY-MM-DDTHH:MM:SS
    let bad = || format!("bad tm {s:?}, want YYYY-MM-DDTHH:MM:SS");
    let num = |r: std::ops::Range<usize>| s.get(r).and_then(|x| x.parse::<u32>().ok());
    if s.len() != 19 {
        return Err(bad());
    }
    Ok(Value::Tm {
        year: num(0..4).ok_or_else(bad)? as i32,
        month: num(5..7).ok_or_else(bad)?,
        day: num(8..10).ok_or_else(bad)?,
        hour: num(11..13).ok_or_else(bad)?,
        min: num(14..16).ok_or_else(bad)?,
        sec: num(17..19).ok_or_else(bad)?,
    })
}

fn to_value(j: &Json) -> Result<Value, String> {
    Ok(match j {
        Json::Null => Value::Empty,
        Json::Bool(b) => Value::Bool(*b),
        Json::String(s) => Value::Str(s.clone()),
        Json::Number(n) => match n.as_i64().map(i32::try_from) {
            Some(Ok(i)) => Value::I4(i),
            _ => Value::R8(n.as_f64().unwrap_or(f64::NAN)),
        },
        Json::Object(m) => {
            if m.get("vt").and_then(Json::as_str) == Some("NULL") {
                Value::Null
            } else if let Some(h) = m.get("blob").and_then(Json::as_str) {
                Value::Blob(unhex(h)?)
            } else if let Some(u) = m.get("utf16").and_then(Json::as_array) {
                Value::Utf16(
                    u.iter()
                        .map(|x| x.as_u64().and_then(|x| u16::try_from(x).ok()))
                        .collect::<Option<Vec<u16>>>()
                        .ok_or("utf16 wants an array of 0..65535")?,
                )
            } else if let Some(vt) = m.get("vt_raw").and_then(Json::as_u64) {
                Value::Raw {
                    vt: u16::try_from(vt).map_err(|_| "vt_raw wants 0..65535")?,
                }
            } else if let Some(t) = m.get("tm").and_then(Json::as_str) {
                parse_tm(t)?
            } else if let Some(d) = m.get("date").and_then(Json::as_f64) {
                Value::Date(d)
            } else {
                return Err(format!("unknown value {j}"));
            }
        }
        Json::Array(_) => return Err("arrays are not 1C values".into()),
    })
}

fn to_json(v: &Value) -> Json {
    match v {
        Value::Empty => Json::Null,
        Value::Null => json!({"vt": "NULL"}),
        Value::Bool(b) => json!(b),
        Value::I4(i) => json!(i),
        Value::R8(f) => json!(f),
        Value::Str(s) => json!(s),
        Value::Utf16(u) => json!({ "utf16": u }),
        Value::Blob(b) => json!({"blob": hex(b)}),
        Value::Tm {
            year,
            month,
            day,
            hour,
            min,
            sec,
        } => {
            json!({"tm": format!("{year:04}-{month:02}-{day:02}T{hour:02}:{min:02}:{sec:02}")})
        }
        Value::Date(d) => json!({ "date": d }),
        Value::Raw { vt } => json!({ "vt_raw": vt }),
    }
}

fn print_event(ev: &chat1c_host::Event) {
    emit(obj(json!({"event": {
        "source": ev.source, "message": ev.message, "data": ev.data, "mono_ns": ev.mono_ns
    }})));
}

fn result(r: Result<Value, chat1c_host::CallError>) -> Map<String, Json> {
    match r {
        Ok(v) => obj(json!({"ok": true, "value": to_json(&v)})),
        Err(e) => obj(json!({"ok": false, "error": e.message, "wcode": e.wcode, "scode": e.scode})),
    }
}

fn fail(msg: impl Into<String>) -> Map<String, Json> {
    obj(json!({"ok": false, "error": msg.into()}))
}

struct Session {
    lib: Library,
    opts: Options,
    class: String,
    depth: Option<i32>,
    obj: Option<Object>,
    events: Option<Events>,
}

impl Session {
    fn create(&mut self) -> Result<(), String> {
        let o = self
            .lib
            .create(&self.class, &self.opts)
            .map_err(|e| e.message)?;
        let events = o.events();
        if let Some(d) = self.depth {
            events.set_depth(d);
        }
        self.events = Some(events);
        self.obj = Some(o);
        Ok(())
    }

    fn destroy(&mut self) -> usize {
        self.obj.take().map(|o| o.destroy().leaks).unwrap_or(0)
    }

    fn pump_for(&self, ms: u64, max: Option<usize>) -> usize {
        let Some(ev) = &self.events else { return 0 };
        let end = Instant::now() + Duration::from_millis(ms);
        let mut n = 0;
        loop {
            let now = Instant::now();
            if now >= end || max.is_some_and(|m| n >= m) {
                return n;
            }
            if let Some(e) = ev.wait(end - now) {
                print_event(&e);
                n += 1;
            }
        }
    }

    fn run(&mut self, line: &str) -> Map<String, Json> {
        let cmd: Json = match serde_json::from_str(line) {
            Ok(c) => c,
            Err(e) => return fail(format!("bad JSON: {e}")),
        };
        let name = cmd.get("name").and_then(Json::as_str).unwrap_or("");
        let ms = cmd.get("ms").and_then(Json::as_u64).unwrap_or(0);
        match cmd.get("cmd").and_then(Json::as_str).unwrap_or("") {
            "call" => {
                let args: Result<Vec<Value>, String> = cmd
                    .get("args")
                    .and_then(Json::as_array)
                    .map(|a| a.iter().map(to_value).collect())
                    .unwrap_or(Ok(Vec::new()));
                let args = match args {
                    Ok(a) => a,
                    Err(e) => return fail(e),
                };
                let Some(o) = self.obj.as_mut() else {
                    return fail("no object (destroyed)");
                };
                match cmd.get("as").and_then(Json::as_str) {
                    Some("proc") => result(o.call_as_proc(name, &args).map(|_| Value::Empty)),
                    Some("func") => result(o.call_as_func(name, &args)),
                    _ => result(o.call(name, &args)),
                }
            }
            "get" => match self.obj.as_ref() {
                Some(o) => result(o.get(name)),
                None => fail("no object (destroyed)"),
            },
            "set" => {
                let v = match cmd.get("value").map(to_value).unwrap_or(Ok(Value::Empty)) {
                    Ok(v) => v,
                    Err(e) => return fail(e),
                };
                match self.obj.as_mut() {
                    Some(o) => result(o.set(name, v).map(|_| Value::Empty)),
                    None => fail("no object (destroyed)"),
                }
            }
            "pump" => {
                let evs = self.events.as_ref().map(|e| e.pump()).unwrap_or_default();
                evs.iter().for_each(print_event);
                obj(json!({"ok": true, "pumped": evs.len()}))
            }
            "pump_for" => {
                let n = self.pump_for(ms, None);
                obj(json!({"ok": true, "pumped": n}))
            }
            "wait_event" => {
                let n = self.pump_for(ms, Some(1));
                obj(json!({"ok": true, "pumped": n}))
            }
            "depth" => {
                let n = cmd.get("n").and_then(Json::as_i64).unwrap_or(0);
                let ok = self
                    .events
                    .as_ref()
                    .is_some_and(|e| e.set_depth(i32::try_from(n).unwrap_or(0)));
                obj(json!({"ok": ok}))
            }
            "sleep" => {
                std::thread::sleep(Duration::from_millis(ms));
                obj(json!({"ok": true}))
            }
            "destroy" => {
                let leaks = self.destroy();
                obj(json!({"ok": true, "violations": chat1c_host::violations(), "leaks": leaks}))
            }
            "create" => {
                if self.obj.is_some() {
                    return fail("an object exists; destroy it first");
                }
                match self.create() {
                    Ok(()) => obj(json!({"ok": true})),
                    Err(e) => fail(e),
                }
            }
            "errors" => match self.obj.as_ref() {
                Some(o) => {
                    let errs: Vec<Json> = o
                        .errors()
                        .iter()
                        .map(|e| json!({"wcode": e.wcode, "source": e.source, "descr": e.descr, "scode": e.scode}))
                        .collect();
                    obj(json!({"ok": true, "errors": errs}))
                }
                None => fail("no object (destroyed)"),
            },
            other => fail(format!("unknown command {other:?}")),
        }
    }
}

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let lib = match Library::load(&args.lib) {
        Ok(l) => l,
        Err(e) => {
            emit(fail(e.message));
            std::process::exit(2);
        }
    };
    let mut s = Session {
        lib,
        opts: Options {
            lang: args.lang.clone(),
            ..Options::default()
        },
        class: args.class.clone(),
        depth: args.depth,
        obj: None,
        events: None,
    };
    if let Err(e) = s.create() {
        emit(fail(e));
        std::process::exit(2);
    }
    let extension = s.obj.as_ref().map(Object::extension_name);
    let info = s.obj.as_ref().map(Object::info);
    emit(obj(
        json!({"ready": true, "extension": extension, "info": info, "classes": s.lib.class_names()}),
    ));

    let input: Box<dyn BufRead> = match args.script.as_deref() {
        None | Some("-") => Box::new(std::io::stdin().lock()),
        Some(path) => match std::fs::File::open(path) {
            Ok(f) => Box::new(std::io::BufReader::new(f)),
            Err(e) => {
                emit(fail(format!("cannot open {path}: {e}")));
                std::process::exit(2);
            }
        },
    };
    for line in input.lines() {
        let Ok(line) = line else { break };
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let out = s.run(line);
        emit(out);
    }
    s.destroy();
    let violations = chat1c_host::violations();
    let leaks = chat1c_host::live_allocations();
    let bad = !violations.is_empty() || leaks > 0;
    emit(obj(
        json!({"exit": true, "violations": violations, "leaks": leaks}),
    ));
    std::process::exit(if bad { 3 } else { 0 });
}
