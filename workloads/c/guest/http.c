/*
 * The Dapr building blocks over the `http` import module (http flavour,
 * mode standalone-http): this library builds Dapr HTTP API requests itself
 * and reads the answers, and the host only forwards them to the sidecar.
 *
 *   state get     GET    /v1.0/state/<store>/<key>   200 + etag header, 204 missing
 *   bulk get      POST   /v1.0/state/<store>/bulk    {"keys":[...]}; 200 [{"key","data"?,"etag"?}...]
 *   state set     POST   /v1.0/state/<store>         [{"key","value","etag","options"}] 204, 409 etag
 *   state delete  DELETE /v1.0/state/<store>/<key>?concurrency=...  If-Match: etag; 204, 409 etag
 *   publish       POST   /v1.0/publish/<pubsub>/<topic>  body as given, Content-Type
 *   binding       POST   /v1.0/bindings/<name>       {"operation","data"}
 *
 * Differences from the embedded flavour, all forced by the HTTP API:
 * - a state value is sent as JSON text inside the save request, so it must
 *   be JSON text (the workloads store decimal numbers and compact objects);
 * - binding data travels as a JSON string, so the binding sees it quoted;
 * - there is no log API: bb_log is dropped.
 */
#include <stdlib.h>
#include <string.h>

#include "bb_json.h"

#ifdef __wasm__
#define IMPORT(name) __attribute__((import_module("http"), import_name(name)))
#else
#define IMPORT(name) /* native tests link a fake host */
#endif

/* status << 32 | size of the result now in the slot, or a negative code. */
IMPORT("request")
int64_t http_request(const uint8_t *method, size_t method_len, const uint8_t *url, size_t url_len,
                     const uint8_t *headers, size_t headers_len, const uint8_t *body, size_t body_len);
IMPORT("take_result") int64_t http_take_result(uint8_t *buf, size_t len);

/* One answer: the status, the raw result (headers_len u32 LE, headers, body). */
typedef struct {
    uint32_t status;
    uint8_t *raw;
    bb_slice headers; /* "name: value\n" lines, names lower-case */
    bb_slice body;
} response;

static void response_free(response *r) {
    free(r->raw);
    *r = (response){0};
}

static int64_t send(bb_slice method, bb_slice url, bb_slice headers, bb_slice body, response *r) {
    *r = (response){0};
    int64_t ret = http_request(method.ptr, method.len, url.ptr, url.len, headers.ptr, headers.len, body.ptr, body.len);
    if (ret < 0) return ret;
    r->status = (uint32_t)((uint64_t)ret >> 32);
    size_t size = (uint32_t)ret;
    r->raw = malloc(size ? size : 1);
    if (r->raw == NULL) __builtin_trap();
    int64_t copied = http_take_result(r->raw, size);
    if (copied < 0) {
        response_free(r);
        return copied;
    }
    size_t len = (size_t)copied < size ? (size_t)copied : size;
    if (len < 4) {
        response_free(r);
        return BB_MALFORMED;
    }
    uint32_t headers_len = bb_u32_le(r->raw);
    if (len - 4 < headers_len) {
        response_free(r);
        return BB_MALFORMED;
    }
    r->headers = (bb_slice){r->raw + 4, headers_len};
    r->body = (bb_slice){r->raw + 4 + headers_len, len - 4 - headers_len};
    return 0;
}

/* The value of header `name` (lower-case), or an empty slice. */
static bb_slice header(const response *r, const char *name) {
    size_t n = strlen(name);
    const uint8_t *p = r->headers.ptr, *end = p + r->headers.len;
    while (p < end) {
        const uint8_t *eol = memchr(p, '\n', (size_t)(end - p));
        if (eol == NULL) eol = end;
        if ((size_t)(eol - p) >= n + 2 && memcmp(p, name, n) == 0 && p[n] == ':' && p[n + 1] == ' ') {
            return (bb_slice){p + n + 2, (size_t)(eol - p) - n - 2};
        }
        p = eol + 1;
    }
    return (bb_slice){0};
}

/* Percent-encodes everything but RFC 3986's unreserved characters, so any
 * UTF-8 key is one path segment. */
static void append_path_segment(bb_buf *url, bb_slice s) {
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < s.len; i++) {
        uint8_t c = s.ptr[i];
        bool plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
                     c == '.' || c == '_' || c == '~';
        if (plain) {
            bb_buf_push(url, c);
        } else {
            uint8_t esc[3] = {'%', (uint8_t)hex[c >> 4], (uint8_t)hex[c & 15]};
            bb_buf_append(url, esc, 3);
        }
    }
}

