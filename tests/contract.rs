//! The contract with 1C, checked through the C++ host exactly as 1C calls:
//! exports, names in both languages, parameters and defaults, every method and
//! property, and every kind of bad input.

mod common;

use common::*;
use serde_json::json;

const METHODS: &[(&str, &str, usize, bool)] = &[
    ("Open", "Открыть", 3, false),
    ("Close", "Закрыть", 0, false),
    ("FillChat", "ЗаполнитьЧат", 1, true),
    ("GetGroups", "ПолучитьГруппы", 1, true),
    ("GetUnread", "ПолучитьНепрочитанные", 0, true),
    ("GetMessages", "ПолучитьСообщения", 3, true),
    ("GetHistory", "ПолучитьИсторию", 3, true),
    ("SendMessage", "ОтправитьСообщение", 4, true),
    ("EditMessage", "ИзменитьСообщение", 2, false),
    ("DeleteMessage", "УдалитьСообщение", 1, false),
    ("GetUpdates", "ПолучитьИзменения", 3, true),
    ("Search", "Найти", 3, true),
    ("SendFile", "ОтправитьФайл", 6, true),
    ("PostMessage", "НаписатьВБеседу", 3, true),
    ("PostFile", "ОтправитьФайлВБеседу", 5, true),
    ("GetFile", "ПолучитьФайл", 1, true),
    ("OpenDiscussion", "ОткрытьОбсуждение", 2, true),
    ("MarkRead", "ОтметитьПрочитанным", 2, false),
    ("IssueTicket", "ВыдатьБилет", 3, true),
    ("Provision", "ПодготовитьХранилище", 3, false),
];

const PROPS: &[(&str, &str)] = &[
    ("Version", "Версия"),
    ("User", "Пользователь"),
    ("Store", "Хранилище"),
    ("IsOpen", "Открыт"),
    ("LastError", "ПоследняяОшибка"),
];

#[test]
fn exports_and_registration() {
    let lib = library();
    assert_eq!(lib.class_names(), vec!["Chat".to_string()]);
    assert_eq!(lib.attach_type(), Some(3));
    let o = create(&lib, "en");
    assert_eq!(o.info(), 2000);
    assert_eq!(o.extension_name(), "Chat");
}

#[test]
fn names_parameters_and_defaults() {
    let lib = library();
    let o = create(&lib, "en");
    assert_eq!(o.n_methods(), METHODS.len() as i32);
    assert_eq!(o.n_props(), PROPS.len() as i32);
    for (i, (en, ru, params, func)) in METHODS.iter().enumerate() {
        let i = i as i32;
        for spelling in [
            en.to_string(),
            ru.to_string(),
            en.to_uppercase(),
            ru.to_uppercase(),
            en.to_lowercase(),
            ru.to_lowercase(),
        ] {
            assert_eq!(o.find_method(&spelling), i, "FindMethod({spelling})");
        }
        assert_eq!(o.method_name(i, 0).as_deref(), Some(*en));
        assert_eq!(o.method_name(i, 1).as_deref(), Some(*ru));
        assert_eq!(o.n_params(i), *params as i32, "{en}");
        assert_eq!(o.has_ret_val(i), *func, "{en}");
    }
    assert_eq!(
        o.find_method("ОТПРАВИТЬСООБЩЕНИЕ"),
        o.find_method("sendmessage")
    );
    assert_eq!(o.find_method("NoSuchMethod"), -1);
    for (i, (en, ru)) in PROPS.iter().enumerate() {
        assert_eq!(o.find_prop(&en.to_lowercase()), i as i32);
        assert_eq!(o.find_prop(&ru.to_uppercase()), i as i32);
        assert_eq!(o.prop_name(i as i32, 1).as_deref(), Some(*ru));
        assert!(o.is_prop_readable(i as i32));
        assert!(!o.is_prop_writable(i as i32));
    }
    // Defaults: Open(Store=""), GetMessages(After=0, Limit=100), GetHistory(Limit=100).
    let open = o.find_method("Open");
    assert_eq!(o.param_default(open, 0), Some(Value::Str(String::new())));
    assert_eq!(o.param_default(open, 1), None);
    let get = o.find_method("GetMessages");
    assert_eq!(o.param_default(get, 0), None);
    assert_eq!(o.param_default(get, 1), Some(Value::I4(0)));
    assert_eq!(o.param_default(get, 2), Some(Value::I4(100)));
    let hist = o.find_method("GetHistory");
    assert_eq!(o.param_default(hist, 1), None);
    assert_eq!(o.param_default(hist, 2), Some(Value::I4(100)));
    let send = o.find_method("SendMessage");
    assert!((0..3).all(|p| o.param_default(send, p).is_none()));
    let mark = o.find_method("MarkRead");
    assert!((0..2).all(|p| o.param_default(mark, p).is_none()));
}

