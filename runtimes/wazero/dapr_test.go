package main

import (
	"context"
	"testing"
	"time"

	dapr "github.com/dapr/go-sdk/client"

	"blueprint-bench/workloads/go/vectors"
)

// A sidecar that is not there is UNAVAILABLE within the guest's deadline,
// and the next call tries to connect again.
func TestUnreachableSidecarIsUnavailable(t *testing.T) {
	d := newSDKDapr(vectors.FreePort(t))
	t.Cleanup(d.close)
	mem := byteMem("statestorekey")
	for range 2 {
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		st := &instanceState{dapr: d, module: "test"}
		start := time.Now()
		got := st.stateGet(ctx, mem, 0, 10, 10, 3)
		cancel()
		if got != codeUnavailable {
			t.Errorf("state_get without a sidecar: %d, want %d", got, codeUnavailable)
		}
		if elapsed := time.Since(start); elapsed > 2*time.Second {
			t.Errorf("state_get took %v past a 300 ms deadline", elapsed)
		}
		if d.client != nil {
			t.Error("a failed connection was kept")
		}
	}
}

func TestBulkItemsComeBackInTheOrderAsked(t *testing.T) {
	items := []*dapr.BulkStateItem{{Key: "b"}, {Key: "a", Value: []byte("5"), Etag: "2"}}
	got, err := bulkAnswers([]string{"a", "b", "a"}, items)
	if err != nil || len(got) != 3 || got[1] != nil || string(got[0].value) != "5" || got[0].etag != "2" || got[2] != got[0] {
		t.Fatalf("bulkAnswers = %+v, %v", got, err)
	}
	if _, err := bulkAnswers([]string{"a"}, []*dapr.BulkStateItem{{Key: "a", Error: "boom"}}); err == nil {
		t.Error("an item's error was not an error")
	}
	if _, err := bulkAnswers([]string{"a", "z"}, items); err == nil {
		t.Error("a key without an answer was not an error")
	}
}
