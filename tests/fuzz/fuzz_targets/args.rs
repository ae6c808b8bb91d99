//! Parameter decoding: arbitrary decoded 1C arguments into every method of a Chat
//! object (closed, then open on a scratch store). Nothing may panic; every failure has
//! a non-empty text in both languages; every JSON result parses.
#![no_main]

use std::sync::Mutex;

use chat1c::addin::{table, Arg, Chat, Ret};
use libfuzzer_sys::fuzz_target;

/// One object open on a scratch store for the whole run (opening per input would be slow).
static OPEN: Mutex<Option<Chat>> = Mutex::new(None);

/// run.sh sets CHAT1C_FUZZ_STORE to a folder it removes afterwards.
fn store() -> String {
    std::env::var("CHAT1C_FUZZ_STORE").unwrap_or_else(|_| {
        std::env::temp_dir()
            .join(format!("chat1c-fuzz-{}.sqlite", std::process::id()))
            .display()
            .to_string()
    })
}

/// Reads arguments from the input bytes: a tag byte, then the payload.
fn decode(mut data: &[u8]) -> (usize, Vec<Arg<'_>>) {
    let Some((&m, rest)) = data.split_first() else {
        return (0, Vec::new());
    };
    data = rest;
    let mut args = Vec::new();
    while let Some((&tag, rest)) = data.split_first() {
        data = rest;
        let arg = match tag % 11 {
            0 => Arg::Empty,
            1 => Arg::Null,
            2 => Arg::Bool(tag & 0x80 != 0),
            3 | 4 => {
                let mut b = [0u8; 8];
                let n = data.len().min(8);
                b[..n].copy_from_slice(&data[..n]);
                data = &data[n..];
                if tag % 11 == 3 {
                    Arg::Int(i64::from_le_bytes(b))
                } else {
                    Arg::Num(f64::from_le_bytes(b))
                }
            }
            5 | 6 => {
                let len = data
                    .first()
                    .map_or(0, |l| *l as usize)
                    .min(data.len().saturating_sub(1));
                let s = String::from_utf8_lossy(&data[1.min(data.len())..1.min(data.len()) + len])
                    .into_owned();
                data = &data[(1 + len).min(data.len())..];
                // Occasionally stretch it beyond the limits.
                Arg::Str(if tag & 0x80 != 0 { s.repeat(500) } else { s })
            }
            7 => Arg::BadStr,
            8 => Arg::Date,
            9 => {
                let n = data.first().map_or(0, |l| *l as usize).min(data.len());
                let (blob, rest) = data.split_at(n);
                data = rest;
                Arg::Blob(blob)
            }
            _ => Arg::Unsupported(u16::from(tag) * 7),
        };
        args.push(arg);
        if args.len() > 6 {
            break;
        }
    }
    (m as usize % (table::METHODS.len() + 1), args)
}

fn check(chat: &mut Chat, method: usize, args: &[Arg]) {
    // Open and Close are driven by the harness, never by the input (no stray files).
    if matches!(table::METHODS.get(method).map(|m| m.en), Some("Open")) {
        return;
    }
    match chat.call(method, args) {
        Ok(Ret::Str(s)) => {
            let name = table::METHODS[method].en;
            if name.starts_with("Get") {
                serde_json::from_str::<serde_json::Value>(&s)
                    .unwrap_or_else(|e| panic!("{name} returned invalid JSON: {e}"));
            }
        }
        Ok(_) => {}
        Err(e) => {
            for lang in ["en", "ru"] {
                chat.set_language(lang);
                assert!(!e.text(chat.lang()).trim().is_empty(), "empty error text");
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let (method, args) = decode(data);
    let mut closed = Chat::new();
    check(&mut closed, method, &args);
    let mut guard = OPEN.lock().unwrap_or_else(|p| p.into_inner());
    let chat = guard.get_or_insert_with(|| {
        let mut c = Chat::new();
        let open = table::find_method("Open").expect("Open");
        c.call(
            open,
            &[Arg::Str(store()), Arg::Str("fuzz".into()), Arg::Str(String::new())],
        )
            .expect("open the scratch store");
        c
    });
    check(chat, method, &args);
    for p in 0..table::PROPERTIES.len() {
        let _ = chat.property(p);
    }
});
