/*
 * The Dapr building blocks over the `dapr` import module (embedded flavour).
 *
 * Imports that produce a result leave it in the host's result slot and
 * return its size; take() copies it out with dapr.take_result into a buffer
 * of exactly that size.
 */
#include <stdlib.h>
#include <string.h>

#include "bb_guest.h"

#define IMPORT(name) __attribute__((import_module("dapr"), import_name(name)))

/* Every pointer is an i32 and every length an i32, as ABI.md lists them. */
IMPORT("state_get") int64_t dapr_state_get(const uint8_t *, size_t, const uint8_t *, size_t);
IMPORT("state_get_bulk") int64_t dapr_state_get_bulk(const uint8_t *, size_t, const uint8_t *, size_t);
IMPORT("state_set")
int64_t dapr_state_set(const uint8_t *, size_t, const uint8_t *, size_t, const uint8_t *, size_t,
                       const uint8_t *, size_t, int32_t);
IMPORT("state_delete")
int64_t dapr_state_delete(const uint8_t *, size_t, const uint8_t *, size_t, const uint8_t *,
                          size_t, int32_t);
IMPORT("publish")
int64_t dapr_publish(const uint8_t *, size_t, const uint8_t *, size_t, const uint8_t *, size_t,
                     const uint8_t *, size_t);
IMPORT("invoke_binding")
int64_t dapr_invoke_binding(const uint8_t *, size_t, const uint8_t *, size_t, const uint8_t *,
                            size_t);
IMPORT("log") void dapr_log(int32_t, const uint8_t *, size_t);
IMPORT("take_result") int64_t dapr_take_result(uint8_t *, size_t);

/* Non-negative results are sizes or 0; negative ones the ABI's codes. */
static int64_t status(int64_t ret) { return ret < 0 ? ret : 0; }

/* Copies the result slot (size bytes, as the import returned) into *out
 * (malloc'd); a negative size is the import's error, returned as it is. */
static int64_t take(int64_t size, uint8_t **out, size_t *len) {
    if (size < 0) {
        return size;
    }
    if (size > (int64_t)UINT32_MAX) {
        return BB_MALFORMED; /* linear memory is 32-bit: a host bug */
    }
    uint8_t *buf = malloc(size ? (size_t)size : 1);
    if (buf == NULL) {
        __builtin_trap();
    }
    int64_t copied = dapr_take_result(buf, (size_t)size);
    if (copied < 0) {
        free(buf);
        return copied;
    }
    *out = buf;
    *len = copied < size ? (size_t)copied : (size_t)size;
    return 0;
}

int64_t bb_state_get(bb_slice store, bb_slice key, bb_state_entry *entry) {
    *entry = (bb_state_entry){0};
    uint8_t *raw;
    size_t len;
    int64_t err = take(dapr_state_get(store.ptr, store.len, key.ptr, key.len), &raw, &len);
    if (err) {
        return err;
    }
    /* etag_len: u32 LE, the etag, then the value */
    if (len < 4) {
        free(raw);
        return BB_MALFORMED;
    }
    uint32_t etag_len = bb_u32_le(raw);
    if (len - 4 < etag_len || !bb_utf8_valid(raw + 4, etag_len)) {
        free(raw);
        return BB_MALFORMED;
    }
    entry->raw = raw;
    entry->etag = (bb_slice){raw + 4, etag_len};
    entry->value = (bb_slice){raw + 4 + etag_len, len - 4 - etag_len};
    return 0;
}

int64_t bb_state_get_bulk(bb_slice store, const bb_slice *keys, size_t count, bb_bulk_result *result) {
    *result = (bb_bulk_result){0};
    if (count == 0 || count > BB_MAX_BULK_KEYS) {
        return BB_INVALID_ARGUMENT;
    }
    bb_buf packed = {0};
    bb_bulk_encode_keys(&packed, keys, count);
    uint8_t *raw;
    size_t len;
    int64_t err = take(dapr_state_get_bulk(store.ptr, store.len, packed.data, packed.len), &raw, &len);
    bb_buf_free(&packed);
    if (err) {
        return err;
    }
    return bb_bulk_parse(raw, len, count, result);
}

void bb_state_entry_free(bb_state_entry *entry) {
    free(entry->raw);
    *entry = (bb_state_entry){0};
}

int64_t bb_state_set(bb_slice store, bb_slice key, bb_slice value, bb_slice etag,
                     bb_concurrency concurrency) {
    return status(dapr_state_set(store.ptr, store.len, key.ptr, key.len, value.ptr, value.len,
                                 etag.ptr, etag.len, (int32_t)concurrency));
}

int64_t bb_state_delete(bb_slice store, bb_slice key, bb_slice etag, bb_concurrency concurrency) {
    return status(dapr_state_delete(store.ptr, store.len, key.ptr, key.len, etag.ptr, etag.len,
                                    (int32_t)concurrency));
}

int64_t bb_publish(bb_slice pubsub, bb_slice topic, bb_slice data, bb_slice content_type) {
    return status(dapr_publish(pubsub.ptr, pubsub.len, topic.ptr, topic.len, data.ptr, data.len,
                               content_type.ptr, content_type.len));
}

int64_t bb_invoke_binding(bb_slice name, bb_slice operation, bb_slice data, bb_buf *response) {
    uint8_t *raw;
    size_t len;
    int64_t err = take(dapr_invoke_binding(name.ptr, name.len, operation.ptr, operation.len, data.ptr, data.len),
                       &raw, &len);
    if (err) {
        return err;
    }
    bb_buf_append(response, raw, len);
    free(raw);
    return 0;
}

void bb_log(bb_log_level level, bb_slice message) {
    dapr_log((int32_t)level, message.ptr, message.len);
}
