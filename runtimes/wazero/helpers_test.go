package main

// Test plumbing: the guest modules, a fake Dapr, an
// in-process host and the test binary re-run as the host command.

import (
	"bytes"
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"blueprint-bench/workloads/go/vectors"
)

// asHostEnv makes the test binary run main's run() instead of the tests, so
// process-level tests (exit codes, signals, daprd) need no separate build.
const asHostEnv = "BB_WAZERO_TEST_AS_HOST"

func TestMain(m *testing.M) {
	if os.Getenv(asHostEnv) == "1" {
		os.Exit(run(os.Args[1:]))
	}
	os.Exit(m.Run())
}

// guestPath finds a Rust guest module in $BLUEPRINT_GUEST_DIR. Unset skips
// the test; set but without the module fails it, so a broken build is never
// mistaken for an optional test.
func guestPath(t *testing.T, name string) string {
	t.Helper()
	dir := os.Getenv("BLUEPRINT_GUEST_DIR")
	if dir == "" {
		t.Skip("BLUEPRINT_GUEST_DIR is not set: build workloads/rust for wasm32-wasip1 and point it at a harness build folder (~/.cache/blueprint-bench/guests/rust/<hash>, files <workload>.embedded.wasm)")
	}
	path := filepath.Join(dir, name+".embedded.wasm")
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("BLUEPRINT_GUEST_DIR is set but the %s guest is missing: %v", name, err)
	}
	return path
}

func post(t *testing.T, url string, body []byte) (int, []byte) {
	t.Helper()
	status, out, err := vectors.Post(url, body)
	if err != nil {
		t.Fatal(err)
	}
	return status, out
}

// testConfig is the command line's defaults, without Dapr.
func testConfig() engineConfig {
	return engineConfig{maxMemoryPages: 1024, callTimeout: 10 * time.Second, dapr: noDapr{}}
}

// newTestEngine is an engine closed with the test.
func newTestEngine(t *testing.T, cfg engineConfig) *engine {
	t.Helper()
	eng, err := newEngine(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.close(context.Background()) })
	return eng
}

// startHost serves modules in-process on a loopback httptest server.
func startHost(t *testing.T, cfg engineConfig, modules ...moduleArg) *httptest.Server {
	t.Helper()
	eng := newTestEngine(t, cfg)
	s, err := newServer(context.Background(), eng, modules, cfg.maxMemoryPages)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return ts
}

// writeProbe stores a hand-assembled module and returns its path.
func writeProbe(t *testing.T, name string, p probe) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name+".wasm")
	if err := os.WriteFile(path, p.bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// memDapr is a fake sidecar with Dapr's state semantics: numeric etags that
// change on every write, and first-write checks.
type memDapr struct {
	mu        sync.Mutex
	state     map[string]memEntry
	version   int
	published []string   // "pubsub/topic content-type data"
	bulk      [][]string // the keys of each stateGetBulk, in call order
}

type memEntry struct {
	value []byte
	etag  string
}

func newMemDapr() *memDapr { return &memDapr{state: map[string]memEntry{}} }

func (d *memDapr) stateGet(_ context.Context, store, key string) (*stateEntry, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	e, ok := d.state[store+"||"+key]
	if !ok {
		return nil, nil
	}
	return &stateEntry{value: bytes.Clone(e.value), etag: e.etag}, nil
}

func (d *memDapr) stateGetBulk(ctx context.Context, store string, keys []string) ([]*stateEntry, error) {
	d.mu.Lock()
	d.bulk = append(d.bulk, slices.Clone(keys))
	d.mu.Unlock()
	out := make([]*stateEntry, len(keys))
	for i, key := range keys {
		out[i], _ = d.stateGet(ctx, store, key)
	}
	return out, nil
}

// bulkCalls is a copy of the keys of every stateGetBulk so far.
func (d *memDapr) bulkCalls() [][]string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.bulk)
}

func (d *memDapr) check(store, key, etag string, c concurrency) error {
	e, exists := d.state[store+"||"+key]
	switch {
	case etag != "" && (!exists || e.etag != etag):
		return errEtagMismatch
	case etag == "" && c == firstWrite && exists:
		return errEtagMismatch
	}
	return nil
}

func (d *memDapr) stateSet(_ context.Context, store, key string, value []byte, etag string, c concurrency) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.check(store, key, etag, c); err != nil {
		return err
	}
	d.version++
	d.state[store+"||"+key] = memEntry{value: bytes.Clone(value), etag: strconv.Itoa(d.version)}
	return nil
}

func (d *memDapr) stateDelete(_ context.Context, store, key, etag string, c concurrency) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.check(store, key, etag, c); err != nil {
		return err
	}
	delete(d.state, store+"||"+key)
	return nil
}

func (d *memDapr) publish(_ context.Context, pubsub, topic string, data []byte, contentType string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.published = append(d.published, pubsub+"/"+topic+" "+contentType+" "+string(data))
	return nil
}

func (d *memDapr) invokeBinding(_ context.Context, name, operation string, data []byte) ([]byte, error) {
	return []byte(name + "." + operation + "(" + string(data) + ")"), nil
}
