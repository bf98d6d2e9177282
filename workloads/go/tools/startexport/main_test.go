package main

import (
	"bytes"
	"strings"
	"testing"
)

// module is a header plus a custom section and an export section listing
// names (all function exports, index 0).
func module(names ...string) []byte {
	var exports []byte
	exports = appendUleb(exports, uint32(len(names)))
	for _, n := range names {
		exports = appendUleb(exports, uint32(len(n)))
		exports = append(exports, n...)
		exports = append(exports, 0, 0)
	}
	m := []byte("\x00asm\x01\x00\x00\x00")
	m = append(m, 0, 3, 1, 'x', 9) // custom section "x" with one byte
	m = append(m, exportSection)
	m = appendUleb(m, uint32(len(exports)))
	m = append(m, exports...)
	return append(m, 0, 2, 1, 'y') // a section after it survives too
}

func TestRenamesOnlyTheEntryExport(t *testing.T) {
	got, err := renameExport(module("_initialize", "handle_request", "memory"), "_initialize", "_start")
	if err != nil {
		t.Fatal(err)
	}
	if want := module("_start", "handle_request", "memory"); !bytes.Equal(got, want) {
		t.Errorf("got  %x\nwant %x", got, want)
	}
}

func TestRefusesWhatItCannotRename(t *testing.T) {
	cases := map[string][]byte{
		"no function export": module("handle_request"),
		"already exports":    module("_initialize", "_start"),
		"not a WebAssembly":  []byte("\x7fELF...."),
		"runs past the end":  append([]byte("\x00asm\x01\x00\x00\x00"), 7, 50, 0),
		"malformed export":   append([]byte("\x00asm\x01\x00\x00\x00"), 7, 2, 1, 9),
		"no export section":  []byte("\x00asm\x01\x00\x00\x00"),
	}
	for want, m := range cases {
		if _, err := renameExport(m, "_initialize", "_start"); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v", want, err)
		}
	}
}
