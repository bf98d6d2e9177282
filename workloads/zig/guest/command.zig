//! Root of the command flavour: a WASI command for daprd's bindings.wasm,
//! which runs the module once per `execute` with the request data as stdin
//! and returns stdout. The workload's response goes to stdout with exit
//! code 0; a guest error's message goes to stderr with exit code 1 (the
//! binding reports the non-zero exit as the invocation's error).

const std = @import("std");
const bb = @import("bb");
const workload = @import("workload");

pub const panic = bb.panic;

fn writeAll(fd: std.posix.fd_t, bytes: []const u8) bool {
    var rest = bytes;
    while (rest.len > 0) {
        const n = std.posix.write(fd, rest) catch return false;
        if (n == 0) return false;
        rest = rest[n..];
    }
    return true;
}

pub fn main() u8 {
    var input = bb.Buf{};
    while (true) {
        input.reserve(64 * 1024);
        const n = std.posix.read(0, input.data[input.len..]) catch {
            _ = writeAll(2, "reading stdin failed");
            return 2;
        };
        if (n == 0) break;
        input.len += n;
    }
    var out = bb.Buf{};
    const status = workload.handle(input.items(), &out);
    if (!writeAll(if (status == .ok) 1 else 2, out.items())) return 2;
    return if (status == .ok) 0 else 1;
}
