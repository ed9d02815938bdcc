// Package seaweedfs starts a real SeaweedFS (`weed server` with its S3 gateway, built by hack/seaweedfs.sh) on
// loopback ports for the backup tests: http and https with a CA of its own, and two identities.
package seaweedfs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"github.com/onsi/gomega"
	"github.com/onsi/gomega/gexec"
)

// Identity is an S3 user of the SeaweedFS under test.
type Identity struct {
	// AccessKey and SecretKey are its credentials.
	AccessKey, SecretKey string
}

var (
	// GardenerIdentity is the identity of the backup secrets.
	GardenerIdentity = Identity{AccessKey: "AKIAGARDENERBACKUP01", SecretKey: "gardener-backup-secret-key-0123456789"}
	// OtherIdentity owns buckets the controllers must not adopt.
	OtherIdentity = Identity{AccessKey: "AKIAOTHERTENANT00001", SecretKey: "other-tenant-secret-key-0123456789"}
)

// Server is a running SeaweedFS (master, volume, filer and S3 gateway in one `weed server`) on loopback ports,
// serving S3 over http and https.
type Server struct {
	// HTTPEndpoint and HTTPSEndpoint are the S3 endpoints as a backup secret names them.
	HTTPEndpoint, HTTPSEndpoint string
	// CACert is the PEM CA certificate that signed the https endpoint's certificate.
	CACert []byte
}

// Start starts `weed server` from SEAWEEDFS_ASSETS (hack/seaweedfs.sh) with two admin identities and a
// TLS certificate for 127.0.0.1 signed by a CA of its own, waits until the S3 gateway answers and registers
// its shutdown with cleanup.
func Start(g gomega.Gomega, cleanup func(func())) *Server {
	assets := os.Getenv("SEAWEEDFS_ASSETS")
	g.Expect(assets).NotTo(gomega.BeEmpty(),
		"SEAWEEDFS_ASSETS is not set: run the suite with SEAWEEDFS_ASSETS=$(hack/seaweedfs.sh) (or via hack/test.sh)")
	dir, err := os.MkdirTemp("", "seaweedfs-")
	g.Expect(err).NotTo(gomega.HaveOccurred())
	cleanup(func() { _ = os.RemoveAll(dir) })

	config := map[string]any{"identities": []map[string]any{
		s3Identity("gardener", GardenerIdentity), s3Identity("other", OtherIdentity),
	}}
	configJSON, err := json.Marshal(config)
	g.Expect(err).NotTo(gomega.HaveOccurred())
	g.Expect(os.WriteFile(filepath.Join(dir, "s3.json"), configJSON, 0o600)).To(gomega.Succeed())
	caCert := writeServerCertificate(g, dir)

	ports := freePorts(g, 9)
	args := []string{"server",
		"-dir=" + dir, "-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-master.telemetry=false",
		"-master.port=" + ports[0], "-master.port.grpc=" + ports[1], "-master.volumeSizeLimitMB=8",
		// Each bucket is a collection that grows seven volumes at first: many small volumes serve many buckets.
		"-volume.port=" + ports[2], "-volume.port.grpc=" + ports[3], "-volume.max=400",
		"-filer", "-filer.port=" + ports[4], "-filer.port.grpc=" + ports[5],
		"-s3", "-s3.port=" + ports[6], "-s3.port.https=" + ports[7], "-s3.port.grpc=" + ports[8],
		"-s3.port.iceberg=0", "-s3.port.lance=0", "-s3.config=" + filepath.Join(dir, "s3.json"),
		"-s3.cert.file=" + filepath.Join(dir, "tls.crt"), "-s3.key.file=" + filepath.Join(dir, "tls.key"),
	}
	log, err := os.Create(filepath.Join(dir, "weed.log"))
	g.Expect(err).NotTo(gomega.HaveOccurred())
	cmd := exec.Command(filepath.Join(assets, "weed"), args...)
	cmd.Dir = dir
	session, err := gexec.Start(cmd, log, log)
	g.Expect(err).NotTo(gomega.HaveOccurred())
	cleanup(func() {
		session.Terminate()
		if !waitExited(session, 10*time.Second) {
			session.Kill()
			waitExited(session, 10*time.Second)
		}
		_ = log.Close()
		removeSockets(ports)
	})

	s := &Server{
		HTTPEndpoint:  "http://127.0.0.1:" + ports[6],
		HTTPSEndpoint: "https://127.0.0.1:" + ports[7],
		CACert:        caCert,
	}
	// The gateway answers anonymous requests with 403 once it serves.
	g.Eventually(func() error {
		resp, err := http.Get(s.HTTPEndpoint + "/")
		if err != nil {
			return err
		}
		return resp.Body.Close()
	}).WithTimeout(60*time.Second).WithPolling(250*time.Millisecond).Should(gomega.Succeed(), "SeaweedFS did not start; see %s", log.Name())
	return s
}

