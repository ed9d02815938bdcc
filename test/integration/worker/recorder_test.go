package worker_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"sync"
	"sync/atomic"

	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
)

// requestRecorder records the requests a client sends to the API server, so a test can show what a reconcile
// read and changed.
type requestRecorder struct {
	mu       sync.Mutex
	requests []recordedRequest
}

type recordedRequest struct {
	method, path, body string
	watch              bool
}

// isWrite tells whether the request changes something.
func (r recordedRequest) isWrite() bool {
	return r.method != http.MethodGet
}

// isRead tells whether the request is a GET or LIST that reached the API server (not a watch).
func (r recordedRequest) isRead() bool {
	return r.method == http.MethodGet && !r.watch
}

func (r *requestRecorder) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripperFunc(func(req *http.Request) (*http.Response, error) {
		var body []byte
		if req.Body != nil {
			body, _ = io.ReadAll(req.Body)
			req.Body = io.NopCloser(bytes.NewReader(body))
		}
		r.mu.Lock()
		r.requests = append(r.requests, recordedRequest{
			method: req.Method, path: req.URL.Path, body: string(body), watch: req.URL.Query().Get("watch") == "true",
		})
		r.mu.Unlock()
		return rt.RoundTrip(req)
	})
}

func (r *requestRecorder) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.requests = nil
}

func (r *requestRecorder) recorded() []recordedRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]recordedRequest(nil), r.requests...)
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

// readCounter counts the Get and List calls of a controller-runtime client, whether the cache or the API server
// answers them.
type readCounter struct {
	reads atomic.Int64
}

func (c *readCounter) funcs() interceptor.Funcs {
	return interceptor.Funcs{
		Get: func(ctx context.Context, cl client.WithWatch, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
			c.reads.Add(1)
			return cl.Get(ctx, key, obj, opts...)
		},
		List: func(ctx context.Context, cl client.WithWatch, list client.ObjectList, opts ...client.ListOption) error {
			c.reads.Add(1)
			return cl.List(ctx, list, opts...)
		},
	}
}
