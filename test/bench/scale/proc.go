package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// clockTicks is USER_HZ, the unit of the CPU times in /proc/<pid>/stat; it is 100 on every Linux architecture Go
// supports (see proc(5)).
const clockTicks = 100

// usage is a process's CPU time so far, the time its threads waited for a CPU, and its resident set size.
type usage struct {
	cpuSeconds float64
	// runQueueSeconds is the time the process's threads were runnable but waited for a CPU: on a shared machine
	// it tells the latency the other processes caused apart from the extension's own waits.
	runQueueSeconds float64
	rssMiB          float64
	// rssAnonMiB is the anonymous part of the RSS (heap, stacks); the rest is mostly the binary's pages, which grow
	// with the code a phase runs for the first time, not with the shoots.
	rssAnonMiB float64
}

// readUsage reads utime and stime from /proc/<pid>/stat and VmRSS and RssAnon from /proc/<pid>/status.
func readUsage(pid int) (usage, error) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return usage{}, err
	}
	// The command name in parentheses may contain spaces: the fields start after its closing parenthesis.
	fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	// After the name: state(3) ... utime(14) stime(15), i.e. indexes 11 and 12 here.
	if len(fields) < 13 {
		return usage{}, fmt.Errorf("unexpected /proc/%d/stat: %q", pid, stat)
	}
	utime, err := strconv.ParseFloat(fields[11], 64)
	if err != nil {
		return usage{}, err
	}
	stime, err := strconv.ParseFloat(fields[12], 64)
	if err != nil {
		return usage{}, err
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return usage{}, err
	}
	rssKiB, err := statusKiB(string(status), "VmRSS:")
	if err != nil {
		return usage{}, err
	}
	rssAnonKiB, err := statusKiB(string(status), "RssAnon:")
	if err != nil {
		return usage{}, err
	}
	runQueue, err := runQueueSeconds(pid)
	if err != nil {
		return usage{}, err
	}
	return usage{cpuSeconds: (utime + stime) / clockTicks, runQueueSeconds: runQueue, rssMiB: rssKiB / 1024, rssAnonMiB: rssAnonKiB / 1024}, nil
}

// statusKiB returns the value of a "<key> <n> kB" line of /proc/<pid>/status.
func statusKiB(status, key string) (float64, error) {
	for _, line := range strings.Split(status, "\n") {
		if rest, ok := strings.CutPrefix(line, key); ok {
			return strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
		}
	}
	return 0, fmt.Errorf("no %s line in /proc/<pid>/status", key)
}

// runQueueSeconds sums the second field of /proc/<pid>/task/<tid>/schedstat, the nanoseconds each thread spent
// waiting on a run queue (see the kernel's Documentation/scheduler/sched-stats.rst), over the current threads.
func runQueueSeconds(pid int) (float64, error) {
	paths, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", pid))
	if err != nil {
		return 0, err
	}
	var total float64
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			// The thread ended since the listing.
			continue
		}
		fields := strings.Fields(string(data))
		if len(fields) < 2 {
			return 0, fmt.Errorf("unexpected %s: %q", path, data)
		}
		waited, err := strconv.ParseFloat(fields[1], 64)
		if err != nil {
			return 0, err
		}
		total += waited / 1e9
	}
	return total, nil
}
