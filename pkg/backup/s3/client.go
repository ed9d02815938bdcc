package s3

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

const (
	// DefaultRequestTimeout bounds each request's connect, TLS handshake and wait for the response headers.
	DefaultRequestTimeout = 30 * time.Second
	// DefaultMaxRetries is how often a request that failed for a retryable reason (network, throttling, 5xx) is
	// retried, with minio-go's exponential backoff with jitter in between.
	DefaultMaxRetries = 3
	// MaxBatchSize is the most keys one DeleteObjects request may carry (the S3 API's limit).
	MaxBatchSize = 1000
	// awsEndpoint is the endpoint when the secret names none.
	awsEndpoint = "s3.amazonaws.com"
)

// Options tune the client; zero values mean the defaults.
type Options struct {
	// RequestTimeout bounds each request's connect, TLS handshake and wait for the response headers.
	RequestTimeout time.Duration
	// MaxRetries is how often a failed request is retried.
	MaxRetries int
	// BatchSize is how many objects are listed and deleted per round, at most MaxBatchSize.
	BatchSize int
}

// Client talks to one S3-compatible store with one set of credentials.
type Client struct {
	client    *minio.Client
	region    string
	batchSize int
}

// NewClient returns a client for the store and credentials of cfg.
func NewClient(cfg Config, opts Options) (*Client, error) {
	if opts.RequestTimeout <= 0 {
		opts.RequestTimeout = DefaultRequestTimeout
	}
	if opts.MaxRetries <= 0 {
		opts.MaxRetries = DefaultMaxRetries
	}
	if opts.BatchSize <= 0 || opts.BatchSize > MaxBatchSize {
		opts.BatchSize = MaxBatchSize
	}

	host, secure := awsEndpoint, true
	if cfg.Endpoint != nil {
		host, secure = cfg.Endpoint.Host, cfg.Endpoint.Scheme == "https"
	}
	transport, err := newTransport(cfg, secure, opts.RequestTimeout)
	if err != nil {
		return nil, err
	}
	client, err := minio.New(host, &minio.Options{
		Creds:              credentials.NewStaticV4(cfg.AccessKeyID, cfg.SecretAccessKey, ""),
		Secure:             secure,
		Transport:          transport,
		Region:             cfg.Region,
		BucketLookupViaURL: bucketLookup(cfg.ForcePathStyle),
		MaxRetries:         opts.MaxRetries,
	})
	if err != nil {
		return nil, fmt.Errorf("%w: could not create the S3 client: %w", ErrConfiguration, err)
	}
	return &Client{client: client, region: cfg.Region, batchSize: opts.BatchSize}, nil
}

// newTransport returns the HTTP transport with the timeouts and the TLS settings of cfg. As etcd-backup-restore
// does (pkg/snapstore/s3_snapstore.go, awsCredentialsFromConfig), trusted CA certificates replace the system's
// and require TLS 1.3, so that a store this client accepts is one etcd-backup-restore accepts too.
func newTransport(cfg Config, secure bool, timeout time.Duration) (*http.Transport, error) {
	transport, err := minio.DefaultTransport(secure)
	if err != nil {
		return nil, fmt.Errorf("could not create the HTTP transport: %w", err)
	}
	transport.DialContext = (&net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}).DialContext
	transport.TLSHandshakeTimeout = timeout
	transport.ResponseHeaderTimeout = timeout
	if !secure {
		return transport, nil
	}
	switch {
	case len(cfg.TrustedCACert) > 0:
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(cfg.TrustedCACert) {
			return nil, fmt.Errorf("%w: trustedCaCert holds no PEM certificate", ErrConfiguration)
		}
		transport.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS13}
	case cfg.InsecureSkipVerify:
		transport.TLSClientConfig = &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12} // #nosec G402 -- the operator asked for it with insecureSkipVerify.
	}
	return transport, nil
}

// bucketLookup addresses buckets as the AWS SDK of etcd-backup-restore does: in the path when forced or when
// the endpoint is an IP address (the SDK's endpoint rules do the same), else in the host name.
func bucketLookup(forcePathStyle bool) func(url.URL, string) minio.BucketLookupType {
	return func(u url.URL, _ string) minio.BucketLookupType {
		if forcePathStyle || net.ParseIP(u.Hostname()) != nil {
			return minio.BucketLookupPath
		}
		return minio.BucketLookupDNS
	}
}

// EnsureBucket creates the bucket in the client's region unless the credentials own it already, and reports
// whether it created it. A bucket of that name owned by someone else is ErrBucketNotOwned: it is never adopted.
func (c *Client) EnsureBucket(ctx context.Context, bucket string) (bool, error) {
	err := c.client.MakeBucket(ctx, bucket, minio.MakeBucketOptions{Region: c.region})
	if err == nil {
		return true, nil
	}
	if minio.ToErrorResponse(err).Code == codeBucketAlreadyOwnedByYou {
		return false, nil
	}
	return false, classify("could not create bucket "+bucket, err)
}

