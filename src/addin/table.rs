//! The 1C surface, declared once: every method on one line (English and Russian
//! names, parameters with their defaults, function or procedure, handler) and every
//! property. FindMethod, GetNParams, GetParamDefValue, HasRetVal and the dispatcher
//! all read this table; README.md's reference tables are checked against it.

use super::args::Args;
use super::methods as m;
use super::{Arg, Chat, ChatError, Ret};

/// What an omitted argument (or an explicit Неопределено) stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamDefault {
    Str(&'static str),
    Int(i64),
}

// The default as a handler reads it and as GetParamDefValue hands it to 1C.
impl From<ParamDefault> for Arg<'_> {
    fn from(d: ParamDefault) -> Self {
        match d {
            ParamDefault::Str(s) => Arg::Str(s.to_string()),
            ParamDefault::Int(n) => Arg::Int(n),
        }
    }
}

impl From<ParamDefault> for Ret {
    fn from(d: ParamDefault) -> Ret {
        match d {
            ParamDefault::Str(s) => Ret::Str(s.to_string()),
            ParamDefault::Int(n) => Ret::Int(n),
        }
    }
}

pub struct Param {
    pub en: &'static str,
    pub ru: &'static str,
    pub default: Option<ParamDefault>,
}

/// A method's work: the arguments arrive counted and with defaults applied.
pub type Handler = fn(&mut Chat, &Args) -> Result<Ret, ChatError>;

pub struct Method {
    pub en: &'static str,
    pub ru: &'static str,
    pub params: &'static [Param],
    /// True for functions (HasRetVal); procedures return nothing.
    pub returns: bool,
    pub handler: Handler,
}

pub struct Property {
    pub en: &'static str,
    pub ru: &'static str,
    pub get: fn(&Chat) -> Ret,
}

/// A required parameter.
const fn req(en: &'static str, ru: &'static str) -> Param {
    Param {
        en,
        ru,
        default: None,
    }
}

/// A parameter that may be omitted.
const fn opt(en: &'static str, ru: &'static str, default: ParamDefault) -> Param {
    Param {
        en,
        ru,
        default: Some(default),
    }
}

const fn function(
    en: &'static str,
    ru: &'static str,
    params: &'static [Param],
    handler: Handler,
) -> Method {
    Method {
        en,
        ru,
        params,
        returns: true,
        handler,
    }
}

const fn procedure(
    en: &'static str,
    ru: &'static str,
    params: &'static [Param],
    handler: Handler,
) -> Method {
    Method {
        en,
        ru,
        params,
        returns: false,
        handler,
    }
}

use ParamDefault::{Int, Str};

#[rustfmt::skip]
pub static METHODS: &[Method] = &[
    procedure("Open",        "Открыть",             &[opt("Store", "Хранилище", Str("")), req("User", "Пользователь"), opt("Ticket", "Билет", Str(""))], m::open),
    procedure("Close",       "Закрыть",             &[], m::close),
    function("FillChat",     "ЗаполнитьЧат",        &[opt("Group", "Группа", Int(0))], m::fill_chat),
    function("GetGroups",    "ПолучитьГруппы",      &[opt("Limit", "Количество", Int(0))], m::get_groups),
    function("GetUnread",    "ПолучитьНепрочитанные", &[], m::get_unread),
    function("GetMessages",  "ПолучитьСообщения",   &[req("Group", "Группа"), opt("After", "После", Int(0)), opt("Limit", "Количество", Int(100))], m::get_messages),
    function("GetHistory",   "ПолучитьИсторию",     &[req("Group", "Группа"), req("Before", "До"), opt("Limit", "Количество", Int(100))], m::get_history),
    function("SendMessage",  "ОтправитьСообщение",  &[req("Topic", "Тема"), req("Participants", "Участники"), req("Text", "Текст"), opt("ReplyTo", "ОтветНа", Int(0))], m::send_message),
    procedure("EditMessage", "ИзменитьСообщение",   &[req("Id", "Ид"), req("Text", "Текст")], m::edit_message),
    procedure("DeleteMessage", "УдалитьСообщение",  &[req("Id", "Ид")], m::delete_message),
    function("GetUpdates",   "ПолучитьИзменения",   &[req("Group", "Группа"), req("AfterRev", "ПослеВерсии"), opt("Limit", "Количество", Int(100))], m::get_updates),
    function("Search",       "Найти",               &[req("Text", "Текст"), opt("Group", "Группа", Int(0)), opt("Limit", "Количество", Int(50))], m::search),
    function("SendFile",     "ОтправитьФайл",       &[req("Topic", "Тема"), req("Participants", "Участники"), req("Name", "Имя"), req("Data", "Данные"), opt("Text", "Текст", Str("")), opt("ReplyTo", "ОтветНа", Int(0))], m::send_file),
    function("PostMessage",  "НаписатьВБеседу",     &[req("Group", "Группа"), req("Text", "Текст"), opt("ReplyTo", "ОтветНа", Int(0))], m::post_message),
    function("PostFile",     "ОтправитьФайлВБеседу", &[req("Group", "Группа"), req("Name", "Имя"), req("Data", "Данные"), opt("Text", "Текст", Str("")), opt("ReplyTo", "ОтветНа", Int(0))], m::post_file),
    function("GetFile",      "ПолучитьФайл",        &[req("FileId", "ИдФайла")], m::get_file),
    function("OpenDiscussion", "ОткрытьОбсуждение", &[req("Context", "Контекст"), req("Title", "Заголовок")], m::open_discussion),
    procedure("MarkRead",    "ОтметитьПрочитанным", &[req("Group", "Группа"), req("UpTo", "ДоСообщения")], m::mark_read),
    function("IssueTicket",  "ВыдатьБилет",         &[req("Secret", "Секрет"), req("User", "Пользователь"), opt("Minutes", "Минут", Int(720))], m::issue_ticket),
    procedure("Provision",   "ПодготовитьХранилище", &[req("AdminStore", "ХранилищеАдминистратора"), req("ClientRole", "РольКлиента"), req("Secret", "Секрет")], m::provision),
];

