//! The host against a deliberately broken C++ add-in (tests/broken/broken_addin.cpp), compiled
//! here with the same C++ compiler and official headers as the host. Proves the host's BSL call
//! semantics, event queue and memory rules, and that it reports what it exists to catch.
#![cfg(unix)]

use chat1c_host::testing::s;
use chat1c_host::{violations_of, Library, Object, Options, Value};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

fn broken_lib() -> PathBuf {
    static LIB: OnceLock<PathBuf> = OnceLock::new();
    LIB.get_or_init(|| {
        let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/broken/broken_addin.cpp");
        let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("libbroken_addin.so");
        let fresh = out.exists()
            && out.metadata().and_then(|m| m.modified()).ok()
                >= src.metadata().and_then(|m| m.modified()).ok();
        if !fresh {
            let tmp = out.with_extension(format!("{}.tmp", std::process::id()));
            let status = Command::new(env!("CHAT1C_HOST_CXX"))
                .args(["-std=c++11", "-shared", "-fPIC", "-O1", "-pthread", "-I"])
                .arg(env!("CHAT1C_HOST_INCLUDE"))
                .arg(&src)
                .arg("-o")
                .arg(&tmp)
                .status()
                .expect("run the C++ compiler");
            assert!(status.success(), "compiling the broken add-in failed");
            std::fs::rename(&tmp, &out).expect("rename");
        }
        out
    })
    .clone()
}

fn create(class: &str) -> (Library, Object) {
    let lib = Library::load(broken_lib()).expect("load");
    let obj = lib.create(class, &Options::default()).expect("create");
    (lib, obj)
}

