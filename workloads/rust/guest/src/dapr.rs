//! Safe wrappers over the raw Dapr calls ([`crate::raw`]).
//!
//! Every raw call returns a non-negative value or a negative error code, so
//! each wrapper is one raw call followed by [`check`]. Strings are passed as
//! they are: the host checks UTF-8 and bounds and answers `INVALID_ARGUMENT`
//! instead of trapping.

use std::fmt;

use crate::raw;

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

    /// The ABI code, for a guest that passes errors on as numbers.
    /// [`Error::Malformed`] has none of its own and reads as
    /// `INVALID_ARGUMENT`: the host's result broke the ABI's layout.
    pub fn code(self) -> i64 {
        match self {
            Self::NotFound => -1,
            Self::EtagMismatch => -2,
            Self::InvalidArgument | Self::Malformed => -3,
            Self::Unavailable => -4,
            Self::NoResult => -5,
            Self::BufferTooSmall => -6,
            Self::NotPermitted => -7,
            Self::Unknown(code) => code,
        }
    }

    /// The guest error a workload answers with when Dapr fails it
    /// (`dapr: <error>`, workloads/ABI.md).
    pub fn guest_message(self) -> String {
        format!("dapr: {self}")
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
    let copied = check(raw::take_result(&mut buf))?;
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
    match check(raw::state_get(store.as_bytes(), key.as_bytes())) {
        Ok(size) => take(size).and_then(parse_entry).map(Some),
        Err(Error::NotFound) => Ok(None),
        Err(err) => Err(err),
    }
}

/// Most keys one [`state_get_bulk`] may ask for (workloads/ABI.md).
pub const MAX_BULK_KEYS: usize = 64;
/// Largest packed key list of `state_get_bulk`, in bytes.
pub const MAX_BULK_KEYS_BYTES: usize = 64 * 1024;

/// Packs a key list for `state_get_bulk`: `count: u32 LE`, then per key
/// `len: u32 LE` and its bytes.
pub fn encode_bulk_keys(keys: &[&str]) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + keys.iter().map(|k| 4 + k.len()).sum::<usize>());
    out.extend_from_slice(&(keys.len() as u32).to_le_bytes());
    for key in keys {
        out.extend_from_slice(&(key.len() as u32).to_le_bytes());
        out.extend_from_slice(key.as_bytes());
    }
    out
}

/// Reads a packed key list; `None` unless it holds 1 to [`MAX_BULK_KEYS`]
/// UTF-8 keys, [`MAX_BULK_KEYS_BYTES`] at most, and nothing more (the
/// checks a host makes before calling Dapr).
pub fn decode_bulk_keys(bytes: &[u8]) -> Option<Vec<&str>> {
    if bytes.len() > MAX_BULK_KEYS_BYTES {
        return None;
    }
    let (count, mut rest) = take_u32(bytes)?;
    if !(1..=MAX_BULK_KEYS).contains(&(count as usize)) {
        return None;
    }
    let mut keys = Vec::with_capacity(count as usize);
    for _ in 0..count {
        let (len, after) = take_u32(rest)?;
        keys.push(std::str::from_utf8(after.get(..len as usize)?).ok()?);
        rest = &after[len as usize..];
    }
    rest.is_empty().then_some(keys)
}

/// Packs a bulk result: per key, in the order asked, `0` (no value) or `1`
/// followed by `etag_len: u32 LE`, etag, `value_len: u32 LE`, value.
pub fn encode_bulk_result(entries: &[Option<StateEntry>]) -> Vec<u8> {
    let mut out = Vec::new();
    for entry in entries {
        let Some(entry) = entry else {
            out.push(0);
            continue;
        };
        let etag = entry.etag.as_deref().unwrap_or_default();
        out.push(1);
        out.extend_from_slice(&(etag.len() as u32).to_le_bytes());
        out.extend_from_slice(etag.as_bytes());
        out.extend_from_slice(&(entry.value.len() as u32).to_le_bytes());
        out.extend_from_slice(&entry.value);
    }
    out
}

/// Splits a bulk result of `count` entries ([`encode_bulk_result`]).
fn parse_bulk(raw: &[u8], count: usize) -> Result<Vec<Option<StateEntry>>, Error> {
    let mut rest = raw;
    let mut entries = Vec::with_capacity(count);
    for _ in 0..count {
        let (&found, after) = rest.split_first().ok_or(Error::Malformed)?;
        rest = after;
        if found == 0 {
            entries.push(None);
            continue;
        }
        if found != 1 {
            return Err(Error::Malformed);
        }
        let (etag_len, after) = take_u32(rest).ok_or(Error::Malformed)?;
        let etag = after.get(..etag_len as usize).ok_or(Error::Malformed)?;
        let etag = std::str::from_utf8(etag).map_err(|_| Error::Malformed)?;
        let (value_len, after) = take_u32(&after[etag_len as usize..]).ok_or(Error::Malformed)?;
        let value = after.get(..value_len as usize).ok_or(Error::Malformed)?;
        rest = &after[value_len as usize..];
        entries.push(Some(StateEntry {
            value: value.to_vec(),
            etag: (!etag.is_empty()).then(|| etag.to_owned()),
        }));
    }
    if rest.is_empty() {
        Ok(entries)
    } else {
        Err(Error::Malformed)
    }
}

fn take_u32(bytes: &[u8]) -> Option<(u32, &[u8])> {
    let (head, rest) = bytes.split_first_chunk::<4>()?;
    Some((u32::from_le_bytes(*head), rest))
}

