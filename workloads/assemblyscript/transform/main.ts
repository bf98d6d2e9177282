// transform (workloads/ABI.md): normalises a flat record. Keys become
// lower_snake_case, secrets are redacted, strings have their whitespace
// trimmed and collapsed, emails are lower-cased. Pure.

import { Buf, Status, serve } from "../guest/bb";
import { Kind, eqAscii, eqBytes, parse, writeString } from "../guest/json";

const REDACTED_KEYS = ["password", "secret", "token", "ssn", "card_number"];

@inline function isWs(c: u8): bool {
  return c == 0x20 || c == 0x09 || c == 0x0a || c == 0x0d;
}

/** Trimmed, inner whitespace runs as one space, for emails ASCII lower case. */
function writeCleanString(out: Buf, s: Uint8Array, lower: bool): void {
  const clean = new Buf();
  let pendingSpace = false;
  for (let i = 0; i < s.length; i++) {
    const c = unchecked(s[i]);
    if (isWs(c)) {
      pendingSpace = clean.len > 0;
      continue;
    }
    if (pendingSpace) {
      clean.push(0x20);
      pendingSpace = false;
    }
    clean.push(lower && c >= 0x41 && c <= 0x5a ? c + 32 : c);
  }
  writeString(out, clean.view());
}

function handle(input: Uint8Array, out: Buf): Status {
  const obj = parse(input);
  if (obj == null) return out.fail("invalid JSON");
  const members = obj.members;
  const keys = new Array<Uint8Array>(members.length);
  out.push(0x7b);
  for (let i = 0; i < members.length; i++) {
    const m = unchecked(members[i]);
    const raw = m.key;
    const key = new Uint8Array(raw.length);
    for (let k = 0; k < raw.length; k++) {
      const c = unchecked(raw[k]);
      unchecked((key[k] = c >= 0x41 && c <= 0x5a ? c + 32 : c == 0x2d || c == 0x20 ? 0x5f : c));
    }
    for (let j = 0; j < i; j++) {
      if (eqBytes(unchecked(keys[j]), key)) {
        out.clear();
        out.appendAscii('duplicate field "');
        out.append(key);
        out.appendAscii('" after key normalisation');
        return Status.Err;
      }
    }
    unchecked((keys[i] = key));
    if (i > 0) out.push(0x2c);
    writeString(out, key);
    out.push(0x3a);

    let redact = false;
    for (let r = 0; r < REDACTED_KEYS.length; r++) redact = redact || eqAscii(key, unchecked(REDACTED_KEYS[r]));
    const v = m.value;
    if (redact) out.appendAscii('"[redacted]"');
    else if (v.kind == Kind.String) writeCleanString(out, v.string, eqAscii(key, "email"));
    else if (v.kind == Kind.Integer) out.appendI64(v.integer);
    else out.appendAscii(v.kind == Kind.True ? "true" : v.kind == Kind.False ? "false" : "null");
  }
  out.push(0x7d);
  return Status.Ok;
}

serve("transform", handle);
