//! Hostile input: random tVariants of every type code into every method and property,
//! through the host's vtable calls. Nothing may crash, leak or break the host's rules,
//! and every failed call must carry a non-empty error text (kept in LastError).

use crate::common::*;
use crate::util::{size, Rng};

const METHODS: &[&str] = &[
    "Open",
    "Close",
    "FillChat",
    "GetGroups",
    "GetMessages",
    "GetHistory",
    "SendMessage",
    "MarkRead",
    "Открыть",
    "Закрыть",
    "ЗаполнитьЧат",
    "ПолучитьГруппы",
    "ПолучитьСообщения",
    "ПолучитьИсторию",
    "ОтправитьСообщение",
    "ОтметитьПрочитанным",
    "sendmessage",
    "GETGROUPS",
];
const PROPS: &[&str] = &[
    "Version",
    "User",
    "Store",
    "IsOpen",
    "LastError",
    "Версия",
    "Пользователь",
    "Хранилище",
    "Открыт",
    "ПоследняяОшибка",
];

fn random_text(rng: &mut Rng) -> String {
    match rng.below(12) {
        0 => String::new(),
        1 => "x".repeat(rng.below(300_000)),
        2 => "a\0b".into(),
        3 => "'); DROP TABLE chat_register; --".into(),
        4 => "</script><script>alert(1)</script>".into(),
        5 => "\u{202e}\u{2028}\u{feff}😀 ".repeat(rng.below(50) + 1),
        6 => " ; , ;".into(),
        7 => "[\"a\",\"b\"]".into(),
        8 => "[1,2,{\"x\":null}]".into(),
        9 => (0..rng.below(40))
            .map(|_| char::from_u32(rng.below(0x3000) as u32 + 1).unwrap_or('?'))
            .collect(),
        10 => format!("user{}", rng.below(4)),
        _ => "ordinary text".into(),
    }
}

fn value(rng: &mut Rng) -> Value {
    let rng_code = rng.below(0x49) as u16;
    match rng.below(16) {
        0 => Value::Empty,
        1 => Value::Null,
        2 => Value::Bool(rng.below(2) == 1),
        3 => Value::I4(*rng.pick(&[0, 1, -1, i32::MIN, i32::MAX, 5, 100, 1 << 30])),
        4 => Value::R8(*rng.pick(&[
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            -0.0,
            1e308,
            -1e308,
            4_294_967_296.5,
            9.007_199_254_740_993e15,
            0.5,
            f64::MIN_POSITIVE,
        ])),
        5..=7 => Value::Str(random_text(rng)),
        8 => Value::Utf16(match rng.below(4) {
            0 => vec![0xD800],
            1 => vec![b'a' as u16, 0xDC00, b'b' as u16],
            2 => vec![0xDBFF; 3],
            _ => (0..rng.below(64)).map(|_| rng.next() as u16).collect(),
        }),
        9 => Value::Blob((0..rng.below(5000)).map(|_| rng.next() as u8).collect()),
        10 => Value::Tm {
            year: *rng.pick(&[1, 1970, 2024, 9999, -5, 100_000]),
            month: *rng.pick(&[1, 12, 0, 13]),
            day: *rng.pick(&[1, 31, 0, 40]),
            hour: rng.below(30) as u32,
            min: rng.below(70) as u32,
            sec: rng.below(70) as u32,
        },
        11 => Value::Date(*rng.pick(&[0.0, 45_000.5, -1e9, 1e12, f64::NAN])),
        // Every VARENUM code 0..=0x48, arrays/vectors/by-ref flags, and unknown ones.
        12 => Value::Raw {
            vt: *rng.pick(&[
                rng_code,
                0x1000 | 8,
                0x2000 | 3,
                0x4000 | 22,
                999,
                0xFFFF,
                0x7FFF,
            ]),
        },
        13 => Value::I4(rng.below(50) as i32),
        _ => Value::Str(format!("user{}", rng.below(4))),
    }
}

/// Open's Store argument: hostile, but never a path outside the test's folder.
fn store_arg(rng: &mut Rng, store: &TempStore) -> Value {
    let dir = store.dir.path().display().to_string();
    match rng.below(9) {
        0 => s(&store.location()),
        1 => s(&dir),
        2 => s(&format!("{dir}/a\0b.sqlite")),
        3 => s(&format!("{dir}/{}", "n".repeat(5000))),
        4 => s("postgresql://u:TopSecret@127.0.0.1:1/db?connect_timeout=1"),
        5 => s("host=127.0.0.1 port=1 dbname=x password=TopSecret connect_timeout=1"),
        6 => {
            let mut u: Vec<u16> = format!("{dir}/").encode_utf16().collect();
            u.push(0xD800);
            Value::Utf16(u)
        }
        7 => s(&format!("{dir}/other.sqlite")),
        // Any other value, but a string only inside the test's folder (a relative
        // path would land in the working directory).
        _ => match value(rng) {
            Value::Str(t) => s(&format!("{dir}/{}", t.replace('/', "_"))),
            // Empty means the machine-wide default store: keep the test out of it.
            Value::Empty => s(&store.location()),
            other => other,
        },
    }
}

