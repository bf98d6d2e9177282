package main

import (
	"strings"
	"testing"
)

func TestKeysAreCheckedBeforeAnyDaprCall(t *testing.T) {
	cases := []struct {
		input, key, err string
	}{
		{"hot", "hot", ""},
		{strings.Repeat("k", 128), strings.Repeat("k", 128), ""},
		{"", "", "key must not be empty"},
		{strings.Repeat("k", 129), "", "key must be at most 128 bytes"},
		{"\xc3\x28", "", "key must be UTF-8"},
		{"\xed\xa0\x80", "", "key must be UTF-8"},
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
	// There is no host here: the read answers "dapr: not permitted".
	if _, err := lookup([]byte("hot")); err == nil || err.Error() != "dapr: not permitted" {
		t.Errorf("lookup without Dapr = %v, want dapr: not permitted", err)
	}
}

func TestTheInitialValueCountsBytes(t *testing.T) {
	for key, want := range map[string]string{"hot": "3", "h\u00e9t": "4", strings.Repeat("k", 128): "128"} {
		if got := string(initialValue(key)); got != want {
			t.Errorf("initialValue(%q) = %q, want %q", key, got, want)
		}
	}
}
