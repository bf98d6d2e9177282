//! The `middleware` flavour: an http-wasm guest (import module
//! `http_handler`) for daprd's `middleware.http.wasm` in an
//! `appHttpPipeline`, as workloads/ABI.md's middleware section describes.
//!
//! `handle_request` reads the whole request body and runs the workload on it.
//! On success the body is replaced by the output, the request gets the header
//! `x-blueprint-workload: <workload>` and goes on to the app. On a guest
//! error the middleware answers itself: status 422, the message as a
//! `text/plain` body, and the app is never called.

/// `http_handler` imports, as http-wasm-host-go defines them (all `u32`
/// parameters are `i32` in wasm).
mod sys {
    #[link(wasm_import_module = "http_handler")]
    unsafe extern "C" {
        pub fn read_body(kind: u32, buf: *mut u8, buf_limit: u32) -> i64;
        pub fn write_body(kind: u32, body: *const u8, body_len: u32);
        pub fn set_header_value(kind: u32, name: *const u8, name_len: u32, value: *const u8, value_len: u32);
        pub fn set_status_code(status_code: u32);
    }
}

/// `BodyKind`/`HeaderKind` request and response.
const REQUEST: u32 = 0;
const RESPONSE: u32 = 1;
/// `read_body`'s result: bit 32 is EOF, the low 32 bits the bytes read.
const EOF: u64 = 1 << 32;
const CHUNK: usize = 16 * 1024;
/// The header naming the workload that rewrote the body.
pub const WORKLOAD_HEADER: &str = "x-blueprint-workload";

/// `handle_request() -> i64`: `1` continues to the app, `0` answers here.
pub fn handle_request(workload: &str, handler: impl FnOnce(&[u8]) -> Result<Vec<u8>, String>) -> i64 {
    let body = read_request_body();
    match handler(&body) {
        Ok(output) => {
            // The first write replaces the body, even with zero bytes.
            write_body(REQUEST, &output);
            set_header(REQUEST, WORKLOAD_HEADER, workload);
            1
        }
        Err(message) => {
            // SAFETY: a plain value; no memory is passed.
            unsafe { sys::set_status_code(422) };
            set_header(RESPONSE, "content-type", "text/plain; charset=utf-8");
            write_body(RESPONSE, message.as_bytes());
            0
        }
    }
}

/// `handle_response(req_ctx, is_error)`: nothing to do; the response from
/// the app passes through unchanged.
pub fn handle_response(_req_ctx: i32, _is_error: i32) {}

fn read_request_body() -> Vec<u8> {
    let mut body = Vec::new();
    let mut chunk = vec![0u8; CHUNK];
    loop {
        // SAFETY: the host writes at most `chunk.len()` bytes into `chunk`.
        let eof_len = unsafe { sys::read_body(REQUEST, chunk.as_mut_ptr(), chunk.len() as u32) } as u64;
        let read = ((eof_len & 0xffff_ffff) as usize).min(chunk.len());
        body.extend_from_slice(&chunk[..read]);
        if eof_len & EOF != 0 {
            return body;
        }
    }
}

fn write_body(kind: u32, bytes: &[u8]) {
    // SAFETY: the pair describes a live slice; the host only reads it.
    unsafe { sys::write_body(kind, bytes.as_ptr(), bytes.len() as u32) }
}

fn set_header(kind: u32, name: &str, value: &str) {
    // SAFETY: both pairs describe live slices; the host only reads them.
    unsafe {
        sys::set_header_value(
            kind,
            name.as_ptr(),
            name.len() as u32,
            value.as_ptr(),
            value.len() as u32,
        )
    }
}
