//! Dapr's API tokens (`runtimes/HOST.md`, "Tokens"): `APP_API_TOKEN`, which
//! daprd sends to the app and the host demands of every caller, and
//! `DAPR_API_TOKEN`, which the host sends with every call to daprd.

use std::sync::OnceLock;

/// The header both tokens travel in (gRPC metadata for gRPC calls).
pub const HEADER: &str = "dapr-api-token";

/// The variable daprd and the host both read the app token from.
pub const APP_API_TOKEN_ENV: &str = "APP_API_TOKEN";

/// The variable the host reads the token for daprd's APIs from.
pub const DAPR_API_TOKEN_ENV: &str = "DAPR_API_TOKEN";

/// The app token from the environment, if set and not empty.
pub fn app_api_token_from_env() -> Option<String> {
    std::env::var(APP_API_TOKEN_ENV).ok().filter(|t| !t.is_empty())
}

/// The token for daprd's APIs, read once from the environment.
pub fn dapr_api_token() -> Option<&'static str> {
    static TOKEN: OnceLock<Option<String>> = OnceLock::new();
    TOKEN
        .get_or_init(|| std::env::var(DAPR_API_TOKEN_ENV).ok().filter(|t| !t.is_empty()))
        .as_deref()
}

/// Compares in time independent of where the first difference is, so the
/// answer's timing does not leak the token a byte at a time.
pub fn matches(expected: &str, given: &[u8]) -> bool {
    let expected = expected.as_bytes();
    expected.len() == given.len() && expected.iter().zip(given).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}
