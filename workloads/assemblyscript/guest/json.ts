// The JSON subset of the JSON workloads (workloads/ABI.md, "The JSON subset
// the JSON workloads read and write"): one flat object whose members are
// strings, signed 64-bit integers, true, false or null; and the one compact
// form every language writes.

import { Buf, Status, utf8Valid } from "./bb";

export enum Kind {
  String,
  Integer,
  True,
  False,
  Null,
}

export class Value {
  kind: Kind = Kind.Null;
  /** Kind.String: the unescaped UTF-8 bytes. */
  string: Uint8Array = EMPTY;
  /** Kind.Integer */
  integer: i64 = 0;
}

export class Member {
  constructor(public key: Uint8Array, public value: Value) {}
}

const EMPTY = new Uint8Array(0);

/** Whether bytes equal an ASCII string literal (no encoding, no allocation). */
export function eqAscii(bytes: Uint8Array, text: string): bool {
  const len = bytes.length;
  if (len != text.length) return false;
  for (let i = 0; i < len; i++) {
    if (<i32>unchecked(bytes[i]) != text.charCodeAt(i)) return false;
  }
  return true;
}

export function eqBytes(a: Uint8Array, b: Uint8Array): bool {
  const len = a.length;
  if (len != b.length) return false;
  return memory.compare(a.dataStart, b.dataStart, <usize>len) == 0;
}

/** A parsed object: members in input order. */
export class JsonObject {
  members: Member[] = [];

  /** The member called key (an ASCII literal), or null. */
  get(key: string): Value | null {
    const members = this.members;
    for (let i = 0; i < members.length; i++) {
      const m = unchecked(members[i]);
      if (eqAscii(m.key, key)) return m.value;
    }
    return null;
  }

  /** The first key that is not one of allowed, or null. */
  unknown(allowed: string[]): Uint8Array | null {
    const members = this.members;
    for (let i = 0; i < members.length; i++) {
      const key = unchecked(members[i]).key;
      let known = false;
      for (let k = 0; k < allowed.length && !known; k++) known = eqAscii(key, unchecked(allowed[k]));
      if (!known) return key;
    }
    return null;
  }
}

/** Parses one object; null when the input is outside the subset. */
export function parse(input: Uint8Array): JsonObject | null {
  if (!utf8Valid(input)) return null;
  const p = new Parser(input);
  const o = new JsonObject();
  p.skipWs();
  const ok = p.eat(0x7b) && p.members(o);
  p.skipWs();
  return ok && p.at == p.end ? o : null;
}

class Parser {
  at: usize;
  end: usize;
  /** Unescaped strings go here: never longer than their source, so a buffer
   * of the input's size is enough. */
  strings: ArrayBuffer;
  out: i32 = 0;

  constructor(input: Uint8Array) {
    this.at = input.dataStart;
    this.end = input.dataStart + <usize>input.length;
    this.strings = new ArrayBuffer(input.length);
  }

  @inline peek(): i32 {
    return <i32>load<u8>(this.at);
  }

  skipWs(): void {
    while (this.at < this.end) {
      const c = this.peek();
      if (c != 0x20 && c != 0x09 && c != 0x0a && c != 0x0d) return;
      this.at++;
    }
  }

  eat(c: i32): bool {
    if (this.at < this.end && this.peek() == c) {
      this.at++;
      return true;
    }
    return false;
  }

  literal(word: string): bool {
    const n = <usize>word.length;
    if (this.end - this.at < n) return false;
    for (let i: usize = 0; i < n; i++) {
      if (<i32>load<u8>(this.at + i) != word.charCodeAt(<i32>i)) return false;
    }
    this.at += n;
    return true;
  }

  /** Four hex digits, or -1. */
  hex4(): i32 {
    if (this.end - this.at < 4) return -1;
    let v = 0;
    for (let i = 0; i < 4; i++) {
      const c = this.peek();
      this.at++;
      let d = -1;
      if (c >= 0x30 && c <= 0x39) d = c - 0x30;
      else if (c >= 0x61 && c <= 0x66) d = c - 0x61 + 10;
      else if (c >= 0x41 && c <= 0x46) d = c - 0x41 + 10;
      if (d < 0) return -1;
      v = v * 16 + d;
    }
    return v;
  }

  @inline put(c: i32): void {
    store<u8>(changetype<usize>(this.strings) + <usize>this.out, <u8>c);
    this.out++;
  }

