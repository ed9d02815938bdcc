package metallb_test

import (
	"fmt"
	"net/netip"
	"os"
	"os/exec"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	landscapelan "github.com/openkcm/gardener-extension-provider-metal/test/landscape/lan"
)

// network is a layer-2 segment of its own (package test/landscape/lan): a bridge in a network namespace ("lan",
// 10.252.0.1/24 on br0) and, per node, a network namespace whose eth0 is a veth attached to the bridge, with the
// node IP 10.252.0.<11+n>/24. Nothing of it is in the host's network namespace. The names carry the test's pid, so
// that runs do not collide.
type network struct {
	*landscapelan.Segment
	nodes map[string]*nodeNetwork
}

// nodeNetwork is a node's network namespace with its eth0's address.
type nodeNetwork struct {
	index int
	netns string
	ip    string
}

// serviceAddress is the one address of the ControlPlaneConfig's pool, on the nodes' subnet as layer-2 addresses
// are.
const serviceAddress = "10.252.0.200"

func newNetwork(names []string) *network {
	segment, err := landscapelan.New(fmt.Sprintf("mlb%d", os.Getpid()), netip.MustParsePrefix("10.252.0.0/24"))
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(segment.Close)
	n := &network{Segment: segment, nodes: map[string]*nodeNetwork{}}
	for i, name := range names {
		node, err := segment.AddNode(name, netip.MustParseAddr(fmt.Sprintf("10.252.0.%d", 11+i)))
		Expect(err).NotTo(HaveOccurred())
		n.nodes[name] = &nodeNetwork{index: i, netns: node.Netns, ip: node.IP.String()}
	}
	return n
}

// ip runs iproute2's ip.
func ip(args ...string) {
	out, err := exec.Command("ip", args...).CombinedOutput()
	Expect(err).NotTo(HaveOccurred(), "ip %v: %s", args, out)
}
