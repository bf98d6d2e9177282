/*
 * The ABI v1 exports (embedded and http flavours): bb_abi_version, bb_alloc,
 * bb_handle. The module is a WASI reactor; wasi-libc's crt1-reactor.o
 * provides _initialize.
 */
#include <stdlib.h>

#include "bb_guest.h"

/* Largest response length the packed i64 can carry. */
#define MAX_RESPONSE_LEN 0x7fffffffu
#define ERROR_FLAG 0x80000000u

/* Buffers handed out by bb_alloc and not yet passed to bb_handle. bb_handle
 * takes the request out and frees the rest, which bounds the list on a
 * reused instance. */
typedef struct {
    void *ptr;
    size_t len;
} allocation;

static struct {
    allocation *items;
    size_t len;
    size_t cap;
} arena;

/* The last response: the host reads it after bb_handle has returned, so it
 * lives until the next call. */
static bb_buf response;

__attribute__((export_name("bb_abi_version"))) int32_t bb_abi_version(void) {
    return BB_ABI_VERSION;
}

__attribute__((export_name("bb_alloc"))) int32_t bb_alloc(int32_t len) {
    if (len < 0) {
        return 0;
    }
    if (arena.len == arena.cap) {
        size_t cap = arena.cap ? arena.cap * 2 : 4;
        allocation *items = realloc(arena.items, cap * sizeof *items);
        if (items == NULL) {
            return 0;
        }
        arena.items = items;
        arena.cap = cap;
    }
    /* malloc(0) may return NULL, but bb_alloc(0) must be a valid pointer. */
    void *ptr = malloc(len ? (size_t)len : 1);
    if (ptr == NULL) {
        return 0; /* the ABI's failure value, where a trap would be rude */
    }
    arena.items[arena.len++] = (allocation){ptr, (size_t)len};
    return (int32_t)(uintptr_t)ptr;
}

/* Takes the request out of the arena (looked up rather than trusted, so a
 * wrong pointer is an error instead of a wild read) and frees the rest. */
static bool take_request(int32_t ptr, int32_t len, void **request) {
    *request = NULL;
    bool found = len == 0; /* an empty request needs no buffer */
    for (size_t i = 0; i < arena.len; i++) {
        allocation a = arena.items[i];
        if (!*request && (uint32_t)(uintptr_t)a.ptr == (uint32_t)ptr && len >= 0 &&
            a.len >= (size_t)len) {
            *request = a.ptr;
            found = true;
        } else {
            free(a.ptr);
        }
    }
    arena.len = 0;
    return found;
}

static int64_t pack(const void *ptr, size_t len, bool is_error) {
    uint64_t flag = is_error ? ERROR_FLAG : 0;
    return (int64_t)(((uint64_t)(uintptr_t)ptr << 32) | (uint64_t)len | flag);
}

__attribute__((export_name("bb_handle"))) int64_t bb_handle(int32_t ptr, int32_t len) {
    bb_buf_free(&response);
    void *request;
    bb_status status;
    if (take_request(ptr, len, &request)) {
        status = bb_workload(request, len > 0 ? (size_t)len : 0, &response);
        free(request);
    } else {
        bb_buf_clear(&response);
        bb_buf_append_cstr(&response, "bb_handle(");
        bb_buf_append_i64(&response, ptr);
        bb_buf_append_cstr(&response, ", ");
        bb_buf_append_i64(&response, len);
        bb_buf_append_cstr(&response, "): the request is not in a buffer from bb_alloc");
        status = BB_ERROR;
    }
    if (response.len > MAX_RESPONSE_LEN) {
        bb_buf_clear(&response);
        bb_buf_append_cstr(&response, "response exceeds the ABI limit of 2147483647 bytes");
        status = BB_ERROR;
    }
    /* An empty response still points into memory, never at address 0. */
    static const uint8_t nothing;
    const void *bytes = response.data ? response.data : &nothing;
    return pack(bytes, response.len, status == BB_ERROR);
}
