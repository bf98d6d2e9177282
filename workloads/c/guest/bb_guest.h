/*
 * C side of blueprint-bench's guest ABI v1 (workloads/ABI.md is normative;
 * this library only implements it).
 *
 * A workload is one function, bb_workload, that turns the request bytes into
 * response bytes or an error message. The flavour decides what is linked
 * around it (workloads/c/README.md):
 *
 *   abi.c + dapr.c        embedded: bb_* exports, `dapr` imports
 *   abi.c + http.c        http: bb_* exports, the `http` import
 *   middleware.c          an http-wasm guest for daprd's middleware.http.wasm
 *   command.c             a WASI command: stdin -> stdout
 *
 * Pure workloads call none of the bb_state_* / bb_publish functions, so they
 * link in every flavour; a workload that does is built only in the flavours
 * with a Dapr backend (the linker would report the missing symbol).
 */
#ifndef BB_GUEST_H
#define BB_GUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The ABI version this library implements; bb_abi_version returns it. */
#define BB_ABI_VERSION 1

/* Bytes someone else owns: a request, a literal, part of a buffer. */
typedef struct {
    const uint8_t *ptr;
    size_t len;
} bb_slice;

/* A slice of a string literal (without its NUL). */
#define BB_LIT(s) ((bb_slice){(const uint8_t *)(s), sizeof(s) - 1})

/* A growable byte buffer owned by whoever holds it; zero-initialise it. Running
 * out of memory traps (like Rust's default allocator), so appends cannot fail. */
typedef struct {
    uint8_t *data;
    size_t len;
    size_t cap;
} bb_buf;

void bb_buf_reserve(bb_buf *buf, size_t extra);
void bb_buf_append(bb_buf *buf, const void *bytes, size_t len);
void bb_buf_append_slice(bb_buf *buf, bb_slice bytes);
void bb_buf_append_cstr(bb_buf *buf, const char *text);
void bb_buf_push(bb_buf *buf, uint8_t byte);
/* Decimal text of an unsigned / signed integer. */
void bb_buf_append_u64(bb_buf *buf, uint64_t value);
void bb_buf_append_i64(bb_buf *buf, int64_t value);
/* Lower-case hex of bytes. */
void bb_buf_append_hex(bb_buf *buf, const uint8_t *bytes, size_t len);
void bb_buf_clear(bb_buf *buf);
void bb_buf_free(bb_buf *buf);
static inline bb_slice bb_buf_slice(const bb_buf *buf) { return (bb_slice){buf->data, buf->len}; }

/* The workload's outcome. */
typedef enum { BB_OK = 0, BB_ERROR = 1 } bb_status;

/* The workload, defined once per module: reads input[0..len), writes the
 * response into out (empty on entry) and returns BB_OK, or writes a UTF-8
 * message into out and returns BB_ERROR (a guest error, HTTP 422). */
bb_status bb_workload(const uint8_t *input, size_t len, bb_buf *out);

/* Replaces out with message and returns BB_ERROR. */
bb_status bb_fail(bb_buf *out, const char *message);

/* Whether bytes are well-formed UTF-8 (no surrogates, no overlongs, <= U+10FFFF). */
bool bb_utf8_valid(const uint8_t *bytes, size_t len);

bool bb_slice_eq(bb_slice a, bb_slice b);

/* The u32 little-endian length that opens a host result (ABI.md). */
static inline uint32_t bb_u32_le(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* ---- Dapr building blocks (embedded: dapr.c; http: http.c) ---- */

/* The ABI's error codes; every bb_* Dapr call returns 0 or one of these. */
#define BB_NOT_FOUND (-1)
#define BB_ETAG_MISMATCH (-2)
#define BB_INVALID_ARGUMENT (-3)
#define BB_UNAVAILABLE (-4)
#define BB_NO_RESULT (-5)
#define BB_BUFFER_TOO_SMALL (-6)
#define BB_NOT_PERMITTED (-7)
/* Not an ABI code: a host result that breaks the ABI's layout. */
#define BB_MALFORMED (-1000)

/* Appends the error's text, the same words the Rust and Go libraries use
 * ("etag mismatch", "unknown error code -99", ...). */
void bb_buf_append_error(bb_buf *buf, int64_t code);

/* Dapr's state concurrency option; the values are the ABI's. */
typedef enum { BB_LAST_WRITE = 0, BB_FIRST_WRITE = 1 } bb_concurrency;

/* Log severities; the values are the ABI's. */
typedef enum { BB_LOG_ERROR = 0, BB_LOG_WARN = 1, BB_LOG_INFO = 2, BB_LOG_DEBUG = 3 } bb_log_level;

/* A stored value and the etag of its version (etag empty when the store
 * keeps none). Both point into raw; bb_state_entry_free releases it. */
typedef struct {
    uint8_t *raw;
    bb_slice etag;
    bb_slice value;
} bb_state_entry;

/* 0 and *entry filled, BB_NOT_FOUND when the key has no value, or an error. */
int64_t bb_state_get(bb_slice store, bb_slice key, bb_state_entry *entry);
void bb_state_entry_free(bb_state_entry *entry);
/* Most keys one bb_state_get_bulk may ask for (ABI.md). */
#define BB_MAX_BULK_KEYS 64

/* One key's answer in a bulk read: etag and value point into the result's raw. */
typedef struct {
    bool found;
    bb_slice etag;
    bb_slice value;
} bb_bulk_item;

/* The answers of a bulk read, items[i] for keys[i]; bb_bulk_result_free
 * releases raw. */
typedef struct {
    uint8_t *raw;
    size_t count;
    bb_bulk_item items[BB_MAX_BULK_KEYS];
} bb_bulk_result;

/* Reads count keys (1 to BB_MAX_BULK_KEYS) of store in one call: 0 and
 * *result filled in key order (a missing key is found = false), or an error. */
int64_t bb_state_get_bulk(bb_slice store, const bb_slice *keys, size_t count, bb_bulk_result *result);
void bb_bulk_result_free(bb_bulk_result *result);

/* The ABI's packing, shared by both backends (buf.c): the keys argument of
 * state_get_bulk, and reading a packed result. bb_bulk_parse takes raw
 * (malloc'd, len bytes) into *result on success and frees it on failure
 * (BB_MALFORMED). */
void bb_bulk_encode_keys(bb_buf *out, const bb_slice *keys, size_t count);
void bb_bulk_append_item(bb_buf *out, bool found, bb_slice etag, bb_slice value);
int64_t bb_bulk_parse(uint8_t *raw, size_t len, size_t count, bb_bulk_result *result);

/* An empty etag means none. BB_ETAG_MISMATCH when the concurrency check fails. */
int64_t bb_state_set(bb_slice store, bb_slice key, bb_slice value, bb_slice etag,
                     bb_concurrency concurrency);
int64_t bb_state_delete(bb_slice store, bb_slice key, bb_slice etag, bb_concurrency concurrency);
/* An empty content type means application/json. */
int64_t bb_publish(bb_slice pubsub, bb_slice topic, bb_slice data, bb_slice content_type);
/* The binding's response data is appended to response. */
int64_t bb_invoke_binding(bb_slice name, bb_slice operation, bb_slice data, bb_buf *response);
void bb_log(bb_log_level level, bb_slice message);

#endif
