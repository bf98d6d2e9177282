//! counter (workloads/ABI.md): increments the decimal counter stored under
//! the request's key in statestore and returns the new value.
//!
//! The write uses first-write concurrency with the etag it read (none for a
//! new key), so concurrent increments never lose an update: the loser gets
//! ETAG_MISMATCH, reads again and retries.

/// The workload's name (the middleware reports it in a request header).
pub const name = "counter";

const bb = @import("bb");
const dapr = @import("dapr");

const store = "statestore";
const max_key_len = 128;
const max_attempts = 64;

pub fn handle(input: []const u8, out: *bb.Buf) bb.Status {
    if (input.len == 0) return out.fail("key must not be empty");
    if (input.len > max_key_len) return out.fail("key must be at most 128 bytes");
    if (!bb.utf8Valid(input)) return out.fail("key must be UTF-8");

    for (0..max_attempts) |_| {
        var entry = dapr.stateGet(store, input) catch return daprError(out);
        defer if (entry) |*e| e.deinit();
        var current: u64 = 0;
        var etag: []const u8 = "";
        if (entry) |e| {
            current = parseCounter(e.value) orelse return out.fail("stored value is not a counter");
            etag = e.etag;
        }
        if (current == ~@as(u64, 0)) return out.fail("counter overflow");
        out.clear();
        out.appendU64(current + 1);
        dapr.stateSet(store, input, out.items(), etag, .first_write) catch {
            if (dapr.last_error == bb.etag_mismatch) continue;
            return daprError(out);
        };
        return .ok;
    }
    return out.fail("too much contention");
}

/// Strict ASCII digits only (leading zeros allowed), as in every language.
fn parseCounter(value: []const u8) ?u64 {
    if (value.len == 0) return null;
    var acc: u64 = 0;
    for (value) |b| {
        if (b < '0' or b > '9') return null;
        const times_ten = @mulWithOverflow(acc, 10);
        if (times_ten[1] != 0) return null;
        const sum = @addWithOverflow(times_ten[0], b - '0');
        if (sum[1] != 0) return null;
        acc = sum[0];
    }
    return acc;
}

/// "dapr: <error>", worded as the Rust counter does.
fn daprError(out: *bb.Buf) bb.Status {
    out.clear();
    out.append("dapr: ");
    bb.appendError(out, dapr.last_error);
    return .err;
}
