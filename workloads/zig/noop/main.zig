//! noop (workloads/ABI.md): returns its input unchanged. It touches no Dapr
//! API, so it measures the fixed cost of one call. Like the Rust and Go noop
//! it copies the request, so every language does the same work per byte.

/// The workload's name (the middleware reports it in a request header).
pub const name = "noop";

const bb = @import("bb");

pub fn handle(input: []const u8, out: *bb.Buf) bb.Status {
    out.append(input);
    return .ok;
}
