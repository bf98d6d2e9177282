package main

// `wazero-host instance-rss`: how much this process's resident memory grows
// per live guest instance, measured the way `blueprint-bench instance-rss`
// measures the Rust adapters (harness/src/instance_rss.rs), which execs this
// for wazero and passes its one JSON line on.

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"
)

// instanceRSSReport has the fields of the Rust side's InstanceRss.
type instanceRSSReport struct {
	Runtime        string  `json:"runtime"`
	Module         string  `json:"module"`
	Instances      int     `json:"instances"`
	RSSBeforeKiB   uint64  `json:"rss_before_kib"`
	RSSAfterKiB    uint64  `json:"rss_after_kib"`
	PerInstanceKiB float64 `json:"per_instance_kib"`
}

// rssKiB reads this process's resident set size after a full collection
// with the freed heap returned to the OS, so that the figure is live memory
// (compile garbage and dead instances are not counted).
func rssKiB() (uint64, error) {
	runtime.GC()
	debug.FreeOSMemory()
	statm, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0, err
	}
	fields := strings.Fields(string(statm))
	if len(fields) < 2 {
		return 0, fmt.Errorf("/proc/self/statm: %q", statm)
	}
	pages, err := strconv.ParseUint(fields[1], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("/proc/self/statm: %w", err)
	}
	return pages * uint64(os.Getpagesize()) / 1024, nil
}

func instanceRSS(args []string, stdout io.Writer) int {
	fs := flag.NewFlagSet("wazero-host instance-rss", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	module := fs.String("module", "", "guest module (guest ABI v1)")
	instances := fs.Int("instances", 100, "live instances to create after the baseline")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(os.Stderr)
			fs.PrintDefaults()
			return 0
		}
		return startupError("instance-rss: %v", err)
	}
	if *module == "" || *instances <= 0 {
		return startupError("instance-rss: --module and a positive --instances are required")
	}
	ctx := context.Background()
	eng, err := newEngine(ctx, engineConfig{maxMemoryPages: 1024, callTimeout: 10 * time.Second, dapr: noDapr{}})
	if err != nil {
		return startupError("instance-rss: %v", err)
	}
	defer eng.close(ctx)
	g, err := eng.load(ctx, "module", *module)
	if err != nil {
		return startupError("instance-rss: %s: %v", *module, err)
	}
	// Each instance serves one request, as a served request would.
	serve := func() (*instance, error) {
		ictx := withInstance(ctx, &instanceState{dapr: noDapr{}, module: g.name})
		inst, cerr := eng.start(ictx, g)
		if cerr != nil {
			return nil, cerr
		}
		if _, cerr := inst.call(ictx, nil); cerr != nil {
			return nil, cerr
		}
		return inst, nil
	}
	warm, err := serve()
	if err != nil {
		return startupError("instance-rss: %v", err)
	}
	before, err := rssKiB()
	if err != nil {
		return startupError("instance-rss: %v", err)
	}
	live := make([]*instance, 0, *instances)
	for range *instances {
		mod, err := serve()
		if err != nil {
			return startupError("instance-rss: %v", err)
		}
		live = append(live, mod)
	}
	after, err := rssKiB()
	if err != nil {
		return startupError("instance-rss: %v", err)
	}
	growth := float64(0)
	if after > before {
		growth = float64(after - before)
	}
	report := instanceRSSReport{
		Runtime: "wazero", Module: *module, Instances: *instances,
		RSSBeforeKiB: before, RSSAfterKiB: after, PerInstanceKiB: growth / float64(*instances),
	}
	line, _ := json.Marshal(report)
	fmt.Fprintln(stdout, string(line))
	for _, inst := range append(live, warm) {
		inst.close()
	}
	return 0
}
