package main

import (
	stdsha "crypto/sha256"
	"strings"
	"testing"
)

// The hand-written SHA-256 against the standard library's, on every length
// around the padding boundaries.
func TestSHA256MatchesTheStandardLibrary(t *testing.T) {
	for n := range 200 {
		msg := []byte(strings.Repeat("abcdefghijklmnopqrstuvwxyz", 8)[:n])
		if got, want := sha256(msg), stdsha.Sum256(msg); got != want {
			t.Errorf("length %d: %x, want %x", n, got, want)
		}
	}
}

func BenchmarkDefaultVector(b *testing.B) {
	in := []byte(`{"data":"blueprint-bench","iterations":2000}`)
	for b.Loop() {
		if _, err := compute(in); err != nil {
			b.Fatal(err)
		}
	}
}
