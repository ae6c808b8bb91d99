//! Every failure a 1C developer can meet, with its text in English and Russian.

use crate::chat::{limits, Invalid};
use crate::store::StoreError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    En,
    Ru,
}

impl Lang {
    /// From SetUserInterfaceLanguageCode: "ru" (any case, any region) is Russian.
    pub fn from_code(code: &str) -> Lang {
        if code.trim().to_lowercase().starts_with("ru") {
            Lang::Ru
        } else {
            Lang::En
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Ru => "ru",
        }
    }

    fn pick(self, en: String, ru: String) -> String {
        match self {
            Lang::En => en,
            Lang::Ru => ru,
        }
    }
}

/// What an argument should have been.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expected {
    Text,
    Integer,
    BinaryData,
}

/// A parameter named in both languages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParamName {
    pub en: &'static str,
    pub ru: &'static str,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ChatError {
    NotOpen,
    Missing(ParamName),
    WrongType {
        param: ParamName,
        expected: Expected,
        got: super::ArgType,
    },
    BadText(ParamName),
    OutOfRange(ParamName),
    TooLongStore,
    NulInStore,
    WrongArgCount {
        method: &'static str,
        expected: usize,
        got: usize,
    },
    UnknownMember,
    ReadOnlyProperty,
    Invalid(Invalid),
    Store {
        error: StoreError,
        location: String,
    },
    Memory,
    /// A ticket secret shorter than the minimum.
    WeakSecret,
    Internal(String),
}

fn type_name(arg: &super::ArgType, lang: Lang) -> String {
    use super::ArgType::*;
    let (en, ru) = match arg {
        Undefined => ("Undefined", "Неопределено"),
        Null => ("Null", "Null"),
        Boolean => ("Boolean", "Булево"),
        Number => ("Number", "Число"),
        String => ("String", "Строка"),
        Date => ("Date", "Дата"),
        BinaryData => ("BinaryData", "ДвоичныеДанные"),
        Unsupported(code) => {
            return lang.pick(
                format!("an unsupported type (code {code})"),
                format!("неподдерживаемый тип (код {code})"),
            )
        }
    };
    lang.pick(en.into(), ru.into())
}

impl ChatError {
    /// The text shown to the 1C developer in the client's language. A NUL would cut
    /// 1C's copy of it short, so any that came from input is shown as `\0`.
    pub fn text(&self, lang: Lang) -> String {
        self.raw_text(lang).replace('\0', "\\0")
    }

    fn raw_text(&self, lang: Lang) -> String {
        let name = |p: &ParamName| lang.pick(p.en.into(), p.ru.into());
        match self {
            ChatError::NotOpen => lang.pick(
                "The chat is not open: call Open first".into(),
                "Чат не открыт: сначала вызовите Открыть".into(),
            ),
            ChatError::Missing(p) => lang.pick(
                format!("Parameter {} is required", name(p)),
                format!("Не задан обязательный параметр {}", name(p)),
            ),
            ChatError::WrongType {
                param,
                expected,
                got,
            } => {
                let (en, ru) = match expected {
                    Expected::Text => ("a String", "Строка"),
                    Expected::Integer => ("a whole Number", "целое Число"),
                    Expected::BinaryData => ("BinaryData", "ДвоичныеДанные"),
                };
                lang.pick(
                    format!(
                        "Parameter {} must be {en}, not {}",
                        name(param),
                        type_name(got, lang)
                    ),
                    format!(
                        "Параметр {} должен иметь тип {ru}, а передано: {}",
                        name(param),
                        type_name(got, lang)
                    ),
                )
            }
            ChatError::BadText(p) => lang.pick(
                format!(
                    "Parameter {} contains invalid characters (broken UTF-16)",
                    name(p)
                ),
                format!(
                    "Параметр {} содержит недопустимые символы (ошибка UTF-16)",
                    name(p)
                ),
            ),
            ChatError::OutOfRange(p) => lang.pick(
                format!("Parameter {} is out of range", name(p)),
                format!("Значение параметра {} вне допустимого диапазона", name(p)),
            ),
            ChatError::NulInStore => lang.pick(
                "The store location contains the character with code 0".into(),
                "Расположение хранилища содержит символ с кодом 0".into(),
            ),
            ChatError::TooLongStore => lang.pick(
                format!(
                    "The store location is longer than {} characters",
                    limits::STORE_MAX_CHARS
                ),
                format!(
                    "Расположение хранилища длиннее {} символов",
                    limits::STORE_MAX_CHARS
                ),
            ),
            ChatError::WrongArgCount {
                method,
                expected,
                got,
            } => lang.pick(
                format!("{method} takes {expected} parameters, {got} given"),
                format!("{method}: ожидается параметров: {expected}, передано: {got}"),
            ),
            ChatError::UnknownMember => lang.pick(
                "No such method or property".into(),
                "Нет такого метода или свойства".into(),
            ),
            ChatError::ReadOnlyProperty => lang.pick(
                "The property is read-only".into(),
                "Свойство доступно только для чтения".into(),
            ),
            ChatError::Invalid(i) => invalid_text(i, lang),
            ChatError::Store { error, location } => store_text(error, location, lang),
            ChatError::Memory => lang.pick(
                "1C could not allocate memory for the result".into(),
                "1С не выделила память для результата".into(),
            ),
            ChatError::WeakSecret => lang.pick(
                format!("The secret must be at least {} bytes long: use a long random string, kept in the 1C server's secure storage", crate::ticket::SECRET_MIN_BYTES),
                format!("Секрет должен быть не короче {} байт: возьмите длинную случайную строку и храните ее в безопасном хранилище на сервере 1С", crate::ticket::SECRET_MIN_BYTES),
            ),
            ChatError::Internal(t) => lang.pick(
                format!("Internal error of the chat add-in: {t}"),
                format!("Внутренняя ошибка компоненты чата: {t}"),
            ),
        }
    }
}

