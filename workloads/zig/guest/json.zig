//! The JSON subset of the JSON workloads (workloads/ABI.md, "The JSON
//! subset the JSON workloads read and write"): one flat object whose members
//! are strings, signed 64-bit integers, true, false or null; and the one
//! compact form every language writes.

const bb = @import("bb.zig");

pub const Value = union(enum) {
    /// The unescaped UTF-8 bytes.
    string: []const u8,
    integer: i64,
    true_,
    false_,
    null_,
};

pub const Member = struct {
    key: []const u8,
    value: Value,
};

/// A parsed object, members in input order. Keys and strings point into
/// `strings`; `deinit` frees both.
pub const Object = struct {
    members: []Member = &.{},
    len: usize = 0,
    strings: []u8 = &.{},

    pub fn items(self: *const Object) []const Member {
        return self.members[0..self.len];
    }

    /// The member called `key`, or null.
    pub fn get(self: *const Object, key: []const u8) ?Value {
        for (self.items()) |m| {
            if (eql(m.key, key)) return m.value;
        }
        return null;
    }

    /// The first member whose key is not in `allowed`, or null.
    pub fn unknown(self: *const Object, allowed: []const []const u8) ?[]const u8 {
        outer: for (self.items()) |m| {
            for (allowed) |a| {
                if (eql(m.key, a)) continue :outer;
            }
            return m.key;
        }
        return null;
    }

    pub fn deinit(self: *Object) void {
        bb.allocator.free(self.members);
        bb.allocator.free(self.strings);
        self.* = .{};
    }
};

pub fn eql(a: []const u8, b: []const u8) bool {
    if (a.len != b.len) return false;
    for (a, b) |x, y| {
        if (x != y) return false;
    }
    return true;
}