#[test]
fn properties_before_and_after_open() {
    let lib = library();
    let store = TempStore::new();
    let mut o = create(&lib, "en");
    assert_eq!(
        o.get("Version").unwrap(),
        Value::Str(env!("CARGO_PKG_VERSION").into())
    );
    assert_eq!(o.get("Пользователь").unwrap(), Value::Str(String::new()));
    assert_eq!(o.get("Store").unwrap(), Value::Str(String::new()));
    assert_eq!(o.get("IsOpen").unwrap(), Value::Bool(false));
    assert_eq!(o.get("LastError").unwrap(), Value::Str(String::new()));
    assert!(o.set("User", s("x")).is_err(), "properties are read-only");

    o.call("Открыть", &[s(&store.location()), s(" Анна ")])
        .unwrap();
    assert_eq!(o.get("User").unwrap(), s("Анна"));
    let shown = text(o.get("Хранилище").unwrap());
    if store.is_pg() {
        assert!(
            shown.starts_with("postgresql://") && !shown.contains("chat1c-pw"),
            "{shown}"
        );
    } else {
        assert!(shown.ends_with("chat.sqlite"), "{shown}");
        assert!(store.path.exists(), "the store is created with its schema");
    }
    assert_eq!(o.get("Открыт").unwrap(), Value::Bool(true));

    o.call("Close", &[]).unwrap();
    o.call("Close", &[]).unwrap();
    assert_eq!(o.get("IsOpen").unwrap(), Value::Bool(false));
    assert_eq!(o.get("User").unwrap(), s(""));
}

