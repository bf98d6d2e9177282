//go:build wasm

package guest

// The "http_handler" imports of http-wasm-host-go (the host in daprd's
// middleware.http.wasm), as its handler package declares them. Only the
// middleware flavour calls them, so other modules do not import them.

import "unsafe"

// http-wasm's kinds: header and body kind 0 is the request, 1 the response.
const (
	kindRequest  = 0
	kindResponse = 1
)

//go:wasmimport http_handler read_body
func sysReadBody(kind uint32, buf unsafe.Pointer, bufLimit uint32) uint64

//go:wasmimport http_handler write_body
func sysWriteBody(kind uint32, buf unsafe.Pointer, bufLen uint32)

//go:wasmimport http_handler add_header_value
func sysAddHeaderValue(kind uint32, name unsafe.Pointer, nameLen uint32, value unsafe.Pointer, valueLen uint32)

//go:wasmimport http_handler set_header_value
func sysSetHeaderValue(kind uint32, name unsafe.Pointer, nameLen uint32, value unsafe.Pointer, valueLen uint32)

//go:wasmimport http_handler set_status_code
func sysSetStatusCode(code uint32)

// httpHandlerImports is the real host.
type httpHandlerImports struct{}

func (httpHandlerImports) readRequestBody(buf []byte) (int, bool) {
	// read_body answers eof << 32 | count.
	p, n := bytesArg(buf)
	r := sysReadBody(kindRequest, p, n)
	return int(uint32(r)), r>>32 != 0
}

func (httpHandlerImports) writeRequestBody(b []byte) {
	p, n := bytesArg(b)
	sysWriteBody(kindRequest, p, n)
}

func (httpHandlerImports) addRequestHeader(name, value string) {
	np, nl := stringArg(name)
	vp, vl := stringArg(value)
	sysAddHeaderValue(kindRequest, np, nl, vp, vl)
}

func (httpHandlerImports) setStatusCode(code uint32) { sysSetStatusCode(code) }

func (httpHandlerImports) setResponseHeader(name, value string) {
	np, nl := stringArg(name)
	vp, vl := stringArg(value)
	sysSetHeaderValue(kindResponse, np, nl, vp, vl)
}

func (httpHandlerImports) writeResponseBody(b []byte) {
	p, n := bytesArg(b)
	sysWriteBody(kindResponse, p, n)
}
