package main

// The `http` import, case for case with runtimes/api/src/abi.rs's tests, and
// the sidecar client's URL rules against a real loopback server.

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
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

// loopbackPort is the port of a test server on 127.0.0.1.
func loopbackPort(srv *httptest.Server) int { return srv.Listener.Addr().(*net.TCPAddr).Port }

// sidecarAndElsewhere is a stand-in sidecar and another loopback server that
// no guest request may reach; hits counts the requests that reached it.
func sidecarAndElsewhere(t *testing.T, sidecar http.HandlerFunc) (s *sidecarHTTP, elsewhere string, hits *atomic.Int32) {
	t.Helper()
	hits = new(atomic.Int32)
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		fmt.Fprint(w, "elsewhere")
	}))
	t.Cleanup(other.Close)
	srv := httptest.NewServer(sidecar)
	t.Cleanup(srv.Close)
	return newSidecarHTTP(loopbackPort(srv)), other.Listener.Addr().String(), hits
}

func TestSidecarHTTPSendsToTheSidecarAndRefusesOtherHosts(t *testing.T) {
	s, elsewhere, hits := sidecarAndElsewhere(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("ETag", "42")
		w.WriteHeader(http.StatusAccepted)
		fmt.Fprintf(w, "%s %s %s %s", r.Method, r.URL.Path, r.Header.Get("X-Test"), b)
	})
	for _, url := range []string{"/v1.0/state/s", "http://" + s.host + "/v1.0/state/s"} {
		resp, err := s.do(context.Background(), "PUT", url, [][2]string{{"X-Test", "yes"}}, []byte("v"))
		if err != nil {
			t.Fatalf("%s: %v", url, err)
		}
		if resp.status != 202 || string(resp.body) != "PUT /v1.0/state/s yes v" {
			t.Errorf("%s: got %d %q", url, resp.status, resp.body)
		}
		if !slices.Contains(resp.headers, [2]string{"etag", "42"}) {
			t.Errorf("etag header missing or not lower-case: %v", resp.headers)
		}
	}
	port := s.host[len("127.0.0.1:"):]
	for _, url := range []string{
		"http://example.com/", "https://" + s.host + "/", "v1.0/state", "http://127.0.0.1/",
		"http://" + elsewhere + "/",                  // another loopback port
		"http://" + s.host + "@" + elsewhere + "/",   // user info: the host is elsewhere
		"http://user@" + s.host + "/",                // user info, even on the sidecar
		"http://localhost:" + port + "/",             // the sidecar, by another name
		"http://127.0.0.1:0" + port + "/",            // ... or another spelling of its port
		"http://[::ffff:127.0.0.1]:" + port + "/",    // ... or of its address
		"http://" + s.host + "\\@" + elsewhere + "/", // a backslash some parsers take for a slash
	} {
		if _, err := s.do(context.Background(), "GET", url, nil, nil); err == nil || !errors.Is(err, errNotPermitted) {
			t.Errorf("%s: %v, want not permitted", url, err)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("%d refused requests reached another server", n)
	}
}

// A redirect is the guest's to follow or not: the client hands it the 3xx
// and never goes where it points.
func TestSidecarHTTPDoesNotFollowRedirects(t *testing.T) {
	var elsewhere string
	s, elsewhere, hits := sidecarAndElsewhere(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://"+elsewhere+"/", http.StatusFound)
	})
	resp, err := s.do(context.Background(), "GET", "/v1.0/state/s/k", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.status != http.StatusFound || !slices.Contains(resp.headers, [2]string{"location", "http://" + elsewhere + "/"}) {
		t.Errorf("got %d %v, want the 302 itself", resp.status, resp.headers)
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the redirect was followed %d times", n)
	}
}

// A response body beyond maxOutboundBody is an error, announced by
// Content-Length or not; one at the limit is whole.
func TestSidecarHTTPCapsResponseBodies(t *testing.T) {
	s, _, _ := sidecarAndElsewhere(t, func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		if r.URL.Query().Get("length") == "1" {
			w.Header().Set("Content-Length", strconv.Itoa(n))
		}
		chunk := bytes.Repeat([]byte("x"), 1<<16)
		for n > 0 {
			k := min(n, len(chunk))
			if _, err := w.Write(chunk[:k]); err != nil {
				return
			}
			n -= k
		}
	})
	for _, length := range []string{"0", "1"} {
		url := func(n int) string { return "/big?length=" + length + "&n=" + strconv.Itoa(n) }
		resp, err := s.do(context.Background(), "GET", url(maxOutboundBody), nil, nil)
		if err != nil || len(resp.body) != maxOutboundBody {
			t.Errorf("length %s: a body at the limit: %v", length, err)
		}
		if _, err := s.do(context.Background(), "GET", url(maxOutboundBody+1), nil, nil); err == nil || !strings.Contains(err.Error(), "limit") {
			t.Errorf("length %s: a body over the limit: %v, want an error", length, err)
		}
	}
}
