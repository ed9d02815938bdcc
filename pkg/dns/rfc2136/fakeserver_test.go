package rfc2136_test

import (
	"errors"
	"net"
	"sync"
	"time"

	"github.com/miekg/dns"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

const (
	keyName = "tsig-key."
	// keySecret is the TSIG secret the fake server knows; tests check it never shows in errors.
	keySecret = "c2VjcmV0LXZhbHVlLW5vdC10by1iZS1sb2dnZWQ="
)

// received is a message the fake server got, with the result of checking its TSIG signature.
type received struct {
	msg        *dns.Msg
	tsigStatus error
}

// fakeServer is an in-process DNS server over TCP that records what it receives and answers with respond.
// It checks TSIG signatures with keySecret and signs its answers like a real server.
type fakeServer struct {
	addr    string
	mu      sync.Mutex
	msgs    []received
	respond func(req *dns.Msg, reply *dns.Msg)
}

// startFakeServer starts a fakeServer that answers NOERROR without records until respond is changed.
func startFakeServer() *fakeServer {
	GinkgoHelper()
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	fake := &fakeServer{addr: listener.Addr().String(), respond: func(*dns.Msg, *dns.Msg) {}}
	started := make(chan struct{})
	server := &dns.Server{
		Listener:          listener,
		Net:               "tcp",
		TsigSecret:        map[string]string{keyName: keySecret},
		NotifyStartedFunc: func() { close(started) },
		Handler:           dns.HandlerFunc(fake.serve),
		// The default accept function answers UPDATE messages with NOTIMP before the handler sees them.
		MsgAcceptFunc: func(dns.Header) dns.MsgAcceptAction { return dns.MsgAccept },
	}
	go func() { _ = server.ActivateAndServe() }()
	Eventually(started).Should(BeClosed())
	DeferCleanup(server.Shutdown)
	return fake
}

func (f *fakeServer) serve(w dns.ResponseWriter, req *dns.Msg) {
	f.mu.Lock()
	f.msgs = append(f.msgs, received{msg: req.Copy(), tsigStatus: w.TsigStatus()})
	respond := f.respond
	f.mu.Unlock()

	reply := new(dns.Msg)
	reply.SetReply(req)
	if tsig := req.IsTsig(); tsig != nil {
		if status := w.TsigStatus(); status != nil {
			// What BIND and Knot do for a request signed with the wrong secret: NOTAUTH, TSIG error BADSIG; and
			// for one signed at a time outside the fudge: NOTAUTH, TSIG error BADTIME.
			reply.SetRcode(req, dns.RcodeNotAuth)
			reply.SetTsig(tsig.Hdr.Name, tsig.Algorithm, 300, time.Now().Unix())
			reply.IsTsig().Error = dns.RcodeBadSig
			if errors.Is(status, dns.ErrTime) {
				reply.IsTsig().Error = dns.RcodeBadTime
			}
			_ = w.WriteMsg(reply)
			return
		}
		reply.SetTsig(tsig.Hdr.Name, tsig.Algorithm, 300, time.Now().Unix())
	}
	respond(req, reply)
	_ = w.WriteMsg(reply)
}

// setRespond replaces the answer function.
func (f *fakeServer) setRespond(respond func(req *dns.Msg, reply *dns.Msg)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.respond = respond
}

// received returns what the server got so far.
func (f *fakeServer) received() []received {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]received(nil), f.msgs...)
}

// updates returns the UPDATE messages the server got.
func (f *fakeServer) updates() []*dns.Msg {
	var updates []*dns.Msg
	for _, r := range f.received() {
		if r.msg.Opcode == dns.OpcodeUpdate {
			updates = append(updates, r.msg)
		}
	}
	return updates
}

// rr parses a record in zone-file syntax.
func rr(text string) dns.RR {
	GinkgoHelper()
	record, err := dns.NewRR(text)
	Expect(err).NotTo(HaveOccurred())
	return record
}