#[test]
fn every_method_works_end_to_end() {
    let lib = library();
    let store = TempStore::new();
    let mut ann = open(&lib, &store, "Ann");
    let mut bob = open(&lib, &store, "Bob");
    let mut eve = open(&lib, &store, "Eve");

    let first = send(&mut ann, "Deal 42", "Bob", "hello Bob");
    let second = send(&mut bob, "Deal 42", "ANN", "hi Ann");
    let public = send(&mut eve, "News", "", "public note");

    let groups = json(bob.call("GetGroups", &[]).unwrap());
    let list = groups.as_array().unwrap();
    assert_eq!(
        list.len(),
        2,
        "Bob sees his group and the public topic: {groups}"
    );
    assert_eq!(list[0]["topic"], "News", "newest activity first");
    let deal = &list[1];
    assert_eq!(deal["participants"], json!(["Bob", "Ann"]));
    assert_eq!(deal["unread"], 1);
    assert_eq!(deal["last"]["id"], second);
    let group = deal["id"].as_i64().unwrap() as i32;
    let keys: Vec<&String> = deal.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "context",
            "id",
            "last",
            "mentions",
            "participants",
            "reads",
            "topic",
            "unread"
        ],
        "group keys"
    );
    let eve_groups = json(eve.call("ПолучитьГруппы", &[]).unwrap());
    assert_eq!(
        eve_groups.as_array().unwrap().len(),
        1,
        "Eve never sees the private group"
    );

    let msgs = json(bob.call("GetMessages", &[i(group)]).unwrap());
    assert_eq!(ids(&msgs), vec![first, second]);
    let m = &msgs[0];
    assert_eq!(m["publisher"], "Ann");
    assert_eq!(m["text"], "hello Bob");
    assert_eq!(m["group"], group);
    let period = m["period"].as_str().unwrap();
    assert_eq!(period.len(), 24, "{period}");
    assert!(period.ends_with('Z') && &period[10..11] == "T" && &period[19..20] == ".");
    let keys: Vec<&String> = m.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "deleted",
            "edited",
            "files",
            "group",
            "id",
            "mentions",
            "period",
            "publisher",
            "reply_to",
            "rev",
            "text"
        ],
        "message keys"
    );

    let after = json(
        bob.call("GetMessages", &[i(group), i(first as i32), i(10)])
            .unwrap(),
    );
    assert_eq!(ids(&after), vec![second]);
    let hist = json(
        bob.call("GetHistory", &[i(group), i(second as i32)])
            .unwrap(),
    );
    assert_eq!(ids(&hist), vec![first]);

    bob.call("MarkRead", &[i(group), i(second as i32)]).unwrap();
    let groups = json(bob.call("GetGroups", &[]).unwrap());
    assert_eq!(groups[1]["unread"], 0);

    let html = text(ann.call("FillChat", &[]).unwrap());
    assert!(
        html.to_lowercase().starts_with("<!doctype html"),
        "FillChat returns a document"
    );
    assert!(
        html.contains("Deal 42"),
        "the initial groups are in the page"
    );
    let _ = public;

    // Procedures work through CallAsFunc and functions through CallAsProc.
    ann.call_as_func("MarkRead", &[i(group), i(second as i32)])
        .unwrap();
    ann.call_as_proc("GetGroups", &[]).unwrap();
    assert_eq!(text(ann.get("LastError").unwrap()), "");
}

/// The page ships deflated (build.rs) and is inflated at run time: what FillChat hands 1C
/// must be src/page/ byte for byte, with only the four slots filled.
#[test]
fn fill_chat_serves_the_page_files_byte_for_byte() {
    let lib = library();
    let store = TempStore::new();
    let mut ann = open(&lib, &store, "Ann");
    let html = text(ann.call("FillChat", &[]).unwrap());
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/page");
    let file = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap();
    let marker = "window.CHAT1C_STATE = ";
    let start = html.find(marker).expect("state marker") + marker.len();
    let end = start + html[start..].find(";</script>").expect("state end");
    let want = file("chat.html")
        .replace("{{LANG}}", "en")
        .replace("{{CSS}}", &file("chat.css"))
        .replace("{{JS}}", &file("chat.js"))
        .replace("{{STATE}}", &html[start..end]);
    assert!(html == want, "FillChat's page differs from src/page/");
}

#[test]
fn paging_and_limits() {
    let lib = library();
    let store = TempStore::new();
    let mut o = open(&lib, &store, "u");
    let sent: Vec<i64> = (0..120)
        .map(|n| send(&mut o, "t", "", &format!("m{n}")))
        .collect();
    let group = json(o.call("GetGroups", &[]).unwrap())[0]["id"]
        .as_i64()
        .unwrap() as i32;
    let newest = json(o.call("GetMessages", &[i(group), i(0), i(50)]).unwrap());
    assert_eq!(ids(&newest), sent[70..].to_vec());
    let default = json(o.call("GetMessages", &[i(group)]).unwrap());
    assert_eq!(ids(&default), sent[20..].to_vec(), "Limit defaults to 100");
    let r8 = json(
        o.call(
            "GetMessages",
            &[i(group), Value::R8(sent[9] as f64), Value::R8(5.0)],
        )
        .unwrap(),
    );
    assert_eq!(
        ids(&r8),
        sent[10..15].to_vec(),
        "numbers may come as doubles"
    );
    let capped = json(
        o.call("GetHistory", &[i(group), i(i32::MAX), i(1_000_000)])
            .unwrap(),
    );
    assert_eq!(
        capped.as_array().unwrap().len(),
        120,
        "a huge Limit is capped, not an error"
    );
    let older = json(
        o.call("GetHistory", &[i(group), i(sent[50] as i32), i(10)])
            .unwrap(),
    );
    assert_eq!(ids(&older), sent[40..50].to_vec());
}

