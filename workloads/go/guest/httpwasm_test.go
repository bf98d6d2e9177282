package guest

import (
	"bytes"
	"errors"
	"testing"
)

// fakeHTTPWasm is an http-wasm host that hands out its body in chunks of at
// most chunk bytes and records what the filter did.
type fakeHTTPWasm struct {
	body        []byte
	chunk       int
	reads       int
	requestBody []byte
	wroteBody   bool
	headers     map[string]string
	status      uint32
	response    []byte
}

func (f *fakeHTTPWasm) readRequestBody(buf []byte) (int, bool) {
	f.reads++
	n := copy(buf[:min(len(buf), f.chunk)], f.body)
	f.body = f.body[n:]
	return n, len(f.body) == 0
}
func (f *fakeHTTPWasm) writeRequestBody(b []byte)    { f.requestBody, f.wroteBody = bytes.Clone(b), true }
func (f *fakeHTTPWasm) addRequestHeader(n, v string) { f.headers["req "+n] = v }
func (f *fakeHTTPWasm) setResponseHeader(n, v string) {
	f.headers["resp "+n] = v
}
func (f *fakeHTTPWasm) setStatusCode(code uint32)  { f.status = code }
func (f *fakeHTTPWasm) writeResponseBody(b []byte) { f.response = append(f.response, b...) }

func withWorkload(t *testing.T, name string, h Handler) {
	t.Helper()
	savedH, savedName := handler, workload
	handler, workload = h, name
	t.Cleanup(func() { handler, workload = savedH, savedName })
}

func TestTheFilterReplacesTheBodyAndContinues(t *testing.T) {
	withWorkload(t, "upper", func(in []byte) ([]byte, error) { return bytes.ToUpper(in), nil })
	// 10000 bytes in chunks of 3000: the filter must keep reading until EOF
	// and grow its buffer past the first 4096 bytes.
	in := bytes.Repeat([]byte("abcdefghij"), 1000)
	f := &fakeHTTPWasm{body: bytes.Clone(in), chunk: 3000, headers: map[string]string{}}
	if next := filter(f); next != 1 {
		t.Fatalf("filter = %d, want 1 (continue)", next)
	}
	if !bytes.Equal(f.requestBody, bytes.ToUpper(in)) || f.reads < 4 {
		t.Errorf("request body %d bytes after %d reads", len(f.requestBody), f.reads)
	}
	if f.headers["req x-blueprint-workload"] != "upper" || f.status != 0 || f.response != nil {
		t.Errorf("headers %v, status %d, response %q", f.headers, f.status, f.response)
	}
}

func TestAnEmptyOutputStillReplacesTheBody(t *testing.T) {
	withWorkload(t, "empty", func([]byte) ([]byte, error) { return nil, nil })
	f := &fakeHTTPWasm{body: []byte("x"), chunk: 10, headers: map[string]string{}}
	if filter(f) != 1 || !f.wroteBody || len(f.requestBody) != 0 {
		t.Errorf("wrote %v %q", f.wroteBody, f.requestBody)
	}
}

func TestAGuestErrorAnswers422AndStops(t *testing.T) {
	withWorkload(t, "v", func([]byte) ([]byte, error) { return nil, errors.New("id is required") })
	f := &fakeHTTPWasm{chunk: 10, headers: map[string]string{}}
	if next := filter(f); next != 0 {
		t.Fatalf("filter = %d, want 0 (respond directly)", next)
	}
	if f.status != 422 || string(f.response) != "id is required" || f.wroteBody ||
		f.headers["resp Content-Type"] != "text/plain; charset=utf-8" {
		t.Errorf("status %d, response %q, wrote request body %v, headers %v", f.status, f.response, f.wroteBody, f.headers)
	}
}

func TestTheCommandWritesStdoutOrStderrAndItsExitCode(t *testing.T) {
	withWorkload(t, "v", func(in []byte) ([]byte, error) {
		if len(in) == 0 {
			return nil, errors.New("key must not be empty")
		}
		return append(in, '!'), nil
	})
	for _, c := range []struct {
		in, out, errOut string
		code            int
	}{
		{"hi", "hi!", "", 0},
		{"", "", "key must not be empty", 1},
	} {
		var stdout, stderr bytes.Buffer
		code := command(bytes.NewReader([]byte(c.in)), &stdout, &stderr)
		if code != c.code || stdout.String() != c.out || stderr.String() != c.errOut {
			t.Errorf("%q: exit %d, stdout %q, stderr %q", c.in, code, stdout.String(), stderr.String())
		}
	}
}
