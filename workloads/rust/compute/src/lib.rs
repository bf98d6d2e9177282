//! `compute` workload (workloads/ABI.md): SHA-256 of `data`, then of the
//! digest, `iterations` times in all; answers the hex digest. Pure and
//! CPU-bound, so it compares the runtimes' code generation rather than their
//! call overhead.

mod sha256;

use blueprint_guest::json::{self, Value, Writer};

const MAX_ITERATIONS: i64 = 100_000;

/// The workload's handler.
///
/// # Errors
/// The guest errors of workloads/ABI.md's `compute` section.
pub fn handle(input: &[u8]) -> Result<Vec<u8>, String> {
    let request = json::parse_object(input)?;
    request.only(&["data", "iterations"])?;
    let data = match request.get("data") {
        None => return Err("data is required".into()),
        Some(Value::Str(data)) => data,
        Some(_) => return Err("data must be a string".into()),
    };
    let iterations = match request.get("iterations") {
        None => return Err("iterations is required".into()),
        Some(Value::Int(n)) if (1..=MAX_ITERATIONS).contains(n) => *n,
        Some(_) => {
            return Err(format!(
                "iterations must be an integer from 1 to {MAX_ITERATIONS}"
            ));
        }
    };
    let mut digest = sha256::digest(data.as_bytes());
    for _ in 1..iterations {
        digest = sha256::digest(&digest);
    }
    Ok(Writer::new()
        .int("iterations", iterations)
        .str("sha256", &hex(&digest))
        .finish())
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    bytes
        .iter()
        .flat_map(|b| [DIGITS[usize::from(b >> 4)], DIGITS[usize::from(b & 0xf)]])
        .map(char::from)
        .collect()
}

blueprint_guest::workload!(handle);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_match_the_fips_examples() {
        assert_eq!(
            hex(&sha256::digest(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            hex(&sha256::digest(
                b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
            )),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
        );
        assert_eq!(
            hex(&sha256::digest(&[b'a'; 1_000_000])),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"
        );
    }

    #[test]
    fn requests_are_checked() {
        assert_eq!(
            handle(br#"{"data":"abc","iterations":1}"#).unwrap(),
            br#"{"iterations":1,"sha256":"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"}"#
        );
        assert_eq!(handle(br#"{"iterations":1}"#), Err("data is required".into()));
    }
}
