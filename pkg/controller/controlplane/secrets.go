package controlplane

import (
	"context"
	"fmt"
	"runtime"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"

	extensionscontroller "github.com/gardener/gardener/extensions/pkg/controller"
	extensionssecretsmanager "github.com/gardener/gardener/extensions/pkg/util/secret/manager"
	secretsmanager "github.com/gardener/gardener/pkg/utils/secrets/manager"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/metal"
)

// secretsManagerIdentity is the identity of the generic actuator's secrets manager (genericactuator.actuator's
// newSecretsManagerForControlPlane: the provider name and "-controlplane").
const secretsManagerIdentity = metal.Name + "-controlplane"

// cacheWaitTimeout bounds the wait for the manager's cache to show generated secrets.
const cacheWaitTimeout = 10 * time.Second

// secretsGenerator generates the ControlPlanes' secrets before the generic actuator does, a few ControlPlanes at a
// time. A new serving certificate costs a 3072-bit RSA key, about 0.3 CPU seconds; the generic actuator generates
// it in every concurrent reconcile at once, so that many new ControlPlanes took every CPU from the extension's
// other controllers (and, on a shared machine, from the API server they wait for) until all keys were done. With
// half the CPUs for key generation, the other reconciles keep the rest. The generic actuator then finds the secrets
// and generates nothing; it stays the one that cleans up.
type secretsGenerator struct {
	client client.Client
	slots  chan struct{}
}

func newSecretsGenerator(c client.Client) *secretsGenerator {
	return &secretsGenerator{client: c, slots: make(chan struct{}, max(1, runtime.GOMAXPROCS(0)/2))}
}

// generate generates the secrets with the generic actuator's secrets manager, identity and configs, and waits until
// the manager's cache shows them, so that the generic actuator's secrets manager, which reads the cache, does not
// generate them once more.
func (g *secretsGenerator) generate(ctx context.Context, log logr.Logger, cp client.Object, cluster *extensionscontroller.Cluster) error {
	select {
	case g.slots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-g.slots }()

	configs := secretConfigs(cp.GetNamespace())
	sm, err := extensionssecretsmanager.SecretsManagerForCluster(ctx, log.WithName("secretsmanager"), clock.RealClock{}, g.client, cluster, secretsManagerIdentity, configs)
	if err != nil {
		return fmt.Errorf("creating the secrets manager of the control plane: %w", err)
	}
	if _, err := extensionssecretsmanager.GenerateAllSecrets(ctx, sm, configs); err != nil {
		return fmt.Errorf("generating the secrets of the control plane: %w", err)
	}
	var generated []*corev1.Secret
	for _, config := range configs {
		for _, class := range []secretsmanager.GetOption{secretsmanager.Current, secretsmanager.Bundle} {
			if secret, ok := sm.Get(config.Config.GetName(), class); ok {
				generated = append(generated, secret)
			}
		}
	}
	return g.waitForCache(ctx, generated)
}

func (g *secretsGenerator) waitForCache(ctx context.Context, secrets []*corev1.Secret) error {
	for _, secret := range secrets {
		if err := wait.PollUntilContextTimeout(ctx, 10*time.Millisecond, cacheWaitTimeout, true, func(ctx context.Context) (bool, error) {
			err := g.client.Get(ctx, client.ObjectKeyFromObject(secret), &corev1.Secret{})
			return err == nil, client.IgnoreNotFound(err)
		}); err != nil {
			return fmt.Errorf("waiting for secret %s in the cache: %w", client.ObjectKeyFromObject(secret), err)
		}
	}
	return nil
}
