// aggregate (workloads/ABI.md): folds one event {key, amount} into the
// aggregate {count, max, min, sum} stored under key in statestore
// (first-write concurrency, retried on etag mismatch like counter), then
// publishes {key, count, max, min, sum} to pubsub/aggregates and returns the
// stored value.

import { Buf, ETAG_MISMATCH, Status, appendError, bytes, serve } from "../guest/bb";
import { Concurrency, lastError, publish, stateGet, stateSet, wasNotFound } from "../guest/dapr";
import { Kind, parse, parseRequest, writeString } from "../guest/json";

const STORE = bytes("statestore");
const PUBSUB = bytes("pubsub");
const TOPIC = bytes("aggregates");
const CONTENT_TYPE = bytes("application/json");
const NO_ETAG = new Uint8Array(0);
const MAX_KEY_LEN = 128;
const MAX_AMOUNT: i64 = 1000000000;
const MAX_ATTEMPTS = 64;
const FIELDS = ["key", "amount"];
const AGGREGATE_FIELDS = ["count", "max", "min", "sum"];

class Aggregate {
  constructor(public count: i64, public max: i64, public min: i64, public sum: i64) {}
}

/** Exactly the four integer members, in any order, count at least 1. */
function parseAggregate(stored: Uint8Array): Aggregate | null {
  const obj = parse(stored);
  if (obj == null || obj.members.length != 4 || obj.unknown(AGGREGATE_FIELDS) != null) return null;
  const count = obj.get("count");
  const max = obj.get("max");
  const min = obj.get("min");
  const sum = obj.get("sum");
  if (count == null || max == null || min == null || sum == null) return null;
  if (count.kind != Kind.Integer || max.kind != Kind.Integer || min.kind != Kind.Integer || sum.kind != Kind.Integer) return null;
  if (count.integer < 1) return null;
  return new Aggregate(count.integer, max.integer, min.integer, sum.integer);
}

function writeMembers(out: Buf, a: Aggregate): void {
  out.appendAscii('"count":');
  out.appendI64(a.count);
  out.appendAscii(',"max":');
  out.appendI64(a.max);
  out.appendAscii(',"min":');
  out.appendI64(a.min);
  out.appendAscii(',"sum":');
  out.appendI64(a.sum);
  out.push(0x7d);
}

function daprError(out: Buf): Status {
  out.clear();
  out.appendAscii("dapr: ");
  appendError(out, lastError);
  return Status.Err;
}

function fold(key: Uint8Array, amount: i64, out: Buf): Status {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const entry = stateGet(STORE, key);
    let a = new Aggregate(1, amount, amount, amount);
    let etag = NO_ETAG;
    if (entry != null) {
      const old = parseAggregate(entry.value);
      if (old == null) return out.fail("stored value is not an aggregate");
      const count = old.count + 1;
      const sum = old.sum + amount;
      // Signed overflow: the result's sign differs from both operands'.
      if (count < old.count || ((old.sum ^ sum) & (amount ^ sum)) < 0) return out.fail("aggregate overflow");
      a = new Aggregate(count, old.max > amount ? old.max : amount, old.min < amount ? old.min : amount, sum);
      etag = entry.etag;
    } else if (!wasNotFound()) {
      return daprError(out);
    }
    out.clear();
    out.push(0x7b);
    writeMembers(out, a);
    if (!stateSet(STORE, key, out.view(), etag, Concurrency.FirstWrite)) {
      if (lastError == ETAG_MISMATCH) continue;
      return daprError(out);
    }
    const event = new Buf();
    event.appendAscii('{"key":');
    writeString(event, key);
    event.push(0x2c);
    writeMembers(event, a);
    if (!publish(PUBSUB, TOPIC, event.view(), CONTENT_TYPE)) return daprError(out);
    return Status.Ok;
  }
  return out.fail("too much contention");
}

function handle(input: Uint8Array, out: Buf): Status {
  const obj = parseRequest(input, FIELDS, out);
  if (obj == null) return Status.Err;
  const key = obj.get("key");
  if (key == null) return out.fail("key is required");
  if (key.kind != Kind.String || key.string.length < 1 || key.string.length > MAX_KEY_LEN) {
    return out.fail("key must be a string of 1 to 128 bytes");
  }
  const amount = obj.get("amount");
  if (amount == null) return out.fail("amount is required");
  if (amount.kind != Kind.Integer || amount.integer < -MAX_AMOUNT || amount.integer > MAX_AMOUNT) {
    return out.fail("amount must be an integer from -1000000000 to 1000000000");
  }
  return fold(key.string, amount.integer, out);
}

serve("aggregate", handle);
