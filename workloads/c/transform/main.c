/*
 * transform (workloads/ABI.md): normalises a flat record. Keys become
 * lower_snake_case, secrets are redacted, strings have their whitespace
 * trimmed and collapsed, emails are lower-cased. Pure.
 */
#include <stdlib.h>
#include <string.h>

#include "bb_json.h"

static const bb_slice redacted_keys[] = {
    BB_LIT("password"), BB_LIT("secret"), BB_LIT("token"), BB_LIT("ssn"), BB_LIT("card_number"),
};

static bool is_ws(uint8_t c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

/* Trimmed, inner whitespace runs as one space, and for emails ASCII lower case. */
static void write_clean_string(bb_buf *out, bb_slice s, bool lower) {
    bb_buf clean = {0};
    bool pending_space = false;
    for (size_t i = 0; i < s.len; i++) {
        uint8_t c = s.ptr[i];
        if (is_ws(c)) {
            pending_space = clean.len > 0;
            continue;
        }
        if (pending_space) {
            bb_buf_push(&clean, ' ');
            pending_space = false;
        }
        bb_buf_push(&clean, lower && c >= 'A' && c <= 'Z' ? (uint8_t)(c + 32) : c);
    }
    bb_json_write_string(out, bb_buf_slice(&clean));
    bb_buf_free(&clean);
}

static bb_status normalise(const bb_json_object *obj, bb_buf *out) {
    /* The normalised keys, back to back, and where each one ends. */
    bb_buf keys = {0};
    size_t *ends = calloc(obj->len ? obj->len : 1, sizeof *ends);
    if (ends == NULL) __builtin_trap();
    bb_status status = BB_OK;

    bb_buf_push(out, '{');
    for (size_t i = 0; i < obj->len; i++) {
        const bb_json_member *m = &obj->members[i];
        size_t start = keys.len;
        for (size_t k = 0; k < m->key.len; k++) {
            uint8_t c = m->key.ptr[k];
            bb_buf_push(&keys, c >= 'A' && c <= 'Z' ? (uint8_t)(c + 32) : c == '-' || c == ' ' ? '_' : c);
        }
        ends[i] = keys.len;
        bb_slice key = {keys.data + start, keys.len - start};
        for (size_t j = 0; j < i; j++) {
            size_t from = j ? ends[j - 1] : 0;
            if (bb_slice_eq((bb_slice){keys.data + from, ends[j] - from}, key)) {
                bb_buf_clear(out);
                bb_buf_append_cstr(out, "duplicate field \"");
                bb_buf_append_slice(out, key);
                bb_buf_append_cstr(out, "\" after key normalisation");
                status = BB_ERROR;
                goto done;
            }
        }
        if (i) bb_buf_push(out, ',');
        bb_json_write_key(out, key);

        bool redact = false;
        for (size_t r = 0; r < sizeof redacted_keys / sizeof *redacted_keys; r++) {
            redact = redact || bb_slice_eq(key, redacted_keys[r]);
        }
        const bb_json_value *v = &m->value;
        if (redact) {
            bb_buf_append_cstr(out, "\"[redacted]\"");
        } else if (v->kind == BB_JSON_STRING) {
            write_clean_string(out, v->string, bb_slice_eq(key, BB_LIT("email")));
        } else if (v->kind == BB_JSON_INT) {
            bb_buf_append_i64(out, v->integer);
        } else {
            bb_buf_append_cstr(out, v->kind == BB_JSON_TRUE ? "true" : v->kind == BB_JSON_FALSE ? "false" : "null");
        }
    }
    bb_buf_push(out, '}');
done:
    free(ends);
    bb_buf_free(&keys);
    return status;
}

bb_status bb_workload(const uint8_t *input, size_t len, bb_buf *out) {
    return bb_json_workload(input, len, out, normalise);
}
