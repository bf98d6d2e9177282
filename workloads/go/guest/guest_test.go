//go:build !bb_middleware && !bb_command && !bb_component

package guest

import (
	"bytes"
	"errors"
	"strconv"
	"testing"
)

// These tests run natively (go test), where pointers are 64-bit: addr
// compares their low 32 bits, which is enough for the lookups here.

func TestPackPutsPointerHighAndFlagAtBit31(t *testing.T) {
	cases := []struct {
		ptr     uint32
		length  int
		isError bool
		want    uint64
	}{
		{0x10, 3, false, 0x0000_0010_0000_0003},
		{0x10, 3, true, 0x0000_0010_8000_0003},
		{0xffff_ffff, maxResponseLen, true, 0xffff_ffff_ffff_ffff},
	}
	for _, c := range cases {
		if got := uint64(pack(c.ptr, c.length, c.isError)); got != c.want {
			t.Errorf("pack(%#x, %d, %v) = %#x, want %#x", c.ptr, c.length, c.isError, got, c.want)
		}
	}
}

// withHandler registers h for one test (Handle itself refuses a second call).
func withHandler(t *testing.T, h Handler) {
	t.Helper()
	saved := handler
	handler = h
	savedName := workload
	t.Cleanup(func() { handler, workload, arena, response = saved, savedName, nil, nil })
}

func TestHandleTakesTheAllocatedRequestAndEmptiesTheArena(t *testing.T) {
	withHandler(t, func(req []byte) ([]byte, error) { return bytes.Clone(req), nil })
	ptr := alloc(5)
	if ptr == 0 {
		t.Fatal("alloc(5) = 0")
	}
	copy(arena[0], "hello")
	_ = alloc(7) // never handed over: dropped by the next bb_handle
	packed := uint64(handle(int32(ptr), 5))
	if packed&errorFlag != 0 || uint32(packed) != 5 || uint32(packed>>32) != addr(response) {
		t.Errorf("packed = %#x, response at %#x", packed, addr(response))
	}
	if string(response) != "hello" {
		t.Errorf("response = %q", response)
	}
	if len(arena) != 0 || arena[:cap(arena)][0] != nil {
		t.Error("the arena still holds buffers after bb_handle")
	}
}

func TestAllocRefusesNegativeLengthsAndGivesDistinctEmptyBuffers(t *testing.T) {
	withHandler(t, func(req []byte) ([]byte, error) { return req, nil })
	if p := alloc(-1); p != 0 {
		t.Errorf("alloc(-1) = %#x, want 0", p)
	}
	a, b := alloc(0), alloc(0)
	if a == 0 || b == 0 || a == b {
		t.Errorf("alloc(0) twice = %#x, %#x: want two distinct non-zero pointers", a, b)
	}
	// A request may also be shorter than its buffer.
	p := alloc(4)
	copy(arena[2], "abcd")
	if packed := handle(int32(p), 2); string(response) != "ab" || uint32(packed) != 2 {
		t.Errorf("handle(p, 2) = %#x %q", packed, response)
	}
}

func TestHandleRejectsUnknownBuffersButAcceptsEmptyRequests(t *testing.T) {
	withHandler(t, func(req []byte) ([]byte, error) {
		return nil, errors.New(strconv.Itoa(len(req)) + " bytes")
	})
	packed := uint64(handle(1234, 4))
	want := "bb_handle(1234, 4): the request is not in a buffer from bb_alloc"
	if packed&errorFlag == 0 || string(response) != want {
		t.Errorf("unknown buffer: %#x %q, want the error %q", packed, response, want)
	}
	packed = uint64(handle(-5, -1))
	if want := "bb_handle(-5, -1): the request is not in a buffer from bb_alloc"; string(response) != want {
		t.Errorf("negative length: %#x %q, want %q", packed, response, want)
	}
	packed = uint64(handle(0, 0))
	if uint32(packed) != 0x8000_0007 || string(response) != "0 bytes" {
		t.Errorf("empty request: %#x %q", packed, response)
	}
	// A length larger than the buffer is not that buffer.
	p := int32(alloc(3))
	handle(p, 4)
	if want := "bb_handle(" + strconv.Itoa(int(p)) + ", 4): the request is not in a buffer from bb_alloc"; string(response) != want {
		t.Errorf("overlong request: %q, want %q", response, want)
	}
}

func TestNoHandlerIsAGuestError(t *testing.T) {
	withHandler(t, nil)
	packed := uint64(handle(0, 0))
	if packed&errorFlag == 0 || string(response) != "the workload registered no handler (guest.Handle)" {
		t.Errorf("%#x %q", packed, response)
	}
}

func TestHandlePanicsOnNilOrSecondRegistration(t *testing.T) {
	withHandler(t, nil)
	mustPanic := func(what string, f func()) {
		t.Helper()
		defer func() {
			if recover() == nil {
				t.Errorf("%s did not panic", what)
			}
		}()
		f()
	}
	ok := func([]byte) ([]byte, error) { return nil, nil }
	mustPanic("Handle(nil)", func() { Handle("w", nil) })
	mustPanic("Handle with no name", func() { Handle("", ok) })
	Handle("w", ok)
	if workload != "w" {
		t.Errorf("workload = %q", workload)
	}
	mustPanic("a second Handle", func() { Handle("w", ok) })
}
