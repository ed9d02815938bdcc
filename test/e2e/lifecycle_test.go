package e2e_test

import (
	"io"
	"path/filepath"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gbytes"

	"github.com/openkcm/gardener-extension-provider-metal/test/landscape"
)

var _ = Describe("The local landscape", func() {
	It("brings the example shoot's machines up on bare metal and deletes the shoot without leftovers", func(ctx SpecContext) {
		out := gbytes.NewBuffer()
		err := landscape.Run(ctx, landscape.Options{
			Root:            filepath.Join("..", ".."),
			StateDir:        GinkgoT().TempDir(),
			Binaries:        binaries,
			MachinesPerZone: 2,
			Timeout:         3 * time.Minute,
			Out:             io.MultiWriter(out, GinkgoWriter),
		})
		Expect(err).NotTo(HaveOccurred())

		Expect(out).To(gbytes.Say(`metal-operator discovered 6 Servers in 2 zones`))
		Expect(out).To(gbytes.Say(`BIND serves zone landscape\.local\.`))
		Expect(out).To(gbytes.Say(`extension is ready`))
		Expect(out).To(gbytes.Say(`applied \d+ objects of example/landscape`))
		Expect(out).To(gbytes.Say(`machine-controller-manager and the metal driver run`))
		Expect(out).To(gbytes.Say(`controlplane=Succeeded dnsrecord=Succeeded infrastructure=Succeeded worker=Succeeded \| machines \[Running:4\] \| claims 4 \(bound 4, powered on 4\) \| nodes ready 4 \| dns 127\.0\.0\.1`))
		Expect(out).To(gbytes.Say(`shoot is up`))
		Expect(out).To(gbytes.Say(`summary: 4 machines`))
		for range 4 {
			Expect(out).To(gbytes.Say(`shoot--local--metal-worker-z[12]-\S+ +Running +server bmc-\d+-system-0 +node shoot--local--metal-worker-z`))
		}
		Expect(out).To(gbytes.Say(`shoot deleted`))
		Expect(out).To(gbytes.Say(`nothing left: no machines, ServerClaims, Secrets, IP claims, Nodes or DNS records; all 6 Servers Available`))
	}, NodeTimeout(15*time.Minute))
})
