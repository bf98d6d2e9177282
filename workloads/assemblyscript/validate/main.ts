// validate (workloads/ABI.md): checks an order against fixed rules and
// answers with its total; the first failed check is the guest error. Pure.

import { Buf, Status, serve } from "../guest/bb";
import { Kind, Value, eqAscii, parseRequest, writeString } from "../guest/json";

const FIELDS = ["id", "customer", "quantity", "unit_price", "currency", "express"];

function validId(v: Value): bool {
  if (v.kind != Kind.String) return false;
  const s = v.string;
  if (s.length < 1 || s.length > 32) return false;
  for (let i = 0; i < s.length; i++) {
    const c = unchecked(s[i]);
    const ok = (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c == 0x2d || c == 0x5f;
    if (!ok) return false;
  }
  return true;
}

/** At most 254 bytes, nothing in U+0000-U+0020, exactly one '@' with
 * something before it, and a domain that contains a '.' but neither starts
 * nor ends with one. */
function validEmail(v: Value): bool {
  if (v.kind != Kind.String) return false;
  const s = v.string;
  const len = s.length;
  if (len > 254) return false;
  let at = 0;
  let ats = 0;
  for (let i = 0; i < len; i++) {
    const c = unchecked(s[i]);
    if (c <= 0x20) return false;
    if (c == 0x40) {
      ats++;
      at = i;
    }
  }
  if (ats != 1 || at == 0) return false;
  const first = at + 1;
  if (first == len || unchecked(s[first]) == 0x2e || unchecked(s[len - 1]) == 0x2e) return false;
  for (let i = first; i < len; i++) {
    if (unchecked(s[i]) == 0x2e) return true;
  }
  return false;
}

function intIn(v: Value, lo: i64, hi: i64): bool {
  return v.kind == Kind.Integer && v.integer >= lo && v.integer <= hi;
}

function handle(input: Uint8Array, out: Buf): Status {
  const obj = parseRequest(input, FIELDS, out);
  if (obj == null) return Status.Err;
  const id = obj.get("id");
  if (id == null) return out.fail("id is required");
  if (!validId(id)) return out.fail("id must be 1 to 32 characters from A-Z a-z 0-9 - _");
  const customer = obj.get("customer");
  if (customer == null) return out.fail("customer is required");
  if (!validEmail(customer)) return out.fail("customer must be an email address");
  const quantity = obj.get("quantity");
  if (quantity == null) return out.fail("quantity is required");
  if (!intIn(quantity, 1, 1000)) return out.fail("quantity must be an integer from 1 to 1000");
  const price = obj.get("unit_price");
  if (price == null) return out.fail("unit_price is required");
  if (!intIn(price, 0, 1000000)) return out.fail("unit_price must be an integer from 0 to 1000000");
  const currency = obj.get("currency");
  if (currency == null) return out.fail("currency is required");
  if (currency.kind != Kind.String || !(eqAscii(currency.string, "EUR") || eqAscii(currency.string, "USD") || eqAscii(currency.string, "GBP"))) {
    return out.fail("currency must be one of EUR, USD, GBP");
  }
  const express = obj.get("express");
  if (express != null && express.kind != Kind.True && express.kind != Kind.False) {
    return out.fail("express must be a boolean");
  }
  const total = quantity.integer * price.integer; // at most 10^9: no overflow
  if (total > 10000000) return out.fail("order total must be at most 10000000");

  out.appendAscii('{"valid":true,"id":');
  writeString(out, id.string);
  out.appendAscii(',"total":');
  out.appendI64(total);
  out.push(0x7d);
  return Status.Ok;
}

serve("validate", handle);
