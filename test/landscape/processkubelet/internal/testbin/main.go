// Command testbin stands in for a container image in the process kubelet's tests: it prints its arguments and
// environment, exits with a given code or serves HTTP endpoints that tell what the process sees (files at its
// mount paths, its environment, an in-cluster call to the kube-apiserver).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"sort"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

func main() {
	listen := flag.String("listen", "", "serve HTTP on this address")
	exit := flag.Int("exit", 0, "exit code when not serving")
	var writes []string
	flag.Func("write", "write PATH=CONTENT before anything else; repeated", func(v string) error {
		writes = append(writes, v)
		return nil
	})
	flag.Parse()

	fmt.Printf("ARGS %q\n", os.Args)
	env := os.Environ()
	sort.Strings(env)
	for _, e := range env {
		fmt.Printf("ENV %s\n", e)
	}
	fmt.Printf("UID %d GID %d\n", os.Getuid(), os.Getgid())
	failed := false
	for _, w := range writes {
		path, content, _ := cut(w)
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			fmt.Printf("WRITE-ERROR %s: %v\n", path, err)
			failed = true
		}
	}
	if failed {
		os.Exit(1)
	}
	if *listen == "" {
		os.Exit(*exit)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("/env", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, os.Getenv(r.URL.Query().Get("name"))) })
	mux.HandleFunc("/file", func(w http.ResponseWriter, r *http.Request) {
		data, err := os.ReadFile(r.URL.Query().Get("path"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		_, _ = w.Write(data)
	})
	mux.HandleFunc("/udp", func(w http.ResponseWriter, r *http.Request) {
		reply, err := udpExchange(r.URL.Query().Get("addr"), r.URL.Query().Get("msg"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		fmt.Fprint(w, reply)
	})
	mux.HandleFunc("/incluster", func(w http.ResponseWriter, r *http.Request) {
		user, err := inCluster(r.Context())
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		fmt.Fprint(w, user)
	})
	server := &http.Server{Addr: *listen, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	if err := server.ListenAndServe(); err != nil {
		fmt.Printf("SERVE-ERROR %v\n", err)
		os.Exit(1)
	}
}

func cut(s string) (string, string, bool) {
	for i := range s {
		if s[i] == '=' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

// udpExchange sends msg to addr over UDP and returns the answer.
func udpExchange(addr, msg string) (string, error) {
	conn, err := net.Dial("udp", addr)
	if err != nil {
		return "", err
	}
	defer func() { _ = conn.Close() }()
	_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := conn.Write([]byte(msg)); err != nil {
		return "", err
	}
	buf := make([]byte, 1500)
	n, err := conn.Read(buf)
	return string(buf[:n]), err
}

// inCluster asks the kube-apiserver who the pod's in-cluster credentials are.
func inCluster(ctx context.Context) (string, error) {
	cfg, err := rest.InClusterConfig()
	if err != nil {
		return "", err
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return "", err
	}
	review, err := client.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		return "", err
	}
	data, err := json.Marshal(review.Status.UserInfo)
	return string(data), err
}
