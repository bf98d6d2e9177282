// Entry of the embedded flavour: the ABI v1 exports around the workload the
// module's other entry registered with serve(). asc is given
// --exportStart _initialize, so the host runs the top-level code (and so the
// registration) as a WASI reactor's initialiser.

import { ABI_VERSION, Buf, Status, runHandler } from "./bb";

/** Largest response length the packed i64 can carry. */
const MAX_RESPONSE_LEN: i32 = 0x7fffffff;
const ERROR_FLAG: u64 = 0x80000000;
/** Largest ArrayBuffer the runtime hands out (BLOCK_MAXSIZE less a header). */
const MAX_ALLOC: i32 = (1 << 30) - 16;

/** Buffers handed out by bb_alloc and not yet passed to bb_handle; a global
 * keeps them alive for the collector. bb_handle empties it, which bounds it
 * on a reused instance. */
const arena = new Array<ArrayBuffer>();

/** The last response: the host reads it after bb_handle has returned. */
let response = new Buf();

export function bb_abi_version(): i32 {
  return ABI_VERSION;
}

export function bb_alloc(len: i32): i32 {
  if (len < 0 || len > MAX_ALLOC) return 0;
  const buffer = new ArrayBuffer(len);
  arena.push(buffer);
  return <i32>changetype<usize>(buffer);
}

export function bb_handle(ptr: i32, len: i32): i64 {
  // Looked up rather than trusted, so a wrong pointer is an error instead of
  // a wild read.
  let request: ArrayBuffer | null = null;
  for (let i = 0; i < arena.length; i++) {
    const buffer = unchecked(arena[i]);
    if (<i32>changetype<usize>(buffer) == ptr && len >= 0 && buffer.byteLength >= len) {
      request = buffer;
      break;
    }
  }
  arena.length = 0;
  response = new Buf();
  let status: Status;
  if (request != null) {
    status = runHandler(Uint8Array.wrap(request, 0, len), response);
  } else if (len == 0) {
    status = runHandler(new Uint8Array(0), response);
  } else {
    response.appendString("bb_handle(");
    response.appendI64(ptr);
    response.appendString(", ");
    response.appendI64(len);
    response.appendString("): the request is not in a buffer from bb_alloc");
    status = Status.Err;
  }
  if (response.len > MAX_RESPONSE_LEN) {
    status = response.fail("response exceeds the ABI limit of 2147483647 bytes");
  }
  const flag: u64 = status == Status.Err ? ERROR_FLAG : 0;
  return <i64>((<u64>response.ptr << 32) | <u64>response.len | flag);
}