fn group_ids(groups: &serde_json::Value) -> Vec<i64> {
    groups
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["id"].as_i64().unwrap())
        .collect()
}

#[test]
fn a_short_group_list_and_the_unread_totals() {
    let lib = library();
    let store = TempStore::new();
    let mut ann = open(&lib, &store, "Ann");
    let mut bob = open(&lib, &store, "Bob");
    let mut eve = open(&lib, &store, "Eve");
    send(&mut ann, "One", "Bob", "to Bob");
    send(&mut bob, "One", "Ann", "back to Ann");
    send(&mut eve, "News", "", "hello @Ann");
    send(&mut bob, "Two", "Ann", "second");
    send(&mut bob, "Two", "Ann", "third");
    // Eve's private talk with Carl is newer than everything Ann sees, and mentions her:
    // it must neither take a place in her list nor count in her totals.
    for n in 0..5 {
        send(&mut eve, "Secret", "Carl", &format!("@Ann {n}"));
    }

    let all = json(ann.call("GetGroups", &[]).unwrap());
    assert_eq!(all.as_array().unwrap().len(), 3, "{all}");
    let all_ids = group_ids(&all);
    for limit in [1, 2] {
        let short = json(ann.call("GetGroups", &[i(limit)]).unwrap());
        assert_eq!(
            short,
            json!(all.as_array().unwrap()[..limit as usize]),
            "GetGroups({limit}) is the newest {limit} of the whole list, as they are there"
        );
    }
    for whole in [0, 3, 1_000_000] {
        let list = json(ann.call("GetGroups", &[i(whole)]).unwrap());
        assert_eq!(
            group_ids(&list),
            all_ids,
            "GetGroups({whole}) lists them all"
        );
    }
    fails(&mut ann, "GetGroups", &[i(-1)], "out of range");
    fails(&mut ann, "GetGroups", &[s("ten")], "Limit");

    // A message in the oldest group moves it to the front of the short list.
    let oldest = *all_ids.last().unwrap();
    send(&mut bob, "One", "Ann", "news in One");
    let first = json(ann.call("GetGroups", &[i(1)]).unwrap());
    assert_eq!(group_ids(&first), vec![oldest]);

    // Unread: "One" 2 (Bob's two), "News" 1 with a mention, "Two" 2.
    let unread = json(ann.call("GetUnread", &[]).unwrap());
    assert_eq!(unread, json!({"unread": 5, "mentions": 1, "groups": 3}));
    let all = json(ann.call("GetGroups", &[]).unwrap());
    let sum = |key: &str| -> i64 {
        let list = all.as_array().unwrap();
        list.iter().map(|g| g[key].as_i64().unwrap()).sum()
    };
    assert_eq!(
        (sum("unread"), sum("mentions")),
        (5, 1),
        "the totals are the list's sums: {all}"
    );
    let news = all
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["topic"] == "News");
    let news = news.unwrap();
    let upto = news["last"]["id"].as_i64().unwrap();
    ann.call(
        "MarkRead",
        &[i(news["id"].as_i64().unwrap() as i32), i(upto as i32)],
    )
    .unwrap();
    let unread = json(ann.call("ПолучитьНепрочитанные", &[]).unwrap());
    assert_eq!(unread, json!({"unread": 4, "mentions": 0, "groups": 2}));
    // Carl sees his own: five unread messages in one group, no mention of him.
    let mut carl = open(&lib, &store, "Carl");
    let unread = json(carl.call("GetUnread", &[]).unwrap());
    assert_eq!(unread, json!({"unread": 6, "mentions": 0, "groups": 2}));
}

