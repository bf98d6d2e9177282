/*
 * lookup (workloads/ABI.md): returns the value stored under the request's
 * key in statestore. A missing key is first given its initial value, the
 * key's length in bytes as ASCII decimal, written with first-write
 * concurrency and no etag: of concurrent first requests one wins, and the
 * others (BB_ETAG_MISMATCH) read again and return what it wrote.
 *
 * Under load the same key is sent every time, so after the first request
 * every request is exactly one state read: the read-mostly, hot-key shape a
 * state cache in front of Dapr serves best.
 */
#include "bb_guest.h"

#define MAX_KEY_LEN 128
#define MAX_ATTEMPTS 64

static const bb_slice store = BB_LIT("statestore");

static bb_status dapr_error(bb_buf *out, int64_t code) {
    bb_buf_clear(out);
    bb_buf_append_cstr(out, "dapr: ");
    bb_buf_append_error(out, code);
    return BB_ERROR;
}

bb_status bb_workload(const uint8_t *input, size_t len, bb_buf *out) {
    if (len == 0) return bb_fail(out, "key must not be empty");
    if (len > MAX_KEY_LEN) return bb_fail(out, "key must be at most 128 bytes");
    if (!bb_utf8_valid(input, len)) return bb_fail(out, "key must be UTF-8");
    bb_slice key = {input, len};

    for (int attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
        bb_state_entry entry;
        int64_t err = bb_state_get(store, key, &entry);
        if (!err) {
            bb_buf_append_slice(out, entry.value);
            bb_state_entry_free(&entry);
            return BB_OK;
        }
        if (err != BB_NOT_FOUND) {
            return dapr_error(out, err);
        }
        /* The initial value: the key's length in bytes, in decimal. */
        bb_buf_clear(out);
        bb_buf_append_u64(out, len);
        err = bb_state_set(store, key, bb_buf_slice(out), (bb_slice){0}, BB_FIRST_WRITE);
        if (err == 0) {
            return BB_OK;
        }
        if (err != BB_ETAG_MISMATCH) {
            return dapr_error(out, err);
        }
        /* Another request stored it first: read what it stored. */
    }
    return bb_fail(out, "too much contention");
}
