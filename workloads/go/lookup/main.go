// Command lookup is the lookup workload (workloads/ABI.md): it returns the
// value stored under the request's key in statestore. A missing key is
// first given its initial value, the key's length in bytes as ASCII
// decimal, written with first-write concurrency and no etag: of concurrent
// first requests one wins, and the others (ETAG_MISMATCH) read again and
// return what it wrote.
//
// Under load the same key is sent every time, so after the first request
// every request is exactly one state read: the read-mostly, hot-key shape a
// state cache in front of Dapr serves best.
package main

import (
	"errors"
	"strconv"
	"unicode/utf8"

	"blueprint-bench/workloads/go/guest"
)

const (
	store     = "statestore"
	maxKeyLen = 128
)

var (
	errEmptyKey   = errors.New("key must not be empty")
	errLongKey    = errors.New("key must be at most " + strconv.Itoa(maxKeyLen) + " bytes")
	errKeyNotUTF8 = errors.New("key must be UTF-8")
)

func init() { guest.Handle("lookup", lookup) }

func lookup(input []byte) ([]byte, error) {
	key, err := parseKey(input)
	if err != nil {
		return nil, err
	}
	for range guest.UpdateAttempts {
		entry, err := guest.StateGet(store, key)
		if err != nil {
			return nil, errors.New("dapr: " + err.Error())
		}
		if entry != nil {
			return entry.Value, nil
		}
		initial := initialValue(key)
		err = guest.StateSet(store, key, initial, "", guest.FirstWrite)
		switch {
		case err == nil:
			return initial, nil
		case errors.Is(err, guest.ErrEtagMismatch):
			continue // another request stored it first: read what it stored
		}
		return nil, errors.New("dapr: " + err.Error())
	}
	return nil, errors.New("too much contention")
}

// initialValue is what a missing key starts as: its length in bytes, in
// decimal.
func initialValue(key string) []byte { return strconv.AppendInt(nil, int64(len(key)), 10) }

// parseKey is counter's key rules and messages.
func parseKey(input []byte) (string, error) {
	switch {
	case len(input) == 0:
		return "", errEmptyKey
	case len(input) > maxKeyLen:
		return "", errLongKey
	case !utf8.Valid(input):
		return "", errKeyNotUTF8
	}
	return string(input), nil
}

// main runs only in the command flavour (guest.Main); a reactor only runs
// init.
func main() { guest.Main() }
