// AssemblyScript side of blueprint-bench's guest ABI v1 (workloads/ABI.md is
// normative; this library only implements it): the byte buffer a workload
// writes its response into, UTF-8 checks, the error texts shared with the
// other languages, and the one handler the module serves. The exports live
// in the flavour entries (embedded.ts, command.ts), the Dapr calls in dapr.ts.
//
// A workload is an entry file that calls `serve(name, handle)` at top level with
// `function handle(input: Uint8Array, out: Buf): Status`.

/** The ABI version this library implements; bb_abi_version returns it. */
export const ABI_VERSION: i32 = 1;

/** The workload's outcome: Ok with the response in `out`, or Err with a
 * UTF-8 message in `out` (a guest error, HTTP 422). */
export enum Status {
  Ok = 0,
  Err = 1,
}

export type Handler = (input: Uint8Array, out: Buf) => Status;

function unset(input: Uint8Array, out: Buf): Status {
  return out.fail("no workload called serve()");
}

let handler: Handler = unset;
let name = "";

/** Registers the module's workload and its name (which the middleware
 * reports in a request header); call it once, at top level. */
export function serve(workload: string, h: Handler): void {
  name = workload;
  handler = h;
}

/** The registered workload's name. */
export function workloadName(): string {
  return name;
}

/** Runs the registered workload. */
export function runHandler(input: Uint8Array, out: Buf): Status {
  return handler(input, out);
}

/** A growable byte buffer over one ArrayBuffer (replaced when it grows). */
export class Buf {
  buffer: ArrayBuffer = new ArrayBuffer(64);
  len: i32 = 0;

  /** Where the bytes start in linear memory. */
  @inline get ptr(): usize {
    return changetype<usize>(this.buffer);
  }

  reserve(extra: i32): void {
    const cap = this.buffer.byteLength;
    if (cap - this.len >= extra) return;
    let next = cap * 2;
    if (next < this.len + extra) next = this.len + extra;
    const grown = new ArrayBuffer(next);
    memory.copy(changetype<usize>(grown), this.ptr, <usize>this.len);
    this.buffer = grown;
  }

  push(byte: u8): void {
    this.reserve(1);
    store<u8>(this.ptr + <usize>this.len, byte);
    this.len++;
  }

  appendRaw(src: usize, len: i32): void {
    this.reserve(len);
    memory.copy(this.ptr + <usize>this.len, src, <usize>len);
    this.len += len;
  }

  append(bytes: Uint8Array): void {
    this.appendRaw(bytes.dataStart, bytes.length);
  }

  /** A string as UTF-8. */
  appendString(text: string): void {
    const encoded = String.UTF8.encode(text);
    this.appendRaw(changetype<usize>(encoded), encoded.byteLength);
  }

  /** An ASCII string (a literal) byte for byte, without encoding it first. */
  appendAscii(text: string): void {
    const n = text.length;
    this.reserve(n);
    const at = this.ptr + <usize>this.len;
    for (let i = 0; i < n; i++) store<u8>(at + <usize>i, <u8>text.charCodeAt(i));
    this.len += n;
  }

  /** Decimal text of an unsigned integer. */
  appendU64(value: u64): void {
    let digits = 1;
    for (let v = value; v >= 10; v /= 10) digits++;
    this.reserve(digits);
    let at = this.ptr + <usize>(this.len + digits);
    let v = value;
    do {
      at--;
      store<u8>(at, <u8>(0x30 + (v % 10)));
      v /= 10;
    } while (v != 0);
    this.len += digits;
  }

  /** Decimal text of a signed integer. */
  appendI64(value: i64): void {
    if (value < 0) {
      this.push(0x2d);
      this.appendU64(<u64>(-(value + 1)) + 1);
    } else {
      this.appendU64(<u64>value);
    }
  }

  /** Lower-case hex of len bytes at src. */
  appendHex(src: usize, len: i32): void {
    this.reserve(len * 2);
    let at = this.ptr + <usize>this.len;
    for (let i = 0; i < len; i++) {
      const b = load<u8>(src + <usize>i);
      store<u8>(at, hexDigit(b >> 4));
      store<u8>(at + 1, hexDigit(b & 15));
      at += 2;
    }
    this.len += len * 2;
  }

  /** The bytes so far, as a view (valid until the buffer grows). */
  view(): Uint8Array {
    return Uint8Array.wrap(this.buffer, 0, this.len);
  }

  clear(): void {
    this.len = 0;
  }

  /** Replaces the contents with message and returns Status.Err. */
  fail(message: string): Status {
    this.clear();
    this.appendString(message);
    return Status.Err;
  }
}

@inline function hexDigit(nibble: u8): u8 {
  return nibble < 10 ? 0x30 + nibble : 0x57 + nibble;
}

/** UTF-8 bytes of a string literal. */
export function bytes(text: string): Uint8Array {
  return Uint8Array.wrap(String.UTF8.encode(text));
}

/** Whether bytes are well-formed UTF-8: no overlongs, no surrogates, nothing
 * above U+10FFFF (the same rules as Rust's str::from_utf8). */
export function utf8Valid(s: Uint8Array): bool {
  const len = s.length;
  let i = 0;
  while (i < len) {
    const c = unchecked(s[i]);
    if (c < 0x80) {
      i++;
      continue;
    }
    let need = 0;
    let lo: u8 = 0x80;
    let hi: u8 = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) {
      need = 1;
    } else if (c >= 0xe0 && c <= 0xef) {
      need = 2;
      if (c == 0xe0) lo = 0xa0;
      if (c == 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      need = 3;
      if (c == 0xf0) lo = 0x90;
      if (c == 0xf4) hi = 0x8f;
    } else {
      return false;
    }
    if (len - i <= need) return false;
    const second = unchecked(s[i + 1]);
    if (second < lo || second > hi) return false;
    for (let k = 2; k <= need; k++) {
      if ((unchecked(s[i + k]) & 0xc0) != 0x80) return false;
    }
    i += need + 1;
  }
  return true;
}

// The ABI's error codes, plus MALFORMED for a host result that breaks the
// ABI's layout.
export const NOT_FOUND: i64 = -1;
export const ETAG_MISMATCH: i64 = -2;
export const INVALID_ARGUMENT: i64 = -3;
export const UNAVAILABLE: i64 = -4;
export const NO_RESULT: i64 = -5;
export const BUFFER_TOO_SMALL: i64 = -6;
export const NOT_PERMITTED: i64 = -7;
export const MALFORMED: i64 = -1000;

/** Appends an error code's text, in the Rust and Go libraries' words. */
export function appendError(out: Buf, code: i64): void {
  if (code == NOT_FOUND) out.appendString("not found");
  else if (code == ETAG_MISMATCH) out.appendString("etag mismatch");
  else if (code == INVALID_ARGUMENT) out.appendString("invalid argument");
  else if (code == UNAVAILABLE) out.appendString("unavailable");
  else if (code == NO_RESULT) out.appendString("no result");
  else if (code == BUFFER_TOO_SMALL) out.appendString("buffer too small");
  else if (code == NOT_PERMITTED) out.appendString("not permitted");
  else if (code == MALFORMED) out.appendString("malformed result");
  else {
    out.appendString("unknown error code ");
    out.appendI64(code);
  }
}

/** The module's `abort` (passed to asc as --use abort=guest/bb/trap): an
 * assertion, a bounds check or running out of memory is a guest fault, so
 * it traps instead of importing env.abort, which the ABI does not allow. */
export function trap(message: string | null, fileName: string | null, line: u32, column: u32): void {
  unreachable();
}