fn hostile_round(lang: &str, calls: usize, rng: &mut Rng) {
    let lib = library();
    let store = TempStore::new();
    let mut o = create(&lib, lang);
    let mut failures = 0;
    for n in 0..calls {
        let name = *rng.pick(METHODS);
        let argc = rng.below(5);
        let mut args: Vec<Value> = (0..argc).map(|_| value(rng)).collect();
        if (name == "Open" || name == "Открыть") && argc > 0 {
            args[0] = store_arg(rng, &store);
        }
        // Keep the object open most of the time so the store paths are exercised.
        if n % 50 == 0 {
            let _ = o.call("Open", &[s(&store.location()), s("user0")]);
        }
        let result = match rng.below(10) {
            0 => o.call_as_proc(name, &args).map(|()| Value::Empty),
            1 => o.call_as_func(name, &args),
            _ => o.call(name, &args),
        };
        if let Err(e) = result {
            failures += 1;
            assert!(
                !e.message.trim().is_empty(),
                "{name}({args:?}) failed without a text"
            );
            assert!(
                !e.message.contains("TopSecret"),
                "a password leaked into an error: {}",
                e.message
            );
            if e.scode != 0 {
                let last = text(o.get("LastError").expect("LastError readable"));
                // 1C's AddError text ends at a NUL, so none may be in it.
                assert!(!last.contains('\0'), "an error text holds a NUL: {last:?}");
                assert_eq!(last, e.message, "LastError keeps the text");
            }
        }
        if rng.below(8) == 0 {
            let p = *rng.pick(PROPS);
            let v = o
                .get(p)
                .unwrap_or_else(|e| panic!("{p} unreadable: {}", e.message));
            if let Value::Str(t) = &v {
                assert!(!t.contains("TopSecret"), "{p} shows a password: {t}");
            }
            let set = o.set(p, value(rng));
            let e = set.expect_err("properties are read-only");
            assert!(!e.message.trim().is_empty());
        }
        let _ = o.events().pump();
        assert!(o.violations().is_empty(), "{:?}", o.violations());
    }
    // The object still works after all that.
    o.call("Open", &[s(&store.location()), s("user0")])
        .expect("Open after the hostile calls");
    o.call("SendMessage", &[s("t"), s(""), s("still alive")])
        .expect("SendMessage after the hostile calls");
    let d = o.destroy();
    println!("{lang}: {calls} hostile calls, {failures} refused with a text");
    assert_eq!(d.leaks, 0, "memory blocks leaked");
    assert!(d.violations.is_empty(), "{:?}", d.violations);
}

#[test]
fn random_variants_into_every_method_never_crash_leak_or_fail_silently() {
    let calls = size("CHAT1C_HOSTILE_CALLS", 1500, 10_000);
    let mut rng = Rng::seeded("CHAT1C_HOSTILE_SEED");
    hostile_round("en", calls, &mut rng);
    hostile_round("ru", calls / 3, &mut rng);
}

#[test]
fn every_type_code_in_every_parameter_position() {
    let lib = library();
    let store = TempStore::new();
    let mut o = open(&lib, &store, "u");
    let id = send(&mut o, "t", "", "x");
    let base: Vec<(&str, Vec<Value>)> = vec![
        ("GetMessages", vec![i(1), i(0), i(10)]),
        ("GetHistory", vec![i(1), i(id as i32 + 1), i(10)]),
        ("SendMessage", vec![s("t"), s(""), s("y")]),
        ("MarkRead", vec![i(1), i(id as i32)]),
    ];
    for (m, args) in base {
        for pos in 0..args.len() {
            for vt in 0u16..0x49 {
                let mut a = args.clone();
                a[pos] = Value::Raw { vt };
                if let Err(e) = o.call(m, &a) {
                    assert!(!e.message.trim().is_empty(), "{m} vt {vt} at {pos}");
                }
            }
        }
    }
    let d = o.destroy();
    assert_eq!(d.leaks, 0);
    assert!(d.violations.is_empty(), "{:?}", d.violations);
}

/// A NUL in the store path was once echoed into the error text, and 1C's exception text was
/// cut at it.
#[test]
fn error_texts_carry_no_nul() {
    let lib = library();
    let store = TempStore::new();
    let mut o = create(&lib, "en");
    let bad = format!("{}/a\0b.sqlite", store.dir.path().display());
    let e = o
        .call("Open", &[s(&bad), s("u")])
        .expect_err("a NUL in a path");
    let last = text(o.get("LastError").unwrap());
    assert!(!last.contains('\0'), "LastError holds a NUL: {last:?}");
    assert_eq!(last, e.message, "the exception text and LastError differ");
}
