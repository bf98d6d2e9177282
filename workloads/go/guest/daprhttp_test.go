package guest

import (
	"errors"
	"testing"
)

// recorded is one request the fake sender got.
type recorded struct {
	method, url, headers, body string
}

// fakeDapr answers every request with answer and records it.
func fakeDapr(answer httpResponse, sent *[]recorded) daprHTTP {
	return daprHTTP{send: func(method, url, headers string, body []byte) (httpResponse, error) {
		*sent = append(*sent, recorded{method, url, headers, string(body)})
		return answer, nil
	}}
}

func TestStateGetReadsTheValueAndTheEtagHeader(t *testing.T) {
	var sent []recorded
	d := fakeDapr(httpResponse{status: 200, headers: "content-type: application/json\netag: 7\n", body: []byte(`{"a":1}`)}, &sent)
	got, err := d.stateGet("statestore", "user 1/é")
	if err != nil || string(got.Value) != `{"a":1}` || got.Etag != "7" {
		t.Fatalf("stateGet = %+v, %v", got, err)
	}
	want := recorded{"GET", "/v1.0/state/statestore/user%201%2F%C3%A9", "", ""}
	if sent[0] != want {
		t.Errorf("sent %+v, want %+v", sent[0], want)
	}
	d = fakeDapr(httpResponse{status: 204}, &sent)
	if got, err := d.stateGet("statestore", "k"); got != nil || err != nil {
		t.Errorf("204: %+v, %v; want nil, nil", got, err)
	}
}

func TestStateGetBulkPostsTheKeysAndOrdersTheAnswers(t *testing.T) {
	var sent []recorded
	body := `[{"key":"b","data":12,"etag":"4"},{"key":"a\u00e9"},{"key":"c","data":{"n":[1,2]}}]`
	d := fakeDapr(httpResponse{status: 200, body: []byte(body)}, &sent)
	got, err := d.stateGetBulk("statestore", []string{"a\u00e9", "b", "c"})
	if err != nil || len(got) != 3 || got[0] != nil || string(got[1].Value) != "12" || got[1].Etag != "4" ||
		string(got[2].Value) != `{"n":[1,2]}` || got[2].Etag != "" {
		t.Fatalf("stateGetBulk = %+v, %v", got, err)
	}
	want := recorded{"POST", "/v1.0/state/statestore/bulk", "Content-Type: application/json\n", "{\"keys\":[\"a\u00e9\",\"b\",\"c\"]}"}
	if sent[0] != want {
		t.Errorf("sent %+v, want %+v", sent[0], want)
	}
	for _, answer := range []string{`[{"key":"a","error":"boom"}]`, `[]`, `{}`, `[{"data":1}]`, `[{"key":"a"}`, `[{"key":"a","data":[1}]`} {
		d = fakeDapr(httpResponse{status: 200, body: []byte(answer)}, &sent)
		if _, err := d.stateGetBulk("statestore", []string{"a"}); err != ErrUnavailable {
			t.Errorf("%s: %v, want ErrUnavailable", answer, err)
		}
	}
	if _, err := d.stateGetBulk("statestore", nil); err != ErrInvalidArgument {
		t.Errorf("no keys: %v", err)
	}
}

func TestStateSetSendsOneItemWithEtagAndConcurrency(t *testing.T) {
	var sent []recorded
	d := fakeDapr(httpResponse{status: 204}, &sent)
	if err := d.stateSet("statestore", "a\"b\n", []byte(`{"count":1}`), "3", FirstWrite); err != nil {
		t.Fatal(err)
	}
	if err := d.stateSet("statestore", "k", []byte("42"), "", LastWrite); err != nil {
		t.Fatal(err)
	}
	want := []recorded{
		{"POST", "/v1.0/state/statestore", "Content-Type: application/json\n",
			`[{"key":"a\"b\u000a","value":{"count":1},"etag":"3","options":{"concurrency":"first-write"}}]`},
		{"POST", "/v1.0/state/statestore", "Content-Type: application/json\n",
			`[{"key":"k","value":42,"options":{"concurrency":"last-write"}}]`},
	}
	for i := range want {
		if sent[i] != want[i] {
			t.Errorf("request %d:\n got %+v\nwant %+v", i, sent[i], want[i])
		}
	}
}

