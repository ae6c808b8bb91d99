//! Every .bsl under package/bsl/ and every ```bsl block of docs/ru/README.md must parse,
//! and the check itself must catch typical slips (so a green run means something).

use chat1c_bsl_check::{async_words, markdown_bsl_blocks, package_bsl_files, syntax_errors};
use std::path::Path;

#[test]
fn package_bsl_files_parse() {
    let files = package_bsl_files();
    // Guard against a vacuous pass: the client module, server module and form example exist.
    for name in ["ЧатКлиент.bsl", "ЧатВызовСервера.bsl", "ФормаЧата.bsl"] {
        assert!(files.iter().any(|f| f.ends_with(name)), "{name} missing from package/bsl");
    }
    let mut report = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        assert!(text.lines().count() > 5, "{} is suspiciously short", f.display());
        for e in syntax_errors(&text) {
            report.push(format!("{}:{e}", f.display()));
        }
    }
    assert!(report.is_empty(), "BSL syntax errors:\n{}", report.join("\n"));
}

#[test]
fn docs_bsl_blocks_parse() {
    let md = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/ru/README.md");
    let Ok(text) = std::fs::read_to_string(&md) else {
        panic!("{} missing", md.display());
    };
    let blocks = markdown_bsl_blocks(&text);
    assert!(!blocks.is_empty(), "no ```bsl blocks in {}", md.display());
    let mut report = Vec::new();
    for (line, block) in &blocks {
        for e in syntax_errors(block) {
            report.push(format!("README.md:{}:{}: {}", line + e.line - 1, e.column, e.what));
        }
    }
    assert!(report.is_empty(), "BSL syntax errors in docs:\n{}", report.join("\n"));
}

/// The kit runs from platform 8.3.10: callbacks (ОписаниеОповещения, НачатьПодключение...),
/// never Асинх/Ждать or the ...Асинх methods of 8.3.18+, in the modules and in the guide.
#[test]
fn kit_and_guide_have_no_async_await() {
    let mut report = Vec::new();
    for f in package_bsl_files() {
        for e in async_words(&std::fs::read_to_string(&f).unwrap()) {
            report.push(format!("{}:{e}", f.display()));
        }
    }
    let md = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/ru/README.md");
    for (line, block) in markdown_bsl_blocks(&std::fs::read_to_string(md).unwrap()) {
        for e in async_words(&block) {
            report.push(format!("README.md:{}: {}", line + e.line - 1, e.what));
        }
    }
    assert!(report.is_empty(), "8.3.18+ only:\n{}", report.join("\n"));
}

#[test]
fn async_check_bites_and_ignores_comments_and_strings() {
    // GOOD uses Асинх, Ждать and two ...Асинх methods.
    let found: Vec<String> = async_words(GOOD).into_iter().map(|e| e.what).collect();
    assert_eq!(
        found,
        [
            "needs 8.3.18+: Асинх",
            "needs 8.3.18+: Ждать",
            "needs 8.3.18+: ПодключитьВнешнююКомпонентуАсинх",
            "needs 8.3.18+: Ждать",
            "needs 8.3.18+: УстановитьВнешнююКомпонентуАсинх",
        ]
    );
    let callbacks = "// без Асинх/Ждать\nПроцедура П()\n\tТекст = \"Ждать\";\n\tНачатьУстановкуВнешнейКомпоненты(Оповещение, \"ОбщийМакет.Чат1С\");\nКонецПроцедуры\n";
    assert_eq!(syntax_errors(callbacks), vec![]);
    assert_eq!(async_words(callbacks), vec![]);
}

const GOOD: &str = r#"
&НаКлиенте
Перем Чат1С Экспорт;

&НаКлиенте
Асинх Процедура Подключить(Форма, Имя = "Поле") Экспорт
	Если Не Ждать ПодключитьВнешнююКомпонентуАсинх("ОбщийМакет.Чат1С", "Chat", ТипВнешнейКомпоненты.Native) Тогда
		Ждать УстановитьВнешнююКомпонентуАсинх("ОбщийМакет.Чат1С");
	КонецЕсли;
	Попытка
		Объект = Новый("AddIn.Chat.Chat");
		Объект.Открыть("", ИмяПользователя());
	Исключение
		Сообщить(КраткоеПредставлениеОшибки(ИнформацияОбОшибке()));
	КонецПопытки;
	Для Каждого Элемент Из Новый Массив Цикл
		Прервать;
	КонецЦикла;
	Форма[Имя] = ?(Объект = Неопределено, "", Объект.ЗаполнитьЧат());
КонецПроцедуры
"#;

#[test]
fn good_snippet_parses() {
    assert_eq!(syntax_errors(GOOD), vec![]);
    assert_eq!(syntax_errors(&format!("\u{feff}{GOOD}")), vec![], "a BOM is not an error");
}

#[test]
fn broken_snippets_fail() {
    let broken = [
        // each is GOOD with one typical slip
        ("no КонецПроцедуры", GOOD.replace("КонецПроцедуры", "")),
        ("no КонецЕсли", GOOD.replacen("КонецЕсли;", "", 1)),
        ("Тогда missing", GOOD.replacen(" Тогда", "", 1)),
        ("no КонецПопытки", GOOD.replacen("КонецПопытки;", "", 1)),
        ("unbalanced paren", GOOD.replacen("ИмяПользователя())", "ИмяПользователя()", 1)),
        ("unterminated string", GOOD.replacen("\"Поле\"", "\"Поле", 1)),
        ("stray operator", GOOD.replacen("Прервать;", "Прервать + ;", 1)),
        ("Цикл missing", GOOD.replacen(" Цикл", "", 1)),
    ];
    for (what, src) in broken {
        assert_ne!(src, GOOD, "{what}: the mutation did not apply");
        assert!(!syntax_errors(&src).is_empty(), "{what}: not detected");
    }
}

#[test]
fn markdown_blocks_are_found_with_their_lines() {
    let md = "# T\n\n```bsl\nА = 1;\n```\ntext\n```\nnot bsl\n```\n```bsl\nБ = (;\n```\n";
    let blocks = markdown_bsl_blocks(md);
    assert_eq!(blocks.len(), 2);
    assert_eq!(blocks[0], (4, "А = 1;\n".to_string()));
    assert!(syntax_errors(&blocks[0].1).is_empty());
    assert_eq!(blocks[1].0, 11);
    assert!(!syntax_errors(&blocks[1].1).is_empty());
}
