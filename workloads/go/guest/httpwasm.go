package guest

// The middleware flavour's request filter over the http-wasm host functions
// it needs. filter is plain Go, tested natively against a fake host
// (httpwasm_test.go); sys_httpwasm_wasm.go has the imports.

// httpWasmHost is the part of http-wasm's "http_handler" import module the
// filter uses.
type httpWasmHost interface {
	// readRequestBody reads up to len(buf) more bytes of the request body;
	// eof says the body has no more.
	readRequestBody(buf []byte) (n int, eof bool)
	// writeRequestBody replaces the request body the next handler gets.
	writeRequestBody(b []byte)
	addRequestHeader(name, value string)
	setStatusCode(code uint32)
	setResponseHeader(name, value string)
	writeResponseBody(b []byte)
}

const (
	// WorkloadHeader is the request header the middleware adds, naming the
	// workload that rewrote the body.
	WorkloadHeader = "x-blueprint-workload"
	// statusGuestError is the answer for a guest error, as every mode's.
	statusGuestError = 422
)

// filter reads the whole request body and runs the workload on it. On
// success the output replaces the body, WorkloadHeader names the workload
// and the request goes on to the app (1); on a guest error the client gets
// 422 with the message and the app is never called (0).
func filter(h httpWasmHost) int64 {
	body := readAll(h)
	out, err := run(body)
	if err != nil {
		h.setResponseHeader("Content-Type", "text/plain; charset=utf-8")
		h.setStatusCode(statusGuestError)
		h.writeResponseBody([]byte(err.Error()))
		return 0
	}
	h.writeRequestBody(out)
	h.addRequestHeader(WorkloadHeader, workload)
	return 1
}

// readAll reads the request body in growing chunks until the host says EOF.
func readAll(h httpWasmHost) []byte {
	buf := make([]byte, 0, 4096)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, eof := h.readRequestBody(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if eof {
			return buf
		}
	}
}
