//! aggregate (workloads/ABI.md): folds one event {key, amount} into the
//! aggregate {count, max, min, sum} stored under key in statestore
//! (first-write concurrency, retried on etag mismatch like counter), then
//! publishes {key, count, max, min, sum} to pubsub/aggregates and returns the
//! stored value.

/// The workload's name (the middleware reports it in a request header).
pub const name = "aggregate";

const bb = @import("bb");
const json = bb.json;
const dapr = @import("dapr");

const store = "statestore";
const max_key_len = 128;
const max_amount = 1000000000;
const max_attempts = 64;

const Aggregate = struct { count: i64, max: i64, min: i64, sum: i64 };

/// Exactly the four integer members, in any order, count at least 1.
fn parseAggregate(stored: []const u8) ?Aggregate {
    var obj = json.parse(stored) orelse return null;
    defer obj.deinit();
    if (obj.len != 4) return null;
    var a: Aggregate = undefined;
    inline for (.{ "count", "max", "min", "sum" }) |field| {
        switch (obj.get(field) orelse return null) {
            .integer => |n| @field(a, field) = n,
            else => return null,
        }
    }
    return if (a.count >= 1) a else null;
}

fn writeMembers(out: *bb.Buf, a: Aggregate) void {
    out.append("\"count\":");
    out.appendI64(a.count);
    out.append(",\"max\":");
    out.appendI64(a.max);
    out.append(",\"min\":");
    out.appendI64(a.min);
    out.append(",\"sum\":");
    out.appendI64(a.sum);
    out.push('}');
}

fn daprError(out: *bb.Buf) bb.Status {
    out.clear();
    out.append("dapr: ");
    bb.appendError(out, dapr.last_error);
    return .err;
}

fn fold(key: []const u8, amount: i64, out: *bb.Buf) bb.Status {
    for (0..max_attempts) |_| {
        var entry = dapr.stateGet(store, key) catch return daprError(out);
        defer if (entry) |*e| e.deinit();
        var a = Aggregate{ .count = 1, .max = amount, .min = amount, .sum = amount };
        var etag: []const u8 = "";
        if (entry) |e| {
            const old = parseAggregate(e.value) orelse return out.fail("stored value is not an aggregate");
            const count = @addWithOverflow(old.count, 1);
            const sum = @addWithOverflow(old.sum, amount);
            if (count[1] != 0 or sum[1] != 0) return out.fail("aggregate overflow");
            a = .{ .count = count[0], .max = @max(old.max, amount), .min = @min(old.min, amount), .sum = sum[0] };
            etag = e.etag;
        }
        out.clear();
        out.push('{');
        writeMembers(out, a);
        dapr.stateSet(store, key, out.items(), etag, .first_write) catch {
            if (dapr.last_error == bb.etag_mismatch) continue;
            return daprError(out);
        };
        var event = bb.Buf{};
        defer event.deinit();
        event.append("{\"key\":");
        json.writeString(&event, key);
        event.push(',');
        writeMembers(&event, a);
        dapr.publish("pubsub", "aggregates", event.items(), "application/json") catch return daprError(out);
        return .ok;
    }
    return out.fail("too much contention");
}

pub fn handle(input: []const u8, out: *bb.Buf) bb.Status {
    var obj = json.parse(input) orelse return out.fail("invalid JSON");
    defer obj.deinit();
    if (obj.unknown(&.{ "key", "amount" })) |key| return json.unknownField(out, key);
    const key = switch (obj.get("key") orelse return out.fail("key is required")) {
        .string => |s| if (s.len >= 1 and s.len <= max_key_len) s else null,
        else => null,
    } orelse return out.fail("key must be a string of 1 to 128 bytes");
    const amount = switch (obj.get("amount") orelse return out.fail("amount is required")) {
        .integer => |n| if (n >= -max_amount and n <= max_amount) n else null,
        else => null,
    } orelse return out.fail("amount must be an integer from -1000000000 to 1000000000");
    return fold(key, amount, out);
}
