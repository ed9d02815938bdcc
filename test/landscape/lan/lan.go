// Package lan builds a layer-2 segment of its own out of Linux network namespaces, for nodes whose network must be
// their own (a MetalLB speaker answers ARP for a Service address only on its node's interface): a bridge br0 in a
// "lan" namespace and, per node, a namespace whose eth0 is a veth attached to the bridge. Nothing of it is in the
// host's network namespace. It needs root and iproute2's ip. ARPWhoHas asks for an address on the segment as
// another host there would.
package lan

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Segment is a bridge in a network namespace with the nodes attached to it.
type Segment struct {
	// Netns is the path of the lan namespace (under /run/netns).
	Netns string
	// IP is the bridge's address, the address ARPWhoHas asks from.
	IP     netip.Addr
	prefix netip.Prefix
	name   string

	mu    sync.Mutex
	nodes map[string]*Node
}

// Node is a node's network namespace with its eth0.
type Node struct {
	// Netns is the path of the node's namespace (under /run/netns).
	Netns string
	// IP is eth0's address.
	IP netip.Addr
	// MAC is eth0's hardware address.
	MAC net.HardwareAddr
}

// New creates the segment: namespace <name>-lan with br0 at the first address of prefix. Names must be unique on
// the machine; put the pid in them.
func New(name string, prefix netip.Prefix) (*Segment, error) {
	s := &Segment{name: name, prefix: prefix, IP: prefix.Masked().Addr().Next(), nodes: map[string]*Node{}}
	lan := name + "-lan"
	s.Netns = netnsPath(lan)
	if err := ip("netns", "add", lan); err != nil {
		return nil, err
	}
	for _, args := range [][]string{
		{"-n", lan, "link", "set", "lo", "up"},
		{"-n", lan, "link", "add", "br0", "type", "bridge"},
		{"-n", lan, "addr", "add", s.IP.String() + "/" + strconv.Itoa(prefix.Bits()), "dev", "br0"},
		{"-n", lan, "link", "set", "br0", "up"},
	} {
		if err := ip(args...); err != nil {
			_ = ip("netns", "del", lan)
			return nil, err
		}
	}
	return s, nil
}

// AddNode creates namespace <segment>-<node> whose eth0 (a veth, named as a node's uplink: MetalLB's excludel2
// list skips veth* interfaces) has address addr on the segment.
func (s *Segment) AddNode(node string, addr netip.Addr) (*Node, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n, ok := s.nodes[node]; ok {
		return n, nil
	}
	netns := s.name + "-" + node
	if err := ip("netns", "add", netns); err != nil {
		return nil, err
	}
	port := fmt.Sprintf("port%d", len(s.nodes))
	lan := s.name + "-lan"
	for _, args := range [][]string{
		{"-n", lan, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", netns},
		{"-n", lan, "link", "set", port, "master", "br0", "up"},
		{"-n", netns, "addr", "add", addr.String() + "/" + strconv.Itoa(s.prefix.Bits()), "dev", "eth0"},
		{"-n", netns, "link", "set", "eth0", "up"},
		{"-n", netns, "link", "set", "lo", "up"},
	} {
		if err := ip(args...); err != nil {
			_ = ip("netns", "del", netns)
			return nil, err
		}
	}
	n := &Node{Netns: netnsPath(netns), IP: addr}
	if err := InNetns(n.Netns, func() error {
		iface, err := net.InterfaceByName("eth0")
		if err != nil {
			return err
		}
		n.MAC = iface.HardwareAddr
		return nil
	}); err != nil {
		_ = ip("netns", "del", netns)
		return nil, err
	}
	s.nodes[node] = n
	return n, nil
}

// Node returns the node's network, or nil.
func (s *Segment) Node(node string) *Node {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nodes[node]
}

// NodeWithMAC is the name of the node whose eth0 has mac, or "".
func (s *Segment) NodeWithMAC(mac net.HardwareAddr) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	for name, n := range s.nodes {
		if bytes.Equal(n.MAC, mac) {
			return name
		}
	}
	return ""
}

// Close deletes the nodes' namespaces and the segment's (their veths go with them).
func (s *Segment) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for name := range s.nodes {
		errs = append(errs, ip("netns", "del", s.name+"-"+name))
	}
	s.nodes = map[string]*Node{}
	errs = append(errs, ip("netns", "del", s.name+"-lan"))
	return errors.Join(errs...)
}

func netnsPath(name string) string { return filepath.Join("/run/netns", name) }

func ip(args ...string) error {
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		return fmt.Errorf("ip %v: %w: %s", args, err, out)
	}
	return nil
}

