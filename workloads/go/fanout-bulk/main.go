// Command fanout-bulk is the fanout-bulk workload (workloads/ABI.md):
// fanout's work, byte for byte the same answers and state, with the K reads
// made as one guest.StateGetBulk of <key>.0 … <key>.<k-1> (missing = 0);
// then the same one last-write-wins increment of <key>.<sum mod k>. Two
// Dapr calls per request whatever k is.
package main

import (
	"errors"
	"math"
	"strconv"

	"blueprint-bench/workloads/go/guest"
	"blueprint-bench/workloads/go/jsonsub"
)

const (
	store     = "statestore"
	maxKeyLen = 64
	maxK      = 64
)

var (
	errNotACounter = errors.New("stored value is not a counter")
	errOverflow    = errors.New("counter overflow")
)

func init() { guest.Handle("fanout-bulk", fanoutBulk) }

func fanoutBulk(input []byte) ([]byte, error) {
	key, k, err := parseRequest(input)
	if err != nil {
		return nil, err
	}
	keys := make([]string, k)
	for i := range keys {
		keys[i] = slot(key, i)
	}
	entries, err := guest.StateGetBulk(store, keys)
	if err != nil {
		return nil, errors.New("dapr: " + err.Error())
	}
	var found int64
	var sum uint64
	values := make([]uint64, k)
	for i, entry := range entries {
		if entry != nil {
			found++
			if values[i], err = parseCounter(entry.Value); err != nil {
				return nil, err
			}
		}
		if sum > math.MaxUint64-values[i] {
			return nil, errOverflow
		}
		sum += values[i]
	}
	// The answer's integers stay in the JSON subset's range, and the
	// written value (at most sum + 1) with them.
	if sum >= math.MaxInt64 {
		return nil, errOverflow
	}
	target := int(sum % uint64(k))
	next := strconv.AppendUint(nil, values[target]+1, 10)
	if err := guest.StateSet(store, slot(key, target), next, "", guest.LastWrite); err != nil {
		return nil, errors.New("dapr: " + err.Error())
	}
	return jsonsub.AppendObject(nil, jsonsub.Object{
		{Key: "found", Value: jsonsub.Value{Kind: jsonsub.Int, Int: found}},
		{Key: "sum", Value: jsonsub.Value{Kind: jsonsub.Int, Int: int64(sum)}},
	}), nil
}

// slot is the state key of counter i.
func slot(key string, i int) string { return key + "." + strconv.Itoa(i) }

// parseRequest checks the request in ABI.md's order.
func parseRequest(input []byte) (string, int, error) {
	request, err := jsonsub.Parse(input)
	if err != nil {
		return "", 0, err
	}
	if err := jsonsub.UnknownField(request, "key", "k"); err != nil {
		return "", 0, err
	}
	key, ok := request.Get("key")
	if !ok {
		return "", 0, errors.New("key is required")
	}
	if key.Kind != jsonsub.String || len(key.Str) < 1 || len(key.Str) > maxKeyLen {
		return "", 0, errors.New("key must be a string of 1 to 64 bytes")
	}
	k, ok := request.Get("k")
	if !ok {
		return "", 0, errors.New("k is required")
	}
	if k.Kind != jsonsub.Int || k.Int < 1 || k.Int > maxK {
		return "", 0, errors.New("k must be an integer from 1 to 64")
	}
	return key.Str, int(k.Int), nil
}

// parseCounter is counter's rule: strict ASCII digits only (leading zeros
// allowed, in any number), at most math.MaxUint64.
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
