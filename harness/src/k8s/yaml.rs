//! A small YAML writer for manifests built as JSON values: block style,
//! every string double-quoted (a JSON string is a YAML scalar), so nothing a
//! value contains can change the document's structure.

use std::fmt::Write as _;

use serde_json::Value;

/// One YAML document for `value` (no leading `---`).
pub fn to_yaml(value: &Value) -> String {
    let mut out = String::new();
    match value {
        Value::Object(map) if !map.is_empty() => write_map(&mut out, map, 0),
        Value::Array(items) if !items.is_empty() => write_seq(&mut out, items, 0),
        other => {
            let _ = writeln!(out, "{}", scalar(other));
        }
    }
    out
}

/// Documents joined with `---` lines.
pub fn documents<'a>(values: impl IntoIterator<Item = &'a Value>) -> String {
    values.into_iter().map(to_yaml).collect::<Vec<_>>().join("---\n")
}

fn key(k: &str) -> String {
    let plain = !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/'))
        && !k.starts_with(['-', '.']);
    if plain {
        k.to_owned()
    } else {
        serde_json::to_string(k).unwrap_or_default()
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::Object(_) => "{}".into(),
        Value::Array(_) => "[]".into(),
        other => other.to_string(),
    }
}

fn nested(v: &Value) -> bool {
    matches!(v, Value::Object(m) if !m.is_empty()) || matches!(v, Value::Array(a) if !a.is_empty())
}

fn write_map(out: &mut String, map: &serde_json::Map<String, Value>, indent: usize) {
    let pad = " ".repeat(indent);
    for (k, v) in map {
        match v {
            Value::Object(m) if !m.is_empty() => {
                let _ = writeln!(out, "{pad}{}:", key(k));
                write_map(out, m, indent + 2);
            }
            Value::Array(a) if !a.is_empty() => {
                let _ = writeln!(out, "{pad}{}:", key(k));
                write_seq(out, a, indent + 2);
            }
            other => {
                let _ = writeln!(out, "{pad}{}: {}", key(k), scalar(other));
            }
        }
    }
}

fn write_seq(out: &mut String, items: &[Value], indent: usize) {
    let pad = " ".repeat(indent);
    for item in items {
        match item {
            Value::Object(m) if !m.is_empty() => {
                // The first key shares the dash's line; the rest align under it.
                let mut inner = String::new();
                write_map(&mut inner, m, indent + 2);
                let body = inner.trim_start();
                let _ = write!(out, "{pad}- {body}");
            }
            Value::Array(a) if !a.is_empty() => {
                let _ = writeln!(out, "{pad}-");
                write_seq(out, a, indent + 2);
            }
            other if !nested(other) => {
                let _ = writeln!(out, "{pad}- {}", scalar(other));
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_and_sequences_nest_and_strings_are_quoted() {
        let v = serde_json::json!({
            "a": {"b": "x: y", "c": [1, {"d": true, "e": []}], "f": {}},
            "dapr.io/app-id": "app",
        });
        assert_eq!(
            to_yaml(&v),
            "a:\n  b: \"x: y\"\n  c:\n    - 1\n    - d: true\n      e: []\n  f: {}\ndapr.io/app-id: \"app\"\n"
        );
    }
}
