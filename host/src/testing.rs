//! Shorthands for tests and benchmarks: short argument builders, readers of results, and
//! test database URLs. They panic naming what they got, since a wrong type there is a
//! failed test, not input to handle.
//!
//! ```no_run
//! use chat1c_host::testing::{json, number, s};
//! # let lib = chat1c_host::Library::load(chat1c_host::addin_path()).unwrap();
//! # let mut chat = lib.create("Chat", &chat1c_host::Options::default()).unwrap();
//! let id = number(chat.call("SendMessage", &[s("topic"), s(""), s("hi")]).unwrap());
//! let groups = json(chat.call("GetGroups", &[]).unwrap());
//! ```

use serde_json::Value as Json;

use crate::Value;

/// A string argument.
pub fn s(v: &str) -> Value {
    Value::str(v)
}

/// A number argument, as 1C passes a small integer (`I4`).
pub fn i(n: i32) -> Value {
    Value::I4(n)
}

/// The string a call returned.
pub fn text(v: Value) -> String {
    match v {
        Value::Str(s) => s,
        other => panic!("expected a string, got {other:?}"),
    }
}

/// The JSON text a call returned, parsed.
pub fn json(v: Value) -> Json {
    serde_json::from_str(&text(v)).expect("valid JSON")
}

/// The number a call returned (`I4`, or `R8` truncated toward zero).
pub fn number(v: Value) -> i64 {
    match v.as_f64() {
        Some(f) => f as i64,
        None => panic!("expected a number, got {v:?}"),
    }
}

/// The `id` of every message in a JSON array of messages, in order.
pub fn ids(messages: &Json) -> Vec<i64> {
    messages
        .as_array()
        .expect("array")
        .iter()
        .map(|m| m["id"].as_i64().expect("id"))
        .collect()
}

/// A PostgreSQL URL (`postgresql://u:p@h:port/anything?x`) with the database replaced.
pub fn pg_url_with_db(base: &str, db: &str) -> String {
    let (head, query) = base.split_once('?').unwrap_or((base, ""));
    let slash = head.rfind('/').expect("URL with a database");
    let q = if query.is_empty() {
        String::new()
    } else {
        format!("?{query}")
    };
    format!("{}/{db}{q}", &head[..slash])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_of_either_type_read_as_integers() {
        assert_eq!(number(i(-7)), -7);
        assert_eq!(number(Value::R8(3_000_000_000.0)), 3_000_000_000);
        assert_eq!(number(Value::R8(2.9)), 2);
    }

    #[test]
    fn messages_give_their_ids_in_order() {
        let messages = json(s(r#"[{"id": 3}, {"id": 1}]"#));
        assert_eq!(ids(&messages), vec![3, 1]);
        assert_eq!(text(s("x")), "x");
    }

    #[test]
    fn a_url_gets_another_database_and_keeps_its_options() {
        let base = "postgresql://u:p@h:5432/postgres?sslmode=disable";
        assert_eq!(
            pg_url_with_db(base, "t1"),
            "postgresql://u:p@h:5432/t1?sslmode=disable"
        );
        assert_eq!(pg_url_with_db("postgres://h/x", "y"), "postgres://h/y");
    }
}
