/* bb_buf, slices, UTF-8 and error texts: what every flavour links. */
#include <stdlib.h>
#include <string.h>

#include "bb_guest.h"

void bb_buf_reserve(bb_buf *buf, size_t extra) {
    if (buf->cap - buf->len >= extra) {
        return;
    }
    if (extra > SIZE_MAX / 2 - buf->len) {
        __builtin_trap();
    }
    size_t cap = buf->cap ? buf->cap * 2 : 64;
    if (cap < buf->len + extra) {
        cap = buf->len + extra;
    }
    uint8_t *data = realloc(buf->data, cap);
    if (data == NULL) {
        __builtin_trap(); /* out of memory: a guest fault, as in Rust */
    }
    buf->data = data;
    buf->cap = cap;
}

void bb_buf_append(bb_buf *buf, const void *bytes, size_t len) {
    if (len == 0) {
        return;
    }
    bb_buf_reserve(buf, len);
    memcpy(buf->data + buf->len, bytes, len);
    buf->len += len;
}

void bb_buf_append_slice(bb_buf *buf, bb_slice bytes) { bb_buf_append(buf, bytes.ptr, bytes.len); }

void bb_buf_append_cstr(bb_buf *buf, const char *text) { bb_buf_append(buf, text, strlen(text)); }

void bb_buf_push(bb_buf *buf, uint8_t byte) {
    bb_buf_reserve(buf, 1);
    buf->data[buf->len++] = byte;
}

void bb_buf_append_u64(bb_buf *buf, uint64_t value) {
    char digits[20];
    size_t n = 0;
    do {
        digits[sizeof digits - 1 - n++] = (char)('0' + value % 10);
        value /= 10;
    } while (value != 0);
    bb_buf_append(buf, digits + sizeof digits - n, n);
}

void bb_buf_append_i64(bb_buf *buf, int64_t value) {
    if (value < 0) {
        bb_buf_push(buf, '-');
        /* -(value + 1) + 1 avoids overflowing on INT64_MIN */
        bb_buf_append_u64(buf, (uint64_t)(-(value + 1)) + 1);
    } else {
        bb_buf_append_u64(buf, (uint64_t)value);
    }
}

void bb_buf_append_hex(bb_buf *buf, const uint8_t *bytes, size_t len) {
    static const char hex[] = "0123456789abcdef";
    bb_buf_reserve(buf, len * 2);
    for (size_t i = 0; i < len; i++) {
        buf->data[buf->len++] = (uint8_t)hex[bytes[i] >> 4];
        buf->data[buf->len++] = (uint8_t)hex[bytes[i] & 15];
    }
}

void bb_buf_clear(bb_buf *buf) { buf->len = 0; }

void bb_buf_free(bb_buf *buf) {
    free(buf->data);
    *buf = (bb_buf){0};
}

bb_status bb_fail(bb_buf *out, const char *message) {
    bb_buf_clear(out);
    bb_buf_append_cstr(out, message);
    return BB_ERROR;
}

bool bb_slice_eq(bb_slice a, bb_slice b) {
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

bool bb_utf8_valid(const uint8_t *s, size_t len) {
    size_t i = 0;
    while (i < len) {
        uint8_t c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t need;
        uint8_t lo = 0x80, hi = 0xbf; /* allowed range of the second byte */
        if (c >= 0xc2 && c <= 0xdf) {
            need = 1;
        } else if (c >= 0xe0 && c <= 0xef) {
            need = 2;
            if (c == 0xe0) lo = 0xa0;      /* no overlongs */
            else if (c == 0xed) hi = 0x9f; /* no surrogates */
        } else if (c >= 0xf0 && c <= 0xf4) {
            need = 3;
            if (c == 0xf0) lo = 0x90;      /* no overlongs */
            else if (c == 0xf4) hi = 0x8f; /* nothing above U+10FFFF */
        } else {
            return false;
        }
        if (len - i <= need) {
            return false;
        }
        if (s[i + 1] < lo || s[i + 1] > hi) {
            return false;
        }
        for (size_t k = 2; k <= need; k++) {
            if ((s[i + k] & 0xc0) != 0x80) {
                return false;
            }
        }
        i += need + 1;
    }
    return true;
}

void bb_buf_append_error(bb_buf *buf, int64_t code) {
    switch (code) {
    case BB_NOT_FOUND: bb_buf_append_cstr(buf, "not found"); return;
    case BB_ETAG_MISMATCH: bb_buf_append_cstr(buf, "etag mismatch"); return;
    case BB_INVALID_ARGUMENT: bb_buf_append_cstr(buf, "invalid argument"); return;
    case BB_UNAVAILABLE: bb_buf_append_cstr(buf, "unavailable"); return;
    case BB_NO_RESULT: bb_buf_append_cstr(buf, "no result"); return;
    case BB_BUFFER_TOO_SMALL: bb_buf_append_cstr(buf, "buffer too small"); return;
    case BB_NOT_PERMITTED: bb_buf_append_cstr(buf, "not permitted"); return;
    case BB_MALFORMED: bb_buf_append_cstr(buf, "malformed result"); return;
    default:
        bb_buf_append_cstr(buf, "unknown error code ");
        bb_buf_append_i64(buf, code);
    }
}

static void append_u32_le(bb_buf *out, uint32_t v) {
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    bb_buf_append(out, b, 4);
}

void bb_bulk_encode_keys(bb_buf *out, const bb_slice *keys, size_t count) {
    append_u32_le(out, (uint32_t)count);
    for (size_t i = 0; i < count; i++) {
        append_u32_le(out, (uint32_t)keys[i].len);
        bb_buf_append_slice(out, keys[i]);
    }
}

void bb_bulk_append_item(bb_buf *out, bool found, bb_slice etag, bb_slice value) {
    bb_buf_push(out, found ? 1 : 0);
    if (found) {
        append_u32_le(out, (uint32_t)etag.len);
        bb_buf_append_slice(out, etag);
        append_u32_le(out, (uint32_t)value.len);
        bb_buf_append_slice(out, value);
    }
}

/* Per key: 0, or 1, etag_len u32 LE, etag, value_len u32 LE, value. */
int64_t bb_bulk_parse(uint8_t *raw, size_t len, size_t count, bb_bulk_result *result) {
    *result = (bb_bulk_result){0};
    size_t at = 0;
    bool ok = count <= BB_MAX_BULK_KEYS;
    for (size_t i = 0; ok && i < count; i++) {
        bb_bulk_item *item = &result->items[i];
        if (at >= len || raw[at] > 1) {
            ok = false;
            break;
        }
        item->found = raw[at++] == 1;
        if (!item->found) {
            continue;
        }
        if (len - at < 4 || len - at - 4 < bb_u32_le(raw + at)) {
            ok = false;
            break;
        }
        item->etag = (bb_slice){raw + at + 4, bb_u32_le(raw + at)};
        at += 4 + item->etag.len;
        if (len - at < 4 || len - at - 4 < bb_u32_le(raw + at) || !bb_utf8_valid(item->etag.ptr, item->etag.len)) {
            ok = false;
            break;
        }
        item->value = (bb_slice){raw + at + 4, bb_u32_le(raw + at)};
        at += 4 + item->value.len;
    }
    if (!ok || at != len) {
        free(raw);
        *result = (bb_bulk_result){0};
        return BB_MALFORMED;
    }
    result->raw = raw;
    result->count = count;
    return 0;
}

void bb_bulk_result_free(bb_bulk_result *result) {
    free(result->raw);
    *result = (bb_bulk_result){0};
}
