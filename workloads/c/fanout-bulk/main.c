/*
 * fanout-bulk (workloads/ABI.md): fanout's work, byte for byte the same
 * answers and state, with the K reads made as one bb_state_get_bulk of
 * <key>.0 ... <key>.<k-1> (missing = 0); then the same one last-write-wins
 * increment of <key>.<sum mod k>. Two Dapr calls per request whatever k is.
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
    /* The keys, one buffer each: slices into them are the bulk read's keys. */
    bb_buf names[MAX_K] = {{0}};
    bb_slice keys[MAX_K];
    for (size_t i = 0; i < k; i++) {
        slot_key(&names[i], key, i);
        keys[i] = bb_buf_slice(&names[i]);
    }
    bb_bulk_result read;
    int64_t err = bb_state_get_bulk(store, keys, k, &read);
    if (err) {
        status = dapr_error(out, err);
    }
    for (size_t i = 0; i < k && status == BB_OK; i++) {
        const bb_bulk_item *item = &read.items[i];
        if (item->found && !parse_counter(item->value, &values[i])) {
            status = bb_fail(out, "stored value is not a counter");
        } else if (__builtin_add_overflow(sum, values[i], &sum)) {
            status = bb_fail(out, "counter overflow");
        } else if (item->found) {
            found++;
        }
    }
    bb_bulk_result_free(&read);
    for (size_t i = 0; i < k; i++) {
        bb_buf_free(&names[i]);
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
