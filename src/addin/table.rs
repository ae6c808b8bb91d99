//! The 1C surface, declared once: every method and property with its English and
//! Russian names, parameters, defaults and whether it returns a value.

use super::{methods, Arg, Chat, ChatError, Ret};

/// A parameter's default, used by GetParamDefValue when 1C omits the argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Default {
    Str(&'static str),
    Int(i64),
}

pub struct Param {
    pub en: &'static str,
    pub ru: &'static str,
    pub default: Option<Default>,
}

pub type Handler = fn(&mut Chat, &[Arg]) -> Result<Ret, ChatError>;

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

const fn p(en: &'static str, ru: &'static str) -> Param {
    Param {
        en,
        ru,
        default: None,
    }
}

const fn p_def(en: &'static str, ru: &'static str, default: Default) -> Param {
    Param {
        en,
        ru,
        default: Some(default),
    }
}

pub static METHODS: &[Method] = &[
    Method {
        en: "Open",
        ru: "Открыть",
        params: &[
            p_def("Store", "Хранилище", Default::Str("")),
            p("User", "Пользователь"),
        ],
        returns: false,
        handler: methods::open,
    },
    Method {
        en: "Close",
        ru: "Закрыть",
        params: &[],
        returns: false,
        handler: methods::close,
    },
    Method {
        en: "FillChat",
        ru: "ЗаполнитьЧат",
        params: &[],
        returns: true,
        handler: methods::fill_chat,
    },
    Method {
        en: "GetGroups",
        ru: "ПолучитьГруппы",
        params: &[],
        returns: true,
        handler: methods::get_groups,
    },
    Method {
        en: "GetMessages",
        ru: "ПолучитьСообщения",
        params: &[
            p("Group", "Группа"),
            p_def("After", "После", Default::Int(0)),
            p_def("Limit", "Количество", Default::Int(100)),
        ],
        returns: true,
        handler: methods::get_messages,
    },
    Method {
        en: "GetHistory",
        ru: "ПолучитьИсторию",
        params: &[
            p("Group", "Группа"),
            p("Before", "До"),
            p_def("Limit", "Количество", Default::Int(100)),
        ],
        returns: true,
        handler: methods::get_history,
    },
    Method {
        en: "SendMessage",
        ru: "ОтправитьСообщение",
        params: &[
            p("Topic", "Тема"),
            p("Participants", "Участники"),
            p("Text", "Текст"),
        ],
        returns: true,
        handler: methods::send_message,
    },
    Method {
        en: "MarkRead",
        ru: "ОтметитьПрочитанным",
        params: &[p("Group", "Группа"), p("UpTo", "ДоСообщения")],
        returns: false,
        handler: methods::mark_read,
    },
];

pub static PROPERTIES: &[Property] = &[
    Property {
        en: "Version",
        ru: "Версия",
        get: |_| Ret::Str(env!("CARGO_PKG_VERSION").to_string()),
    },
    Property {
        en: "User",
        ru: "Пользователь",
        get: |c| Ret::Str(c.user().to_string()),
    },
    Property {
        en: "Store",
        ru: "Хранилище",
        get: |c| Ret::Str(c.store_location().to_string()),
    },
    Property {
        en: "IsOpen",
        ru: "Открыт",
        get: |c| Ret::Bool(c.is_open()),
    },
    Property {
        en: "LastError",
        ru: "ПоследняяОшибка",
        get: |c| Ret::Str(c.last_error().to_string()),
    },
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
}
