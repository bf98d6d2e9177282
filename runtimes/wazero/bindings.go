package main

// Input-binding firings (HOST.md, "Input bindings"): daprd's bindings.cron
// posts each firing to /bindings/<name> (over gRPC: OnBindingEvent for the
// binding cron-<name>); the workload runs on the firing's data, or on
// --binding-input when it carries none, and the firing goes into the event
// log by the time the binding says it fired, so the harness reads
// firing-to-handled latency from the same log as pub/sub deliveries.

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// readTimeKey is the header (and gRPC metadata key) in which bindings.cron
// says when it fired: Go's time.Now().UTC().String().
const readTimeKey = "readTimeUTC"

// goTimeLayout is how Time.String writes a time.
const goTimeLayout = "2006-01-02 15:04:05.999999999 -0700 MST"

// firingID is the log's id of a firing: binding-<fired unix ns>, or binding
// when the firing did not say when it fired.
func firingID(readTimeUTC string) string {
	fired, err := time.Parse(goTimeLayout, readTimeUTC)
	if err != nil || !strings.HasSuffix(readTimeUTC, " +0000 UTC") || fired.UnixNano() <= 0 {
		return "binding"
	}
	return "binding-" + strconv.FormatInt(fired.UnixNano(), 10)
}

// handleFiring runs one firing and logs it; both app protocols fire here.
func (s *server) handleFiring(ctx context.Context, g *guest, readTimeUTC string, data []byte) *callError {
	if len(data) == 0 {
		data = s.bindingInput
	}
	_, cerr := s.engine.handle(ctx, g, data)
	s.events.record(firingID(readTimeUTC), outcomeOf(cerr))
	return cerr
}

// fire handles POST /bindings/<name>. The answer carries no body: daprd
// would read one as instructions to save state or call output bindings.
func (s *server) fire(w http.ResponseWriter, r *http.Request, g *guest) {
	body, err := readBody(w, r, s.maxBody)
	if err != nil { // answered 413 or 400
		return
	}
	if cerr := s.handleFiring(r.Context(), g, r.Header.Get(readTimeKey), body); cerr != nil {
		text(w, cerr.status(), cerr.body())
		return
	}
	w.WriteHeader(http.StatusOK)
}

// readBindingInput reads --binding-input, refusing what the body limit
// would refuse.
func readBindingInput(path string, maxBody int64) ([]byte, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("--binding-input: %w", err)
	}
	if info.Size() > maxBody {
		return nil, fmt.Errorf("--binding-input %s has %d bytes, over the %d-byte body limit", path, info.Size(), maxBody)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--binding-input: %w", err)
	}
	return data, nil
}