static void state_url(bb_buf *url, bb_slice store, const bb_slice *key) {
    bb_buf_append_cstr(url, "/v1.0/state/");
    append_path_segment(url, store);
    if (key) {
        bb_buf_push(url, '/');
        append_path_segment(url, *key);
    }
}

/* The outcome of a request whose answer is only its status (err and r as
 * send left them): 0 for 200 or 204; otherwise the sidecar said no, which
 * for a 409 on a request with a concurrency check is an etag mismatch.
 * Frees the response. */
static int64_t status_only(int64_t err, response *r, bool concurrency_checked) {
    if (err) return err;
    uint32_t status = r->status;
    response_free(r);
    if (status == 204 || status == 200) return 0;
    return concurrency_checked && status == 409 ? BB_ETAG_MISMATCH : BB_UNAVAILABLE;
}

int64_t bb_state_get(bb_slice store, bb_slice key, bb_state_entry *entry) {
    *entry = (bb_state_entry){0};
    bb_buf url = {0};
    state_url(&url, store, &key);
    response r;
    int64_t err = send(BB_LIT("GET"), bb_buf_slice(&url), (bb_slice){0}, (bb_slice){0}, &r);
    bb_buf_free(&url);
    if (err) return err;
    if (r.status == 204) {
        response_free(&r);
        return BB_NOT_FOUND;
    }
    if (r.status != 200) {
        response_free(&r);
        return BB_UNAVAILABLE;
    }
    /* The entry keeps the raw result: etag and value point into it. */
    bb_slice etag = header(&r, "etag");
    if (!bb_utf8_valid(etag.ptr, etag.len)) {
        response_free(&r);
        return BB_MALFORMED;
    }
    entry->raw = r.raw;
    entry->etag = etag;
    entry->value = r.body;
    return 0;
}

/* A scanner over daprd's bulk answer: spans of JSON values, no decoding. */
typedef struct {
    const uint8_t *at, *end;
} scan;

static void scan_ws(scan *s) {
    while (s->at < s->end && (*s->at == ' ' || *s->at == '\t' || *s->at == '\n' || *s->at == '\r')) s->at++;
}

static bool scan_eat(scan *s, uint8_t c) {
    scan_ws(s);
    if (s->at < s->end && *s->at == c) {
        s->at++;
        return true;
    }
    return false;
}

/* Skips one JSON value (strings with their escapes, nesting at most 64). */
static bool scan_value(scan *s, int depth) {
    scan_ws(s);
    if (s->at >= s->end || depth > 64) return false;
    uint8_t c = *s->at;
    if (c == '"') {
        for (s->at++; s->at < s->end; s->at++) {
            if (*s->at == '\\') {
                s->at++;
            } else if (*s->at == '"') {
                s->at++;
                return true;
            } else if (*s->at < 0x20) {
                return false;
            }
        }
        return false;
    }
    if (c == '{' || c == '[') {
        uint8_t close = c == '{' ? '}' : ']';
        s->at++;
        if (scan_eat(s, close)) return true;
        do {
            if (close == '}' && (!scan_value(s, depth + 1) || !scan_eat(s, ':'))) return false;
            if (!scan_value(s, depth + 1)) return false;
        } while (scan_eat(s, ','));
        return scan_eat(s, close);
    }
    const uint8_t *start = s->at;
    while (s->at < s->end && ((*s->at && strchr("-+.eE", *s->at)) || (*s->at >= '0' && *s->at <= '9') ||
                              (*s->at >= 'a' && *s->at <= 'z'))) {
        s->at++;
    }
    return s->at > start;
}

/* The unescaped text of a JSON string literal, through the subset parser. */
static bool json_string(bb_slice literal, bb_buf *out) {
    bb_buf doc = {0};
    bb_buf_append_cstr(&doc, "{\"s\":");
    bb_buf_append_slice(&doc, literal);
    bb_buf_push(&doc, '}');
    bb_json_object obj;
    bool ok = bb_json_parse(doc.data, doc.len, &obj);
    bb_buf_free(&doc);
    if (!ok) return false;
    const bb_json_value *v = bb_json_get(&obj, BB_LIT("s"));
    ok = v && v->kind == BB_JSON_STRING;
    if (ok) bb_buf_append_slice(out, v->string);
    bb_json_free(&obj);
    return ok;
}

/* Per requested key: whether daprd answered it, its data (JSON text, empty
 * when absent) and etag. */
