//! transform (workloads/ABI.md): normalises a flat record. Keys become
//! lower_snake_case, secrets are redacted, strings have their whitespace
//! trimmed and collapsed, emails are lower-cased. Pure.

/// The workload's name (the middleware reports it in a request header).
pub const name = "transform";

const bb = @import("bb");
const json = bb.json;

const redacted_keys = [_][]const u8{ "password", "secret", "token", "ssn", "card_number" };

fn isWs(c: u8) bool {
    return c == ' ' or c == '\t' or c == '\n' or c == '\r';
}

/// Trimmed, inner whitespace runs as one space, for emails ASCII lower case.
fn writeCleanString(out: *bb.Buf, s: []const u8, lower: bool) void {
    var clean = bb.Buf{};
    defer clean.deinit();
    var pending_space = false;
    for (s) |c| {
        if (isWs(c)) {
            pending_space = clean.len > 0;
            continue;
        }
        if (pending_space) {
            clean.push(' ');
            pending_space = false;
        }
        clean.push(if (lower and c >= 'A' and c <= 'Z') c + 32 else c);
    }
    json.writeString(out, clean.items());
}

pub fn handle(input: []const u8, out: *bb.Buf) bb.Status {
    var obj = json.parse(input) orelse return out.fail("invalid JSON");
    defer obj.deinit();
    // The normalised keys, back to back, and where each one ends.
    var keys = bb.Buf{};
    defer keys.deinit();
    const ends = bb.allocator.alloc(usize, obj.len) catch @trap();
    defer bb.allocator.free(ends);

    out.push('{');
    for (obj.items(), 0..) |m, i| {
        const start = keys.len;
        for (m.key) |c| {
            keys.push(switch (c) {
                'A'...'Z' => c + 32,
                '-', ' ' => '_',
                else => c,
            });
        }
        ends[i] = keys.len;
        const key = keys.items()[start..];
        for (0..i) |j| {
            const from = if (j == 0) 0 else ends[j - 1];
            if (json.eql(keys.items()[from..ends[j]], key)) {
                out.clear();
                out.append("duplicate field \"");
                out.append(key);
                out.append("\" after key normalisation");
                return .err;
            }
        }
        if (i > 0) out.push(',');
        json.writeKey(out, key);

        var redact = false;
        for (redacted_keys) |r| redact = redact or json.eql(key, r);
        if (redact) {
            out.append("\"[redacted]\"");
            continue;
        }
        switch (m.value) {
            .string => |s| writeCleanString(out, s, json.eql(key, "email")),
            .integer => |n| out.appendI64(n),
            .true_ => out.append("true"),
            .false_ => out.append("false"),
            .null_ => out.append("null"),
        }
    }
    out.push('}');
    return .ok;
}
