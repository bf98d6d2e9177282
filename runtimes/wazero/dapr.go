package main

// The typed Dapr calls behind the guest's `dapr` imports, and their one
// production implementation: the official Dapr Go SDK over gRPC.

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"

	dapr "github.com/dapr/go-sdk/client"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// concurrency is the ABI's state concurrency argument (ABI.md: 0 =
// last-write-wins, 1 = first-write).
type concurrency int32

const (
	lastWrite  concurrency = 0
	firstWrite concurrency = 1
)

// stateEntry is a stored value and the etag of its version ("" when the
// store keeps none).
type stateEntry struct {
	value []byte
	etag  string
}

var (
	// errEtagMismatch: the etag did not match, or first-write found the key.
	errEtagMismatch = errors.New("etag mismatch")
	// errNotPermitted: this host runs without Dapr access (no --dapr-grpc-port).
	errNotPermitted = errors.New("not permitted in this mode")
)

// daprAPI is what the `dapr` imports need from the sidecar. Any error other
// than errEtagMismatch and errNotPermitted means the call failed (UNAVAILABLE).
// Byte slices passed in may alias guest memory: implementations must not keep
// them after returning.
type daprAPI interface {
	// stateGet returns nil, nil when the key has no value.
	stateGet(ctx context.Context, store, key string) (*stateEntry, error)
	// stateGetBulk reads keys in one call and answers in their order, nil
	// for a key with no value; an error for any one key fails it all.
	stateGetBulk(ctx context.Context, store string, keys []string) ([]*stateEntry, error)
	stateSet(ctx context.Context, store, key string, value []byte, etag string, c concurrency) error
	stateDelete(ctx context.Context, store, key, etag string, c concurrency) error
	publish(ctx context.Context, pubsub, topic string, data []byte, contentType string) error
	invokeBinding(ctx context.Context, name, operation string, data []byte) ([]byte, error)
}

// noDapr refuses every call: the mode without --dapr-grpc-port.
type noDapr struct{}

func (noDapr) stateGet(context.Context, string, string) (*stateEntry, error) {
	return nil, errNotPermitted
}
func (noDapr) stateGetBulk(context.Context, string, []string) ([]*stateEntry, error) {
	return nil, errNotPermitted
}
func (noDapr) stateSet(context.Context, string, string, []byte, string, concurrency) error {
	return errNotPermitted
}
func (noDapr) stateDelete(context.Context, string, string, string, concurrency) error {
	return errNotPermitted
}
func (noDapr) publish(context.Context, string, string, []byte, string) error {
	return errNotPermitted
}
func (noDapr) invokeBinding(context.Context, string, string, []byte) ([]byte, error) {
	return nil, errNotPermitted
}

// sdkDapr talks to daprd through one persistent SDK client, created on the
// first call and shared by every instance (HOST.md: one attempt at a time;
// concurrent first calls wait on mu for the same one).
type sdkDapr struct {
	address string

	mu     sync.Mutex
	client dapr.Client
}

func init() {
	// The SDK logs to stdout by default; the host keeps stdout clean and
	// sends every diagnostic to stderr.
	dapr.SetLogger(log.New(os.Stderr, "dapr-sdk: ", log.LstdFlags))
}

func newSDKDapr(grpcPort int) *sdkDapr {
	// Loopback only (HOST.md): the port is the only thing configurable.
	return &sdkDapr{address: net.JoinHostPort("127.0.0.1", strconv.Itoa(grpcPort))}
}

// get returns the shared client, connecting if there is none yet. A failed
// connection is not remembered, so the next call tries again.
func (d *sdkDapr) get(ctx context.Context) (dapr.Client, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.client != nil {
		return d.client, nil
	}
	// The SDK dials with WithBlock, bounded by its own 5 s limit and by ctx
	// (the guest call's deadline), so a missing sidecar cannot hang a call
	// past its time limit.
	c, err := dapr.NewClientWithAddressContext(ctx, d.address)
	if err != nil {
		return nil, fmt.Errorf("connect to daprd at %s: %w", d.address, err)
	}
	d.client = c
	return c, nil
}

// close drops the client at shutdown.
func (d *sdkDapr) close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.client != nil {
		d.client.Close()
		d.client = nil
	}
}

