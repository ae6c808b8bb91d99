//! Mentions: `@` followed by the name of someone who may be mentioned (a member of
//! a private group, or a user the store knows in a public topic), longest name first,
//! so that "@Иванов Иван" mentions Иванов Иван even when Иванов is a user too.
//! Names match by the names rule (NFKC, case-insensitive). A PostgreSQL store runs
//! the same steps on the server (api.sql, `chat1c_private.mentions`).

use super::limits::NAME_MAX_CHARS;
use super::names::user_key;

/// How many words after `@` a name may span.
pub const WORDS_MAX: usize = 6;

/// The places where a name after `@` may end: before a character that is not a letter,
/// digit or one of `_-.` (so "@Анна," and "@Анна!" end there, "@Аннабель" does not end
/// at "Анна"), within [`WORDS_MAX`] words and [`NAME_MAX_CHARS`] characters; longest
/// first. Each is the candidate's length in chars.
pub fn name_ends(after_at: &str) -> Vec<usize> {
    let chars: Vec<char> = after_at.chars().take(NAME_MAX_CHARS + 1).collect();
    let inside = |c: char| c.is_alphanumeric() || matches!(c, '_' | '-' | '.');
    let mut ends = Vec::new();
    if !chars.first().is_some_and(|&c| c.is_alphanumeric()) {
        return ends; // "@ Анна", "@@": not a mention
    }
    let mut words = 0;
    for i in 1..=chars.len().min(NAME_MAX_CHARS) {
        let ends_word = inside(chars[i - 1]) && chars.get(i).is_none_or(|&c| !inside(c));
        if ends_word {
            // A dot that ends the sentence is not part of the name.
            let n = i - chars[..i].iter().rev().take_while(|&&c| c == '.').count();
            if n > 0 && ends.last() != Some(&n) {
                ends.push(n);
            }
            words += 1;
            if words == WORDS_MAX {
                break;
            }
        }
        if chars[i - 1] != ' ' && !inside(chars[i - 1]) {
            break;
        }
    }
    ends.reverse();
    ends
}

/// The names `text` mentions, in order, each once: `who(key)` gives the shown name of
/// the person with that key when they may be mentioned here.
pub fn resolve(text: &str, mut who: impl FnMut(&str) -> Option<String>) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find('@') {
        let after = &rest[at + 1..];
        let mut consumed = 0;
        for len in name_ends(after) {
            let candidate: String = after.chars().take(len).collect();
            if let Some(shown) = who(&user_key(&candidate)) {
                if !found.contains(&shown) {
                    found.push(shown);
                }
                consumed = candidate.len();
                break;
            }
        }
        rest = &after[consumed..];
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn people(key: &str) -> Option<String> {
        let known = [
            ("иванов", "Иванов"),
            ("иванов иван", "Иванов Иван"),
            ("анна", "Анна"),
        ];
        known
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, shown)| shown.to_string())
    }

    #[test]
    fn longest_name_first_and_word_ends() {
        assert_eq!(resolve("@Иванов Иван, привет", people), vec!["Иванов Иван"]);
        assert_eq!(resolve("@иванов, привет", people), vec!["Иванов"]);
        assert_eq!(resolve("спроси @Анна.", people), vec!["Анна"]);
        assert_eq!(resolve("@Аннабель", people), Vec::<String>::new());
        assert_eq!(
            resolve("@АННА и @Анна и @анна", people),
            vec!["Анна"],
            "once each"
        );
        assert_eq!(
            resolve("e-mail anna@example.com", people),
            Vec::<String>::new()
        );
        assert_eq!(
            resolve("@Иванов Иван @Анна!", people),
            vec!["Иванов Иван", "Анна"]
        );
        assert_eq!(
            resolve("@ Анна", people),
            Vec::<String>::new(),
            "no space after @"
        );
        assert_eq!(resolve("@", people), Vec::<String>::new());
    }

    #[test]
    fn ends_are_word_ends() {
        assert_eq!(name_ends("Иванов Иван, привет"), vec![11, 6]);
        assert_eq!(name_ends("a b c d e f g h"), vec![11, 9, 7, 5, 3, 1]);
        assert_eq!(name_ends("Анна."), vec![4]);
        assert!(name_ends(" Анна").is_empty());
    }
}
