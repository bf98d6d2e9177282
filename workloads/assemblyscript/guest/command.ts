// Entry of the command flavour: a WASI command for daprd's bindings.wasm,
// which runs the module once per `execute` with the request data as stdin
// and returns stdout. The workload's response goes to stdout with exit code
// 0; a guest error's message goes to stderr with exit code 1 (the binding
// reports the non-zero exit as the invocation's error).
//
// Built without --exportStart, so the top-level code (the handler's
// registration) runs as the module's start function, before _start.

import { Buf, Status, runHandler } from "./bb";

@external("wasi_snapshot_preview1", "fd_read")
declare function fd_read(fd: i32, iovs: usize, iovsLen: i32, nread: usize): i32;
@external("wasi_snapshot_preview1", "fd_write")
declare function fd_write(fd: i32, iovs: usize, iovsLen: i32, nwritten: usize): i32;
@external("wasi_snapshot_preview1", "proc_exit")
declare function proc_exit(code: i32): void;

const ERRNO_INTR = 27;

/** One iovec and the count the call fills in. */
const scratch = new StaticArray<u32>(3);

function writeAll(fd: i32, ptr: usize, len: i32): bool {
  const io = changetype<usize>(scratch);
  while (len > 0) {
    store<u32>(io, <u32>ptr);
    store<u32>(io + 4, <u32>len);
    const errno = fd_write(fd, io, 1, io + 8);
    if (errno == ERRNO_INTR) continue;
    const n = <i32>load<u32>(io + 8);
    if (errno != 0 || n == 0) return false;
    ptr += <usize>n;
    len -= n;
  }
  return true;
}

export function _start(): void {
  const input = new Buf();
  const io = changetype<usize>(scratch);
  while (true) {
    input.reserve(64 * 1024);
    store<u32>(io, <u32>(input.ptr + <usize>input.len));
    store<u32>(io + 4, <u32>(input.buffer.byteLength - input.len));
    const errno = fd_read(0, io, 1, io + 8);
    if (errno == ERRNO_INTR) continue;
    if (errno != 0) {
      const message = String.UTF8.encode("reading stdin failed");
      writeAll(2, changetype<usize>(message), message.byteLength);
      proc_exit(2);
      return;
    }
    const n = <i32>load<u32>(io + 8);
    if (n == 0) break;
    input.len += n;
  }
  const out = new Buf();
  const ok = runHandler(input.view(), out) == Status.Ok;
  if (!writeAll(ok ? 1 : 2, out.ptr, out.len)) proc_exit(2);
  proc_exit(ok ? 0 : 1);
}
