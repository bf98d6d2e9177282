package main

// The `http` flavour's generic outbound import (ABI.md, "`http` flavour") and
// its one implementation: plain HTTP/1.1 to the sidecar's HTTP API on
// loopback. The guest builds Dapr HTTP API requests itself; the host only
// forwards them, as the Rust host does (harness/src/host/outbound_http.rs).

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// outboundResponse is what the guest receives: status, lower-case headers
// (sorted, so every host stages the same bytes), body.
type outboundResponse struct {
	status  int
	headers [][2]string
	body    []byte
}

// outboundAPI sends one guest request. errNotPermitted refuses it; any other
// error means it failed (UNAVAILABLE).
type outboundAPI interface {
	do(ctx context.Context, method, url string, headers [][2]string, body []byte) (*outboundResponse, error)
}

// sidecarHTTP resolves paths against daprd's HTTP API and allows absolute
// URLs on 127.0.0.1 only.
type sidecarHTTP struct {
	base   string
	client *http.Client
}

func newSidecarHTTP(port int) *sidecarHTTP {
	transport := &http.Transport{
		// One keep-alive connection per concurrent request, as the Rust host.
		MaxIdleConns:        256,
		MaxIdleConnsPerHost: 256,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	return &sidecarHTTP{
		base:   "http://127.0.0.1:" + strconv.Itoa(port),
		client: &http.Client{Transport: transport, Timeout: 30 * time.Second},
	}
}

// resolve turns the guest's URL into the one to send, or refuses it.
func (s *sidecarHTTP) resolve(url string) (string, error) {
	switch {
	case strings.HasPrefix(url, "/"):
		return s.base + url, nil
	case strings.HasPrefix(url, "http://127.0.0.1:"):
		return url, nil
	}
	return "", fmt.Errorf("%w: %q is not a sidecar path or a loopback URL", errNotPermitted, url)
}

func (s *sidecarHTTP) do(ctx context.Context, method, url string, headers [][2]string, body []byte) (*outboundResponse, error) {
	target, err := s.resolve(url)
	if err != nil {
		return nil, err
	}
	// The body may alias guest memory: copy it before the call can outlive it.
	req, err := http.NewRequestWithContext(ctx, method, target, bytes.NewReader(append([]byte(nil), body...)))
	if err != nil {
		return nil, err
	}
	for _, h := range headers {
		req.Header.Add(h[0], h[1])
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	payload, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	out := &outboundResponse{status: resp.StatusCode, body: payload}
	for name, values := range resp.Header {
		for _, v := range values {
			out.headers = append(out.headers, [2]string{strings.ToLower(name), v})
		}
	}
	sort.SliceStable(out.headers, func(i, j int) bool { return out.headers[i][0] < out.headers[j][0] })
	return out, nil
}
