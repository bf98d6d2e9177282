package main

// The `http` flavour's generic outbound import (ABI.md, "`http` flavour") and
// its one implementation: plain HTTP/1.1 to the sidecar's HTTP API on
// loopback. The guest builds Dapr HTTP API requests itself; the host only
// forwards them, under HOST.md's outbound rules, as the Rust host does.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
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

// maxOutboundBody caps a response body read into host memory for the guest.
const maxOutboundBody = 16 << 20

// sidecarHTTP sends the guest's requests to daprd's HTTP API and nowhere
// else: a path is resolved against it, and an absolute URL must name it
// exactly.
type sidecarHTTP struct {
	host   string // "127.0.0.1:<daprd's HTTP port>"
	client *http.Client
	token  string // DAPR_API_TOKEN, sent as dapr-api-token when set
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
		host:  "127.0.0.1:" + strconv.Itoa(port),
		token: os.Getenv("DAPR_API_TOKEN"),
		client: &http.Client{
			Transport: transport,
			Timeout:   30 * time.Second,
			// A redirect would be a request the guest did not make, to a
			// URL nobody checked: the guest gets the 3xx itself.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
}

// resolve turns the guest's URL into the one to send, or refuses it. The
// checks run on the parsed URL, the one the client dials, so no spelling
// of another host (user info, another port, another scheme) gets through.
func (s *sidecarHTTP) resolve(raw string) (string, error) {
	target := raw
	if strings.HasPrefix(raw, "/") {
		target = "http://" + s.host + raw
	}
	u, err := url.Parse(target)
	refuse := func(why string) (string, error) {
		return "", fmt.Errorf("%w: %q %s (only paths of, or http:// URLs on, daprd's HTTP API at %s)", errNotPermitted, raw, why, s.host)
	}
	switch {
	case err != nil:
		return refuse("is not a URL")
	case u.Scheme != "http":
		return refuse("is not plain http")
	case u.User != nil:
		return refuse("carries user info")
	case u.Host != s.host:
		return refuse("names another host or port")
	}
	// The string, not u.String(): the request parses it again, to this u.
	return target, nil
}

func (s *sidecarHTTP) do(ctx context.Context, method, rawURL string, headers [][2]string, body []byte) (*outboundResponse, error) {
	target, err := s.resolve(rawURL)
	if err != nil {
		return nil, err
	}
	// The body may alias guest memory: copy it before the call can outlive it.
	req, err := http.NewRequestWithContext(ctx, method, target, bytes.NewReader(append([]byte(nil), body...)))
	if err != nil {
		return nil, fmt.Errorf("building %s %s: %w", method, target, err)
	}
	for _, h := range headers {
		req.Header.Add(h[0], h[1])
	}
	if s.token != "" {
		req.Header.Set(appTokenHeader, s.token)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.ContentLength > maxOutboundBody {
		return nil, fmt.Errorf("%s %s: response body of %d bytes is over the %d-byte limit", method, target, resp.ContentLength, maxOutboundBody)
	}
	payload, err := io.ReadAll(io.LimitReader(resp.Body, maxOutboundBody+1))
	if err != nil {
		return nil, fmt.Errorf("%s %s: reading the response: %w", method, target, err)
	}
	if len(payload) > maxOutboundBody {
		return nil, fmt.Errorf("%s %s: response body over the %d-byte limit", method, target, maxOutboundBody)
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
