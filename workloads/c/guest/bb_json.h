/*
 * The JSON subset of the JSON workloads (workloads/ABI.md, "The JSON subset
 * the JSON workloads read and write"): one flat object whose members are
 * strings, signed 64-bit integers, true, false or null; and the one compact
 * form every language writes.
 */
#ifndef BB_JSON_H
#define BB_JSON_H

#include "bb_guest.h"

typedef enum { BB_JSON_STRING, BB_JSON_INT, BB_JSON_TRUE, BB_JSON_FALSE, BB_JSON_NULL } bb_json_kind;

typedef struct {
    bb_json_kind kind;
    bb_slice string; /* BB_JSON_STRING: the unescaped UTF-8 bytes */
    int64_t integer; /* BB_JSON_INT */
} bb_json_value;

typedef struct {
    bb_slice key; /* unescaped */
    bb_json_value value;
} bb_json_member;

/* A parsed object: members in input order. Keys and string values point
 * into `strings`, which bb_json_free releases with the members. */
typedef struct {
    bb_json_member *members;
    size_t len;
    uint8_t *strings;
} bb_json_object;

/* Parses input; false (and nothing to free) when it is outside the subset. */
bool bb_json_parse(const uint8_t *input, size_t len, bb_json_object *object);
void bb_json_free(bb_json_object *object);

/* The member called key, or NULL. */
const bb_json_value *bb_json_get(const bb_json_object *object, bb_slice key);

/* BB_OK when every key is one of the n in allowed; otherwise the guest
 * error `unknown field "<key>"` for the first other key, in input order. */
bb_status bb_json_only(const bb_json_object *object, const bb_slice *allowed, size_t n, bb_buf *out);

/* A workload on one JSON object: parses input (outside the subset: the
 * guest error `invalid JSON`, before any check of the workload's own), runs
 * run on it and frees it. */
bb_status bb_json_workload(const uint8_t *input, size_t len, bb_buf *out,
                           bb_status (*run)(const bb_json_object *object, bb_buf *out));

/* Output form: `"` + text with `"` `\` and U+0000-U+001F escaped + `"`. */
void bb_json_write_string(bb_buf *out, bb_slice text);
/* `"key":` */
void bb_json_write_key(bb_buf *out, bb_slice key);

#endif
