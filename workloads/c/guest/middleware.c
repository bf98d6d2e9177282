/*
 * The middleware flavour: an http-wasm guest (http-wasm-abi, module
 * `http_handler`) for daprd's middleware.http.wasm in an app HTTP pipeline.
 *
 * handle_request reads the whole request body and runs the workload on it.
 * Success: the body is replaced with the response, the request header
 * `x-blueprint-workload: <workload>` is set, and the request continues to
 * the app. Guest error: the middleware answers itself with status 422 and
 * the message as a text/plain body; the app is not called.
 *
 * No http-wasm features are needed: the original body is consumed, never
 * passed on, and the response is not inspected.
 */
#include "bb_guest.h"

#ifndef BB_WORKLOAD_NAME
#error "the build passes -DBB_WORKLOAD_NAME=\"<workload>\""
#endif

#define IMPORT(name) __attribute__((import_module("http_handler"), import_name(name)))

enum { BODY_REQUEST = 0, BODY_RESPONSE = 1 };
enum { HEADER_REQUEST = 0, HEADER_RESPONSE = 1 };

/* Result: eof << 32 | bytes read. A zero limit is a host panic. */
IMPORT("read_body") uint64_t hw_read_body(uint32_t kind, uint8_t *buf, uint32_t limit);
/* The first write in handle_request replaces the body; length 0 empties it. */
IMPORT("write_body") void hw_write_body(uint32_t kind, const uint8_t *buf, uint32_t len);
IMPORT("set_header_value")
void hw_set_header_value(uint32_t kind, const char *name, uint32_t name_len, const char *value, uint32_t value_len);
IMPORT("set_status_code") void hw_set_status_code(uint32_t status);

#define HEADER(kind, name, value) hw_set_header_value(kind, name, sizeof(name) - 1, value, sizeof(value) - 1)

#define READ_CHUNK 16384u

/* wazero instantiates with `_start` as its only start function, so the
 * reactor's _initialize (wasi-libc's constructors) is run here, once per
 * instance; the host pools instances and reuses them across requests. */
extern void _initialize(void);
static bool initialised;

__attribute__((export_name("handle_request"))) uint64_t handle_request(void) {
    if (!initialised) {
        initialised = true;
        _initialize();
    }
    bb_buf body = {0};
    for (;;) {
        bb_buf_reserve(&body, READ_CHUNK);
        uint64_t eof_len = hw_read_body(BODY_REQUEST, body.data + body.len, READ_CHUNK);
        body.len += (uint32_t)eof_len;
        if (eof_len >> 32) break;
    }
    bb_buf out = {0};
    bb_status status = bb_workload(body.data, body.len, &out);
    bb_buf_free(&body);

    uint64_t next;
    if (status == BB_OK) {
        hw_write_body(BODY_REQUEST, out.data, (uint32_t)out.len);
        HEADER(HEADER_REQUEST, "x-blueprint-workload", BB_WORKLOAD_NAME);
        next = 1;
    } else {
        HEADER(HEADER_RESPONSE, "content-type", "text/plain; charset=utf-8");
        hw_set_status_code(422);
        hw_write_body(BODY_RESPONSE, out.data, (uint32_t)out.len);
        next = 0; /* answered here: the app is not called */
    }
    bb_buf_free(&out);
    return next;
}

/* Called after the app answered (next = 1); nothing to do. */
__attribute__((export_name("handle_response"))) void handle_response(uint32_t req_ctx, uint32_t is_error) {
    (void)req_ctx;
    (void)is_error;
}
