package main

import (
	"strings"
	"testing"
)

func TestRequestsAreCheckedBeforeAnyDaprCall(t *testing.T) {
	k64 := strings.Repeat("k", 64)
	cases := []struct {
		input, key string
		k          int
		err        string
	}{
		{`{"k":8,"key":"fan"}`, "fan", 8, ""},
		{`{"key":"` + k64 + `","k":64}`, k64, 64, ""},
		{`{"key":"f\u00e9e","k":1}`, "f\u00e9e", 1, ""},
		{`fan`, "", 0, "invalid JSON"},
		{`{"key":"fan","k":8.0}`, "", 0, "invalid JSON"},
		{`{"key":"fan","k":8,"x":1}`, "", 0, `unknown field "x"`},
		{`{"k":8}`, "", 0, "key is required"},
		{`{"key":"","k":8}`, "", 0, "key must be a string of 1 to 64 bytes"},
		{`{"key":null,"k":8}`, "", 0, "key must be a string of 1 to 64 bytes"},
		{`{"key":"` + k64 + `k","k":8}`, "", 0, "key must be a string of 1 to 64 bytes"},
		{`{"key":"fan"}`, "", 0, "k is required"},
		{`{"key":"fan","k":0}`, "", 0, "k must be an integer from 1 to 64"},
		{`{"key":"fan","k":65}`, "", 0, "k must be an integer from 1 to 64"},
		{`{"key":"fan","k":true}`, "", 0, "k must be an integer from 1 to 64"},
	}
	for _, c := range cases {
		key, k, err := parseRequest([]byte(c.input))
		msg := ""
		if err != nil {
			msg = err.Error()
		}
		if key != c.key || k != c.k || msg != c.err {
			t.Errorf("parseRequest(%q) = %q, %d, %q; want %q, %d, %q", c.input, key, k, msg, c.key, c.k, c.err)
		}
	}
	// There is no host here: the bulk read answers "dapr: not permitted".
	if _, err := fanoutBulk([]byte(`{"key":"fan","k":8}`)); err == nil || err.Error() != "dapr: not permitted" {
		t.Errorf("fanout-bulk without Dapr = %v, want dapr: not permitted", err)
	}
}

func TestCountersArePlainDecimalU64(t *testing.T) {
	good := map[string]uint64{"0": 0, "0042": 42, "18446744073709551615": 1<<64 - 1}
	for in, want := range good {
		if got, err := parseCounter([]byte(in)); got != want || err != nil {
			t.Errorf("parseCounter(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "+1", "-1", " 1", `"1"`, "0x1f", "18446744073709551616"} {
		if _, err := parseCounter([]byte(bad)); err == nil || err.Error() != "stored value is not a counter" {
			t.Errorf("parseCounter(%q) = %v; want stored value is not a counter", bad, err)
		}
	}
}

func TestSlotsAreTheKeyAndTheIndex(t *testing.T) {
	if got := slot("fan", 63); got != "fan.63" {
		t.Errorf("slot = %q", got)
	}
}