#[rustfmt::skip]
pub static PROPERTIES: &[Property] = &[
    Property { en: "Version",   ru: "Версия",          get: |_| Ret::Str(env!("CARGO_PKG_VERSION").to_string()) },
    Property { en: "User",      ru: "Пользователь",    get: |c| Ret::Str(c.user().to_string()) },
    Property { en: "Store",     ru: "Хранилище",       get: |c| Ret::Str(c.store_location().to_string()) },
    Property { en: "IsOpen",    ru: "Открыт",          get: |c| Ret::Bool(c.is_open()) },
    Property { en: "LastError", ru: "ПоследняяОшибка", get: |c| Ret::Str(c.last_error().to_string()) },
];

/// Finds a name in either language, case-insensitively (Unicode), as BSL does.
/// 1C looks a name up before every call, so this allocates nothing.
fn find<T>(items: &[T], name: &str, names: fn(&T) -> [&'static str; 2]) -> Option<usize> {
    let lower = |s: &'static str| s.chars().flat_map(char::to_lowercase);
    let wanted = || name.chars().flat_map(char::to_lowercase);
    items
        .iter()
        .position(|item| names(item).iter().any(|n| lower(n).eq(wanted())))
}

pub fn find_method(name: &str) -> Option<usize> {
    find(METHODS, name, |m| [m.en, m.ru])
}

pub fn find_property(name: &str) -> Option<usize> {
    find(PROPERTIES, name, |p| [p.en, p.ru])
}

/// alias 0 = English, 1 = Russian.
pub fn alias(en: &'static str, ru: &'static str, alias: usize) -> Option<&'static str> {
    match alias {
        0 => Some(en),
        1 => Some(ru),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_found_in_any_case() {
        for (i, m) in METHODS.iter().enumerate() {
            assert_eq!(find_method(&m.en.to_uppercase()), Some(i));
            assert_eq!(find_method(&m.ru.to_lowercase()), Some(i));
        }
        for (i, p) in PROPERTIES.iter().enumerate() {
            assert_eq!(find_property(&p.ru.to_uppercase()), Some(i));
        }
        assert_eq!(
            find_method("ОТПРАВИТЬСООБЩЕНИЕ"),
            find_method("sendmessage")
        );
        assert_eq!(find_method("Send"), None);
    }

    #[test]
    fn defaults_only_trail() {
        for m in METHODS {
            let first_default = m.params.iter().position(|p| p.default.is_some());
            if let Some(i) = first_default {
                assert!(
                    m.params[i..].iter().all(|p| p.default.is_some()) || m.en == "Open",
                    "{}",
                    m.en
                );
            }
        }
    }

    /// The README's rows: `| EN | RU | … |` between a table's header and the next blank line.
    fn readme_rows(header: &str) -> Vec<Vec<String>> {
        let readme = include_str!("../../README.md");
        let start = readme
            .find(header)
            .unwrap_or_else(|| panic!("README.md has no table headed {header:?}"));
        readme[start..]
            .lines()
            .skip(2)
            .take_while(|l| l.starts_with('|'))
            .map(|l| {
                l.trim_matches('|')
                    .split('|')
                    .map(|c| c.trim().to_string())
                    .collect()
            })
            .collect()
    }

    fn params_cell(m: &Method) -> String {
        let shown: Vec<String> = m
            .params
            .iter()
            .map(|p| match p.default {
                None => p.en.to_string(),
                Some(Str(s)) => format!("{} (\"{s}\")", p.en),
                Some(Int(n)) => format!("{} ({n})", p.en),
            })
            .collect();
        if shown.is_empty() {
            "—".into()
        } else {
            shown.join(", ")
        }
    }

    #[test]
    fn readme_method_table_matches_the_code() {
        let rows = readme_rows("| EN | RU | parameters (defaults) | returns |");
        let documented: Vec<(String, String, String, bool)> = rows
            .iter()
            .map(|r| {
                (
                    r[0].clone(),
                    r[1].clone(),
                    r[2].clone(),
                    !r[3].starts_with('—'),
                )
            })
            .collect();
        let declared: Vec<(String, String, String, bool)> = METHODS
            .iter()
            .map(|m| (m.en.into(), m.ru.into(), params_cell(m), m.returns))
            .collect();
        assert_eq!(documented, declared, "README.md's method table");
    }

    #[test]
    fn readme_property_table_matches_the_code() {
        let rows = readme_rows("| EN | RU | value |");
        let documented: Vec<(&str, &str)> = rows
            .iter()
            .map(|r| (r[0].as_str(), r[1].as_str()))
            .collect();
        let declared: Vec<(&str, &str)> = PROPERTIES.iter().map(|p| (p.en, p.ru)).collect();
        assert_eq!(documented, declared, "README.md's property table");
    }
}
