//! The Dapr building blocks over the `http` import module (http flavour,
//! mode standalone-http), with the same interface as `dapr.zig`: this library
//! builds the Dapr HTTP API requests itself and the host only forwards them.
//! The requests and their limits are the C library's (see
//! `../c/README.md`): state values must be JSON text, binding data travels
//! as a JSON string, `log` is dropped (the HTTP API has none).

const bb = @import("bb");
const json = bb.json;

const raw = struct {
    /// status << 32 | size of the result now in the slot, or a negative code.
    extern "http" fn request(method: [*]const u8, method_len: usize, url: [*]const u8, url_len: usize, headers: [*]const u8, headers_len: usize, body: [*]const u8, body_len: usize) i64;
    extern "http" fn take_result(buf: [*]u8, buf_len: usize) i64;
};

pub const Error = error{Dapr};

/// The ABI code of the last failed call (for `bb.appendError`).
pub var last_error: i64 = 0;

fn fail(code: i64) Error {
    last_error = code;
    return error.Dapr;
}

pub const Concurrency = bb.Concurrency;
pub const LogLevel = bb.LogLevel;
pub const StateEntry = bb.StateEntry;

/// One answer: the status and the raw result (headers_len u32 LE, headers
/// as `name: value\n` lines with lower-case names, body).
const Response = struct {
    status: u32,
    raw: []u8,
    headers: []const u8,
    body: []const u8,

    fn deinit(self: *Response) void {
        bb.allocator.free(self.raw);
    }

    /// The value of header `name` (lower-case), or "".
    fn header(self: *const Response, name: []const u8) []const u8 {
        var rest = self.headers;
        while (rest.len > 0) {
            const eol = for (rest, 0..) |c, i| {
                if (c == '\n') break i;
            } else rest.len;
            const line = rest[0..eol];
            if (line.len >= name.len + 2 and json.eql(line[0..name.len], name) and line[name.len] == ':' and line[name.len + 1] == ' ') {
                return line[name.len + 2 ..];
            }
            rest = if (eol < rest.len) rest[eol + 1 ..] else rest[rest.len..];
        }
        return "";
    }
};

