package main

// Pub/sub deliveries (HOST.md, "Pub/sub events"): the CloudEvent daprd
// posts to /events/<name> (or a batch of them to /bulk-events/<name> for a
// bulk subscription), the workload input inside it, and the log of
// every delivery handled, which the harness reads back with GET /events to
// count events by id.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// maxKeptDeliveries bounds the log; later deliveries are only counted.
const maxKeptDeliveries = 2_000_000

// Outcomes, as the log names them, and the AppResponse daprd gets for each.
const (
	outcomeSuccess = "success"
	outcomeDrop    = "drop"
	outcomeRetry   = "retry"
)

var appResponses = map[string][]byte{
	outcomeSuccess: []byte(`{"status":"SUCCESS"}`),
	outcomeDrop:    []byte(`{"status":"DROP"}`),
	outcomeRetry:   []byte(`{"status":"RETRY"}`),
}

type delivery struct {
	ID            string `json:"id"`
	HandledUnixNs int64  `json:"handled_unix_ns"`
	Outcome       string `json:"outcome"`
}

type eventLog struct {
	mu         sync.Mutex
	deliveries []delivery
	notKept    uint64
}

func (l *eventLog) record(id, outcome string) {
	d := delivery{ID: id, HandledUnixNs: time.Now().UnixNano(), Outcome: outcome}
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.deliveries) < maxKeptDeliveries {
		l.deliveries = append(l.deliveries, d)
	} else {
		l.notKept++
	}
}

// since is GET /events?from=N: the deliveries from the N-th on.
func (l *eventLog) since(from int) ([]byte, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	page := []delivery{}
	if from >= 0 && from < len(l.deliveries) {
		page = l.deliveries[from:]
	}
	return json.Marshal(struct {
		Deliveries []delivery `json:"deliveries"`
		NotKept    uint64     `json:"not_kept"`
	}{page, l.notKept})
}

