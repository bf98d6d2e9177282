package main

// The gRPC app channel (--app-protocol grpc): AppCallback over h2c beside the
// HTTP routes over HTTP/1.1 on the same port, and a prompt exit on SIGTERM
// with a gRPC client still connected (daprd keeps its channel open).

import (
	"context"
	"encoding/json"
	"net/http"
	"syscall"
	"testing"
	"time"

	commonv1pb "github.com/dapr/dapr/pkg/proto/common/v1"
	runtimev1pb "github.com/dapr/dapr/pkg/proto/runtime/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/anypb"

	"blueprint-bench/workloads/go/vectors"
)

func TestGRPCAppChannelServesAppCallbackBesideHTTP(t *testing.T) {
	port := vectors.FreePort(t)
	base := "http://" + vectors.Addr(port)
	p := startHostProcess(t, "--listen", vectors.Addr(port), "--app-protocol", "grpc",
		"--module", "pong="+writeProbe(t, "pong", pong))
	waitHealthy(t, base, 10*time.Second)

	conn, err := grpc.NewClient(vectors.Addr(port), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := runtimev1pb.NewAppCallbackClient(conn)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	out, err := client.OnInvoke(ctx, &commonv1pb.InvokeRequest{Method: "pong", Data: &anypb.Any{Value: []byte("x")}})
	if err != nil || string(out.GetData().GetValue()) != "pong" {
		t.Fatalf("OnInvoke pong: %v %v", out, err)
	}
	if _, err := client.OnInvoke(ctx, &commonv1pb.InvokeRequest{Method: "nothing"}); status.Code(err) != codes.NotFound {
		t.Errorf("unknown method: %v, want NotFound", err)
	}
	ev, err := client.OnTopicEvent(ctx, &runtimev1pb.TopicEventRequest{Id: "m-1-1", Path: "/events/pong", Data: []byte("x")})
	if err != nil || ev.GetStatus() != runtimev1pb.TopicEventResponse_SUCCESS {
		t.Fatalf("OnTopicEvent: %v %v", ev, err)
	}
	if _, err := client.OnTopicEvent(ctx, &runtimev1pb.TopicEventRequest{Id: "m-2-1", Path: "/events/nothing"}); status.Code(err) != codes.Unimplemented {
		t.Errorf("unknown route: %v, want Unimplemented (daprd drops it)", err)
	}
	// A delivery to the plain subscriber is recorded, its data byte for byte.
	rec, err := client.OnTopicEvent(ctx, &runtimev1pb.TopicEventRequest{Id: "s-1", Path: "/subscriber/aggregates",
		PubsubName: "pubsub", Topic: "aggregates", DataContentType: "application/json", Data: []byte(`{"k":1}`)})
	if err != nil || rec.GetStatus() != runtimev1pb.TopicEventResponse_SUCCESS {
		t.Fatalf("OnTopicEvent to the subscriber: %v %v", rec, err)
	}
	sub, err := http.Get(base + "/subscriber")
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Events []received `json:"events"`
	}
	if err := json.NewDecoder(sub.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	sub.Body.Close()
	want := received{Pubsub: "pubsub", Topic: "aggregates", ContentType: "application/json", DataBase64: "eyJrIjoxfQ=="}
	if len(got.Events) != 1 || got.Events[0] != want {
		t.Errorf("subscriber log: %+v, want %+v", got.Events, want)
	}
	subs, err := client.ListTopicSubscriptions(ctx, nil)
	if err != nil || len(subs.GetSubscriptions()) != 0 {
		t.Errorf("ListTopicSubscriptions: %v %v, want none", subs, err)
	}

	// The HTTP routes still answer over HTTP/1.1, and the event is logged.
	resp, err := http.Get(base + "/events")
	if err != nil {
		t.Fatal(err)
	}
	var page struct {
		Deliveries []delivery `json:"deliveries"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if len(page.Deliveries) != 1 || page.Deliveries[0].ID != "m-1-1" || page.Deliveries[0].Outcome != outcomeSuccess {
		t.Errorf("event log: %+v", page.Deliveries)
	}

	// SIGTERM with the gRPC connection still open: an orderly exit, in time.
	started := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(t, 8*time.Second); code != 0 {
		t.Errorf("exit code %d after SIGTERM, want 0", code)
	}
	if took := time.Since(started); took > 2*time.Second {
		t.Errorf("exit took %v with a gRPC client connected", took)
	}
}