/// The state FillChat writes into its page.
fn page_state(html: &str) -> serde_json::Value {
    let start = html.find("window.CHAT1C_STATE = ").expect("the state") + 22;
    let end = start + html[start..].find(";</script>").expect("its end");
    json(Value::Str(html[start..end].to_string()))
}

#[test]
fn fill_chat_lists_the_newest_fifty_groups_and_says_so() {
    let lib = library();
    let store = TempStore::new();
    let mut ann = open(&lib, &store, "Ann");
    for n in 0..55 {
        send(&mut ann, &format!("Topic {n}"), "", "hello");
    }
    let state = page_state(&text(ann.call("FillChat", &[]).unwrap()));
    assert_eq!(state["groupsLimit"], 50);
    let listed = group_ids(&state["groups"]);
    let newest = group_ids(&json(ann.call("GetGroups", &[i(50)]).unwrap()));
    assert_eq!(listed, newest, "the page starts with GetGroups(50)");
    // One conversation (FillChat(Group)): that group, though it is not among the newest 50.
    let all = group_ids(&json(ann.call("GetGroups", &[]).unwrap()));
    let oldest = *all.last().unwrap();
    assert!(!listed.contains(&oldest));
    let state = page_state(&text(ann.call("FillChat", &[i(oldest as i32)]).unwrap()));
    let whole = json(ann.call("GetGroups", &[]).unwrap());
    let as_listed = whole.as_array().unwrap().last().unwrap();
    assert_eq!(
        state["groups"],
        json!([as_listed]),
        "the group as GetGroups shows it"
    );
    assert_eq!(
        (&state["group"], &state["groupsLimit"]),
        (&json!(oldest), &json!(0))
    );
    // A discussion Ann never took part in is not listed for her, but she may open it.
    let mut bob = open(&lib, &store, "Bob");
    let talk = number(
        bob.call(
            "OpenDiscussion",
            &[s("e1cib/data/Документ.Счет?ref=1"), s("Invoice 1")],
        )
        .unwrap(),
    );
    bob.call("PostMessage", &[i(talk as i32), s("about the invoice")])
        .unwrap();
    assert!(!group_ids(&json(ann.call("GetGroups", &[]).unwrap())).contains(&talk));
    let state = page_state(&text(ann.call("FillChat", &[i(talk as i32)]).unwrap()));
    assert_eq!(group_ids(&state["groups"]), vec![talk]);
    assert_eq!(
        state["groups"][0]["last"]["text"], "about the invoice",
        "{state}"
    );
    // Bob and Carl's private group is not hers to open.
    send(&mut bob, "Private", "Carl", "secret");
    let private = group_ids(&json(bob.call("GetGroups", &[i(1)]).unwrap()))[0];
    fails(&mut ann, "FillChat", &[i(private as i32)], "not available");
    fails(&mut ann, "FillChat", &[i(999_999)], "not available");
}

#[test]
fn calls_before_open_are_refused_in_the_client_language() {
    let lib = library();
    let mut en = create(&lib, "en");
    // IssueTicket and Provision need no open chat (they run on the 1C server).
    let chat_methods = METHODS
        .iter()
        .skip(2)
        .filter(|(name, ..)| !["IssueTicket", "Provision"].contains(name));
    for (name, _, n, _) in chat_methods {
        let args: Vec<Value> = (0..*n).map(|_| i(1)).collect();
        fails(&mut en, name, &args, "not open");
    }
    let mut ru = create(&lib, "ru");
    fails(&mut ru, "ПолучитьГруппы", &[], "Чат не открыт");
    ru.call("Закрыть", &[]).unwrap();
}

