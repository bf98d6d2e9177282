package main

// The gRPC app channel (HOST.md, "gRPC app channel"): with --app-protocol
// grpc, daprd calls Dapr's AppCallback service on the host's port. The
// listener hands connections that open with the HTTP/2 preface to a gRPC
// server and the others (HTTP/1.1: the harness's /healthz, /info, /stats,
// /events) to the HTTP server.
//
// AppCallback is implemented on the generated protos of
// github.com/dapr/dapr/pkg/proto/runtime/v1 rather than through the Go SDK's
// service/grpc: the SDK serves topic events only to handlers registered as
// programmatic subscriptions (which ListTopicSubscriptions would then
// announce beside the harness's declarative one), hands the handler the
// data decoded by content type, and answers a failed invocation with an
// untyped error, where HOST.md gives each failure its own status code.

import (
	"bufio"
	"context"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	commonv1pb "github.com/dapr/dapr/pkg/proto/common/v1"
	runtimev1pb "github.com/dapr/dapr/pkg/proto/runtime/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/emptypb"
)

// appCallback is Dapr's AppCallback service over the host's workloads.
type appCallback struct {
	runtimev1pb.UnimplementedAppCallbackServer
	s *server
}

// grpcCode is the status of a failed call over gRPC, chosen so that a
// caller through daprd's HTTP invoke API sees an error status (in brackets).
func grpcCode(kind failureKind) codes.Code {
	switch kind {
	case failGuest: // the workload refused: 400
		return codes.InvalidArgument
	case failTrap: // 500
		return codes.Internal
	case failTimeout: // 504
		return codes.DeadlineExceeded
	}
	return codes.Unknown // a broken ABI or a failed instantiation: 500
}

// OnInvoke runs the workload named by the method, as POST /<name> does.
func (a *appCallback) OnInvoke(ctx context.Context, in *commonv1pb.InvokeRequest) (*commonv1pb.InvokeResponse, error) {
	g, ok := a.s.guests[in.GetMethod()]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "no workload `%s`", in.GetMethod())
	}
	response, cerr := a.s.engine.handle(ctx, g, in.GetData().GetValue())
	if cerr != nil {
		return nil, status.Error(grpcCode(cerr.kind), string(cerr.body()))
	}
	return &commonv1pb.InvokeResponse{Data: &anypb.Any{Value: response}}, nil
}

// OnTopicEvent runs the workload routed to (/events/<name>) on the event's
// data, logs the delivery by the event's id and answers as POST
// /events/<name> does: SUCCESS, DROP when the workload refused, RETRY after
// any other failure. An unknown route is UNIMPLEMENTED, the one error daprd
// drops rather than retries (a 404 over HTTP).
func (a *appCallback) OnTopicEvent(ctx context.Context, in *runtimev1pb.TopicEventRequest) (*runtimev1pb.TopicEventResponse, error) {
	if topic, ok := strings.CutPrefix(strings.TrimPrefix(in.GetPath(), "/"), "subscriber/"); ok {
		// The plain subscriber (POST /subscriber/<topic> over HTTP): the
		// event's fields as the CloudEvent daprd would have posted, its data
		// as data_base64 so that it is kept byte for byte.
		body, err := json.Marshal(map[string]string{
			"id":              in.GetId(),
			"pubsubname":      in.GetPubsubName(),
			"topic":           in.GetTopic(),
			"datacontenttype": in.GetDataContentType(),
			"data_base64":     base64.StdEncoding.EncodeToString(in.GetData()),
		})
		answer := runtimev1pb.TopicEventResponse_SUCCESS
		if err != nil || a.s.subscriber.receive(topic, body) != nil {
			answer = runtimev1pb.TopicEventResponse_DROP
		}
		return &runtimev1pb.TopicEventResponse{Status: answer}, nil
	}
	name, ok := strings.CutPrefix(strings.TrimPrefix(in.GetPath(), "/"), "events/")
	g, known := a.s.guests[name]
	if !ok || !known {
		return nil, status.Errorf(codes.Unimplemented, "no workload at route `%s` (expected /events/<workload>)", in.GetPath())
	}
	outcome := a.s.handleEvent(ctx, g, in.GetId(), in.GetData())
	return &runtimev1pb.TopicEventResponse{Status: topicStatus[outcome]}, nil
}

