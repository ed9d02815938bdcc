package controlplane_test

import (
	"bytes"
	"io"
	"net/http"
	"sync"
)

// writeRecorder records the write requests a client sends, so a test can show what a reconcile changed.
type writeRecorder struct {
	mu       sync.Mutex
	requests []recordedRequest
}

type recordedRequest struct {
	method, path, body string
}

func (r *writeRecorder) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripperFunc(func(req *http.Request) (*http.Response, error) {
		if req.Method != http.MethodGet {
			var body []byte
			if req.Body != nil {
				body, _ = io.ReadAll(req.Body)
				req.Body = io.NopCloser(bytes.NewReader(body))
			}
			r.mu.Lock()
			r.requests = append(r.requests, recordedRequest{method: req.Method, path: req.URL.Path, body: string(body)})
			r.mu.Unlock()
		}
		return rt.RoundTrip(req)
	})
}

func (r *writeRecorder) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.requests = nil
}

func (r *writeRecorder) recorded() []recordedRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]recordedRequest(nil), r.requests...)
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }
