package main

import (
	"fmt"
	"io"
	"math"
	"runtime"
	"sort"
	"strings"
)

var verbs = []string{"get", "list", "watch", "create", "update", "patch", "delete"}

// printer writes formatted lines and keeps the first write error.
type printer struct {
	w   io.Writer
	err error
}

func (p *printer) printf(format string, args ...any) {
	if p.err == nil {
		_, p.err = fmt.Fprintf(p.w, format, args...)
	}
}

// report prints the figures of both phases.
func report(out io.Writer, o options, idle, loaded usage, first, unchanged *result) error {
	p := &printer{w: out}
	n := float64(o.shoots)
	p.printf("\nscale benchmark: %d shoots, each an Infrastructure, a ControlPlane and a Worker (2 pools x 2 zones)\n\n", o.shoots)

	p.printf("%-16s %21s %21s\n", "latency (s)", "first reconcile", "unchanged reconcile")
	p.printf("%-16s %10s %10s %10s %10s\n", "", "median", "p95", "median", "p95")
	for _, kind := range kinds {
		p.printf("%-16s %10.2f %10.2f %10.2f %10.2f\n", kind,
			percentile(first.latencies[kind], 50), percentile(first.latencies[kind], 95),
			percentile(unchanged.latencies[kind], 50), percentile(unchanged.latencies[kind], 95))
	}
	p.printf("%-16s %21.2f %21.2f\n", "all done after", first.makespan.Seconds(), unchanged.makespan.Seconds())
	p.printf("%-16s %21d %21d\n", "objects w/ error", first.errors, unchanged.errors)

	p.printf("\nAPI requests per shoot (audit logs; seed: the extension's user, metal: the shoots' ServiceAccounts)\n")
	p.printf("%-22s", "")
	for _, verb := range verbs {
		p.printf(" %7s", verb)
	}
	p.printf(" %7s %7s %7s\n", "reads", "writes", "total")
	for _, row := range []struct {
		name   string
		counts requestCounts
	}{
		{"seed, first", first.seed}, {"seed, unchanged", unchanged.seed},
		{"metal, first", first.metal}, {"metal, unchanged", unchanged.metal},
	} {
		p.printf("%-22s", row.name)
		for _, verb := range verbs {
			p.printf(" %7.1f", float64(row.counts.byVerb[verb])/n)
		}
		p.printf(" %7.1f %7.1f %7.1f\n", float64(row.counts.reads())/n, float64(row.counts.writes())/n, float64(row.counts.total())/n)
	}

	p.printf("\nextension process: CPU %.1f s first (%.3f per shoot), %.1f s unchanged (%.3f per shoot)\n",
		first.cpu, first.cpu/n, unchanged.cpu, unchanged.cpu/n)
	p.printf("extension process: waited for a CPU %.1f s first, %.1f s unchanged (summed over its threads)\n",
		first.runQueue, unchanged.runQueue)
	p.printf("extension process: RSS %.1f MiB idle, %.1f MiB after the first reconcile (%.3f MiB per shoot)\n",
		idle.rssMiB, loaded.rssMiB, (loaded.rssMiB-idle.rssMiB)/n)
	p.printf("extension process: of that anonymous (heap, stacks) %.1f MiB idle, %.1f MiB after the first reconcile (%.3f MiB per shoot)\n",
		idle.rssAnonMiB, loaded.rssAnonMiB, (loaded.rssAnonMiB-idle.rssAnonMiB)/n)
	p.printf("machine: %d CPUs, 1-minute load average %s after the first, %s after the unchanged reconcile\n",
		runtime.NumCPU(), first.load, unchanged.load)
	p.printf("client-side throttling log lines: %d first, %d unchanged\n", first.throttled, unchanged.throttled)

	if o.details {
		for _, row := range []struct {
			name   string
			counts requestCounts
		}{
			{"seed, first", first.seed}, {"seed, unchanged", unchanged.seed},
			{"metal, first", first.metal}, {"metal, unchanged", unchanged.metal},
		} {
			p.printf("\n%s, requests per shoot by verb and resource:\n", row.name)
			keys := make([]string, 0, len(row.counts.byResource))
			for k := range row.counts.byResource {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				p.printf("  %-50s %7.2f\n", k, float64(row.counts.byResource[k])/n)
			}
		}
	}
	p.printf("%s\n", strings.Repeat("-", 80))
	return p.err
}

// percentile is the nearest-rank percentile of the values.
func percentile(values []float64, p float64) float64 {
	if len(values) == 0 {
		return math.NaN()
	}
	sorted := append([]float64(nil), values...)
	sort.Float64s(sorted)
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	if rank < 1 {
		rank = 1
	}
	return sorted[rank-1]
}
