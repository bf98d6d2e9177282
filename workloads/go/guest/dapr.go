package guest

// The typed Dapr wrappers every workload calls, and their embedded-flavour
// implementation over the "dapr" import module.
//
// Every import takes (ptr, len) pairs into linear memory and returns a
// non-negative value or a negative error code, so each call is one raw
// call followed by check. Strings are passed as they are: the host checks
// UTF-8 and bounds and answers INVALID_ARGUMENT instead of trapping.

import (
	"encoding/binary"
	"errors"
	"math"
	"strconv"
	"unicode/utf8"
	"unsafe"
)

// Error is why a dapr call failed: the ABI's negative error codes, plus
// [ErrMalformed] for a host result that breaks the ABI's layout. A negative
// value this ABI version does not define is kept as it is ("unknown error
// code N"). Its Error() texts are the Rust guest library's, so messages such
// as "dapr: etag mismatch" read the same in every language.
//
// Error values are comparable: errors.Is(err, guest.ErrEtagMismatch) works.
type Error int64

const (
	// ErrNotFound (NOT_FOUND, -1): the state key has no value.
	ErrNotFound Error = -1
	// ErrEtagMismatch (ETAG_MISMATCH, -2): the etag did not match, or
	// first-write found the key already there.
	ErrEtagMismatch Error = -2
	// ErrInvalidArgument (INVALID_ARGUMENT, -3): a name that is not UTF-8,
	// memory out of bounds, an unknown option.
	ErrInvalidArgument Error = -3
	// ErrUnavailable (UNAVAILABLE, -4): the call to Dapr failed; the host
	// logs why.
	ErrUnavailable Error = -4
	// ErrNoResult (NO_RESULT, -5): take_result found the slot empty.
	ErrNoResult Error = -5
	// ErrBufferTooSmall (BUFFER_TOO_SMALL, -6): take_result needed a larger
	// buffer.
	ErrBufferTooSmall Error = -6
	// ErrNotPermitted (NOT_PERMITTED, -7): the host runs this module without
	// Dapr access.
	ErrNotPermitted Error = -7
	// ErrMalformed is not an ABI code (0 never is one): a state result
	// shorter than its etag length says, or a non-UTF-8 etag.
	ErrMalformed Error = 0
)

func (e Error) Error() string {
	switch e {
	case ErrNotFound:
		return "not found"
	case ErrEtagMismatch:
		return "etag mismatch"
	case ErrInvalidArgument:
		return "invalid argument"
	case ErrUnavailable:
		return "unavailable"
	case ErrNoResult:
		return "no result"
	case ErrBufferTooSmall:
		return "buffer too small"
	case ErrNotPermitted:
		return "not permitted"
	case ErrMalformed:
		return "malformed result"
	}
	return "unknown error code " + strconv.FormatInt(int64(e), 10)
}

// Concurrency is Dapr's state concurrency option; the value is the ABI's.
type Concurrency int32

const (
	// LastWrite: the write wins whatever is stored.
	LastWrite Concurrency = 0
	// FirstWrite: the write needs a matching etag or, without one, a key
	// that does not exist yet: the building block of race-free
	// read-modify-write loops.
	FirstWrite Concurrency = 1
)

// LogLevel is the severity of a [Log] line; the value is the ABI's.
type LogLevel int32

const (
	LogError LogLevel = 0 // something failed
	LogWarn  LogLevel = 1 // something looks wrong
	LogInfo  LogLevel = 2 // normal operation
	LogDebug LogLevel = 3 // details
)

// StateEntry is a stored value and the etag of its version.
type StateEntry struct {
	// Value is the stored bytes, as written.
	Value []byte
	// Etag is "" when the store keeps no etags.
	Etag string
}

// check turns an import's return value into a count or an error.
func check(ret int64) (uint64, error) {
	if ret < 0 {
		return 0, Error(ret)
	}
	return uint64(ret), nil
}

// take copies the host's result slot (size bytes, as the import reported)
// out.
func take(size uint64) ([]byte, error) {
	// Linear memory is 32-bit: a larger size is a host bug.
	if size > math.MaxUint32 {
		return nil, ErrMalformed
	}
	buf := make([]byte, size)
	copied, err := check(sysTakeResult(bytesArg(buf)))
	if err != nil {
		return nil, err
	}
	if copied < uint64(len(buf)) {
		buf = buf[:copied]
	}
	return buf, nil
}

// parseEntry splits a state_get result: etag_len (u32 LE), etag, value.
func parseEntry(raw []byte) (StateEntry, error) {
	etag, value, err := splitLenPrefixed(raw)
	if err != nil || !utf8.Valid(etag) {
		return StateEntry{}, ErrMalformed
	}
	return StateEntry{Value: value, Etag: string(etag)}, nil
}

