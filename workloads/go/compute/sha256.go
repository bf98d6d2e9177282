package main

// SHA-256 as FIPS 180-4 defines it, written out plainly: the same rounds
// every language's compute workload runs.

import (
	"math"
	"math/bits"
)

// k holds the round constants of FIPS 180-4 (4.2.2): the first 32 bits of
// the fractional parts of the cube roots of the first 64 primes, computed
// from that definition when the instance starts.
var k = roundConstants()

func roundConstants() (k [64]uint32) {
	i := 0
primes:
	for n := 2; i < len(k); n++ {
		for d := 2; d*d <= n; d++ {
			if n%d == 0 {
				continue primes
			}
		}
		_, frac := math.Modf(math.Cbrt(float64(n)))
		k[i] = uint32(frac * (1 << 32))
		i++
	}
	return k
}

// sha256 is the digest of msg.
func sha256(msg []byte) [32]byte {
	h := [8]uint32{0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19}
	// Padding: 0x80, zeros to 56 mod 64, the bit length as big-endian u64.
	padded := make([]byte, 0, len(msg)+72)
	padded = append(padded, msg...)
	padded = append(padded, 0x80)
	for len(padded)%64 != 56 {
		padded = append(padded, 0)
	}
	bitLen := uint64(len(msg)) * 8
	for i := 7; i >= 0; i-- {
		padded = append(padded, byte(bitLen>>(8*i)))
	}
	var w [64]uint32
	for block := padded; len(block) > 0; block = block[64:] {
		for t := range 16 {
			w[t] = uint32(block[4*t])<<24 | uint32(block[4*t+1])<<16 | uint32(block[4*t+2])<<8 | uint32(block[4*t+3])
		}
		for t := 16; t < 64; t++ {
			s0 := bits.RotateLeft32(w[t-15], -7) ^ bits.RotateLeft32(w[t-15], -18) ^ w[t-15]>>3
			s1 := bits.RotateLeft32(w[t-2], -17) ^ bits.RotateLeft32(w[t-2], -19) ^ w[t-2]>>10
			w[t] = w[t-16] + s0 + w[t-7] + s1
		}
		a, b, c, d, e, f, g, hh := h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7]
		for t := range 64 {
			s1 := bits.RotateLeft32(e, -6) ^ bits.RotateLeft32(e, -11) ^ bits.RotateLeft32(e, -25)
			ch := e&f ^ ^e&g
			t1 := hh + s1 + ch + k[t] + w[t]
			s0 := bits.RotateLeft32(a, -2) ^ bits.RotateLeft32(a, -13) ^ bits.RotateLeft32(a, -22)
			maj := a&b ^ a&c ^ b&c
			t2 := s0 + maj
			hh, g, f, e, d, c, b, a = g, f, e, d+t1, c, b, a, t1+t2
		}
		h[0] += a
		h[1] += b
		h[2] += c
		h[3] += d
		h[4] += e
		h[5] += f
		h[6] += g
		h[7] += hh
	}
	var out [32]byte
	for i, v := range h {
		out[4*i], out[4*i+1], out[4*i+2], out[4*i+3] = byte(v>>24), byte(v>>16), byte(v>>8), byte(v)
	}
	return out
}
