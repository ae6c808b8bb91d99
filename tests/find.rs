//! Find, share, link, through the host as 1C calls, on both stores: message search
//! (visibility, case and ё, edits and tombstones, limits), files (ДвоичныеДанные in and
//! out, type from the content, size and name limits, who may read them, gone with a
//! deleted message), discussions keyed by an object, and FillChat of one conversation.

mod common;

use common::*;
use serde_json::{json, Value as Json};

fn found(o: &mut Object, text: &str, group: i64) -> Vec<i64> {
    ids(&json(
        o.call("Search", &[s(text), i(group as i32)])
            .unwrap_or_else(|e| panic!("Search({text}): {e}")),
    ))
}

fn group_of(o: &mut Object, topic: &str) -> i64 {
    json(o.call("GetGroups", &[]).unwrap())
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["topic"] == topic)
        .map(|g| g["id"].as_i64().unwrap())
        .unwrap_or_else(|| panic!("no group {topic}"))
}

#[test]
fn search_finds_what_the_user_may_see_newest_first() {
    let lib = library();
    let store = TempStore::new();
    let mut ann = open(&lib, &store, "Ann");
    let mut eve = open(&lib, &store, "Eve");
    let secret = send(&mut ann, "Зарплата", "Bob", "Премия за ЁЛКУ утверждена");
    let public = send(&mut ann, "Новости", "", "ёлка в пятницу");
    assert_eq!(
        found(&mut ann, "елк", 0),
        vec![public, secret],
        "case and ё folded"
    );
    assert_eq!(
        found(&mut eve, "ёлк", 0),
        vec![public],
        "never another's group"
    );
    let g = group_of(&mut ann, "Зарплата");
    assert_eq!(found(&mut ann, "премия", g), vec![secret]);
    fails(
        &mut eve,
        "Search",
        &[s("премия"), i(g as i32)],
        "not available to you",
    );
    for (lang, needle) in [("en", "at least 3"), ("ru", "не меньше 3")] {
        let mut o = create(&lib, lang);
        o.call("Open", &[s(&store.location()), s("Ann")]).unwrap();
        fails(&mut o, "Search", &[s("ёл")], needle);
    }
    ann.call("EditMessage", &[i(secret as i32), s("Премия перенесена")])
        .unwrap();
    assert_eq!(
        found(&mut ann, "утвержд", 0),
        Vec::<i64>::new(),
        "by its current text only"
    );
    ann.call("DeleteMessage", &[i(public as i32)]).unwrap();
    assert_eq!(
        found(&mut ann, "пятниц", 0),
        Vec::<i64>::new(),
        "never a tombstone"
    );
    // A limit above the cap is capped, not refused.
    for n in 0..5 {
        send(&mut ann, "Новости", "", &format!("отчет {n}"));
    }
    let capped = json(
        ann.call("Search", &[s("отчет"), i(0), i(1_000_000)])
            .unwrap(),
    );
    assert_eq!(capped.as_array().unwrap().len(), 5);
    let two = json(ann.call("Search", &[s("отчет"), i(0), i(2)]).unwrap());
    assert_eq!(two.as_array().unwrap().len(), 2);
}

/// PostgreSQL looks at the newest 5,000 messages first and reads older ones from its
/// trigram index: results on both sides of that line come newest first, visible only.
#[test]
fn search_reads_past_the_newest_messages() {
    let lib = library();
    let store = TempStore::new();
    let mut ann = open(&lib, &store, "Ann");
    let mut eve = open(&lib, &store, "Eve");
    let old_private = send(&mut ann, "Архив", "Bob", "квитанция старая");
    let old_public = send(&mut ann, "Шум", "", "Квитанция в шуме");
    for n in 0..5_050 {
        send(&mut ann, "Шум", "", &format!("строка {n}"));
    }
    let new_private = send(&mut ann, "Архив", "Bob", "квитанция новая");
    let new_public = send(&mut ann, "Шум", "", "квитанция свежая");
    assert_eq!(
        found(&mut ann, "КВИТАНЦ", 0),
        vec![new_public, new_private, old_public, old_private]
    );
    let three = json(ann.call("Search", &[s("квитанц"), i(0), i(3)]).unwrap());
    assert_eq!(ids(&three), vec![new_public, new_private, old_public]);
    assert_eq!(found(&mut eve, "квитанц", 0), vec![new_public, old_public]);
    let noise = group_of(&mut ann, "Шум");
    assert_eq!(
        found(&mut eve, "квитанц", noise),
        vec![new_public, old_public]
    );
    assert_eq!(
        found(&mut ann, "строка 7", noise).len(),
        50,
        "the default limit"
    );
}