fn invalid_text(i: &Invalid, lang: Lang) -> String {
    match i {
        Invalid::EmptyText => lang.pick(
            "The message text is empty".into(),
            "Текст сообщения пуст".into(),
        ),
        Invalid::TextTooLong => lang.pick(
            format!(
                "The message is longer than {} characters",
                limits::TEXT_MAX_CHARS
            ),
            format!("Сообщение длиннее {} символов", limits::TEXT_MAX_CHARS),
        ),
        Invalid::EmptyTopic => lang.pick("The topic is empty".into(), "Тема не заполнена".into()),
        Invalid::TopicTooLong => lang.pick(
            format!(
                "The topic is longer than {} characters",
                limits::TOPIC_MAX_CHARS
            ),
            format!("Тема длиннее {} символов", limits::TOPIC_MAX_CHARS),
        ),
        Invalid::NameTooLong(n) => lang.pick(
            format!(
                "The user name \"{n}…\" is longer than {} characters",
                limits::NAME_MAX_CHARS
            ),
            format!(
                "Имя пользователя \"{n}…\" длиннее {} символов",
                limits::NAME_MAX_CHARS
            ),
        ),
        Invalid::EmptyUser => lang.pick(
            "The user name is empty".into(),
            "Имя пользователя не заполнено".into(),
        ),
        Invalid::TooManyParticipants => lang.pick(
            format!(
                "A conversation can have at most {} participants",
                limits::PARTICIPANTS_MAX
            ),
            format!(
                "В беседе может быть не более {} участников",
                limits::PARTICIPANTS_MAX
            ),
        ),
        Invalid::ParticipantsMalformed => lang.pick(
            "Participants must be names separated by \";\" or \",\", or a JSON array of strings"
                .into(),
            "Участники: имена через \";\" или \",\", либо JSON-массив строк".into(),
        ),
        Invalid::NoParticipants => lang.pick(
            "Participants name nobody: give names separated by \";\" or \",\" (a JSON array of names), or \"\" for a public topic".into(),
            "В списке участников нет ни одного имени: укажите имена через \";\" или \",\" (или JSON-массив имен), либо \"\" для общей темы".into(),
        ),
        Invalid::InvisibleChar => lang.pick(
            "A name or topic contains an invisible character (zero-width, text-direction control or another format character)".into(),
            "Имя или тема содержит невидимый символ (нулевой ширины, управляющий направлением текста или другой служебный)".into(),
        ),
        Invalid::ControlCharInTopic => lang.pick(
            "The topic contains a line break, tab or other control character".into(),
            "Тема содержит перевод строки, табуляцию или другой управляющий символ".into(),
        ),
        Invalid::BadFileName => lang.pick(
            format!("The file name is empty, longer than {} characters, or holds a path separator or a control character", limits::FILE_NAME_MAX_CHARS),
            format!("Имя файла пустое, длиннее {} символов или содержит разделитель пути или управляющий символ", limits::FILE_NAME_MAX_CHARS),
        ),
        Invalid::FileTooLarge => lang.pick(
            format!("The file is larger than {} MB", limits::FILE_MAX_BYTES / (1024 * 1024)),
            format!("Файл больше {} МБ", limits::FILE_MAX_BYTES / (1024 * 1024)),
        ),
        Invalid::SearchTooShort => lang.pick(
            format!("Search for at least {} characters", limits::SEARCH_MIN_CHARS),
            format!("Для поиска нужно не меньше {} символов", limits::SEARCH_MIN_CHARS),
        ),
        Invalid::BadContext => lang.pick(
            format!("The discussion's context must be a non-empty string of at most {} characters without control characters", limits::CONTEXT_MAX_CHARS),
            format!("Контекст обсуждения — непустая строка не длиннее {} символов без управляющих символов", limits::CONTEXT_MAX_CHARS),
        ),
        Invalid::NulChar => lang.pick(
            "The text or topic contains the character with code 0".into(),
            "Текст или тема содержит символ с кодом 0".into(),
        ),
        Invalid::ControlCharInName => lang.pick(
            "A user name contains control characters".into(),
            "Имя пользователя содержит управляющие символы".into(),
        ),
    }
}

