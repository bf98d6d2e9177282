//! Root of the embedded and http flavours: the ABI v1 exports around the
//! workload. Which Dapr backend the workload's `dapr` module is (the `dapr`
//! imports or HTTP requests) is chosen by the build, not here.

const bb = @import("bb");
const workload = @import("workload");

pub const panic = bb.panic;

/// Largest response length the packed i64 can carry.
const max_response_len: usize = 0x7fff_ffff;
const error_flag: u64 = 0x8000_0000;

/// Buffers handed out by `bb_alloc` and not yet passed to `bb_handle`;
/// `bb_handle` takes the request out and frees the rest, which bounds the
/// list on a reused instance.
var arena: [][]u8 = &.{};
var arena_len: usize = 0;

/// The last response: the host reads it after `bb_handle` has returned.
var response: bb.Buf = .{};

export fn bb_abi_version() i32 {
    return bb.abi_version;
}

export fn bb_alloc(len: i32) i32 {
    if (len < 0) return 0;
    if (arena_len == arena.len) {
        const cap = if (arena.len == 0) 4 else arena.len * 2;
        arena = bb.allocator.realloc(arena, cap) catch return 0;
    }
    // A zero-length slice has no address of its own: bb_alloc(0) must be valid.
    const buf = bb.allocator.alloc(u8, @max(@as(usize, @intCast(len)), 1)) catch return 0;
    arena[arena_len] = buf[0..@intCast(len)];
    arena_len += 1;
    return @intCast(@intFromPtr(buf.ptr));
}

/// Looks the request up instead of trusting the pointer, so a wrong one is
/// an error rather than a wild read; frees every other buffer.
fn takeRequest(ptr: i32, len: i32) ?[]u8 {
    var found: ?[]u8 = null;
    for (arena[0..arena_len]) |buf| {
        if (found == null and len >= 0 and @intFromPtr(buf.ptr) == @as(u32, @bitCast(ptr)) and buf.len >= len) {
            found = buf;
        } else {
            free(buf);
        }
    }
    arena_len = 0;
    return found;
}

fn free(buf: []u8) void {
    bb.allocator.free(buf.ptr[0..@max(buf.len, 1)]);
}

export fn bb_handle(ptr: i32, len: i32) i64 {
    response.deinit();
    var status: bb.Status = undefined;
    if (takeRequest(ptr, len)) |request| {
        status = workload.handle(request[0..@intCast(len)], &response);
        free(request);
    } else if (len == 0) {
        status = workload.handle(&.{}, &response);
    } else {
        response.append("bb_handle(");
        response.appendI64(ptr);
        response.append(", ");
        response.appendI64(len);
        response.append("): the request is not in a buffer from bb_alloc");
        status = .err;
    }
    if (response.len > max_response_len) {
        status = response.fail("response exceeds the ABI limit of 2147483647 bytes");
    }
    // An empty response still points into memory, never at address 0.
    const bytes: u64 = if (response.data.len == 0) @intFromPtr(&nothing) else @intFromPtr(response.data.ptr);
    const flag: u64 = if (status == .err) error_flag else 0;
    return @bitCast((bytes << 32) | response.len | flag);
}

const nothing: u8 = 0;
