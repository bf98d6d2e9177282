/*
 * compute (workloads/ABI.md): SHA-256 (FIPS 180-4, implemented here, as in
 * every language) of `data`, then iterated over the 32-byte digest,
 * `iterations` times in all. CPU-bound and pure.
 */
#include <math.h>
#include <string.h>

#include "bb_json.h"

/*
 * The round constants of FIPS 180-4 (4.2.2): the first 32 bits of the
 * fractional parts of the cube roots of the first 64 primes, computed from
 * that definition by the instance's first hash.
 */
static uint32_t K[64];
static int K_ready;

static void compute_round_constants(void) {
    int i = 0;
    for (int n = 2; i < 64; n++) {
        int prime = 1;
        for (int d = 2; prime && d * d <= n; d++) prime = n % d != 0;
        if (!prime) continue;
        double root = cbrt(n);
        K[i++] = (uint32_t)((root - floor(root)) * 4294967296.0);
    }
    K_ready = 1;
}

static uint32_t rotr(uint32_t x, int n) { return x >> n | x << (32 - n); }

static void compress(uint32_t h[8], const uint8_t block[64]) {
    uint32_t w[64];
    for (int i = 0; i < 16; i++) {
        w[i] = (uint32_t)block[4 * i] << 24 | (uint32_t)block[4 * i + 1] << 16 | (uint32_t)block[4 * i + 2] << 8 |
               block[4 * i + 3];
    }
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ w[i - 15] >> 3;
        uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ w[i - 2] >> 10;
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
    for (int i = 0; i < 64; i++) {
        uint32_t t1 = hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
        uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        hh = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
}

static void sha256(const uint8_t *data, size_t len, uint8_t digest[32]) {
    if (!K_ready) compute_round_constants();
    uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    size_t full = len / 64 * 64;
    for (size_t i = 0; i < full; i += 64) compress(h, data + i);
    /* The tail, 0x80, zeros, and the bit length: one or two blocks. */
    uint8_t tail[128] = {0};
    size_t rest = len - full;
    memcpy(tail, data + full, rest);
    tail[rest] = 0x80;
    size_t blocks = rest < 56 ? 1 : 2;
    uint64_t bits = (uint64_t)len * 8;
    for (int i = 0; i < 8; i++) tail[blocks * 64 - 1 - i] = (uint8_t)(bits >> (8 * i));
    for (size_t i = 0; i < blocks; i++) compress(h, tail + 64 * i);
    for (int i = 0; i < 8; i++) {
        digest[4 * i] = (uint8_t)(h[i] >> 24);
        digest[4 * i + 1] = (uint8_t)(h[i] >> 16);
        digest[4 * i + 2] = (uint8_t)(h[i] >> 8);
        digest[4 * i + 3] = (uint8_t)h[i];
    }
}

static const bb_slice fields[] = {BB_LIT("data"), BB_LIT("iterations")};

static bb_status run(const bb_json_object *obj, bb_buf *out) {
    if (bb_json_only(obj, fields, 2, out) != BB_OK) return BB_ERROR;
    const bb_json_value *data = bb_json_get(obj, BB_LIT("data"));
    if (!data) return bb_fail(out, "data is required");
    if (data->kind != BB_JSON_STRING) return bb_fail(out, "data must be a string");
    const bb_json_value *iterations = bb_json_get(obj, BB_LIT("iterations"));
    if (!iterations) return bb_fail(out, "iterations is required");
    if (iterations->kind != BB_JSON_INT || iterations->integer < 1 || iterations->integer > 100000) {
        return bb_fail(out, "iterations must be an integer from 1 to 100000");
    }
    uint8_t digest[32];
    sha256(data->string.ptr, data->string.len, digest);
    for (int64_t i = 1; i < iterations->integer; i++) sha256(digest, sizeof digest, digest);

    bb_buf_append_cstr(out, "{\"iterations\":");
    bb_buf_append_i64(out, iterations->integer);
    bb_buf_append_cstr(out, ",\"sha256\":\"");
    bb_buf_append_hex(out, digest, sizeof digest);
    bb_buf_append_cstr(out, "\"}");
    return BB_OK;
}

bb_status bb_workload(const uint8_t *input, size_t len, bb_buf *out) {
    return bb_json_workload(input, len, out, run);
}
