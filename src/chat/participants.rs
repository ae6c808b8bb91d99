//! Participants: how 1C developers pass them and how names compare.

use super::Invalid;

/// The comparison key of a user name: trimmed and lower-cased (Unicode), as 1C
/// compares user names case-insensitively.
pub fn user_key(name: &str) -> String {
    name.trim().to_lowercase()
}

/// Parses Participants: a JSON array of strings, or names separated by `;` or `,`.
/// Blank entries are dropped, duplicates (by [`user_key`]) keep the first spelling.
pub fn parse_participants(raw: &str) -> Result<Vec<String>, Invalid> {
    let trimmed = raw.trim();
    let names: Vec<String> = if trimmed.starts_with('[') {
        let parsed: Vec<String> =
            serde_json::from_str(trimmed).map_err(|_| Invalid::ParticipantsMalformed)?;
        parsed
    } else {
        trimmed.split([';', ',']).map(|s| s.to_string()).collect()
    };
    let mut out: Vec<String> = Vec::new();
    let mut keys: Vec<String> = Vec::new();
    for name in names {
        let name = name.trim();
        if name.is_empty() {
            continue;
        }
        let key = user_key(name);
        if !keys.contains(&key) {
            keys.push(key);
            out.push(name.to_string());
        }
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
        assert!(parse_participants(" ; , ").unwrap().is_empty());
        assert_eq!(
            parse_participants("[1,2]"),
            Err(Invalid::ParticipantsMalformed)
        );
        assert_eq!(user_key(" ОТПРАВИТЕЛЬ "), "отправитель");
    }
}
