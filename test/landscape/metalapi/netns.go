package metalapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// netNamespace runs functions on one OS thread that lives in a network namespace of its own, with only a
// loopback interface. Sockets and processes keep the namespace of the thread that created them, so a listener
// opened or a process started through do belongs to that namespace for good; everything else in this process
// stays in the host's namespace. Without isolation (no privilege to create namespaces) the thread stays in the
// host's namespace and do only serializes.
type netNamespace struct {
	isolated bool
	calls    chan func()
	closed   chan struct{}
	once     sync.Once
}

// newNetNamespace starts the thread; isolate asks for a private namespace. The error says why isolation failed.
func newNetNamespace(isolate bool) (*netNamespace, error) {
	ns := &netNamespace{isolated: isolate, calls: make(chan func()), closed: make(chan struct{})}
	started := make(chan error, 1)
	go func() {
		// The thread is never unlocked: once it has left the host's namespace it must not run other goroutines,
		// and the runtime ends a locked thread when its goroutine returns.
		runtime.LockOSThread()
		if isolate {
			if err := enterPrivateNetNamespace(); err != nil {
				started <- err
				return
			}
		}
		started <- nil
		for {
			select {
			case f := <-ns.calls:
				f()
			case <-ns.closed:
				return
			}
		}
	}()
	if err := <-started; err != nil {
		return nil, err
	}
	return ns, nil
}

// enterPrivateNetNamespace moves the calling thread into a new network namespace and brings its loopback up.
func enterPrivateNetNamespace() error {
	if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
		return fmt.Errorf("creating a network namespace (needs root or CAP_SYS_ADMIN): %w", err)
	}
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("opening a socket to configure loopback: %w", err)
	}
	defer func() { _ = unix.Close(fd) }()
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return fmt.Errorf("naming the loopback interface: %w", err)
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("reading loopback flags: %w", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("bringing loopback up: %w", err)
	}
	return nil
}

// do runs f on the namespace's thread and waits for it.
func (ns *netNamespace) do(f func()) error {
	done := make(chan struct{})
	select {
	case ns.calls <- func() { defer close(done); f() }:
	case <-ns.closed:
		return errors.New("network namespace is closed")
	}
	<-done
	return nil
}

// close ends the thread; the namespace goes away with the last socket and process in it.
func (ns *netNamespace) close() {
	ns.once.Do(func() { close(ns.closed) })
}

// listen opens a TCP listener inside the namespace.
func (ns *netNamespace) listen(addr string) (net.Listener, error) {
	var (
		ln  net.Listener
		err error
	)
	if doErr := ns.do(func() { ln, err = net.Listen("tcp", addr) }); doErr != nil {
		return nil, doErr
	}
	return ln, err
}

// dialContext connects to addr inside the namespace; it fits http.Transport.DialContext.
func (ns *netNamespace) dialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	var (
		conn net.Conn
		err  error
	)
	// Connecting on loopback is immediate (accepted or refused), so serializing dials on the thread costs little.
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	if doErr := ns.do(func() { conn, err = dialer.DialContext(ctx, network, addr) }); doErr != nil {
		return nil, doErr
	}
	return conn, err
}

// freePort returns a TCP port on 127.0.0.1 that is free inside the namespace at the time of the call.
func (ns *netNamespace) freePort() (int, error) {
	ln, err := ns.listen("127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer func() { _ = ln.Close() }()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// bridge forwards TCP connections accepted by a listener to an address reached through dial; it joins the host's
// and the private namespace in the one direction each process needs (metal-operator to the kube-apiserver, the
// kube-apiserver to metal-operator's webhook server) without exposing anything beyond 127.0.0.1.
type bridge struct {
	listener net.Listener
	dial     func(ctx context.Context, network, addr string) (net.Conn, error)
	target   string

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

// newBridge starts forwarding connections from listener to target.
func newBridge(listener net.Listener, target string, dial func(ctx context.Context, network, addr string) (net.Conn, error)) *bridge {
	b := &bridge{listener: listener, dial: dial, target: target, conns: map[net.Conn]struct{}{}}
	b.wg.Add(1)
	go b.serve()
	return b
}

func (b *bridge) serve() {
	defer b.wg.Done()
	for {
		conn, err := b.listener.Accept()
		if err != nil {
			// Accept fails for good only once the listener is closed by close.
			return
		}
		b.wg.Add(1)
		go b.forward(conn)
	}
}

func (b *bridge) forward(in net.Conn) {
	defer b.wg.Done()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	out, err := b.dial(ctx, "tcp", b.target)
	cancel()
	if err != nil {
		_ = in.Close()
		return
	}
	if !b.track(in, out) {
		return
	}
	defer b.untrack(in, out)

	copied := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		// Half-close so that the other side sees the end of this direction while the other one still flows.
		if tcp, ok := dst.(*net.TCPConn); ok {
			_ = tcp.CloseWrite()
		}
		copied <- struct{}{}
	}
	go pipe(out, in)
	go pipe(in, out)
	<-copied
	<-copied
}

// track registers a forwarded pair so that close can end it; it closes both and reports false once closing.
func (b *bridge) track(conns ...net.Conn) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		for _, c := range conns {
			_ = c.Close()
		}
		return false
	}
	for _, c := range conns {
		b.conns[c] = struct{}{}
	}
	return true
}

func (b *bridge) untrack(conns ...net.Conn) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, c := range conns {
		_ = c.Close()
		delete(b.conns, c)
	}
}

// close stops accepting, ends all forwarded connections and waits for the forwarding goroutines.
func (b *bridge) close() {
	b.mu.Lock()
	b.closed = true
	_ = b.listener.Close()
	for c := range b.conns {
		_ = c.Close()
	}
	b.mu.Unlock()
	b.wg.Wait()
}