#[test]
fn wrong_types_and_missing_values() {
    let lib = library();
    let store = TempStore::new();
    let mut o = open(&lib, &store, "u");
    let id = send(&mut o, "t", "", "x") as i32;
    let group = json(o.call("GetGroups", &[]).unwrap())[0]["id"]
        .as_i64()
        .unwrap() as i32;
    let bad = [
        (Value::Bool(true), "Boolean"),
        (Value::Null, "Null"),
        (Value::Blob(vec![1, 2]), "BinaryData"),
        (Value::Date(45000.0), "Date"),
        (Value::Raw { vt: 0x0999 }, "unsupported type"),
        (Value::Raw { vt: 9 }, "unsupported type"),
    ];
    for (v, needle) in &bad {
        fails(&mut o, "SendMessage", &[v.clone(), s(""), s("x")], needle);
        fails(&mut o, "GetMessages", std::slice::from_ref(v), needle);
        fails(&mut o, "MarkRead", &[i(group), v.clone()], needle);
        fails(&mut o, "Open", &[v.clone(), s("u")], needle);
    }
    fails(&mut o, "GetMessages", &[s("1")], "must be a whole Number");
    fails(&mut o, "GetMessages", &[Value::R8(1.5)], "out of range");
    fails(&mut o, "GetMessages", &[i(group), i(-1)], "out of range");
    fails(
        &mut o,
        "GetHistory",
        &[i(group), i(id), i(0)],
        "out of range",
    );
    fails(
        &mut o,
        "SendMessage",
        &[i(5), s(""), s("x")],
        "must be a String",
    );
    // An explicit Неопределено where no default exists is a missing value.
    fails(
        &mut o,
        "SendMessage",
        &[s("t"), s(""), Value::Empty],
        "Text is required",
    );
    fails(
        &mut o,
        "MarkRead",
        &[Value::Empty, i(1)],
        "Group is required",
    );
    // ... and where a default exists, it takes the default.
    let msgs = json(
        o.call("GetMessages", &[i(group), Value::Empty, Value::Empty])
            .unwrap(),
    );
    assert_eq!(ids(&msgs), vec![id as i64]);
    // Omitting a parameter with no default fails in the host, like 1C.
    assert!(o.call("GetHistory", &[i(group)]).is_err());
    assert!(o.call("Open", &[]).is_err());
}

#[test]
fn bad_text_and_oversized_input() {
    let lib = library();
    let store = TempStore::new();
    let mut o = open(&lib, &store, "u");
    fails(
        &mut o,
        "SendMessage",
        &[s("t"), s(""), s("")],
        "text is empty",
    );
    fails(
        &mut o,
        "SendMessage",
        &[s("t"), s(""), s(" \n\t ")],
        "text is empty",
    );
    fails(
        &mut o,
        "SendMessage",
        &[s("  "), s(""), s("x")],
        "topic is empty",
    );
    fails(
        &mut o,
        "SendMessage",
        &[s("t"), s(""), s(&"я".repeat(10_001))],
        "longer than 10000",
    );
    fails(
        &mut o,
        "SendMessage",
        &[s(&"t".repeat(201)), s(""), s("x")],
        "longer than 200",
    );
    let crowd: Vec<String> = (0..101).map(|n| format!("user{n}")).collect();
    fails(
        &mut o,
        "SendMessage",
        &[s("t"), s(&crowd.join(";")), s("x")],
        "at most 100 participants",
    );
    fails(
        &mut o,
        "SendMessage",
        &[s("t"), s(&"n".repeat(101)), s("x")],
        "longer than 100",
    );
    fails(
        &mut o,
        "SendMessage",
        &[s("t"), s("[1, 2]"), s("x")],
        "JSON array of strings",
    );
    let lone = Value::Utf16(vec![0x48, 0xD800, 0x49]);
    fails(
        &mut o,
        "SendMessage",
        &[s("t"), s(""), lone.clone()],
        "invalid characters",
    );
    fails(
        &mut o,
        "SendMessage",
        &[lone.clone(), s(""), s("x")],
        "invalid characters",
    );
    fails(
        &mut o,
        "Open",
        &[s(&store.location()), lone],
        "invalid characters",
    );
    fails(
        &mut o,
        "Open",
        &[s(&"x".repeat(5000)), s("u")],
        "longer than 4096",
    );
    fails(
        &mut o,
        "Open",
        &[s(&store.location()), s("   ")],
        "user name is empty",
    );
    // Nothing half-written: the store still has no group.
    let mut check = open(&lib, &store, "u");
    assert_eq!(json(check.call("GetGroups", &[]).unwrap()), json!([]));
    // NUL inside a text is refused (no store can keep it), and says so.
    fails(
        &mut check,
        "SendMessage",
        &[s("t"), s(""), s("a\u{0}b")],
        "code 0",
    );
}

