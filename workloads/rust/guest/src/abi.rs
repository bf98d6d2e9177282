//! The ABI v1 exports' implementation (`bb_alloc`, `bb_handle`), shared by the
//! `embedded` and `http` flavours; public only for [`workload!`](crate::workload).

use std::cell::RefCell;

thread_local! {
    /// Buffers handed out by `bb_alloc` and not yet passed to `bb_handle`.
    static ARENA: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
    /// The last response, which the host reads after `bb_handle` returned.
    static RESPONSE: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Largest response length the packed `i64` can carry.
const MAX_RESPONSE_LEN: usize = 0x7fff_ffff;
const ERROR_FLAG: u64 = 0x8000_0000;

/// `bb_alloc`: a pointer to `len` zeroed bytes, or `0` if `len` is
/// negative or memory is exhausted (the ABI's failure value, where the
/// default allocator would trap).
pub fn alloc(len: i32) -> i32 {
    let Ok(len) = usize::try_from(len) else {
        return 0;
    };
    let mut buf = Vec::new();
    if buf.try_reserve_exact(len).is_err() {
        return 0;
    }
    buf.resize(len, 0);
    let ptr = buf.as_mut_ptr() as usize as i32;
    // Moving the Vec into the arena does not move its heap buffer, so the
    // pointer stays valid until `handle` takes it back out.
    ARENA.with_borrow_mut(|arena| arena.push(buf));
    ptr
}

/// `bb_handle`: runs `handler` on the request at `ptr..ptr+len` and
/// returns the packed response.
pub fn handle(ptr: i32, len: i32, handler: impl FnOnce(&[u8]) -> Result<Vec<u8>, String>) -> i64 {
    let result = match take_request(ptr, len) {
        Some(request) => handler(&request),
        None => Err(format!(
            "bb_handle({ptr}, {len}): the request is not in a buffer from bb_alloc"
        )),
    };
    respond(result)
}

/// Takes the request out of the arena and empties the rest of it: buffers
/// the host allocated but never handed over are dropped here, which bounds
/// the arena on a reused instance.
///
/// Looking the pointer up, instead of trusting it, keeps `bb_handle` sound
/// whatever the host passes. An empty request needs no buffer at all.
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
        // Only an absurd error message can be this long; cutting it keeps
        // the length from spilling into the error flag.
        response.truncate(MAX_RESPONSE_LEN);
        pack(response.as_ptr() as usize, response.len(), is_error)
    })
}

pub(crate) fn pack(ptr: usize, len: usize, is_error: bool) -> i64 {
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
        assert_eq!(pack(u32::MAX as usize, MAX_RESPONSE_LEN, true), -1);
    }

    #[test]
    fn handle_takes_the_allocated_request_and_empties_the_arena() {
        // On a 64-bit test host pointers do not fit an i32; the lookup
        // compares truncated values there, which is enough for the test.
        let ptr = alloc(5);
        assert_ne!(ptr, 0);
        let _stray = alloc(7);
        let packed = handle(ptr, 5, |req| Ok(req.to_vec()));
        assert_eq!(packed as u32 & 0x8000_0000, 0);
        assert_eq!(packed as u32, 5);
        assert!(ARENA.with_borrow(Vec::is_empty));
        assert_eq!(RESPONSE.with_borrow(Vec::clone), vec![0; 5]);
    }

    #[test]
    fn handle_rejects_unknown_buffers_but_accepts_empty_requests() {
        let packed = handle(1234, 4, |_| Ok(Vec::new()));
        assert_ne!(packed as u32 & 0x8000_0000, 0);
        let packed = handle(0, 0, |req| Err(format!("{} bytes", req.len())));
        assert_eq!(RESPONSE.with_borrow(Vec::clone), b"0 bytes");
        assert_eq!(packed as u32, 0x8000_0007);
    }
}
