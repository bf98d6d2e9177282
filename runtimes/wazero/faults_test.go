package main

// Hand-assembled probes: every trap kind, time limits, ABI violations, and
// the start-up checks. After each fault the host must keep serving.

import (
	"context"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"
)

const opI32Store16 = 0x3b

var (
	// Answers "pong" from a data segment.
	pong = probe{data: []byte("pong"), dataAt: 100, handle: cat(i64Const(packed(100, 4, false)), []byte{opEnd})}
	// Spins until stopped.
	spin = probe{handle: []byte{opLoop, blockVoid, opBr, 0, opEnd, opUnreachable, opEnd}}
)

func TestTrapsAreReportedAndTheHostKeepsServing(t *testing.T) {
	cases := []struct {
		name string
		p    probe
		kind string
	}{
		{"unreachable", probe{handle: []byte{opUnreachable, opEnd}}, "unreachable"},
		{"divzero", probe{handle: cat(i32Const(1), i32Const(0), []byte{opI32DivU, opDrop}, i64Const(0), []byte{opEnd})}, "division-by-zero"},
		{"overflow", probe{handle: cat(i32Const(math.MinInt32), i32Const(-1), []byte{opI32DivS, opDrop}, i64Const(0), []byte{opEnd})}, "integer-overflow"},
		{"oob", probe{handle: cat(i32Const(-1), []byte{opI64Load, 3, 0, opEnd})}, "memory-out-of-bounds"},
		{"recursion", probe{handle: []byte{opLocalGet, 0, opLocalGet, 1, opCall, funcHandleIdx, opEnd}}, "stack-overflow"},
		{"indirect", probe{table: true, handle: cat(i32Const(0), []byte{opCallIndirect, typeVoidI32, 0, opDrop}, i64Const(0), []byte{opEnd})}, "bad-indirect-call"},
	}
	modules := []moduleArg{{"pong", writeProbe(t, "pong", pong)}}
	for _, c := range cases {
		modules = append(modules, moduleArg{c.name, writeProbe(t, c.name, c.p)})
	}
	ts := startHost(t, testConfig(), modules...)
	for _, c := range cases {
		status, body := post(t, ts.URL+"/"+c.name, []byte("x"))
		prefix := "trap (" + c.kind + "): "
		t.Logf("%s -> %d %q", c.name, status, body)
		if status != http.StatusInternalServerError || !strings.HasPrefix(string(body), prefix) || strings.Contains(string(body), "\n") {
			t.Errorf("%s: got %d %q, want 500 %q…", c.name, status, body, prefix)
		}
		if status, body := post(t, ts.URL+"/pong", nil); status != http.StatusOK || string(body) != "pong" {
			t.Fatalf("after %s: %d %q", c.name, status, body)
		}
	}
}

func TestTimeoutStopsTheGuestAndTheHostKeepsServing(t *testing.T) {
	cfg := testConfig()
	cfg.callTimeout = 300 * time.Millisecond
	ts := startHost(t, cfg, moduleArg{"spin", writeProbe(t, "spin", spin)}, moduleArg{"pong", writeProbe(t, "pong", pong)})
	for range 2 {
		start := time.Now()
		status, body := post(t, ts.URL+"/spin", []byte("x"))
		elapsed := time.Since(start)
		if status != http.StatusGatewayTimeout || string(body) != "timeout" {
			t.Errorf("spin: got %d %q, want 504 timeout", status, body)
		}
		if elapsed < cfg.callTimeout || elapsed > 3*time.Second {
			t.Errorf("spin answered after %v with a limit of %v", elapsed, cfg.callTimeout)
		}
		if status, body := post(t, ts.URL+"/pong", nil); status != http.StatusOK || string(body) != "pong" {
			t.Fatalf("after a timeout: %d %q", status, body)
		}
	}
}

