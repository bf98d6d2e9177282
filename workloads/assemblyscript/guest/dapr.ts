// The Dapr building blocks over the `dapr` import module (embedded flavour).
// Imports that produce a result leave it in the host's result slot and
// return its size; take() copies it out with dapr.take_result.
//
// A call that fails returns false or null and leaves the ABI's code in
// lastError (for appendError); stateGet returns null with lastError ==
// NOT_FOUND for a missing key.

import { Buf, MALFORMED, NOT_FOUND, utf8Valid } from "./bb";

@external("dapr", "state_get")
declare function state_get(store: usize, storeLen: i32, key: usize, keyLen: i32): i64;
@external("dapr", "state_set")
declare function state_set(store: usize, storeLen: i32, key: usize, keyLen: i32, value: usize, valueLen: i32, etag: usize, etagLen: i32, concurrency: i32): i64;
@external("dapr", "state_delete")
declare function state_delete(store: usize, storeLen: i32, key: usize, keyLen: i32, etag: usize, etagLen: i32, concurrency: i32): i64;
@external("dapr", "publish")
declare function publish_(pubsub: usize, pubsubLen: i32, topic: usize, topicLen: i32, data: usize, dataLen: i32, contentType: usize, contentTypeLen: i32): i64;
@external("dapr", "invoke_binding")
declare function invoke_binding(name: usize, nameLen: i32, operation: usize, operationLen: i32, data: usize, dataLen: i32): i64;
@external("dapr", "log")
declare function log_(level: i32, message: usize, messageLen: i32): void;
@external("dapr", "take_result")
declare function take_result(buf: usize, bufLen: i32): i64;

/** The ABI code of the last failed call. */
export let lastError: i64 = 0;

/** Dapr's state concurrency option; the values are the ABI's. */
export enum Concurrency {
  LastWrite = 0,
  FirstWrite = 1,
}

/** Log severities; the values are the ABI's. */
export enum LogLevel {
  Error = 0,
  Warn = 1,
  Info = 2,
  Debug = 3,
}

/** A stored value and the etag of its version (empty when the store keeps none). */
export class StateEntry {
  constructor(public etag: Uint8Array, public value: Uint8Array) {}
}

function ok(ret: i64): bool {
  if (ret < 0) {
    lastError = ret;
    return false;
  }
  return true;
}

/** Copies the result slot (size bytes, as the import said) out. */
function take(size: i64): Uint8Array | null {
  if (size > 0x3fffffff) {
    lastError = MALFORMED; // more than any buffer here can hold: a host bug
    return null;
  }
  const buf = new Uint8Array(<i32>size);
  const copied = take_result(buf.dataStart, buf.length);
  if (!ok(copied)) return null;
  return copied < size ? buf.subarray(0, <i32>copied) : buf;
}

export function stateGet(store: Uint8Array, key: Uint8Array): StateEntry | null {
  const size = state_get(store.dataStart, store.length, key.dataStart, key.length);
  if (!ok(size)) return null;
  const raw = take(size);
  if (raw == null) return null;
  // etag_len: u32 LE, the etag, then the value
  if (raw.length < 4) return malformed();
  const etagLen = load<u32>(raw.dataStart);
  if (<u32>(raw.length - 4) < etagLen) return malformed();
  const etag = raw.subarray(4, 4 + <i32>etagLen);
  if (!utf8Valid(etag)) return malformed();
  return new StateEntry(etag, raw.subarray(4 + <i32>etagLen));
}

function malformed(): StateEntry | null {
  lastError = MALFORMED;
  return null;
}

/** Whether stateGet's null meant "no value" rather than an error. */
export function wasNotFound(): bool {
  return lastError == NOT_FOUND;
}

/** An empty etag means none. */
export function stateSet(store: Uint8Array, key: Uint8Array, value: Uint8Array, etag: Uint8Array, concurrency: Concurrency): bool {
  return ok(state_set(store.dataStart, store.length, key.dataStart, key.length, value.dataStart, value.length, etag.dataStart, etag.length, concurrency));
}

export function stateDelete(store: Uint8Array, key: Uint8Array, etag: Uint8Array, concurrency: Concurrency): bool {
  return ok(state_delete(store.dataStart, store.length, key.dataStart, key.length, etag.dataStart, etag.length, concurrency));
}

/** An empty content type means application/json. */
export function publish(pubsub: Uint8Array, topic: Uint8Array, data: Uint8Array, contentType: Uint8Array): bool {
  return ok(publish_(pubsub.dataStart, pubsub.length, topic.dataStart, topic.length, data.dataStart, data.length, contentType.dataStart, contentType.length));
}

/** The binding's response data, appended to response. */
export function invokeBinding(name: Uint8Array, operation: Uint8Array, data: Uint8Array, response: Buf): bool {
  const size = invoke_binding(name.dataStart, name.length, operation.dataStart, operation.length, data.dataStart, data.length);
  if (!ok(size)) return false;
  const raw = take(size);
  if (raw == null) return false;
  response.append(raw);
  return true;
}

export function log(level: LogLevel, message: Uint8Array): void {
  log_(level, message.dataStart, message.length);
}
