package main

// --instances reuse: a warm instance answers like a fresh one, and an
// instance whose request failed never serves again.

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"blueprint-bench/workloads/go/vectors"
)

const (
	opI32Load8U = 0x2d
	opI32Store8 = 0x3a
	opI32Eq     = 0x46
	opI32Add    = 0x6a
	opIf        = 0x04
)

// tally counts its instance's calls in memory byte 200 and answers the count
// as one byte; a request starting with 'u' traps and one starting with 'x'
// is refused, each after counting. A reused instance answers 2, 3, …; a
// fresh one 1.
var tally = probe{handle: cat(
	i32Const(200), i32Const(200), []byte{opI32Load8U, 0, 0}, i32Const(1), []byte{opI32Add, opI32Store8, 0, 0},
	[]byte{opLocalGet, 0, opI32Load8U, 0, 0}, i32Const('u'), []byte{opI32Eq, opIf, blockVoid, opUnreachable, opEnd},
	[]byte{opLocalGet, 0, opI32Load8U, 0, 0}, i32Const('x'), []byte{opI32Eq, opIf, blockVoid},
	i64Const(packed(200, 1, true)), []byte{0x0f /* return */, opEnd},
	i64Const(packed(200, 1, false)), []byte{opEnd},
)}

func tallyStats(t *testing.T, url string) moduleStats {
	t.Helper()
	resp, err := http.Get(url + "/stats")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var stats hostStats
	if err := json.NewDecoder(resp.Body).Decode(&stats); err != nil {
		t.Fatal(err)
	}
	return stats.Modules["tally"]
}

func TestAFailedRequestsInstanceNeverServesAgain(t *testing.T) {
	cfg := testConfig()
	cfg.reuse = true
	ts := startHost(t, cfg, moduleArg{"tally", writeProbe(t, "tally", tally)})
	steps := []struct {
		body   string
		status int
		count  byte
		why    string
	}{
		{"a", 200, 1, "a new instance"},
		{"a", 200, 2, "the same instance again"},
		{"u", 500, 0, "the reused instance traps"},
		{"a", 200, 1, "the instance that trapped must not serve again"},
		{"a", 200, 2, "reused"},
		{"x", 422, 3, "refused by the guest"},
		{"a", 200, 1, "the instance that refused must not serve again"},
	}
	for i, s := range steps {
		status, body := post(t, ts.URL+"/tally", []byte(s.body))
		if status != s.status || (s.count != 0 && (len(body) != 1 || body[0] != s.count)) {
			t.Fatalf("step %d (%s): got %d %q, want %d with count %d", i, s.why, status, body, s.status, s.count)
		}
	}
	got := tallyStats(t, ts.URL)
	if got.Requests != 7 || got.InstancesCreated != 3 || got.InstancesReused != 4 {
		t.Fatalf("stats %+v: want 7 requests, 3 instances created, 4 reused", got)
	}
}

func TestFreshInstancesNeverSeeAnEarlierRequest(t *testing.T) {
	ts := startHost(t, testConfig(), moduleArg{"tally", writeProbe(t, "tally", tally)})
	for range 3 {
		if status, body := post(t, ts.URL+"/tally", []byte("a")); status != 200 || string(body) != "\x01" {
			t.Fatalf("got %d %q, want a first call's count", status, body)
		}
	}
	if got := tallyStats(t, ts.URL); got.InstancesCreated != 3 || got.InstancesReused != 0 {
		t.Fatalf("stats %+v", got)
	}
}

// guestDirs are the folders of built embedded guests to check: the Rust ones
// of $BLUEPRINT_GUEST_DIR and every folder of $BLUEPRINT_REUSE_GUEST_DIRS
// (a path list, one folder per language, files <workload>.embedded.wasm).
func guestDirs(t *testing.T) []string {
	var dirs []string
	if d := os.Getenv("BLUEPRINT_GUEST_DIR"); d != "" {
		dirs = append(dirs, d)
	}
	for _, d := range filepath.SplitList(os.Getenv("BLUEPRINT_REUSE_GUEST_DIRS")) {
		if d != "" && !slices.Contains(dirs, d) {
			dirs = append(dirs, d)
		}
	}
	if len(dirs) == 0 {
		t.Skip("neither BLUEPRINT_GUEST_DIR nor BLUEPRINT_REUSE_GUEST_DIRS is set")
	}
	return dirs
}

// answer is one call's outcome, comparable across instances.
type answer struct {
	out string
	err string
}

// TestEveryVectorTwiceOnOneReusedInstance runs each workload's vectors in
// order twice over on ONE instance (the fake store emptied between the
// passes): every answer must be what a fresh instance per case gives, and
// that must be the golden vector itself (memDapr has all of Dapr the
// workloads use).
func TestEveryVectorTwiceOnOneReusedInstance(t *testing.T) {
	workloads := []string{"noop", "transform", "validate", "compute", "counter", "aggregate", "fanout", "fanout-bulk", "lookup"}
	checked := 0
	for _, dir := range guestDirs(t) {
		for _, w := range workloads {
			path := filepath.Join(dir, w+".embedded.wasm")
			if _, err := os.Stat(path); err != nil {
				continue // this language does not build it
			}
			checked++
			t.Run(filepath.Base(dir)+"/"+w, func(t *testing.T) { checkTwiceOnOne(t, path, w) })
		}
	}
	if checked == 0 {
		t.Fatal("no guest module found in the folders given")
	}
}

func checkTwiceOnOne(t *testing.T, path, workload string) {
	dapr := newMemDapr()
	cfg := testConfig()
	cfg.dapr = dapr
	// The interpreted guests' compute vectors take seconds on a busy machine;
	// this test is about answers, not time.
	cfg.callTimeout = 2 * time.Minute
	eng := newTestEngine(t, cfg)
	g, err := eng.load(context.Background(), workload, path)
	if err != nil {
		t.Fatal(err)
	}
	f := vectors.Load(t, workload)
	call := func(inst *instance, c vectors.Case) answer {
		ctx, cancel := context.WithTimeout(withInstance(context.Background(), &instanceState{dapr: dapr, module: workload}), eng.timeout)
		defer cancel()
		inst.sleep.set(ctx)
		out, cerr := inst.call(ctx, c.In(t))
		if cerr != nil {
			return answer{err: string(cerr.body())}
		}
		return answer{out: string(out)}
	}
	start := func() *instance {
		ctx := withInstance(context.Background(), &instanceState{dapr: dapr, module: workload})
		inst, cerr := eng.start(ctx, g)
		if cerr != nil {
			t.Fatalf("start: %s", cerr.body())
		}
		t.Cleanup(inst.close)
		return inst
	}
	reset := func() {
		dapr.mu.Lock()
		dapr.state, dapr.published = map[string]memEntry{}, nil
		dapr.mu.Unlock()
	}
	reset()
	fresh := make([]answer, len(f.Cases))
	for i, c := range f.Cases {
		fresh[i] = call(start(), c)
		want := answer{out: string(c.Out(t))}
		if c.Error != nil {
			want = answer{err: *c.Error}
		}
		if fresh[i] != want {
			t.Errorf("%s on a fresh instance: got %+v, want %+v", c.Name, fresh[i], want)
		}
	}
	one := start()
	for pass := 1; pass <= 2; pass++ {
		reset()
		for i, c := range f.Cases {
			if got := call(one, c); got != fresh[i] {
				t.Fatalf("%s on a reused instance, pass %d: got %+v, a fresh instance %+v", c.Name, pass, got, fresh[i])
			}
		}
	}
}
