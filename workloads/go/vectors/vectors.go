// Package vectors reads the golden vectors of workloads/vectors and checks
// answers against them, for the Go tests of every module: a workload's
// handler in-process (Run), or a host serving it over HTTP (RunURL,
// Case.Expect), plus the loopback plumbing those tests share. The wazero
// host's module imports it through a replace directive.
package vectors

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"
)

// Case is one vector: an input, and either an output or an error message.
// Bytes that are not UTF-8 text come base64-encoded.
type Case struct {
	Name         string  `json:"name"`
	Input        *string `json:"input"`
	InputBase64  *string `json:"input_base64"`
	Output       *string `json:"output"`
	OutputBase64 *string `json:"output_base64"`
	Error        *string `json:"error"`
}

// File is workloads/vectors/<workload>.json.
type File struct {
	Workload string `json:"workload"`
	Pure     bool   `json:"pure"`
	Cases    []Case `json:"cases"`
	// FinalState is the state store after every case ran in order, key ->
	// value; stateful workloads only.
	FinalState map[string]string `json:"final_state"`
}

// dir finds workloads/vectors above the working directory, which go test
// sets to the package's folder, wherever in the checkout that is.
func dir() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		candidate := filepath.Join(d, "workloads", "vectors")
		if st, err := os.Stat(candidate); err == nil && st.IsDir() {
			return candidate, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no workloads/vectors above %s", wd)
		}
	}
}

// Load reads the vectors of workload, which must name it and have cases.
func Load(t testing.TB, workload string) File {
	t.Helper()
	d, err := dir()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(d, workload+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var f File
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatalf("%s.json: %v", workload, err)
	}
	if f.Workload != workload || len(f.Cases) == 0 {
		t.Fatalf("%s.json: workload %q with %d cases", workload, f.Workload, len(f.Cases))
	}
	return f
}

func decode(t testing.TB, text, b64 *string) []byte {
	t.Helper()
	if b64 != nil {
		b, err := base64.StdEncoding.DecodeString(*b64)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	if text != nil {
		return []byte(*text)
	}
	return nil
}

// In is the case's input bytes.
func (c Case) In(t testing.TB) []byte { t.Helper(); return decode(t, c.Input, c.InputBase64) }

// Out is the case's expected output bytes (nil for an error case).
func (c Case) Out(t testing.TB) []byte { t.Helper(); return decode(t, c.Output, c.OutputBase64) }

// Run runs every case through handler, which must be pure, in-process.
func Run(t *testing.T, workload string, handler func([]byte) ([]byte, error)) {
	t.Helper()
	f := Load(t, workload)
	if !f.Pure {
		t.Fatalf("%s.json is not pure", workload)
	}
	for _, c := range f.Cases {
		out, err := handler(c.In(t))
		switch {
		case c.Error != nil && (err == nil || err.Error() != *c.Error):
			t.Errorf("%s: got %q, %v; want error %q", c.Name, out, err, *c.Error)
		case c.Error == nil && err != nil:
			t.Errorf("%s: error %q", c.Name, err)
		case c.Error == nil && !bytes.Equal(out, c.Out(t)):
			t.Errorf("%s:\n got %s\nwant %s", c.Name, out, c.Out(t))
		}
	}
}

var client = &http.Client{Timeout: 30 * time.Second}

// Post sends body to a host's POST endpoint. It returns errors instead of
// failing the test, so goroutines other than the test's may call it.
func Post(url string, body []byte) (int, []byte, error) {
	resp, err := client.Post(url, "application/octet-stream", bytes.NewReader(body))
	if err != nil {
		return 0, nil, fmt.Errorf("POST %s: %w", url, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	return resp.StatusCode, out, err
}

// Expect posts input to url and checks the answer as HOST.md words it: 200
// with want, or 422 with the message wantErr when that is not nil. what
// names the check in failures.
func Expect(t testing.TB, url, what string, input, want []byte, wantErr *string) bool {
	t.Helper()
	status, body, err := Post(url, input)
	switch {
	case err != nil:
		t.Errorf("%s: %v", what, err)
	case wantErr != nil && (status != http.StatusUnprocessableEntity || string(body) != *wantErr):
		t.Errorf("%s: got %d %q, want 422 %q", what, status, body, *wantErr)
	case wantErr == nil && (status != http.StatusOK || !bytes.Equal(body, want)):
		t.Errorf("%s: got %d %q, want 200 %q", what, status, body, want)
	default:
		return true
	}
	return false
}

// Expect runs the case against a host's POST endpoint.
func (c Case) Expect(t testing.TB, url string) bool {
	t.Helper()
	return Expect(t, url, c.Name, c.In(t), c.Out(t), c.Error)
}

// RunURL runs every case in order against a host's POST endpoint and logs
// the tally.
func RunURL(t testing.TB, url string, f File) {
	t.Helper()
	passed := 0
	for _, c := range f.Cases {
		if c.Expect(t, url) {
			passed++
		}
	}
	t.Logf("%s vectors: %d/%d passed", f.Workload, passed, len(f.Cases))
}

// CheckFinalState compares FinalState with the store as state reads it
// (ok false: no value).
func (f File) CheckFinalState(t testing.TB, state func(key string) (value string, ok bool)) {
	t.Helper()
	for key, want := range f.FinalState {
		if got, ok := state(key); !ok || got != want {
			t.Errorf("final state of %q = %q (found %v), want %q", key, got, ok, want)
		}
	}
}

// ConcurrentIncrements sends n concurrent increments of the counter's key
// "race" to url, which must answer 1..n once each: they only add up if etag
// mismatches reach the guest as ETAG_MISMATCH and it retries. Each loser
// loses to a winner, so n up to the counter's 64 attempts always succeeds.
func ConcurrentIncrements(t testing.TB, url string, n int) {
	t.Helper()
	results := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			status, body, err := Post(url, []byte("race"))
			if err != nil || status != http.StatusOK {
				t.Errorf("concurrent increment: %d %q %v", status, body, err)
				return
			}
			results[i], _ = strconv.Atoi(string(body))
		})
	}
	wg.Wait()
	sort.Ints(results)
	for i, r := range results {
		if r != i+1 {
			t.Fatalf("concurrent increments returned %v, want 1..%d once each", results, n)
		}
	}
}

// FreePort finds a loopback port nobody listens on right now.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// FreePorts finds n distinct loopback ports nobody listens on right now.
// Each listener stays open until all are found: ports found one at a time
// can repeat (the kernel may hand out a port just released), and a daprd
// given the same port twice fails to start.
func FreePorts(t testing.TB, n int) []int {
	t.Helper()
	ports := make([]int, 0, n)
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports
}

// Addr is 127.0.0.1:<port>.
func Addr(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }
