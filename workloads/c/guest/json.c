/* The JSON subset parser and writer (bb_json.h). */
#include <stdlib.h>
#include <string.h>

#include "bb_json.h"

typedef struct {
    const uint8_t *at;
    const uint8_t *end;
    uint8_t *strings; /* where the next unescaped string goes */
} parser;

static void skip_ws(parser *p) {
    while (p->at < p->end && (*p->at == ' ' || *p->at == '\t' || *p->at == '\n' || *p->at == '\r')) {
        p->at++;
    }
}

static bool eat(parser *p, uint8_t c) {
    if (p->at < p->end && *p->at == c) {
        p->at++;
        return true;
    }
    return false;
}

static bool literal(parser *p, const char *word) {
    size_t n = strlen(word);
    if ((size_t)(p->end - p->at) < n || memcmp(p->at, word, n) != 0) {
        return false;
    }
    p->at += n;
    return true;
}

static int hex4(parser *p) {
    if (p->end - p->at < 4) {
        return -1;
    }
    int v = 0;
    for (int i = 0; i < 4; i++) {
        uint8_t c = *p->at++;
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0) {
            return -1;
        }
        v = v * 16 + d;
    }
    return v;
}

static void put_utf8(parser *p, uint32_t cp) {
    uint8_t *o = p->strings;
    if (cp < 0x80) {
        *o++ = (uint8_t)cp;
    } else if (cp < 0x800) {
        *o++ = (uint8_t)(0xc0 | cp >> 6);
        *o++ = (uint8_t)(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        *o++ = (uint8_t)(0xe0 | cp >> 12);
        *o++ = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
        *o++ = (uint8_t)(0x80 | (cp & 0x3f));
    } else {
        *o++ = (uint8_t)(0xf0 | cp >> 18);
        *o++ = (uint8_t)(0x80 | (cp >> 12 & 0x3f));
        *o++ = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
        *o++ = (uint8_t)(0x80 | (cp & 0x3f));
    }
    p->strings = o;
}

/* After the opening quote. The input is valid UTF-8 already, so raw bytes
 * are copied as they are; an unescaped string is never longer than its
 * source, so the strings buffer (the input's size) cannot overflow. */
static bool string(parser *p, bb_slice *out) {
    const uint8_t *start = p->strings;
    for (;;) {
        if (p->at == p->end) {
            return false;
        }
        uint8_t c = *p->at++;
        if (c == '"') {
            break;
        }
        if (c < 0x20) {
            return false;
        }
        if (c != '\\') {
            *p->strings++ = c;
            continue;
        }
        if (p->at == p->end) {
            return false;
        }
        c = *p->at++;
        switch (c) {
        case '"': case '\\': case '/': *p->strings++ = c; break;
        case 'b': *p->strings++ = '\b'; break;
        case 'f': *p->strings++ = '\f'; break;
        case 'n': *p->strings++ = '\n'; break;
        case 'r': *p->strings++ = '\r'; break;
        case 't': *p->strings++ = '\t'; break;
        case 'u': {
            int cp = hex4(p);
            if (cp < 0 || (cp >= 0xdc00 && cp <= 0xdfff)) {
                return false;
            }
            if (cp >= 0xd800 && cp <= 0xdbff) {
                if (!literal(p, "\\u")) {
                    return false;
                }
                int low = hex4(p);
                if (low < 0xdc00 || low > 0xdfff) {
                    return false;
                }
                cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
            }
            put_utf8(p, (uint32_t)cp);
            break;
        }
        default:
            return false;
        }
    }
    *out = (bb_slice){start, (size_t)(p->strings - start)};
    return true;
}

/* -?(0|[1-9][0-9]*) within the signed 64-bit range. */
static bool integer(parser *p, int64_t *out) {
    bool negative = eat(p, '-');
    if (p->at == p->end || *p->at < '0' || *p->at > '9') {
        return false;
    }
    uint64_t limit = negative ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    uint64_t acc = 0;
    if (*p->at == '0') {
        p->at++;
    } else {
        while (p->at < p->end && *p->at >= '0' && *p->at <= '9') {
            uint64_t digit = (uint64_t)(*p->at++ - '0');
            if (acc > (limit - digit) / 10) {
                return false;
            }
            acc = acc * 10 + digit;
        }
    }
    *out = negative ? (int64_t)(0 - acc) : (int64_t)acc;
    return true;
}

static bool value(parser *p, bb_json_value *v) {
    if (p->at == p->end) {
        return false;
    }
    switch (*p->at) {
    case '"':
        p->at++;
        v->kind = BB_JSON_STRING;
        return string(p, &v->string);
    case 't': v->kind = BB_JSON_TRUE; return literal(p, "true");
    case 'f': v->kind = BB_JSON_FALSE; return literal(p, "false");
    case 'n': v->kind = BB_JSON_NULL; return literal(p, "null");
    default: v->kind = BB_JSON_INT; return integer(p, &v->integer);
    }
}

static bool members(parser *p, bb_json_object *o) {
    size_t cap = 0;
    skip_ws(p);
    if (eat(p, '}')) {
        return true;
    }
    for (;;) {
        bb_json_member m;
        skip_ws(p);
        if (!eat(p, '"') || !string(p, &m.key)) return false;
        skip_ws(p);
        if (!eat(p, ':')) return false;
        skip_ws(p);
        if (!value(p, &m.value)) return false;
        for (size_t i = 0; i < o->len; i++) {
            if (bb_slice_eq(o->members[i].key, m.key)) {
                return false; /* keys are unique after unescaping */
            }
        }
        if (o->len == cap) {
            cap = cap ? cap * 2 : 8;
            bb_json_member *grown = realloc(o->members, cap * sizeof *grown);
            if (grown == NULL) __builtin_trap();
            o->members = grown;
        }
        o->members[o->len++] = m;
        skip_ws(p);
        if (eat(p, '}')) return true;
        if (!eat(p, ',')) return false;
    }
}

bool bb_json_parse(const uint8_t *input, size_t len, bb_json_object *object) {
    *object = (bb_json_object){0};
    if (!bb_utf8_valid(input, len)) {
        return false;
    }
    object->strings = malloc(len ? len : 1);
    if (object->strings == NULL) __builtin_trap();
    parser p = {input, input + len, object->strings};
    skip_ws(&p);
    bool ok = eat(&p, '{') && members(&p, object);
    skip_ws(&p);
    if (!ok || p.at != p.end) {
        bb_json_free(object);
        return false;
    }
    return true;
}

void bb_json_free(bb_json_object *object) {
    free(object->members);
    free(object->strings);
    *object = (bb_json_object){0};
}

const bb_json_value *bb_json_get(const bb_json_object *object, bb_slice key) {
    for (size_t i = 0; i < object->len; i++) {
        if (bb_slice_eq(object->members[i].key, key)) {
            return &object->members[i].value;
        }
    }
    return NULL;
}

bb_status bb_json_only(const bb_json_object *object, const bb_slice *allowed, size_t n, bb_buf *out) {
    for (size_t i = 0; i < object->len; i++) {
        bool known = false;
        for (size_t k = 0; k < n && !known; k++) {
            known = bb_slice_eq(object->members[i].key, allowed[k]);
        }
        if (!known) {
            bb_buf_clear(out);
            bb_buf_append_cstr(out, "unknown field \"");
            bb_buf_append_slice(out, object->members[i].key);
            bb_buf_push(out, '"');
            return BB_ERROR;
        }
    }
    return BB_OK;
}

bb_status bb_json_workload(const uint8_t *input, size_t len, bb_buf *out,
                           bb_status (*run)(const bb_json_object *object, bb_buf *out)) {
    bb_json_object object;
    if (!bb_json_parse(input, len, &object)) {
        return bb_fail(out, "invalid JSON");
    }
    bb_status status = run(&object, out);
    bb_json_free(&object);
    return status;
}

void bb_json_write_string(bb_buf *out, bb_slice text) {
    static const char hex[] = "0123456789abcdef";
    bb_buf_reserve(out, text.len + 2);
    bb_buf_push(out, '"');
    for (size_t i = 0; i < text.len; i++) {
        uint8_t c = text.ptr[i];
        if (c == '"' || c == '\\') {
            bb_buf_push(out, '\\');
            bb_buf_push(out, c);
        } else if (c < 0x20) {
            uint8_t esc[6] = {'\\', 'u', '0', '0', (uint8_t)hex[c >> 4], (uint8_t)hex[c & 15]};
            bb_buf_append(out, esc, sizeof esc);
        } else {
            bb_buf_push(out, c);
        }
    }
    bb_buf_push(out, '"');
}

void bb_json_write_key(bb_buf *out, bb_slice key) {
    bb_json_write_string(out, key);
    bb_buf_push(out, ':');
}
