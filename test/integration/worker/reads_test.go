package worker_test

import (
	"context"
	"sync/atomic"

	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
)

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
