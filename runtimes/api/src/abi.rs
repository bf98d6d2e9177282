//! Guest ABI v1, host side: constants, the packed response, and the `dapr`
//! import module's semantics over raw guest memory.
//!
//! `workloads/ABI.md` is the normative text; this module is its one
//! implementation on the host side. Adapters hand every import call here with
//! the guest's memory as a byte slice and the raw `(ptr, len)` arguments, so
//! bounds checks, UTF-8 checks, error codes and the result slot behave the same
//! on every runtime.

use std::sync::Arc;

use crate::CallError;
use crate::host::{Concurrency, DaprHost, HostError, LogLevel, OutboundRequest, Precondition};

/// The ABI version hosts speak; `bb_abi_version` must return it.
pub const ABI_VERSION: i32 = 1;
/// Name of the guest's memory export.
pub const EXPORT_MEMORY: &str = "memory";
/// Name of the version export.
pub const EXPORT_ABI_VERSION: &str = "bb_abi_version";
/// Name of the allocator export.
pub const EXPORT_ALLOC: &str = "bb_alloc";
/// Name of the handler export.
pub const EXPORT_HANDLE: &str = "bb_handle";
/// WASI reactor initialiser, called once if exported.
pub const EXPORT_INITIALIZE: &str = "_initialize";
/// Import module of the embedded flavour's host functions.
pub const IMPORT_MODULE: &str = "dapr";
/// Import module of the `http` flavour's generic outbound HTTP call.
pub const IMPORT_HTTP_MODULE: &str = "http";

/// Error codes returned by `dapr` imports (negative `i64`).
pub mod code {
    /// The state key has no value.
    pub const NOT_FOUND: i64 = -1;
    /// The etag did not match, or first-write found the key.
    pub const ETAG_MISMATCH: i64 = -2;
    /// A pointer outside memory, a non-UTF-8 name, an unknown option.
    pub const INVALID_ARGUMENT: i64 = -3;
    /// The Dapr call failed.
    pub const UNAVAILABLE: i64 = -4;
    /// `take_result` with an empty slot.
    pub const NO_RESULT: i64 = -5;
    /// `take_result` with too small a buffer; the slot is kept.
    pub const BUFFER_TOO_SMALL: i64 = -6;
    /// The host runs the module without Dapr access.
    pub const NOT_PERMITTED: i64 = -7;
}

/// Most keys one `state_get_bulk` may ask for.
pub const MAX_BULK_KEYS: usize = 64;
/// Largest `keys` argument of `state_get_bulk`, in bytes (64 KiB).
pub const MAX_BULK_KEYS_BYTES: usize = 64 * 1024;

/// Packs a key list as `state_get_bulk` takes it: `count: u32` little-endian,
/// then per key `len: u32` little-endian and the key's bytes.
pub fn encode_bulk_keys(keys: &[&str]) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + keys.iter().map(|k| 4 + k.len()).sum::<usize>());
    out.extend_from_slice(&(keys.len() as u32).to_le_bytes());
    for key in keys {
        out.extend_from_slice(&(key.len() as u32).to_le_bytes());
        out.extend_from_slice(key.as_bytes());
    }
    out
}

/// Reads a packed key list ([`encode_bulk_keys`]); `None` unless it holds 1
/// to [`MAX_BULK_KEYS`] UTF-8 keys, at most [`MAX_BULK_KEYS_BYTES`] in all,
/// and nothing after the last key.
pub fn decode_bulk_keys(bytes: &[u8]) -> Option<Vec<&str>> {
    if bytes.len() > MAX_BULK_KEYS_BYTES {
        return None;
    }
    let (count, mut rest) = take_u32(bytes)?;
    let count = count as usize;
    if !(1..=MAX_BULK_KEYS).contains(&count) {
        return None;
    }
    let mut keys = Vec::with_capacity(count);
    for _ in 0..count {
        let (len, after) = take_u32(rest)?;
        let key = after.get(..len as usize)?;
        keys.push(std::str::from_utf8(key).ok()?);
        rest = &after[len as usize..];
    }
    rest.is_empty().then_some(keys)
}