#[test]
fn unknown_and_foreign_groups() {
    let lib = library();
    let store = TempStore::new();
    let mut ann = open(&lib, &store, "Ann");
    let mut eve = open(&lib, &store, "Eve");
    let id = send(&mut ann, "secret", "Bob", "x") as i32;
    let group = json(ann.call("GetGroups", &[]).unwrap())[0]["id"]
        .as_i64()
        .unwrap() as i32;
    for g in [group, 9999] {
        fails(
            &mut eve,
            "GetMessages",
            &[i(g)],
            "does not exist or is not available",
        );
        fails(
            &mut eve,
            "GetHistory",
            &[i(g), i(id + 1)],
            "does not exist or is not available",
        );
        fails(
            &mut eve,
            "MarkRead",
            &[i(g), i(id)],
            "does not exist or is not available",
        );
    }
    let mut ru = create(&lib, "ru");
    ru.call("Открыть", &[s(&store.location()), s("Eve")])
        .unwrap();
    fails(
        &mut ru,
        "ПолучитьСообщения",
        &[i(group)],
        "не существует или недоступна",
    );
}

#[test]
fn store_locations_that_cannot_work() {
    sqlite_only!(TempStore::new());
    let lib = library();
    let dir = tempfile::tempdir().unwrap();
    let mut o = create(&lib, "en");
    // A path under a regular file cannot be created.
    let file = dir.path().join("plain.txt");
    std::fs::write(&file, "not a folder").unwrap();
    let under = file.join("chat.sqlite");
    fails(
        &mut o,
        "Open",
        &[s(&under.display().to_string()), s("u")],
        "Cannot open or create",
    );
    // A file that is not SQLite.
    let junk = dir.path().join("junk.sqlite");
    std::fs::write(&junk, vec![b'J'; 8192]).unwrap();
    fails(
        &mut o,
        "Open",
        &[s(&junk.display().to_string()), s("u")],
        "not a chat store",
    );
    // A folder.
    fails(
        &mut o,
        "Open",
        &[s(&dir.path().display().to_string()), s("u")],
        "is a folder",
    );
    assert_eq!(o.get("IsOpen").unwrap(), Value::Bool(false));
    let mut ru = create(&lib, "ru");
    fails(
        &mut ru,
        "Открыть",
        &[s(&junk.display().to_string()), s("u")],
        "не является хранилищем",
    );
}