typedef struct {
    bool answered, has_data;
    bb_slice data;
    bb_buf etag;
} bulk_answer;

/* Reads the array of items into answers (by key, so daprd's order does not
 * matter); false for an answer that is not that shape or an item's error. */
static bool read_bulk(bb_slice body, const bb_slice *keys, size_t count, bulk_answer *answers) {
    scan s = {body.ptr, body.ptr + body.len};
    if (!scan_eat(&s, '[')) return false;
    if (scan_eat(&s, ']')) {
        scan_ws(&s);
        return s.at == s.end;
    }
    bool ok = true;
    do {
        if (!scan_eat(&s, '{')) return false;
        bb_buf key = {0}, etag = {0};
        bool has_key = false, has_data = false, failed = false;
        bb_slice data = {0};
        if (!scan_eat(&s, '}')) {
            do {
                scan_ws(&s);
                const uint8_t *name = s.at;
                if (!scan_value(&s, 0)) {
                    ok = false;
                    break;
                }
                bb_slice bare = {name, (size_t)(s.at - name)};
                if (!scan_eat(&s, ':')) {
                    ok = false;
                    break;
                }
                scan_ws(&s);
                const uint8_t *start = s.at;
                if (!scan_value(&s, 0)) {
                    ok = false;
                    break;
                }
                bb_slice v = {start, (size_t)(s.at - start)};
                if (bb_slice_eq(bare, BB_LIT("\"key\""))) {
                    has_key = json_string(v, &key);
                    if (!has_key) ok = false;
                } else if (bb_slice_eq(bare, BB_LIT("\"data\""))) {
                    has_data = true;
                    data = v;
                } else if (bb_slice_eq(bare, BB_LIT("\"etag\""))) {
                    if (!json_string(v, &etag)) ok = false;
                } else if (bb_slice_eq(bare, BB_LIT("\"error\""))) {
                    failed = !bb_slice_eq(v, BB_LIT("\"\""));
                }
            } while (ok && scan_eat(&s, ','));
            if (ok && !scan_eat(&s, '}')) ok = false;
        }
        if (ok && (!has_key || failed)) ok = false;
        for (size_t i = 0; ok && i < count; i++) {
            if (answers[i].answered || !bb_slice_eq(keys[i], bb_buf_slice(&key))) continue;
            answers[i].answered = true;
            answers[i].has_data = has_data;
            answers[i].data = data;
            bb_buf_append_slice(&answers[i].etag, bb_buf_slice(&etag));
        }
        bb_buf_free(&key);
        bb_buf_free(&etag);
    } while (ok && scan_eat(&s, ','));
    if (!ok || !scan_eat(&s, ']')) return false;
    scan_ws(&s);
    return s.at == s.end;
}

int64_t bb_state_get_bulk(bb_slice store, const bb_slice *keys, size_t count, bb_bulk_result *result) {
    *result = (bb_bulk_result){0};
    if (count == 0 || count > BB_MAX_BULK_KEYS) return BB_INVALID_ARGUMENT;
    bb_buf url = {0}, body = {0};
    state_url(&url, store, NULL);
    bb_buf_append_cstr(&url, "/bulk");
    bb_buf_append_cstr(&body, "{\"keys\":[");
    for (size_t i = 0; i < count; i++) {
        if (i) bb_buf_push(&body, ',');
        bb_json_write_string(&body, keys[i]);
    }
    bb_buf_append_cstr(&body, "]}");
    response r;
    int64_t err = send(BB_LIT("POST"), bb_buf_slice(&url), BB_LIT("content-type: application/json\n"),
                       bb_buf_slice(&body), &r);
    bb_buf_free(&url);
    bb_buf_free(&body);
    if (err) return err;
    if (r.status != 200) {
        response_free(&r);
        return BB_UNAVAILABLE;
    }
    bulk_answer answers[BB_MAX_BULK_KEYS] = {0};
    bool ok = read_bulk(r.body, keys, count, answers);
    /* A key asked twice is answered by daprd's one item for it. */
    for (size_t i = 0; ok && i < count; i++) {
        for (size_t j = 0; !answers[i].answered && j < i; j++) {
            if (answers[j].answered && bb_slice_eq(keys[i], keys[j])) {
                answers[i].answered = true;
                answers[i].has_data = answers[j].has_data;
                answers[i].data = answers[j].data;
                bb_buf_append_slice(&answers[i].etag, bb_buf_slice(&answers[j].etag));
            }
        }
        ok = answers[i].answered;
    }
    bb_buf packed = {0};
    for (size_t i = 0; i < count; i++) {
        if (ok) bb_bulk_append_item(&packed, answers[i].has_data, bb_buf_slice(&answers[i].etag), answers[i].data);
        bb_buf_free(&answers[i].etag);
    }
    response_free(&r);
    if (!ok) {
        bb_buf_free(&packed);
        return BB_UNAVAILABLE;
    }
    return bb_bulk_parse(packed.data, packed.len, count, result);
}

