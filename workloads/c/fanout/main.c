/*
 * fanout (workloads/ABI.md): K state reads and one state write per request.
 * Reads the decimal counters <key>.0 ... <key>.<k-1> from statestore one by
 * one (missing = 0), answers {"found":<present>,"sum":<sum>}, then increments
 * the counter at <key>.<sum mod k> with last-write-wins.
 *
 * The cost is in the calls, not the logic: one request is k + 1 Dapr calls.
 * The write is last-write-wins on purpose (no etag, no retry): concurrent
 * requests may lose an increment, and every request still makes exactly
 * k + 1 calls.
 */
#include "bb_json.h"

#define MAX_KEY_LEN 64
#define MAX_K 64

static const bb_slice store = BB_LIT("statestore");
static const bb_slice fields[] = {BB_LIT("key"), BB_LIT("k")};

/* counter's rule: strict ASCII digits only (leading zeros allowed), at most
 * UINT64_MAX. */
static bool parse_counter(bb_slice value, uint64_t *out) {
    if (value.len == 0) {
        return false;
    }
    uint64_t acc = 0;
    for (size_t i = 0; i < value.len; i++) {
        uint8_t b = value.ptr[i];
        if (b < '0' || b > '9') {
            return false;
        }
        uint64_t digit = b - '0';
        if (acc > UINT64_MAX / 10 || acc * 10 > UINT64_MAX - digit) {
            return false;
        }
        acc = acc * 10 + digit;
    }
    *out = acc;
    return true;
}

static bb_status dapr_error(bb_buf *out, int64_t code) {
    bb_buf_clear(out);
    bb_buf_append_cstr(out, "dapr: ");
    bb_buf_append_error(out, code);
    return BB_ERROR;
}

/* The state key of counter i: <key>.<i>, into slot (cleared first). */
static void slot_key(bb_buf *slot, bb_slice key, size_t i) {
    bb_buf_clear(slot);
    bb_buf_append_slice(slot, key);
    bb_buf_push(slot, '.');
    bb_buf_append_u64(slot, i);
}

static bb_status fan(bb_slice key, size_t k, bb_buf *out) {
    uint64_t values[MAX_K] = {0};
    uint64_t sum = 0;
    int64_t found = 0;
    bb_buf slot = {0};
    bb_status status = BB_OK;
    for (size_t i = 0; i < k && status == BB_OK; i++) {
        slot_key(&slot, key, i);
        bb_state_entry entry;
        int64_t err = bb_state_get(store, bb_buf_slice(&slot), &entry);
        if (err && err != BB_NOT_FOUND) {
            status = dapr_error(out, err);
        } else if (!err && !parse_counter(entry.value, &values[i])) {
            status = bb_fail(out, "stored value is not a counter");
        } else if (__builtin_add_overflow(sum, values[i], &sum)) {
            status = bb_fail(out, "counter overflow");
        } else if (!err) {
            found++;
        }
        bb_state_entry_free(&entry);
    }
    /* The answer's integers stay in the JSON subset's range, and the
     * written value (at most sum + 1) with them. */
    if (status == BB_OK && sum >= (uint64_t)INT64_MAX) {
        status = bb_fail(out, "counter overflow");
    }
    if (status == BB_OK) {
        size_t target = (size_t)(sum % k);
        slot_key(&slot, key, target);
        bb_buf next = {0};
        bb_buf_append_u64(&next, values[target] + 1);
        int64_t err = bb_state_set(store, bb_buf_slice(&slot), bb_buf_slice(&next), (bb_slice){0}, BB_LAST_WRITE);
        bb_buf_free(&next);
        if (err) {
            status = dapr_error(out, err);
        } else {
            bb_buf_append_cstr(out, "{\"found\":");
            bb_buf_append_i64(out, found);
            bb_buf_append_cstr(out, ",\"sum\":");
            bb_buf_append_i64(out, (int64_t)sum);
            bb_buf_push(out, '}');
        }
    }
    bb_buf_free(&slot);
    return status;
}

static bb_status check_and_fan(const bb_json_object *obj, bb_buf *out) {
    if (bb_json_only(obj, fields, 2, out) != BB_OK) return BB_ERROR;
    const bb_json_value *key = bb_json_get(obj, BB_LIT("key"));
    if (!key) return bb_fail(out, "key is required");
    if (key->kind != BB_JSON_STRING || key->string.len < 1 || key->string.len > MAX_KEY_LEN) {
        return bb_fail(out, "key must be a string of 1 to 64 bytes");
    }
    const bb_json_value *k = bb_json_get(obj, BB_LIT("k"));
    if (!k) return bb_fail(out, "k is required");
    if (k->kind != BB_JSON_INT || k->integer < 1 || k->integer > MAX_K) {
        return bb_fail(out, "k must be an integer from 1 to 64");
    }
    return fan(key->string, (size_t)k->integer, out);
}

bb_status bb_workload(const uint8_t *input, size_t len, bb_buf *out) {
    return bb_json_workload(input, len, out, check_and_fan);
}
