package backup_test

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/backup/s3"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/controller/backupentry"
	"github.com/openkcm/gardener-extension-provider-metal/test/utils/seaweedfs"
)

// BenchmarkDeleteEntry measures how fast the BackupEntry deletion empties a large entry on SeaweedFS: the objects
// are uploaded outside the timer, then DeleteObjects removes them in batches of 1000 (the controller's default).
// It reports objects-deleted/s.
func BenchmarkDeleteEntry(b *testing.B) {
	const objects = 5000
	g := NewGomegaWithT(b)
	store = seaweedfs.Start(g, b.Cleanup)
	admin = newMinioClientWith(g, store.HTTPEndpoint, seaweedfs.GardenerIdentity)
	c := newS3ClientWith(g, secretData(nil), s3.Options{})

	bucket := uniqueName("bench")
	g.Expect(c.EnsureBucket(ctx, bucket)).To(BeTrue())
	prefix := backupentry.Prefix("shoot--dev--bench--0c4f0b4e-9d0e-4a4e-8f5a-3c1f0e0b6a11")

	var (
		deleted int
		elapsed time.Duration
	)
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		putObjectsWith(g, admin, bucket, prefix, objects)
		b.StartTimer()
		start := time.Now()
		n, err := c.DeleteObjects(ctx, bucket, prefix, nil)
		elapsed += time.Since(start)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(n).To(Equal(objects))
		deleted += n
	}
	b.StopTimer()
	b.ReportMetric(float64(deleted)/elapsed.Seconds(), "objects-deleted/s")
	b.ReportMetric(objects, "objects/entry")
}
