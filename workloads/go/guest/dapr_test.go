//go:build !wasm

// The wrappers against a fake host: the raw calls reach it only outside
// wasm (sys_other.go).

package guest

import (
	"bytes"
	"encoding/binary"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestCodesMapToErrorsWithTheRustTexts(t *testing.T) {
	if n, err := check(7); n != 7 || err != nil {
		t.Errorf("check(7) = %d, %v", n, err)
	}
	if n, err := check(0); n != 0 || err != nil {
		t.Errorf("check(0) = %d, %v", n, err)
	}
	want := map[int64]string{
		-1:                   "not found",
		-2:                   "etag mismatch",
		-3:                   "invalid argument",
		-4:                   "unavailable",
		-5:                   "no result",
		-6:                   "buffer too small",
		-7:                   "not permitted",
		-99:                  "unknown error code -99",
		-9223372036854775808: "unknown error code -9223372036854775808",
	}
	for code, text := range want {
		_, err := check(code)
		if err == nil || err.Error() != text || err != Error(code) {
			t.Errorf("check(%d) = %v, want %q", code, err, text)
		}
	}
	if ErrMalformed.Error() != "malformed result" {
		t.Errorf("ErrMalformed = %q", ErrMalformed.Error())
	}
	_, err := check(-2)
	if !errors.Is(err, ErrEtagMismatch) {
		t.Error("errors.Is(check(-2), ErrEtagMismatch) is false")
	}
}

func entry(etag, value string) []byte {
	return append(binary.LittleEndian.AppendUint32(nil, uint32(len(etag))), etag+value...)
}

func TestStateResultsSplitIntoEtagAndValue(t *testing.T) {
	cases := []struct {
		raw  []byte
		want StateEntry
		err  error
	}{
		{entry("e-1", "42"), StateEntry{Value: []byte("42"), Etag: "e-1"}, nil},
		{entry("", ""), StateEntry{Value: []byte{}}, nil},
		{[]byte{1, 0, 0}, StateEntry{}, ErrMalformed},
		{[]byte{5, 0, 0, 0, 'x'}, StateEntry{}, ErrMalformed},
		{[]byte{1, 0, 0, 0, 0xff}, StateEntry{}, ErrMalformed},
		{[]byte{0xff, 0xff, 0xff, 0xff}, StateEntry{}, ErrMalformed},
	}
	for _, c := range cases {
		got, err := parseEntry(c.raw)
		if err != c.err || !reflect.DeepEqual(got, c.want) {
			t.Errorf("parseEntry(%v) = %+v, %v; want %+v, %v", c.raw, got, err, c.want, c.err)
		}
	}
}

// fakeHost is the "dapr" module with a result slot, as a host keeps it.
type fakeHost struct {
	state   map[string][]byte // key -> state_get result
	code    int64             // returned by every call when non-zero
	slot    []byte
	hasSlot bool
	calls   []string
}

func (h *fakeHost) fill(result []byte) int64 {
	h.slot, h.hasSlot = result, true
	return int64(len(result))
}

func (h *fakeHost) stateGet(store, key []byte) int64 {
	h.calls = append(h.calls, "get "+string(store)+"/"+string(key))
	if h.code != 0 {
		return h.code
	}
	raw, ok := h.state[string(key)]
	if !ok {
		return int64(ErrNotFound)
	}
	return h.fill(raw)
}

// stateGetBulk answers from state in the ABI's bulk layout (state holds
// state_get results: etag_len, etag, value).
func (h *fakeHost) stateGetBulk(store, keys []byte) int64 {
	if h.code != 0 {
		return h.code
	}
	count := binary.LittleEndian.Uint32(keys)
	keys = keys[4:]
	var entries []*StateEntry
	names := []string{}
	for range count {
		n := binary.LittleEndian.Uint32(keys)
		key := string(keys[4 : 4+n])
		keys = keys[4+n:]
		names = append(names, key)
		raw, ok := h.state[key]
		if !ok {
			entries = append(entries, nil)
			continue
		}
		e, _ := parseEntry(raw)
		entries = append(entries, &e)
	}
	h.calls = append(h.calls, "bulk "+string(store)+" "+strings.Join(names, ","))
	return h.fill(AppendBulkResult(nil, entries))
}

func (h *fakeHost) stateSet(store, key, value, etag []byte, c int32) int64 {
	h.calls = append(h.calls, "set "+string(store)+"/"+string(key)+"="+string(value)+" etag="+string(etag)+
		" c="+string(rune('0'+c)))
	return h.code
}

func (h *fakeHost) stateDelete(store, key, etag []byte, c int32) int64 {
	h.calls = append(h.calls, "delete "+string(store)+"/"+string(key)+" etag="+string(etag)+" c="+string(rune('0'+c)))
	return h.code
}

func (h *fakeHost) publish(pubsub, topic, data, contentType []byte) int64 {
	h.calls = append(h.calls, "publish "+string(pubsub)+"/"+string(topic)+" "+string(contentType)+" "+string(data))
	return h.code
}

func (h *fakeHost) invokeBinding(name, operation, data []byte) int64 {
	h.calls = append(h.calls, "binding "+string(name)+"."+string(operation))
	if h.code != 0 {
		return h.code
	}
	return h.fill(append([]byte("re: "), data...))
}

func (h *fakeHost) log(level int32, message []byte) {
	h.calls = append(h.calls, "log "+string(rune('0'+level))+" "+string(message))
}

func (h *fakeHost) takeResult(buf []byte) int64 {
	switch {
	case !h.hasSlot:
		return int64(ErrNoResult)
	case len(buf) < len(h.slot):
		return int64(ErrBufferTooSmall)
	}
	n := copy(buf, h.slot)
	h.slot, h.hasSlot = nil, false
	return int64(n)
}

func withHost(t *testing.T, h *fakeHost) {
	t.Helper()
	nativeHost = h
	t.Cleanup(func() { nativeHost = nil })
}

func TestWrappersPassArgumentsAndTakeResults(t *testing.T) {
	h := &fakeHost{state: map[string][]byte{"k": entry("7", "41"), "bare": entry("", "x"), "bad": {9, 0, 0, 0}}}
	withHost(t, h)

	got, err := StateGet("statestore", "k")
	if err != nil || got == nil || string(got.Value) != "41" || got.Etag != "7" {
		t.Errorf("StateGet(k) = %+v, %v", got, err)
	}
	if got, err := StateGet("statestore", "bare"); err != nil || got == nil || got.Etag != "" || string(got.Value) != "x" {
		t.Errorf("StateGet(bare) = %+v, %v", got, err)
	}
	if got, err := StateGet("statestore", "missing"); got != nil || err != nil {
		t.Errorf("StateGet(missing) = %+v, %v; want nil, nil", got, err)
	}
	if got, err := StateGet("statestore", "bad"); got != nil || err != ErrMalformed {
		t.Errorf("StateGet(bad) = %+v, %v; want ErrMalformed", got, err)
	}
	if h.hasSlot {
		t.Error("the slot was not emptied")
	}
	if err := StateSet("s", "k", []byte("42"), "7", FirstWrite); err != nil {
		t.Error(err)
	}
	if err := StateDelete("s", "k", "", LastWrite); err != nil {
		t.Error(err)
	}
	if err := Publish("pubsub", "t", []byte("{}"), ""); err != nil {
		t.Error(err)
	}
	if out, err := InvokeBinding("b", "create", []byte("hi")); err != nil || string(out) != "re: hi" {
		t.Errorf("InvokeBinding = %q, %v", out, err)
	}
	Log(LogWarn, "careful")
	want := []string{
		"get statestore/k", "get statestore/bare", "get statestore/missing", "get statestore/bad",
		"set s/k=42 etag=7 c=1", "delete s/k etag= c=0", "publish pubsub/t  {}", "binding b.create", "log 1 careful",
	}
	if !reflect.DeepEqual(h.calls, want) {
		t.Errorf("calls:\n%q\nwant\n%q", h.calls, want)
	}
}

func TestBulkKeysAndResultsHaveTheABILayout(t *testing.T) {
	packed := AppendBulkKeys(nil, []string{"fan.0", "f\u00e9e.1"})
	want := []byte{2, 0, 0, 0, 5, 0, 0, 0, 'f', 'a', 'n', '.', '0', 6, 0, 0, 0, 'f', 0xc3, 0xa9, 'e', '.', '1'}
	if !bytes.Equal(packed, want) {
		t.Errorf("AppendBulkKeys = %v, want %v", packed, want)
	}
	entries := []*StateEntry{{Value: []byte("12"), Etag: "3"}, nil, {Value: []byte{}}}
	raw := AppendBulkResult(nil, entries)
	if want := []byte{1, 1, 0, 0, 0, '3', 2, 0, 0, 0, '1', '2', 0, 1, 0, 0, 0, 0, 0, 0, 0, 0}; !bytes.Equal(raw, want) {
		t.Errorf("AppendBulkResult = %v, want %v", raw, want)
	}
	if got, err := parseBulk(raw, 3); err != nil || !reflect.DeepEqual(got, entries) {
		t.Errorf("parseBulk = %+v, %v", got, err)
	}
	for _, c := range []struct {
		raw   []byte
		count int
	}{{raw, 2}, {raw, 4}, {[]byte{2}, 1}, {[]byte{1, 9, 0, 0, 0}, 1}, {[]byte{1, 1, 0, 0, 0, 0xff, 0, 0, 0, 0}, 1}} {
		if got, err := parseBulk(c.raw, c.count); err != ErrMalformed {
			t.Errorf("parseBulk(%v, %d) = %+v, %v; want ErrMalformed", c.raw, c.count, got, err)
		}
	}
	if validBulkKeys(nil) || validBulkKeys(make([]string, 65)) || !validBulkKeys(make([]string, 64)) ||
		validBulkKeys([]string{strings.Repeat("k", MaxBulkKeysBytes)}) {
		t.Error("validBulkKeys accepts the wrong lists")
	}
}

func TestStateGetBulkAnswersInTheOrderAsked(t *testing.T) {
	h := &fakeHost{state: map[string][]byte{"a": entry("7", "41")}}
	withHost(t, h)
	got, err := StateGetBulk("statestore", []string{"b", "a", "b"})
	if err != nil || len(got) != 3 || got[0] != nil || got[2] != nil || string(got[1].Value) != "41" || got[1].Etag != "7" {
		t.Fatalf("StateGetBulk = %+v, %v", got, err)
	}
	if _, err := StateGetBulk("statestore", nil); err != ErrInvalidArgument {
		t.Errorf("no keys: %v", err)
	}
	if !reflect.DeepEqual(h.calls, []string{"bulk statestore b,a,b"}) {
		t.Errorf("calls %q", h.calls)
	}
	h.code = int64(ErrUnavailable)
	if _, err := StateGetBulk("statestore", []string{"a"}); err != ErrUnavailable {
		t.Errorf("StateGetBulk: %v", err)
	}
}

func TestWrappersReturnHostErrors(t *testing.T) {
	withHost(t, &fakeHost{code: int64(ErrUnavailable)})
	if _, err := StateGet("s", "k"); err != ErrUnavailable {
		t.Errorf("StateGet: %v", err)
	}
	if err := StateSet("s", "k", nil, "", FirstWrite); err != ErrUnavailable {
		t.Errorf("StateSet: %v", err)
	}
	if _, err := InvokeBinding("b", "op", nil); err != ErrUnavailable {
		t.Errorf("InvokeBinding: %v", err)
	}
	nativeHost = nil // no host: NOT_PERMITTED, as a host without Dapr answers
	if _, err := StateGet("s", "k"); err == nil || err.Error() != "not permitted" {
		t.Errorf("StateGet without a host: %v", err)
	}
}

func TestTakeKeepsWhatTheHostCopied(t *testing.T) {
	h := &fakeHost{}
	withHost(t, h)
	if _, err := take(0); err != ErrNoResult {
		t.Errorf("take with an empty slot: %v", err)
	}
	h.fill([]byte("abc"))
	if out, err := take(2); out != nil || err != ErrBufferTooSmall || !h.hasSlot {
		t.Errorf("take(2) of 3 bytes = %q, %v (slot kept: %v)", out, err, h.hasSlot)
	}
	if out, err := take(5); !bytes.Equal(out, []byte("abc")) || err != nil {
		t.Errorf("take(5) of 3 bytes = %q, %v", out, err)
	}
	if _, err := take(1 << 32); err != ErrMalformed {
		t.Errorf("take(2^32) = %v, want ErrMalformed", err)
	}
}
