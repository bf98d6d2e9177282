//! Safe wrappers over the `dapr` import module.
//!
//! Every import takes `(ptr, len)` pairs into linear memory and returns a
//! non-negative value or a negative error code, so each wrapper is one raw call
//! followed by [`check`]. Strings are passed as they are: the host checks UTF-8
//! and bounds and answers `INVALID_ARGUMENT` instead of trapping.

use std::fmt;

/// The raw imports, exactly as ABI.md lists them. On `wasm32` a pointer and a
/// `usize` are both an `i32`, so these are the ABI's signatures.
mod sys {
    #[link(wasm_import_module = "dapr")]
    unsafe extern "C" {
        pub fn state_get(store: *const u8, store_len: usize, key: *const u8, key_len: usize)
        -> i64;
        pub fn state_set(
            store: *const u8,
            store_len: usize,
            key: *const u8,
            key_len: usize,
            value: *const u8,
            value_len: usize,
            etag: *const u8,
            etag_len: usize,
            concurrency: i32,
        ) -> i64;
        pub fn state_delete(
            store: *const u8,
            store_len: usize,
            key: *const u8,
            key_len: usize,
            etag: *const u8,
            etag_len: usize,
            concurrency: i32,
        ) -> i64;
        pub fn publish(
            pubsub: *const u8,
            pubsub_len: usize,
            topic: *const u8,
            topic_len: usize,
            data: *const u8,
            data_len: usize,
            content_type: *const u8,
            content_type_len: usize,
        ) -> i64;
        pub fn invoke_binding(
            name: *const u8,
            name_len: usize,
            operation: *const u8,
            operation_len: usize,
            data: *const u8,
            data_len: usize,
        ) -> i64;
        pub fn log(level: i32, message: *const u8, message_len: usize);
        pub fn take_result(buf: *mut u8, buf_len: usize) -> i64;
    }
}

/// Why a `dapr` call failed: the ABI's error codes, plus [`Error::Malformed`]
/// for a host result that breaks the ABI's layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    /// `NOT_FOUND` (-1): the state key has no value.
    NotFound,
    /// `ETAG_MISMATCH` (-2): the etag did not match, or first-write found the
    /// key already there.
    EtagMismatch,
    /// `INVALID_ARGUMENT` (-3): a name that is not UTF-8, memory out of bounds,
    /// an unknown option.
    InvalidArgument,
    /// `UNAVAILABLE` (-4): the call to Dapr failed; the host logs why.
    Unavailable,
    /// `NO_RESULT` (-5): `take_result` found the slot empty.
    NoResult,
    /// `BUFFER_TOO_SMALL` (-6): `take_result` needed a larger buffer.
    BufferTooSmall,
    /// `NOT_PERMITTED` (-7): the host runs this module without Dapr access.
    NotPermitted,
    /// A negative code this ABI version does not define.
    Unknown(i64),
    /// A state result shorter than its etag length says, or a non-UTF-8 etag.
    Malformed,
}

impl Error {
    /// The error for a negative return value.
    pub fn from_code(code: i64) -> Self {
        match code {
            -1 => Self::NotFound,
            -2 => Self::EtagMismatch,
            -3 => Self::InvalidArgument,
            -4 => Self::Unavailable,
            -5 => Self::NoResult,
            -6 => Self::BufferTooSmall,
            -7 => Self::NotPermitted,
            other => Self::Unknown(other),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NotFound => "not found",
            Self::EtagMismatch => "etag mismatch",
            Self::InvalidArgument => "invalid argument",
            Self::Unavailable => "unavailable",
            Self::NoResult => "no result",
            Self::BufferTooSmall => "buffer too small",
            Self::NotPermitted => "not permitted",
            Self::Malformed => "malformed result",
            Self::Unknown(code) => return write!(f, "unknown error code {code}"),
        })
    }
}

impl std::error::Error for Error {}

/// Dapr's state concurrency option; the discriminant is the ABI value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
pub enum Concurrency {
    /// The write wins whatever is stored.
    LastWrite = 0,
    /// The write needs a matching etag or, without one, a key that does not
    /// exist yet: the building block of race-free read-modify-write loops.
    FirstWrite = 1,
}

/// Severity of a [`log`] line; the discriminant is the ABI value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
pub enum LogLevel {
    /// Something failed.
    Error = 0,
    /// Something looks wrong.
    Warn = 1,
    /// Normal operation.
    Info = 2,
    /// Details.
    Debug = 3,
}

/// A stored value and the etag of its version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateEntry {
    /// The stored bytes, as written.
    pub value: Vec<u8>,
    /// `None` when the store keeps no etags.
    pub etag: Option<String>,
}

/// Turns an import's return value into a count or an error.
fn check(ret: i64) -> Result<u64, Error> {
    u64::try_from(ret).map_err(|_| Error::from_code(ret))
}

/// Copies the host's result slot (`size` bytes, as the import reported) out.
fn take(size: u64) -> Result<Vec<u8>, Error> {
    // A size that does not even fit the address space is a host bug.
    let size = usize::try_from(size).map_err(|_| Error::Malformed)?;
    let mut buf = vec![0; size];
    // SAFETY: the host writes at most `buf.len()` bytes into `buf`.
    let copied = check(unsafe { sys::take_result(buf.as_mut_ptr(), buf.len()) })?;
    buf.truncate(usize::try_from(copied).map_err(|_| Error::Malformed)?);
    Ok(buf)
}

