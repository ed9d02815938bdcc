package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os/exec"
	"runtime"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// podThread is one OS thread per pod on which everything that must belong to the pod's network namespace
// happens: listeners inside the pod, dials into it and the start of every container process (a forked process
// inherits the namespaces of the thread that forks it). With isolate=false (hostNetwork pods) the thread stays
// in the host's namespace, or joins the node's (--host-network-namespace); it still starts the pod's processes so
// that their parent-death signal is tied to a thread that lives exactly as long as the pod (Linux sends
// PR_SET_PDEATHSIG when the forking thread exits).
// The design follows test/landscape/metalapi/netns.go of the main module, which this module cannot import.
type podThread struct {
	isolated bool
	calls    chan func()
	closed   chan struct{}
	once     sync.Once
}

// newPodThread starts the thread; isolate puts it into a new network namespace with only loopback up, join (when
// not isolated and not empty) into the network namespace bound at that path.
func newPodThread(isolate bool, join string) (*podThread, error) {
	t := &podThread{isolated: isolate, calls: make(chan func()), closed: make(chan struct{})}
	started := make(chan error, 1)
	go func() {
		// Never unlocked: a thread that left the host's namespace must not run other goroutines; the runtime
		// ends a locked thread when its goroutine returns.
		runtime.LockOSThread()
		switch {
		case isolate:
			if err := enterNewNetNamespace(); err != nil {
				started <- err
				return
			}
		case join != "":
			if err := joinNetNamespace(join); err != nil {
				started <- err
				return
			}
		}
		started <- nil
		for {
			select {
			case f := <-t.calls:
				f()
			case <-t.closed:
				return
			}
		}
	}()
	if err := <-started; err != nil {
		return nil, err
	}
	return t, nil
}

// enterNewNetNamespace moves the calling thread into a new network namespace and brings its loopback up. The
// whole of 127.0.0.0/8 is local on an up loopback, so a process may bind the pod IP (127.1.x.y) without the
// address being configured.
func enterNewNetNamespace() error {
	if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
		return fmt.Errorf("creating a network namespace (needs root or CAP_SYS_ADMIN): %w", err)
	}
	return loopbackUp()
}

// joinNetNamespace moves the calling thread into the network namespace bound at path (as `ip netns add` binds
// one under /run/netns) and brings its loopback up, which a new namespace has down.
func joinNetNamespace(path string) error {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("opening the network namespace %s: %w", path, err)
	}
	defer func() { _ = unix.Close(fd) }()
	if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
		return fmt.Errorf("entering the network namespace %s (needs root or CAP_SYS_ADMIN): %w", path, err)
	}
	return loopbackUp()
}

// loopbackUp brings the loopback interface of the calling thread's network namespace up.
func loopbackUp() error {
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

// do runs f on the thread and waits for it.
func (t *podThread) do(f func()) error {
	done := make(chan struct{})
	select {
	case t.calls <- func() { defer close(done); f() }:
	case <-t.closed:
		return errors.New("pod thread is closed")
	}
	<-done
	return nil
}

// close ends the thread; the namespace goes away with the last socket and process in it.
func (t *podThread) close() {
	t.once.Do(func() { close(t.closed) })
}

// start starts cmd from the thread.
func (t *podThread) start(cmd *exec.Cmd) error {
	var err error
	if doErr := t.do(func() { err = cmd.Start() }); doErr != nil {
		return doErr
	}
	return err
}

// listen opens a TCP listener in the thread's namespace.
func (t *podThread) listen(addr string) (net.Listener, error) {
	var (
		ln  net.Listener
		err error
	)
	if doErr := t.do(func() { ln, err = net.Listen("tcp", addr) }); doErr != nil {
		return nil, doErr
	}
	return ln, err
}

// dialContext connects to addr in the thread's namespace; it fits http.Transport.DialContext.
func (t *podThread) dialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	var (
		conn net.Conn
		err  error
	)
	// Dials on loopback are answered at once, so serializing them on the thread costs little.
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	if doErr := t.do(func() { conn, err = dialer.DialContext(ctx, network, addr) }); doErr != nil {
		return nil, doErr
	}
	return conn, err
}

