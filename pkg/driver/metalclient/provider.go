// Package metalclient provides the client for the metal API from a kubeconfig file and rebuilds it when the
// mounted file changes (its credentials are rotated by replacing the secret behind the mount).
package metalclient

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Source hands out the current metal API client and the namespace the driver works in.
type Source interface {
	// Client returns the current client and namespace.
	Client() (client.Client, string)
}

// Static is a Source with a fixed client and namespace.
type Static struct {
	// C is the client for the metal API.
	C client.Client
	// Namespace is the metal namespace.
	Namespace string
}

// Client returns the fixed client and namespace.
func (s Static) Client() (client.Client, string) { return s.C, s.Namespace }

// FileSource is a Source built from a kubeconfig file; Watch rebuilds it when the file's content changes.
type FileSource struct {
	path   string
	scheme *runtime.Scheme
	wrap   func(*rest.Config)
	mu     sync.RWMutex
	client client.Client
	ns     string
	digest [sha256.Size]byte
}

// NewFileSource loads the kubeconfig at path. The namespace is the one of the kubeconfig's current context.
// wrap, if not nil, may adjust the rest.Config (rate limits, transport wrappers) before the client is built.
func NewFileSource(path string, scheme *runtime.Scheme, wrap func(*rest.Config)) (*FileSource, error) {
	s := &FileSource{path: path, scheme: scheme, wrap: wrap}
	if _, err := s.reload(); err != nil {
		return nil, err
	}
	return s, nil
}

// Client returns the client built from the latest readable kubeconfig.
func (s *FileSource) Client() (client.Client, string) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.client, s.ns
}

// Watch polls the file's content hash every interval until ctx ends and rebuilds the client when it changed.
// Polling the content (not fsnotify events) also catches the symlink swap of Kubernetes secret volumes.
// A kubeconfig that cannot be used keeps the previous client, so a half-written file never breaks the driver.
func (s *FileSource) Watch(ctx context.Context, interval time.Duration) {
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
			changed, err := s.reload()
			if err != nil {
				klog.ErrorS(err, "Keeping the previous metal API client", "kubeconfig", s.path)
			} else if changed {
				klog.InfoS("Rebuilt the metal API client from the changed kubeconfig", "kubeconfig", s.path)
			}
		}
	}
}

func (s *FileSource) reload() (bool, error) {
	data, err := os.ReadFile(s.path)
	if err != nil {
		return false, fmt.Errorf("cannot read metal kubeconfig %q: %w", s.path, err)
	}
	digest := sha256.Sum256(data)
	s.mu.RLock()
	unchanged := s.client != nil && digest == s.digest
	s.mu.RUnlock()
	if unchanged {
		return false, nil
	}
	c, ns, err := s.build(data)
	if err != nil {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.client, s.ns, s.digest = c, ns, digest
	return true, nil
}

func (s *FileSource) build(data []byte) (client.Client, string, error) {
	clientConfig, err := clientcmd.NewClientConfigFromBytes(data)
	if err != nil {
		return nil, "", fmt.Errorf("cannot parse metal kubeconfig %q: %w", s.path, err)
	}
	ns, overridden, err := clientConfig.Namespace()
	if err != nil {
		return nil, "", fmt.Errorf("cannot read the namespace of metal kubeconfig %q: %w", s.path, err)
	}
	raw, err := clientConfig.RawConfig()
	if err != nil {
		return nil, "", fmt.Errorf("cannot read metal kubeconfig %q: %w", s.path, err)
	}
	// clientcmd falls back to "default"; only an explicit namespace of the current context counts.
	if context := raw.Contexts[raw.CurrentContext]; !overridden && (context == nil || context.Namespace == "") {
		return nil, "", fmt.Errorf("the current context of metal kubeconfig %q names no namespace", s.path)
	}
	restConfig, err := clientConfig.ClientConfig()
	if err != nil {
		return nil, "", fmt.Errorf("cannot build a client config from metal kubeconfig %q: %w", s.path, err)
	}
	if s.wrap != nil {
		s.wrap(restConfig)
	}
	c, err := client.New(restConfig, client.Options{Scheme: s.scheme})
	if err != nil {
		return nil, "", fmt.Errorf("cannot create the metal API client: %w", err)
	}
	return c, ns, nil
}
