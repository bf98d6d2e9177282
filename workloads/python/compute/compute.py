"""`compute` (workloads/ABI.md): SHA-256 (FIPS 180-4, written out here, not
hashlib) of `data`, then iterated over the 32-byte digest."""

from blueprint import GuestError, parse_request, write_json

FIELDS = ("data", "iterations")
MASK = 0xFFFFFFFF


# The round constants of FIPS 180-4 (4.2.2), written out: computing them (cube
# roots of the first 64 primes) would cost every fresh instance ~0.4 ms.
K = (
    0x428A2F98, 0x71374491, 0xB5C0FBCF, 0xE9B5DBA5, 0x3956C25B, 0x59F111F1, 0x923F82A4, 0xAB1C5ED5,
    0xD807AA98, 0x12835B01, 0x243185BE, 0x550C7DC3, 0x72BE5D74, 0x80DEB1FE, 0x9BDC06A7, 0xC19BF174,
    0xE49B69C1, 0xEFBE4786, 0x0FC19DC6, 0x240CA1CC, 0x2DE92C6F, 0x4A7484AA, 0x5CB0A9DC, 0x76F988DA,
    0x983E5152, 0xA831C66D, 0xB00327C8, 0xBF597FC7, 0xC6E00BF3, 0xD5A79147, 0x06CA6351, 0x14292967,
    0x27B70A85, 0x2E1B2138, 0x4D2C6DFC, 0x53380D13, 0x650A7354, 0x766A0ABB, 0x81C2C92E, 0x92722C85,
    0xA2BFE8A1, 0xA81A664B, 0xC24B8B70, 0xC76C51A3, 0xD192E819, 0xD6990624, 0xF40E3585, 0x106AA070,
    0x19A4C116, 0x1E376C08, 0x2748774C, 0x34B0BCB5, 0x391C0CB3, 0x4ED8AA4A, 0x5B9CCA4F, 0x682E6FF3,
    0x748F82EE, 0x78A5636F, 0x84C87814, 0x8CC70208, 0x90BEFFFA, 0xA4506CEB, 0xBEF9A3F7, 0xC67178F2,
)
H0 = (0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A, 0x510E527F, 0x9B05688C, 0x1F83D9AB, 0x5BE0CD19)


def handle(request):
    fields = parse_request(request, FIELDS)
    if "data" not in fields:
        raise GuestError("data is required")
    data = fields["data"]
    if not isinstance(data, str):
        raise GuestError("data must be a string")
    if "iterations" not in fields:
        raise GuestError("iterations is required")
    iterations = fields["iterations"]
    if isinstance(iterations, bool) or not isinstance(iterations, int) or not 1 <= iterations <= 100000:
        raise GuestError("iterations must be an integer from 1 to 100000")
    digest = sha256(data.encode())
    for _ in range(iterations - 1):
        digest = sha256(digest)
    return write_json((("iterations", iterations), ("sha256", digest.hex())))


def sha256(message):
    # Padding: 0x80, zeros, then the 64-bit big-endian bit length.
    length = len(message)
    padded = message + b"\x80" + b"\x00" * ((55 - length) % 64) + (length * 8).to_bytes(8, "big")
    h = list(H0)
    for block in range(0, len(padded), 64):
        w = [int.from_bytes(padded[block + 4 * t : block + 4 * t + 4], "big") for t in range(16)]
        for t in range(16, 64):
            x, y = w[t - 15], w[t - 2]
            s0 = ((x >> 7 | x << 25) ^ (x >> 18 | x << 14) ^ (x >> 3)) & MASK
            s1 = ((y >> 17 | y << 15) ^ (y >> 19 | y << 13) ^ (y >> 10)) & MASK
            w.append((w[t - 16] + s0 + w[t - 7] + s1) & MASK)
        a, b, c, d, e, f, g, hh = h
        for t in range(64):
            s1 = ((e >> 6 | e << 26) ^ (e >> 11 | e << 21) ^ (e >> 25 | e << 7)) & MASK
            ch = (e & f) ^ (~e & g)
            t1 = (hh + s1 + ch + K[t] + w[t]) & MASK
            s0 = ((a >> 2 | a << 30) ^ (a >> 13 | a << 19) ^ (a >> 22 | a << 10)) & MASK
            maj = (a & b) ^ (a & c) ^ (b & c)
            hh, g, f, e, d, c, b, a = g, f, e, (d + t1) & MASK, c, b, a, (t1 + s0 + maj) & MASK
        h = [(x + y) & MASK for x, y in zip(h, (a, b, c, d, e, f, g, hh))]
    return b"".join(x.to_bytes(4, "big") for x in h)
