package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// childCommand is the hidden first argument with which the process kubelet re-executes itself to start a
// container: the re-executed child sets up the container's mount namespace and credentials, then execs the
// container's binary in place (so the pid the kubelet sees is the container's).
const childCommand = "__process-kubelet-container"

// childSpecEnv carries the JSON childSpec to the child; the child removes it before exec.
const childSpecEnv = "PROCESS_KUBELET_CHILD_SPEC"

// childSpec is what the child needs to become the container process.
type childSpec struct {
	// Path is the executable: absolute, or looked up in the container environment's PATH.
	Path         string       `json:"path"`
	Args         []string     `json:"args"`
	Env          []string     `json:"env"`
	WorkingDir   string       `json:"workingDir,omitempty"`
	Mounts       []childMount `json:"mounts,omitempty"`
	ReadOnlyRoot bool         `json:"readOnlyRoot,omitempty"`
	UID          *int64       `json:"uid,omitempty"`
	GID          *int64       `json:"gid,omitempty"`
	// ScratchDir is an existing, empty host directory on which the child mounts a private tmpfs that holds the
	// upper layers of the overlays it uses to create missing mount points.
	ScratchDir string `json:"scratchDir"`
}

// childMount is one bind mount of a host path onto a path of the container's view.
type childMount struct {
	Source   string `json:"source"`
	Target   string `json:"target"`
	ReadOnly bool   `json:"readOnly,omitempty"`
	// File says the source is a file (a subPath to a file), so a missing target is created as an empty file.
	File bool `json:"file,omitempty"`
}

// childExitSetupFailed is the exit code of a child that could not become the container (mounts, credentials,
// exec); the kubelet reports the container as terminated with reason StartError.
const childExitSetupFailed = 128

// runChild is the hidden subcommand. It runs in the mount namespace the kubelet created with CLONE_NEWNS and
// in the pod's network namespace; it never returns.
func runChild() {
	var spec childSpec
	if err := json.Unmarshal([]byte(os.Getenv(childSpecEnv)), &spec); err != nil {
		fmt.Fprintf(os.Stderr, "process-kubelet: reading the container spec: %v\n", err)
		os.Exit(childExitSetupFailed)
	}
	if err := becomeContainer(&spec); err != nil {
		fmt.Fprintf(os.Stderr, "process-kubelet: starting the container: %v\n", err)
		os.Exit(childExitSetupFailed)
	}
}

func becomeContainer(spec *childSpec) error {
	if err := setupMounts(spec); err != nil {
		return err
	}
	if spec.WorkingDir != "" {
		if err := os.Chdir(spec.WorkingDir); err != nil {
			return fmt.Errorf("entering workingDir: %w", err)
		}
	} else if err := os.Chdir("/"); err != nil {
		return err
	}
	path, err := resolveExecutable(spec.Path, spec.Env)
	if err != nil {
		return err
	}
	if err := dropCredentials(spec); err != nil {
		return err
	}
	// Changing credentials clears the parent-death signal (kernel commit_creds); set it again so the container
	// dies with the kubelet's pod thread.
	if err := unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0, 0, 0); err != nil {
		return fmt.Errorf("setting the parent-death signal: %w", err)
	}
	if os.Getppid() == 1 {
		return errors.New("the process kubelet is gone")
	}
	return syscall.Exec(path, spec.Args, spec.Env)
}

// dropCredentials applies runAsGroup and runAsUser; the supplementary groups are reduced to the group.
func dropCredentials(spec *childSpec) error {
	if spec.GID != nil {
		if err := syscall.Setgroups([]int{int(*spec.GID)}); err != nil {
			return fmt.Errorf("setting groups: %w", err)
		}
		if err := syscall.Setgid(int(*spec.GID)); err != nil {
			return fmt.Errorf("setting runAsGroup: %w", err)
		}
	}
	if spec.UID != nil {
		if err := syscall.Setuid(int(*spec.UID)); err != nil {
			return fmt.Errorf("setting runAsUser: %w", err)
		}
	}
	return nil
}

// resolveExecutable finds a command without a slash in the PATH of the container environment (as container
// runtimes do), not in the kubelet's.
func resolveExecutable(path string, env []string) (string, error) {
	if strings.Contains(path, "/") {
		return path, nil
	}
	searchPath := "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			searchPath = v
		}
	}
	for _, dir := range filepath.SplitList(searchPath) {
		candidate := filepath.Join(dir, path)
		if fi, err := os.Stat(candidate); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return candidate, nil
		}
	}
	return "", fmt.Errorf("executable %q not found in PATH %s: %w", path, searchPath, exec.ErrNotFound)
}

// mounter creates the container's mount view in the private mount namespace.
type mounter struct {
	scratch    string
	scratchUp  bool
	overlays   []string
	overlayNum int
}

