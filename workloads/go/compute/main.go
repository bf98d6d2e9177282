// Command compute is the compute workload (workloads/ABI.md): SHA-256 of a
// string, iterated over its own digest. Pure and CPU-bound: the SHA-256 is
// this package's own (sha256.go), the same algorithm every language
// implements, not crypto/sha256 with its assembly.
package main

import (
	"errors"

	"blueprint-bench/workloads/go/guest"
	"blueprint-bench/workloads/go/jsonsub"
)

func init() { guest.Handle("compute", compute) }

const maxIterations = 100_000

func compute(input []byte) ([]byte, error) {
	req, err := jsonsub.Parse(input)
	if err != nil {
		return nil, err
	}
	if err := jsonsub.UnknownField(req, "data", "iterations"); err != nil {
		return nil, err
	}
	data, ok := req.Get("data")
	if !ok {
		return nil, errors.New("data is required")
	}
	if data.Kind != jsonsub.String {
		return nil, errors.New("data must be a string")
	}
	iterations, ok := req.Get("iterations")
	if !ok {
		return nil, errors.New("iterations is required")
	}
	if iterations.Kind != jsonsub.Int || iterations.Int < 1 || iterations.Int > maxIterations {
		return nil, errors.New("iterations must be an integer from 1 to 100000")
	}
	digest := sha256([]byte(data.Str))
	for range iterations.Int - 1 {
		digest = sha256(digest[:])
	}
	const hex = "0123456789abcdef"
	var text [64]byte
	for i, b := range digest {
		text[2*i], text[2*i+1] = hex[b>>4], hex[b&15]
	}
	return jsonsub.AppendObject(nil, jsonsub.Object{
		{Key: "iterations", Value: iterations},
		{Key: "sha256", Value: jsonsub.Value{Kind: jsonsub.String, Str: string(text[:])}},
	}), nil
}

// main runs only in the command flavour (guest.Main); a reactor only runs
// init.
func main() { guest.Main() }
