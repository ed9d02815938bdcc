package client_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	api "github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal"
	metalclient "github.com/openkcm/gardener-extension-provider-metal/pkg/metal/client"
)

var _ = Describe("Cache", func() {
	region := &api.RegionConfig{Name: "r", Server: "https://metal.example.com"}

	It("keeps the client while the credentials are unchanged and builds a new one when the token rotates", func() {
		cache := metalclient.NewCache()
		first, err := cache.Get("shoot--a", region, &metalclient.Credentials{Namespace: "a", Token: "t1"})
		Expect(err).NotTo(HaveOccurred())
		again, err := cache.Get("shoot--a", region, &metalclient.Credentials{Namespace: "a", Token: "t1"})
		Expect(err).NotTo(HaveOccurred())
		Expect(again).To(BeIdenticalTo(first))

		rotated, err := cache.Get("shoot--a", region, &metalclient.Credentials{Namespace: "a", Token: "t2"})
		Expect(err).NotTo(HaveOccurred())
		Expect(rotated).NotTo(BeIdenticalTo(first))
		Expect(rotated.RESTMapper()).To(BeIdenticalTo(first.RESTMapper()), "one REST mapper (discovery) per metal API server")

		other, err := cache.Get("shoot--b", &api.RegionConfig{Name: "r2", Server: "https://other.example.com"}, &metalclient.Credentials{Namespace: "b", Token: "t1"})
		Expect(err).NotTo(HaveOccurred())
		Expect(other.RESTMapper()).NotTo(BeIdenticalTo(first.RESTMapper()))
	})

	It("forgets a confirmation when the credentials change", func() {
		cache := metalclient.NewCache()
		cl, err := cache.Get("shoot--a", region, &metalclient.Credentials{Namespace: "a", Token: "t1"})
		Expect(err).NotTo(HaveOccurred())
		_, ok := cl.Confirmed("perms")
		Expect(ok).To(BeFalse())
		cl.Confirm("perms", []string{"create servermaintenances"})
		findings, ok := cl.Confirmed("perms")
		Expect(ok).To(BeTrue())
		Expect(findings).To(ConsistOf("create servermaintenances"))
		_, ok = cl.Confirmed("other permission set")
		Expect(ok).To(BeFalse())

		rotated, err := cache.Get("shoot--a", region, &metalclient.Credentials{Namespace: "a", Token: "t2"})
		Expect(err).NotTo(HaveOccurred())
		_, ok = rotated.Confirmed("perms")
		Expect(ok).To(BeFalse())
	})

	It("moves the shared requests to another confirmed client's token when the client using its token is forgotten", func() {
		cache := metalclient.NewCache()
		a, err := cache.Get("shoot--a", region, &metalclient.Credentials{Namespace: "a", Token: "ta"})
		Expect(err).NotTo(HaveOccurred())
		b, err := cache.Get("shoot--b", region, &metalclient.Credentials{Namespace: "b", Token: "tb"})
		Expect(err).NotTo(HaveOccurred())
		b.Confirm("perms", nil)
		a.Confirm("perms", nil)
		Expect(metalclient.SharedToken(a)).To(Equal("ta"))

		By("forgetting a client whose token is not in use changes nothing")
		c, err := cache.Get("shoot--c", region, &metalclient.Credentials{Namespace: "c", Token: "tc"})
		Expect(err).NotTo(HaveOccurred())
		cache.Forget("shoot--c")
		Expect(metalclient.SharedToken(c)).To(Equal("ta"))

		By("forgetting the client whose token is in use hands over to the other confirmed one")
		cache.Forget("shoot--a")
		Expect(metalclient.SharedToken(b)).To(Equal("tb"))

		By("with no confirmed client left, the next client's token is used")
		cache.Forget("shoot--b")
		d, err := cache.Get("shoot--d", region, &metalclient.Credentials{Namespace: "d", Token: "td"})
		Expect(err).NotTo(HaveOccurred())
		Expect(metalclient.SharedToken(d)).To(Equal("td"))
	})
})
