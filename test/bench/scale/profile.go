package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// profiler fetches Go profiles from the extension's pprof endpoints (`--pprof-bind-address`) into the benchmark's
// folder: a CPU profile from the start of each phase and a heap profile at its end.
type profiler struct {
	address string
	dir     string
	seconds int
}

// cpu fetches a CPU profile of the next p.seconds into <phase>.cpu.pprof; it returns at once and reports through
// the returned channel when the profile is written.
func (p *profiler) cpu(ctx context.Context, phase string) <-chan error {
	done := make(chan error, 1)
	go func() {
		done <- p.fetch(ctx, fmt.Sprintf("/debug/pprof/profile?seconds=%d", p.seconds), phase+".cpu.pprof")
	}()
	return done
}

// heap fetches the heap profile after a garbage collection into <phase>.heap.pprof.
func (p *profiler) heap(ctx context.Context, phase string) error {
	return p.fetch(ctx, "/debug/pprof/heap?gc=1", phase+".heap.pprof")
}

func (p *profiler) fetch(ctx context.Context, path, file string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Duration(p.seconds)*time.Second+time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+p.address+path, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("fetching %s: %w", path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("fetching %s: %s", path, resp.Status)
	}
	out, err := os.Create(filepath.Join(p.dir, file))
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, resp.Body); err != nil {
		_ = out.Close()
		return err
	}
	return out.Close()
}