func TestABIViolationsAndGuestErrors(t *testing.T) {
	cases := []struct {
		name   string
		p      probe
		status int
		body   string // exact, or a prefix ending in "…"
	}{
		{"refuse", probe{data: []byte("nope"), dataAt: 100, handle: cat(i64Const(packed(100, 4, true)), []byte{opEnd})}, 422, "nope"},
		{"empty", probe{handle: cat(i64Const(packed(100, 0, false)), []byte{opEnd})}, 200, ""},
		{"outside", probe{handle: cat(i64Const(packed(65536-2, 4, false)), []byte{opEnd})}, 502, "response at 65534+4 lies outside guest memory of 65536 bytes"},
		{"badutf8", probe{data: []byte{0xff}, dataAt: 100, handle: cat(i64Const(packed(100, 1, true)), []byte{opEnd})}, 502, "guest error message is not UTF-8"},
		{"alloc0", probe{allocZero: true, handle: cat(i64Const(0), []byte{opEnd})}, 502, "bb_alloc returned 0"},
		{"allocfar", probe{alloc: 65536 - 1, handle: cat(i64Const(0), []byte{opEnd})}, 502, "bb_alloc returned 65535, outside memory"},
		{"init", probe{
			initialize: cat(i32Const(100), i32Const(0x6b6f), []byte{opI32Store16, 1, 0, opEnd}),
			handle:     cat(i64Const(packed(100, 2, false)), []byte{opEnd}),
		}, 200, "ok"},
	}
	var modules []moduleArg
	for _, c := range cases {
		modules = append(modules, moduleArg{c.name, writeProbe(t, c.name, c.p)})
	}
	ts := startHost(t, testConfig(), modules...)
	for _, c := range cases {
		status, body := post(t, ts.URL+"/"+c.name, []byte("xy"))
		if status != c.status || string(body) != c.body {
			t.Errorf("%s: got %d %q, want %d %q", c.name, status, body, c.status, c.body)
		}
	}
}

// bb_alloc returning 0 fails only a non-empty request: an empty one needs
// no buffer at all (as on the Wasmtime adapter).
func TestEmptyRequestAcceptsAllocZero(t *testing.T) {
	eng := newTestEngine(t, testConfig())
	g := compileUnchecked(t, eng, probe{allocZero: true, handle: cat(i64Const(packed(0, 0, false)), []byte{opEnd})})
	if _, cerr := eng.handle(context.Background(), g, nil); cerr != nil {
		t.Errorf("empty request: %v", cerr)
	}
}

func TestStartupChecks(t *testing.T) {
	ok := pong
	cases := []struct {
		name string
		p    probe
		want string
	}{
		{"version", probe{version: 2, handle: ok.handle}, "probe instance: module speaks guest ABI 2, this host speaks 1"},
		{"nohandle", probe{noHandle: true, handle: ok.handle}, "guest ABI: module does not export `bb_handle`"},
		{"signature", probe{handleType: typeI32I32, handle: cat(i32Const(0), []byte{opEnd})}, "guest ABI: `bb_handle` has type [i32] -> [i32], the ABI says [i32 i32] -> [i64]"},
		{"inittrap", probe{initialize: []byte{opUnreachable, opEnd}, handle: ok.handle}, "probe instance: instantiate: _initialize: wasm error: unreachable"},
		{"initspin", probe{initialize: []byte{opLoop, blockVoid, opBr, 0, opEnd, opEnd}, handle: ok.handle}, "probe instance: timeout"},
	}
	cfg := testConfig()
	cfg.callTimeout = 200 * time.Millisecond
	eng := newTestEngine(t, cfg)
	for _, c := range cases {
		_, err := eng.load(context.Background(), c.name, writeProbe(t, c.name, c.p))
		if err == nil || err.Error() != c.want {
			t.Errorf("%s: got %v, want %q", c.name, err, c.want)
		}
	}
	// Memory beyond --max-memory-pages cannot even be compiled.
	cfg.maxMemoryPages = 1
	small := newTestEngine(t, cfg)
	if _, err := small.load(context.Background(), "big", writeProbe(t, "big", probe{memPages: 2, handle: ok.handle})); err == nil {
		t.Error("a module needing 2 pages loaded under a 1-page limit")
	} else {
		t.Logf("2 pages under a 1-page limit: %v", err)
	}
}

// A module that only fails at instantiation on some requests is a 502 per
// request (load's probe would have refused it at start-up, so this goes
// around it).
func TestInstantiationFailureIs502(t *testing.T) {
	eng := newTestEngine(t, testConfig())
	g := compileUnchecked(t, eng, probe{initialize: []byte{opUnreachable, opEnd}, handle: pong.handle})
	_, cerr := eng.handle(context.Background(), g, []byte("x"))
	if cerr == nil || cerr.status() != http.StatusBadGateway || string(cerr.body()) != "instantiate: _initialize: wasm error: unreachable" {
		t.Errorf("got %v", cerr)
	}
}

func compileUnchecked(t *testing.T, eng *engine, p probe) *guest {
	t.Helper()
	compiled, err := eng.rt.CompileModule(context.Background(), p.bytes())
	if err != nil {
		t.Fatal(err)
	}
	return &guest{name: "unchecked", compiled: compiled}
}
