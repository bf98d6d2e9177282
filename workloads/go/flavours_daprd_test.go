//go:build !wasm

package workloads_test

// The middleware and command flavours of every pure workload, run by daprd
// itself: its middleware.http.wasm in the app's HTTP pipeline in front of an
// echo app, and its bindings.wasm invoked over the gRPC API. Every vector
// case goes through both. Needs BLUEPRINT_DAPRD.

import (
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"blueprint-bench/workloads/go/vectors"
)

// startEcho serves an app that answers every request with its body and
// reports the workload header it got back as x-seen-workload.
func startEcho(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("x-seen-workload", r.Header.Get("x-blueprint-workload"))
		_, _ = w.Write(body)
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().(*net.TCPAddr).Port
}

func component(name, typ, url string) string {
	return "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: " + name +
		"\nspec:\n  type: " + typ + "\n  version: v1\n  metadata:\n  - name: url\n    value: " + url + "\n"
}

// viaMiddleware posts input through daprd's service invocation to the echo
// app. chunked sends it without a Content-Length (see README.md: daprd
// keeps a request's original Content-Length after the middleware replaced
// its body, so only a chunked request may change length).
func viaMiddleware(t *testing.T, s sidecar, input []byte, chunked bool) (int, []byte, string, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, "http://"+vectors.Addr(s.http)+"/v1.0/invoke/bbgo/method/echo", bytes.NewReader(input))
	if err != nil {
		t.Fatal(err)
	}
	if chunked {
		req.ContentLength = -1
		req.Body = io.NopCloser(bytes.NewReader(input)) // a body of unknown length
	}
	resp, body := vectors.Do(t, client, req)
	return resp.StatusCode, body, resp.Header.Get("x-seen-workload"), resp.Header.Get("Content-Type")
}

// viaBinding invokes the workload's bindings.wasm with operation execute
// and the raw input as data (gRPC, since the HTTP API would JSON-encode
// it); it returns the output, or the gRPC error.
func viaBinding(t *testing.T, s sidecar, name string, input []byte) ([]byte, string) {
	t.Helper()
	// InvokeBindingRequest{name = 1, data = 2, operation = 4}.
	msg := append(protoField(1, []byte(name)), protoField(2, input)...)
	msg = append(msg, protoField(4, []byte("execute"))...)
	resp, status, message := s.grpc(t, "InvokeBinding", msg)
	if status != "0" {
		return nil, "grpc-status " + status + ": " + message
	}
	// InvokeBindingResponse{data = 1, metadata = 2}: find data.
	for i := 0; i < len(resp); {
		tag := resp[i]
		n, k := binary.Uvarint(resp[i+1:])
		start := i + 1 + k
		if tag == 1<<3|2 {
			return resp[start : start+int(n)], ""
		}
		i = start + int(n)
	}
	return []byte{}, "" // empty data is left out
}

func TestPureFlavoursThroughDaprd(t *testing.T) {
	dir := goGuestDir(t)
	for _, w := range workloads {
		if !w.pure {
			continue
		}
		t.Run(w.name, func(t *testing.T) {
			v := vectors.Load(t, w.name)
			s := startDaprdWith(t, daprdOptions{
				resources: map[string]string{
					"middleware.yaml": component("workload", "middleware.http.wasm", "file://"+dir+"/"+goModule(w.name, "middleware")),
					"binding.yaml":    component("command", "bindings.wasm", "file://"+dir+"/"+goModule(w.name, "command")),
				},
				pipeline: "workload",
				appPort:  startEcho(t),
			})
			passed := 0
			for _, c := range v.Cases {
				input, want := c.In(t), c.Out(t)
				ok := true
				status, body, seen, contentType := viaMiddleware(t, s, input, true)
				switch {
				case c.Error != nil && (status != http.StatusUnprocessableEntity || string(body) != *c.Error || seen != "" ||
					contentType != "text/plain; charset=utf-8"):
					t.Errorf("middleware, %s: %d %q (app saw %q, %s), want 422 %q as text/plain", c.Name, status, body, seen, contentType, *c.Error)
					ok = false
				case c.Error == nil && (status != http.StatusOK || !bytes.Equal(body, want) || seen != w.name):
					t.Errorf("middleware, %s: %d %q (workload header %q), want 200 %q", c.Name, status, body, seen, want)
					ok = false
				}
				// bindings.wasm keeps no stderr: a guest error is only
				// the exit code.
				out, errText := viaBinding(t, s, "command", input)
				switch {
				case c.Error != nil && !strings.Contains(errText, "exit_code(1)"):
					t.Errorf("command, %s: %q, %q; want exit code 1", c.Name, out, errText)
					ok = false
				case c.Error == nil && (errText != "" || !bytes.Equal(out, want)):
					t.Errorf("command, %s: %q, %q; want %q", c.Name, out, errText, want)
					ok = false
				}
				if ok {
					passed++
				}
			}
			t.Logf("%s vectors through daprd's middleware and binding: %d/%d passed", w.name, passed, len(v.Cases))
			// With a Content-Length, a body of the same length passes.
			if status, body, _, _ := viaMiddleware(t, s, []byte(`{"data":"x","iterations":1}`), false); w.name == "noop" &&
				(status != http.StatusOK || string(body) != `{"data":"x","iterations":1}`) {
				t.Errorf("noop with a Content-Length: %d %q", status, body)
			}
		})
	}
}
