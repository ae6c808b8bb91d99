//! The one rule for names (users, participants) and topics, used everywhere: how
//! they are shown, how they compare, and which characters they may not hold.
//!
//! - Shown form: Unicode NFKC (so compatibility characters such as the Kelvin sign
//!   "K" become plain letters), spaces trimmed and runs of spaces made one.
//! - Comparison key: the shown form in lower case (Unicode). A PostgreSQL store
//!   computes the same key on the server: `lower(...)` of the same shown form.
//! - Refused: control characters, other whitespace than the plain space (after NFKC,
//!   which turns most Unicode spaces into it), and invisible characters: zero-width,
//!   direction controls and every other format character, so that two different
//!   names never look the same.

use unicode_normalization::UnicodeNormalization;

/// Why a name or topic was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadChar {
    /// A control character (code below 32, DEL, C1 controls) or a line or tab.
    Control,
    /// A character that cannot be seen or changes how the rest is shown.
    Invisible,
}

/// The shown form of a name or topic, or the kind of character that forbids it.
pub fn shown_form(raw: &str) -> Result<String, BadChar> {
    // The normalizer costs ~0.45 µs a name (GetGroups maps every member of every group
    // it lists), and most 1C user names and topics need none.
    if raw.chars().all(nfkc_keeps) {
        shown_from(raw.chars(), raw.len())
    } else {
        shown_from(raw.nfkc(), raw.len())
    }
}

/// Characters NFKC leaves as they are, alone and next to each other: ASCII and the basic
/// Cyrillic block (no compatibility forms, no combining marks; a unit test checks every
/// pair), which write nearly every 1C user's name.
fn nfkc_keeps(c: char) -> bool {
    c.is_ascii() || ('\u{0400}'..='\u{045F}').contains(&c)
}

/// The shown form of `chars`, a name or topic already in NFKC.
fn shown_from(chars: impl Iterator<Item = char>, len: usize) -> Result<String, BadChar> {
    let mut out = String::with_capacity(len);
    for c in chars {
        if c.is_control() {
            return Err(BadChar::Control);
        }
        if is_invisible(c) || (c.is_whitespace() && c != ' ') {
            return Err(BadChar::Invisible);
        }
        if c == ' ' && (out.is_empty() || out.ends_with(' ')) {
            continue;
        }
        out.push(c);
    }
    if out.ends_with(' ') {
        out.pop();
    }
    Ok(out)
}

/// The comparison key of a user name. Names that break the rule get a key no valid
/// name has (they never get this far: Open and SendMessage refuse them).
pub fn user_key(name: &str) -> String {
    // Printable ASCII and basic Cyrillic with single inner spaces is its own shown form
    // (NFKC changes none of them, none is invisible): the common case, without the
    // normalizer (GetGroups maps every member of every group it lists).
    if name
        .chars()
        .all(|c| c == ' ' || c.is_ascii_graphic() || (!c.is_ascii() && nfkc_keeps(c)))
        && !name.starts_with(' ')
        && !name.ends_with(' ')
        && !name.contains("  ")
    {
        return name.to_lowercase();
    }
    match shown_form(name) {
        Ok(shown) => shown.to_lowercase(),
        Err(_) => format!("\u{0}{}", name.to_lowercase()),
    }
}

/// Format characters (Unicode category Cf, Unicode 15) and the fillers that render as
/// nothing: they let "Anna" and "An\u{200B}na" look alike.
pub fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{0600}'..='\u{0605}'
            | '\u{061C}'
            | '\u{06DD}'
            | '\u{070F}'
            | '\u{0890}'..='\u{0891}'
            | '\u{08E2}'
            | '\u{115F}'..='\u{1160}'
            | '\u{17B4}'..='\u{17B5}'
            | '\u{180B}'..='\u{180F}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206F}'
            | '\u{2800}'
            | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}'
            | '\u{FFA0}'
            | '\u{FFF9}'..='\u{FFFB}'
            | '\u{110BD}'
            | '\u{110CD}'
            | '\u{13430}'..='\u{1343F}'
            | '\u{1BCA0}'..='\u{1BCA3}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0001}'
            | '\u{E0020}'..='\u{E007F}'
            | '\u{E0100}'..='\u{E01EF}'
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compatibility_forms_and_spaces_become_one_name() {
        let kelvin = "\u{212A}ate";
        assert_eq!(shown_form(kelvin), Ok("Kate".into()));
        assert_eq!(user_key(kelvin), user_key("kate"));
        assert_eq!(
            shown_form("  Иванов \u{00A0} Иван  "),
            Ok("Иванов Иван".into())
        );
        assert_eq!(user_key("ИВАНОВ ИВАН"), user_key("иванов   иван"));
        assert_eq!(
            shown_form("Ｋａｔｅ"),
            Ok("Kate".into()),
            "full-width letters"
        );
        assert_eq!(user_key(" ОТПРАВИТЕЛЬ "), "отправитель");
    }

    #[test]
    fn the_shortcut_gives_the_normalizers_key() {
        let slow = |n: &str| match shown_form(n) {
            Ok(shown) => shown.to_lowercase(),
            Err(_) => format!("\u{0}{}", n.to_lowercase()),
        };
        // ASCII, the Cyrillic block's basic part and its neighbours, and characters the
        // normalizer changes or refuses (no-break space, soft hyphen, a combining accent).
        let chars: Vec<char> = (0u32..=0x7F)
            .chain(0x3FE..=0x462)
            .chain([0xA0, 0xAD, 0x301, 0x2028, 0x212A])
            .filter_map(char::from_u32)
            .collect();
        for a in &chars {
            for b in &chars {
                for n in [format!("{a}{b}"), format!("{a} {b}x"), format!("x{a}  {b}")] {
                    assert_eq!(user_key(&n), slow(&n), "{n:?}");
                }
            }
        }
        assert_eq!(user_key("User 1000"), "user 1000");
        assert_eq!(user_key(""), slow(""));
    }

    #[test]
    fn names_the_normalizer_is_skipped_for_are_its_own_nfkc_form() {
        let chars: Vec<char> = (0u32..=0x45F)
            .filter_map(char::from_u32)
            .filter(|&c| nfkc_keeps(c))
            .collect();
        assert_eq!(chars.len(), 128 + 96);
        for a in &chars {
            for b in &chars {
                let pair = format!("{a}{b}");
                assert_eq!(pair.nfkc().collect::<String>(), pair, "{pair:?}");
            }
        }
        assert!(!nfkc_keeps('\u{0460}') && !nfkc_keeps('\u{0301}') && !nfkc_keeps('\u{212A}'));
        assert_eq!(user_key("  Пётр   ЙОГАНСОН "), "пётр йогансон");
        assert_eq!(shown_form("Ёж\u{0007}"), Err(BadChar::Control));
    }

    #[test]
    fn invisible_and_control_characters_are_refused() {
        for bad in [
            "An\u{200B}na",
            "\u{202E}annA",
            "Ann\u{2066}a",
            "Ann\u{FEFF}",
            "A\u{00AD}nn",
        ] {
            assert_eq!(shown_form(bad), Err(BadChar::Invisible), "{bad:?}");
        }
        assert_eq!(
            shown_form("Ann\u{2028}a"),
            Err(BadChar::Invisible),
            "line separator"
        );
        assert_eq!(shown_form("Ann\ta"), Err(BadChar::Control));
        assert_eq!(shown_form("Ann\u{0085}"), Err(BadChar::Control));
        assert_ne!(user_key("An\u{200B}na"), user_key("Anna"));
    }
}