// splitLenPrefixed splits a host result that starts with a u32 LE length
// n: the n bytes after it, and the rest.
func splitLenPrefixed(raw []byte) (head, rest []byte, err error) {
	if len(raw) < 4 {
		return nil, nil, ErrMalformed
	}
	n := uint64(binary.LittleEndian.Uint32(raw))
	rest = raw[4:]
	if uint64(len(rest)) < n {
		return nil, nil, ErrMalformed
	}
	return rest[:n], rest[n:], nil
}

// backend is how the wrappers reach Dapr in the flavour being built
// (flavour_*.go sets active): the "dapr" imports, Dapr's HTTP API through
// the "http" import, or nothing.
type backend interface {
	stateGet(store, key string) (*StateEntry, error)
	stateGetBulk(store string, keys []string) ([]*StateEntry, error)
	stateSet(store, key string, value []byte, etag string, concurrency Concurrency) error
	stateDelete(store, key, etag string, concurrency Concurrency) error
	publish(pubsub, topic string, data []byte, contentType string) error
	invokeBinding(name, operation string, data []byte) ([]byte, error)
	log(level LogLevel, message string)
}

// StateGet reads key from state store store; (nil, nil) if it has no value.
// Any host error other than NOT_FOUND is returned as an [Error].
func StateGet(store, key string) (*StateEntry, error) { return active.stateGet(store, key) }

// MaxBulkKeys is the most keys one [StateGetBulk] may ask for, and
// MaxBulkKeysBytes the largest packed key list (workloads/ABI.md).
const (
	MaxBulkKeys      = 64
	MaxBulkKeysBytes = 64 * 1024
)

// StateGetBulk reads keys from state store store in one call; the answers
// are in the order of keys, nil for a key with no value. 0 keys, more than
// [MaxBulkKeys] or a list over [MaxBulkKeysBytes] is [ErrInvalidArgument].
func StateGetBulk(store string, keys []string) ([]*StateEntry, error) {
	return active.stateGetBulk(store, keys)
}

// AppendBulkKeys packs keys as state_get_bulk takes them: count (u32 LE),
// then per key its length (u32 LE) and bytes.
func AppendBulkKeys(dst []byte, keys []string) []byte {
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(keys)))
	for _, key := range keys {
		dst = binary.LittleEndian.AppendUint32(dst, uint32(len(key)))
		dst = append(dst, key...)
	}
	return dst
}

// AppendBulkResult packs a bulk read's answers as the host leaves them in
// the slot: per key 0 (no value), or 1, etag_len (u32 LE), etag, value_len
// (u32 LE), value.
func AppendBulkResult(dst []byte, entries []*StateEntry) []byte {
	for _, e := range entries {
		if e == nil {
			dst = append(dst, 0)
			continue
		}
		dst = append(dst, 1)
		dst = binary.LittleEndian.AppendUint32(dst, uint32(len(e.Etag)))
		dst = append(dst, e.Etag...)
		dst = binary.LittleEndian.AppendUint32(dst, uint32(len(e.Value)))
		dst = append(dst, e.Value...)
	}
	return dst
}

// parseBulk reads count answers of a packed bulk result, exactly.
func parseBulk(raw []byte, count int) ([]*StateEntry, error) {
	entries := make([]*StateEntry, 0, count)
	for range count {
		if len(raw) == 0 || raw[0] > 1 {
			return nil, ErrMalformed
		}
		found := raw[0] == 1
		raw = raw[1:]
		if !found {
			entries = append(entries, nil)
			continue
		}
		etag, rest, err := splitLenPrefixed(raw)
		if err != nil || !utf8.Valid(etag) {
			return nil, ErrMalformed
		}
		value, rest, err := splitLenPrefixed(rest)
		if err != nil {
			return nil, ErrMalformed
		}
		entries = append(entries, &StateEntry{Value: value, Etag: string(etag)})
		raw = rest
	}
	if len(raw) != 0 {
		return nil, ErrMalformed
	}
	return entries, nil
}

// validBulkKeys is the check a host makes before calling Dapr.
func validBulkKeys(keys []string) bool {
	size := 4
	for _, k := range keys {
		size += 4 + len(k)
	}
	return len(keys) >= 1 && len(keys) <= MaxBulkKeys && size <= MaxBulkKeysBytes
}

// StateSet writes value under key; etag ("" for none) is checked as
// concurrency says. [ErrEtagMismatch] when the concurrency check fails, or
// another host error.
func StateSet(store, key string, value []byte, etag string, concurrency Concurrency) error {
	return active.stateSet(store, key, value, etag, concurrency)
}

// StateDelete deletes key; etag ("" for none) is checked as concurrency
// says. [ErrEtagMismatch] when the concurrency check fails, or another host
// error.
func StateDelete(store, key, etag string, concurrency Concurrency) error {
	return active.stateDelete(store, key, etag, concurrency)
}

// Publish publishes data on topic of component pubsub; an empty contentType
// means application/json.
func Publish(pubsub, topic string, data []byte, contentType string) error {
	return active.publish(pubsub, topic, data, contentType)
}

