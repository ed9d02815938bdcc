package charts_test

import (
	"fmt"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	vpaautoscalingv1 "k8s.io/autoscaler/vertical-pod-autoscaler/pkg/apis/autoscaling.k8s.io/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/apis/config/loader"
)

var renderers = map[string]renderer{"Helm v3": renderHelmV3, "Gardener's chart renderer": renderGardener}

// fullProviderValues sets every value of the provider chart to something other than its default.
var fullProviderValues = map[string]any{
	"image":             "registry.example.com/gardener-extension-provider-metal:v9.9.9",
	"imagePullPolicy":   "Always",
	"replicaCount":      3,
	"podLabels":         map[string]any{"team": "metal"},
	"priorityClassName": "gardener-system-900",
	"logLevel":          "debug",
	"logFormat":         "text",
	"resources": map[string]any{
		"requests": map[string]any{"cpu": "50m", "memory": "128Mi"},
		"limits":   map[string]any{"memory": "1Gi"},
	},
	"vpa": map[string]any{
		"enabled": true,
		"resourcePolicy": map[string]any{
			"minAllowed": map[string]any{"memory": "128Mi"},
			"maxAllowed": map[string]any{"cpu": "2", "memory": "4Gi"},
		},
		"updatePolicy": map[string]any{"updateMode": "Recreate"},
	},
	"controllers": map[string]any{
		"infrastructure":            map[string]any{"concurrentSyncs": 7},
		"controlplane":              map[string]any{"concurrentSyncs": 8},
		"worker":                    map[string]any{"concurrentSyncs": 9},
		"dnsrecord":                 map[string]any{"concurrentSyncs": 2},
		"healthcheck":               map[string]any{"concurrentSyncs": 3},
		"heartbeat":                 map[string]any{"renewIntervalSeconds": 15},
		"ignoreOperationAnnotation": true,
	},
	"disableControllers": []any{"dnsrecord"},
	"disableWebhooks":    []any{"cloudprovider"},
	"extensionClasses":   []any{"shoot", "seed"},
	"config": map[string]any{
		"clientConnection":  map[string]any{"qps": 50, "burst": 60},
		"healthCheckConfig": map[string]any{"syncPeriod": "1m"},
		"dns":               map[string]any{"timeout": "5s"},
	},
	"imageVectorOverwrite": map[string]any{"images": []any{map[string]any{
		"name": "cloud-controller-manager", "repository": "registry.example.com/ccm", "tag": "v1.2.3",
	}}},
	"webhookConfig": map[string]any{"servicePort": 8443, "serverPort": 9443},
	"metricsPort":   9080,
	"healthPort":    9081,
	"metrics":       map[string]any{"enableScraping": false},
	"gardener":      map[string]any{"version": "v1.150.0"},
}

var fullRuntimeValues = map[string]any{
	"gardener": map[string]any{
		"runtimeCluster": map[string]any{"priorityClassName": "gardener-garden-system-400"},
		"virtualCluster": map[string]any{"enabled": true, "namespace": "extension-provider-metal"},
	},
	"image":           "registry.example.com/gardener-extension-admission-metal:v9.9.9",
	"imagePullPolicy": "Always",
	"replicaCount":    3,
	"podLabels":       map[string]any{"team": "metal"},
	"resources":       map[string]any{"requests": map[string]any{"cpu": "10m", "memory": "32Mi"}},
	"healthPort":      9081,
	"metricsPort":     9080,
	"logLevel":        "debug",
	"logFormat":       "text",
	"vpa": map[string]any{
		"enabled":        true,
		"resourcePolicy": map[string]any{"minAllowed": map[string]any{"memory": "32Mi"}, "maxAllowed": map[string]any{"memory": "1Gi"}},
		"updatePolicy":   map[string]any{"updateMode": "Recreate"},
	},
	"webhookConfig":   map[string]any{"mode": "url", "url": "admission.example.com:8443", "servicePort": 8443, "serverPort": 9443},
	"disableWebhooks": []any{"mutator"},
}

