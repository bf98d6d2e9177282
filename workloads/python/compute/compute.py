"""`compute` (workloads/ABI.md): SHA-256 (FIPS 180-4, written out here, not
hashlib) of `data`, then iterated over the 32-byte digest."""

import itertools
import math

from blueprint import GuestError, parse_request, write_json

FIELDS = ("data", "iterations")
MASK = 0xFFFFFFFF


def round_constants():
    """The round constants of FIPS 180-4 (4.2.2): the first 32 bits of the
    fractional parts of the cube roots of the first 64 primes, computed from
    that definition when the instance imports this module."""
    primes = (n for n in itertools.count(2) if all(n % d for d in range(2, math.isqrt(n) + 1)))
    return tuple(int(math.modf(math.cbrt(p))[0] * 2**32) for p in itertools.islice(primes, 64))


K = round_constants()
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