// removeSockets removes the unix sockets `weed server` leaves behind: it derives their names in /tmp from its
// ports (weed/command/server.go and mini.go, /tmp/seaweedfs-<component>[-grpc]-<port>.sock).
func removeSockets(ports []string) {
	for _, port := range ports {
		sockets, _ := filepath.Glob("/tmp/seaweedfs-*-" + port + ".sock")
		for _, socket := range sockets {
			_ = os.Remove(socket)
		}
	}
}

// waitExited reports whether the process exited within timeout.
func waitExited(session *gexec.Session, timeout time.Duration) bool {
	select {
	case <-session.Exited:
		return true
	case <-time.After(timeout):
		return false
	}
}

// s3Identity is an identity of SeaweedFS's S3 configuration (-s3.config) with all actions.
func s3Identity(name string, id Identity) map[string]any {
	return map[string]any{
		"name":        name,
		"credentials": []map[string]string{{"accessKey": id.AccessKey, "secretKey": id.SecretKey}},
		"actions":     []string{"Admin", "Read", "Write", "List", "Tagging"},
	}
}

// freePorts returns n distinct loopback ports that were free a moment ago.
func freePorts(g gomega.Gomega, n int) []string {
	ports := make([]string, 0, n)
	listeners := make([]net.Listener, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		g.Expect(err).NotTo(gomega.HaveOccurred())
		listeners = append(listeners, l)
		ports = append(ports, strconv.Itoa(l.Addr().(*net.TCPAddr).Port))
	}
	for _, l := range listeners {
		g.Expect(l.Close()).To(gomega.Succeed())
	}
	return ports
}

// writeServerCertificate writes tls.crt and tls.key for 127.0.0.1, signed by a new CA, into dir and returns the
// CA certificate as PEM.
func writeServerCertificate(g gomega.Gomega, dir string) []byte {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	g.Expect(err).NotTo(gomega.HaveOccurred())
	caTemplate := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "backup test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTemplate, caTemplate, &caKey.PublicKey, caKey)
	g.Expect(err).NotTo(gomega.HaveOccurred())
	caCert, err := x509.ParseCertificate(caDER)
	g.Expect(err).NotTo(gomega.HaveOccurred())

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	g.Expect(err).NotTo(gomega.HaveOccurred())
	template := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, template, caCert, &key.PublicKey, caKey)
	g.Expect(err).NotTo(gomega.HaveOccurred())
	keyDER, err := x509.MarshalECPrivateKey(key)
	g.Expect(err).NotTo(gomega.HaveOccurred())

	g.Expect(os.WriteFile(filepath.Join(dir, "tls.crt"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)).To(gomega.Succeed())
	g.Expect(os.WriteFile(filepath.Join(dir, "tls.key"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600)).To(gomega.Succeed())
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
}

// NewCACert returns a PEM CA certificate that signed nothing the store presents.
func NewCACert(g gomega.Gomega) []byte {
	dir, err := os.MkdirTemp("", "other-ca-")
	g.Expect(err).NotTo(gomega.HaveOccurred())
	defer func() { _ = os.RemoveAll(dir) }()
	return writeServerCertificate(g, dir)
}
