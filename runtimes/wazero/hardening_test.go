package main

// What real deployments and stalled sidecars do to the host: API tokens both
// ways, and Dapr calls that outlive the request's deadline.

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/tetratelabs/wazero/sys"
)

// stalledDapr never answers: a sidecar stopped with SIGSTOP. Each call waits
// for its context, as the SDK's gRPC calls do.
type stalledDapr struct{ noDapr }

func (stalledDapr) stateGet(ctx context.Context, _, _ string) (*stateEntry, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

func TestADaprCallCutByTheDeadlineMarksTheRequestExpired(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	st := &instanceState{dapr: stalledDapr{}}
	mem := byteMem(append([]byte("sk"), make([]byte, 16)...))
	if got := st.stateGet(ctx, mem, 0, 1, 1, 1); got != codeUnavailable {
		t.Fatalf("state_get: %d", got)
	}
	if !st.expired {
		t.Error("a call cut by the request's deadline left the request unmarked")
	}
	quick := &instanceState{dapr: failingDapr{}}
	if quick.stateGet(context.Background(), mem, 0, 1, 1, 1); quick.expired {
		t.Error("a failure with time left marked the request expired")
	}
}

func TestAStalledSidecarEndsTheRequestIn504WithinTheCallTimeout(t *testing.T) {
	cfg := testConfig()
	cfg.dapr = stalledDapr{}
	cfg.callTimeout = 300 * time.Millisecond
	ts := startHost(t, cfg, moduleArg{"counter", guestPath(t, "counter")})
	began := time.Now()
	status, body := post(t, ts.URL+"/counter", []byte("visits"))
	if status != http.StatusGatewayTimeout || string(body) != "timeout" {
		t.Errorf("got %d %q, want 504 timeout", status, body)
	}
	if took := time.Since(began); took > 3*time.Second {
		t.Errorf("took %v with a %v call timeout", took, cfg.callTimeout)
	}
	// The host keeps serving.
	noop := startHost(t, testConfig(), moduleArg{"noop", guestPath(t, "noop")})
	if status, _ := post(t, noop.URL+"/noop", nil); status != http.StatusOK {
		t.Errorf("next request: %d", status)
	}
}

func TestTheAppTokenGuardsEveryRouteButHealthz(t *testing.T) {
	eng := newTestEngine(t, testConfig())
	s, err := newServer(context.Background(), eng, []moduleArg{{"noop", writeProbe(t, "pong", pong)}}, 1024)
	if err != nil {
		t.Fatal(err)
	}
	s.appToken = "s3cret"
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	send := func(method, path, token string) int {
		req, err := http.NewRequest(method, ts.URL+path, bytes.NewReader(nil))
		if err != nil {
			t.Fatal(err)
		}
		if token != "" {
			req.Header.Set("dapr-api-token", token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, c := range []struct {
		method, path, token string
		want                int
	}{
		{"GET", "/healthz", "", 200},
		{"POST", "/noop", "", 401},
		{"POST", "/noop", "s3cre", 401},
		{"POST", "/noop", "s3cretx", 401},
		{"POST", "/noop", "s3cret", 200},
		{"GET", "/info", "", 401},
		{"GET", "/info", "s3cret", 200},
		{"GET", "/stats", "", 401},
		{"GET", "/stats", "s3cret", 200},
	} {
		if got := send(c.method, c.path, c.token); got != c.want {
			t.Errorf("%s %s with token %q: %d, want %d", c.method, c.path, c.token, got, c.want)
		}
	}
}

func TestOutboundRequestsCarryTheDaprAPIToken(t *testing.T) {
	t.Setenv("DAPR_API_TOKEN", "to-daprd")
	var got string
	sidecar := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Get("dapr-api-token")
	}))
	t.Cleanup(sidecar.Close)
	out := newSidecarHTTP(sidecar.Listener.Addr().(*net.TCPAddr).Port)
	if _, err := out.do(context.Background(), "GET", "/v1.0/healthz", [][2]string{{"dapr-api-token", "guest's own"}}, nil); err != nil {
		t.Fatal(err)
	}
	if got != "to-daprd" {
		t.Errorf("daprd got dapr-api-token %q", got)
	}
}

func TestWASISleepEndsWithTheRequest(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	began := time.Now()
	ended := func() (recovered any) {
		defer func() { recovered = recover() }()
		sleepWithin(ctx)(int64(time.Hour))
		return nil
	}()
	if took := time.Since(began); took > 2*time.Second {
		t.Errorf("an hour's sleep under a 50 ms deadline took %v", took)
	}
	// The call ends there, as a time-out: a guest must not answer after it.
	var exit *sys.ExitError
	if err, ok := ended.(error); !ok || !errors.As(err, &exit) || exit.ExitCode() != sys.ExitCodeDeadlineExceeded {
		t.Errorf("a sleep cut by the deadline ended with %v, want the deadline's exit error", ended)
	} else if got := classifyCall(err); got.kind != failTimeout {
		t.Errorf("classified as %+v, want a time-out", got)
	}
	began = time.Now()
	sleepWithin(context.Background())(int64(20 * time.Millisecond))
	if took := time.Since(began); took < 20*time.Millisecond {
		t.Errorf("a 20 ms sleep with time left took %v", took)
	}
}