var fullApplicationValues = map[string]any{
	"gardener": map[string]any{"virtualCluster": map[string]any{
		"serviceAccount": map[string]any{"name": "extension-admission-provider-metal", "namespace": "kube-system"},
	}},
	"webhookConfig": map[string]any{
		"enabled": true, "mode": "url", "url": "admission.example.com:8443", "serviceNamespace": "garden", "servicePort": 8443,
		"caBundle": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
	},
}

var _ = Describe("Deployment charts", func() {
	for rendererName, render := range renderers {
		Context("rendered with "+rendererName, func() {
			Describe("gardener-extension-provider-metal", func() {
				It("renders with default values into valid objects that run restricted", func(ctx SpecContext) {
					ns := restrictedNamespace(ctx)
					objects := mustRender(render, providerChart, ns, nil)
					applyDryRun(ctx, objects)
					expectRestrictedPods(ctx, ns, objects)

					Expect(kinds(objects)).To(ConsistOf(
						"ConfigMap", "Deployment", "Service", "ServiceAccount", "VerticalPodAutoscaler",
						"ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding",
					), "no PodDisruptionBudget for a single replica, no imagevector overwrite by default")

					deployment := only[*appsv1.Deployment](objects)
					container := deployment.Spec.Template.Spec.Containers[0]
					Expect(deployment.Spec.Template.Spec.PriorityClassName).To(Equal("gardener-system-900"))
					Expect(container.Args).To(ContainElements(
						"--leader-election=true",
						"--leader-election-id=provider-metal-leader-election",
						"--webhook-config-mode=service",
						"--webhook-config-namespace="+ns,
						"--webhook-config-service-port=443",
						"--webhook-config-server-port=10250",
						"--metrics-bind-address=:8080",
						"--health-bind-address=:8081",
						"--infrastructure-max-concurrent-reconciles=20",
						"--controlplane-max-concurrent-reconciles=10",
						"--worker-max-concurrent-reconciles=50",
						"--dnsrecord-max-concurrent-reconciles=1",
						"--heartbeat-namespace="+ns,
					))
					Expect(container.Args).NotTo(ContainElement(HavePrefix("--disable-")))

					By("the component configuration is the one the binary loads strictly, equal to the example")
					config := only[*corev1.ConfigMap](objects)
					loaded, err := loader.Load([]byte(config.Data["config.yaml"]))
					Expect(err).NotTo(HaveOccurred())
					example, err := loader.LoadFromFile(repoRoot + "/example/component-config.yaml")
					Expect(err).NotTo(HaveOccurred())
					Expect(loaded).To(Equal(example))

					By("the webhook Service carries the name the extension registers its webhooks with")
					service := only[*corev1.Service](objects)
					Expect(service.Name).To(Equal("gardener-extension-provider-metal"))
					Expect(service.Spec.Selector).To(Equal(deployment.Spec.Selector.MatchLabels))
					// Behind Gardener's deny-all, the seed's kube-apiservers reach the webhook server only with this.
					Expect(service.Annotations).To(HaveKeyWithValue("networking.resources.gardener.cloud/from-world-to-ports", `[{"protocol":"TCP","port":10250}]`))
				})

				It("renders with every value set", func(ctx SpecContext) {
					ns := restrictedNamespace(ctx)
					objects := mustRender(render, providerChart, ns, fullProviderValues)
					applyDryRun(ctx, objects)
					expectRestrictedPods(ctx, ns, objects)

					deployment := only[*appsv1.Deployment](objects)
					container := deployment.Spec.Template.Spec.Containers[0]
					Expect(*deployment.Spec.Replicas).To(Equal(int32(3)))
					Expect(container.Image).To(Equal("registry.example.com/gardener-extension-provider-metal:v9.9.9"))
					Expect(container.Args).To(ContainElements(
						"--infrastructure-max-concurrent-reconciles=7",
						"--controlplane-max-concurrent-reconciles=8",
						"--worker-max-concurrent-reconciles=9",
						"--dnsrecord-max-concurrent-reconciles=2",
						"--healthcheck-max-concurrent-reconciles=3",
						"--heartbeat-renew-interval-seconds=15",
						"--ignore-operation-annotation=true",
						"--disable-controllers=dnsrecord",
						"--disable-webhooks=cloudprovider",
						"--extension-classes=shoot,seed",
						"--webhook-config-service-port=8443",
						"--webhook-config-server-port=9443",
						"--metrics-bind-address=:9080",
						"--health-bind-address=:9081",
						"--gardener-version=v1.150.0",
						"--log-level=debug",
						"--log-format=text",
					))
					Expect(container.Env).To(ContainElement(corev1.EnvVar{Name: "IMAGEVECTOR_OVERWRITE", Value: "/imagevector-overwrite/images_overwrite.yaml"}))
					Expect(deployment.Spec.Template.Labels).To(HaveKeyWithValue("team", "metal"))
					Expect(deployment.Spec.Template.Annotations).NotTo(HaveKey("prometheus.io/scrape"))
					Expect(deployment.Spec.Template.Annotations).To(HaveKey("checksum/configmap-imagevector-overwrite"))

					pdb := only[*policyv1.PodDisruptionBudget](objects)
					Expect(pdb.Spec.Selector.MatchLabels).To(Equal(deployment.Spec.Selector.MatchLabels))
					vpa := only[*vpaautoscalingv1.VerticalPodAutoscaler](objects)
					Expect(vpa.Spec.ResourcePolicy.ContainerPolicies[0].MaxAllowed.Memory().String()).To(Equal("4Gi"))

					configMaps := objectsOf[*corev1.ConfigMap](objects)
					Expect(configMaps).To(HaveLen(2))
					for _, cm := range configMaps {
						if cm.Name == "gardener-extension-provider-metal-configmap" {
							cfg, err := loader.Load([]byte(cm.Data["config.yaml"]))
							Expect(err).NotTo(HaveOccurred())
							Expect(cfg.DNS.Timeout.Duration.String()).To(Equal("5s"))
						} else {
							Expect(cm.Data).To(HaveKey("images_overwrite.yaml"))
						}
					}
				})

				It("runs for the garden's DNSRecords only in a runtime namespace of gardener-operator", func(ctx SpecContext) {
					ns := restrictedNamespace(ctx)
					objects := mustRender(render, providerChart, "runtime-extension-provider-metal", map[string]any{
						"gardener": map[string]any{"runtimeCluster": map[string]any{"enabled": "true", "priorityClassName": "gardener-garden-system-400"}},
					})
					deployment := only[*appsv1.Deployment](objects)
					// The extension suffixes its webhook names with -runtime in such a namespace; the Service must match.
					Expect(only[*corev1.Service](objects).Name).To(Equal("gardener-extension-provider-metal-runtime"))
					Expect(deployment.Spec.Template.Spec.PriorityClassName).To(Equal("gardener-garden-system-400"))
					Expect(deployment.Spec.Template.Spec.Containers[0].Args).To(ContainElements(
						"--controllers=dnsrecord", "--disable-webhooks=controlplane,cloudprovider", "--extension-classes=garden",
					))
					for _, obj := range objects {
						if obj.GetNamespace() != "" {
							obj.SetNamespace(ns)
						}
					}
					applyDryRun(ctx, objects)
					expectRestrictedPods(ctx, ns, objects)
				})

				It("grants no wildcard, no escalation and nothing outside its namespace beyond the ClusterRole", func() {
					objects := mustRender(render, providerChart, "extension-provider-metal", nil)
					for _, rules := range [][]rbacv1.PolicyRule{only[*rbacv1.ClusterRole](objects).Rules, only[*rbacv1.Role](objects).Rules} {
						for _, rule := range rules {
							Expect(rule.Verbs).NotTo(ContainElements("*", "escalate", "bind", "impersonate"))
							Expect(rule.Resources).NotTo(ContainElement("*"))
							Expect(rule.APIGroups).NotTo(ContainElement("*"))
						}
					}
					Expect(only[*rbacv1.ClusterRoleBinding](objects).RoleRef.Name).NotTo(Equal("cluster-admin"))
				})
			})

			Describe("gardener-extension-admission-metal", func() {
				It("renders the runtime chart with default values into valid objects that run restricted", func(ctx SpecContext) {
					ns := restrictedNamespace(ctx)
					objects := mustRender(render, admissionRuntime, ns, nil)
					applyDryRun(ctx, objects)
					expectRestrictedPods(ctx, ns, objects)
					Expect(kinds(objects)).To(ConsistOf(
						"Deployment", "Service", "ServiceAccount", "VerticalPodAutoscaler", "PodDisruptionBudget", "Role", "RoleBinding",
					))
					container := only[*appsv1.Deployment](objects).Spec.Template.Spec.Containers[0]
					Expect(container.Args).To(ContainElements("--webhook-config-mode=service", "--webhook-config-namespace="+ns))
					Expect(container.Args).NotTo(ContainElement(HavePrefix("--webhook-config-url")))
					Expect(only[*corev1.Service](objects).Name).To(Equal("gardener-extension-admission-metal"))
				})

				// gardener-operator passes only these values (pkg/operator/controller/extension/extension/admission); the
				// virtual garden's kube-apiserver cannot resolve a Service of the runtime cluster, so both charts must
				// default to URL mode.
				It("defaults to URL mode with the values gardener-operator injects", func(ctx SpecContext) {
					ns := restrictedNamespace(ctx)
					objects := mustRender(render, admissionRuntime, ns, map[string]any{"gardener": map[string]any{
						"runtimeCluster": map[string]any{"priorityClassName": "gardener-garden-system-400"},
						"virtualCluster": map[string]any{"enabled": true, "namespace": "extension-provider-metal"},
					}})
					applyDryRun(ctx, objects)
					Expect(only[*appsv1.Deployment](objects).Spec.Template.Spec.Containers[0].Args).To(ContainElements(
						"--webhook-config-mode=url", "--webhook-config-url=gardener-extension-admission-metal."+ns,
						"--webhook-config-owner-namespace=extension-provider-metal",
					))

					application := mustRender(render, admissionApplication, "extension-provider-metal", map[string]any{"gardener": map[string]any{"virtualCluster": map[string]any{
						"enabled": true, "serviceAccount": map[string]any{"name": "extension-admission-provider-metal", "namespace": "kube-system"},
					}}})
					var clientConfigs []admissionregistrationv1.WebhookClientConfig
					for _, configuration := range objectsOf[*admissionregistrationv1.ValidatingWebhookConfiguration](application) {
						for _, webhook := range configuration.Webhooks {
							clientConfigs = append(clientConfigs, webhook.ClientConfig)
						}
					}
					for _, configuration := range objectsOf[*admissionregistrationv1.MutatingWebhookConfiguration](application) {
						for _, webhook := range configuration.Webhooks {
							clientConfigs = append(clientConfigs, webhook.ClientConfig)
						}
					}
					Expect(clientConfigs).NotTo(BeEmpty())
					for _, clientConfig := range clientConfigs {
						Expect(clientConfig.Service).To(BeNil())
						Expect(*clientConfig.URL).To(HavePrefix("https://gardener-extension-admission-metal.garden/"))
					}
				})

				It("renders the runtime chart with every value set (URL mode for a virtual garden)", func(ctx SpecContext) {
					ns := restrictedNamespace(ctx)
					objects := mustRender(render, admissionRuntime, ns, fullRuntimeValues)
					applyDryRun(ctx, objects)
					expectRestrictedPods(ctx, ns, objects)
					deployment := only[*appsv1.Deployment](objects)
					Expect(deployment.Spec.Template.Labels).To(HaveKeyWithValue("networking.resources.gardener.cloud/to-virtual-garden-kube-apiserver-tcp-443", "allowed"))
					Expect(deployment.Spec.Template.Spec.Containers[0].Args).To(ContainElements(
						"--webhook-config-mode=url",
						"--webhook-config-url=admission.example.com:8443",
						"--webhook-config-owner-namespace=extension-provider-metal",
						"--webhook-config-service-port=8443",
						"--webhook-config-server-port=9443",
						"--disable-webhooks=mutator",
						"--health-bind-address=:9081",
					))
				})

				It("rejects an unknown webhook mode", func() {
					_, err := render(admissionRuntime, "garden", map[string]any{"webhookConfig": map[string]any{"mode": "ingress"}})
					Expect(err).To(MatchError(ContainSubstring("webhookConfig.mode must be service or url")))
				})

				DescribeTable("renders the application chart into valid objects",
					func(ctx SpecContext, values map[string]any, webhookConfigurations int) {
						objects := mustRender(render, admissionApplication, "extension-provider-metal", values)
						applyDryRun(ctx, objects)
						Expect(objectsOf[*admissionregistrationv1.ValidatingWebhookConfiguration](objects)).To(HaveLen(webhookConfigurations))
						Expect(objectsOf[*admissionregistrationv1.MutatingWebhookConfiguration](objects)).To(HaveLen(webhookConfigurations))
						Expect(objectsOf[*rbacv1.ClusterRole](objects)).To(HaveLen(1))
					},
					Entry("default values (service mode)", nil, 1),
					Entry("every value set (URL mode, CA bundle)", fullApplicationValues, 1),
					Entry("without webhook configurations", map[string]any{"webhookConfig": map[string]any{"enabled": false}}, 0),
				)
			})
		})
	}
})

