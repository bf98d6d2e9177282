package main

import (
	"strings"
	"testing"
)

func TestCloudEventDataIsTheInputAsPublished(t *testing.T) {
	cases := []struct{ body, id, data string }{
		{`{"id":"m-1","data":"visits","datacontenttype":"text/plain"}`, "m-1", "visits"},
		{`{"id":"m-2","data":{"key":"a","amount":1}}`, "m-2", `{"amount":1,"key":"a"}`},
		{`{"id":"m-3","data_base64":"wyg="}`, "m-3", "\xc3\x28"},
		{`{"id":"m-4"}`, "m-4", ""},
	}
	for _, c := range cases {
		id, data, err := parseCloudEvent([]byte(c.body))
		if err != nil || id != c.id || string(data) != c.data {
			t.Errorf("%s: got %q %q %v, want %q %q", c.body, id, data, err, c.id, c.data)
		}
	}
	for _, bad := range []string{`visits`, `{"data":"x"}`, `{"id":"x","data_base64":"%%"}`} {
		if _, _, err := parseCloudEvent([]byte(bad)); err == nil {
			t.Errorf("%s: accepted", bad)
		}
	}
}

func TestEventLogPagesFromAnOffset(t *testing.T) {
	var l eventLog
	l.record("a", outcomeSuccess)
	l.record("b", outcomeDrop)
	page, err := l.since(1)
	if err != nil || string(page) == "" || !strings.Contains(string(page), `"id":"b"`) || strings.Contains(string(page), `"id":"a"`) {
		t.Fatalf("page from 1: %s %v", page, err)
	}
}
