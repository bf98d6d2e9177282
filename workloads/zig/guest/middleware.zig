//! Root of the middleware flavour: an http-wasm guest (http-wasm-abi, module
//! `http_handler`) for daprd's middleware.http.wasm in an app HTTP pipeline.
//!
//! `handle_request` reads the whole request body and runs the workload on
//! it. Success: the body is replaced with the response, the request header
//! `x-blueprint-workload: <workload>` is set, and the request continues to
//! the app. Guest error: the middleware answers itself with status 422 and
//! the message as a text/plain body; the app is not called.

const bb = @import("bb");
const workload = @import("workload");

pub const panic = bb.panic;

const body_request: u32 = 0;
const body_response: u32 = 1;
const header_request: u32 = 0;
const header_response: u32 = 1;

const hw = struct {
    /// eof << 32 | bytes read; a zero limit is a host panic.
    extern "http_handler" fn read_body(kind: u32, buf: [*]u8, limit: u32) u64;
    /// The first write in handle_request replaces the body; length 0 empties it.
    extern "http_handler" fn write_body(kind: u32, buf: [*]const u8, len: u32) void;
    extern "http_handler" fn set_header_value(kind: u32, name: [*]const u8, name_len: u32, value: [*]const u8, value_len: u32) void;
    extern "http_handler" fn set_status_code(status: u32) void;
};

fn setHeader(kind: u32, name: []const u8, value: []const u8) void {
    hw.set_header_value(kind, name.ptr, name.len, value.ptr, value.len);
}

const read_chunk: u32 = 16384;

export fn handle_request() u64 {
    var body = bb.Buf{};
    defer body.deinit();
    while (true) {
        body.reserve(read_chunk);
        const eof_len = hw.read_body(body_request, body.data[body.len..].ptr, read_chunk);
        body.len += @as(u32, @truncate(eof_len));
        if (eof_len >> 32 != 0) break;
    }
    var out = bb.Buf{};
    defer out.deinit();
    if (workload.handle(body.items(), &out) == .ok) {
        hw.write_body(body_request, out.items().ptr, out.len);
        setHeader(header_request, "x-blueprint-workload", workload.name);
        return 1;
    }
    setHeader(header_response, "content-type", "text/plain; charset=utf-8");
    hw.set_status_code(422);
    hw.write_body(body_response, out.items().ptr, out.len);
    return 0; // answered here: the app is not called
}

/// Called after the app answered (next = 1); nothing to do.
export fn handle_response(req_ctx: u32, is_error: u32) void {
    _ = req_ctx;
    _ = is_error;
}