// InNetns runs f on an OS thread in the network namespace at path, then moves the thread back to its own namespace
// and releases it. Only when that fails does the thread stay locked and end with f's goroutine (Go then terminates
// it), so that no other goroutine runs in the namespace. A thread must not end after it forked a process the
// landscape runs: Linux sends a child's parent-death signal when the thread that forked it exits, so ending the
// thread in the normal case would kill processes at random.
func InNetns(path string, f func() error) error {
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		own, err := unix.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()), unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			runtime.UnlockOSThread()
			done <- err
			return
		}
		defer func() { _ = unix.Close(own) }()
		fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			runtime.UnlockOSThread()
			done <- err
			return
		}
		defer func() { _ = unix.Close(fd) }()
		if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			done <- fmt.Errorf("entering %s: %w", path, err)
			return
		}
		err = f()
		if unix.Setns(own, unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread()
		}
		done <- err
	}()
	return <-done
}

// ARPWhoHas broadcasts an ARP request for target on the bridge (from the lan namespace, as another host on the
// segment) and returns the MACs of all replies addressed to it within two seconds, in order and without repeats. It
// speaks ARP over a raw packet socket (RFC 826 over Ethernet II), as arping does.
func (s *Segment) ARPWhoHas(target netip.Addr) ([]net.HardwareAddr, error) {
	var answers []net.HardwareAddr
	err := InNetns(s.Netns, func() error {
		bridge, err := net.InterfaceByName("br0")
		if err != nil {
			return err
		}
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, int(htons(unix.ETH_P_ARP)))
		if err != nil {
			return fmt.Errorf("opening a packet socket: %w", err)
		}
		defer func() { _ = unix.Close(fd) }()
		if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ARP), Ifindex: bridge.Index}); err != nil {
			return fmt.Errorf("binding the packet socket to br0: %w", err)
		}
		broadcast := net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
		request := arpFrame(broadcast, bridge.HardwareAddr, 1, bridge.HardwareAddr, s.IP, make(net.HardwareAddr, 6), target)
		if err := unix.Sendto(fd, request, 0, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ARP), Ifindex: bridge.Index, Halen: 6, Addr: [8]byte(append(broadcast, 0, 0))}); err != nil {
			return fmt.Errorf("sending the ARP request: %w", err)
		}
		deadline := time.Now().Add(2 * time.Second)
		buf := make([]byte, 1500)
		for time.Until(deadline) > 0 {
			tv := unix.NsecToTimeval(time.Until(deadline).Nanoseconds())
			if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
				return err
			}
			size, _, err := unix.Recvfrom(fd, buf, 0)
			if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
				continue
			}
			if err != nil {
				return fmt.Errorf("receiving ARP replies: %w", err)
			}
			if mac, ok := arpReplyFor(buf[:size], target, bridge.HardwareAddr, s.IP); ok && !slices.ContainsFunc(answers, func(a net.HardwareAddr) bool { return bytes.Equal(a, mac) }) {
				answers = append(answers, mac)
			}
		}
		return nil
	})
	return answers, err
}

// arpFrame is an Ethernet II frame holding an ARP packet for IPv4 over Ethernet.
func arpFrame(dst, src net.HardwareAddr, op uint16, senderMAC net.HardwareAddr, senderIP netip.Addr, targetMAC net.HardwareAddr, targetIP netip.Addr) []byte {
	frame := append(append([]byte{}, dst...), src...)
	frame = binary.BigEndian.AppendUint16(frame, unix.ETH_P_ARP)
	frame = binary.BigEndian.AppendUint16(frame, 1)             // hardware type Ethernet
	frame = binary.BigEndian.AppendUint16(frame, unix.ETH_P_IP) // protocol type IPv4
	frame = append(frame, 6, 4)                                 // address lengths
	frame = binary.BigEndian.AppendUint16(frame, op)            // 1 request, 2 reply
	frame = append(frame, senderMAC...)
	frame = append(frame, senderIP.AsSlice()...)
	frame = append(frame, targetMAC...)
	return append(frame, targetIP.AsSlice()...)
}

// arpReplyFor returns the sender MAC of an ARP reply from ip to (mac, to); gratuitous announcements, which are
// addressed to nobody, do not count.
func arpReplyFor(frame []byte, ip netip.Addr, mac net.HardwareAddr, to netip.Addr) (net.HardwareAddr, bool) {
	const header = 14
	if len(frame) < header+28 || binary.BigEndian.Uint16(frame[12:]) != unix.ETH_P_ARP {
		return nil, false
	}
	arp := frame[header:]
	if binary.BigEndian.Uint16(arp[6:]) != 2 {
		return nil, false
	}
	senderIP, _ := netip.AddrFromSlice(arp[14:18])
	targetIP, _ := netip.AddrFromSlice(arp[24:28])
	if senderIP != ip || targetIP != to || !bytes.Equal(arp[18:24], mac) {
		return nil, false
	}
	return net.HardwareAddr(bytes.Clone(arp[8:14])), true
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }
