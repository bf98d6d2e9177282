//! `lookup` workload (workloads/ABI.md): returns the value stored under the
//! request's key in `statestore`. A missing key is first given its initial
//! value, the key's length in bytes as ASCII decimal, written with
//! first-write concurrency and no etag: of concurrent first requests one
//! wins, and the others (`ETAG_MISMATCH`) read again and return what it
//! wrote.
//!
//! Under load the same key is sent every time, so after the first request
//! every request is exactly one state read: the read-mostly, hot-key shape a
//! state cache in front of Dapr serves best.

use blueprint_guest::{Concurrency, Error, UPDATE_ATTEMPTS, state_get, state_set};

const STORE: &str = "statestore";
const MAX_KEY_LEN: usize = 128;

/// The workload's handler.
///
/// # Errors
/// The guest errors of workloads/ABI.md's `lookup` section.
pub fn handle(input: &[u8]) -> Result<Vec<u8>, String> {
    let key = parse_key(input)?;
    for _ in 0..UPDATE_ATTEMPTS {
        if let Some(entry) = state_get(STORE, key).map_err(Error::guest_message)? {
            return Ok(entry.value);
        }
        let initial = initial_value(key);
        match state_set(STORE, key, &initial, None, Concurrency::FirstWrite) {
            Ok(()) => return Ok(initial),
            // Another request stored it first: read what it stored.
            Err(Error::EtagMismatch) => continue,
            Err(err) => return Err(err.guest_message()),
        }
    }
    Err("too much contention".into())
}

/// What a missing key starts as: its length in bytes, in decimal.
fn initial_value(key: &str) -> Vec<u8> {
    key.len().to_string().into_bytes()
}

/// `counter`'s key rules and messages.
fn parse_key(input: &[u8]) -> Result<&str, String> {
    if input.is_empty() {
        return Err("key must not be empty".into());
    }
    if input.len() > MAX_KEY_LEN {
        return Err(format!("key must be at most {MAX_KEY_LEN} bytes"));
    }
    std::str::from_utf8(input).map_err(|_| "key must be UTF-8".into())
}

blueprint_guest::workload!(handle);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_checked_before_any_dapr_call() {
        assert_eq!(parse_key(b"hot"), Ok("hot"));
        assert_eq!(parse_key(&[b'k'; 128]).map(str::len), Ok(128));
        assert_eq!(parse_key(b""), Err("key must not be empty".into()));
        assert_eq!(
            parse_key(&[b'k'; 129]),
            Err("key must be at most 128 bytes".into())
        );
        assert_eq!(parse_key(b"\xed\xa0\x80"), Err("key must be UTF-8".into()));
        assert_eq!(handle(b"hot"), Err("dapr: not permitted".into()));
    }

    #[test]
    fn the_initial_value_counts_bytes() {
        assert_eq!(initial_value("hot"), b"3");
        assert_eq!(initial_value("h\u{e9}t"), b"4");
        assert_eq!(initial_value(&"k".repeat(128)), b"128");
    }
}
