//go:build !wasm

package guest

// The http flavour's requests against a real daprd, sent natively with
// net/http: what the "http" import does for a module, minus the module.
// Needs BLUEPRINT_DAPRD (a daprd binary); skipped without it.

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"blueprint-bench/workloads/go/vectors"
)

// startSidecar runs daprd with an in-memory state store and pub/sub and
// returns its HTTP API base URL.
func startSidecar(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("BLUEPRINT_DAPRD")
	if bin == "" {
		t.Skip("BLUEPRINT_DAPRD is not set (path of a daprd binary)")
	}
	dir := t.TempDir()
	files := map[string]string{
		"resources/state.yaml": "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: statestore\n" +
			"spec:\n  type: state.in-memory\n  version: v1\n  metadata: []\n",
		"resources/pubsub.yaml": "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: pubsub\n" +
			"spec:\n  type: pubsub.in-memory\n  version: v1\n  metadata: []\n",
		"config.yaml": "apiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata:\n  name: c\nspec:\n" +
			"  nameResolution:\n    component: sqlite\n    version: v1\n    configuration:\n      connectionString: " +
			filepath.Join(dir, "nr.db") + "\n  metric:\n    enabled: false\n",
	}
	for name, text := range files {
		_ = os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ports := vectors.FreePorts(t, 4)
	port := strconv.Itoa(ports[0])
	cmd := exec.Command(bin, "--mode", "standalone", "--app-id", "bbhttp", "--dapr-http-port", port,
		"--dapr-grpc-port", strconv.Itoa(ports[1]), "--dapr-internal-grpc-port", strconv.Itoa(ports[2]),
		"--metrics-port", strconv.Itoa(ports[3]), "--dapr-listen-addresses", "127.0.0.1",
		"--dapr-internal-grpc-listen-address", "127.0.0.1", "--metrics-listen-address", "127.0.0.1",
		"--resources-path", "resources", "--config", "config.yaml", "--enable-profiling=false",
		"--dapr-graceful-shutdown-seconds", "1")
	cmd.Dir = dir
	done := vectors.StartProcess(t, "daprd", cmd)
	base := "http://127.0.0.1:" + port
	vectors.WaitFor(t, "daprd", base+"/v1.0/healthz", http.StatusNoContent, done, 30*time.Second)
	return base
}

// netHTTPSender is the http import done with net/http: header lines in,
// lower-case header lines out, as ABI.md describes them.
func netHTTPSender(t *testing.T, base string) sender {
	return func(method, url, headers string, body []byte) (httpResponse, error) {
		req, err := http.NewRequest(method, base+url, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		for line := range strings.Lines(headers) {
			name, value, _ := strings.Cut(strings.TrimSuffix(line, "\n"), ": ")
			req.Header.Set(name, value)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return httpResponse{}, ErrUnavailable
		}
		defer resp.Body.Close()
		out, err := io.ReadAll(resp.Body)
		if err != nil {
			return httpResponse{}, ErrUnavailable
		}
		var lines strings.Builder
		for name, values := range resp.Header {
			for _, v := range values {
				lines.WriteString(strings.ToLower(name) + ": " + v + "\n")
			}
		}
		return httpResponse{status: resp.StatusCode, headers: lines.String(), body: out}, nil
	}
}

func TestTheHTTPFlavourAgainstDaprd(t *testing.T) {
	d := daprHTTP{send: netHTTPSender(t, startSidecar(t))}
	const store, key = "statestore", "agg/é 1" // a key that needs escaping
	if got, err := d.stateGet(store, key); got != nil || err != nil {
		t.Fatalf("missing key: %+v, %v", got, err)
	}
	// First write without an etag: an insert, which only the first wins.
	first := []byte(`{"count":1,"max":5,"min":5,"sum":5}`)
	if err := d.stateSet(store, key, first, "", FirstWrite); err != nil {
		t.Fatalf("insert: %v", err)
	}
	if err := d.stateSet(store, key, first, "", FirstWrite); !errors.Is(err, ErrEtagMismatch) {
		t.Fatalf("second insert: %v, want etag mismatch", err)
	}
	got, err := d.stateGet(store, key)
	if err != nil || !bytes.Equal(got.Value, first) || got.Etag == "" {
		t.Fatalf("read back: %+v, %v; want %s with an etag", got, err, first)
	}
	// The stored bytes are what the embedded flavour stores: compact JSON,
	// members in alphabetical order (daprd re-encodes, sorting keys).
	second := []byte(`{"count":2,"max":7,"min":5,"sum":12}`)
	if err := d.stateSet(store, key, second, got.Etag+"0", FirstWrite); !errors.Is(err, ErrEtagMismatch) {
		t.Fatalf("stale etag: %v, want etag mismatch", err)
	}
	if err := d.stateSet(store, key, second, got.Etag, FirstWrite); err != nil {
		t.Fatalf("update with the etag read: %v", err)
	}
	if got, err = d.stateGet(store, key); err != nil || !bytes.Equal(got.Value, second) {
		t.Fatalf("after the update: %+v, %v", got, err)
	}
	if err := d.stateSet(store, "n", []byte("41"), "", LastWrite); err != nil {
		t.Fatal(err)
	}
	if got, err := d.stateGet(store, "n"); err != nil || string(got.Value) != "41" {
		t.Fatalf("a number value: %+v, %v", got, err)
	}
	// One bulk read: answers in the order asked, the missing key without a
	// value, etags as the single reads give them.
	bulk, err := d.stateGetBulk(store, []string{"missing", "n", key, "n"})
	if err != nil || len(bulk) != 4 || bulk[0] != nil || string(bulk[1].Value) != "41" || bulk[1].Etag == "" ||
		!bytes.Equal(bulk[2].Value, second) || bulk[2].Etag != got.Etag || bulk[3] == nil {
		t.Fatalf("bulk read: %+v, %v", bulk, err)
	}
	if err := d.stateSet(store, "bad", []byte("not json"), "", LastWrite); err == nil ||
		!strings.HasPrefix(err.Error(), "HTTP 400 from POST /v1.0/state/statestore") {
		t.Errorf("a value that is not JSON: %v", err)
	}
	if err := d.stateDelete(store, key, got.Etag, FirstWrite); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if got, err := d.stateGet(store, key); got != nil || err != nil {
		t.Fatalf("after delete: %+v, %v", got, err)
	}
	if err := d.publish("pubsub", "aggregates", second, ""); err != nil {
		t.Errorf("publish: %v", err)
	}
	if err := d.publish("nopubsub", "t", second, ""); err == nil {
		t.Error("publish to a missing component succeeded")
	}
}
