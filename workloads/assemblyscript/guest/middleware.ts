// Entry of the middleware flavour: an http-wasm guest (http-wasm-abi, module
// `http_handler`) for daprd's middleware.http.wasm in an app HTTP pipeline.
//
// handle_request reads the whole request body and runs the workload on it.
// Success: the body is replaced with the response, the request header
// `x-blueprint-workload: <workload>` is set, and the request continues to
// the app. Guest error: the middleware answers itself with status 422 and
// the message as a text/plain body; the app is not called.
//
// Built without --exportStart: the host instantiates with the start section,
// which registers the handler, and reuses the instance across requests.

import { Buf, Status, runHandler, workloadName } from "./bb";

@external("http_handler", "read_body")
declare function read_body(kind: u32, buf: usize, limit: u32): u64;
@external("http_handler", "write_body")
declare function write_body(kind: u32, buf: usize, len: u32): void;
@external("http_handler", "set_header_value")
declare function set_header_value(kind: u32, name: usize, nameLen: u32, value: usize, valueLen: u32): void;
@external("http_handler", "set_status_code")
declare function set_status_code(status: u32): void;

const BODY_REQUEST: u32 = 0;
const BODY_RESPONSE: u32 = 1;
const HEADER_REQUEST: u32 = 0;
const HEADER_RESPONSE: u32 = 1;
const READ_CHUNK: i32 = 16384;

function setHeader(kind: u32, name: string, value: string): void {
  const n = String.UTF8.encode(name);
  const v = String.UTF8.encode(value);
  set_header_value(kind, changetype<usize>(n), n.byteLength, changetype<usize>(v), v.byteLength);
}

export function handle_request(): u64 {
  const body = new Buf();
  while (true) {
    body.reserve(READ_CHUNK);
    const eofLen = read_body(BODY_REQUEST, body.ptr + <usize>body.len, READ_CHUNK);
    body.len += <i32>(<u32>eofLen);
    if (eofLen >> 32 != 0) break;
  }
  const out = new Buf();
  if (runHandler(body.view(), out) == Status.Ok) {
    write_body(BODY_REQUEST, out.ptr, out.len);
    setHeader(HEADER_REQUEST, "x-blueprint-workload", workloadName());
    return 1;
  }
  setHeader(HEADER_RESPONSE, "content-type", "text/plain; charset=utf-8");
  set_status_code(422);
  write_body(BODY_RESPONSE, out.ptr, out.len);
  return 0; // answered here: the app is not called
}

/** Called after the app answered (next = 1); nothing to do. */
export function handle_response(reqCtx: u32, isError: u32): void {}
