//! Zig side of blueprint-bench's guest ABI v1 (`workloads/ABI.md` is
//! normative; this library only implements it): the byte buffer a workload
//! writes its response into, UTF-8 checks, and the error texts shared with
//! the other languages. The exports live in the flavour roots
//! (`embedded.zig`, ...), the Dapr calls in `dapr.zig`.
//!
//! A workload is a file with
//! `pub fn handle(input: []const u8, out: *bb.Buf) bb.Status`.

const std = @import("std");

/// The ABI version this library implements; `bb_abi_version` returns it.
pub const abi_version: i32 = 1;

/// Every guest allocation: the wasm allocator frees for real, so a reused
/// instance does not grow.
pub const allocator = std.heap.wasm_allocator;

/// A panic is a guest fault: trap, and the host reports the trap. Keeps
/// formatting code and WASI stderr out of the module.
pub const panic = std.debug.no_panic;

/// Dapr's state concurrency option; the values are the ABI's.
pub const Concurrency = enum(i32) { last_write = 0, first_write = 1 };

/// Log severities; the values are the ABI's.
pub const LogLevel = enum(i32) { err = 0, warn = 1, info = 2, debug = 3 };

/// A stored value and the etag of its version (empty when the store keeps
/// none), as `stateGet` of every flavour's Dapr calls returns it; both point
/// into `raw`, which `deinit` frees.
pub const StateEntry = struct {
    raw: []u8,
    etag: []const u8,
    value: []const u8,

    pub fn deinit(self: *StateEntry) void {
        allocator.free(self.raw);
    }
};

/// The workload's outcome: `ok` with the response in `out`, or `err` with a
/// UTF-8 message in `out` (a guest error, HTTP 422).
pub const Status = enum { ok, err };

/// A growable byte buffer. Running out of memory traps, as Rust's default
/// allocator does, so appends cannot fail.
pub const Buf = struct {
    data: []u8 = &.{},
    len: usize = 0,

    pub fn items(self: *const Buf) []const u8 {
        return self.data[0..self.len];
    }

    pub fn reserve(self: *Buf, extra: usize) void {
        if (self.data.len - self.len >= extra) return;
        var cap = if (self.data.len == 0) 64 else self.data.len * 2;
        if (cap < self.len + extra) cap = self.len + extra;
        self.data = allocator.realloc(self.data, cap) catch @trap();
    }

    pub fn append(self: *Buf, bytes: []const u8) void {
        self.reserve(bytes.len);
        @memcpy(self.data[self.len..][0..bytes.len], bytes);
        self.len += bytes.len;
    }

    pub fn push(self: *Buf, byte: u8) void {
        self.reserve(1);
        self.data[self.len] = byte;
        self.len += 1;
    }

    /// Decimal text of an unsigned integer.
    pub fn appendU64(self: *Buf, value: u64) void {
        var digits: [20]u8 = undefined;
        var n: usize = 0;
        var v = value;
        while (true) {
            n += 1;
            digits[digits.len - n] = '0' + @as(u8, @intCast(v % 10));
            v /= 10;
            if (v == 0) break;
        }
        self.append(digits[digits.len - n ..]);
    }

    /// Decimal text of a signed integer.
    pub fn appendI64(self: *Buf, value: i64) void {
        if (value < 0) {
            self.push('-');
            self.appendU64(@as(u64, @intCast(-(value + 1))) + 1);
        } else {
            self.appendU64(@intCast(value));
        }
    }

    /// Lower-case hex of bytes.
    pub fn appendHex(self: *Buf, bytes: []const u8) void {
        const hex = "0123456789abcdef";
        self.reserve(bytes.len * 2);
        for (bytes) |b| {
            self.data[self.len] = hex[b >> 4];
            self.data[self.len + 1] = hex[b & 15];
            self.len += 2;
        }
    }

    pub fn clear(self: *Buf) void {
        self.len = 0;
    }

    pub fn deinit(self: *Buf) void {
        allocator.free(self.data);
        self.* = .{};
    }

    /// Replaces the contents with `message` and returns `.err`.
    pub fn fail(self: *Buf, message: []const u8) Status {
        self.clear();
        self.append(message);
        return .err;
    }
};

/// Whether bytes are well-formed UTF-8: no overlongs, no surrogates, nothing
/// above U+10FFFF (the same rules as Rust's `str::from_utf8`).
pub fn utf8Valid(s: []const u8) bool {
    var i: usize = 0;
    while (i < s.len) {
        const c = s[i];
        if (c < 0x80) {
            i += 1;
            continue;
        }
        var need: usize = undefined;
        var lo: u8 = 0x80;
        var hi: u8 = 0xbf;
        switch (c) {
            0xc2...0xdf => need = 1,
            0xe0...0xef => {
                need = 2;
                if (c == 0xe0) lo = 0xa0;
                if (c == 0xed) hi = 0x9f;
            },
            0xf0...0xf4 => {
                need = 3;
                if (c == 0xf0) lo = 0x90;
                if (c == 0xf4) hi = 0x8f;
            },
            else => return false,
        }
        if (s.len - i <= need) return false;
        if (s[i + 1] < lo or s[i + 1] > hi) return false;
        var k: usize = 2;
        while (k <= need) : (k += 1) {
            if (s[i + k] & 0xc0 != 0x80) return false;
        }
        i += need + 1;
    }
    return true;
}

/// The ABI's error codes, plus `malformed` for a host result that breaks
/// the ABI's layout.
pub const not_found: i64 = -1;
pub const etag_mismatch: i64 = -2;
pub const invalid_argument: i64 = -3;
pub const unavailable: i64 = -4;
pub const no_result: i64 = -5;
pub const buffer_too_small: i64 = -6;
pub const not_permitted: i64 = -7;
pub const malformed: i64 = -1000;

/// Appends an error code's text, in the Rust and Go libraries' words.
pub fn appendError(out: *Buf, code: i64) void {
    out.append(switch (code) {
        not_found => "not found",
        etag_mismatch => "etag mismatch",
        invalid_argument => "invalid argument",
        unavailable => "unavailable",
        no_result => "no result",
        buffer_too_small => "buffer too small",
        not_permitted => "not permitted",
        malformed => "malformed result",
        else => {
            out.append("unknown error code ");
            out.appendI64(code);
            return;
        },
    });
}
pub const json = @import("json.zig");