/// Packs `state_get_bulk`'s result: per key, in the order asked, one byte
/// `1` (found) or `0` (no value); after a `1`, `etag_len: u32`, the etag,
/// `value_len: u32`, the value (lengths little-endian).
pub fn encode_bulk_result(entries: &[Option<crate::StateEntry>]) -> Vec<u8> {
    let mut out = Vec::new();
    for entry in entries {
        match entry {
            None => out.push(0),
            Some(entry) => {
                let etag = entry.etag.as_deref().unwrap_or_default();
                out.push(1);
                out.extend_from_slice(&(etag.len() as u32).to_le_bytes());
                out.extend_from_slice(etag.as_bytes());
                out.extend_from_slice(&(entry.value.len() as u32).to_le_bytes());
                out.extend_from_slice(&entry.value);
            }
        }
    }
    out
}

/// Reads `count` entries of a [`encode_bulk_result`] result (what a guest
/// does); `None` if the bytes are not exactly that. An empty etag reads as
/// none.
pub fn decode_bulk_result(bytes: &[u8], count: usize) -> Option<Vec<Option<crate::StateEntry>>> {
    let mut rest = bytes;
    let mut entries = Vec::with_capacity(count);
    for _ in 0..count {
        let (&found, after) = rest.split_first()?;
        rest = after;
        match found {
            0 => entries.push(None),
            1 => {
                let (etag_len, after) = take_u32(rest)?;
                let etag = std::str::from_utf8(after.get(..etag_len as usize)?).ok()?;
                let (value_len, after) = take_u32(&after[etag_len as usize..])?;
                let value = after.get(..value_len as usize)?;
                rest = &after[value_len as usize..];
                entries.push(Some(crate::StateEntry {
                    value: value.to_vec(),
                    etag: (!etag.is_empty()).then(|| etag.to_owned()),
                }));
            }
            _ => return None,
        }
    }
    rest.is_empty().then_some(entries)
}

fn take_u32(bytes: &[u8]) -> Option<(u32, &[u8])> {
    let (head, rest) = bytes.split_first_chunk::<4>()?;
    Some((u32::from_le_bytes(*head), rest))
}

const ERROR_FLAG: u32 = 0x8000_0000;

/// A decoded `bb_handle` return value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PackedResponse {
    /// Where the bytes start in guest memory.
    pub ptr: u32,
    /// How many bytes.
    pub len: u32,
    /// Whether the bytes are an error message.
    pub is_error: bool,
}

impl PackedResponse {
    /// Splits the `i64` a handler returned.
    pub fn decode(packed: i64) -> Self {
        let bits = packed as u64;
        let low = bits as u32;
        Self {
            ptr: (bits >> 32) as u32,
            len: low & !ERROR_FLAG,
            is_error: low & ERROR_FLAG != 0,
        }
    }

    /// Packs a response the way a guest does (used by tests and native hosts).
    pub fn encode(self) -> i64 {
        let low = self.len | if self.is_error { ERROR_FLAG } else { 0 };
        (((self.ptr as u64) << 32) | low as u64) as i64
    }

    /// Copies the response out of guest memory and turns the error flag into
    /// [`CallError::Guest`].
    ///
    /// # Errors
    /// [`CallError::Abi`] if the bytes lie outside `memory` or an error
    /// message is not UTF-8.
    pub fn read(self, memory: &[u8]) -> Result<Vec<u8>, CallError> {
        let bytes = slice(memory, self.ptr as i32, self.len as i32).ok_or_else(|| {
            CallError::Abi(format!(
                "response at {}+{} lies outside guest memory of {} bytes",
                self.ptr,
                self.len,
                memory.len()
            ))
        })?;
        if self.is_error {
            let message = std::str::from_utf8(bytes)
                .map_err(|_| CallError::Abi("guest error message is not UTF-8".into()))?;
            Err(CallError::Guest(message.to_owned()))
        } else {
            Ok(bytes.to_vec())
        }
    }
}

