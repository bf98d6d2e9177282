// Command noop is the noop workload (workloads/ABI.md): it returns its input
// unchanged.
//
// It touches no Dapr API, so it measures the fixed cost of one call: the
// host's instantiation (here including Go's runtime start-up in
// _initialize), the request copy in and the response copy out.
package main

import "blueprint-bench/workloads/go/guest"

func init() { guest.Handle("noop", echo) }

// echo copies the request, as the Rust noop does (its handler returns an
// owned Vec), so both do the same work per byte; returning input itself
// would also be valid.
func echo(input []byte) ([]byte, error) {
	return append([]byte(nil), input...), nil
}

// main runs only in the command flavour (guest.Main); a reactor only runs
// init.
func main() { guest.Main() }
