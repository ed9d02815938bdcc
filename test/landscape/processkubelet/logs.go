package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// containerLogs serves /containerLogs/<namespace>/<pod>/<container>, the kubelet route behind kubectl logs,
// from the container's log file: tailLines and limitBytes apply; follow, previous, since and timestamps are
// ignored (the file holds all runs, with a line marking each start).
func (p *provider) containerLogs(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/containerLogs/"), "/")
	if len(parts) != 3 || slices.ContainsFunc(parts, func(s string) bool { return s == "" || s == "." || s == ".." }) {
		http.NotFound(w, r)
		return
	}
	data, err := os.ReadFile(filepath.Join(p.cfg.stateDir, parts[0], parts[1], parts[2]+".log"))
	if err != nil {
		http.Error(w, fmt.Sprintf("no log of container %s in pod %s/%s", parts[2], parts[0], parts[1]), http.StatusNotFound)
		return
	}
	q := r.URL.Query()
	if n, err := strconv.Atoi(q.Get("tailLines")); err == nil && n >= 0 {
		data = tail(data, n)
	}
	if n, err := strconv.Atoi(q.Get("limitBytes")); err == nil && n > 0 && len(data) > n {
		data = data[:n]
	}
	w.Header().Set("Content-Type", "text/plain")
	_, _ = w.Write(data)
}

// tail returns the last n lines of data.
func tail(data []byte, n int) []byte {
	if n == 0 {
		return nil
	}
	end := len(data)
	if end > 0 && data[end-1] == '\n' {
		end--
	}
	for i := end - 1; i >= 0; i-- {
		if data[i] == '\n' {
			n--
			if n == 0 {
				return data[i+1:]
			}
		}
	}
	return data
}

// serveKubeletAPI serves the kubelet's container log route over TLS on the node IP, with a
// self-signed certificate: kube-apiservers do not verify kubelets without --kubelet-certificate-authority. It
// does not authenticate clients; it is off unless --kubelet-port is given.
func serveKubeletAPI(ctx context.Context, cfg *config, p *provider) error {
	cert, err := selfSignedCert(cfg)
	if err != nil {
		return err
	}
	addr := net.JoinHostPort(cfg.hostIP(), strconv.Itoa(cfg.kubeletPort))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listening on %s for the kubelet API: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /containerLogs/", p.containerLogs)
	server := &http.Server{
		Handler:           mux,
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		ReadHeaderTimeout: 10 * time.Second,
	}
	go func() {
		<-ctx.Done()
		_ = server.Close()
	}()
	go func() { _ = server.ServeTLS(ln, "", "") }()
	return nil
}

func selfSignedCert(cfg *config) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: cfg.nodeName},
		DNSNames:     []string{cfg.nodeName},
		IPAddresses:  []net.IP{net.ParseIP(cfg.hostIP())},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}