void bb_state_entry_free(bb_state_entry *entry) {
    free(entry->raw);
    *entry = (bb_state_entry){0};
}

int64_t bb_state_set(bb_slice store, bb_slice key, bb_slice value, bb_slice etag, bb_concurrency concurrency) {
    bb_buf url = {0}, body = {0};
    state_url(&url, store, NULL);
    bb_buf_append_cstr(&body, "[{\"key\":");
    bb_json_write_string(&body, key);
    bb_buf_append_cstr(&body, ",\"value\":");
    bb_buf_append_slice(&body, value); /* JSON text, stored by Dapr as it is */
    if (etag.len) {
        bb_buf_append_cstr(&body, ",\"etag\":");
        bb_json_write_string(&body, etag);
    }
    bb_buf_append_cstr(&body, ",\"options\":{\"concurrency\":\"");
    bb_buf_append_cstr(&body, concurrency == BB_FIRST_WRITE ? "first-write" : "last-write");
    bb_buf_append_cstr(&body, "\"}}]");
    response r;
    int64_t err = send(BB_LIT("POST"), bb_buf_slice(&url), BB_LIT("content-type: application/json\n"),
                       bb_buf_slice(&body), &r);
    bb_buf_free(&url);
    bb_buf_free(&body);
    return status_only(err, &r, true);
}

int64_t bb_state_delete(bb_slice store, bb_slice key, bb_slice etag, bb_concurrency concurrency) {
    bb_buf url = {0}, headers = {0};
    state_url(&url, store, &key);
    bb_buf_append_cstr(&url, concurrency == BB_FIRST_WRITE ? "?concurrency=first-write" : "?concurrency=last-write");
    if (etag.len) {
        bb_buf_append_cstr(&headers, "if-match: ");
        bb_buf_append_slice(&headers, etag);
        bb_buf_push(&headers, '\n');
    }
    response r;
    int64_t err = send(BB_LIT("DELETE"), bb_buf_slice(&url), bb_buf_slice(&headers), (bb_slice){0}, &r);
    bb_buf_free(&url);
    bb_buf_free(&headers);
    return status_only(err, &r, true);
}

int64_t bb_publish(bb_slice pubsub, bb_slice topic, bb_slice data, bb_slice content_type) {
    bb_buf url = {0}, headers = {0};
    bb_buf_append_cstr(&url, "/v1.0/publish/");
    append_path_segment(&url, pubsub);
    bb_buf_push(&url, '/');
    append_path_segment(&url, topic);
    bb_buf_append_cstr(&headers, "content-type: ");
    if (content_type.len) {
        bb_buf_append_slice(&headers, content_type);
    } else {
        bb_buf_append_cstr(&headers, "application/json");
    }
    bb_buf_push(&headers, '\n');
    response r;
    int64_t err = send(BB_LIT("POST"), bb_buf_slice(&url), bb_buf_slice(&headers), data, &r);
    bb_buf_free(&url);
    bb_buf_free(&headers);
    return status_only(err, &r, false);
}

int64_t bb_invoke_binding(bb_slice name, bb_slice operation, bb_slice data, bb_buf *out) {
    bb_buf url = {0}, body = {0};
    bb_buf_append_cstr(&url, "/v1.0/bindings/");
    append_path_segment(&url, name);
    bb_buf_append_cstr(&body, "{\"operation\":");
    bb_json_write_string(&body, operation);
    bb_buf_append_cstr(&body, ",\"data\":");
    bb_json_write_string(&body, data);
    bb_buf_push(&body, '}');
    response r;
    int64_t err = send(BB_LIT("POST"), bb_buf_slice(&url), BB_LIT("content-type: application/json\n"),
                       bb_buf_slice(&body), &r);
    bb_buf_free(&url);
    bb_buf_free(&body);
    if (err) return err;
    if (r.status != 200 && r.status != 204) {
        response_free(&r);
        return BB_UNAVAILABLE;
    }
    bb_buf_append_slice(out, r.body);
    response_free(&r);
    return 0;
}

void bb_log(bb_log_level level, bb_slice message) {
    (void)level;
    (void)message;
}