// topicStatus is Dapr's answer for each outcome.
var topicStatus = map[string]runtimev1pb.TopicEventResponse_TopicEventResponseStatus{
	outcomeSuccess: runtimev1pb.TopicEventResponse_SUCCESS,
	outcomeDrop:    runtimev1pb.TopicEventResponse_DROP,
	outcomeRetry:   runtimev1pb.TopicEventResponse_RETRY,
}

// appCallbackAlpha serves bulk deliveries: daprd asks AppCallback's
// OnBulkTopicEvent first and, on UNIMPLEMENTED (the protos this host is
// built with predate it), AppCallbackAlpha's OnBulkTopicEventAlpha1.
type appCallbackAlpha struct {
	runtimev1pb.UnimplementedAppCallbackAlphaServer
	s *server
}

// OnBulkTopicEventAlpha1 handles a batch routed to /bulk-events/<name> as
// POST /bulk-events/<name> does: each entry as a single delivery, one
// status per entry.
func (a *appCallbackAlpha) OnBulkTopicEventAlpha1(ctx context.Context, in *runtimev1pb.TopicEventBulkRequest) (*runtimev1pb.TopicEventBulkResponse, error) {
	name, ok := strings.CutPrefix(strings.TrimPrefix(in.GetPath(), "/"), "bulk-events/")
	g, known := a.s.guests[name]
	if !ok || !known {
		return nil, status.Errorf(codes.Unimplemented, "no workload at route `%s` (expected /bulk-events/<workload>)", in.GetPath())
	}
	entries := make([]bulkEntry, len(in.GetEntries()))
	for i, entry := range in.GetEntries() {
		entries[i] = bulkEntry{entryID: entry.GetEntryId()}
		switch {
		case entry.GetCloudEvent() != nil:
			// daprd sends the CloudEvent's fields, data already the input's bytes.
			entries[i].id, entries[i].data = entry.GetCloudEvent().GetId(), entry.GetCloudEvent().GetData()
		case entry.GetBytes() != nil:
			entries[i].id, entries[i].data, entries[i].err = parseCloudEvent(entry.GetBytes())
		default:
			entries[i].err = errors.New("the bulk entry has no event")
		}
	}
	outcomes := a.s.handleBulk(ctx, g, entries)
	statuses := make([]*runtimev1pb.TopicEventBulkResponseEntry, len(entries))
	for i, e := range entries {
		statuses[i] = &runtimev1pb.TopicEventBulkResponseEntry{EntryId: e.entryID, Status: topicStatus[outcomes[i]]}
	}
	return &runtimev1pb.TopicEventBulkResponse{Statuses: statuses}, nil
}

// ListTopicSubscriptions is empty: the harness subscribes the app declaratively.
func (a *appCallback) ListTopicSubscriptions(context.Context, *emptypb.Empty) (*runtimev1pb.ListTopicSubscriptionsResponse, error) {
	return &runtimev1pb.ListTopicSubscriptionsResponse{}, nil
}

// OnBindingEvent runs an input binding's firing for the workload the
// binding is named after (cron-<name>), as POST /bindings/<name> does.
func (a *appCallback) OnBindingEvent(ctx context.Context, in *runtimev1pb.BindingEventRequest) (*runtimev1pb.BindingEventResponse, error) {
	name, ok := strings.CutPrefix(in.GetName(), "cron-")
	g, known := a.s.guests[name]
	if !ok || !known {
		return nil, status.Errorf(codes.NotFound, "no workload for binding `%s` (expected cron-<workload>)", in.GetName())
	}
	var fired string
	for key, value := range in.GetMetadata() {
		if strings.EqualFold(key, readTimeKey) {
			fired = value
		}
	}
	if cerr := a.s.handleFiring(ctx, g, fired, in.GetData()); cerr != nil {
		return nil, status.Error(grpcCode(cerr.kind), string(cerr.body()))
	}
	// Nothing for daprd to save or send on.
	return &runtimev1pb.BindingEventResponse{}, nil
}

// ListInputBindings is empty: the harness declares its bindings with
// direction: input, so daprd does not ask.
func (a *appCallback) ListInputBindings(context.Context, *emptypb.Empty) (*runtimev1pb.ListInputBindingsResponse, error) {
	return &runtimev1pb.ListInputBindingsResponse{}, nil
}

