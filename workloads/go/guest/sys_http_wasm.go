//go:build wasm

package guest

// The raw "http" imports of the http flavour (workloads/ABI.md, "http
// flavour"): (ptr, len) pairs as unsafe.Pointer and uint32, each a wasm i32.
// Only the http flavour's backend calls them, so the other flavours' modules
// do not import them.

import "unsafe"

//go:wasmimport http request
func sysHTTPRequest(method unsafe.Pointer, methodLen uint32, url unsafe.Pointer, urlLen uint32,
	headers unsafe.Pointer, headersLen uint32, body unsafe.Pointer, bodyLen uint32) int64

//go:wasmimport http take_result
func sysHTTPTakeResult(buf unsafe.Pointer, bufLen uint32) int64

// sendHTTP is one http.request: status << 32 | size on success, then the
// result copied out of the slot.
func sendHTTP(method, url, headers string, body []byte) (httpResponse, error) {
	mp, ml := stringArg(method)
	up, ul := stringArg(url)
	hp, hl := stringArg(headers)
	bp, bl := bytesArg(body)
	ret, err := check(sysHTTPRequest(mp, ml, up, ul, hp, hl, bp, bl))
	if err != nil {
		return httpResponse{}, err
	}
	status, size := int(ret>>32), ret&0xffff_ffff
	buf := make([]byte, size)
	copied, err := check(sysHTTPTakeResult(bytesArg(buf)))
	if err != nil {
		return httpResponse{}, err
	}
	return parseHTTPResult(status, buf[:min(copied, size)])
}
