//! The ABI v1 exports: `bb_abi_version`, `bb_alloc`, `bb_handle`.
//!
//! Buffers from `bb_alloc` live in a per-instance arena that the next
//! `bb_handle` empties, so a reused instance never accumulates them; the
//! response is kept until the next call because the host reads it after
//! `bb_handle` has returned. (The same scheme as the Rust guest library.)

use std::cell::RefCell;

use crate::engine::Engine;

/// The ABI version this module implements.
pub const ABI_VERSION: i32 = 1;

/// Largest response length the packed `i64` can carry.
const MAX_RESPONSE_LEN: usize = 0x7fff_ffff;
const ERROR_FLAG: u64 = 0x8000_0000;

thread_local! {
    /// Buffers handed out by `bb_alloc` and not yet passed to `bb_handle`.
    static ARENA: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
    /// The last response, which the host reads after `bb_handle` returned.
    static RESPONSE: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    /// The engine, started by the first `bb_handle`.
    static ENGINE: RefCell<Option<Result<Engine, String>>> = const { RefCell::new(None) };
}

#[unsafe(no_mangle)]
pub extern "C" fn bb_abi_version() -> i32 {
    ABI_VERSION
}

/// A pointer to `len` zeroed bytes, or `0` if `len` is negative or memory is
/// exhausted (the ABI's failure value, where the default allocator would trap).
#[unsafe(no_mangle)]
pub extern "C" fn bb_alloc(len: i32) -> i32 {
    let Ok(len) = usize::try_from(len) else {
        return 0;
    };
    let mut buf = Vec::new();
    if buf.try_reserve_exact(len).is_err() {
        return 0;
    }
    buf.resize(len, 0);
    let ptr = buf.as_mut_ptr() as usize as i32;
    // Moving the Vec into the arena does not move its heap buffer.
    ARENA.with_borrow_mut(|arena| arena.push(buf));
    ptr
}

/// Runs the workload on the request at `ptr..ptr+len` and returns the packed
/// response.
#[unsafe(no_mangle)]
pub extern "C" fn bb_handle(ptr: i32, len: i32) -> i64 {
    let result = match take_request(ptr, len) {
        Some(request) => ENGINE.with_borrow_mut(|engine| match engine.get_or_insert_with(Engine::new) {
            Ok(engine) => engine.call(&request),
            Err(start) => Err(start.clone()),
        }),
        None => Err(format!(
            "bb_handle({ptr}, {len}): the request is not in a buffer from bb_alloc"
        )),
    };
    respond(result)
}

/// Takes the request out of the arena and drops the rest of it. Looking the
/// pointer up, instead of trusting it, keeps `bb_handle` sound whatever the
/// host passes. An empty request needs no buffer at all.
fn take_request(ptr: i32, len: i32) -> Option<Vec<u8>> {
    let len = usize::try_from(len).ok()?;
    ARENA.with_borrow_mut(|arena| {
        let found = arena
            .iter()
            .position(|buf| buf.as_ptr() as usize as u32 == ptr as u32 && buf.len() >= len)
            .map(|index| arena.swap_remove(index));
        arena.clear();
        let mut request = found.or_else(|| (len == 0).then(Vec::new))?;
        request.truncate(len);
        Some(request)
    })
}

/// Keeps the response alive in the instance and packs where it lies.
fn respond(result: Result<Vec<u8>, String>) -> i64 {
    let (bytes, is_error) = match result {
        Ok(bytes) if bytes.len() > MAX_RESPONSE_LEN => (
            format!(
                "response of {} bytes exceeds the ABI limit of {MAX_RESPONSE_LEN}",
                bytes.len()
            )
            .into_bytes(),
            true,
        ),
        Ok(bytes) => (bytes, false),
        Err(message) => (message.into_bytes(), true),
    };
    RESPONSE.with_borrow_mut(|response| {
        *response = bytes;
        response.truncate(MAX_RESPONSE_LEN);
        pack(response.as_ptr() as usize, response.len(), is_error)
    })
}

fn pack(ptr: usize, len: usize, is_error: bool) -> i64 {
    let flag = if is_error { ERROR_FLAG } else { 0 };
    (((ptr as u64) << 32) | len as u64 | flag) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pack_puts_pointer_high_and_flag_at_bit_31() {
        assert_eq!(pack(0x10, 3, false) as u64, 0x0000_0010_0000_0003);
        assert_eq!(pack(0x10, 3, true) as u64, 0x0000_0010_8000_0003);
    }
}