// BucketExists reports whether the bucket exists (and the credentials may see it).
func (c *Client) BucketExists(ctx context.Context, bucket string) (bool, error) {
	exists, err := c.client.BucketExists(ctx, bucket)
	return exists, classify("could not check bucket "+bucket, err)
}

// DeleteBucket deletes every object of the bucket and then the bucket. A bucket that does not exist is no error.
// A bucket that belongs to someone else is left alone, it was never ours: then DeleteBucket reports false.
func (c *Client) DeleteBucket(ctx context.Context, bucket string, progress func(deleted int)) (bool, error) {
	// Creating the bucket is the one request that tells the bucket's owner; the new, empty bucket of a missing
	// one is deleted right away.
	if _, err := c.EnsureBucket(ctx, bucket); err != nil {
		if errors.Is(err, ErrBucketNotOwned) {
			return false, nil
		}
		return false, err
	}
	if _, err := c.DeleteObjects(ctx, bucket, "", progress); err != nil {
		return true, err
	}
	err := c.client.RemoveBucket(ctx, bucket)
	if err != nil && minio.ToErrorResponse(err).Code != codeNoSuchBucket {
		return true, classify("could not delete bucket "+bucket, err)
	}
	return true, nil
}

// DeleteObjects deletes every object under prefix (every version of it in a versioned bucket), batch by batch:
// each round lists the first batch of what is left and deletes it in one request. Since each round starts from
// what the store still holds, a deletion interrupted at any point (a crash, a timeout) continues where it
// stopped when called again. progress, if not nil, is called with the running total after each batch. A bucket
// that does not exist holds nothing to delete.
func (c *Client) DeleteObjects(ctx context.Context, bucket, prefix string, progress func(deleted int)) (int, error) {
	versioning, err := c.client.GetBucketVersioning(ctx, bucket)
	if err != nil {
		if minio.ToErrorResponse(err).Code == codeNoSuchBucket {
			return 0, nil
		}
		return 0, classify("could not read the versioning of bucket "+bucket, err)
	}
	// A bucket that keeps versions needs each version deleted: deleting by key alone only adds delete markers.
	withVersions := versioning.Enabled() || versioning.Suspended()

	deleted := 0
	for {
		batch, err := c.listBatch(ctx, bucket, prefix, withVersions)
		if err != nil {
			if minio.ToErrorResponse(err).Code == codeNoSuchBucket {
				return deleted, nil
			}
			return deleted, classify("could not list the objects of bucket "+bucket, err)
		}
		if len(batch) == 0 {
			return deleted, nil
		}
		if err := c.deleteBatch(ctx, bucket, batch); err != nil {
			return deleted, err
		}
		deleted += len(batch)
		if progress != nil {
			progress(deleted)
		}
	}
}

// listBatch lists up to one batch of the objects (or object versions) under prefix; errors are minio-go's.
func (c *Client) listBatch(ctx context.Context, bucket, prefix string, withVersions bool) ([]minio.ObjectInfo, error) {
	// Cancelling stops minio-go's listing goroutine once the batch is full.
	listCtx, cancel := context.WithCancel(ctx)
	defer cancel()

	batch := make([]minio.ObjectInfo, 0, c.batchSize)
	for object := range c.client.ListObjects(listCtx, bucket, minio.ListObjectsOptions{
		Prefix:       prefix,
		Recursive:    true,
		WithVersions: withVersions,
		MaxKeys:      c.batchSize,
	}) {
		if object.Err != nil {
			return nil, object.Err
		}
		batch = append(batch, object)
		if len(batch) == c.batchSize {
			break
		}
	}
	return batch, nil
}

// deleteBatch deletes the objects in one DeleteObjects request and fails if any of them was not deleted.
func (c *Client) deleteBatch(ctx context.Context, bucket string, batch []minio.ObjectInfo) error {
	objects := make(chan minio.ObjectInfo, len(batch))
	for _, object := range batch {
		objects <- object
	}
	close(objects)

	failed, first := 0, minio.RemoveObjectError{}
	for result := range c.client.RemoveObjects(ctx, bucket, objects, minio.RemoveObjectsOptions{}) {
		if result.Err != nil && minio.ToErrorResponse(result.Err).Code != codeNoSuchKey {
			if failed == 0 {
				first = result
			}
			failed++
		}
	}
	if failed > 0 {
		// The first failure stands for all: they share the request and, nearly always, the cause.
		return classify(fmt.Sprintf("could not delete %d of %d objects of bucket %s, the first %s", failed, len(batch), bucket, first.ObjectName), first.Err)
	}
	return nil
}
