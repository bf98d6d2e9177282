//! Hostile variants of the files users feed the harness, for the property
//! tests of its parsers (`fuzz_*.rs` in each crate's `tests/`, which include
//! this one file by path so every crate mutates inputs the same way).
//!
//! Two levels: [`lines`] edits a text file as a user's editor could (drop,
//! duplicate, swap lines, put a hostile value after a line's `=` or `:`);
//! [`bytes`] edits it as a disk or a network could (truncate, flip, splice).
//! Cases run as many times as `PROPTEST_CASES` says ([`config`]).
#![allow(dead_code)]

use std::sync::Arc;

use proptest::prelude::*;
use proptest::sample::Index;

/// Cases per property: `PROPTEST_CASES`, else `default`.
pub fn config(default: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default);
    ProptestConfig {
        cases,
        // Shrinking re-runs whole parses; a few hundred steps find the
        // minimal input without dominating a failing run.
        max_shrink_iters: 512,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Values that break parsers' assumptions: out-of-range and non-finite
/// numbers, negative counts, empty and deep structures, control and
/// right-to-left characters, paths out of a folder.
pub fn hostile_value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("0".to_owned()),
        Just("-1".to_owned()),
        Just("-9223372036854775808".to_owned()),
        Just("18446744073709551615".to_owned()),
        Just("18446744073709551616".to_owned()),
        Just("1e308".to_owned()),
        Just("1e999".to_owned()),
        Just("-0.0".to_owned()),
        Just("nan".to_owned()),
        Just("inf".to_owned()),
        Just("-inf".to_owned()),
        Just("NaN".to_owned()),
        Just("true".to_owned()),
        Just("null".to_owned()),
        Just("\"\"".to_owned()),
        Just("[]".to_owned()),
        Just("{}".to_owned()),
        Just("\"0s\"".to_owned()),
        Just("\"18446744073709551615s\"".to_owned()),
        Just("\"99999999999999 years\"".to_owned()),
        Just("\"../../x\"".to_owned()),
        Just("\"not base64!\"".to_owned()),
        Just("\"HISTFAAAAB\"".to_owned()),
        Just("\"\\u0000\\u202e ñ 🦀\"".to_owned()),
        (1usize..3000).prop_map(|depth| format!("{}{}", "[".repeat(depth), "]".repeat(depth))),
        (1usize..100_000).prop_map(|n| format!("[{}0]", "0,".repeat(n - 1))),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|x| format!("{x:?}")),
        "\\PC{0,40}".prop_map(|s| format!("{s:?}")),
    ]
}

/// One edit of a line-oriented text file.
#[derive(Debug, Clone)]
pub enum LineEdit {
    Drop(Index),
    Duplicate(Index),
    Swap(Index, Index),
    /// Keeps the line's key (up to `=` or `:`) and writes `value` after it.
    Value(Index, String),
    Insert(Index, String),
}

/// A few line edits.
pub fn lines() -> impl Strategy<Value = Vec<LineEdit>> {
    let edit = prop_oneof![
        1 => any::<Index>().prop_map(LineEdit::Drop),
        1 => any::<Index>().prop_map(LineEdit::Duplicate),
        1 => (any::<Index>(), any::<Index>()).prop_map(|(a, b)| LineEdit::Swap(a, b)),
        3 => (any::<Index>(), hostile_value()).prop_map(|(i, v)| LineEdit::Value(i, v)),
        1 => (any::<Index>(), "\\PC{0,60}").prop_map(|(i, l)| LineEdit::Insert(i, l)),
    ];
    prop::collection::vec(edit, 1..6)
}

/// `text` with `edits` applied in order.
pub fn apply_lines(text: &str, edits: &[LineEdit]) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    for edit in edits {
        if lines.is_empty() {
            lines.push(String::new());
        }
        let n = lines.len();
        match edit {
            LineEdit::Drop(i) => {
                lines.remove(i.index(n));
            }
            LineEdit::Duplicate(i) => {
                let line = lines[i.index(n)].clone();
                lines.insert(i.index(n), line);
            }
            LineEdit::Swap(a, b) => lines.swap(a.index(n), b.index(n)),
            LineEdit::Value(i, value) => {
                let line = &mut lines[i.index(n)];
                if let Some(at) = line.find(['=', ':']) {
                    // A JSON line keeps its trailing comma, so only the value is hostile.
                    let comma = if line.trim_end().ends_with(',') { "," } else { "" };
                    *line = format!("{} {value}{comma}", &line[..=at]);
                }
            }
            LineEdit::Insert(i, new) => lines.insert(i.index(n + 1), new.clone()),
        }
    }
    lines.join("\n")
}

/// One edit of a byte string.
#[derive(Debug, Clone)]
pub enum ByteEdit {
    Truncate(Index),
    Flip(Index, u8),
    Delete(Index, usize),
    Insert(Index, Vec<u8>),
    /// A copy of a span inserted elsewhere (repeats a structure).
    Repeat(Index, usize, Index),
}

/// A few byte edits.
pub fn bytes() -> impl Strategy<Value = Vec<ByteEdit>> {
    let edit = prop_oneof![
        1 => any::<Index>().prop_map(ByteEdit::Truncate),
        3 => (any::<Index>(), 1u8..=255).prop_map(|(i, m)| ByteEdit::Flip(i, m)),
        1 => (any::<Index>(), 1usize..64).prop_map(|(i, n)| ByteEdit::Delete(i, n)),
        1 => (any::<Index>(), prop::collection::vec(any::<u8>(), 1..16)).prop_map(|(i, b)| ByteEdit::Insert(i, b)),
        1 => (any::<Index>(), 1usize..256, any::<Index>()).prop_map(|(a, n, b)| ByteEdit::Repeat(a, n, b)),
    ];
    prop::collection::vec(edit, 1..6)
}

/// `data` with `edits` applied in order.
pub fn apply_bytes(data: &[u8], edits: &[ByteEdit]) -> Vec<u8> {
    let mut out = data.to_vec();
    for edit in edits {
        let n = out.len();
        match edit {
            ByteEdit::Truncate(i) => out.truncate(i.index(n + 1)),
            ByteEdit::Flip(i, mask) if n > 0 => out[i.index(n)] ^= mask,
            ByteEdit::Flip(..) => {}
            ByteEdit::Delete(i, len) => {
                let at = i.index(n + 1);
                out.drain(at..(at + len).min(n));
            }
            ByteEdit::Insert(i, new) => {
                let at = i.index(n + 1);
                out.splice(at..at, new.iter().copied());
            }
            ByteEdit::Repeat(from, len, to) => {
                let at = from.index(n + 1);
                let span = out[at..(at + len).min(n)].to_vec();
                let to = to.index(n + 1);
                out.splice(to..to, span);
            }
        }
    }
    out
}

/// A text file attacked at either level, as lossy UTF-8 (the readers take
/// strings; invalid UTF-8 is the file system's error, before any parser).
pub fn mutated(text: &str) -> impl Strategy<Value = String> + use<> {
    let text: Arc<str> = text.into();
    let (a, b, c) = (text.clone(), text.clone(), text);
    prop_oneof![
        lines().prop_map(move |e| apply_lines(&a, &e)),
        bytes().prop_map(move |e| String::from_utf8_lossy(&apply_bytes(b.as_bytes(), &e)).into_owned()),
        (lines(), bytes()).prop_map(move |(l, e)| {
            let text = apply_lines(&c, &l);
            String::from_utf8_lossy(&apply_bytes(text.as_bytes(), &e)).into_owned()
        }),
    ]
}
