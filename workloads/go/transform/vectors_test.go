package main

import (
	"testing"

	"blueprint-bench/workloads/go/vectors"
)

func TestVectors(t *testing.T) { vectors.Run(t, "transform", transform) }
