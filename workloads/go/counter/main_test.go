package main

import (
	"strings"
	"testing"
)

func TestKeysAreCheckedBeforeAnyDaprCall(t *testing.T) {
	cases := []struct {
		input, key, err string
	}{
		{"visits", "visits", ""},
		{strings.Repeat("k", 128), strings.Repeat("k", 128), ""},
		{"", "", "key must not be empty"},
		{strings.Repeat("k", 129), "", "key must be at most 128 bytes"},
		{"\xff", "", "key must be UTF-8"},
		{"\xc3\x28", "", "key must be UTF-8"},
		{"\xed\xa0\x80", "", "key must be UTF-8"}, // a surrogate, which Rust's str refuses too
		{strings.Repeat("\xff", 129), "", "key must be at most 128 bytes"},
	}
	for _, c := range cases {
		key, err := parseKey([]byte(c.input))
		msg := ""
		if err != nil {
			msg = err.Error()
		}
		if key != c.key || msg != c.err {
			t.Errorf("parseKey(%q) = %q, %q; want %q, %q", c.input, key, msg, c.key, c.err)
		}
	}
	// The messages are the handler's, before any Dapr call (there is no
	// host here: a Dapr call would answer "dapr: not permitted").
	if _, err := increment(nil); err == nil || err.Error() != "key must not be empty" {
		t.Errorf("increment(empty) = %v", err)
	}
	if _, err := increment([]byte("k")); err == nil || err.Error() != "dapr: not permitted" {
		t.Errorf("increment without Dapr = %v, want dapr: not permitted", err)
	}
}

func TestCountersArePlainDecimalU64(t *testing.T) {
	good := map[string]uint64{
		"0":                    0,
		"0042":                 42,
		"18446744073709551615": 1<<64 - 1,
		// More than 20 digits, but only leading zeros: the Rust counter
		// accepts it, so this one does too (see README: ABI.md says 1 to 20).
		"000000000000000000000000001": 1,
	}
	for in, want := range good {
		if got, err := parseCounter([]byte(in)); got != want || err != nil {
			t.Errorf("parseCounter(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "+1", "-1", " 1", "1 ", "1.0", `"1"`, "0x1f", "1_000", "18446744073709551616", "99999999999999999999"} {
		if got, err := parseCounter([]byte(bad)); err == nil || err.Error() != "stored value is not a counter" {
			t.Errorf("parseCounter(%q) = %d, %v; want stored value is not a counter", bad, got, err)
		}
	}
}
