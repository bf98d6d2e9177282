package main

// The HTTP interface of HOST.md: POST /<name>, GET /healthz, GET /info,
// GET /stats, and pub/sub deliveries (POST /events/<name>, GET /events).

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

type server struct {
	engine *engine
	guests map[string]*guest
	info   []byte
	// maxBody caps request bodies at the guest memory limit: a larger
	// request could never be written into an instance, and reading it whole
	// would only cost host memory.
	maxBody int64
	// cache is the state cache of embedded+cache, reported by /stats.
	cache *stateCache
	// appToken, when set, is what every caller but /healthz must send as
	// dapr-api-token (HOST.md, "Tokens"): APP_API_TOKEN, as daprd reads it.
	appToken string
	// events is the log of pub/sub deliveries (events.go).
	events eventLog
	// subscriber records events delivered to /subscriber/<topic> (events.go).
	subscriber subscriberLog
	// bindingInput is what an input-binding firing without data runs the
	// workload on (--binding-input; bindings.go).
	bindingInput []byte
}

// appTokenHeader carries both of Dapr's API tokens.
const appTokenHeader = "dapr-api-token"

// newServer compiles and checks every module; any failure is a start-up
// error naming the module.
func newServer(ctx context.Context, eng *engine, modules []moduleArg, maxMemoryPages uint32) (*server, error) {
	s := &server{engine: eng, guests: make(map[string]*guest, len(modules)), maxBody: int64(maxMemoryPages) * 65536}
	for _, m := range modules {
		g, err := eng.load(ctx, m.name, m.path)
		if err != nil {
			return nil, fmt.Errorf("module %s (%s): %w", m.name, m.path, err)
		}
		s.guests[m.name] = g
	}
	var err error
	if s.info, err = infoJSON(s.guests); err != nil {
		return nil, fmt.Errorf("info: %w", err)
	}
	return s, nil
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.appToken != "" && r.URL.Path != "/healthz" &&
		subtle.ConstantTimeCompare([]byte(r.Header.Get(appTokenHeader)), []byte(s.appToken)) != 1 {
		text(w, http.StatusUnauthorized, []byte("missing or wrong "+appTokenHeader+" header"))
		return
	}
	switch r.URL.Path {
	case "/healthz":
		// The listener opens only after every module compiled, so a
		// reachable server is a healthy one.
		if allow(w, r, http.MethodGet) {
			w.WriteHeader(http.StatusOK)
		}
		return
	case "/info":
		if allow(w, r, http.MethodGet) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(s.info)
		}
		return
	case "/events":
		if allow(w, r, http.MethodGet) {
			s.eventsPage(w, r)
		}
		return
	case "/stats":
		if allow(w, r, http.MethodGet) {
			body, err := statsJSON(s.guests, s.cache)
			if err != nil {
				text(w, http.StatusInternalServerError, []byte("stats: "+err.Error()))
				return
			}
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(body)
		}
		return
	}
	if r.URL.Path == "/subscriber" {
		if allow(w, r, http.MethodGet) {
			body, err := s.subscriber.all()
			if err != nil {
				text(w, http.StatusInternalServerError, []byte("subscriber: "+err.Error()))
				return
			}
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(body)
		}
		return
	}
	if topic, ok := strings.CutPrefix(r.URL.Path, "/subscriber/"); ok {
		if allow(w, r, http.MethodPost) {
			s.subscriberDelivery(w, r, topic)
		}
		return
	}
	// daprd's deliveries to a workload by name: an input binding's firing,
	// a bulk batch, a single event. 404 for an unknown name: the one answer
	// daprd drops rather than retries.
	for _, route := range []struct {
		prefix string
		serve  func(http.ResponseWriter, *http.Request, *guest)
	}{{"/bindings/", s.fire}, {"/bulk-events/", s.deliverBulk}, {"/events/", s.deliver}} {
		if name, ok := strings.CutPrefix(r.URL.Path, route.prefix); ok {
			g, ok := s.guests[name]
			if !ok {
				http.NotFound(w, r)
				return
			}
			if allow(w, r, http.MethodPost) {
				route.serve(w, r, g)
			}
			return
		}
	}
	g, ok := s.guests[strings.TrimPrefix(r.URL.Path, "/")]
	if !ok {
		http.NotFound(w, r)
		return
	}
	if !allow(w, r, http.MethodPost) {
		return
	}
	request, err := readBody(w, r, s.maxBody)
	if err != nil {
		return
	}
	response, cerr := s.engine.handle(r.Context(), g, request)
	if cerr != nil {
		text(w, cerr.status(), cerr.body())
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	_, _ = w.Write(response)
}

// readBody reads a request body of at most max bytes; on failure it has
// answered (413 or 400).
func readBody(w http.ResponseWriter, r *http.Request, max int64) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			text(w, http.StatusRequestEntityTooLarge, []byte("request larger than the guest memory limit"))
		} else {
			text(w, http.StatusBadRequest, []byte("reading the request: "+err.Error()))
		}
	}
	return body, err
}

// allow answers 405 unless the request uses method.
func allow(w http.ResponseWriter, r *http.Request, method string) bool {
	if r.Method == method {
		return true
	}
	w.Header().Set("Allow", method)
	text(w, http.StatusMethodNotAllowed, []byte("method not allowed"))
	return false
}

func text(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
