// Command counter is the counter workload (workloads/ABI.md): it increments
// the decimal counter stored under the request's key in statestore and
// returns the new value.
//
// The write uses first-write concurrency with the etag it read (none for a
// new key), so concurrent increments never lose an update: the loser gets
// ETAG_MISMATCH, reads again and retries.
package main

import (
	"errors"
	"math"
	"strconv"
	"unicode/utf8"

	"blueprint-bench/workloads/go/guest"
)

const (
	store     = "statestore"
	maxKeyLen = 128
)

var (
	errEmptyKey    = errors.New("key must not be empty")
	errLongKey     = errors.New("key must be at most " + strconv.Itoa(maxKeyLen) + " bytes")
	errKeyNotUTF8  = errors.New("key must be UTF-8")
	errNotACounter = errors.New("stored value is not a counter")
	errOverflow    = errors.New("counter overflow")
)

func init() { guest.Handle("counter", increment) }

func increment(input []byte) ([]byte, error) {
	key, err := parseKey(input)
	if err != nil {
		return nil, err
	}
	return guest.UpdateState(store, key, func(stored []byte, found bool) ([]byte, error) {
		var current uint64
		if found {
			if current, err = parseCounter(stored); err != nil {
				return nil, err
			}
		}
		if current == math.MaxUint64 {
			return nil, errOverflow
		}
		return strconv.AppendUint(nil, current+1, 10), nil
	})
}

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

// parseCounter takes strict ASCII digits only, as the Rust counter does:
// strconv.ParseUint would also take "0x1f" with base 0 or "1_000", and every
// implementation must agree on what counts as a counter. Leading zeros are
// allowed, in any number.
func parseCounter(value []byte) (uint64, error) {
	if len(value) == 0 {
		return 0, errNotACounter
	}
	var acc uint64
	for _, b := range value {
		if b < '0' || b > '9' {
			return 0, errNotACounter
		}
		digit := uint64(b - '0')
		if acc > math.MaxUint64/10 {
			return 0, errNotACounter
		}
		acc *= 10
		if acc > math.MaxUint64-digit {
			return 0, errNotACounter
		}
		acc += digit
	}
	return acc, nil
}

// main runs only in the command flavour (guest.Main); a reactor only runs
// init.
func main() { guest.Main() }