#[test]
fn files_go_in_as_binary_data_and_out_only_to_who_may_see_them() {
    let lib = library();
    let store = TempStore::new();
    let mut ann = open(&lib, &store, "Ann");
    let mut bob = open(&lib, &store, "Bob");
    let mut eve = open(&lib, &store, "Eve");
    let png: Vec<u8> = b"\x89PNG\r\n\x1a\n"
        .iter()
        .copied()
        .chain((0..70_000u32).map(|n| (n % 251) as u8))
        .collect();
    let id = number(
        ann.call(
            "SendFile",
            &[
                s("Deal"),
                s("Bob"),
                s("chart.exe"),
                Value::Blob(png.clone()),
                s(""),
            ],
        )
        .unwrap(),
    );
    let g = group_of(&mut bob, "Deal");
    let m = &json(bob.call("GetMessages", &[i(g as i32)]).unwrap())[0];
    assert_eq!(m["id"], json!(id));
    let file = &m["files"][0];
    assert_eq!(file["name"], "chart.exe");
    assert_eq!(file["size"], json!(png.len()));
    assert_eq!(file["type"], "image/png", "from the content, not the name");
    let fid = file["id"].as_i64().unwrap() as i32;
    assert_eq!(
        bob.call("GetFile", &[i(fid)]).unwrap(),
        Value::Blob(png.clone())
    );
    fails(&mut eve, "GetFile", &[i(fid)], "not available to you");
    // Name and size rules.
    for bad in ["", "../x", "a/b", "c:\\x", "a\nb"] {
        fails(
            &mut ann,
            "SendFile",
            &[s("Deal"), s("Bob"), s(bad), Value::Blob(vec![1])],
            "file name",
        );
    }
    let too_big = vec![0u8; 25 * 1024 * 1024 + 1];
    fails(
        &mut ann,
        "SendFile",
        &[s("Deal"), s("Bob"), s("big.bin"), Value::Blob(too_big)],
        "larger than 25 MB",
    );
    fails(
        &mut ann,
        "SendFile",
        &[s("Deal"), s("Bob"), s("x.txt"), s("not binary")],
        "BinaryData",
    );
    // Gone with its message.
    ann.call("DeleteMessage", &[i(id as i32)]).unwrap();
    fails(&mut bob, "GetFile", &[i(fid)], "deleted message");
}

#[test]
fn a_file_of_25_mb_goes_in_and_out_whole() {
    let lib = library();
    let store = TempStore::new();
    let mut ann = open(&lib, &store, "Ann");
    let data: Vec<u8> = (0..25 * 1024 * 1024u32)
        .map(|n| (n * 7 % 256) as u8)
        .collect();
    send(&mut ann, "Files", "", "here");
    let g = group_of(&mut ann, "Files");
    let id = number(
        ann.call(
            "PostFile",
            &[
                i(g as i32),
                s("big.bin"),
                Value::Blob(data.clone()),
                s("the big one"),
            ],
        )
        .unwrap(),
    );
    let m = json(
        ann.call("GetHistory", &[i(g as i32), i(id as i32 + 1), i(1)])
            .unwrap(),
    );
    let fid = m[0]["files"][0]["id"].as_i64().unwrap() as i32;
    assert_eq!(ann.call("GetFile", &[i(fid)]).unwrap(), Value::Blob(data));
}

#[test]
fn a_discussion_is_one_group_per_object() {
    let lib = library();
    let store = TempStore::new();
    let mut ann = open(&lib, &store, "Ann");
    let mut bob = open(&lib, &store, "Bob");
    let link = "e1cib/data/Документ.СчетНаОплату?ref=80c9000c29b6a5b011ee6c5f2b5d1e3a";
    let g = number(
        ann.call("OpenDiscussion", &[s(link), s("Счет 42 от 01.12")])
            .unwrap(),
    );
    let again = number(
        bob.call("ОткрытьОбсуждение", &[s(link), s("Счет 42 от 02.12")])
            .unwrap(),
    );
    assert_eq!(g, again, "the same object, the same discussion");
    assert!(
        json(ann.call("GetGroups", &[]).unwrap())
            .as_array()
            .unwrap()
            .is_empty(),
        "not listed before anyone writes"
    );
    number(
        bob.call("PostMessage", &[i(g as i32), s("Проверьте сумму, @Ann")])
            .unwrap(),
    );
    // A post into a discussion is announced like any message (to Ann: she may read it).
    let e = ann
        .events()
        .wait(std::time::Duration::from_secs(5))
        .expect("Ann hears of the post");
    let hint: Json = serde_json::from_str(&e.data).unwrap();
    assert_eq!(hint["groups"], json!([g]));
    let listed = json(ann.call("GetGroups", &[]).unwrap())[0].clone();
    assert_eq!(listed["id"], json!(g), "listed for who was mentioned");
    assert_eq!(listed["context"], json!(link));
    assert_eq!(
        listed["topic"], "Счет 42 от 02.12",
        "a new title renames it"
    );
    assert_eq!(listed["participants"], json!([]));
    assert_eq!(listed["mentions"], 1);
    fails(&mut ann, "OpenDiscussion", &[s(""), s("x")], "context");
    fails(
        &mut ann,
        "PostMessage",
        &[i(999_999), s("x")],
        "not available to you",
    );
    // A private group by id: only its members may post.
    send(&mut bob, "Private", "Carl", "x");
    let private = group_of(&mut bob, "Private");
    fails(
        &mut ann,
        "PostMessage",
        &[i(private as i32), s("x")],
        "not available to you",
    );
}

#[test]
fn fill_chat_of_one_conversation() {
    let lib = library();
    let store = TempStore::new();
    let mut ann = open(&lib, &store, "Ann");
    let mut eve = open(&lib, &store, "Eve");
    send(&mut ann, "Deal", "Bob", "x");
    let g = group_of(&mut ann, "Deal");
    let html = text(ann.call("FillChat", &[i(g as i32)]).unwrap());
    assert!(
        html.contains(&format!("\"group\":{g}")),
        "the page's one conversation"
    );
    let whole = text(ann.call("FillChat", &[]).unwrap());
    assert!(whole.contains("\"group\":null"));
    fails(&mut eve, "FillChat", &[i(g as i32)], "not available to you");
    let _: Json = Json::Null;
}
