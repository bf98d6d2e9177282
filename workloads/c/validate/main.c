/*
 * validate (workloads/ABI.md): checks an order against fixed rules and
 * answers with its total; the first failed check is the guest error. Pure.
 */
#include "bb_json.h"

static const bb_slice fields[] = {
    BB_LIT("id"), BB_LIT("customer"), BB_LIT("quantity"), BB_LIT("unit_price"), BB_LIT("currency"), BB_LIT("express"),
};

static bool valid_id(const bb_json_value *v) {
    if (v->kind != BB_JSON_STRING || v->string.len < 1 || v->string.len > 32) return false;
    for (size_t i = 0; i < v->string.len; i++) {
        uint8_t c = v->string.ptr[i];
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
        if (!ok) return false;
    }
    return true;
}

/* At most 254 bytes, nothing in U+0000-U+0020, exactly one '@' with
 * something before it, and a domain that contains a '.' but neither starts
 * nor ends with one. */
static bool valid_email(const bb_json_value *v) {
    if (v->kind != BB_JSON_STRING || v->string.len > 254) return false;
    const uint8_t *s = v->string.ptr;
    size_t len = v->string.len, at = 0, ats = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] <= 0x20) return false;
        if (s[i] == '@') {
            ats++;
            at = i;
        }
    }
    if (ats != 1 || at == 0) return false;
    bb_slice domain = {s + at + 1, len - at - 1};
    if (domain.len == 0 || domain.ptr[0] == '.' || domain.ptr[domain.len - 1] == '.') return false;
    for (size_t i = 0; i < domain.len; i++) {
        if (domain.ptr[i] == '.') return true;
    }
    return false;
}

static bool int_in(const bb_json_value *v, int64_t lo, int64_t hi) {
    return v->kind == BB_JSON_INT && v->integer >= lo && v->integer <= hi;
}

static bb_status check(const bb_json_object *obj, bb_buf *out) {
    if (bb_json_only(obj, fields, sizeof fields / sizeof *fields, out) != BB_OK) return BB_ERROR;
    const bb_json_value *id = bb_json_get(obj, BB_LIT("id"));
    if (!id) return bb_fail(out, "id is required");
    if (!valid_id(id)) return bb_fail(out, "id must be 1 to 32 characters from A-Z a-z 0-9 - _");
    const bb_json_value *customer = bb_json_get(obj, BB_LIT("customer"));
    if (!customer) return bb_fail(out, "customer is required");
    if (!valid_email(customer)) return bb_fail(out, "customer must be an email address");
    const bb_json_value *quantity = bb_json_get(obj, BB_LIT("quantity"));
    if (!quantity) return bb_fail(out, "quantity is required");
    if (!int_in(quantity, 1, 1000)) return bb_fail(out, "quantity must be an integer from 1 to 1000");
    const bb_json_value *price = bb_json_get(obj, BB_LIT("unit_price"));
    if (!price) return bb_fail(out, "unit_price is required");
    if (!int_in(price, 0, 1000000)) return bb_fail(out, "unit_price must be an integer from 0 to 1000000");
    const bb_json_value *currency = bb_json_get(obj, BB_LIT("currency"));
    if (!currency) return bb_fail(out, "currency is required");
    if (currency->kind != BB_JSON_STRING ||
        !(bb_slice_eq(currency->string, BB_LIT("EUR")) || bb_slice_eq(currency->string, BB_LIT("USD")) ||
          bb_slice_eq(currency->string, BB_LIT("GBP")))) {
        return bb_fail(out, "currency must be one of EUR, USD, GBP");
    }
    const bb_json_value *express = bb_json_get(obj, BB_LIT("express"));
    if (express && express->kind != BB_JSON_TRUE && express->kind != BB_JSON_FALSE) {
        return bb_fail(out, "express must be a boolean");
    }
    int64_t total = quantity->integer * price->integer; /* at most 10^9: no overflow */
    if (total > 10000000) return bb_fail(out, "order total must be at most 10000000");

    bb_buf_append_cstr(out, "{\"valid\":true,\"id\":");
    bb_json_write_string(out, id->string);
    bb_buf_append_cstr(out, ",\"total\":");
    bb_buf_append_i64(out, total);
    bb_buf_push(out, '}');
    return BB_OK;
}

bb_status bb_workload(const uint8_t *input, size_t len, bb_buf *out) {
    return bb_json_workload(input, len, out, check);
}