func (d *sdkDapr) stateGet(ctx context.Context, store, key string) (*stateEntry, error) {
	c, err := d.get(ctx)
	if err != nil {
		return nil, err
	}
	item, err := c.GetState(ctx, store, key, nil)
	if err != nil {
		return nil, classify(err)
	}
	// Dapr's gRPC API answers a missing key with empty data, so an empty
	// value reads as "no value" (NOT_FOUND), whatever the store.
	if item == nil || len(item.Value) == 0 {
		return nil, nil
	}
	return &stateEntry{value: item.Value, etag: item.Etag}, nil
}

func (d *sdkDapr) stateGetBulk(ctx context.Context, store string, keys []string) ([]*stateEntry, error) {
	c, err := d.get(ctx)
	if err != nil {
		return nil, err
	}
	items, err := c.GetBulkState(ctx, store, keys, nil, 0)
	if err != nil {
		return nil, classify(err)
	}
	return bulkAnswers(keys, items)
}

// bulkAnswers puts daprd's bulk items back in the order the keys were asked
// (daprd answers in the store's order). As for GetState, empty data is no
// value; an item's own error fails the whole read.
func bulkAnswers(keys []string, items []*dapr.BulkStateItem) ([]*stateEntry, error) {
	byKey := make(map[string]*stateEntry, len(items))
	for _, item := range items {
		if item.Error != "" {
			return nil, fmt.Errorf("GetBulkState: key %q: %s", item.Key, item.Error)
		}
		var entry *stateEntry
		if len(item.Value) > 0 {
			entry = &stateEntry{value: item.Value, etag: item.Etag}
		}
		byKey[item.Key] = entry
	}
	out := make([]*stateEntry, len(keys))
	for i, key := range keys {
		entry, ok := byKey[key]
		if !ok {
			return nil, fmt.Errorf("GetBulkState: no answer for key %q", key)
		}
		out[i] = entry
	}
	return out, nil
}

func (d *sdkDapr) stateSet(ctx context.Context, store, key string, value []byte, etag string, cc concurrency) error {
	c, err := d.get(ctx)
	if err != nil {
		return err
	}
	item := &dapr.SetStateItem{
		Key:     key,
		Value:   value,
		Options: &dapr.StateOptions{Concurrency: sdkConcurrency(cc)},
	}
	if etag != "" {
		item.Etag = &dapr.ETag{Value: etag}
	}
	return classify(c.SaveBulkState(ctx, store, item))
}

func (d *sdkDapr) stateDelete(ctx context.Context, store, key, etag string, cc concurrency) error {
	c, err := d.get(ctx)
	if err != nil {
		return err
	}
	var tag *dapr.ETag
	if etag != "" {
		tag = &dapr.ETag{Value: etag}
	}
	opts := &dapr.StateOptions{Concurrency: sdkConcurrency(cc)}
	return classify(c.DeleteStateWithETag(ctx, store, key, tag, nil, opts))
}

func (d *sdkDapr) publish(ctx context.Context, pubsub, topic string, data []byte, contentType string) error {
	c, err := d.get(ctx)
	if err != nil {
		return err
	}
	// []byte data is sent as is; the content type says what it is.
	return classify(c.PublishEvent(ctx, pubsub, topic, data, dapr.PublishEventWithContentType(contentType)))
}

func (d *sdkDapr) invokeBinding(ctx context.Context, name, operation string, data []byte) ([]byte, error) {
	c, err := d.get(ctx)
	if err != nil {
		return nil, err
	}
	out, err := c.InvokeBinding(ctx, &dapr.InvokeBindingRequest{Name: name, Operation: operation, Data: data})
	if err != nil {
		return nil, classify(err)
	}
	if out == nil {
		return []byte{}, nil
	}
	return out.Data, nil
}

func sdkConcurrency(c concurrency) dapr.StateConcurrency {
	if c == firstWrite {
		return dapr.StateConcurrencyFirstWrite
	}
	return dapr.StateConcurrencyLastWrite
}

// classify turns an SDK error into errEtagMismatch or leaves it as a
// failure. daprd reports an etag mismatch as gRPC Aborted (an unparseable
// etag as InvalidArgument mentioning the etag); other stores or versions have
// used FailedPrecondition. Transport failures are never a mismatch, whatever
// their text says.
func classify(err error) error {
	if err == nil {
		return nil
	}
	if st, ok := status.FromError(err); ok {
		switch st.Code() {
		case codes.Aborted, codes.FailedPrecondition:
			return errEtagMismatch
		case codes.Unavailable, codes.DeadlineExceeded, codes.Canceled:
			return err
		}
	}
	if strings.Contains(strings.ToLower(err.Error()), "etag") {
		return errEtagMismatch
	}
	return err
}