/// Waits up to 3 s for a violation of `id` containing `needle`.
fn wait_violation(id: u64, needle: &str) -> Vec<String> {
    let end = Instant::now() + Duration::from_secs(3);
    loop {
        let v = violations_of(id);
        if v.iter().any(|t| t.contains(needle)) || Instant::now() > end {
            return v;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn loads_and_creates_like_1c() {
    let (lib, obj) = create("Broken");
    assert_eq!(lib.class_names(), vec!["Broken", "Miscount", "Undercount"]);
    assert_eq!(lib.capabilities(), Some(3));
    assert_eq!(lib.attach_type(), Some(3));
    assert_eq!(obj.info(), 2000);
    assert_eq!(obj.extension_name(), "Broken");
    assert_eq!(obj.n_methods(), 15);
    assert_eq!(obj.method_name(0, 0).as_deref(), Some("Echo"));
    assert_eq!(obj.method_name(0, 1).as_deref(), Some("Эхо"));
    assert_eq!(obj.prop_name(1, 1).as_deref(), Some("Значение"));
    assert_eq!(obj.find_method("эХО"), 0);
    assert_eq!(obj.find_method("nope"), -1);
    assert_eq!(obj.n_params(3), 3);
    assert_eq!(obj.param_default(3, 0), None);
    assert_eq!(obj.param_default(3, 1), Some(Value::I4(42)));
    assert_eq!(obj.param_default(3, 2), Some(s("dflt")));
    assert!(obj.has_ret_val(0));
    assert!(!obj.has_ret_val(1));
    let id = obj.id();
    let d = obj.destroy();
    assert_eq!(d.leaks, 0);
    assert!(d.violations.is_empty(), "{:?}", d.violations);
    assert!(violations_of(id).is_empty());
    assert!(lib.create("NoSuchClass", &Options::default()).is_err());
}

#[test]
fn calls_by_name_with_bsl_semantics() {
    let (_lib, mut obj) = create("Broken");
    assert_eq!(obj.call("Echo", &[s("hi")]), Ok(s("hi")));
    assert_eq!(obj.call("ЭХО", &[s("привет")]), Ok(s("привет")));
    // Omitted trailing arguments come from GetParamDefValue.
    assert_eq!(
        obj.call("Defaults", &[s("x")]),
        Ok(s("str1:x|i4:42|str4:dflt"))
    );
    assert_eq!(
        obj.call("Defaults", &[s("x"), Value::I4(1)]),
        Ok(s("str1:x|i4:1|str4:dflt"))
    );
    // An explicit Undefined is passed as EMPTY, not replaced by the default.
    assert_eq!(
        obj.call("Defaults", &[s("x"), Value::Empty]),
        Ok(s("str1:x|empty|str4:dflt"))
    );
    // A parameter without a default cannot be omitted.
    let e = obj.call("Defaults", &[]).unwrap_err();
    assert!(e.message.contains("Not enough actual parameters"), "{e:?}");
    let e = obj.call("Echo", &[s("a"), s("b")]).unwrap_err();
    assert!(e.message.contains("Too many actual parameters"), "{e:?}");
    let e = obj.call("Missing", &[]).unwrap_err();
    assert!(e.message.contains("method not found"), "{e:?}");
    // false carries the last AddError.
    let e = obj.call("Fail", &[]).unwrap_err();
    assert_eq!((e.message.as_str(), e.wcode, e.scode), ("boom", 1006, -1));
    assert_eq!(e.source, "Broken");
    assert_eq!(obj.errors().len(), 1);
    // false without AddError: the platform's own text, not a stale AddError.
    let e = obj.call("FailSilently", &[]).unwrap_err();
    assert!(e.message.contains("Error calling context method"), "{e:?}");
    assert_eq!(e.wcode, 0);
    // Procedures give Empty; forced variants go through the other entry point.
    assert_eq!(obj.call("SetDepth", &[Value::I4(2)]), Ok(Value::Empty));
    obj.call_as_proc("Echo", &[s("x")]).unwrap();
    assert_eq!(
        obj.call_as_func("SetDepth", &[Value::I4(3)]),
        Ok(Value::Empty)
    );
    // An out-parameter replaced by the add-in (old buffer freed by it) is freed by the host.
    obj.call("OutParam", &[s("in")]).unwrap();
    // Properties.
    assert_eq!(obj.get("Name"), Ok(s("Broken")));
    assert_eq!(obj.get("имя"), Ok(s("Broken")));
    assert!(obj
        .set("Name", s("x"))
        .unwrap_err()
        .message
        .contains("read-only"));
    obj.set("Value", Value::I4(5)).unwrap();
    assert_eq!(obj.get("Значение"), Ok(Value::I4(5)));
    assert!(obj.set("Value", s("str")).is_err());
    assert!(obj.get("Nope").is_err());
    assert_eq!(obj.live_allocations(), 0, "host must free every buffer");
    let id = obj.id();
    let d = obj.destroy();
    assert_eq!(d.leaks, 0);
    assert!(violations_of(id).is_empty(), "{:?}", violations_of(id));
}

#[test]
fn passes_any_tvariant_1c_could_send() {
    let (_lib, mut obj) = create("Broken");
    let tm = Value::Tm {
        year: 2024,
        month: 3,
        day: 1,
        hour: 3,
        min: 4,
        sec: 5,
    };
    let cases = [
        (Value::Empty, "empty"),
        (Value::Null, "vt1"),
        (Value::I4(7), "i4:7"),
        (Value::R8(1.5), "vt5"),
        (Value::Bool(true), "vt11"),
        (tm.clone(), "tm:124-2-1 3:4:5 w5 y60"),
        (Value::Date(45000.5), "vt6"),
        (Value::Blob(vec![1, 2, 3]), "blob3"),
        (Value::Raw { vt: 999 }, "vt999"),
        (s(""), "str0:"),
    ];
    for (v, want) in cases {
        assert_eq!(
            obj.call("TypeOf", std::slice::from_ref(&v)),
            Ok(s(want)),
            "{v:?}"
        );
    }
    // A lone surrogate reaches the add-in as is and comes back as raw UTF-16.
    let lone = Value::Utf16(vec![0xD800]);
    let mut want: Vec<u16> = "str1:".encode_utf16().collect();
    want.push(0xD800);
    assert_eq!(
        obj.call("TypeOf", std::slice::from_ref(&lone)),
        Ok(Value::Utf16(want))
    );
    for v in [
        lone,
        tm,
        Value::Blob(vec![0, 255]),
        Value::Blob(vec![]),
        Value::R8(-2.25),
        Value::Bool(false),
        Value::Date(1.0),
    ] {
        assert_eq!(obj.call("Echo", std::slice::from_ref(&v)), Ok(v));
    }
    assert_eq!(obj.live_allocations(), 0);
    let id = obj.id();
    obj.destroy();
    assert!(violations_of(id).is_empty(), "{:?}", violations_of(id));
}

#[test]
fn event_queue_starts_at_depth_1_and_refuses_when_full() {
    let (_lib, mut obj) = create("Broken");
    let ev = obj.events();
    assert_eq!(ev.depth(), 1);
    assert_eq!(obj.call("Depth", &[]), Ok(Value::I4(1)));
    let before = chat1c_host::mono_ns();
    assert_eq!(obj.call("Fire", &[Value::I4(3)]), Ok(Value::I4(1)));
    let after = chat1c_host::mono_ns();
    assert_eq!(ev.stats().refused, 2);
    let got = ev.pump();
    assert_eq!(got.len(), 1);
    assert_eq!(
        (
            got[0].source.as_str(),
            got[0].message.as_str(),
            got[0].data.as_str()
        ),
        ("Broken", "Tick", "0")
    );
    assert!(before <= got[0].mono_ns && got[0].mono_ns <= after);
    assert!(ev.pump().is_empty());
    // The add-in raises the depth; the host can too.
    obj.call("SetDepth", &[Value::I4(10)]).unwrap();
    assert_eq!(ev.depth(), 10);
    assert_eq!(obj.call("Fire", &[Value::I4(12)]), Ok(Value::I4(10)));
    obj.call("Clean", &[]).unwrap();
    assert!(ev.pump().is_empty());
    assert!(!ev.set_depth(0));
    assert!(ev.set_depth(4));
    assert_eq!(obj.call("Depth", &[]), Ok(Value::I4(4)));
    assert!(obj.call("SetDepth", &[Value::I4(0)]).is_err());
    let id = obj.id();
    obj.destroy();
    assert!(violations_of(id).is_empty(), "{:?}", violations_of(id));
}

#[test]
fn events_from_another_thread_arrive_in_order_when_pumped() {
    let (_lib, mut obj) = create("Broken");
    let ev = obj.events();
    obj.call("FireFromThread", &[Value::I4(200)]).unwrap();
    // Pump from yet another thread: Events is Send + Clone.
    let h = std::thread::spawn(move || {
        let mut got = Vec::new();
        let end = Instant::now() + Duration::from_secs(10);
        while got.len() < 200 && Instant::now() < end {
            if let Some(e) = ev.wait(Duration::from_millis(100)) {
                got.push(e.data.parse::<u32>().unwrap());
            }
        }
        got
    });
    let got = h.join().unwrap();
    assert_eq!(got, (0..200).collect::<Vec<u32>>());
    let id = obj.id();
    obj.destroy();
    assert!(violations_of(id).is_empty(), "{:?}", violations_of(id));
}

#[test]
fn reports_external_event_after_done() {
    let (_lib, mut obj) = create("Broken");
    obj.call("StartLate", &[]).unwrap();
    let id = obj.id();
    let d = obj.destroy();
    assert!(d.violations.is_empty(), "nothing yet: {:?}", d.violations);
    let v = wait_violation(id, "ExternalEvent called after Done() returned");
    assert!(
        v.iter()
            .any(|t| t.contains("ExternalEvent called after Done() returned")),
        "{v:?}"
    );
    assert!(chat1c_host::violations()
        .iter()
        .any(|t| t.contains(&format!("[object {id}]")) && t.contains("ExternalEvent")));
}

#[test]
fn reports_a_leaked_string() {
    let (_lib, mut obj) = create("Broken");
    assert_eq!(obj.call("LeakString", &[]), Ok(s("kept")));
    assert_eq!(obj.live_allocations(), 1);
    let id = obj.id();
    let d = obj.destroy();
    assert_eq!(d.leaks, 1);
    assert!(
        d.violations
            .iter()
            .any(|t| t.contains("1 buffer(s), 10 bytes") && t.contains("leaked")),
        "{:?}",
        d.violations
    );
    assert_eq!(violations_of(id).len(), 1);
}

#[test]
fn reports_frees_of_unknown_memory() {
    let (_lib, mut obj) = create("Broken");
    obj.call("FreeUnknown", &[]).unwrap();
    let v = violations_of(obj.id());
    assert!(
        v.iter().any(
            |t| t.contains("the add-in called IMemoryManager::FreeMemory")
                && t.contains("not allocated by this IMemoryManager")
        ),
        "{v:?}"
    );
    // A returned string that did not come from AllocMemory: the host's free is refused and reported.
    assert_eq!(obj.call("ReturnForeign", &[]), Ok(s("static")));
    let v = violations_of(obj.id());
    assert!(
        v.iter()
            .any(|t| t.contains("host freeing the value the add-in returned")),
        "{v:?}"
    );
    obj.destroy();
}

#[test]
fn reports_a_wrong_method_count() {
    let (_lib, obj) = create("Miscount");
    let v = violations_of(obj.id());
    assert!(
        v.iter()
            .any(|t| t == "GetMethodName(15, 0) returned NULL although GetNMethods() = 16"),
        "{v:?}"
    );
    obj.destroy();
}

#[test]
fn reports_a_method_found_beyond_the_count() {
    let (_lib, mut obj) = create("Undercount");
    assert!(obj.violations().is_empty(), "{:?}", obj.violations());
    // The last method (OutParam, index 14) is outside GetNMethods() = 14 but FindMethod finds it.
    obj.call("OutParam", &[s("x")]).unwrap();
    let v = obj.violations();
    assert_eq!(
        v,
        vec!["FindMethod(\"OutParam\") = 14, beyond GetNMethods() = 14"]
    );
    obj.destroy();
}

#[test]
fn mem_manager_first_order_is_tolerated() {
    let lib = Library::load(broken_lib()).unwrap();
    let opts = Options {
        lang: "ru".into(),
        mem_manager_first: true,
        ..Options::default()
    };
    let mut obj = lib.create("Broken", &opts).unwrap();
    assert_eq!(obj.call("Echo", &[Value::I4(1)]), Ok(Value::I4(1)));
    let id = obj.id();
    drop(obj); // Drop does Done + DestroyObject too
    assert!(violations_of(id).is_empty());
}

fn run_cli(script: &str) -> (i32, Vec<serde_json::Value>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_chat1c-host"))
        .args(["--class", "Broken", "--lib"])
        .arg(broken_lib())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn CLI");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(script.as_bytes()).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    let lines = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect();
    (out.status.code().unwrap_or(-1), lines)
}

#[test]
fn cli_speaks_json_lines() {
    let script = r#"
{"cmd":"call","name":"Echo","args":["hi"]}
{"cmd":"call","name":"TypeOf","args":[{"utf16":[55296]}]}
{"cmd":"call","name":"TypeOf","args":[{"vt_raw":999}]}
{"cmd":"call","name":"TypeOf","args":[{"tm":"2024-03-01T03:04:05"}]}
{"cmd":"call","name":"Echo","args":[{"blob":"00ff"}]}
{"cmd":"call","name":"Echo","args":[3000000000]}
{"cmd":"call","name":"Echo","args":[null]}
{"cmd":"call","name":"Fail"}
{"cmd":"depth","n":5}
{"cmd":"call","name":"Fire","args":[7]}
{"cmd":"pump"}
{"cmd":"call","name":"FireFromThread","args":[2]}
{"cmd":"pump_for","ms":300}
{"cmd":"wait_event","ms":50}
{"cmd":"get","name":"Name"}
{"cmd":"bogus"}
{"cmd":"destroy"}
"#;
    let (code, lines) = run_cli(script);
    let all = serde_json::Value::Array(lines.clone()).to_string();
    assert_eq!(code, 0, "{all}");
    assert!(
        lines.iter().all(|l| l["mono_ns"].as_u64().is_some()),
        "{all}"
    );
    assert_eq!(lines[0]["ready"], true);
    assert_eq!(lines[1]["value"], "hi");
    assert_eq!(
        lines[2]["value"]["utf16"],
        serde_json::json!([115, 116, 114, 49, 58, 55296])
    );
    assert_eq!(lines[3]["value"], "vt999");
    assert_eq!(lines[4]["value"], "tm:124-2-1 3:4:5 w5 y60");
    assert_eq!(lines[5]["value"]["blob"], "00ff");
    assert_eq!(lines[6]["value"], 3000000000.0);
    assert_eq!(lines[7]["value"], serde_json::Value::Null);
    assert_eq!(
        (lines[8]["ok"].clone(), lines[8]["error"].clone()),
        (false.into(), "boom".into())
    );
    assert_eq!(lines[9]["ok"], true);
    assert_eq!(lines[10]["value"], 5);
    let ticks: Vec<_> = lines[11..16]
        .iter()
        .map(|l| l["event"]["data"].clone())
        .collect();
    assert_eq!(ticks, ["0", "1", "2", "3", "4"]);
    assert_eq!(lines[16]["pumped"], 5);
    assert_eq!(lines[17]["ok"], true);
    assert_eq!(lines[18]["event"]["message"], "Thread");
    assert_eq!(lines[19]["event"]["data"], "1");
    assert_eq!(lines[20]["pumped"], 2);
    assert_eq!(lines[21]["pumped"], 0);
    assert_eq!(lines[22]["value"], "Broken");
    assert_eq!(lines[23]["ok"], false);
    assert_eq!(lines[24]["leaks"], 0);
    assert_eq!(lines[25]["exit"], true);
    assert_eq!(lines.len(), 26, "{all}");
}

#[test]
fn cli_exits_3_on_violations() {
    let (code, lines) = run_cli("{\"cmd\":\"call\",\"name\":\"LeakString\"}\n");
    assert_eq!(code, 3);
    let last = lines.last().unwrap();
    assert_eq!(last["exit"], true);
    assert_eq!(last["leaks"], 1);
    assert!(last["violations"][0].as_str().unwrap().contains("leaked"));
}
