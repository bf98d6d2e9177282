package main

// The host as a process: start-up errors, and SIGTERM while a request is in
// flight. The test binary itself plays the host (see TestMain).

import (
	"bytes"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"blueprint-bench/workloads/go/vectors"
)

// hostProcess is a running host and what it printed on stderr.
type hostProcess struct {
	cmd    *exec.Cmd
	stderr *bytes.Buffer // read only after done
	done   chan struct{} // closed once the process has been waited for
	err    error         // cmd.Wait's result, after done
}

// startHostProcess runs the host command with args; it is killed when the
// test ends, whatever happens.
func startHostProcess(t *testing.T, args ...string) *hostProcess {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), asHostEnv+"=1")
	cmd.SysProcAttr = childAttr()
	p := &hostProcess{cmd: cmd, stderr: &bytes.Buffer{}, done: make(chan struct{})}
	// Read only after done: exec's copying goroutine has finished by then.
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("host stderr:\n%s", p.stderr)
		}
	})
	return p
}

// wait returns the exit code, failing the test after limit.
func (p *hostProcess) wait(t *testing.T, limit time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(limit):
		t.Fatalf("host still running after %v", limit)
	}
	var exit *exec.ExitError
	if errors.As(p.err, &exit) {
		return exit.ExitCode()
	}
	if p.err != nil {
		t.Fatal(p.err)
	}
	return 0
}

// waitHealthy polls GET /healthz until it answers 200.
func waitHealthy(t *testing.T, base string, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s/healthz not ready after %v", base, limit)
}

func TestStartupErrorsExitOneWithOneLine(t *testing.T) {
	pongPath := writeProbe(t, "pong", pong)
	listen := "127.0.0.1:" + strconv.Itoa(vectors.FreePort(t))
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"not loopback", []string{"--listen", "0.0.0.0:8080", "--module", "p=" + pongPath}, "only 127.0.0.1 is allowed"},
		{"localhost name", []string{"--listen", "localhost:8080", "--module", "p=" + pongPath}, "only 127.0.0.1 is allowed"},
		{"no module", []string{"--listen", listen}, "at least one --module"},
		{"missing file", []string{"--listen", listen, "--module", "gone=/nonexistent.wasm"}, "module gone (/nonexistent.wasm): open /nonexistent.wasm"},
		{"not wasm", []string{"--listen", listen, "--module", "passwd=/etc/hostname"}, "module passwd (/etc/hostname): compile:"},
		{"abi 2", []string{"--listen", listen, "--module", "v2=" + writeProbe(t, "v2", probe{version: 2, handle: pong.handle})}, "module speaks guest ABI 2"},
		{"reserved name", []string{"--listen", listen, "--module", "info=" + pongPath}, "reserved"},
		{"other runtime", []string{"--listen", listen, "--runtime", "wasmtime", "--module", "p=" + pongPath}, "runs wazero only"},
		{"unknown flag", []string{"--listen", listen, "--module", "p=" + pongPath, "--bogus"}, "flag provided but not defined"},
	}
	for _, c := range cases {
		p := startHostProcess(t, c.args...)
		code := p.wait(t, 10*time.Second)
		stderr := p.stderr.String()
		if code != 1 || strings.Count(stderr, "\n") != 1 || !strings.HasSuffix(stderr, "\n") || !strings.Contains(stderr, c.want) {
			t.Errorf("%s: exit %d, stderr %q; want exit 1 and one line containing %q", c.name, code, stderr, c.want)
		}
	}
}

// SIGTERM stops accepting, lets the in-flight request finish, exits 0.
func TestSIGTERMFinishesInFlightRequestsAndExitsZero(t *testing.T) {
	port := vectors.FreePort(t)
	base := "http://" + vectors.Addr(port)
	p := startHostProcess(t, "--listen", vectors.Addr(port), "--call-timeout-ms", "1500",
		"--module", "spin="+writeProbe(t, "spin", spin), "--module", "pong="+writeProbe(t, "pong", pong))
	waitHealthy(t, base, 10*time.Second)
	if status, body := post(t, base+"/pong", nil); status != http.StatusOK || string(body) != "pong" {
		t.Fatalf("pong: %d %q", status, body)
	}

	type answer struct {
		status int
		body   []byte
		err    error
	}
	inflight := make(chan answer, 1)
	go func() {
		status, body, err := vectors.Post(base+"/spin", nil)
		inflight <- answer{status, body, err}
	}()
	time.Sleep(300 * time.Millisecond) // let the request reach the guest
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	a := <-inflight
	if a.err != nil || a.status != http.StatusGatewayTimeout || string(a.body) != "timeout" {
		t.Errorf("in-flight request during shutdown: %d %q %v, want 504 timeout", a.status, a.body, a.err)
	}
	if code := p.wait(t, 8*time.Second); code != 0 {
		t.Errorf("exit code %d after SIGTERM, want 0", code)
	}
	if _, _, err := vectors.Post(base+"/pong", nil); err == nil {
		t.Error("host still accepts requests after exiting")
	}
}
