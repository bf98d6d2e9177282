package main

// The host as daprd's app, against a real daprd (BLUEPRINT_DAPRD = path of
// the binary) with an in-memory state store: requests go through Dapr's
// service invocation, state calls back through the Go SDK over gRPC, and the
// result is read through Dapr's own state API.

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"blueprint-bench/workloads/go/vectors"
)

const (
	daprAppID = "t1"
	stateYAML = `apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: statestore
spec:
  type: state.in-memory
  version: v1
  metadata: []
`
	// Name resolution from a SQLite file, not mDNS: nothing is announced
	// beyond loopback.
	configYAML = `apiVersion: dapr.io/v1alpha1
kind: Configuration
metadata:
  name: bench
spec:
  nameResolution:
    component: sqlite
    version: v1
    configuration:
      connectionString: %q
  metric:
    enabled: false
`
)

// startDaprd runs daprd for an app on appPort until the test ends.
func startDaprd(t *testing.T, bin string, appPort, httpPort, grpcPort, metricsPort int) {
	t.Helper()
	dir := t.TempDir()
	res := filepath.Join(dir, "res")
	if err := os.Mkdir(res, 0o755); err != nil {
		t.Fatal(err)
	}
	config := filepath.Join(dir, "config.yaml")
	writeFile(t, filepath.Join(res, "state.yaml"), stateYAML)
	writeFile(t, config, fmt.Sprintf(configYAML, filepath.Join(dir, "nr.db")))
	cmd := exec.Command(bin,
		"--app-id", daprAppID,
		"--dapr-http-port", strconv.Itoa(httpPort),
		"--dapr-grpc-port", strconv.Itoa(grpcPort),
		"--metrics-port", strconv.Itoa(metricsPort),
		"--resources-path", res,
		"--config", config,
		"--dapr-listen-addresses", "127.0.0.1",
		"--dapr-internal-grpc-listen-address", "127.0.0.1",
		"--metrics-listen-address", "127.0.0.1",
		"--app-port", strconv.Itoa(appPort),
		"--app-channel-address", "127.0.0.1",
		// The test needs no drain period; the default 5 s only slows it.
		"--dapr-graceful-shutdown-seconds", "1",
	)
	cmd.Dir = dir
	cmd.SysProcAttr = childAttr()
	done := vectors.StartProcess(t, "daprd", cmd)
	// /v1.0/healthz answers 204 once daprd is up and its app is reachable.
	vectors.WaitFor(t, "daprd", "http://"+vectors.Addr(httpPort)+"/v1.0/healthz", http.StatusNoContent, done, 30*time.Second)
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestCounterThroughRealDaprd(t *testing.T) {
	bin := os.Getenv("BLUEPRINT_DAPRD")
	if bin == "" {
		t.Skip("BLUEPRINT_DAPRD is not set (path of a daprd binary)")
	}
	counter := guestPath(t, "counter")
	ports := vectors.FreePorts(t, 4)
	hostPort, httpPort, grpcPort, metricsPort := ports[0], ports[1], ports[2], ports[3]

	host := startHostProcess(t, "--listen", vectors.Addr(hostPort), "--dapr-grpc-port", strconv.Itoa(grpcPort),
		"--module", "counter="+counter)
	waitHealthy(t, "http://"+vectors.Addr(hostPort), 10*time.Second)
	startDaprd(t, bin, hostPort, httpPort, grpcPort, metricsPort)

	dapr := "http://" + vectors.Addr(httpPort)
	invoke := dapr + "/v1.0/invoke/" + daprAppID + "/method/counter"
	stateOf := func(key string) string {
		status, body := vectors.Get(t, dapr+"/v1.0/state/statestore/"+key)
		if status != http.StatusOK {
			t.Fatalf("GET state %q: %d %q", key, status, body)
		}
		return string(body)
	}

	// The brief's check: 20 increments, then Dapr's own view of the key.
	for i := 1; i <= 20; i++ {
		status, body := post(t, invoke, []byte("k"))
		if status != http.StatusOK || string(body) != strconv.Itoa(i) {
			t.Fatalf("increment %d: %d %q", i, status, body)
		}
	}
	if got := stateOf("k"); got != "20" {
		t.Errorf("state of k = %q, want 20", got)
	}

	// The golden vectors, status codes and all, through Dapr.
	v := vectors.Load(t, "counter")
	vectors.RunURL(t, invoke, v)
	v.CheckFinalState(t, func(key string) (string, bool) { return stateOf(key), true })

	const n = 40
	vectors.ConcurrentIncrements(t, invoke, n)
	if got := stateOf("race"); got != strconv.Itoa(n) {
		t.Errorf("state of race = %q, want %d", got, n)
	}

	if err := host.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := host.wait(t, 8*time.Second); code != 0 {
		t.Errorf("host exit code %d after SIGTERM, want 0", code)
	}
	t.Logf("host stderr:\n%s", host.stderr)
}
