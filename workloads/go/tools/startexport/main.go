// Command startexport renames a Go reactor's `_initialize` export to
// `_start`, in place: the middleware flavour's last build step.
//
//	go run ./tools/startexport noop.middleware.wasm
//
// Why: Go's linker names the entry of a -buildmode=c-shared module (the
// runtime start and every init) `_initialize`, the WASI reactor convention,
// and a go:wasmexport function called before it traps ("wasmexport function
// called before runtime initialization"). daprd's middleware.http.wasm
// instantiates the guest through http-wasm-host-go with wazero's default
// module config, whose only start function is `_start`, and calls
// handle_request next; nothing ever calls `_initialize`. Under the name
// `_start` the same function runs at instantiation, initialises the runtime
// and returns (a reactor's entry pauses instead of running main), so the
// exports work. Only the export's name changes: no code, no other section.
package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: startexport <module.wasm>")
		os.Exit(2)
	}
	path := os.Args[1]
	module, err := os.ReadFile(path)
	if err == nil {
		module, err = renameExport(module, "_initialize", "_start")
	}
	if err == nil {
		err = os.WriteFile(path, module, 0o644)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "startexport %s: %v\n", path, err)
		os.Exit(1)
	}
}

const exportSection = 7

// renameExport returns module with the function export from renamed to, or
// an error if there is no such export or already one named to.
func renameExport(module []byte, from, to string) ([]byte, error) {
	if len(module) < 8 || !bytes.Equal(module[:8], []byte("\x00asm\x01\x00\x00\x00")) {
		return nil, errors.New("not a WebAssembly 1.0 binary module")
	}
	for pos := 8; pos < len(module); {
		id := module[pos]
		size, body, err := uleb(module, pos+1)
		if err != nil {
			return nil, fmt.Errorf("section at byte %d: %w", pos, err)
		}
		end := body + int(size)
		if end > len(module) {
			return nil, fmt.Errorf("section at byte %d runs past the end", pos)
		}
		if id != exportSection {
			pos = end
			continue
		}
		section, err := renameIn(module[body:end], from, to)
		if err != nil {
			return nil, err
		}
		out := append([]byte(nil), module[:pos]...)
		out = append(out, exportSection)
		out = appendUleb(out, uint32(len(section)))
		out = append(out, section...)
		return append(out, module[end:]...), nil
	}
	return nil, errors.New("no export section")
}

// renameIn rewrites one export section's contents.
func renameIn(section []byte, from, to string) ([]byte, error) {
	count, pos, err := uleb(section, 0)
	if err != nil {
		return nil, err
	}
	out := appendUleb(nil, count)
	found := false
	for range count {
		n, start, err := uleb(section, pos)
		if err != nil || start+int(n)+1 > len(section) {
			return nil, errors.New("malformed export section")
		}
		name := string(section[start : start+int(n)])
		kind := section[start+int(n)]
		_, next, err := uleb(section, start+int(n)+1)
		if err != nil {
			return nil, errors.New("malformed export section")
		}
		switch {
		case name == to:
			return nil, fmt.Errorf("the module already exports %q", to)
		case name == from && kind == 0:
			found = true
			name = to
		}
		out = appendUleb(out, uint32(len(name)))
		out = append(out, name...)
		out = append(out, section[start+int(n):next]...) // kind and index, unchanged
		pos = next
	}
	if !found {
		return nil, fmt.Errorf("no function export %q (was the module built with -buildmode=c-shared?)", from)
	}
	return out, nil
}

func uleb(b []byte, pos int) (uint32, int, error) {
	var v uint32
	for shift := 0; shift < 35; shift += 7 {
		if pos >= len(b) {
			return 0, 0, errors.New("truncated LEB128")
		}
		c := b[pos]
		pos++
		v |= uint32(c&0x7f) << shift
		if c < 0x80 {
			return v, pos, nil
		}
	}
	return 0, 0, errors.New("LEB128 too long")
}

func appendUleb(b []byte, v uint32) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}