const Parser = struct {
    in: []const u8,
    at: usize = 0,
    /// Where the next unescaped string goes: an unescaped string is never
    /// longer than its source, so a buffer of the input's size is enough.
    strings: []u8,
    out: usize = 0,

    fn skipWs(p: *Parser) void {
        while (p.at < p.in.len) : (p.at += 1) {
            switch (p.in[p.at]) {
                ' ', '\t', '\n', '\r' => {},
                else => return,
            }
        }
    }

    fn eat(p: *Parser, c: u8) bool {
        if (p.at < p.in.len and p.in[p.at] == c) {
            p.at += 1;
            return true;
        }
        return false;
    }

    fn literal(p: *Parser, word: []const u8) bool {
        if (p.in.len - p.at < word.len or !eql(p.in[p.at..][0..word.len], word)) return false;
        p.at += word.len;
        return true;
    }

    fn hex4(p: *Parser) ?u21 {
        if (p.in.len - p.at < 4) return null;
        var v: u21 = 0;
        for (p.in[p.at..][0..4]) |c| {
            const d: u21 = switch (c) {
                '0'...'9' => c - '0',
                'a'...'f' => c - 'a' + 10,
                'A'...'F' => c - 'A' + 10,
                else => return null,
            };
            v = v * 16 + d;
        }
        p.at += 4;
        return v;
    }

    fn put(p: *Parser, c: u8) void {
        p.strings[p.out] = c;
        p.out += 1;
    }

    fn putUtf8(p: *Parser, cp: u21) void {
        if (cp < 0x80) {
            p.put(@intCast(cp));
        } else if (cp < 0x800) {
            p.put(@intCast(0xc0 | cp >> 6));
            p.put(@intCast(0x80 | (cp & 0x3f)));
        } else if (cp < 0x10000) {
            p.put(@intCast(0xe0 | cp >> 12));
            p.put(@intCast(0x80 | (cp >> 6 & 0x3f)));
            p.put(@intCast(0x80 | (cp & 0x3f)));
        } else {
            p.put(@intCast(0xf0 | cp >> 18));
            p.put(@intCast(0x80 | (cp >> 12 & 0x3f)));
            p.put(@intCast(0x80 | (cp >> 6 & 0x3f)));
            p.put(@intCast(0x80 | (cp & 0x3f)));
        }
    }

    /// After the opening quote. The input is valid UTF-8 already, so raw
    /// bytes are copied as they are.
    fn string(p: *Parser) ?[]const u8 {
        const start = p.out;
        while (true) {
            if (p.at == p.in.len) return null;
            const c = p.in[p.at];
            p.at += 1;
            if (c == '"') break;
            if (c < 0x20) return null;
            if (c != '\\') {
                p.put(c);
                continue;
            }
            if (p.at == p.in.len) return null;
            const e = p.in[p.at];
            p.at += 1;
            switch (e) {
                '"', '\\', '/' => p.put(e),
                'b' => p.put(8),
                'f' => p.put(12),
                'n' => p.put('\n'),
                'r' => p.put('\r'),
                't' => p.put('\t'),
                'u' => {
                    var cp = p.hex4() orelse return null;
                    if (cp >= 0xdc00 and cp <= 0xdfff) return null;
                    if (cp >= 0xd800 and cp <= 0xdbff) {
                        if (!p.literal("\\u")) return null;
                        const low = p.hex4() orelse return null;
                        if (low < 0xdc00 or low > 0xdfff) return null;
                        cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
                    }
                    p.putUtf8(cp);
                },
                else => return null,
            }
        }
        return p.strings[start..p.out];
    }

    /// -?(0|[1-9][0-9]*) within the signed 64-bit range.
    fn integer(p: *Parser) ?i64 {
        const negative = p.eat('-');
        if (p.at == p.in.len or p.in[p.at] < '0' or p.in[p.at] > '9') return null;
        const limit: u64 = if (negative) 1 << 63 else (1 << 63) - 1;
        var acc: u64 = 0;
        if (p.in[p.at] == '0') {
            p.at += 1;
        } else {
            while (p.at < p.in.len and p.in[p.at] >= '0' and p.in[p.at] <= '9') : (p.at += 1) {
                const digit: u64 = p.in[p.at] - '0';
                if (acc > (limit - digit) / 10) return null;
                acc = acc * 10 + digit;
            }
        }
        return if (negative) @bitCast(0 -% acc) else @intCast(acc);
    }

    fn value(p: *Parser) ?Value {
        if (p.at == p.in.len) return null;
        switch (p.in[p.at]) {
            '"' => {
                p.at += 1;
                return .{ .string = p.string() orelse return null };
            },
            't' => return if (p.literal("true")) .true_ else null,
            'f' => return if (p.literal("false")) .false_ else null,
            'n' => return if (p.literal("null")) .null_ else null,
            else => return .{ .integer = p.integer() orelse return null },
        }
    }

    fn members(p: *Parser, o: *Object) bool {
        p.skipWs();
        if (p.eat('}')) return true;
        while (true) {
            p.skipWs();
            if (!p.eat('"')) return false;
            const key = p.string() orelse return false;
            p.skipWs();
            if (!p.eat(':')) return false;
            p.skipWs();
            const v = p.value() orelse return false;
            // keys are unique after unescaping
            if (o.get(key) != null) return false;
            if (o.len == o.members.len) {
                const cap = if (o.members.len == 0) 8 else o.members.len * 2;
                o.members = bb.allocator.realloc(o.members, cap) catch @trap();
            }
            o.members[o.len] = .{ .key = key, .value = v };
            o.len += 1;
            p.skipWs();
            if (p.eat('}')) return true;
            if (!p.eat(',')) return false;
        }
    }
};

/// Parses `input`; null (and nothing to free) when it is outside the subset.
pub fn parse(input: []const u8) ?Object {
    if (!bb.utf8Valid(input)) return null;
    var o = Object{ .strings = bb.allocator.alloc(u8, input.len) catch @trap() };
    var p = Parser{ .in = input, .strings = o.strings };
    p.skipWs();
    const ok = p.eat('{') and p.members(&o);
    p.skipWs();
    if (!ok or p.at != input.len) {
        o.deinit();
        return null;
    }
    return o;
}

/// Output form: `"` + text with `"` `\` and U+0000-U+001F escaped + `"`.
pub fn writeString(out: *bb.Buf, text: []const u8) void {
    const hex = "0123456789abcdef";
    out.reserve(text.len + 2);
    out.push('"');
    for (text) |c| {
        if (c == '"' or c == '\\') {
            out.push('\\');
            out.push(c);
        } else if (c < 0x20) {
            out.append(&.{ '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] });
        } else {
            out.push(c);
        }
    }
    out.push('"');
}

/// `"key":`
pub fn writeKey(out: *bb.Buf, key: []const u8) void {
    writeString(out, key);
    out.push(':');
}

/// `unknown field "<key>"`, the key verbatim.
pub fn unknownField(out: *bb.Buf, key: []const u8) bb.Status {
    out.clear();
    out.append("unknown field \"");
    out.append(key);
    out.push('"');
    return .err;
}