/// Borrows `len` bytes at `ptr`, or `None` if they are not all in `memory`.
pub fn slice(memory: &[u8], ptr: i32, len: i32) -> Option<&[u8]> {
    let (start, len) = (ptr as u32 as usize, len as u32 as usize);
    memory.get(start..start.checked_add(len)?)
}

fn slice_mut(memory: &mut [u8], ptr: i32, len: i32) -> Option<&mut [u8]> {
    let (start, len) = (ptr as u32 as usize, len as u32 as usize);
    memory.get_mut(start..start.checked_add(len)?)
}

/// A `(ptr, len)` pair as the guest passed it.
pub type GuestSlice = (i32, i32);

/// The host side of one instance's `dapr` imports: the Dapr client and the
/// result slot. Adapters keep one per instance in their store data.
pub struct HostState {
    host: Arc<dyn DaprHost>,
    slot: Option<Vec<u8>>,
}

impl std::fmt::Debug for HostState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostState")
            .field("slot_len", &self.slot.as_ref().map(Vec::len))
            .finish_non_exhaustive()
    }
}

/// Reads a UTF-8 name or fails the import with `INVALID_ARGUMENT`.
macro_rules! name {
    ($mem:expr, $arg:expr) => {
        match slice($mem, $arg.0, $arg.1).map(std::str::from_utf8) {
            Some(Ok(s)) => s,
            _ => return code::INVALID_ARGUMENT,
        }
    };
}

/// Reads raw bytes or fails the import with `INVALID_ARGUMENT`.
macro_rules! bytes {
    ($mem:expr, $arg:expr) => {
        match slice($mem, $arg.0, $arg.1) {
            Some(b) => b,
            None => return code::INVALID_ARGUMENT,
        }
    };
}

/// A write's check from the guest's etag (empty: none) and concurrency
/// number; `None` for a number the ABI does not define.
fn precondition(etag: &str, concurrency: i32) -> Option<Precondition<'_>> {
    let concurrency = match concurrency {
        0 => Concurrency::LastWrite,
        1 => Concurrency::FirstWrite,
        _ => return None,
    };
    let etag = (!etag.is_empty()).then_some(etag);
    Some(Precondition { etag, concurrency })
}

fn host_error(err: HostError) -> i64 {
    match err {
        HostError::EtagMismatch => code::ETAG_MISMATCH,
        HostError::Unavailable(_) => code::UNAVAILABLE,
        HostError::NotPermitted => code::NOT_PERMITTED,
    }
}

impl HostState {
    /// A fresh state for a new instance.
    pub fn new(host: Arc<dyn DaprHost>) -> Self {
        Self { host, slot: None }
    }

    /// The Dapr host this instance calls.
    pub fn host(&self) -> &Arc<dyn DaprHost> {
        &self.host
    }

    fn fill_slot(&mut self, result: Vec<u8>) -> i64 {
        let len = result.len() as i64;
        self.slot = Some(result);
        len
    }

    /// `dapr.state_get(store, key) -> i64`
    pub fn state_get(&mut self, mem: &[u8], store: GuestSlice, key: GuestSlice) -> i64 {
        let (store, key) = (name!(mem, store), name!(mem, key));
        match self.host.state_get(store, key) {
            Ok(Some(entry)) => {
                let etag = entry.etag.unwrap_or_default();
                let mut out = Vec::with_capacity(4 + etag.len() + entry.value.len());
                out.extend_from_slice(&(etag.len() as u32).to_le_bytes());
                out.extend_from_slice(etag.as_bytes());
                out.extend_from_slice(&entry.value);
                self.fill_slot(out)
            }
            Ok(None) => code::NOT_FOUND,
            Err(err) => self.failed("state_get", err),
        }
    }

