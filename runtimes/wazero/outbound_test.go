package main

// The `http` import, case for case with runtimes/api/src/abi.rs's tests, and
// the sidecar client's URL rules against a real loopback server.

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// echoOutbound answers 201 with one header and the request echoed.
type echoOutbound struct{}

func (echoOutbound) do(_ context.Context, method, url string, headers [][2]string, body []byte) (*outboundResponse, error) {
	return &outboundResponse{
		status:  201,
		headers: [][2]string{{"etag", "7"}},
		body:    []byte(fmt.Sprintf("%s %s %v %s", method, url, headers, body)),
	}, nil
}

func TestHTTPRequestPacksStatusAndStagesHeadersThenBody(t *testing.T) {
	st := &instanceState{dapr: noDapr{}, outbound: echoOutbound{}}
	mem := byteMem(append([]byte("POST/v1.0/xA: 1\nB:2\nhi"), make([]byte, 128)...))
	packed := st.httpRequest(context.Background(), mem, [8]uint32{0, 4, 4, 7, 11, 9, 20, 2})
	status, size := packed>>32, packed&0xffff_ffff
	if status != 201 {
		t.Fatalf("status %d (packed %d)", status, packed)
	}
	if got := st.takeResult(mem, 32, uint32(size)); got != size {
		t.Fatalf("take_result: %d", got)
	}
	staged := mem[32 : 32+size]
	n := binary.LittleEndian.Uint32(staged)
	if string(staged[4:4+n]) != "etag: 7\n" {
		t.Errorf("headers %q", staged[4:4+n])
	}
	if want := "POST /v1.0/x [[A 1] [B 2]] hi"; string(staged[4+n:]) != want {
		t.Errorf("body %q, want %q", staged[4+n:], want)
	}
}

func TestHTTPRequestRefusesBadMethodsHeadersAndMissingOutbound(t *testing.T) {
	ctx := context.Background()
	st := &instanceState{dapr: noDapr{}, outbound: echoOutbound{}}
	if got := st.httpRequest(ctx, byteMem("get/x"), [8]uint32{0, 3, 3, 2}); got != codeInvalidArgument {
		t.Errorf("lower-case method: %d", got)
	}
	if got := st.httpRequest(ctx, byteMem("GET/xno-colon"), [8]uint32{0, 3, 3, 2, 5, 8}); got != codeInvalidArgument {
		t.Errorf("header without colon: %d", got)
	}
	pure := &instanceState{dapr: noDapr{}}
	if got := pure.httpRequest(ctx, byteMem("GET/x"), [8]uint32{0, 3, 3, 2}); got != codeNotPermitted {
		t.Errorf("no outbound: %d", got)
	}
}

func TestSidecarHTTPSendsToTheSidecarAndRefusesOtherHosts(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("ETag", "42")
		w.WriteHeader(http.StatusAccepted)
		fmt.Fprintf(w, "%s %s %s %s", r.Method, r.URL.Path, r.Header.Get("X-Test"), b)
	}))
	defer srv.Close()
	port := srv.Listener.Addr().(interface{ String() string }).String()
	var p int
	fmt.Sscanf(port[strings.LastIndex(port, ":")+1:], "%d", &p)
	s := newSidecarHTTP(p)
	resp, err := s.do(context.Background(), "PUT", "/v1.0/state/s", [][2]string{{"X-Test", "yes"}}, []byte("v"))
	if err != nil {
		t.Fatal(err)
	}
	if resp.status != 202 || string(resp.body) != "PUT /v1.0/state/s yes v" {
		t.Errorf("got %d %q", resp.status, resp.body)
	}
	found := false
	for _, h := range resp.headers {
		found = found || (h[0] == "etag" && h[1] == "42")
	}
	if !found {
		t.Errorf("etag header missing or not lower-case: %v", resp.headers)
	}
	for _, url := range []string{"http://example.com/", "https://127.0.0.1:1/", "v1.0/state"} {
		if _, err := s.do(context.Background(), "GET", url, nil, nil); err == nil || !strings.Contains(err.Error(), "not permitted") {
			t.Errorf("%s: %v", url, err)
		}
	}
}
