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

func TestABulkDeliveryIsReadEntryByEntry(t *testing.T) {
	body := `{"id":"b","type":"com.dapr.event.sent.bulk","topic":"t","pubsubname":"pubsub","metadata":{},
	  "entries":[
	    {"entryId":"e1","event":{"id":"m-1-5","data":"visits","datacontenttype":"text/plain"},"contentType":"application/cloudevents+json"},
	    {"entryId":"e2","event":{"data":"no id"}},
	    {"entryId":"e3","event":"cmF3","contentType":"application/octet-stream"}]}`
	entries, err := parseBulk([]byte(body))
	if err != nil || len(entries) != 3 {
		t.Fatalf("got %v, %v", entries, err)
	}
	if e := entries[0]; e.entryID != "e1" || e.id != "m-1-5" || string(e.data) != "visits" || e.err != nil {
		t.Errorf("first entry: %+v", e)
	}
	if entries[1].err == nil || !strings.Contains(entries[1].err.Error(), "`id`") {
		t.Errorf("an entry without an id: %v", entries[1].err)
	}
	if entries[2].err == nil || !strings.Contains(entries[2].err.Error(), "not a CloudEvent") {
		t.Errorf("a raw entry: %v", entries[2].err)
	}
	for _, bad := range []string{`{"id":"x","data":"single"}`, `[]`, `nope`} {
		if _, err := parseBulk([]byte(bad)); err == nil {
			t.Errorf("%s: accepted as a bulk envelope", bad)
		}
	}
}

func TestACronFiringIsLoggedByWhenItFired(t *testing.T) {
	cases := map[string]string{
		"1970-01-01 00:00:01 +0000 UTC":         "binding-1000000000",
		"2026-12-05 14:40:00.1234567 +0000 UTC": "binding-1796481600123456700",
		"2026-12-05 14:40:00 +0100 CET":         "binding",
		"2026-12-05T14:40:00Z":                  "binding",
		"":                                      "binding",
	}
	for in, want := range cases {
		if got := firingID(in); got != want {
			t.Errorf("%q: got %q, want %q", in, got, want)
		}
	}
}