// openMethods are the calls daprd makes without the app token (it adds the
// token to invocations and deliveries only); they reveal two empty lists.
var openMethods = map[string]bool{
	"/dapr.proto.runtime.v1.AppCallback/ListTopicSubscriptions": true,
	"/dapr.proto.runtime.v1.AppCallback/ListInputBindings":      true,
}

// newGRPCServer serves AppCallback with messages up to maxBody each way,
// checking the app token as the HTTP side does (dapr-api-token metadata).
func newGRPCServer(s *server) *grpc.Server {
	checkToken := func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if s.appToken != "" && !openMethods[info.FullMethod] {
			md, _ := metadata.FromIncomingContext(ctx)
			given := md.Get(appTokenHeader)
			if len(given) != 1 || subtle.ConstantTimeCompare([]byte(given[0]), []byte(s.appToken)) != 1 {
				return nil, status.Error(codes.Unauthenticated, "missing or wrong "+appTokenHeader+" metadata")
			}
		}
		return handler(ctx, req)
	}
	srv := grpc.NewServer(
		grpc.MaxRecvMsgSize(int(s.maxBody)),
		grpc.MaxSendMsgSize(int(s.maxBody)),
		grpc.UnaryInterceptor(checkToken),
	)
	runtimev1pb.RegisterAppCallbackServer(srv, &appCallback{s: s})
	runtimev1pb.RegisterAppCallbackAlphaServer(srv, &appCallbackAlpha{s: s})
	return srv
}

// http2Preface opens every HTTP/2 connection; over cleartext on this port
// only gRPC speaks it.
var http2Preface = []byte("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")

// sniffTimeout bounds the wait for a new connection's first bytes.
const sniffTimeout = 10 * time.Second

// splitListener accepts on one listener and sorts connections by their
// first bytes: the HTTP/2 preface to grpc, anything else to http.
type splitListener struct {
	inner      net.Listener
	grpc, http *chanListener
}

func newSplitListener(inner net.Listener) *splitListener {
	done := make(chan struct{})
	var once sync.Once
	closeAll := func() error {
		once.Do(func() { close(done) })
		return inner.Close()
	}
	l := &splitListener{
		inner: inner,
		grpc:  &chanListener{conns: make(chan net.Conn), done: done, addr: inner.Addr(), close: closeAll},
		http:  &chanListener{conns: make(chan net.Conn), done: done, addr: inner.Addr(), close: closeAll},
	}
	go l.accept()
	return l
}

func (l *splitListener) accept() {
	for {
		conn, err := l.inner.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			_ = l.grpc.close()
			return
		}
		go l.sort(conn)
	}
}

// sort reads as much of the preface as the connection's first bytes match,
// then hands it on with those bytes put back in front.
func (l *splitListener) sort(conn net.Conn) {
	_ = conn.SetReadDeadline(time.Now().Add(sniffTimeout))
	r := bufio.NewReaderSize(conn, len(http2Preface))
	isGRPC := true
	for n := 1; n <= len(http2Preface); n++ {
		seen, err := r.Peek(n)
		if err != nil {
			_ = conn.Close()
			return
		}
		if seen[n-1] != http2Preface[n-1] {
			isGRPC = false
			break
		}
	}
	_ = conn.SetReadDeadline(time.Time{})
	target := l.http
	if isGRPC {
		target = l.grpc
	}
	select {
	case target.conns <- &peekedConn{Conn: conn, r: r}:
	case <-target.done:
		_ = conn.Close()
	}
}

// peekedConn reads through the buffer that holds the sniffed bytes.
type peekedConn struct {
	net.Conn
	r io.Reader
}

func (c *peekedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// chanListener is one side of a splitListener.
type chanListener struct {
	conns chan net.Conn
	done  chan struct{}
	addr  net.Addr
	close func() error
}

func (c *chanListener) Accept() (net.Conn, error) {
	select {
	case conn := <-c.conns:
		return conn, nil
	case <-c.done:
		return nil, net.ErrClosed
	}
}

func (c *chanListener) Close() error   { return c.close() }
func (c *chanListener) Addr() net.Addr { return c.addr }