    /// `dapr.state_get_bulk(store, keys) -> i64`: one bulk read of the packed
    /// key list ([`decode_bulk_keys`]); the result ([`encode_bulk_result`])
    /// goes to the slot.
    pub fn state_get_bulk(&mut self, mem: &[u8], store: GuestSlice, keys: GuestSlice) -> i64 {
        let store = name!(mem, store);
        let Some(keys) = decode_bulk_keys(bytes!(mem, keys)) else {
            return code::INVALID_ARGUMENT;
        };
        match self.host.state_get_bulk(store, &keys) {
            Ok(entries) if entries.len() == keys.len() => self.fill_slot(encode_bulk_result(&entries)),
            Ok(entries) => self.failed(
                "state_get_bulk",
                HostError::Unavailable(format!("{} answers for {} keys", entries.len(), keys.len())),
            ),
            Err(err) => self.failed("state_get_bulk", err),
        }
    }

    /// `dapr.state_set(store, key, value, etag, concurrency) -> i64`
    pub fn state_set(
        &mut self,
        mem: &[u8],
        store: GuestSlice,
        key: GuestSlice,
        value: GuestSlice,
        etag: GuestSlice,
        concurrency: i32,
    ) -> i64 {
        let (store, key, value) = (name!(mem, store), name!(mem, key), bytes!(mem, value));
        let Some(check) = precondition(name!(mem, etag), concurrency) else {
            return code::INVALID_ARGUMENT;
        };
        match self.host.state_set(store, key, value, check) {
            Ok(()) => 0,
            Err(err) => self.failed("state_set", err),
        }
    }

    /// `dapr.state_delete(store, key, etag, concurrency) -> i64`
    pub fn state_delete(
        &mut self,
        mem: &[u8],
        store: GuestSlice,
        key: GuestSlice,
        etag: GuestSlice,
        concurrency: i32,
    ) -> i64 {
        let (store, key) = (name!(mem, store), name!(mem, key));
        let Some(check) = precondition(name!(mem, etag), concurrency) else {
            return code::INVALID_ARGUMENT;
        };
        match self.host.state_delete(store, key, check) {
            Ok(()) => 0,
            Err(err) => self.failed("state_delete", err),
        }
    }

    /// `dapr.publish(pubsub, topic, data, content_type) -> i64`
    pub fn publish(
        &mut self,
        mem: &[u8],
        pubsub: GuestSlice,
        topic: GuestSlice,
        data: GuestSlice,
        content_type: GuestSlice,
    ) -> i64 {
        let (pubsub, topic, data) = (name!(mem, pubsub), name!(mem, topic), bytes!(mem, data));
        let content_type = match name!(mem, content_type) {
            "" => "application/json",
            other => other,
        };
        match self.host.publish(pubsub, topic, data, content_type) {
            Ok(()) => 0,
            Err(err) => self.failed("publish", err),
        }
    }

    /// `dapr.invoke_binding(name, operation, data) -> i64`
    pub fn invoke_binding(
        &mut self,
        mem: &[u8],
        binding: GuestSlice,
        operation: GuestSlice,
        data: GuestSlice,
    ) -> i64 {
        let (binding, operation) = (name!(mem, binding), name!(mem, operation));
        let data = bytes!(mem, data);
        match self.host.invoke_binding(binding, operation, data) {
            Ok(response) => self.fill_slot(response),
            Err(err) => self.failed("invoke_binding", err),
        }
    }

    /// `dapr.log(level, message)`; a bad pointer or level drops the line.
    pub fn log(&mut self, mem: &[u8], level: i32, message: GuestSlice) {
        let level = match level {
            0 => LogLevel::Error,
            1 => LogLevel::Warn,
            2 => LogLevel::Info,
            _ => LogLevel::Debug,
        };
        if let Some(message) = slice(mem, message.0, message.1) {
            self.host.log(level, &String::from_utf8_lossy(message));
        }
    }

