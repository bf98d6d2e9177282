package vectors

import (
	"bytes"
	"io"
	"net/http"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// StartProcess starts cmd (daprd, a host) for the rest of the test and
// returns a channel closed when it exits. When the test ends it gets
// SIGTERM, then SIGKILL after 10 s, so a stuck process cannot outlive the
// test; its output, unless the caller routed it elsewhere, is logged under
// name if the test failed.
func StartProcess(t testing.TB, name string, cmd *exec.Cmd) <-chan struct{} {
	t.Helper()
	// Read only after done: exec's copying goroutines have finished by then.
	var log bytes.Buffer
	if cmd.Stdout == nil && cmd.Stderr == nil {
		cmd.Stdout, cmd.Stderr = &log, &log
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() && log.Len() > 0 {
			t.Logf("%s output:\n%s", name, log.String())
		}
	})
	return done
}

// WaitFor polls url until it answers status, failing the test if the
// process behind done exits first or limit passes.
func WaitFor(t testing.TB, name, url string, status int, done <-chan struct{}, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		select {
		case <-done:
			t.Fatalf("%s exited during start-up", name)
		default:
		}
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == status {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready after %v", name, limit)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Do sends req with c and reads the whole answer, failing the test if
// either fails; the response's body is closed.
func Do(t testing.TB, c *http.Client, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the answer: %v", req.Method, req.URL, err)
	}
	return resp, body
}

// Get sends a GET of url and returns the status and the whole body, failing
// the test if it cannot.
func Get(t testing.TB, url string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	resp, body := Do(t, client, req)
	return resp.StatusCode, body
}
