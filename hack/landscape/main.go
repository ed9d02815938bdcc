// Command landscape is the main job of the repository (`make start`): it runs the local landscape of package
// test/landscape — seed, shoot and metal API clusters, the extension, the machine-controller-manager with the metal
// driver, metal-operator with mock BMCs — and brings the example shoot's machines up.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/openkcm/gardener-extension-provider-metal/test/landscape"
)

func main() {
	opts := landscape.Options{Out: os.Stdout}
	flag.StringVar(&opts.Root, "root", ".", "repository root")
	flag.StringVar(&opts.StateDir, "state-dir", ".cache/landscape", "folder for kubeconfigs and the logs of every component")
	flag.StringVar(&opts.Binaries.Extension, "extension", "bin/gardener-extension-provider-metal", "gardener-extension-provider-metal binary")
	flag.StringVar(&opts.Binaries.MachineControllerManager, "machine-controller-manager", "bin/machine-controller-manager", "machine-controller-manager binary")
	flag.StringVar(&opts.Binaries.Driver, "driver", "bin/machine-controller-manager-provider-metal", "machine-controller-manager-provider-metal binary")
	flag.StringVar(&opts.Binaries.ResourceManager, "resource-manager", "bin/gardener-resource-manager", "gardener-resource-manager binary (built from the gardener module)")
	flag.StringVar(&opts.Binaries.KubeControllers, "kube-controllers", os.Getenv("KUBE_CONTROLLERS_ASSETS"), "folder with kube-controller-manager and kube-scheduler (hack/kube-controllers.sh)")
	flag.StringVar(&opts.Binaries.ProcessKubelet, "process-kubelet", os.Getenv("PROCESS_KUBELET"), "the process kubelet binary (hack/process-kubelet.sh)")
	flag.StringVar(&opts.Binaries.MetalLB, "metallb", os.Getenv("METALLB_ASSETS"), "folder with MetalLB's controller and speaker (hack/metallb.sh); empty: MetalLB's pods in the shoot stay Pending")
	opts.Binaries.Images = map[string]string{}
	flag.Func("binary", "IMAGE=PATH: run pods of IMAGE (repository, without tag) from the binary at PATH, e.g. the upstream metal cloud-controller-manager (repeatable)", func(v string) error {
		image, path, ok := strings.Cut(v, "=")
		if !ok || image == "" || path == "" {
			return fmt.Errorf("want IMAGE=PATH, got %q", v)
		}
		opts.Binaries.Images[image] = path
		return nil
	})
	flag.IntVar(&opts.MachinesPerZone, "machines-per-zone", 1, "machines of the example pool per zone (two zones)")
	flag.BoolVar(&opts.Keep, "keep", true, "keep the landscape running for experiments until Ctrl-C; with --keep=false the shoot is deleted again and the run checks that nothing is left")
	flag.DurationVar(&opts.Timeout, "timeout", 5*time.Minute, "time allowed for the shoot to come up and to go away")
	flag.Parse()

	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	if err := landscape.Run(ctx, opts); err != nil {
		fmt.Fprintln(os.Stderr, "landscape:", err)
		os.Exit(1)
	}
}
