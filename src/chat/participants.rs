//! Participants: how 1C developers pass them. Names follow [`super::names`].

use super::names::{shown_form, user_key, BadChar};
use super::Invalid;

/// Parses Participants: a JSON array of strings, or names separated by `;` or `,`.
/// Only "" means a public topic: an argument that names nobody (`;;`, `[]`,
/// `["", " "]`) is refused rather than taken for one. Duplicates (by [`user_key`])
/// keep the first spelling; names come back in their shown form.
pub fn parse_participants(raw: &str) -> Result<Vec<String>, Invalid> {
    if raw.is_empty() {
        return Ok(Vec::new());
    }
    let trimmed = raw.trim();
    let names: Vec<String> = if trimmed.starts_with('[') {
        serde_json::from_str(trimmed).map_err(|_| Invalid::ParticipantsMalformed)?
    } else {
        trimmed.split([';', ',']).map(str::to_string).collect()
    };
    let mut out: Vec<String> = Vec::new();
    let mut keys: Vec<String> = Vec::new();
    for name in names {
        let shown = shown_form(&name).map_err(|bad| match bad {
            BadChar::Control => Invalid::ControlCharInName,
            BadChar::Invisible => Invalid::InvisibleChar,
        })?;
        if shown.is_empty() {
            continue;
        }
        let key = user_key(&shown);
        if !keys.contains(&key) {
            keys.push(key);
            out.push(shown);
        }
    }
    if out.is_empty() {
        return Err(Invalid::NoParticipants);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separators_json_and_case() {
        assert_eq!(parse_participants("a; b ,c").unwrap(), vec!["a", "b", "c"]);
        assert_eq!(
            parse_participants(r#"["Иван", "иван", " Пётр "]"#).unwrap(),
            vec!["Иван", "Пётр"]
        );
        assert!(parse_participants("").unwrap().is_empty());
        assert_eq!(
            parse_participants("[1,2]"),
            Err(Invalid::ParticipantsMalformed)
        );
        assert_eq!(
            parse_participants("\u{212A}ate; kate").unwrap(),
            vec!["Kate"],
            "one person, shown in plain letters"
        );
    }

    #[test]
    fn naming_nobody_is_not_a_public_topic() {
        for nobody in [" ; , ", ";;;", " ", "[]", r#"["", " "]"#] {
            assert_eq!(
                parse_participants(nobody),
                Err(Invalid::NoParticipants),
                "{nobody:?}"
            );
        }
        assert_eq!(
            parse_participants("Anna; Bo\u{200B}ris"),
            Err(Invalid::InvisibleChar)
        );
    }
}
