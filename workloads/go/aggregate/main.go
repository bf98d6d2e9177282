// Command aggregate is the aggregate workload (workloads/ABI.md): it folds
// one event {key, amount} into the count/max/min/sum kept under the key in
// statestore, publishes the result to pubsub topic "aggregates" and returns
// it. Not pure.
//
// Like counter, the write uses first-write concurrency with the etag it
// read (none for a new key), so concurrent events never lose an update: the
// loser gets ETAG_MISMATCH, reads again and retries.
package main

import (
	"errors"
	"math"

	"blueprint-bench/workloads/go/guest"
	"blueprint-bench/workloads/go/jsonsub"
)

const (
	store     = "statestore"
	pubsub    = "pubsub"
	topic     = "aggregates"
	maxKeyLen = 128
	maxAmount = 1_000_000_000
)

var (
	errNotAnAggregate = errors.New("stored value is not an aggregate")
	errOverflow       = errors.New("aggregate overflow")
)

func init() { guest.Handle("aggregate", fold) }

// aggregate is one key's state.
type aggregate struct {
	count, max, min, sum int64
}

func fold(input []byte) ([]byte, error) {
	key, amount, err := parseEvent(input)
	if err != nil {
		return nil, err
	}
	var next aggregate // as of the attempt that was written
	stored, err := guest.UpdateState(store, key, func(stored []byte, found bool) ([]byte, error) {
		next = aggregate{count: 1, max: amount, min: amount, sum: amount}
		if found {
			current, err := parseAggregate(stored)
			if err != nil {
				return nil, err
			}
			if next, err = current.add(amount); err != nil {
				return nil, err
			}
		}
		return next.appendJSON(nil, ""), nil
	})
	if err != nil {
		return nil, err
	}
	if err := guest.Publish(pubsub, topic, next.appendJSON(nil, key), "application/json"); err != nil {
		return nil, errors.New("dapr: " + err.Error())
	}
	return stored, nil
}

// parseEvent checks the event in ABI.md's order.
func parseEvent(input []byte) (string, int64, error) {
	event, err := jsonsub.Parse(input)
	if err != nil {
		return "", 0, err
	}
	if err := jsonsub.UnknownField(event, "key", "amount"); err != nil {
		return "", 0, err
	}
	key, ok := event.Get("key")
	if !ok {
		return "", 0, errors.New("key is required")
	}
	if key.Kind != jsonsub.String || len(key.Str) < 1 || len(key.Str) > maxKeyLen {
		return "", 0, errors.New("key must be a string of 1 to 128 bytes")
	}
	amount, ok := event.Get("amount")
	if !ok {
		return "", 0, errors.New("amount is required")
	}
	if amount.Kind != jsonsub.Int || amount.Int < -maxAmount || amount.Int > maxAmount {
		return "", 0, errors.New("amount must be an integer from -1000000000 to 1000000000")
	}
	return key.Str, amount.Int, nil
}

// parseAggregate takes a stored value: an object of the JSON subset with
// exactly the integer members count (at least 1), max, min and sum, in any
// order.
func parseAggregate(value []byte) (aggregate, error) {
	obj, err := jsonsub.Parse(value)
	if err != nil || len(obj) != 4 {
		return aggregate{}, errNotAnAggregate
	}
	var a aggregate
	fields := map[string]*int64{"count": &a.count, "max": &a.max, "min": &a.min, "sum": &a.sum}
	for _, m := range obj {
		field, ok := fields[m.Key]
		if !ok || m.Value.Kind != jsonsub.Int {
			return aggregate{}, errNotAnAggregate
		}
		*field = m.Value.Int
	}
	// Four members, no duplicates (the parser refuses them), all known: so
	// all four are there.
	if a.count < 1 {
		return aggregate{}, errNotAnAggregate
	}
	return a, nil
}

// add folds amount in; count + 1 or sum + amount beyond int64 is an
// overflow.
func (a aggregate) add(amount int64) (aggregate, error) {
	if a.count == math.MaxInt64 ||
		amount > 0 && a.sum > math.MaxInt64-amount || amount < 0 && a.sum < math.MinInt64-amount {
		return aggregate{}, errOverflow
	}
	return aggregate{count: a.count + 1, max: max(a.max, amount), min: min(a.min, amount), sum: a.sum + amount}, nil
}

// appendJSON writes {"count":..,"max":..,"min":..,"sum":..}, with
// "key":<key> first when key is not empty (the published event).
// Alphabetical member order is ABI.md's: it is the order daprd's HTTP state
// API re-encodes values in.
func (a aggregate) appendJSON(dst []byte, key string) []byte {
	obj := make(jsonsub.Object, 0, 5)
	if key != "" {
		obj = append(obj, jsonsub.Member{Key: "key", Value: jsonsub.Value{Kind: jsonsub.String, Str: key}})
	}
	for _, m := range []struct {
		name string
		v    int64
	}{{"count", a.count}, {"max", a.max}, {"min", a.min}, {"sum", a.sum}} {
		obj = append(obj, jsonsub.Member{Key: m.name, Value: jsonsub.Value{Kind: jsonsub.Int, Int: m.v}})
	}
	return jsonsub.AppendObject(dst, obj)
}

// main runs only in the command flavour (guest.Main); a reactor only runs
// init.
func main() { guest.Main() }
