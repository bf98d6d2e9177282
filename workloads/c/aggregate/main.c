/*
 * aggregate (workloads/ABI.md): folds one event {key, amount} into the
 * aggregate {count, max, min, sum} stored under key in statestore
 * (first-write concurrency, retried on etag mismatch like counter), then
 * publishes {key, count, max, min, sum} to pubsub/aggregates and returns the
 * stored value.
 */
#include "bb_json.h"

#define MAX_KEY_LEN 128
#define MAX_AMOUNT 1000000000
#define MAX_ATTEMPTS 64

static const bb_slice store = BB_LIT("statestore");
static const bb_slice fields[] = {BB_LIT("key"), BB_LIT("amount")};
static const bb_slice aggregate_fields[] = {BB_LIT("count"), BB_LIT("max"), BB_LIT("min"), BB_LIT("sum")};

typedef struct {
    int64_t count, max, min, sum;
} aggregate;

/* Exactly the four integer members, in any order, count at least 1. */
static bool parse_aggregate(bb_slice stored, aggregate *a) {
    bb_json_object obj;
    if (!bb_json_parse(stored.ptr, stored.len, &obj)) return false;
    /* Keys are unique, so four members that include the four names are
     * exactly those. */
    bool ok = obj.len == 4;
    int64_t *slots[] = {&a->count, &a->max, &a->min, &a->sum};
    for (size_t i = 0; ok && i < 4; i++) {
        const bb_json_value *v = bb_json_get(&obj, aggregate_fields[i]);
        ok = v && v->kind == BB_JSON_INT;
        if (ok) *slots[i] = v->integer;
    }
    bb_json_free(&obj);
    return ok && a->count >= 1;
}

static void write_members(bb_buf *out, const aggregate *a) {
    bb_buf_append_cstr(out, "\"count\":");
    bb_buf_append_i64(out, a->count);
    bb_buf_append_cstr(out, ",\"max\":");
    bb_buf_append_i64(out, a->max);
    bb_buf_append_cstr(out, ",\"min\":");
    bb_buf_append_i64(out, a->min);
    bb_buf_append_cstr(out, ",\"sum\":");
    bb_buf_append_i64(out, a->sum);
    bb_buf_push(out, '}');
}

static bb_status dapr_error(bb_buf *out, int64_t code) {
    bb_buf_clear(out);
    bb_buf_append_cstr(out, "dapr: ");
    bb_buf_append_error(out, code);
    return BB_ERROR;
}

static bb_status fold(bb_slice key, int64_t amount, bb_buf *out) {
    for (int attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
        bb_state_entry entry;
        int64_t err = bb_state_get(store, key, &entry);
        if (err && err != BB_NOT_FOUND) return dapr_error(out, err);
        aggregate a = {1, amount, amount, amount};
        if (!err) {
            aggregate old;
            if (!parse_aggregate(entry.value, &old)) {
                bb_state_entry_free(&entry);
                return bb_fail(out, "stored value is not an aggregate");
            }
            if (__builtin_add_overflow(old.count, 1, &a.count) || __builtin_add_overflow(old.sum, amount, &a.sum)) {
                bb_state_entry_free(&entry);
                return bb_fail(out, "aggregate overflow");
            }
            a.max = old.max > amount ? old.max : amount;
            a.min = old.min < amount ? old.min : amount;
        }
        bb_buf_clear(out);
        bb_buf_push(out, '{');
        write_members(out, &a);
        err = bb_state_set(store, key, bb_buf_slice(out), entry.etag, BB_FIRST_WRITE);
        bb_state_entry_free(&entry);
        if (err == BB_ETAG_MISMATCH) continue;
        if (err) return dapr_error(out, err);

        bb_buf event = {0};
        bb_buf_append_cstr(&event, "{\"key\":");
        bb_json_write_string(&event, key);
        bb_buf_push(&event, ',');
        write_members(&event, &a);
        err = bb_publish(BB_LIT("pubsub"), BB_LIT("aggregates"), bb_buf_slice(&event), BB_LIT("application/json"));
        bb_buf_free(&event);
        return err ? dapr_error(out, err) : BB_OK;
    }
    return bb_fail(out, "too much contention");
}

static bb_status check_and_fold(const bb_json_object *obj, bb_buf *out) {
    if (bb_json_only(obj, fields, 2, out) != BB_OK) return BB_ERROR;
    const bb_json_value *key = bb_json_get(obj, BB_LIT("key"));
    if (!key) return bb_fail(out, "key is required");
    if (key->kind != BB_JSON_STRING || key->string.len < 1 || key->string.len > MAX_KEY_LEN) {
        return bb_fail(out, "key must be a string of 1 to 128 bytes");
    }
    const bb_json_value *amount = bb_json_get(obj, BB_LIT("amount"));
    if (!amount) return bb_fail(out, "amount is required");
    if (amount->kind != BB_JSON_INT || amount->integer < -MAX_AMOUNT || amount->integer > MAX_AMOUNT) {
        return bb_fail(out, "amount must be an integer from -1000000000 to 1000000000");
    }
    return fold(key->string, amount->integer, out);
}

bb_status bb_workload(const uint8_t *input, size_t len, bb_buf *out) {
    return bb_json_workload(input, len, out, check_and_fold);
}