// InvokeBinding invokes operation on output binding name and returns its
// response data.
func InvokeBinding(name, operation string, data []byte) ([]byte, error) {
	return active.invokeBinding(name, operation, data)
}

// Log writes a line to the host's log (guests have no stdout or stderr).
func Log(level LogLevel, message string) { active.log(level, message) }

// UpdateAttempts is how many times [UpdateState] tries before it gives up
// (workloads/ABI.md).
const UpdateAttempts = 64

// UpdateState is the ABI's race-free read-modify-write of one key, as
// counter and aggregate do it: it reads key, lets next turn the stored value
// (found false for a missing key) into the value to write, and writes that
// with first-write concurrency and the etag read (none for a new key). On
// [ErrEtagMismatch] another writer came first, so it reads again, up to
// [UpdateAttempts] attempts in all. It returns the value written.
//
// Errors: what next returns, "dapr: <error>" for any other host error, and
// "too much contention" after the last attempt.
func UpdateState(store, key string, next func(stored []byte, found bool) ([]byte, error)) ([]byte, error) {
	for range UpdateAttempts {
		entry, err := StateGet(store, key)
		if err != nil {
			return nil, errors.New("dapr: " + err.Error())
		}
		var value []byte
		etag := ""
		if entry != nil {
			value, etag = entry.Value, entry.Etag
		}
		if value, err = next(value, entry != nil); err != nil {
			return nil, err
		}
		err = StateSet(store, key, value, etag, FirstWrite)
		switch {
		case err == nil:
			return value, nil
		case errors.Is(err, ErrEtagMismatch):
			continue
		}
		return nil, errors.New("dapr: " + err.Error())
	}
	return nil, errors.New("too much contention")
}

// daprImports is the embedded flavour's backend: the "dapr" import module.
type daprImports struct{}

func (daprImports) stateGet(store, key string) (*StateEntry, error) {
	sp, sl := stringArg(store)
	kp, kl := stringArg(key)
	size, err := check(sysStateGet(sp, sl, kp, kl))
	if err == ErrNotFound {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	raw, err := take(size)
	if err != nil {
		return nil, err
	}
	entry, err := parseEntry(raw)
	if err != nil {
		return nil, err
	}
	return &entry, nil
}

func (daprImports) stateGetBulk(store string, keys []string) ([]*StateEntry, error) {
	if !validBulkKeys(keys) {
		return nil, ErrInvalidArgument
	}
	packed := AppendBulkKeys(nil, keys)
	sp, sl := stringArg(store)
	kp, kl := bytesArg(packed)
	size, err := check(sysStateGetBulk(sp, sl, kp, kl))
	if err != nil {
		return nil, err
	}
	raw, err := take(size)
	if err != nil {
		return nil, err
	}
	return parseBulk(raw, len(keys))
}

func (daprImports) stateSet(store, key string, value []byte, etag string, concurrency Concurrency) error {
	sp, sl := stringArg(store)
	kp, kl := stringArg(key)
	vp, vl := bytesArg(value)
	ep, el := stringArg(etag)
	_, err := check(sysStateSet(sp, sl, kp, kl, vp, vl, ep, el, int32(concurrency)))
	return err
}

func (daprImports) stateDelete(store, key, etag string, concurrency Concurrency) error {
	sp, sl := stringArg(store)
	kp, kl := stringArg(key)
	ep, el := stringArg(etag)
	_, err := check(sysStateDelete(sp, sl, kp, kl, ep, el, int32(concurrency)))
	return err
}

func (daprImports) publish(pubsub, topic string, data []byte, contentType string) error {
	pp, pl := stringArg(pubsub)
	tp, tl := stringArg(topic)
	dp, dl := bytesArg(data)
	cp, cl := stringArg(contentType)
	_, err := check(sysPublish(pp, pl, tp, tl, dp, dl, cp, cl))
	return err
}

func (daprImports) invokeBinding(name, operation string, data []byte) ([]byte, error) {
	np, nl := stringArg(name)
	op, ol := stringArg(operation)
	dp, dl := bytesArg(data)
	size, err := check(sysInvokeBinding(np, nl, op, ol, dp, dl))
	if err != nil {
		return nil, err
	}
	return take(size)
}

func (daprImports) log(level LogLevel, message string) {
	mp, ml := stringArg(message)
	sysLog(int32(level), mp, ml)
}

// stringArg and bytesArg are the ABI's (ptr, len) pair for s or b. The
// pointer is only valid during the import call that gets it, which is all a
// host function may use it for; an empty value may pass a nil pointer, which
// is in bounds with length 0.
func stringArg(s string) (unsafe.Pointer, uint32) {
	return unsafe.Pointer(unsafe.StringData(s)), uint32(len(s))
}

func bytesArg(b []byte) (unsafe.Pointer, uint32) {
	return unsafe.Pointer(unsafe.SliceData(b)), uint32(len(b))
}