  putUtf8(cp: i32): void {
    if (cp < 0x80) {
      this.put(cp);
    } else if (cp < 0x800) {
      this.put(0xc0 | (cp >> 6));
      this.put(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
      this.put(0xe0 | (cp >> 12));
      this.put(0x80 | ((cp >> 6) & 0x3f));
      this.put(0x80 | (cp & 0x3f));
    } else {
      this.put(0xf0 | (cp >> 18));
      this.put(0x80 | ((cp >> 12) & 0x3f));
      this.put(0x80 | ((cp >> 6) & 0x3f));
      this.put(0x80 | (cp & 0x3f));
    }
  }

  /** After the opening quote; null when malformed. The input is valid UTF-8
   * already, so raw bytes are copied as they are. */
  string(): Uint8Array | null {
    const start = this.out;
    while (true) {
      if (this.at == this.end) return null;
      let c = this.peek();
      this.at++;
      if (c == 0x22) break;
      if (c < 0x20) return null;
      if (c != 0x5c) {
        this.put(c);
        continue;
      }
      if (this.at == this.end) return null;
      c = this.peek();
      this.at++;
      if (c == 0x22 || c == 0x5c || c == 0x2f) this.put(c);
      else if (c == 0x62) this.put(0x08);
      else if (c == 0x66) this.put(0x0c);
      else if (c == 0x6e) this.put(0x0a);
      else if (c == 0x72) this.put(0x0d);
      else if (c == 0x74) this.put(0x09);
      else if (c == 0x75) {
        let cp = this.hex4();
        if (cp < 0 || (cp >= 0xdc00 && cp <= 0xdfff)) return null;
        if (cp >= 0xd800 && cp <= 0xdbff) {
          if (!this.literal("\\u")) return null;
          const low = this.hex4();
          if (low < 0xdc00 || low > 0xdfff) return null;
          cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
        }
        this.putUtf8(cp);
      } else return null;
    }
    return Uint8Array.wrap(this.strings, start, this.out - start);
  }

  /** -?(0|[1-9][0-9]*) within the signed 64-bit range into v; false if not. */
  integer(v: Value): bool {
    const negative = this.eat(0x2d);
    if (this.at == this.end) return false;
    let c = this.peek();
    if (c < 0x30 || c > 0x39) return false;
    const limit: u64 = negative ? 0x8000000000000000 : 0x7fffffffffffffff;
    let acc: u64 = 0;
    if (c == 0x30) {
      this.at++;
    } else {
      while (this.at < this.end) {
        c = this.peek();
        if (c < 0x30 || c > 0x39) break;
        const digit = <u64>(c - 0x30);
        if (acc > (limit - digit) / 10) return false;
        acc = acc * 10 + digit;
        this.at++;
      }
    }
    v.kind = Kind.Integer;
    v.integer = negative ? <i64>(0 - acc) : <i64>acc;
    return true;
  }

  value(v: Value): bool {
    if (this.at == this.end) return false;
    const c = this.peek();
    if (c == 0x22) {
      this.at++;
      const s = this.string();
      if (s == null) return false;
      v.kind = Kind.String;
      v.string = s;
      return true;
    }
    if (c == 0x74) {
      v.kind = Kind.True;
      return this.literal("true");
    }
    if (c == 0x66) {
      v.kind = Kind.False;
      return this.literal("false");
    }
    if (c == 0x6e) {
      v.kind = Kind.Null;
      return this.literal("null");
    }
    return this.integer(v);
  }

  members(o: JsonObject): bool {
    this.skipWs();
    if (this.eat(0x7d)) return true;
    while (true) {
      this.skipWs();
      if (!this.eat(0x22)) return false;
      const key = this.string();
      if (key == null) return false;
      this.skipWs();
      if (!this.eat(0x3a)) return false;
      this.skipWs();
      const v = new Value();
      if (!this.value(v)) return false;
      // keys are unique after unescaping
      for (let i = 0; i < o.members.length; i++) {
        if (eqBytes(unchecked(o.members[i]).key, key)) return false;
      }
      o.members.push(new Member(key, v));
      this.skipWs();
      if (this.eat(0x7d)) return true;
      if (!this.eat(0x2c)) return false;
    }
  }
}

/** Output form: `"` + text with `"` `\` and U+0000-U+001F escaped + `"`. */
export function writeString(out: Buf, text: Uint8Array): void {
  out.reserve(text.length + 2);
  out.push(0x22);
  for (let i = 0; i < text.length; i++) {
    const c = unchecked(text[i]);
    if (c == 0x22 || c == 0x5c) {
      out.push(0x5c);
      out.push(c);
    } else if (c < 0x20) {
      out.appendAscii("\\u00");
      out.push(hex(c >> 4));
      out.push(hex(c & 15));
    } else {
      out.push(c);
    }
  }
  out.push(0x22);
}

@inline function hex(nibble: u8): u8 {
  return nibble < 10 ? 0x30 + nibble : 0x57 + nibble;
}

/**
 * The request: an object of only the `allowed` fields. Null once the guest
 * error (invalid JSON, or the first unknown field) is in `out`.
 */
export function parseRequest(input: Uint8Array, allowed: string[], out: Buf): JsonObject | null {
  const obj = parse(input);
  if (obj == null) {
    out.fail("invalid JSON");
    return null;
  }
  const unknown = obj.unknown(allowed);
  if (unknown != null) {
    unknownField(out, unknown);
    return null;
  }
  return obj;
}

/** `unknown field "<key>"`, the key verbatim. */
export function unknownField(out: Buf, key: Uint8Array): Status {
  out.clear();
  out.appendAscii('unknown field "');
  out.append(key);
  out.push(0x22);
  return Status.Err;
}
