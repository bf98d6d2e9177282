//! The Dapr building blocks over the `dapr` import module (embedded
//! flavour). Imports that produce a result leave it in the host's result
//! slot and return its size; `take` copies it out with `dapr.take_result`.
//!
//! Every call returns `void` on success or `error.Dapr` with the ABI's code
//! in `last_error`; `stateGet` returns null for a missing key.

const bb = @import("bb");

const raw = struct {
    extern "dapr" fn state_get(store: [*]const u8, store_len: usize, key: [*]const u8, key_len: usize) i64;
    extern "dapr" fn state_set(store: [*]const u8, store_len: usize, key: [*]const u8, key_len: usize, value: [*]const u8, value_len: usize, etag: [*]const u8, etag_len: usize, concurrency: i32) i64;
    extern "dapr" fn state_delete(store: [*]const u8, store_len: usize, key: [*]const u8, key_len: usize, etag: [*]const u8, etag_len: usize, concurrency: i32) i64;
    extern "dapr" fn publish(pubsub: [*]const u8, pubsub_len: usize, topic: [*]const u8, topic_len: usize, data: [*]const u8, data_len: usize, content_type: [*]const u8, content_type_len: usize) i64;
    extern "dapr" fn invoke_binding(name: [*]const u8, name_len: usize, operation: [*]const u8, operation_len: usize, data: [*]const u8, data_len: usize) i64;
    extern "dapr" fn log(level: i32, message: [*]const u8, message_len: usize) void;
    extern "dapr" fn take_result(buf: [*]u8, buf_len: usize) i64;
};

pub const Error = error{Dapr};

/// The ABI code of the last failed call (for `bb.appendError`).
pub var last_error: i64 = 0;

fn check(ret: i64) Error!u64 {
    if (ret < 0) {
        last_error = ret;
        return error.Dapr;
    }
    return @intCast(ret);
}

pub const Concurrency = bb.Concurrency;
pub const LogLevel = bb.LogLevel;
pub const StateEntry = bb.StateEntry;

/// Copies the result slot (`size` bytes, as the import said) out.
fn take(size: u64) Error![]u8 {
    if (size > 0xffff_ffff) {
        last_error = bb.malformed; // linear memory is 32-bit: a host bug
        return error.Dapr;
    }
    const buf = bb.allocator.alloc(u8, @intCast(size)) catch @trap();
    const copied = check(raw.take_result(buf.ptr, buf.len)) catch |e| {
        bb.allocator.free(buf);
        return e;
    };
    return buf[0..@min(copied, buf.len)];
}

/// The entry under `key`, or null when the key has no value.
pub fn stateGet(store: []const u8, key: []const u8) Error!?StateEntry {
    const ret = raw.state_get(store.ptr, store.len, key.ptr, key.len);
    if (ret == bb.not_found) return null;
    const bytes = try take(try check(ret));
    // etag_len: u32 LE, the etag, then the value
    if (bytes.len < 4) return malformedResult(bytes);
    const etag_len = @as(usize, bytes[0]) | @as(usize, bytes[1]) << 8 | @as(usize, bytes[2]) << 16 | @as(usize, bytes[3]) << 24;
    if (bytes.len - 4 < etag_len or !bb.utf8Valid(bytes[4..][0..etag_len])) return malformedResult(bytes);
    return .{ .raw = bytes, .etag = bytes[4..][0..etag_len], .value = bytes[4 + etag_len ..] };
}

fn malformedResult(bytes: []u8) Error {
    bb.allocator.free(bytes);
    last_error = bb.malformed;
    return error.Dapr;
}

/// An empty etag means none. `last_error == bb.etag_mismatch` when the
/// concurrency check fails.
pub fn stateSet(store: []const u8, key: []const u8, value: []const u8, etag: []const u8, concurrency: Concurrency) Error!void {
    _ = try check(raw.state_set(store.ptr, store.len, key.ptr, key.len, value.ptr, value.len, etag.ptr, etag.len, @intFromEnum(concurrency)));
}

pub fn stateDelete(store: []const u8, key: []const u8, etag: []const u8, concurrency: Concurrency) Error!void {
    _ = try check(raw.state_delete(store.ptr, store.len, key.ptr, key.len, etag.ptr, etag.len, @intFromEnum(concurrency)));
}

/// An empty content type means application/json.
pub fn publish(pubsub: []const u8, topic: []const u8, data: []const u8, content_type: []const u8) Error!void {
    _ = try check(raw.publish(pubsub.ptr, pubsub.len, topic.ptr, topic.len, data.ptr, data.len, content_type.ptr, content_type.len));
}

/// The binding's response data, appended to `response`.
pub fn invokeBinding(name: []const u8, operation: []const u8, data: []const u8, response: *bb.Buf) Error!void {
    const bytes = try take(try check(raw.invoke_binding(name.ptr, name.len, operation.ptr, operation.len, data.ptr, data.len)));
    defer bb.allocator.free(bytes);
    response.append(bytes);
}

pub fn log(level: LogLevel, message: []const u8) void {
    raw.log(@intFromEnum(level), message.ptr, message.len);
}