// hostDial connects from the host's namespace (any goroutine other than a pod thread's).
func hostDial(ctx context.Context, network, addr string) (net.Conn, error) {
	return (&net.Dialer{Timeout: 5 * time.Second}).DialContext(ctx, network, addr)
}

// bridge forwards TCP connections accepted by a listener to the first of targets that accepts a connection
// through dial.
type bridge struct {
	listener net.Listener
	dial     func(ctx context.Context, network, addr string) (net.Conn, error)
	targets  []string

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

func newBridge(listener net.Listener, dial func(ctx context.Context, network, addr string) (net.Conn, error), targets ...string) *bridge {
	b := &bridge{listener: listener, dial: dial, targets: targets, conns: map[net.Conn]struct{}{}}
	b.wg.Add(1)
	go b.serve()
	return b
}

func (b *bridge) serve() {
	defer b.wg.Done()
	for {
		conn, err := b.listener.Accept()
		if err != nil {
			// Accept fails for good only once close has closed the listener.
			return
		}
		b.wg.Add(1)
		go b.forward(conn)
	}
}

func (b *bridge) connect() (net.Conn, error) {
	var lastErr error
	for _, target := range b.targets {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		out, err := b.dial(ctx, "tcp", target)
		cancel()
		if err == nil {
			return out, nil
		}
		lastErr = err
	}
	return nil, lastErr
}

func (b *bridge) forward(in net.Conn) {
	defer b.wg.Done()
	out, err := b.connect()
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
		// Half-close so the other side sees the end of this direction while the other one still flows.
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

// udpRelay forwards UDP datagrams received on conn (inside a pod) to target on the host and the answers back,
// one host socket per client address; a client's socket closes after udpIdle without traffic. DNS clients use
// UDP first, so a forwarded DNS port needs this next to the TCP bridge.
type udpRelay struct {
	conn   net.PacketConn
	target string

	mu     sync.Mutex
	peers  map[string]net.Conn
	closed bool
	wg     sync.WaitGroup
}

const udpIdle = time.Minute

func newUDPRelay(conn net.PacketConn, target string) *udpRelay {
	u := &udpRelay{conn: conn, target: target, peers: map[string]net.Conn{}}
	u.wg.Add(1)
	go u.serve()
	return u
}

func (u *udpRelay) serve() {
	defer u.wg.Done()
	buf := make([]byte, 64<<10)
	for {
		n, client, err := u.conn.ReadFrom(buf)
		if err != nil {
			// ReadFrom fails for good only once close has closed the socket.
			return
		}
		peer, err := u.peer(client)
		if err != nil {
			continue
		}
		_, _ = peer.Write(buf[:n])
	}
}

// peer returns the host socket for a client, creating it with its answer loop.
func (u *udpRelay) peer(client net.Addr) (net.Conn, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.closed {
		return nil, errors.New("relay is closed")
	}
	if p, ok := u.peers[client.String()]; ok {
		_ = p.SetReadDeadline(time.Now().Add(udpIdle))
		return p, nil
	}
	p, err := net.Dial("udp", u.target)
	if err != nil {
		return nil, err
	}
	_ = p.SetReadDeadline(time.Now().Add(udpIdle))
	u.peers[client.String()] = p
	u.wg.Add(1)
	go u.answer(client, p)
	return p, nil
}

func (u *udpRelay) answer(client net.Addr, p net.Conn) {
	defer u.wg.Done()
	buf := make([]byte, 64<<10)
	for {
		n, err := p.Read(buf)
		if err != nil {
			break
		}
		_ = p.SetReadDeadline(time.Now().Add(udpIdle))
		_, _ = u.conn.WriteTo(buf[:n], client)
	}
	u.mu.Lock()
	delete(u.peers, client.String())
	u.mu.Unlock()
	_ = p.Close()
}

func (u *udpRelay) close() {
	u.mu.Lock()
	u.closed = true
	_ = u.conn.Close()
	for _, p := range u.peers {
		_ = p.Close()
	}
	u.mu.Unlock()
	u.wg.Wait()
}

// listenPacket opens a UDP socket in the thread's namespace.
func (t *podThread) listenPacket(addr string) (net.PacketConn, error) {
	var (
		conn net.PacketConn
		err  error
	)
	if doErr := t.do(func() { conn, err = net.ListenPacket("udp", addr) }); doErr != nil {
		return nil, doErr
	}
	return conn, err
}

// addLoopbackAddress configures ip/32 on the loopback interface of the host (t nil) or of the pod's namespace. The
// addresses of 127.0.0.0/8 are local without it; other pod IPs (the API server's endpoints refuse loopback
// addresses, so pods that serve webhooks need them) are made local this way. It runs iproute2's ip.
func addLoopbackAddress(ip string, t *podThread) error {
	if parsed := net.ParseIP(ip); parsed == nil || parsed.IsLoopback() {
		return nil
	}
	cmd := exec.Command("ip", "addr", "replace", ip+"/32", "dev", "lo")
	var out []byte
	var err error
	if t == nil {
		out, err = cmd.CombinedOutput()
	} else {
		var buf bytes.Buffer
		cmd.Stdout, cmd.Stderr = &buf, &buf
		if err = t.start(cmd); err == nil {
			err = cmd.Wait()
		}
		out = buf.Bytes()
	}
	if err != nil {
		return fmt.Errorf("adding %s to the loopback interface: %w: %s", ip, err, out)
	}
	return nil
}

// removeLoopbackAddress removes what addLoopbackAddress configured on the host.
func removeLoopbackAddress(ip string) {
	if parsed := net.ParseIP(ip); parsed == nil || parsed.IsLoopback() {
		return
	}
	_ = exec.Command("ip", "addr", "del", ip+"/32", "dev", "lo").Run()
}

// forwardOutbound listens on 127.0.0.1:P in the thread's namespace for each port, TCP and UDP, and forwards to
// 127.0.0.1:P on the host.
func forwardOutbound(t *podThread, ports []int) ([]*bridge, []*udpRelay, error) {
	var (
		bridges []*bridge
		relays  []*udpRelay
	)
	for _, port := range ports {
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		ln, err := t.listen(addr)
		if err != nil {
			return bridges, relays, fmt.Errorf("listening on %s in the pod for forwarding to the host: %w", addr, err)
		}
		bridges = append(bridges, newBridge(ln, hostDial, addr))
		pc, err := t.listenPacket(addr)
		if err != nil {
			return bridges, relays, fmt.Errorf("listening on %s/udp in the pod for forwarding to the host: %w", addr, err)
		}
		relays = append(relays, newUDPRelay(pc, addr))
	}
	return bridges, relays, nil
}

// nodeNetwork is the network namespace that --host-network-namespace names: hostNetwork pods run in it, and the
// kubelet forwards the outbound ports (--forward-port, the kube-apiserver's on loopback) from its loopback to the
// host once for all of them, as it does inside every other pod.
type nodeNetwork struct {
	thread  *podThread
	bridges []*bridge
	relays  []*udpRelay
}

func newNodeNetwork(cfg *config) (*nodeNetwork, error) {
	t, err := newPodThread(false, cfg.hostNetNS)
	if err != nil {
		return nil, err
	}
	n := &nodeNetwork{thread: t}
	n.bridges, n.relays, err = forwardOutbound(t, cfg.outboundPorts())
	if err != nil {
		n.close()
		return nil, err
	}
	return n, nil
}

func (n *nodeNetwork) close() {
	for _, b := range n.bridges {
		b.close()
	}
	for _, u := range n.relays {
		u.close()
	}
	n.thread.close()
}