func TestStatusesMapToTheEmbeddedFlavoursErrors(t *testing.T) {
	var sent []recorded
	if err := fakeDapr(httpResponse{status: 409}, &sent).stateSet("s", "k", []byte("1"), "2", FirstWrite); !errors.Is(err, ErrEtagMismatch) {
		t.Errorf("409 on save: %v, want etag mismatch", err)
	}
	if err := fakeDapr(httpResponse{status: 409}, &sent).stateDelete("s", "k", "2", FirstWrite); !errors.Is(err, ErrEtagMismatch) {
		t.Errorf("409 on delete: %v, want etag mismatch", err)
	}
	err := fakeDapr(httpResponse{status: 500, body: []byte(`{"errorCode":"ERR_STATE_SAVE"}`)}, &sent).stateSet("s", "k", []byte("1"), "", LastWrite)
	if err == nil || err.Error() != `HTTP 500 from POST /v1.0/state/s: {"errorCode":"ERR_STATE_SAVE"}` {
		t.Errorf("500: %v", err)
	}
	failing := daprHTTP{send: func(string, string, string, []byte) (httpResponse, error) {
		return httpResponse{}, ErrUnavailable
	}}
	if _, err := failing.stateGet("s", "k"); err != ErrUnavailable {
		t.Errorf("transport error: %v", err)
	}
}

func TestPublishDeleteAndBindingRequests(t *testing.T) {
	var sent []recorded
	d := fakeDapr(httpResponse{status: 204}, &sent)
	if err := d.publish("pubsub", "aggregates", []byte(`{"k":1}`), ""); err != nil {
		t.Fatal(err)
	}
	if err := d.publish("pubsub", "raw", []byte("x"), "text/plain"); err != nil {
		t.Fatal(err)
	}
	if err := d.stateDelete("statestore", "k", "9", FirstWrite); err != nil {
		t.Fatal(err)
	}
	d = fakeDapr(httpResponse{status: 200, body: []byte("out")}, &sent)
	if out, err := d.invokeBinding("b", "create", []byte(`"x"`)); err != nil || string(out) != "out" {
		t.Fatalf("invokeBinding = %q, %v", out, err)
	}
	want := []recorded{
		{"POST", "/v1.0/publish/pubsub/aggregates", "Content-Type: application/json\n", `{"k":1}`},
		{"POST", "/v1.0/publish/pubsub/raw", "Content-Type: text/plain\n", "x"},
		{"DELETE", "/v1.0/state/statestore/k?concurrency=first-write", "If-Match: 9\n", ""},
		{"POST", "/v1.0/bindings/b", "Content-Type: application/json\n", `{"operation":"create","data":"x"}`},
	}
	for i := range want {
		if sent[i] != want[i] {
			t.Errorf("request %d:\n got %+v\nwant %+v", i, sent[i], want[i])
		}
	}
}

func TestHTTPResultsSplitIntoHeadersAndBody(t *testing.T) {
	r, err := parseHTTPResult(200, append([]byte{8, 0, 0, 0}, "etag: 1\nbody"...))
	if err != nil || r.header("etag") != "1" || string(r.body) != "body" || r.status != 200 {
		t.Errorf("%+v, %v", r, err)
	}
	for _, raw := range [][]byte{{1, 0, 0}, {5, 0, 0, 0, 'a'}} {
		if _, err := parseHTTPResult(200, raw); err != ErrMalformed {
			t.Errorf("%v: %v, want malformed", raw, err)
		}
	}
}
