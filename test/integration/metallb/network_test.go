package metallb_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"golang.org/x/sys/unix"
)

// network is a layer-2 segment of its own: a bridge in a network namespace ("lan", 10.252.0.1/24 on br0) and,
// per node, a network namespace whose eth0 is a veth attached to the bridge, with the node IP 10.252.0.<11+n>/24.
// Nothing of it is in the host's network namespace. The names carry the test's pid, so that runs do not collide.
type network struct {
	lanNetns string
	lanIP    netip.Addr
	nodes    map[string]*nodeNetwork
}

// nodeNetwork is a node's network namespace (a path under /run/netns) with its eth0's address and MAC.
type nodeNetwork struct {
	index int
	netns string
	ip    string
	mac   net.HardwareAddr
}

// serviceAddress is the one address of the ControlPlaneConfig's pool, on the nodes' subnet as layer-2 addresses
// are.
const serviceAddress = "10.252.0.200"

func newNetwork(names []string) *network {
	prefix := fmt.Sprintf("mlb%d", os.Getpid())
	lan := prefix + "-lan"
	n := &network{lanNetns: netnsPath(lan), lanIP: netip.MustParseAddr("10.252.0.1"), nodes: map[string]*nodeNetwork{}}
	ip("netns", "add", lan)
	DeferCleanup(ip, "netns", "del", lan)
	ip("-n", lan, "link", "set", "lo", "up")
	ip("-n", lan, "link", "add", "br0", "type", "bridge")
	ip("-n", lan, "addr", "add", n.lanIP.String()+"/24", "dev", "br0")
	ip("-n", lan, "link", "set", "br0", "up")
	for i, name := range names {
		netns := prefix + "-" + name
		ip("netns", "add", netns)
		DeferCleanup(ip, "netns", "del", netns)
		// The node's end is eth0: MetalLB's excludel2 list skips veth* interfaces, as a node's uplink is not one.
		port := fmt.Sprintf("port%d", i)
		ip("-n", lan, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", netns)
		ip("-n", lan, "link", "set", port, "master", "br0", "up")
		nodeIP := fmt.Sprintf("10.252.0.%d", 11+i)
		ip("-n", netns, "addr", "add", nodeIP+"/24", "dev", "eth0")
		ip("-n", netns, "link", "set", "eth0", "up")
		iface := interfaceIn(netnsPath(netns), "eth0")
		n.nodes[name] = &nodeNetwork{index: i, netns: netnsPath(netns), ip: nodeIP, mac: iface.HardwareAddr}
	}
	return n
}

func netnsPath(name string) string { return filepath.Join("/run/netns", name) }

// ip runs iproute2's ip.
func ip(args ...string) {
	out, err := exec.Command("ip", args...).CombinedOutput()
	Expect(err).NotTo(HaveOccurred(), "ip %v: %s", args, out)
}

// nodeWithMAC is the node whose eth0 has the MAC.
func (n *network) nodeWithMAC(mac net.HardwareAddr) string {
	for name, node := range n.nodes {
		if bytes.Equal(node.mac, mac) {
			return name
		}
	}
	return ""
}

// inNetns runs f on an OS thread in the network namespace at path. The thread stays locked and ends with f's
// goroutine, so that no other goroutine runs in that namespace.
func inNetns(path string, f func() error) error {
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			done <- err
			return
		}
		defer func() { _ = unix.Close(fd) }()
		if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
			done <- fmt.Errorf("entering %s: %w", path, err)
			return
		}
		done <- f()
	}()
	return <-done
}

func interfaceIn(netns, name string) *net.Interface {
	var iface *net.Interface
	Expect(inNetns(netns, func() error {
		var err error
		iface, err = net.InterfaceByName(name)
		return err
	})).To(Succeed())
	return iface
}

// arpWhoHas broadcasts an ARP request for target on the bridge (from the lan namespace, as another host on the
// segment) and returns the MACs of all replies addressed to it within two seconds, in order and without repeats. It
// speaks ARP over a raw packet socket (RFC 826 over Ethernet II), as arping does.
func (n *network) arpWhoHas(target netip.Addr) ([]net.HardwareAddr, error) {
	var answers []net.HardwareAddr
	err := inNetns(n.lanNetns, func() error {
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
		request := arpFrame(broadcast, bridge.HardwareAddr, 1, bridge.HardwareAddr, n.lanIP, make(net.HardwareAddr, 6), target)
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
			if mac, ok := arpReplyFor(buf[:size], target, bridge.HardwareAddr, n.lanIP); ok && !slices.ContainsFunc(answers, func(a net.HardwareAddr) bool { return bytes.Equal(a, mac) }) {
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
