// Package requests records the requests a client sends to a kube-apiserver, so that integration tests and
// benchmarks can show what a reconcile read and wrote.
package requests

import (
	"bytes"
	"io"
	"net/http"
	"sync"
)

// Request is one recorded request.
type Request struct {
	// Method is the HTTP method.
	Method string
	// Path is the URL path, e.g. /apis/extensions.gardener.cloud/v1alpha1/namespaces/ns/workers/w/status.
	Path string
	// Body is the request body (the patch of a PATCH).
	Body string
	// Watch tells whether the request opened a watch.
	Watch bool
	// Status is the HTTP status code of the response, 0 when the request failed without one.
	Status int
}

// IsWrite tells whether the request changes something.
func (r Request) IsWrite() bool {
	return r.Method != http.MethodGet
}

// IsRead tells whether the request is a GET or LIST that reached the API server (not a watch).
func (r Request) IsRead() bool {
	return r.Method == http.MethodGet && !r.Watch
}

// Recorder records requests; use Wrap as a rest.Config's WrapTransport.
type Recorder struct {
	mu       sync.Mutex
	requests []Request
}

// Wrap returns a RoundTripper that records every request with the status code of its response.
func (r *Recorder) Wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripperFunc(func(req *http.Request) (*http.Response, error) {
		var body []byte
		if req.Body != nil {
			body, _ = io.ReadAll(req.Body)
			req.Body = io.NopCloser(bytes.NewReader(body))
		}
		recorded := Request{Method: req.Method, Path: req.URL.Path, Body: string(body), Watch: req.URL.Query().Get("watch") == "true"}
		resp, err := rt.RoundTrip(req)
		if resp != nil {
			recorded.Status = resp.StatusCode
		}
		r.mu.Lock()
		r.requests = append(r.requests, recorded)
		r.mu.Unlock()
		return resp, err
	})
}

// Reset forgets what was recorded.
func (r *Recorder) Reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.requests = nil
}

// Recorded returns a copy of the requests recorded since the last Reset.
func (r *Recorder) Recorded() []Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Request(nil), r.requests...)
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }
