// compute (workloads/ABI.md): SHA-256 (FIPS 180-4, implemented here, as in
// every language) of `data`, then iterated over the 32-byte digest,
// `iterations` times in all. CPU-bound and pure.

import { Buf, Status, serve } from "../guest/bb";
import { Kind, parseRequest } from "../guest/json";

// The round constants of FIPS 180-4 (4.2.2): the first 32 bits of the
// fractional parts of the cube roots of the first 64 primes, computed from
// that definition when the instance starts.
function roundConstants(): StaticArray<u32> {
  const k = new StaticArray<u32>(64);
  let i = 0;
  for (let n = 2; i < 64; n++) {
    let prime = true;
    for (let d = 2; prime && d * d <= n; d++) prime = n % d != 0;
    if (!prime) continue;
    const root = Math.cbrt(<f64>n);
    unchecked((k[i++] = <u32>((root - Math.floor(root)) * 4294967296.0)));
  }
  return k;
}
const K = roundConstants();
const H0: StaticArray<u32> = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];

// Scratch space, allocated once per instance: the hash state, the message
// schedule, the padded tail and the digest.
const h = new StaticArray<u32>(8);
const w = new StaticArray<u32>(64);
const tail = new StaticArray<u8>(128);
const digest = new StaticArray<u8>(32);

function compress(block: usize): void {
  for (let i = 0; i < 16; i++) unchecked((w[i] = bswap<u32>(load<u32>(block + (<usize>i << 2)))));
  for (let i = 16; i < 64; i++) {
    const w15 = unchecked(w[i - 15]);
    const w2 = unchecked(w[i - 2]);
    const s0 = rotr<u32>(w15, 7) ^ rotr<u32>(w15, 18) ^ (w15 >>> 3);
    const s1 = rotr<u32>(w2, 17) ^ rotr<u32>(w2, 19) ^ (w2 >>> 10);
    unchecked((w[i] = unchecked(w[i - 16]) + s0 + unchecked(w[i - 7]) + s1));
  }
  let a = unchecked(h[0]), b = unchecked(h[1]), c = unchecked(h[2]), d = unchecked(h[3]);
  let e = unchecked(h[4]), f = unchecked(h[5]), g = unchecked(h[6]), hh = unchecked(h[7]);
  for (let i = 0; i < 64; i++) {
    const t1 = hh + (rotr<u32>(e, 6) ^ rotr<u32>(e, 11) ^ rotr<u32>(e, 25)) + ((e & f) ^ (~e & g)) + unchecked(K[i]) + unchecked(w[i]);
    const t2 = (rotr<u32>(a, 2) ^ rotr<u32>(a, 13) ^ rotr<u32>(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
    hh = g;
    g = f;
    f = e;
    e = d + t1;
    d = c;
    c = b;
    b = a;
    a = t1 + t2;
  }
  unchecked((h[0] += a));
  unchecked((h[1] += b));
  unchecked((h[2] += c));
  unchecked((h[3] += d));
  unchecked((h[4] += e));
  unchecked((h[5] += f));
  unchecked((h[6] += g));
  unchecked((h[7] += hh));
}

/** SHA-256 of len bytes at data into `digest`. */
function sha256(data: usize, len: i32): void {
  for (let i = 0; i < 8; i++) unchecked((h[i] = H0[i]));
  const full = (len >> 6) << 6;
  for (let i = 0; i < full; i += 64) compress(data + <usize>i);
  // The tail, 0x80, zeros, and the bit length: one or two blocks.
  const t = changetype<usize>(tail);
  memory.fill(t, 0, 128);
  const rest = len - full;
  memory.copy(t, data + <usize>full, <usize>rest);
  store<u8>(t + <usize>rest, 0x80);
  const blocks = rest < 56 ? 1 : 2;
  store<u64>(t + <usize>(blocks * 64 - 8), bswap<u64>(<u64>len * 8));
  for (let i = 0; i < blocks; i++) compress(t + <usize>(64 * i));
  const out = changetype<usize>(digest);
  for (let i = 0; i < 8; i++) store<u32>(out + (<usize>i << 2), bswap<u32>(unchecked(h[i])));
}

const FIELDS = ["data", "iterations"];

function handle(input: Uint8Array, out: Buf): Status {
  const obj = parseRequest(input, FIELDS, out);
  if (obj == null) return Status.Err;
  const data = obj.get("data");
  if (data == null) return out.fail("data is required");
  if (data.kind != Kind.String) return out.fail("data must be a string");
  const iterations = obj.get("iterations");
  if (iterations == null) return out.fail("iterations is required");
  if (iterations.kind != Kind.Integer || iterations.integer < 1 || iterations.integer > 100000) {
    return out.fail("iterations must be an integer from 1 to 100000");
  }
  sha256(data.string.dataStart, data.string.length);
  const d = changetype<usize>(digest);
  for (let i: i64 = 1; i < iterations.integer; i++) sha256(d, 32);

  out.appendAscii('{"iterations":');
  out.appendI64(iterations.integer);
  out.appendAscii(',"sha256":"');
  out.appendHex(d, 32);
  out.appendAscii('"}');
  return Status.Ok;
}

serve("compute", handle);
