//! validate (workloads/ABI.md): checks an order against fixed rules and
//! answers with its total; the first failed check is the guest error. Pure.

/// The workload's name (the middleware reports it in a request header).
pub const name = "validate";

const bb = @import("bb");
const json = bb.json;

const fields = [_][]const u8{ "id", "customer", "quantity", "unit_price", "currency", "express" };

fn validId(v: json.Value) bool {
    const s = switch (v) {
        .string => |s| s,
        else => return false,
    };
    if (s.len < 1 or s.len > 32) return false;
    for (s) |c| {
        switch (c) {
            'A'...'Z', 'a'...'z', '0'...'9', '-', '_' => {},
            else => return false,
        }
    }
    return true;
}

/// At most 254 bytes, nothing in U+0000-U+0020, exactly one '@' with
/// something before it, and a domain that contains a '.' but neither starts
/// nor ends with one.
fn validEmail(v: json.Value) bool {
    const s = switch (v) {
        .string => |s| s,
        else => return false,
    };
    if (s.len > 254) return false;
    var at: usize = 0;
    var ats: usize = 0;
    for (s, 0..) |c, i| {
        if (c <= 0x20) return false;
        if (c == '@') {
            ats += 1;
            at = i;
        }
    }
    if (ats != 1 or at == 0) return false;
    const domain = s[at + 1 ..];
    if (domain.len == 0 or domain[0] == '.' or domain[domain.len - 1] == '.') return false;
    for (domain) |c| {
        if (c == '.') return true;
    }
    return false;
}

fn intIn(v: json.Value, lo: i64, hi: i64) ?i64 {
    return switch (v) {
        .integer => |n| if (n >= lo and n <= hi) n else null,
        else => null,
    };
}

pub fn handle(input: []const u8, out: *bb.Buf) bb.Status {
    var obj = json.parse(input) orelse return out.fail("invalid JSON");
    defer obj.deinit();
    if (obj.unknown(&fields)) |key| return json.unknownField(out, key);
    const id = obj.get("id") orelse return out.fail("id is required");
    if (!validId(id)) return out.fail("id must be 1 to 32 characters from A-Z a-z 0-9 - _");
    const customer = obj.get("customer") orelse return out.fail("customer is required");
    if (!validEmail(customer)) return out.fail("customer must be an email address");
    const quantity = intIn(obj.get("quantity") orelse return out.fail("quantity is required"), 1, 1000) orelse
        return out.fail("quantity must be an integer from 1 to 1000");
    const price = intIn(obj.get("unit_price") orelse return out.fail("unit_price is required"), 0, 1000000) orelse
        return out.fail("unit_price must be an integer from 0 to 1000000");
    const currency = obj.get("currency") orelse return out.fail("currency is required");
    const currency_ok = switch (currency) {
        .string => |s| json.eql(s, "EUR") or json.eql(s, "USD") or json.eql(s, "GBP"),
        else => false,
    };
    if (!currency_ok) return out.fail("currency must be one of EUR, USD, GBP");
    if (obj.get("express")) |express| {
        switch (express) {
            .true_, .false_ => {},
            else => return out.fail("express must be a boolean"),
        }
    }
    const total = quantity * price; // at most 10^9: no overflow
    if (total > 10000000) return out.fail("order total must be at most 10000000");

    out.append("{\"valid\":true,\"id\":");
    json.writeString(out, id.string);
    out.append(",\"total\":");
    out.appendI64(total);
    out.push('}');
    return .ok;
}
