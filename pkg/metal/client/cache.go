package client

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/rest"
	ctrlcache "sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"

	metalv1alpha1 "github.com/ironcore-dev/metal-operator/api/v1alpha1"

	api "github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal"
)

// serversSyncTimeout bounds the wait for the first list of a metal API's Servers; a reconcile that hits it fails
// and is retried, while the watch keeps trying.
const serversSyncTimeout = time.Minute

// Cache hands out metal API clients and keeps what is expensive to build per metal API server: one REST mapper
// (so API discovery runs once per server, not per reconcile) and one watch of the cluster-scoped Servers (so a
// capacity count reads a cache, not a cluster-wide list per shoot). Clients are kept per owner (a shoot) and
// rebuilt when the owner's credentials change, so a rotated token takes effect at the next use.
//
// The shared requests (discovery, the Server watch) carry the most recent token that was confirmed to allow them
// (see Confirm): every shoot's credentials must allow reading Servers, and the token is taken at request time, so
// the shared requests survive the rotation or revocation of any single shoot's token once another reconcile has
// confirmed a newer one.
//
// A Cache is a manager.Runnable: it starts Server watches only while the manager runs.
type Cache struct {
	// WrapTransport, when set, wraps the transport of every request to a metal API (tests count requests).
	WrapTransport func(http.RoundTripper) http.RoundTripper

	mu      sync.Mutex
	ctx     context.Context
	servers map[string]*apiServer
	owners  map[string]*Client
}

// apiServer is what the Cache keeps per metal API server.
type apiServer struct {
	config     *rest.Config
	httpClient *http.Client
	mapper     meta.RESTMapper
	token      atomic.Pointer[string]
	// confirmed is set once a token was confirmed; until then the latest client's token is used, so that the
	// discovery a first permission review needs is authenticated.
	confirmed atomic.Bool

	serversOnce sync.Once
	servers     ctrlcache.Cache
	serversErr  error
}

// Client is a metal API client for one owner's credentials.
type Client struct {
	client.Client
	// Namespace is the owner's namespace in the metal API.
	Namespace string

	fingerprint string
	token       string
	server      *apiServer
	confirmed   atomic.Pointer[confirmation]
}

type confirmation struct {
	key      string
	findings []string
}

// NewCache returns an empty Cache.
func NewCache() *Cache {
	return &Cache{servers: map[string]*apiServer{}, owners: map[string]*Client{}}
}

// Start records the context that bounds the Server watches and blocks until it is done.
func (c *Cache) Start(ctx context.Context) error {
	c.mu.Lock()
	c.ctx = ctx
	c.mu.Unlock()
	<-ctx.Done()
	return nil
}

// Get returns the client of the owner for the region's metal API and the credentials: the cached one while the
// server, CA, namespace and token are unchanged, a new one (sharing the server's REST mapper) otherwise.
func (c *Cache) Get(owner string, region *api.RegionConfig, creds *Credentials) (*Client, error) {
	restConfig, err := RESTConfig(region, creds)
	if err != nil {
		return nil, err
	}
	fingerprint := fingerprintOf(restConfig.Host, string(restConfig.CAData), creds.Namespace, creds.Token)

	c.mu.Lock()
	defer c.mu.Unlock()
	if existing := c.owners[owner]; existing != nil && existing.fingerprint == fingerprint {
		return existing, nil
	}
	server, err := c.server(restConfig)
	if err != nil {
		return nil, err
	}
	if !server.confirmed.Load() {
		token := creds.Token
		server.token.Store(&token)
	}
	c.wrap(restConfig)
	cl, err := client.New(restConfig, client.Options{Scheme: Scheme, Mapper: server.mapper})
	if err != nil {
		return nil, fmt.Errorf("creating metal API client: %w", err)
	}
	result := &Client{Client: cl, Namespace: creds.Namespace, fingerprint: fingerprint, token: creds.Token, server: server}
	c.owners[owner] = result
	return result, nil
}

// Forget drops the owner's client, e.g. once its shoot is deleted. When the server's shared requests (discovery,
// the Server watch) ran with the owner's token, they move to the token of another confirmed client of that server:
// a deleted shoot's token is revoked soon, and the shared watch would then fail until some other shoot's
// credentials changed.
func (c *Cache) Forget(owner string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	forgotten := c.owners[owner]
	delete(c.owners, owner)
	if forgotten == nil {
		return
	}
	server := forgotten.server
	if current := server.token.Load(); current == nil || *current != forgotten.token {
		return
	}
	for _, other := range c.owners {
		if other.server == server && other.confirmed.Load() != nil {
			token := other.token
			server.token.Store(&token)
			return
		}
	}
	// No other confirmed client: the next client's token is used until one is confirmed.
	server.token.Store(nil)
	server.confirmed.Store(false)
}