/// Splits a `state_get` result: `etag_len: u32 LE`, etag, value.
fn parse_entry(mut raw: Vec<u8>) -> Result<StateEntry, Error> {
    let (len, rest) = raw.split_first_chunk::<4>().ok_or(Error::Malformed)?;
    let etag_len = u32::from_le_bytes(*len) as usize;
    if rest.len() < etag_len {
        return Err(Error::Malformed);
    }
    let value = raw.split_off(4 + etag_len);
    raw.drain(..4);
    let etag = String::from_utf8(raw).map_err(|_| Error::Malformed)?;
    Ok(StateEntry {
        value,
        etag: (!etag.is_empty()).then_some(etag),
    })
}

/// Reads `key` from state store `store`; `Ok(None)` if it has no value.
///
/// # Errors
/// Any host error other than `NOT_FOUND`.
pub fn state_get(store: &str, key: &str) -> Result<Option<StateEntry>, Error> {
    // SAFETY: every pair describes a live slice; the host only reads them.
    let ret = unsafe { sys::state_get(store.as_ptr(), store.len(), key.as_ptr(), key.len()) };
    match check(ret) {
        Ok(size) => take(size).and_then(parse_entry).map(Some),
        Err(Error::NotFound) => Ok(None),
        Err(err) => Err(err),
    }
}

/// Writes `value` under `key`; `etag` is checked as `concurrency` says.
///
/// # Errors
/// [`Error::EtagMismatch`] when the concurrency check fails, or another host
/// error.
pub fn state_set(
    store: &str,
    key: &str,
    value: &[u8],
    etag: Option<&str>,
    concurrency: Concurrency,
) -> Result<(), Error> {
    let etag = etag.unwrap_or_default();
    // SAFETY: every pair describes a live slice; the host only reads them.
    let ret = unsafe {
        sys::state_set(
            store.as_ptr(),
            store.len(),
            key.as_ptr(),
            key.len(),
            value.as_ptr(),
            value.len(),
            etag.as_ptr(),
            etag.len(),
            concurrency as i32,
        )
    };
    check(ret).map(drop)
}

/// Deletes `key`; `etag` is checked as `concurrency` says.
///
/// # Errors
/// [`Error::EtagMismatch`] when the concurrency check fails, or another host
/// error.
pub fn state_delete(
    store: &str,
    key: &str,
    etag: Option<&str>,
    concurrency: Concurrency,
) -> Result<(), Error> {
    let etag = etag.unwrap_or_default();
    // SAFETY: every pair describes a live slice; the host only reads them.
    let ret = unsafe {
        sys::state_delete(
            store.as_ptr(),
            store.len(),
            key.as_ptr(),
            key.len(),
            etag.as_ptr(),
            etag.len(),
            concurrency as i32,
        )
    };
    check(ret).map(drop)
}

/// Publishes `data` on `topic` of component `pubsub`; an empty
/// `content_type` means `application/json`.
///
/// # Errors
/// Any host error.
pub fn publish(pubsub: &str, topic: &str, data: &[u8], content_type: &str) -> Result<(), Error> {
    // SAFETY: every pair describes a live slice; the host only reads them.
    let ret = unsafe {
        sys::publish(
            pubsub.as_ptr(),
            pubsub.len(),
            topic.as_ptr(),
            topic.len(),
            data.as_ptr(),
            data.len(),
            content_type.as_ptr(),
            content_type.len(),
        )
    };
    check(ret).map(drop)
}

/// Invokes `operation` on output binding `name` and returns its response data.
///
/// # Errors
/// Any host error.
pub fn invoke_binding(name: &str, operation: &str, data: &[u8]) -> Result<Vec<u8>, Error> {
    // SAFETY: every pair describes a live slice; the host only reads them.
    let ret = unsafe {
        sys::invoke_binding(
            name.as_ptr(),
            name.len(),
            operation.as_ptr(),
            operation.len(),
            data.as_ptr(),
            data.len(),
        )
    };
    check(ret).and_then(take)
}

/// Writes a line to the host's log (guests have no stdout or stderr).
pub fn log(level: LogLevel, message: &str) {
    // SAFETY: the pair describes a live slice; the host only reads it.
    unsafe { sys::log(level as i32, message.as_ptr(), message.len()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_to_errors() {
        assert_eq!(check(7), Ok(7));
        assert_eq!(check(0), Ok(0));
        assert_eq!(check(-2), Err(Error::EtagMismatch));
        assert_eq!(check(-7), Err(Error::NotPermitted));
        assert_eq!(check(-99), Err(Error::Unknown(-99)));
        assert_eq!(Error::Unknown(-99).to_string(), "unknown error code -99");
    }

    #[test]
    fn state_results_split_into_etag_and_value() {
        let raw = [&3u32.to_le_bytes()[..], b"e-1", b"42"].concat();
        let entry = StateEntry {
            value: b"42".to_vec(),
            etag: Some("e-1".into()),
        };
        assert_eq!(parse_entry(raw), Ok(entry));
        let raw = [&0u32.to_le_bytes()[..], b""].concat();
        assert_eq!(
            parse_entry(raw),
            Ok(StateEntry {
                value: Vec::new(),
                etag: None
            })
        );
        assert_eq!(parse_entry(vec![1, 0, 0]), Err(Error::Malformed));
        assert_eq!(parse_entry(vec![5, 0, 0, 0, b'x']), Err(Error::Malformed));
        assert_eq!(parse_entry(vec![1, 0, 0, 0, 0xff]), Err(Error::Malformed));
    }
}
