//! Reads {"user":S,"lang":S,"groups_json":S,"group":N|null} on stdin, prints
//! chat1c::page::render's HTML.

#[path = "../../../../src/page/mod.rs"]
mod page;

use std::io::{Read, Write};

fn main() {
    let mut input = String::new();
    if std::io::stdin().read_to_string(&mut input).is_err() {
        std::process::exit(2);
    }
    let v: serde_json::Value = serde_json::from_str(&input).unwrap_or_default();
    let field = |k: &str| v[k].as_str().unwrap_or("").to_string();
    let (user, lang, groups) = (field("user"), field("lang"), field("groups_json"));
    let html = page::render(&page::PageState {
        user: &user,
        lang: &lang,
        groups_json: &groups,
        groups_limit: v["groupsLimit"].as_i64().unwrap_or(0),
        group: v["group"].as_i64(),
    });
    if std::io::stdout().write_all(html.as_bytes()).is_err() {
        std::process::exit(1);
    }
}
