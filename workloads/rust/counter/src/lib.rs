//! `counter` workload (workloads/ABI.md): increments the decimal counter
//! stored under the request's key in `statestore` and returns the new value.
//!
//! The write uses first-write concurrency with the etag it read (none for a
//! new key), so concurrent increments never lose an update: the loser gets
//! `ETAG_MISMATCH`, reads again and retries.

use blueprint_guest::update_state;

const STORE: &str = "statestore";
const MAX_KEY_LEN: usize = 128;

/// The workload's handler.
///
/// # Errors
/// The guest errors of workloads/ABI.md's `counter` section.
pub fn handle(input: &[u8]) -> Result<Vec<u8>, String> {
    let key = parse_key(input)?;
    let (stored, ()) = update_state(STORE, key, |stored| {
        let current = stored.map_or(Ok(0), parse_counter)?;
        let next = current.checked_add(1).ok_or("counter overflow")?;
        Ok((next.to_string().into_bytes(), ()))
    })?;
    Ok(stored)
}

fn parse_key(input: &[u8]) -> Result<&str, String> {
    if input.is_empty() {
        return Err("key must not be empty".into());
    }
    if input.len() > MAX_KEY_LEN {
        return Err(format!("key must be at most {MAX_KEY_LEN} bytes"));
    }
    std::str::from_utf8(input).map_err(|_| "key must be UTF-8".into())
}

/// Strict ASCII digits only: `str::parse` would also take a leading `+`,
/// which other languages' counters may not, and every implementation must
/// agree on what counts as a counter.
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
    fn keys_are_checked_before_any_dapr_call() {
        assert_eq!(parse_key(b"visits"), Ok("visits"));
        assert_eq!(parse_key(&[b'k'; 128]).map(str::len), Ok(128));
        assert_eq!(parse_key(b""), Err("key must not be empty".into()));
        assert_eq!(
            parse_key(&[b'k'; 129]),
            Err("key must be at most 128 bytes".into())
        );
        assert_eq!(parse_key(b"\xff"), Err("key must be UTF-8".into()));
    }

    #[test]
    fn counters_are_plain_decimal_u64() {
        assert_eq!(parse_counter(b"0"), Ok(0));
        assert_eq!(parse_counter(b"0042"), Ok(42));
        assert_eq!(parse_counter(b"18446744073709551615"), Ok(u64::MAX));
        for bad in [
            &b""[..],
            b"+1",
            b"-1",
            b" 1",
            b"1.0",
            b"\"1\"",
            b"18446744073709551616",
        ] {
            assert_eq!(parse_counter(bad), Err("stored value is not a counter".into()));
        }
    }
}