// cloudEvent is what a delivery's body carries: the id, and the input as
// data_base64 (decoded), a JSON string's text, or any other JSON value's
// compact text.
func parseCloudEvent(body []byte) (id string, data []byte, err error) {
	var ev map[string]json.RawMessage
	if err := json.Unmarshal(body, &ev); err != nil {
		return "", nil, fmt.Errorf("the delivery is not a JSON CloudEvent: %w", err)
	}
	if raw, ok := ev["id"]; !ok || json.Unmarshal(raw, &id) != nil {
		return "", nil, errors.New("the CloudEvent has no string `id`")
	}
	if raw, ok := ev["data_base64"]; ok {
		var b64 string
		if err := json.Unmarshal(raw, &b64); err == nil {
			data, err := base64.StdEncoding.DecodeString(b64)
			if err != nil {
				return "", nil, fmt.Errorf("`data_base64` is not base64: %w", err)
			}
			return id, data, nil
		}
	}
	raw, ok := ev["data"]
	if !ok || string(raw) == "null" {
		return id, []byte{}, nil
	}
	var text string
	if json.Unmarshal(raw, &text) == nil {
		return id, []byte(text), nil
	}
	// Another JSON value: its compact text with object keys sorted, as the
	// Rust host writes it (the harness itself publishes strings only).
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var value any
	if err := dec.Decode(&value); err != nil {
		return "", nil, err
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(value); err != nil {
		return "", nil, err
	}
	return id, bytes.TrimSuffix(out.Bytes(), []byte("\n")), nil
}

// deliver handles POST /events/<name>: the CloudEvent's data is the
// workload's input; the answer is Dapr's AppResponse; the delivery goes
// into the log by the event's id.
func (s *server) deliver(w http.ResponseWriter, r *http.Request, g *guest) {
	body, err := readBody(w, r, s.maxBody)
	if err != nil { // answered 413 or 400
		s.events.record("", outcomeDrop)
		return
	}
	outcome := outcomeDrop
	if id, data, err := parseCloudEvent(body); err == nil {
		outcome = s.handleEvent(r.Context(), g, id, data)
	} else {
		s.events.record("", outcomeDrop)
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(appResponses[outcome])
}

// handleEvent runs one delivered event's data through the workload and
// logs the delivery by the event's id: success when the workload answered,
// drop when it refused (a redelivery would be refused again), retry after
// any other failure. Every delivery path (HTTP, gRPC, bulk) ends here.
func (s *server) handleEvent(ctx context.Context, g *guest, id string, data []byte) string {
	_, cerr := s.engine.handle(ctx, g, data)
	outcome := outcomeOf(cerr)
	s.events.record(id, outcome)
	return outcome
}

// outcomeOf is what a delivery's call comes to: success when the workload
// answered, drop when it refused, retry after any other failure.
func outcomeOf(cerr *callError) string {
	switch {
	case cerr == nil:
		return outcomeSuccess
	case cerr.kind == failGuest:
		return outcomeDrop
	default:
		return outcomeRetry
	}
}

// bulkEntry is one entry of a bulk delivery: the id daprd answers it by,
// and the CloudEvent's id and data (or why it is not one).
type bulkEntry struct {
	entryID string
	id      string
	data    []byte
	err     error
}

// parseBulk reads the batch daprd posts for a bulk subscription (Dapr's
// bulk subscribe envelope, each entry's event a structured CloudEvent as a
// JSON object). A bad entry carries its error; only a body that is not
// such an envelope fails as a whole.
func parseBulk(body []byte) ([]bulkEntry, error) {
	var envelope struct {
		Entries *[]struct {
			EntryID string          `json:"entryId"`
			Event   json.RawMessage `json:"event"`
		} `json:"entries"`
	}
	if err := json.Unmarshal(body, &envelope); err != nil {
		return nil, fmt.Errorf("the delivery is not a bulk subscribe envelope: %w", err)
	}
	if envelope.Entries == nil {
		return nil, errors.New("the delivery is not a bulk subscribe envelope: no `entries`")
	}
	entries := make([]bulkEntry, 0, len(*envelope.Entries))
	for _, raw := range *envelope.Entries {
		e := bulkEntry{entryID: raw.EntryID}
		if trimmed := bytes.TrimSpace(raw.Event); len(trimmed) > 0 && trimmed[0] == '{' {
			e.id, e.data, e.err = parseCloudEvent(trimmed)
		} else {
			// A raw payload (base64), which only a rawPayload subscription
			// sends: not one of ours.
			e.err = errors.New("the bulk entry's event is not a CloudEvent object")
		}
		entries = append(entries, e)
	}
	return entries, nil
}

// handleBulk handles a batch's entries concurrently (the instance pool
// bounds how many run at once, as for concurrent single deliveries) and
// returns their outcomes in the batch's order; an entry that is not a
// CloudEvent is dropped.
func (s *server) handleBulk(ctx context.Context, g *guest, entries []bulkEntry) []string {
	outcomes := make([]string, len(entries))
	var wg sync.WaitGroup
	for i, e := range entries {
		if e.err != nil {
			s.events.record("", outcomeDrop)
			outcomes[i] = outcomeDrop
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			outcomes[i] = s.handleEvent(ctx, g, e.id, e.data)
		}()
	}
	wg.Wait()
	return outcomes
}

// statusNames are the outcomes as Dapr's bulk answer names them.
var statusNames = map[string]string{
	outcomeSuccess: "SUCCESS",
	outcomeDrop:    "DROP",
	outcomeRetry:   "RETRY",
}

// deliverBulk handles POST /bulk-events/<name>: each entry handled as a
// single delivery is, the answer one status per entry by entryId.
func (s *server) deliverBulk(w http.ResponseWriter, r *http.Request, g *guest) {
	body, err := readBody(w, r, s.maxBody)
	if err != nil { // answered 413 or 400
		return
	}
	entries, err := parseBulk(body)
	if err != nil {
		text(w, http.StatusBadRequest, []byte(err.Error()))
		return
	}
	outcomes := s.handleBulk(r.Context(), g, entries)
	type status struct {
		EntryID string `json:"entryId"`
		Status  string `json:"status"`
	}
	answer := struct {
		Statuses []status `json:"statuses"`
	}{make([]status, len(entries))}
	for i, e := range entries {
		answer.Statuses[i] = status{e.entryID, statusNames[outcomes[i]]}
	}
	reply, err := json.Marshal(answer)
	if err != nil {
		text(w, http.StatusInternalServerError, []byte(err.Error()))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(reply)
}

// eventsPage answers GET /events?from=N.
func (s *server) eventsPage(w http.ResponseWriter, r *http.Request) {
	from, _ := strconv.Atoi(r.URL.Query().Get("from"))
	body, err := s.events.since(from)
	if err != nil {
		text(w, http.StatusInternalServerError, []byte("events: "+err.Error()))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(body)
}

// received is one event at POST /subscriber/<topic>: the host as a plain
// subscriber that records what daprd delivered and runs nothing (the
// conformance check subscribes it to the topics a workload publishes to).
type received struct {
	Pubsub      string `json:"pubsub"`
	Topic       string `json:"topic"`
	ContentType string `json:"content_type"`
	DataBase64  string `json:"data_base64"`
}

type subscriberLog struct {
	mu     sync.Mutex
	events []received
}

// receive records a delivery to /subscriber/<routeTopic>.
func (l *subscriberLog) receive(routeTopic string, body []byte) error {
	_, data, err := parseCloudEvent(body)
	if err != nil {
		return err
	}
	var fields struct {
		Pubsub      string `json:"pubsubname"`
		Topic       string `json:"topic"`
		ContentType string `json:"datacontenttype"`
	}
	if err := json.Unmarshal(body, &fields); err != nil {
		return err
	}
	if fields.Topic == "" {
		fields.Topic = routeTopic
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.events) < maxKeptDeliveries {
		l.events = append(l.events, received{fields.Pubsub, fields.Topic, fields.ContentType, base64.StdEncoding.EncodeToString(data)})
	}
	return nil
}

func (l *subscriberLog) all() ([]byte, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	events := append([]received{}, l.events...)
	return json.Marshal(struct {
		Events []received `json:"events"`
	}{events})
}

// subscriberDelivery answers POST /subscriber/<topic> with an AppResponse.
func (s *server) subscriberDelivery(w http.ResponseWriter, r *http.Request, topic string) {
	body, err := readBody(w, r, s.maxBody)
	if err != nil {
		return
	}
	outcome := outcomeSuccess
	if err := s.subscriber.receive(topic, body); err != nil {
		outcome = outcomeDrop
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(appResponses[outcome])
}
