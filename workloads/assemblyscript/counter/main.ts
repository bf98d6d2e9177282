// counter (workloads/ABI.md): increments the decimal counter stored under
// the request's key in statestore and returns the new value.
//
// The write uses first-write concurrency with the etag it read (none for a
// new key), so concurrent increments never lose an update: the loser gets
// ETAG_MISMATCH, reads again and retries.

import { Buf, ETAG_MISMATCH, Status, appendError, bytes, serve, utf8Valid } from "../guest/bb";
import { Concurrency, lastError, stateGet, stateSet, wasNotFound } from "../guest/dapr";

const STORE = bytes("statestore");
const NO_ETAG = new Uint8Array(0);
const MAX_KEY_LEN = 128;
const MAX_ATTEMPTS = 64;

function handle(input: Uint8Array, out: Buf): Status {
  if (input.length == 0) return out.fail("key must not be empty");
  if (input.length > MAX_KEY_LEN) return out.fail("key must be at most 128 bytes");
  if (!utf8Valid(input)) return out.fail("key must be UTF-8");

  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const entry = stateGet(STORE, input);
    let current: u64 = 0;
    let etag = NO_ETAG;
    if (entry != null) {
      if (!parseCounter(entry.value)) return out.fail("stored value is not a counter");
      current = parsed;
      etag = entry.etag;
    } else if (!wasNotFound()) {
      return daprError(out);
    }
    if (current == u64.MAX_VALUE) return out.fail("counter overflow");
    out.clear();
    out.appendU64(current + 1);
    if (stateSet(STORE, input, out.view(), etag, Concurrency.FirstWrite)) return Status.Ok;
    if (lastError != ETAG_MISMATCH) return daprError(out);
  }
  return out.fail("too much contention");
}

/** parseCounter's result (AssemblyScript has no tuples). */
let parsed: u64 = 0;

/** Strict ASCII digits only (leading zeros allowed), as in every language. */
function parseCounter(value: Uint8Array): bool {
  if (value.length == 0) return false;
  let acc: u64 = 0;
  for (let i = 0; i < value.length; i++) {
    const b = unchecked(value[i]);
    if (b < 0x30 || b > 0x39) return false;
    const digit = <u64>(b - 0x30);
    if (acc > u64.MAX_VALUE / 10 || acc * 10 > u64.MAX_VALUE - digit) return false;
    acc = acc * 10 + digit;
  }
  parsed = acc;
  return true;
}

/** "dapr: <error>", worded as the Rust counter does. */
function daprError(out: Buf): Status {
  out.clear();
  out.appendString("dapr: ");
  appendError(out, lastError);
  return Status.Err;
}

serve("counter", handle);