// restrictedNamespace creates a namespace that enforces the restricted Pod Security Standard.
func restrictedNamespace(ctx SpecContext) string {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		Name:   "charts-" + rand.String(6),
		Labels: map[string]string{"pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/enforce-version": "latest"},
	}}
	Expect(testClient.Create(ctx, ns)).To(Succeed())
	return ns.Name
}

// applyDryRun creates every object with a server-side dry run: the API server validates it against its schema
// (built-in kinds and the VPA CRD) and runs admission.
func applyDryRun(ctx SpecContext, objects []client.Object) {
	ExpectWithOffset(1, objects).NotTo(BeEmpty())
	for _, obj := range objects {
		ExpectWithOffset(1, testClient.Create(ctx, obj.DeepCopyObject().(client.Object), client.DryRunAll)).To(Succeed(), fmt.Sprintf("%T %s", obj, obj.GetName()))
	}
}

// expectRestrictedPods creates the pods of every Deployment with a server-side dry run in a namespace that enforces
// the restricted Pod Security Standard, which rejects root, privilege escalation, capabilities and seccomp
// profiles other than RuntimeDefault; the root filesystem must be read-only in addition.
func expectRestrictedPods(ctx SpecContext, namespace string, objects []client.Object) {
	deployments := objectsOf[*appsv1.Deployment](objects)
	ExpectWithOffset(1, deployments).NotTo(BeEmpty())
	for _, deployment := range deployments {
		template := deployment.Spec.Template
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: deployment.Name, Labels: template.Labels}, Spec: template.Spec}
		ExpectWithOffset(1, testClient.Create(ctx, pod, client.DryRunAll)).To(Succeed())
		ExpectWithOffset(1, template.Spec.SecurityContext.RunAsNonRoot).To(HaveValue(BeTrue()))
		for _, container := range template.Spec.Containers {
			ExpectWithOffset(1, container.SecurityContext.ReadOnlyRootFilesystem).To(HaveValue(BeTrue()), container.Name)
			ExpectWithOffset(1, container.SecurityContext.Capabilities.Drop).To(ConsistOf(corev1.Capability("ALL")))
			ExpectWithOffset(1, container.LivenessProbe).NotTo(BeNil())
			ExpectWithOffset(1, container.ReadinessProbe).NotTo(BeNil())
		}
	}
}

func kinds(objects []client.Object) []string {
	var out []string
	for _, obj := range objects {
		gvks, _, err := scheme.ObjectKinds(obj)
		Expect(err).NotTo(HaveOccurred())
		out = append(out, gvks[0].Kind)
	}
	return out
}