// server returns the entry of the metal API server of the configuration, creating it on first use.
func (c *Cache) server(restConfig *rest.Config) (*apiServer, error) {
	key := fingerprintOf(restConfig.Host, string(restConfig.CAData))
	if s := c.servers[key]; s != nil {
		return s, nil
	}
	s := &apiServer{}
	s.config = &rest.Config{Host: restConfig.Host, TLSClientConfig: rest.TLSClientConfig{CAData: restConfig.CAData}}
	s.config.Wrap(s.authorize)
	c.wrap(s.config)
	httpClient, err := rest.HTTPClientFor(s.config)
	if err != nil {
		return nil, fmt.Errorf("creating the HTTP client of metal API %s: %w", restConfig.Host, err)
	}
	mapper, err := apiutil.NewDynamicRESTMapper(s.config, httpClient)
	if err != nil {
		return nil, fmt.Errorf("creating the REST mapper of metal API %s: %w", restConfig.Host, err)
	}
	s.httpClient, s.mapper = httpClient, mapper
	c.servers[key] = s
	return s, nil
}

func (c *Cache) wrap(restConfig *rest.Config) {
	if c.WrapTransport != nil {
		restConfig.Wrap(c.WrapTransport)
	}
}

// authorize adds the most recently confirmed token to the server's shared requests.
func (s *apiServer) authorize(rt http.RoundTripper) http.RoundTripper {
	return roundTripperFunc(func(req *http.Request) (*http.Response, error) {
		token := s.token.Load()
		if token == nil {
			return rt.RoundTrip(req)
		}
		req = req.Clone(req.Context())
		req.Header.Set("Authorization", "Bearer "+*token)
		return rt.RoundTrip(req)
	})
}

// Confirmed returns what Confirm recorded with this key for the client's credentials: the caller's check of the
// credentials (e.g. its permission review) passed with these findings and need not run again while the key is
// unchanged.
func (cl *Client) Confirmed(key string) ([]string, bool) {
	c := cl.confirmed.Load()
	if c == nil || c.key != key {
		return nil, false
	}
	return c.findings, true
}

// Confirm records that the credentials passed the caller's check named by key, with findings that did not fail
// it, and lets the server's shared requests use them.
func (cl *Client) Confirm(key string, findings []string) {
	cl.confirmed.Store(&confirmation{key: key, findings: findings})
	token := cl.token
	cl.server.token.Store(&token)
	cl.server.confirmed.Store(true)
}

// Servers returns a reader of the metal API's Servers from a watch shared by every client of the same server. The
// first call starts the watch and waits until it has synced, bounded by ctx. Call it only once the client's
// credentials are confirmed (Confirm): the watch runs with them.
func (c *Cache) Servers(ctx context.Context, cl *Client) (client.Reader, error) {
	c.mu.Lock()
	runCtx := c.ctx
	c.mu.Unlock()
	if runCtx == nil {
		return nil, errors.New("the metal API client cache is not started")
	}
	s := cl.server
	s.serversOnce.Do(func() {
		s.servers, s.serversErr = ctrlcache.New(s.config, ctrlcache.Options{
			HTTPClient:       s.httpClient,
			Scheme:           Scheme,
			Mapper:           s.mapper,
			ByObject:         map[client.Object]ctrlcache.ByObject{&metalv1alpha1.Server{}: {}},
			DefaultTransform: ctrlcache.TransformStripManagedFields(),
		})
		if s.serversErr != nil {
			return
		}
		go func() {
			// The watch ends with the manager; its errors are retried by the reflector and logged by client-go.
			_ = s.servers.Start(runCtx)
		}()
	})
	if s.serversErr != nil {
		return nil, fmt.Errorf("creating the Server cache of metal API %s: %w", s.config.Host, s.serversErr)
	}
	informer, err := s.servers.GetInformer(ctx, &metalv1alpha1.Server{})
	if err != nil {
		return nil, fmt.Errorf("watching Servers in metal API %s: %w", s.config.Host, err)
	}
	if informer.HasSynced() {
		return s.servers, nil
	}
	syncCtx, cancel := context.WithTimeout(ctx, serversSyncTimeout)
	defer cancel()
	if !s.servers.WaitForCacheSync(syncCtx) {
		return nil, fmt.Errorf("the Servers of metal API %s are not synced yet", s.config.Host)
	}
	return s.servers, nil
}

func fingerprintOf(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		// Length-prefixed, so that no two part lists collide.
		_, _ = fmt.Fprintf(h, "%d:%s;", len(p), p)
	}
	return hex.EncodeToString(h.Sum(nil))
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }
