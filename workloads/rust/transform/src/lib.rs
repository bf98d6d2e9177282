//! `transform` workload (workloads/ABI.md): normalises a flat JSON record.
//! Keys are lower-cased with `-` and space as `_`, secrets are redacted,
//! strings are trimmed with inner whitespace collapsed, `email` is
//! lower-cased; the members keep their input order. Pure.

use blueprint_guest::json::{self, Value, Writer};

/// Keys whose value is replaced, whatever it is.
const REDACTED_KEYS: &[&str] = &["password", "secret", "token", "ssn", "card_number"];
const REDACTED: &str = "[redacted]";

/// The workload's handler.
///
/// # Errors
/// The guest errors of workloads/ABI.md's `transform` section.
pub fn handle(input: &[u8]) -> Result<Vec<u8>, String> {
    let record = json::parse_object(input)?;
    let mut seen: Vec<String> = Vec::with_capacity(record.members.len());
    let mut out = Writer::new();
    for (key, value) in &record.members {
        let key = normalise_key(key);
        if seen.contains(&key) {
            return Err(format!("duplicate field \"{key}\" after key normalisation"));
        }
        if REDACTED_KEYS.contains(&key.as_str()) {
            out.str(&key, REDACTED);
        } else if let Value::Str(text) = value {
            let mut text = collapse_whitespace(text);
            if key == "email" {
                text.make_ascii_lowercase();
            }
            out.str(&key, &text);
        } else {
            out.value(&key, value);
        }
        seen.push(key);
    }
    Ok(out.finish())
}

/// ASCII upper case to lower case; `-` and space to `_`; the rest as is.
fn normalise_key(key: &str) -> String {
    key.chars()
        .map(|c| match c {
            '-' | ' ' => '_',
            c => c.to_ascii_lowercase(),
        })
        .collect()
}

/// Drops ASCII whitespace (space, tab, LF, CR) at both ends and turns each
/// run of it inside into one space. Other Unicode spaces are kept: every
/// language agrees on these four, not on Unicode's list.
fn collapse_whitespace(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in text
        .split([' ', '\t', '\n', '\r'])
        .filter(|word| !word.is_empty())
    {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

blueprint_guest::workload!(handle);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_strings_are_normalised() {
        assert_eq!(normalise_key("First Name-X"), "first_name_x");
        assert_eq!(normalise_key("Éa"), "Éa");
        assert_eq!(collapse_whitespace(" \t a \n\r b  "), "a b");
        assert_eq!(collapse_whitespace("   "), "");
        assert_eq!(collapse_whitespace("a\u{a0}b"), "a\u{a0}b");
    }

    #[test]
    fn a_record_is_reshaped_in_input_order() {
        let out = handle(br#"{"EMail":" A@B.C ","Token":5,"n":-0,"Password":null}"#).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"{"email":"a@b.c","token":"[redacted]","n":0,"password":"[redacted]"}"#
        );
        assert_eq!(
            handle(br#"{"a-b":1,"A_B":2}"#),
            Err("duplicate field \"a_b\" after key normalisation".into())
        );
    }
}
