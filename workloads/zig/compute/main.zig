//! compute (workloads/ABI.md): SHA-256 (FIPS 180-4, implemented here, as in
//! every language) of `data`, then iterated over the 32-byte digest,
//! `iterations` times in all. CPU-bound and pure.

/// The workload's name (the middleware reports it in a request header).
pub const name = "compute";

const std = @import("std");
const bb = @import("bb");
const json = bb.json;

/// The round constants of FIPS 180-4 (4.2.2): the first 32 bits of the
/// fractional parts of the cube roots of the first 64 primes, computed from
/// that definition while compiling.
const K = blk: {
    @setEvalBranchQuota(100_000);
    var k: [64]u32 = undefined;
    var i: usize = 0;
    var n: u32 = 2;
    while (i < k.len) : (n += 1) {
        var d: u32 = 2;
        const prime = while (d * d <= n) : (d += 1) {
            if (n % d == 0) break false;
        } else true;
        if (!prime) continue;
        const root = std.math.cbrt(@as(f64, @floatFromInt(n)));
        k[i] = @intFromFloat((root - @floor(root)) * 4294967296.0);
        i += 1;
    }
    break :blk k;
};

fn rotr(x: u32, comptime n: u5) u32 {
    return x >> n | x << (32 - @as(u6, n));
}

fn compress(h: *[8]u32, block: *const [64]u8) void {
    var w: [64]u32 = undefined;
    for (0..16) |i| {
        w[i] = @as(u32, block[4 * i]) << 24 | @as(u32, block[4 * i + 1]) << 16 | @as(u32, block[4 * i + 2]) << 8 | block[4 * i + 3];
    }
    for (16..64) |i| {
        const s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ w[i - 15] >> 3;
        const s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ w[i - 2] >> 10;
        w[i] = w[i - 16] +% s0 +% w[i - 7] +% s1;
    }
    var a = h[0];
    var b = h[1];
    var c = h[2];
    var d = h[3];
    var e = h[4];
    var f = h[5];
    var g = h[6];
    var hh = h[7];
    for (0..64) |i| {
        const t1 = hh +% (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) +% ((e & f) ^ (~e & g)) +% K[i] +% w[i];
        const t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) +% ((a & b) ^ (a & c) ^ (b & c));
        hh = g;
        g = f;
        f = e;
        e = d +% t1;
        d = c;
        c = b;
        b = a;
        a = t1 +% t2;
    }
    h[0] +%= a;
    h[1] +%= b;
    h[2] +%= c;
    h[3] +%= d;
    h[4] +%= e;
    h[5] +%= f;
    h[6] +%= g;
    h[7] +%= hh;
}

fn sha256(data: []const u8) [32]u8 {
    var h = [8]u32{ 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };
    const full = data.len / 64 * 64;
    var i: usize = 0;
    while (i < full) : (i += 64) compress(&h, data[i..][0..64]);
    // The tail, 0x80, zeros, and the bit length: one or two blocks.
    var tail = [_]u8{0} ** 128;
    const rest = data.len - full;
    @memcpy(tail[0..rest], data[full..]);
    tail[rest] = 0x80;
    const blocks: usize = if (rest < 56) 1 else 2;
    const bits: u64 = @as(u64, data.len) * 8;
    for (0..8) |k| tail[blocks * 64 - 1 - k] = @truncate(bits >> @intCast(8 * k));
    for (0..blocks) |k| compress(&h, tail[64 * k ..][0..64]);
    var digest: [32]u8 = undefined;
    for (h, 0..) |word, k| {
        digest[4 * k] = @truncate(word >> 24);
        digest[4 * k + 1] = @truncate(word >> 16);
        digest[4 * k + 2] = @truncate(word >> 8);
        digest[4 * k + 3] = @truncate(word);
    }
    return digest;
}

pub fn handle(input: []const u8, out: *bb.Buf) bb.Status {
    var obj = json.parse(input) orelse return out.fail("invalid JSON");
    defer obj.deinit();
    if (obj.unknown(&.{ "data", "iterations" })) |key| return json.unknownField(out, key);
    const data = switch (obj.get("data") orelse return out.fail("data is required")) {
        .string => |s| s,
        else => return out.fail("data must be a string"),
    };
    const iterations = switch (obj.get("iterations") orelse return out.fail("iterations is required")) {
        .integer => |n| if (n >= 1 and n <= 100000) n else null,
        else => null,
    } orelse return out.fail("iterations must be an integer from 1 to 100000");

    var digest = sha256(data);
    var i: i64 = 1;
    while (i < iterations) : (i += 1) digest = sha256(&digest);

    out.append("{\"iterations\":");
    out.appendI64(iterations);
    out.append(",\"sha256\":\"");
    out.appendHex(&digest);
    out.append("\"}");
    return .ok;
}
