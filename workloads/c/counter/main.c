/*
 * counter (workloads/ABI.md): increments the decimal counter stored under the
 * request's key in statestore and returns the new value.
 *
 * The write uses first-write concurrency with the etag it read (none for a
 * new key), so concurrent increments never lose an update: the loser gets
 * BB_ETAG_MISMATCH, reads again and retries.
 */
#include "bb_guest.h"

#define MAX_KEY_LEN 128
#define MAX_ATTEMPTS 64

static const bb_slice store = BB_LIT("statestore");

/* Strict ASCII digits only (leading zeros allowed), as in every language:
 * strtoull would also take spaces, signs and "0x". */
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

/* "dapr: <error>", worded as the Rust counter does. */
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
        if (err && err != BB_NOT_FOUND) {
            return dapr_error(out, err);
        }
        uint64_t current = 0;
        if (!err && !parse_counter(entry.value, &current)) {
            bb_state_entry_free(&entry);
            return bb_fail(out, "stored value is not a counter");
        }
        if (current == UINT64_MAX) {
            bb_state_entry_free(&entry);
            return bb_fail(out, "counter overflow");
        }
        bb_buf_clear(out);
        bb_buf_append_u64(out, current + 1);
        err = bb_state_set(store, key, bb_buf_slice(out), entry.etag, BB_FIRST_WRITE);
        bb_state_entry_free(&entry);
        if (err == 0) {
            return BB_OK;
        }
        if (err != BB_ETAG_MISMATCH) {
            return dapr_error(out, err);
        }
    }
    return bb_fail(out, "too much contention");
}