fn store_text(e: &StoreError, loc: &str, lang: Lang) -> String {
    match e {
        StoreError::UnknownGroup(id) => lang.pick(
            format!("Conversation {id} does not exist or is not available to you"),
            format!("Беседа {id} не существует или недоступна вам"),
        ),
        StoreError::UnknownMessage(id) => lang.pick(
            format!("Message {id} does not exist or is not available to you"),
            format!("Сообщение {id} не существует или недоступно вам"),
        ),
        StoreError::UnknownFile(id) => lang.pick(
            format!("File {id} does not exist, went with its deleted message, or is not available to you"),
            format!("Файл {id} не существует, удален вместе с сообщением или недоступен вам"),
        ),
        StoreError::NotAuthor(id) => lang.pick(
            format!("Message {id} is someone else's: only its author may edit or delete it"),
            format!("Сообщение {id} написал другой пользователь: изменить или удалить его может только автор"),
        ),
        StoreError::Deleted(id) => lang.pick(
            format!("Message {id} was deleted and cannot be edited"),
            format!("Сообщение {id} удалено, его нельзя изменить"),
        ),
        StoreError::BadReply(id) => lang.pick(
            format!("Message {id}, which you reply to, is not in this conversation"),
            format!("Сообщение {id}, на которое вы отвечаете, не из этой беседы"),
        ),
        StoreError::Busy => lang.pick(
            "The chat store is locked by another process for too long; try again".into(),
            "Хранилище чата слишком долго заблокировано другим процессом; повторите попытку".into(),
        ),
        StoreError::ReadOnly => lang.pick(
            format!("The chat store {loc} is read-only: check the rights to the file and its folder"),
            format!("Хранилище чата {loc} доступно только для чтения: проверьте права на файл и его каталог"),
        ),
        StoreError::NotADatabase => lang.pick(
            format!("{loc} is not a chat store (not an SQLite database)"),
            format!("{loc} не является хранилищем чата (это не база SQLite)"),
        ),
        StoreError::Foreign => lang.pick(
            format!("{loc} is another application's database, not a chat store: it was left untouched; choose another file"),
            format!("{loc} — база данных другой программы, а не хранилище чата: файл не изменен; укажите другой файл"),
        ),
        StoreError::NotAPlainPath => lang.pick(
            "The store must be a file path or a PostgreSQL connection string: \"file:\" addresses, \":memory:\" and \"?\" options are not accepted".into(),
            "Хранилище — это путь к файлу или строка соединения PostgreSQL: адреса \"file:\", \":memory:\" и параметры после \"?\" не принимаются".into(),
        ),
        StoreError::UnsafeFolder(dir) => lang.pick(
            format!("The shared chat folder {dir} belongs to another user and lacks the sticky bit, so others could replace the chat's files: ask the administrator to remove it or to make it chmod 1777"),
            format!("Общий каталог чата {dir} принадлежит другому пользователю и не защищен битом sticky, поэтому файлы чата могут подменить: попросите администратора удалить каталог или выполнить chmod 1777"),
        ),
        StoreError::SymbolicLink(link) => lang.pick(
            format!("{link} in the shared chat folder is a symbolic link: the chat does not follow links there; ask the administrator to remove it"),
            format!("{link} в общем каталоге чата — символическая ссылка: чат не переходит по ссылкам в этом каталоге; попросите администратора удалить ее"),
        ),
        StoreError::TicketRequired => lang.pick(
            format!("The chat store {loc} admits users only with a ticket from the 1C server: pass the ticket that the server module's IssueTicket returned to Open"),
            format!("Хранилище чата {loc} пускает пользователей только по билету сервера 1С: передайте в Открыть билет, полученный от ВыдатьБилет в серверном модуле"),
        ),
        StoreError::TicketInvalid => lang.pick(
            format!("The chat ticket is not valid for this user on {loc}: it is damaged, signed with another secret, or issued for another user"),
            format!("Билет чата не подходит этому пользователю в {loc}: он испорчен, подписан другим секретом или выдан другому пользователю"),
        ),
        StoreError::TicketExpired => lang.pick(
            "The chat ticket has expired: get a new one from the 1C server".into(),
            "Срок билета чата истек: получите новый на сервере 1С".into(),
        ),
        StoreError::SessionEnded => lang.pick(
            format!("The chat session on {loc} has ended (unused for a week, or the store's secret was changed): open the chat again"),
            format!("Сеанс чата в {loc} завершен (не использовался неделю или секрет хранилища сменился): откройте чат заново"),
        ),
        StoreError::CannotProvision(why) => lang.pick(
            format!("Cannot provision the chat store {loc}: {why}"),
            format!("Не удалось подготовить хранилище чата {loc}: {why}"),
        ),
        StoreError::Refused(why) => lang.pick(
            format!("The chat store {loc} refused the call: {why}"),
            format!("Хранилище чата {loc} отклонило вызов: {why}"),
        ),
        StoreError::TooNew(version) => lang.pick(
            format!("The chat store {loc} was made by a newer version of the chat add-in (schema {version}): update the add-in"),
            format!("Хранилище чата {loc} создано более новой версией компоненты чата (схема {version}): обновите компоненту"),
        ),
        StoreError::UpgradeNeedsOwner { found, to } => lang.pick(
            format!("The chat store {loc} (schema {found}) must be upgraded to schema {to}, and this user may not do it: open it once with the owner's connection string (see README: updating)"),
            format!("Хранилище чата {loc} (схема {found}) нужно обновить до схемы {to}, а у этого пользователя нет прав: откройте его один раз под владельцем схемы (см. README: обновление)"),
        ),
        StoreError::Corrupt => lang.pick(
            format!("The chat store {loc} is damaged"),
            format!("Хранилище чата {loc} повреждено"),
        ),
        StoreError::Full => lang.pick(
            format!("No space left on the disk of the chat store {loc}"),
            format!("Нет места на диске хранилища чата {loc}"),
        ),
        StoreError::Io => lang.pick(
            format!("The disk refused to read or write the chat store {loc}: check its free space, file-size limits and the disk or network share"),
            format!("Диск не дал прочитать или записать хранилище чата {loc}: проверьте свободное место, ограничения размера файла и диск или сетевой ресурс"),
        ),
        StoreError::CannotOpen(why) => lang.pick(
            format!("Cannot open or create the chat store {loc}: {why}"),
            format!("Не удалось открыть или создать хранилище чата {loc}: {why}"),
        ),
        StoreError::Replaced => lang.pick(
            format!("The chat store file {loc} was deleted or replaced while open: open the chat again"),
            format!("Файл хранилища чата {loc} удален или заменен во время работы: откройте чат заново"),
        ),
        StoreError::ServerFull => lang.pick(
            format!("The PostgreSQL server of the chat store {loc} has no free connection (max_connections reached): ask its administrator to raise max_connections; each 1C client takes one"),
            format!("У сервера PostgreSQL хранилища чата {loc} нет свободных подключений (достигнут max_connections): попросите администратора увеличить max_connections; каждый клиент 1С занимает одно"),
        ),
        StoreError::Timeout(secs) => lang.pick(
            format!("The chat store {loc} did not answer within {secs} s"),
            format!("Хранилище чата {loc} не ответило за {secs} с"),
        ),
        StoreError::Other(why) => lang.pick(
            format!("Chat store error ({loc}): {why}"),
            format!("Ошибка хранилища чата ({loc}): {why}"),
        ),
    }
}