fn send(method: []const u8, url: []const u8, headers: []const u8, body: []const u8) Error!Response {
    const ret = raw.request(method.ptr, method.len, url.ptr, url.len, headers.ptr, headers.len, body.ptr, body.len);
    if (ret < 0) return fail(ret);
    const packed_ret: u64 = @bitCast(ret);
    const size: usize = @as(u32, @truncate(packed_ret));
    const buf = bb.allocator.alloc(u8, size) catch @trap();
    const copied = raw.take_result(buf.ptr, buf.len);
    if (copied < 0) {
        bb.allocator.free(buf);
        return fail(copied);
    }
    const len = @min(@as(usize, @intCast(copied)), size);
    if (len < 4) {
        bb.allocator.free(buf);
        return fail(bb.malformed);
    }
    const headers_len = @as(usize, buf[0]) | @as(usize, buf[1]) << 8 | @as(usize, buf[2]) << 16 | @as(usize, buf[3]) << 24;
    if (len - 4 < headers_len) {
        bb.allocator.free(buf);
        return fail(bb.malformed);
    }
    return .{
        .status = @truncate(packed_ret >> 32),
        .raw = buf,
        .headers = buf[4..][0..headers_len],
        .body = buf[4 + headers_len .. len],
    };
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn appendSegment(url: *bb.Buf, s: []const u8) void {
    const hex = "0123456789ABCDEF";
    for (s) |c| {
        switch (c) {
            'A'...'Z', 'a'...'z', '0'...'9', '-', '.', '_', '~' => url.push(c),
            else => url.append(&.{ '%', hex[c >> 4], hex[c & 15] }),
        }
    }
}

fn stateUrl(url: *bb.Buf, store: []const u8, key: ?[]const u8) void {
    url.append("/v1.0/state/");
    appendSegment(url, store);
    if (key) |k| {
        url.push('/');
        appendSegment(url, k);
    }
}

/// A status the call did not expect: 409 is Dapr's etag mismatch.
fn unexpected(status: u32) Error {
    return fail(if (status == 409) bb.etag_mismatch else bb.unavailable);
}

pub fn stateGet(store: []const u8, key: []const u8) Error!?StateEntry {
    var url = bb.Buf{};
    defer url.deinit();
    stateUrl(&url, store, key);
    var r = try send("GET", url.items(), "", "");
    if (r.status == 204) {
        r.deinit();
        return null;
    }
    if (r.status != 200) {
        r.deinit();
        return fail(bb.unavailable);
    }
    const etag = r.header("etag");
    if (!bb.utf8Valid(etag)) {
        r.deinit();
        return fail(bb.malformed);
    }
    return .{ .raw = r.raw, .etag = etag, .value = r.body };
}

pub fn stateSet(store: []const u8, key: []const u8, value: []const u8, etag: []const u8, concurrency: Concurrency) Error!void {
    var url = bb.Buf{};
    defer url.deinit();
    var body = bb.Buf{};
    defer body.deinit();
    stateUrl(&url, store, null);
    body.append("[{\"key\":");
    json.writeString(&body, key);
    body.append(",\"value\":");
    body.append(value); // JSON text, stored by Dapr as it is
    if (etag.len > 0) {
        body.append(",\"etag\":");
        json.writeString(&body, etag);
    }
    body.append(if (concurrency == .first_write) ",\"options\":{\"concurrency\":\"first-write\"}}]" else ",\"options\":{\"concurrency\":\"last-write\"}}]");
    var r = try send("POST", url.items(), "content-type: application/json\n", body.items());
    defer r.deinit();
    if (r.status != 204 and r.status != 200) return unexpected(r.status);
}

pub fn stateDelete(store: []const u8, key: []const u8, etag: []const u8, concurrency: Concurrency) Error!void {
    var url = bb.Buf{};
    defer url.deinit();
    var headers = bb.Buf{};
    defer headers.deinit();
    stateUrl(&url, store, key);
    url.append(if (concurrency == .first_write) "?concurrency=first-write" else "?concurrency=last-write");
    if (etag.len > 0) {
        headers.append("if-match: ");
        headers.append(etag);
        headers.push('\n');
    }
    var r = try send("DELETE", url.items(), headers.items(), "");
    defer r.deinit();
    if (r.status != 204 and r.status != 200) return unexpected(r.status);
}

pub fn publish(pubsub: []const u8, topic: []const u8, data: []const u8, content_type: []const u8) Error!void {
    var url = bb.Buf{};
    defer url.deinit();
    var headers = bb.Buf{};
    defer headers.deinit();
    url.append("/v1.0/publish/");
    appendSegment(&url, pubsub);
    url.push('/');
    appendSegment(&url, topic);
    headers.append("content-type: ");
    headers.append(if (content_type.len > 0) content_type else "application/json");
    headers.push('\n');
    var r = try send("POST", url.items(), headers.items(), data);
    defer r.deinit();
    if (r.status != 204 and r.status != 200) return fail(bb.unavailable);
}

pub fn invokeBinding(name: []const u8, operation: []const u8, data: []const u8, response: *bb.Buf) Error!void {
    var url = bb.Buf{};
    defer url.deinit();
    var body = bb.Buf{};
    defer body.deinit();
    url.append("/v1.0/bindings/");
    appendSegment(&url, name);
    body.append("{\"operation\":");
    json.writeString(&body, operation);
    body.append(",\"data\":");
    json.writeString(&body, data);
    body.push('}');
    var r = try send("POST", url.items(), "content-type: application/json\n", body.items());
    defer r.deinit();
    if (r.status != 200 and r.status != 204) return fail(bb.unavailable);
    response.append(r.body);
}

/// The HTTP API has no log call: dropped.
pub fn log(level: LogLevel, message: []const u8) void {
    _ = level;
    _ = message;
}
