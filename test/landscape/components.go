package landscape

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/metal"
)

// serviceAccountToken requests a token of the ServiceAccount, as an operator hands one to a shoot owner.
func serviceAccountToken(ctx context.Context, c client.Client, namespace, name string) (string, error) {
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name}}
	request := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](24 * 3600)}}
	if err := c.SubResource("token").Create(ctx, sa, request); err != nil {
		return "", fmt.Errorf("requesting a token of ServiceAccount %s/%s in the metal API: %w", namespace, name, err)
	}
	return request.Status.Token, nil
}

// startDNS starts BIND when it is installed; without it the landscape says that DNS is skipped.
func (l *landscape) startDNS(ctx context.Context) error {
	named := namedBinary()
	if named == "" {
		l.step("BIND (named) is not installed: DNS is skipped (apt-get install bind9 to include it)")
		return nil
	}
	b, err := startBIND(ctx, named, l.opts.StateDir)
	if err != nil {
		return err
	}
	l.addProc(b.process)
	l.bind = b
	l.vars["DNS_SERVER"] = b.addr
	l.vars["DNS_ZONE"] = dnsZone
	l.vars["DNS_TSIG_KEY_NAME"] = dnsKeyName
	l.vars["DNS_TSIG_SECRET"] = b.secret
	l.step("BIND serves zone " + dnsZone + " on " + b.addr)
	return nil
}

// startExtension runs gardener-extension-provider-metal against the seed with all controllers and webhooks; the
// seed's kube-apiserver reaches the webhook server on loopback.
func (l *landscape) startExtension(ctx context.Context) error {
	healthPort, err := freePort()
	if err != nil {
		return err
	}
	webhookPort, err := freePort()
	if err != nil {
		return err
	}
	p, err := startProcess(l.opts.StateDir, "extension", l.opts.Binaries.Extension,
		"--kubeconfig="+l.path("seed.kubeconfig"),
		"--config-file="+filepath.Join(l.opts.Root, "example", "component-config.yaml"),
		"--leader-election=false",
		"--heartbeat-namespace=default",
		"--metrics-bind-address=127.0.0.1:0",
		"--health-bind-address=127.0.0.1:"+strconv.Itoa(healthPort),
		"--webhook-config-mode=url",
		"--webhook-config-url=127.0.0.1:"+strconv.Itoa(webhookPort),
		"--webhook-config-server-host=127.0.0.1",
		"--webhook-config-server-port="+strconv.Itoa(webhookPort),
		"--webhook-config-cert-dir="+l.path("webhook-certs"),
		// gardenlet sets the operation annotation; reconciling only then is the contract the landscape follows too.
		"--ignore-operation-annotation=false",
	)
	if err != nil {
		return err
	}
	l.addProc(p)
	if err := waitHTTP(ctx, fmt.Sprintf("http://127.0.0.1:%d/readyz", healthPort), p); err != nil {
		return err
	}
	if err := l.waitSeedWebhooks(ctx); err != nil {
		return err
	}
	l.step("extension is ready and its webhooks are registered in the seed (log: " + p.logPath + ")")
	return nil
}

// waitSeedWebhooks waits until the extension registered its seed webhooks, which it does after it started; objects
// created before would miss the cloudprovider webhook.
func (l *landscape) waitSeedWebhooks(ctx context.Context) error {
	deadline := time.Now().Add(time.Minute)
	for {
		configs := &admissionregistrationv1.MutatingWebhookConfigurationList{}
		if err := l.seed.List(ctx, configs); err != nil {
			return err
		}
		for _, config := range configs.Items {
			for _, webhook := range config.Webhooks {
				if strings.HasPrefix(webhook.Name, "cloudprovider.") {
					return nil
				}
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the extension did not register its seed webhooks; log: %s", l.path("extension.log"))
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// applyShoot applies example/landscape (DNS only with BIND) and waits for the cloudprovider webhook to add the
// metal API kubeconfig to the credentials, which the driver then uses.
func (l *landscape) applyShoot(ctx context.Context) error {
	files, err := manifestFiles(filepath.Join(l.opts.Root, "example", "landscape"))
	if err != nil {
		return err
	}
	if l.bind == nil {
		files = slicesDeleteSuffix(files, "60-dnsrecord.yaml")
	}
	created, err := applyFiles(ctx, l.seed, files, l.vars)
	if err != nil {
		return err
	}
	l.step(fmt.Sprintf("applied %d objects of example/landscape to the seed", len(created)))

	secret := &corev1.Secret{}
	deadline := time.Now().Add(time.Minute)
	for {
		if err := l.seed.Get(ctx, client.ObjectKey{Namespace: seedNamespace, Name: "cloudprovider"}, secret); err != nil {
			return err
		}
		if kubeconfig := secret.Data[metal.KubeconfigKey]; len(kubeconfig) > 0 {
			return os.WriteFile(l.path("metal-shoot.kubeconfig"), kubeconfig, 0o600)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the cloudprovider webhook did not add the metal kubeconfig to secret %s/cloudprovider; extension log: %s", seedNamespace, l.path("extension.log"))
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func slicesDeleteSuffix(files []string, suffix string) []string {
	var result []string
	for _, f := range files {
		if filepath.Base(f) != suffix {
			result = append(result, f)
		}
	}
	return result
}
