package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// clockTicks is USER_HZ, the unit of the CPU times in /proc/<pid>/stat; it is 100 on every Linux architecture Go
// supports (see proc(5)).
const clockTicks = 100

// usage is a process's CPU time so far and its resident set size.
type usage struct {
	cpuSeconds float64
	rssMiB     float64
}

// readUsage reads utime and stime from /proc/<pid>/stat and VmRSS from /proc/<pid>/status.
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
	var rssKiB float64
	for _, line := range strings.Split(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			if rssKiB, err = strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64); err != nil {
				return usage{}, err
			}
		}
	}
	return usage{cpuSeconds: (utime + stime) / clockTicks, rssMiB: rssKiB / 1024}, nil
}
