package guest

// The http flavour's backend: the typed wrappers as requests to Dapr's HTTP
// API (https://docs.dapr.io/reference/api/), sent through the generic
// outbound "http" import of workloads/ABI.md. The host only forwards them to
// its sidecar, so everything Dapr-specific (paths, JSON bodies, etags,
// status codes) is here. The request building and response parsing are
// plain Go, tested natively against a fake and against a real daprd
// (daprhttp_test.go).

import (
	"strconv"
	"strings"

	"blueprint-bench/workloads/go/jsonsub"
)

// httpResponse is one answer of the http import.
type httpResponse struct {
	status int
	// headers is "name: value\n" lines, names lower-case (ABI.md).
	headers string
	body    []byte
}

// header is the first value of the header name (lower-case), or "".
func (r httpResponse) header(name string) string {
	for line := range strings.Lines(r.headers) {
		n, v, ok := strings.Cut(strings.TrimSuffix(line, "\n"), ":")
		if ok && n == name {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// sender sends one request: method, a path on the sidecar's HTTP API,
// "Name: value\n" header lines and the body.
type sender func(method, url, headers string, body []byte) (httpResponse, error)

// daprHTTP talks to Dapr's HTTP API through send.
type daprHTTP struct {
	send sender
}

// StatusError is an HTTP status the http flavour did not expect from Dapr,
// with the start of Dapr's error body (its errorCode and message).
type StatusError struct {
	Method, Path string
	Status       int
	Body         string
}

func (e *StatusError) Error() string {
	return "HTTP " + strconv.Itoa(e.Status) + " from " + e.Method + " " + e.Path + ": " + e.Body
}

func unexpected(method, path string, r httpResponse) error {
	body := string(r.body)
	if len(body) > 200 {
		body = body[:200] + "…"
	}
	return &StatusError{Method: method, Path: path, Status: r.status, Body: body}
}

func (d daprHTTP) stateGet(store, key string) (*StateEntry, error) {
	path := "/v1.0/state/" + pathSegment(store) + "/" + pathSegment(key)
	r, err := d.send("GET", path, "", nil)
	if err != nil {
		return nil, err
	}
	switch r.status {
	case 200:
		return &StateEntry{Value: r.body, Etag: r.header("etag")}, nil
	case 204: // Dapr's answer for a key without a value
		return nil, nil
	}
	return nil, unexpected("GET", path, r)
}

// stateGetBulk is one POST /v1.0/state/<store>/bulk {"keys":[…]}. daprd
// answers [{"key","data"?,"etag"?,"error"?}…] in the store's order, leaving
// out data for a key without a value; the answers are put back in the order
// asked. An item's error fails the read as [ErrUnavailable], as on the
// embedded hosts.
func (d daprHTTP) stateGetBulk(store string, keys []string) ([]*StateEntry, error) {
	if !validBulkKeys(keys) {
		return nil, ErrInvalidArgument
	}
	body := []byte(`{"keys":[`)
	for i, key := range keys {
		if i > 0 {
			body = append(body, ',')
		}
		body = jsonsub.AppendString(body, key)
	}
	body = append(body, "]}"...)
	path := "/v1.0/state/" + pathSegment(store) + "/bulk"
	r, err := d.send("POST", path, "Content-Type: application/json\n", body)
	if err != nil {
		return nil, err
	}
	if r.status != 200 {
		return nil, unexpected("POST", path, r)
	}
	items, ok := parseBulkItems(r.body)
	if !ok {
		return nil, ErrUnavailable
	}
	byKey := make(map[string]*StateEntry, len(items))
	for _, item := range items {
		if item.failed {
			return nil, ErrUnavailable
		}
		var entry *StateEntry
		if item.data != nil {
			entry = &StateEntry{Value: item.data, Etag: item.etag}
		}
		byKey[item.key] = entry
	}
	entries := make([]*StateEntry, len(keys))
	for i, key := range keys {
		entry, ok := byKey[key]
		if !ok {
			return nil, ErrUnavailable
		}
		entries[i] = entry
	}
	return entries, nil
}

// bulkItem is one item of daprd's bulk answer: data is its JSON text (nil
// when absent: no value), failed whether it carries an error.
type bulkItem struct {
	key, etag string
	data      []byte
	failed    bool
}

// parseBulkItems reads daprd's bulk answer, [{"key":…,"data":…,"etag":…,
// "error":…}…], other members skipped. A scanner rather than encoding/json,
// which would add about a megabyte to every http module.
func parseBulkItems(body []byte) ([]bulkItem, bool) {
	s := jsonScan{b: body}
	if !s.eat('[') {
		return nil, false
	}
	var items []bulkItem
	if !s.eat(']') {
		for {
			if !s.eat('{') {
				return nil, false
			}
			var item bulkItem
			hasKey := false
			if !s.eat('}') {
				for {
					name, ok := s.value(0)
					if !ok || !s.eat(':') {
						return nil, false
					}
					v, ok := s.value(0)
					if !ok {
						return nil, false
					}
					switch string(name) {
					case `"key"`:
						if item.key, ok = jsonString(v); !ok {
							return nil, false
						}
						hasKey = true
					case `"data"`:
						item.data = v
					case `"etag"`:
						if item.etag, ok = jsonString(v); !ok {
							return nil, false
						}
					case `"error"`:
						item.failed = string(v) != `""`
					}
					if !s.eat(',') {
						break
					}
				}
				if !s.eat('}') {
					return nil, false
				}
			}
			if !hasKey {
				return nil, false
			}
			items = append(items, item)
			if !s.eat(',') {
				break
			}
		}
		if !s.eat(']') {
			return nil, false
		}
	}
	s.space()
	return items, s.i == len(s.b)
}

// jsonString unescapes a JSON string literal, through the subset parser.
func jsonString(literal []byte) (string, bool) {
	obj, err := jsonsub.Parse(append(append([]byte(`{"s":`), literal...), '}'))
	if err != nil {
		return "", false
	}
	v, ok := obj.Get("s")
	return v.Str, ok && v.Kind == jsonsub.String
}

// jsonScan finds the extent of JSON values without decoding them.
type jsonScan struct {
	b []byte
	i int
}

func (s *jsonScan) space() {
	for s.i < len(s.b) && (s.b[s.i] == ' ' || s.b[s.i] == '\t' || s.b[s.i] == '\n' || s.b[s.i] == '\r') {
		s.i++
	}
}

// eat skips white space and c, if c is next.
func (s *jsonScan) eat(c byte) bool {
	s.space()
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// value skips white space and one value (nested at most 64 deep) and
// returns its text.
func (s *jsonScan) value(depth int) ([]byte, bool) {
	s.space()
	if s.i >= len(s.b) || depth > 64 {
		return nil, false
	}
	start := s.i
	switch c := s.b[s.i]; c {
	case '"':
		for s.i++; s.i < len(s.b); s.i++ {
			switch {
			case s.b[s.i] == '\\':
				s.i++
			case s.b[s.i] == '"':
				s.i++
				return s.b[start:s.i], true
			case s.b[s.i] < 0x20:
				return nil, false
			}
		}
		return nil, false
	case '{', '[':
		end := byte(']')
		if c == '{' {
			end = '}'
		}
		s.i++
		if s.eat(end) {
			return s.b[start:s.i], true
		}
		for {
			if c == '{' {
				if _, ok := s.value(depth + 1); !ok || !s.eat(':') {
					return nil, false
				}
			}
			if _, ok := s.value(depth + 1); !ok {
				return nil, false
			}
			if !s.eat(',') {
				break
			}
		}
		if !s.eat(end) {
			return nil, false
		}
		return s.b[start:s.i], true
	}
	for s.i < len(s.b) && strings.IndexByte("+-.0123456789Eaeflnrstu", s.b[s.i]) >= 0 {
		s.i++
	}
	return s.b[start:s.i], s.i > start
}

// stateSet saves one item. Dapr's HTTP API takes the value as JSON and
// stores its compact text, so value must be JSON text (as every workload's
// state is); anything else is Dapr's 400.
func (d daprHTTP) stateSet(store, key string, value []byte, etag string, concurrency Concurrency) error {
	body := jsonsub.AppendString([]byte(`[{"key":`), key)
	body = append(body, `,"value":`...)
	body = append(body, value...)
	if etag != "" {
		body = append(body, `,"etag":`...)
		body = jsonsub.AppendString(body, etag)
	}
	body = append(body, `,"options":{"concurrency":`...)
	body = jsonsub.AppendString(body, concurrency.daprName())
	body = append(body, "}}]"...)
	path := "/v1.0/state/" + pathSegment(store)
	r, err := d.send("POST", path, "Content-Type: application/json\n", body)
	if err != nil {
		return err
	}
	return stateWriteResult("POST", path, r)
}

func (d daprHTTP) stateDelete(store, key, etag string, concurrency Concurrency) error {
	path := "/v1.0/state/" + pathSegment(store) + "/" + pathSegment(key) +
		"?concurrency=" + concurrency.daprName()
	headers := ""
	if etag != "" {
		headers = "If-Match: " + etag + "\n"
	}
	r, err := d.send("DELETE", path, headers, nil)
	if err != nil {
		return err
	}
	return stateWriteResult("DELETE", path, r)
}

// stateWriteResult reads a save or delete answer: 204 (or 200), or 409 for
// a failed concurrency check, which is ETAG_MISMATCH as in the embedded
// flavour.
func stateWriteResult(method, path string, r httpResponse) error {
	switch r.status {
	case 200, 204:
		return nil
	case 409:
		return ErrEtagMismatch
	}
	return unexpected(method, path, r)
}

func (d daprHTTP) publish(pubsub, topic string, data []byte, contentType string) error {
	if contentType == "" {
		contentType = "application/json"
	}
	path := "/v1.0/publish/" + pathSegment(pubsub) + "/" + pathSegment(topic)
	r, err := d.send("POST", path, "Content-Type: "+contentType+"\n", data)
	if err != nil {
		return err
	}
	if r.status == 200 || r.status == 204 {
		return nil
	}
	return unexpected("POST", path, r)
}

// invokeBinding sends data as the request's "data" member, so, as with state
// values, it must be JSON text: Dapr's HTTP API decodes it and hands the
// binding its JSON encoding.
func (d daprHTTP) invokeBinding(name, operation string, data []byte) ([]byte, error) {
	body := jsonsub.AppendString([]byte(`{"operation":`), operation)
	if len(data) > 0 {
		body = append(body, `,"data":`...)
		body = append(body, data...)
	}
	body = append(body, '}')
	path := "/v1.0/bindings/" + pathSegment(name)
	r, err := d.send("POST", path, "Content-Type: application/json\n", body)
	if err != nil {
		return nil, err
	}
	if r.status == 200 || r.status == 204 {
		return r.body, nil
	}
	return nil, unexpected("POST", path, r)
}

// log has nowhere to go: the http flavour imports only "http", and the
// host discards stdout and stderr.
func (daprHTTP) log(LogLevel, string) {}

// daprName is the concurrency as Dapr's state API spells it.
func (c Concurrency) daprName() string {
	if c == FirstWrite {
		return "first-write"
	}
	return "last-write"
}

// pathSegment percent-encodes everything but RFC 3986's unreserved
// characters, so a key is one path segment whatever it holds.
func pathSegment(s string) string {
	const hex = "0123456789ABCDEF"
	var b []byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~' {
			b = append(b, c)
		} else {
			b = append(b, '%', hex[c>>4], hex[c&15])
		}
	}
	return string(b)
}

// parseHTTPResult splits an http import result: headers_len (u32 LE), the
// header lines, the body.
func parseHTTPResult(status int, raw []byte) (httpResponse, error) {
	headers, body, err := splitLenPrefixed(raw)
	if err != nil {
		return httpResponse{}, err
	}
	return httpResponse{status: status, headers: string(headers), body: body}, nil
}
