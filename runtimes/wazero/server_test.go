package main

// The Rust guests through the HTTP handler: golden vectors, the pure mode,
// and the endpoints other than POST.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"testing"

	"blueprint-bench/workloads/go/vectors"
)

func TestNoopVectors(t *testing.T) {
	ts := startHost(t, testConfig(), moduleArg{"noop", guestPath(t, "noop")})
	vectors.RunURL(t, ts.URL+"/noop", vectors.Load(t, "noop"))
}

// Without --dapr-grpc-port every import answers NOT_PERMITTED, which the Rust
// counter reports as "dapr: not permitted"; its argument checks come first
// and still give the vectors' exact messages.
func TestCounterWithoutDapr(t *testing.T) {
	ts := startHost(t, testConfig(), moduleArg{"counter", guestPath(t, "counter")})
	status, body := post(t, ts.URL+"/counter", []byte("visits"))
	if status != http.StatusUnprocessableEntity || string(body) != "dapr: not permitted" {
		t.Errorf("got %d %q, want 422 %q", status, body, "dapr: not permitted")
	}
	for _, c := range vectors.Load(t, "counter").Cases {
		if c.Error != nil {
			c.Expect(t, ts.URL+"/counter")
		}
	}
}

// The counter vectors on a fake sidecar with Dapr's etag semantics, then
// concurrent increments, which only add up if ETAG_MISMATCH reaches the
// guest and it retries.
func TestCounterVectorsOnFakeDapr(t *testing.T) {
	d := newMemDapr()
	cfg := testConfig()
	cfg.dapr = d
	ts := startHost(t, cfg, moduleArg{"counter", guestPath(t, "counter")})
	v := vectors.Load(t, "counter")
	vectors.RunURL(t, ts.URL+"/counter", v)
	v.CheckFinalState(t, func(key string) (string, bool) {
		e, _ := d.stateGet(t.Context(), "statestore", key)
		if e == nil {
			return "", false
		}
		return string(e.value), true
	})
	vectors.ConcurrentIncrements(t, ts.URL+"/counter", 50)
}

func TestEndpoints(t *testing.T) {
	ts := startHost(t, testConfig(), moduleArg{"noop", guestPath(t, "noop")})
	if status, _ := vectors.Get(t, ts.URL+"/healthz"); status != http.StatusOK {
		t.Errorf("healthz: %d", status)
	}
	if status, _ := post(t, ts.URL+"/nope", nil); status != http.StatusNotFound {
		t.Errorf("unknown module: %d", status)
	}
	if status, _ := post(t, ts.URL+"/noop/x", nil); status != http.StatusNotFound {
		t.Errorf("nested path: %d", status)
	}
	if status, _ := vectors.Get(t, ts.URL+"/noop"); status != http.StatusMethodNotAllowed {
		t.Errorf("GET on a module: %d", status)
	}

	status, body := vectors.Get(t, ts.URL+"/info")
	var info hostInfo
	if err := json.Unmarshal(body, &info); status != http.StatusOK || err != nil {
		t.Fatalf("info: %d %v %s", status, err, body)
	}
	want := runtimeInfo{Name: "wazero", Version: wazeroVersion(), Engine: "compiler"}
	if info.Runtime != want || want.Version == "unknown" || want.Version == "" {
		t.Errorf("runtime info %+v, want %+v with a real version", info.Runtime, want)
	}
	abs, _ := filepath.Abs(guestPath(t, "noop"))
	m, ok := info.Modules["noop"]
	if !ok || m.Path != abs || m.SizeBytes <= 0 || m.CompileNs <= 0 || len(info.Modules) != 1 {
		t.Errorf("module info %+v", info.Modules)
	}
	fmt.Println("info:", string(body))
}

// GET /stats: zeros before any request, then counters that add up. A trap
// is counted like any other request, in its own module only; a POST to an
// unknown name and the start-up probe count nowhere.
func TestStats(t *testing.T) {
	ts := startHost(t, testConfig(),
		moduleArg{"noop", guestPath(t, "noop")},
		moduleArg{"trap", writeProbe(t, "trap", probe{handle: []byte{opUnreachable, opEnd}})})
	stats := func() hostStats {
		t.Helper()
		status, body := vectors.Get(t, ts.URL+"/stats")
		var s hostStats
		if err := json.Unmarshal(body, &s); status != http.StatusOK || err != nil {
			t.Fatalf("stats: %d %v %s", status, err, body)
		}
		if len(s.Modules) != 2 {
			t.Fatalf("stats for %d modules, want noop and trap: %s", len(s.Modules), body)
		}
		return s
	}

	for name, m := range stats().Modules {
		if m != (moduleStats{}) {
			t.Errorf("%s before any request: %+v, want zeros", name, m)
		}
	}
	if status, _ := post(t, ts.URL+"/stats", nil); status != http.StatusMethodNotAllowed {
		t.Errorf("POST /stats: %d", status)
	}

	const n = 5
	var prev moduleStats
	for i := range n {
		if status, body := post(t, ts.URL+"/noop", []byte("ping")); status != http.StatusOK || string(body) != "ping" {
			t.Fatalf("noop: %d %q", status, body)
		}
		m := stats().Modules["noop"]
		if m.Requests != uint64(i+1) ||
			m.InstantiateNsTotal <= prev.InstantiateNsTotal || m.CallNsTotal <= prev.CallNsTotal ||
			m.FirstCallNs == 0 || (i > 0 && m.FirstCallNs != prev.FirstCallNs) {
			t.Fatalf("after %d noop requests: %+v (before: %+v)", i+1, m, prev)
		}
		prev = m
	}
	if prev.FirstCallNs > prev.InstantiateNsTotal+prev.CallNsTotal {
		t.Errorf("first_call_ns %d exceeds instantiate + call totals %d", prev.FirstCallNs, prev.InstantiateNsTotal+prev.CallNsTotal)
	}

	if status, _ := post(t, ts.URL+"/trap", []byte("x")); status != http.StatusInternalServerError {
		t.Fatalf("trap: %d", status)
	}
	if status, _ := post(t, ts.URL+"/nope", []byte("x")); status != http.StatusNotFound {
		t.Fatalf("unknown module: %d", status)
	}
	s := stats()
	if m := s.Modules["noop"]; m != prev {
		t.Errorf("noop changed without noop requests: %+v, was %+v", m, prev)
	}
	if m := s.Modules["trap"]; m.Requests != 1 || m.InstantiateNsTotal == 0 || m.CallNsTotal == 0 ||
		m.FirstCallNs == 0 || m.FirstCallNs > m.InstantiateNsTotal+m.CallNsTotal {
		t.Errorf("trap after one failed request: %+v", m)
	}
	t.Logf("noop after %d requests: %+v", n, prev)
}
