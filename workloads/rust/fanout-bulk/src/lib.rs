//! `fanout-bulk` workload (workloads/ABI.md): `fanout`'s work, byte for
//! byte the same answers and state, with the K reads made as one
//! `state_get_bulk` of the keys `<key>.0` … `<key>.<k-1>` (missing = 0);
//! then the same one last-write-wins increment of `<key>.<sum mod k>`.
//!
//! One request is two Dapr calls whatever K is, so set beside `fanout` it
//! measures what batching the reads saves in each integration mode.

use blueprint_guest::json::{self, Value, Writer};
use blueprint_guest::{Concurrency, Error, state_get_bulk, state_set};

const STORE: &str = "statestore";
const MAX_KEY_LEN: usize = 64;
const MAX_K: i64 = 64;

/// The workload's handler.
///
/// # Errors
/// The guest errors of workloads/ABI.md's `fanout` section (`fanout-bulk`
/// shares them).
pub fn handle(input: &[u8]) -> Result<Vec<u8>, String> {
    let (key, k) = parse_request(input)?;
    let keys: Vec<String> = (0..k).map(|i| slot(&key, i)).collect();
    let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
    let entries = state_get_bulk(STORE, &keys).map_err(Error::guest_message)?;
    let (mut found, mut sum) = (0i64, 0u64);
    let mut values = Vec::with_capacity(k);
    for entry in entries {
        let value = match entry {
            Some(entry) => {
                found += 1;
                parse_counter(&entry.value)?
            }
            None => 0,
        };
        sum = sum.checked_add(value).ok_or("counter overflow")?;
        values.push(value);
    }
    // The answer's integers stay in the JSON subset's range, and the
    // written value (at most `sum + 1`) with them.
    let sum = i64::try_from(sum)
        .ok()
        .filter(|sum| *sum < i64::MAX)
        .ok_or("counter overflow")?;
    let target = (sum as u64 % k as u64) as usize;
    let next = (values[target] + 1).to_string();
    state_set(
        STORE,
        &slot(&key, target),
        next.as_bytes(),
        None,
        Concurrency::LastWrite,
    )
    .map_err(Error::guest_message)?;
    Ok(Writer::new().int("found", found).int("sum", sum).finish())
}

/// The state key of counter `i`.
fn slot(key: &str, i: usize) -> String {
    format!("{key}.{i}")
}

fn parse_request(input: &[u8]) -> Result<(String, usize), String> {
    let request = json::parse_object(input)?;
    request.only(&["key", "k"])?;
    let key = match request.get("key") {
        None => return Err("key is required".into()),
        Some(Value::Str(key)) if (1..=MAX_KEY_LEN).contains(&key.len()) => key.clone(),
        Some(_) => return Err(format!("key must be a string of 1 to {MAX_KEY_LEN} bytes")),
    };
    let k = match request.get("k") {
        None => return Err("k is required".into()),
        Some(Value::Int(k)) if (1..=MAX_K).contains(k) => *k as usize,
        Some(_) => return Err(format!("k must be an integer from 1 to {MAX_K}")),
    };
    Ok((key, k))
}

/// `counter`'s rule: strict ASCII digits only, at most `u64::MAX`.
fn parse_counter(value: &[u8]) -> Result<u64, String> {
    let not_a_counter = || "stored value is not a counter".to_owned();
    if value.is_empty() {
        return Err(not_a_counter());
    }
    value.iter().try_fold(0u64, |acc, &byte| {
        let digit = byte
            .checked_sub(b'0')
            .filter(|d| *d <= 9)
            .ok_or_else(not_a_counter)?;
        acc.checked_mul(10)
            .and_then(|acc| acc.checked_add(u64::from(digit)))
            .ok_or_else(not_a_counter)
    })
}

blueprint_guest::workload!(handle);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_checked_before_any_dapr_call() {
        assert_eq!(parse_request(br#"{"k":8,"key":"fan"}"#), Ok(("fan".into(), 8)));
        assert_eq!(
            parse_request(&format!(r#"{{"key":"{}","k":64}}"#, "k".repeat(64)).into_bytes()),
            Ok(("k".repeat(64), 64))
        );
        for (input, error) in [
            (&br#"fan"#[..], "invalid JSON"),
            (br#"{"key":"fan","k":8.0}"#, "invalid JSON"),
            (br#"{"key":"fan","k":8,"x":1}"#, "unknown field \"x\""),
            (br#"{"k":8}"#, "key is required"),
            (br#"{"key":"","k":8}"#, "key must be a string of 1 to 64 bytes"),
            (br#"{"key":null,"k":8}"#, "key must be a string of 1 to 64 bytes"),
            (br#"{"key":"fan"}"#, "k is required"),
            (br#"{"key":"fan","k":0}"#, "k must be an integer from 1 to 64"),
            (br#"{"key":"fan","k":65}"#, "k must be an integer from 1 to 64"),
            (br#"{"key":"fan","k":true}"#, "k must be an integer from 1 to 64"),
        ] {
            assert_eq!(parse_request(input), Err(error.into()), "{input:?}");
        }
        let long = format!(r#"{{"key":"{}","k":1}}"#, "k".repeat(65));
        assert_eq!(
            parse_request(long.as_bytes()),
            Err("key must be a string of 1 to 64 bytes".into())
        );
    }

    #[test]
    fn counters_are_plain_decimal_u64() {
        assert_eq!(parse_counter(b"0042"), Ok(42));
        assert_eq!(parse_counter(b"18446744073709551615"), Ok(u64::MAX));
        for bad in [&b""[..], b"+1", b"-1", b" 1", b"\"1\"", b"18446744073709551616"] {
            assert_eq!(parse_counter(bad), Err("stored value is not a counter".into()));
        }
    }

    #[test]
    fn without_dapr_the_bulk_read_fails() {
        assert_eq!(
            handle(br#"{"key":"fan","k":8}"#),
            Err("dapr: not permitted".into())
        );
    }
}