#[test]
fn a_locked_store_gives_a_clear_error_after_the_busy_timeout() {
    let lib = library();
    let store = TempStore::new();
    sqlite_only!(store);
    let mut o = open(&lib, &store, "u");
    // The lock must come from another process: POSIX locks do not conflict within one.
    let mut locker = std::process::Command::new("python3")
        .args([
            "-c",
            "import sqlite3,sys; c=sqlite3.connect(sys.argv[1], isolation_level=None); \
                      c.execute('BEGIN EXCLUSIVE'); print('locked', flush=True); sys.stdin.read()",
        ])
        .arg(&store.path)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3 holds the lock");
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(locker.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    assert_eq!(line.trim(), "locked");
    let started = std::time::Instant::now();
    fails(
        &mut o,
        "SendMessage",
        &[s("t"), s(""), s("x")],
        "locked by another process",
    );
    println!("busy error after {:?}", started.elapsed());
    drop(locker.stdin.take());
    locker.wait().unwrap();
    send(&mut o, "t", "", "after the lock");
}

#[test]
fn a_read_only_store_refuses_writes_but_reads() {
    use std::os::unix::fs::PermissionsExt;
    let lib = library();
    let store = TempStore::new();
    sqlite_only!(store);
    let mut o = open(&lib, &store, "u");
    send(&mut o, "t", "", "before");
    o.call("Close", &[]).unwrap();
    // Close lets the watcher thread finish on its own. Until its connection is closed,
    // SQLite would hand a new connection in this process that connection's read-write
    // descriptor of the file.
    let held = || {
        std::fs::read_dir("/proc/self/fd")
            .unwrap()
            .filter_map(|fd| std::fs::read_link(fd.unwrap().path()).ok())
            .any(|target| target == store.path)
    };
    assert!(eventually(std::time::Duration::from_secs(5), || !held()));
    let path = &store.path;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o444)).unwrap();
    let writable = || std::fs::OpenOptions::new().write(true).open(path).is_ok();
    // Root ignores file modes: then the immutable flag, believed only when it holds.
    let immutable = writable() && chattr("+i", path);
    if !writable() {
        let mut r = open(&lib, &store, "u");
        assert_eq!(
            json(r.call("GetGroups", &[]).unwrap())
                .as_array()
                .unwrap()
                .len(),
            1
        );
        fails(&mut r, "SendMessage", &[s("t"), s(""), s("x")], "read-only");
        if immutable {
            chattr("-i", path);
        }
        return;
    }
    // No immutable flag here: a client of another OS user. The folder stays writable,
    // as above, so SQLite can make its -wal and -shm files; only the file is read-only.
    let Some(mut r) = nobody_client(&store.dir.path().join("bin")) else {
        eprintln!("not tested here: root without chattr +i, and setpriv cannot switch users");
        return;
    };
    std::fs::set_permissions(store.dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let opened = r.call("Open", json!([store.location(), "u"]));
    assert_eq!(opened["ok"], true, "{opened}");
    let groups = r.call("GetGroups", json!([]));
    let groups: serde_json::Value =
        serde_json::from_str(groups["value"].as_str().expect("GetGroups text")).unwrap();
    assert_eq!(groups.as_array().unwrap().len(), 1);
    let sent = r.call("SendMessage", json!(["t", "", "x"]));
    assert_eq!(sent["ok"], false, "{sent}");
    let error = sent["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("read-only"),
        "{error:?} should say read-only"
    );
    assert_ne!(sent["scode"], 0, "AddError must carry a non-zero scode");
    r.finish();
}

#[test]
fn reopening_switches_user_and_store() {
    let lib = library();
    let (a, b) = (TempStore::new(), TempStore::new());
    let mut o = open(&lib, &a, "first");
    send(&mut o, "t", "", "in a");
    o.call("Open", &[s(&b.location()), s("second")]).unwrap();
    assert_eq!(o.get("User").unwrap(), s("second"));
    assert_eq!(json(o.call("GetGroups", &[]).unwrap()), json!([]));
}

#[test]
fn the_default_store_location_is_machine_wide() {
    sqlite_only!(TempStore::new());
    let lib = library();
    let mut o = create(&lib, "en");
    o.call("Open", &[Value::Empty, s("u")]).unwrap();
    let loc = text(o.get("Store").unwrap());
    assert_eq!(loc, chat1c::store::default_location().display().to_string());
    o.call("Close", &[]).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::path::Path::new(&loc).parent().unwrap().to_path_buf();
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o777, "every OS user can create the journal files");
        let mode = std::fs::metadata(&loc).unwrap().permissions().mode() & 0o666;
        assert_eq!(mode, 0o666, "every OS user can write the store");
    }
}
