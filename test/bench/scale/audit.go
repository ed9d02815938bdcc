package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// auditPolicy logs every request once at Metadata level: long-running watches when they start, every other
// request when its response is complete.
const auditPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
- level: Metadata
  verbs: ["watch"]
  omitStages: ["RequestReceived", "ResponseComplete"]
- level: Metadata
  omitStages: ["RequestReceived", "ResponseStarted"]
`

// auditLog is the audit log of one API server.
type auditLog struct {
	policy, path string
}

func newAuditLog(dir, name string) (*auditLog, error) {
	a := &auditLog{policy: filepath.Join(dir, name+"-audit-policy.yaml"), path: filepath.Join(dir, name+"-audit.log")}
	if err := os.WriteFile(a.policy, []byte(auditPolicy), 0o600); err != nil {
		return nil, fmt.Errorf("writing the audit policy: %w", err)
	}
	return a, nil
}

// event is the part of an audit.k8s.io/v1 Event the benchmark reads.
type event struct {
	Verb string `json:"verb"`
	User struct {
		Username string `json:"username"`
	} `json:"user"`
	ObjectRef *struct {
		Resource    string `json:"resource"`
		Subresource string `json:"subresource"`
	} `json:"objectRef"`
	RequestReceivedTimestamp time.Time `json:"requestReceivedTimestamp"`
}

// requestCounts are requests by verb ("get", "list", "watch", "create", "update", "patch", "delete") and by
// verb and resource.
type requestCounts struct {
	byVerb     map[string]int
	byResource map[string]int
}

// count reads the log and counts the requests of the users that match, received within [from, to).
func (a *auditLog) count(matches func(user string) bool, from, to time.Time) (requestCounts, error) {
	counts := requestCounts{byVerb: map[string]int{}, byResource: map[string]int{}}
	f, err := os.Open(a.path)
	if err != nil {
		return counts, fmt.Errorf("reading the audit log: %w", err)
	}
	defer func() { _ = f.Close() }()
	scanner := bufio.NewScanner(f)
	scanner.Buffer(make([]byte, 1<<20), 16<<20)
	for scanner.Scan() {
		var e event
		if err := json.Unmarshal(scanner.Bytes(), &e); err != nil {
			return counts, fmt.Errorf("decoding the audit log: %w", err)
		}
		if !matches(e.User.Username) || e.RequestReceivedTimestamp.Before(from) || !e.RequestReceivedTimestamp.Before(to) {
			continue
		}
		counts.byVerb[e.Verb]++
		resource := "(non-resource)"
		if e.ObjectRef != nil {
			resource = e.ObjectRef.Resource
			if e.ObjectRef.Subresource != "" {
				resource += "/" + e.ObjectRef.Subresource
			}
		}
		counts.byResource[e.Verb+" "+resource]++
	}
	return counts, scanner.Err()
}

// reads are requests that an informer's cache would have answered.
func (c requestCounts) reads() int { return c.byVerb["get"] + c.byVerb["list"] }

// writes are requests that change (or, for reviews, create) objects.
func (c requestCounts) writes() int {
	return c.byVerb["create"] + c.byVerb["update"] + c.byVerb["patch"] + c.byVerb["delete"] + c.byVerb["deletecollection"]
}

func (c requestCounts) total() int {
	n := 0
	for _, v := range c.byVerb {
		n += v
	}
	return n
}

func isServiceAccount(user string) bool { return strings.HasPrefix(user, "system:serviceaccount:") }