// setupMounts makes the namespace private, opens every source (before any overlay can hide it), creates the
// missing mount points, bind-mounts the volumes and finally makes / read-only when asked.
func setupMounts(spec *childSpec) error {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("making / private in the mount namespace: %w", err)
	}
	sources := make([]*os.File, len(spec.Mounts))
	for i, m := range spec.Mounts {
		f, err := os.OpenFile(m.Source, unix.O_PATH|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("opening volume source %s: %w", m.Source, err)
		}
		sources[i] = f
	}
	mt := &mounter{scratch: spec.ScratchDir}
	if spec.WorkingDir != "" {
		if err := mt.ensure(spec.WorkingDir, false); err != nil {
			return fmt.Errorf("creating workingDir %s: %w", spec.WorkingDir, err)
		}
	}
	// Parents before children, as the kubelet sorts mounts, so that a mount inside another volume lands on it.
	order := make([]int, len(spec.Mounts))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool {
		return filepath.Clean(spec.Mounts[order[a]].Target) < filepath.Clean(spec.Mounts[order[b]].Target)
	})
	for _, i := range order {
		m := spec.Mounts[i]
		if err := mt.ensure(m.Target, m.File); err != nil {
			return fmt.Errorf("creating mount point %s: %w", m.Target, err)
		}
		src := fmt.Sprintf("/proc/self/fd/%d", sources[i].Fd())
		if err := unix.Mount(src, m.Target, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return fmt.Errorf("bind-mounting %s onto %s: %w", m.Source, m.Target, err)
		}
		if m.ReadOnly {
			if err := unix.Mount("", m.Target, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY, ""); err != nil {
				return fmt.Errorf("making %s read-only: %w", m.Target, err)
			}
		}
		_ = sources[i].Close()
	}
	if spec.ReadOnlyRoot {
		// The overlays that hold created mount points are part of the root file system as the container sees it.
		for _, dir := range append(mt.overlays, "/") {
			if err := unix.Mount("", dir, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY, ""); err != nil {
				return fmt.Errorf("making %s read-only: %w", dir, err)
			}
		}
	}
	return nil
}

// ensure makes path exist in the container's view. A missing path is created inside an overlay mounted on its
// deepest existing ancestor directory, whose upper layer lives on the private tmpfs: the host's file system is
// not changed. Only when that ancestor is / (an overlay there would hide /proc, /dev, ...) or the overlay
// cannot be mounted are the missing directories created on the host.
func (mt *mounter) ensure(path string, file bool) error {
	path = filepath.Clean(path)
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	ancestor := filepath.Dir(path)
	for {
		if fi, err := os.Stat(ancestor); err == nil && fi.IsDir() {
			break
		}
		ancestor = filepath.Dir(ancestor)
	}
	resolved, err := filepath.EvalSymlinks(ancestor)
	if err != nil {
		return err
	}
	if resolved != "/" && !mt.overlaid(resolved) {
		if err := mt.overlay(resolved); err != nil {
			fmt.Fprintf(os.Stderr, "process-kubelet: no overlay on %s (%v); creating %s on the host\n", resolved, err, path)
		}
	}
	return create(path, file)
}

func create(path string, file bool) error {
	if !file {
		return os.MkdirAll(path, 0o755)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	return f.Close()
}

func (mt *mounter) overlaid(dir string) bool {
	for _, o := range mt.overlays {
		if dir == o || strings.HasPrefix(dir, o+"/") {
			return true
		}
	}
	return false
}

// overlay mounts an overlay on dir with dir itself as the lower layer, then binds the mounts that were below
// dir (an overlay sees only dir's own file system) back into place from the original tree.
func (mt *mounter) overlay(dir string) error {
	if !mt.scratchUp {
		if err := unix.Mount("tmpfs", mt.scratch, "tmpfs", 0, "mode=0755"); err != nil {
			return fmt.Errorf("mounting the scratch tmpfs: %w", err)
		}
		mt.scratchUp = true
	}
	mt.overlayNum++
	layer := filepath.Join(mt.scratch, strconv.Itoa(mt.overlayNum))
	upper, work := filepath.Join(layer, "upper"), filepath.Join(layer, "work")
	for _, d := range []string{upper, work} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	if fi, err := os.Stat(dir); err == nil {
		// The overlay root takes its mode and owner from the upper directory.
		_ = os.Chmod(upper, fi.Mode().Perm())
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			_ = os.Chown(upper, int(st.Uid), int(st.Gid))
		}
	}
	submounts, err := submountsBelow(dir)
	if err != nil {
		return err
	}
	original, err := os.OpenFile(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer func() { _ = original.Close() }()
	opts := fmt.Sprintf("lowerdir=%s,upperdir=%s,workdir=%s", dir, upper, work)
	if err := unix.Mount("overlay", dir, "overlay", 0, opts); err != nil {
		return fmt.Errorf("mounting an overlay on %s: %w", dir, err)
	}
	for _, sub := range submounts {
		rel, _ := filepath.Rel(dir, sub)
		src := fmt.Sprintf("/proc/self/fd/%d/%s", original.Fd(), rel)
		if err := unix.Mount(src, sub, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return fmt.Errorf("binding %s back under the overlay: %w", sub, err)
		}
	}
	mt.overlays = append(mt.overlays, dir)
	return nil
}

// submountsBelow lists the outermost mount points strictly below dir (from /proc/self/mountinfo).
func submountsBelow(dir string) ([]string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	var below []string
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		fields := strings.Fields(scanner.Text())
		if len(fields) < 5 {
			continue
		}
		mp := unescapeMountinfo(fields[4])
		if strings.HasPrefix(mp, dir+"/") {
			below = append(below, mp)
		}
	}
	if err := scanner.Err(); err != nil {
		return nil, err
	}
	sort.Strings(below)
	var outermost []string
	for _, mp := range below {
		if n := len(outermost); n > 0 && (mp == outermost[n-1] || strings.HasPrefix(mp, outermost[n-1]+"/")) {
			continue
		}
		outermost = append(outermost, mp)
	}
	return outermost, nil
}

// unescapeMountinfo decodes the octal escapes (\040 for a space, ...) of a mountinfo path.
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