/// Reads `keys` from state store `store` in one bulk call; the answers are
/// in the order of `keys`, `None` for a key with no value.
///
/// # Errors
/// [`Error::InvalidArgument`] for no keys, more than [`MAX_BULK_KEYS`] or a
/// list over [`MAX_BULK_KEYS_BYTES`]; any host error.
pub fn state_get_bulk(store: &str, keys: &[&str]) -> Result<Vec<Option<StateEntry>>, Error> {
    let packed = encode_bulk_keys(keys);
    let size = check(raw::state_get_bulk(store.as_bytes(), &packed))?;
    parse_bulk(&take(size)?, keys.len())
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
    check(raw::state_set(
        store.as_bytes(),
        key.as_bytes(),
        value,
        etag.as_bytes(),
        concurrency as i32,
    ))
    .map(drop)
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
    check(raw::state_delete(
        store.as_bytes(),
        key.as_bytes(),
        etag.as_bytes(),
        concurrency as i32,
    ))
    .map(drop)
}

/// Publishes `data` on `topic` of component `pubsub`; an empty
/// `content_type` means `application/json`.
///
/// # Errors
/// Any host error.
pub fn publish(pubsub: &str, topic: &str, data: &[u8], content_type: &str) -> Result<(), Error> {
    check(raw::publish(
        pubsub.as_bytes(),
        topic.as_bytes(),
        data,
        content_type.as_bytes(),
    ))
    .map(drop)
}

/// Invokes `operation` on output binding `name` and returns its response data.
///
/// # Errors
/// Any host error.
pub fn invoke_binding(name: &str, operation: &str, data: &[u8]) -> Result<Vec<u8>, Error> {
    check(raw::invoke_binding(name.as_bytes(), operation.as_bytes(), data)).and_then(take)
}

/// Attempts of [`update_state`] before it gives up (workloads/ABI.md).
pub const UPDATE_ATTEMPTS: usize = 64;

/// The ABI's race-free read-modify-write of one key, as `counter` and
/// `aggregate` do it: reads `key`, lets `next` turn the stored value (`None`
/// for a missing key) into the value to write, and writes it with
/// first-write concurrency and the etag read (none for a new key). On
/// `ETAG_MISMATCH` another writer came first, so it reads again, up to
/// [`UPDATE_ATTEMPTS`] attempts in all.
///
/// `next` returns the bytes to store and anything the caller wants back;
/// the result is both, from the attempt that was written.
///
/// # Errors
/// What `next` returns, `dapr: <error>` for any other host error, and
/// `too much contention` after the last attempt.
pub fn update_state<T>(
    store: &str,
    key: &str,
    mut next: impl FnMut(Option<&[u8]>) -> Result<(Vec<u8>, T), String>,
) -> Result<(Vec<u8>, T), String> {
    for _ in 0..UPDATE_ATTEMPTS {
        let entry = state_get(store, key).map_err(Error::guest_message)?;
        let (value, etag) = match &entry {
            Some(entry) => (next(Some(&entry.value))?, entry.etag.as_deref()),
            None => (next(None)?, None),
        };
        match state_set(store, key, &value.0, etag, Concurrency::FirstWrite) {
            Ok(()) => return Ok(value),
            Err(Error::EtagMismatch) => continue,
            Err(err) => return Err(err.guest_message()),
        }
    }
    Err("too much contention".into())
}

/// Writes a line to the host's log (guests have no stdout or stderr).
pub fn log(level: LogLevel, message: &str) {
    raw::log(level as i32, message.as_bytes());
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
        for code in -7..=-1 {
            assert_eq!(Error::from_code(code).code(), code);
        }
        assert_eq!(Error::Unknown(-99).code(), -99);
        assert_eq!(Error::Malformed.code(), -3);
    }

    #[test]
    fn bulk_keys_and_results_round_trip_in_the_abi_layout() {
        let keys = ["fan.0", "f\u{e9}e.1", ""];
        let packed = encode_bulk_keys(&keys);
        assert_eq!(&packed[..9], &[3, 0, 0, 0, 5, 0, 0, 0, b'f']);
        assert_eq!(decode_bulk_keys(&packed), Some(keys.to_vec()));
        assert_eq!(decode_bulk_keys(&encode_bulk_keys(&[])), None);
        assert_eq!(decode_bulk_keys(&encode_bulk_keys(&["k"; 65])), None);
        assert_eq!(decode_bulk_keys(&packed[..packed.len() - 1]), None);
        let entries = vec![
            Some(StateEntry {
                value: b"12".to_vec(),
                etag: Some("3".into()),
            }),
            None,
            Some(StateEntry {
                value: Vec::new(),
                etag: None,
            }),
        ];
        let raw = encode_bulk_result(&entries);
        assert_eq!(&raw[..14], &[1, 1, 0, 0, 0, b'3', 2, 0, 0, 0, b'1', b'2', 0, 1]);
        assert_eq!(parse_bulk(&raw, 3), Ok(entries));
        assert_eq!(parse_bulk(&raw, 2), Err(Error::Malformed));
        assert_eq!(parse_bulk(&raw, 4), Err(Error::Malformed));
        assert_eq!(parse_bulk(&[2], 1), Err(Error::Malformed));
        assert_eq!(parse_bulk(&[1, 9, 0, 0, 0], 1), Err(Error::Malformed));
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