    /// `dapr.take_result(buf_ptr, buf_len) -> i64`
    pub fn take_result(&mut self, mem: &mut [u8], buf: GuestSlice) -> i64 {
        let Some(result) = self.slot.as_ref() else {
            return code::NO_RESULT;
        };
        let Some(dst) = slice_mut(mem, buf.0, buf.1) else {
            return code::INVALID_ARGUMENT;
        };
        if dst.len() < result.len() {
            return code::BUFFER_TOO_SMALL;
        }
        dst[..result.len()].copy_from_slice(result);
        let copied = result.len() as i64;
        self.slot = None;
        copied
    }

    /// `http.request(method, url, headers, body) -> i64`: `status << 32 | size`
    /// with the response (header block, then body) in the result slot.
    pub fn http_request(
        &mut self,
        mem: &[u8],
        method: GuestSlice,
        url: GuestSlice,
        headers: GuestSlice,
        body: GuestSlice,
    ) -> i64 {
        let (method, url, header_text) = (name!(mem, method), name!(mem, url), name!(mem, headers));
        let body = bytes!(mem, body);
        if method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase()) {
            return code::INVALID_ARGUMENT;
        }
        let mut headers = Vec::new();
        for line in header_text.split_terminator('\n') {
            match line.split_once(':') {
                Some((name, value)) if !name.trim().is_empty() => headers.push((name.trim(), value.trim())),
                _ => return code::INVALID_ARGUMENT,
            }
        }
        let request = OutboundRequest {
            method,
            url,
            headers,
            body,
        };
        match self.host.http_request(&request) {
            Ok(response) => {
                let mut block = String::new();
                for (name, value) in &response.headers {
                    block.push_str(&name.to_ascii_lowercase());
                    block.push_str(": ");
                    block.push_str(value);
                    block.push('\n');
                }
                let mut out = Vec::with_capacity(4 + block.len() + response.body.len());
                out.extend_from_slice(&(block.len() as u32).to_le_bytes());
                out.extend_from_slice(block.as_bytes());
                out.extend_from_slice(&response.body);
                let size = self.fill_slot(out);
                (i64::from(response.status) << 32) | size
            }
            Err(err) => self.failed("http.request", err),
        }
    }

    fn failed(&mut self, what: &str, err: HostError) -> i64 {
        if let HostError::Unavailable(reason) = &err {
            self.host
                .log(LogLevel::Warn, &format!("dapr.{what} failed: {reason}"));
        }
        host_error(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::NoDapr;

    #[test]
    fn packed_response_round_trips_and_flags_errors() {
        let ok = PackedResponse {
            ptr: 0xdead_beef,
            len: 12,
            is_error: false,
        };
        assert_eq!(PackedResponse::decode(ok.encode()), ok);
        let err = PackedResponse {
            ptr: 4,
            len: 0x7fff_ffff,
            is_error: true,
        };
        assert_eq!(PackedResponse::decode(err.encode()), err);
        assert!(PackedResponse::decode(-1).is_error);
    }

    #[test]
    fn response_outside_memory_is_an_abi_error() {
        let mem = vec![0u8; 16];
        let packed = PackedResponse {
            ptr: 10,
            len: 7,
            is_error: false,
        };
        assert!(matches!(packed.read(&mem), Err(CallError::Abi(_))));
        let packed = PackedResponse {
            ptr: u32::MAX,
            len: 2,
            is_error: false,
        };
        assert!(matches!(packed.read(&mem), Err(CallError::Abi(_))));
    }

    #[test]
    fn guest_error_carries_its_message() {
        let mut mem = vec![0u8; 16];
        mem[2..5].copy_from_slice(b"bad");
        let packed = PackedResponse {
            ptr: 2,
            len: 3,
            is_error: true,
        };
        assert_eq!(packed.read(&mem), Err(CallError::Guest("bad".into())));
    }

    #[test]
    fn bad_arguments_return_codes_not_traps() {
        let mut state = HostState::new(Arc::new(NoDapr));
        let mem = vec![0xffu8; 8];
        // Name out of bounds.
        assert_eq!(state.state_get(&mem, (6, 4), (0, 1)), code::INVALID_ARGUMENT);
        // Not UTF-8.
        assert_eq!(state.state_get(&mem, (0, 2), (0, 1)), code::INVALID_ARGUMENT);
        // Unknown concurrency.
        let mem = b"storekey".to_vec();
        assert_eq!(
            state.state_set(&mem, (0, 5), (5, 3), (0, 0), (0, 0), 7),
            code::INVALID_ARGUMENT
        );
        // Pure host refuses.
        assert_eq!(state.state_get(&mem, (0, 5), (5, 3)), code::NOT_PERMITTED);
    }

    #[test]
    fn bulk_key_lists_round_trip_and_bad_ones_are_refused() {
        let keys = ["fan.0", "", "f\u{e9}e.1", "fan.0"];
        let packed = encode_bulk_keys(&keys);
        assert_eq!(&packed[..8], &[4, 0, 0, 0, 5, 0, 0, 0]);
        assert_eq!(decode_bulk_keys(&packed).unwrap(), keys);
        // No keys, too many, trailing bytes, a short key, not UTF-8, too big.
        assert_eq!(decode_bulk_keys(&encode_bulk_keys(&[])), None);
        assert_eq!(decode_bulk_keys(&encode_bulk_keys(&["k"; 65])), None);
        assert!(decode_bulk_keys(&encode_bulk_keys(&["k"; 64])).is_some());
        let mut trailing = packed.clone();
        trailing.push(0);
        assert_eq!(decode_bulk_keys(&trailing), None);
        assert_eq!(decode_bulk_keys(&packed[..packed.len() - 1]), None);
        assert_eq!(decode_bulk_keys(&[1, 0, 0, 0, 1, 0, 0, 0, 0xff]), None);
        assert_eq!(decode_bulk_keys(&[1, 0, 0]), None);
        let big = "k".repeat(MAX_BULK_KEYS_BYTES);
        assert_eq!(decode_bulk_keys(&encode_bulk_keys(&[&big])), None);
    }

    #[test]
    fn bulk_results_keep_order_etags_and_empty_values() {
        let entries = vec![
            None,
            Some(crate::StateEntry {
                value: b"12".to_vec(),
                etag: Some("3".into()),
            }),
            Some(crate::StateEntry {
                value: Vec::new(),
                etag: None,
            }),
        ];
        let packed = encode_bulk_result(&entries);
        assert_eq!(
            packed,
            [
                &[0u8, 1, 1, 0, 0, 0, b'3', 2, 0, 0, 0, b'1', b'2', 1][..],
                &[0; 8]
            ]
            .concat()
        );
        assert_eq!(decode_bulk_result(&packed, 3).unwrap(), entries);
        assert_eq!(decode_bulk_result(&packed, 2), None);
        assert_eq!(decode_bulk_result(&packed, 4), None);
        assert_eq!(decode_bulk_result(&[2], 1), None);
    }

    #[test]
    fn state_get_bulk_answers_in_order_through_the_slot() {
        let store = crate::testing::MemoryStore::default();
        store
            .state_set("s", "b", b"7", crate::Precondition::LAST_WRITE)
            .unwrap();
        let mut state = HostState::new(Arc::new(store));
        let keys = encode_bulk_keys(&["a", "b", "a"]);
        let mut mem = [b"s".as_slice(), &keys].concat();
        let size = state.state_get_bulk(&mem, (0, 1), (1, keys.len() as i32));
        let expected = encode_bulk_result(&[
            None,
            Some(crate::StateEntry {
                value: b"7".to_vec(),
                etag: Some("1".into()),
            }),
            None,
        ]);
        assert_eq!(size, expected.len() as i64);
        mem.resize(64 + expected.len(), 0);
        assert_eq!(state.take_result(&mut mem, (64, size as i32)), size);
        assert_eq!(&mem[64..], expected);
        // A bad list is INVALID_ARGUMENT before any call; a pure host refuses.
        assert_eq!(state.state_get_bulk(&mem, (0, 1), (1, 3)), code::INVALID_ARGUMENT);
        let mut pure = HostState::new(Arc::new(NoDapr));
        let mem = [b"s".as_slice(), &keys].concat();
        assert_eq!(
            pure.state_get_bulk(&mem, (0, 1), (1, keys.len() as i32)),
            code::NOT_PERMITTED
        );
    }

    #[test]
    fn take_result_needs_a_result_and_room() {
        let mut state = HostState::new(Arc::new(NoDapr));
        let mut mem = vec![0u8; 8];
        assert_eq!(state.take_result(&mut mem, (0, 8)), code::NO_RESULT);
        state.fill_slot(b"hello".to_vec());
        assert_eq!(state.take_result(&mut mem, (0, 4)), code::BUFFER_TOO_SMALL);
        assert_eq!(state.take_result(&mut mem, (6, 5)), code::INVALID_ARGUMENT);
        assert_eq!(state.take_result(&mut mem, (1, 5)), 5);
        assert_eq!(&mem[1..6], b"hello");
        assert_eq!(state.take_result(&mut mem, (0, 8)), code::NO_RESULT);
    }

    /// Answers every request with 201, one header and the request echoed.
    fn echo() -> crate::testing::StubHost {
        crate::testing::StubHost::default().on_http_request(|r| {
            Ok(crate::OutboundResponse {
                status: 201,
                headers: vec![("ETag".into(), "7".into())],
                body: format!(
                    "{} {} {:?} {}",
                    r.method,
                    r.url,
                    r.headers,
                    String::from_utf8_lossy(r.body)
                )
                .into_bytes(),
            })
        })
    }

    #[test]
    fn http_request_packs_status_and_stages_headers_then_body() {
        let mut state = HostState::new(Arc::new(echo()));
        let mut mem = b"POST/v1.0/xA: 1\nB:2\nhi".to_vec();
        let packed = state.http_request(&mem, (0, 4), (4, 7), (11, 9), (20, 2));
        let (status, size) = (packed >> 32, packed & 0xffff_ffff);
        assert_eq!(status, 201);
        let mut buf = vec![0u8; size as usize];
        mem.resize(64 + buf.len(), 0);
        assert_eq!(state.take_result(&mut mem, (64, size as i32)), size);
        buf.copy_from_slice(&mem[64..64 + size as usize]);
        let header_len = u32::from_le_bytes(buf[..4].try_into().unwrap()) as usize;
        assert_eq!(&buf[4..4 + header_len], b"etag: 7\n");
        assert_eq!(
            String::from_utf8_lossy(&buf[4 + header_len..]),
            r#"POST /v1.0/x [("A", "1"), ("B", "2")] hi"#
        );
    }

    #[test]
    fn http_request_refuses_bad_methods_and_headers_and_defaults_to_not_permitted() {
        let mut state = HostState::new(Arc::new(echo()));
        let mem = b"get/xno-colon".to_vec();
        assert_eq!(
            state.http_request(&mem, (0, 3), (3, 2), (0, 0), (0, 0)),
            code::INVALID_ARGUMENT
        );
        let mem = b"GET/xno-colon".to_vec();
        assert_eq!(
            state.http_request(&mem, (0, 3), (3, 2), (5, 8), (0, 0)),
            code::INVALID_ARGUMENT
        );
        let mut pure = HostState::new(Arc::new(NoDapr));
        assert_eq!(
            pure.http_request(&mem, (0, 3), (3, 2), (0, 0), (0, 0)),
            code::NOT_PERMITTED
        );
    }
}
