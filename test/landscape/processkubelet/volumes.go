package main

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// file is one file of a volume's payload.
type file struct {
	data []byte
	mode fs.FileMode
}

// owner is who owns a volume's files; -1 leaves the kubelet's own id.
type owner struct{ uid, gid int }

// volumes materializes a pod's volumes under <pod dir>/volumes/<volume>/ and keeps them current.
type volumes struct {
	dir     string
	client  kubernetes.Interface
	objects objects
	owner   owner
	tokens  map[string]*cachedToken
	// claimed holds the host path of each persistentVolumeClaim volume, once its claim is bound.
	claimed map[string]string
}

type cachedToken struct {
	token     string
	refreshAt time.Time
}

func newVolumes(dir string, client kubernetes.Interface, obj objects, o owner) *volumes {
	return &volumes{dir: dir, client: client, objects: obj, owner: o, tokens: map[string]*cachedToken{}, claimed: map[string]string{}}
}

// path is the host directory that holds a volume: the volume directory, or the host path of a hostPath volume.
func (v *volumes) path(pod *corev1.Pod, name string) (string, error) {
	for _, vol := range pod.Spec.Volumes {
		if vol.Name != name {
			continue
		}
		if vol.HostPath != nil {
			return vol.HostPath.Path, nil
		}
		if vol.PersistentVolumeClaim != nil {
			if p, ok := v.claimed[name]; ok {
				return p, nil
			}
			return "", fmt.Errorf("the claim of volume %q is not bound", name)
		}
		return filepath.Join(v.dir, name), nil
	}
	return "", fmt.Errorf("no volume %q in the pod", name)
}

// sync writes every volume whose content differs from what is on disk; emptyDirs are created once.
func (v *volumes) sync(ctx context.Context, facts podFacts) error {
	for i := range facts.pod.Spec.Volumes {
		vol := &facts.pod.Spec.Volumes[i]
		if err := v.syncVolume(ctx, facts, vol); err != nil {
			return fmt.Errorf("volume %s: %w", vol.Name, err)
		}
	}
	return nil
}

func (v *volumes) syncVolume(ctx context.Context, facts podFacts, vol *corev1.Volume) error {
	dir := filepath.Join(v.dir, vol.Name)
	switch {
	case vol.EmptyDir != nil:
		if err := os.MkdirAll(dir, 0o777); err != nil {
			return err
		}
		// Like the kubelet's emptyDir: writable by every user of the pod.
		return os.Chmod(dir, 0o777)
	case vol.HostPath != nil:
		t := corev1.HostPathUnset
		if vol.HostPath.Type != nil {
			t = *vol.HostPath.Type
		}
		if t == corev1.HostPathDirectoryOrCreate {
			return os.MkdirAll(vol.HostPath.Path, 0o755)
		}
		return nil
	case vol.PersistentVolumeClaim != nil:
		p, err := v.claimPath(ctx, facts.pod.Namespace, vol.PersistentVolumeClaim.ClaimName)
		if err != nil {
			return err
		}
		v.claimed[vol.Name] = p
		return nil
	}
	payload, err := v.payload(ctx, facts, vol)
	if err != nil {
		return err
	}
	return writeAtomic(dir, payload, v.owner)
}

func (v *volumes) payload(ctx context.Context, facts podFacts, vol *corev1.Volume) (map[string]file, error) {
	ns := facts.pod.Namespace
	payload := map[string]file{}
	switch {
	case vol.Secret != nil:
		return payload, v.secretFiles(ctx, ns, vol.Secret.SecretName, vol.Secret.Items, vol.Secret.Optional, mode(vol.Secret.DefaultMode), payload)
	case vol.ConfigMap != nil:
		return payload, v.configMapFiles(ctx, ns, vol.ConfigMap.Name, vol.ConfigMap.Items, vol.ConfigMap.Optional, mode(vol.ConfigMap.DefaultMode), payload)
	case vol.DownwardAPI != nil:
		return payload, downwardFiles(facts, vol.DownwardAPI.Items, mode(vol.DownwardAPI.DefaultMode), payload)
	case vol.Projected != nil:
		def := mode(vol.Projected.DefaultMode)
		for _, src := range vol.Projected.Sources {
			var err error
			switch {
			case src.Secret != nil:
				err = v.secretFiles(ctx, ns, src.Secret.Name, src.Secret.Items, src.Secret.Optional, def, payload)
			case src.ConfigMap != nil:
				err = v.configMapFiles(ctx, ns, src.ConfigMap.Name, src.ConfigMap.Items, src.ConfigMap.Optional, def, payload)
			case src.DownwardAPI != nil:
				err = downwardFiles(facts, src.DownwardAPI.Items, def, payload)
			case src.ServiceAccountToken != nil:
				var token string
				if token, err = v.token(ctx, facts.pod, src.ServiceAccountToken); err == nil {
					payload[src.ServiceAccountToken.Path] = file{data: []byte(token), mode: def}
				}
			default:
				err = fmt.Errorf("unsupported projected source (only secret, configMap, downwardAPI, serviceAccountToken)")
			}
			if err != nil {
				return nil, err
			}
		}
		return payload, nil
	}
	return nil, fmt.Errorf("unsupported volume type (only secret, configMap, projected, downwardAPI, emptyDir, hostPath)")
}

// mode is a volume's defaultMode; 0644 when unset, as in the API defaults.
func mode(m *int32) fs.FileMode {
	if m == nil {
		return 0o644
	}
	return fs.FileMode(*m)
}

func itemMode(m *int32, def fs.FileMode) fs.FileMode {
	if m == nil {
		return def
	}
	return fs.FileMode(*m)
}

// project maps data to files: all keys, or the listed items (a missing listed key is an error unless optional).
func project(data map[string][]byte, items []corev1.KeyToPath, opt *bool, def fs.FileMode, what string, payload map[string]file) error {
	if len(items) == 0 {
		for k, d := range data {
			payload[k] = file{data: d, mode: def}
		}
		return nil
	}
	for _, item := range items {
		d, ok := data[item.Key]
		if !ok {
			if optional(opt) {
				continue
			}
			return fmt.Errorf("%s has no key %s", what, item.Key)
		}
		payload[item.Path] = file{data: d, mode: itemMode(item.Mode, def)}
	}
	return nil
}

func (v *volumes) secretFiles(ctx context.Context, ns, name string, items []corev1.KeyToPath, opt *bool, def fs.FileMode, payload map[string]file) error {
	s, err := v.objects.secret(ctx, ns, name)
	if err != nil {
		if apierrors.IsNotFound(err) && optional(opt) {
			return nil
		}
		return fmt.Errorf("secret %s: %w", name, err)
	}
	return project(s.Data, items, opt, def, "secret "+name, payload)
}

func (v *volumes) configMapFiles(ctx context.Context, ns, name string, items []corev1.KeyToPath, opt *bool, def fs.FileMode, payload map[string]file) error {
	cm, err := v.objects.configMap(ctx, ns, name)
	if err != nil {
		if apierrors.IsNotFound(err) && optional(opt) {
			return nil
		}
		return fmt.Errorf("configMap %s: %w", name, err)
	}
	data := map[string][]byte{}
	for k, d := range cm.Data {
		data[k] = []byte(d)
	}
	for k, d := range cm.BinaryData {
		data[k] = d
	}
	return project(data, items, opt, def, "configMap "+name, payload)
}

func downwardFiles(facts podFacts, items []corev1.DownwardAPIVolumeFile, def fs.FileMode, payload map[string]file) error {
	for _, item := range items {
		var (
			value string
			err   error
		)
		switch {
		case item.FieldRef != nil:
			value, err = fieldValue(facts, item.FieldRef.FieldPath)
		case item.ResourceFieldRef != nil:
			value, err = resourceValue(facts, &corev1.Container{}, item.ResourceFieldRef)
		}
		if err != nil {
			return fmt.Errorf("downwardAPI %s: %w", item.Path, err)
		}
		payload[item.Path] = file{data: []byte(value), mode: itemMode(item.Mode, def)}
	}
	return nil
}

// token returns a token of the pod's ServiceAccount bound to the pod, requested anew once 80% of the previous
// one's lifetime has passed (the kubelet's token manager refreshes at 80% too, pkg/kubelet/token).
func (v *volumes) token(ctx context.Context, pod *corev1.Pod, src *corev1.ServiceAccountTokenProjection) (string, error) {
	exp := int64(3600)
	if src.ExpirationSeconds != nil {
		exp = *src.ExpirationSeconds
	}
	key := fmt.Sprintf("%s/%d", src.Audience, exp)
	if t, ok := v.tokens[key]; ok && time.Now().Before(t.refreshAt) {
		return t.token, nil
	}
	sa := pod.Spec.ServiceAccountName
	if sa == "" {
		sa = "default"
	}
	req := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
		ExpirationSeconds: &exp,
		BoundObjectRef:    &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: pod.Name, UID: pod.UID},
	}}
	if src.Audience != "" {
		req.Spec.Audiences = []string{src.Audience}
	}
	issued := time.Now()
	resp, err := v.client.CoreV1().ServiceAccounts(pod.Namespace).CreateToken(ctx, sa, req, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("requesting a token of ServiceAccount %s: %w", sa, err)
	}
	// Like the kubelet, refresh by the requested lifetime even when the API server issued a longer one
	// (--service-account-extend-token-expiration).
	lifetime := min(resp.Status.ExpirationTimestamp.Sub(issued), time.Duration(exp)*time.Second)
	v.tokens[key] = &cachedToken{token: resp.Status.Token, refreshAt: issued.Add(lifetime * 8 / 10)}
	return resp.Status.Token, nil
}

// writeAtomic makes dir show exactly payload, switching all files at once in the way of the kubelet's
// AtomicWriter (pkg/volume/util/atomic_writer.go): the files live in a fresh ..<timestamp> directory, the
// ..data symlink is replaced by rename to point at it, and every top-level name is a symlink through ..data.
// A reader (or a bind mount of dir) thus never sees a half-written update. Nothing is written when the
// content and modes are unchanged.
func writeAtomic(dir string, payload map[string]file, o owner) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	dataLink := filepath.Join(dir, "..data")
	if same(dataLink, payload) {
		return nil
	}
	old, _ := os.Readlink(dataLink)
	ts, err := os.MkdirTemp(dir, ".."+time.Now().UTC().Format("2006_01_02_15_04_05.")+"")
	if err != nil {
		return err
	}
	if err := os.Chmod(ts, 0o755); err != nil {
		return err
	}
	for p, f := range payload {
		target := filepath.Join(ts, p)
		if !strings.HasPrefix(target, ts+"/") {
			return fmt.Errorf("path %q leaves the volume", p)
		}
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(target, f.data, f.mode); err != nil {
			return err
		}
		if err := os.Chmod(target, f.mode); err != nil {
			return err
		}
		if o.uid >= 0 || o.gid >= 0 {
			if err := os.Lchown(target, o.uid, o.gid); err != nil {
				return err
			}
		}
	}
	tmpLink := filepath.Join(dir, "..data_tmp")
	_ = os.Remove(tmpLink)
	if err := os.Symlink(filepath.Base(ts), tmpLink); err != nil {
		return err
	}
	if err := os.Rename(tmpLink, dataLink); err != nil {
		return err
	}
	top := map[string]bool{}
	for p := range payload {
		top[strings.Split(filepath.Clean(p), "/")[0]] = true
	}
	for name := range top {
		link := filepath.Join(dir, name)
		if _, err := os.Lstat(link); err == nil {
			continue
		}
		if err := os.Symlink(filepath.Join("..data", name), link); err != nil {
			return err
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), "..") && !top[e.Name()] {
			_ = os.Remove(filepath.Join(dir, e.Name()))
		}
	}
	if old != "" && old != filepath.Base(ts) {
		_ = os.RemoveAll(filepath.Join(dir, old))
	}
	return nil
}

// same reports whether the directory behind dataLink holds exactly payload with the same modes.
func same(dataLink string, payload map[string]file) bool {
	current, err := filepath.EvalSymlinks(dataLink)
	if err != nil {
		return false
	}
	count := 0
	walkErr := filepath.WalkDir(current, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(current, p)
		f, ok := payload[rel]
		if !ok {
			return fs.ErrNotExist
		}
		info, err := d.Info()
		if err != nil || info.Mode().Perm() != f.mode.Perm() {
			return fs.ErrInvalid
		}
		data, err := os.ReadFile(p)
		if err != nil || !bytes.Equal(data, f.data) {
			return fs.ErrInvalid
		}
		count++
		return nil
	})
	return walkErr == nil && count == len(payload)
}

// claimPath is the host directory of a bound claim's PersistentVolume, as the kubelet mounts a local or hostPath
// PersistentVolume (the path must exist on the node; the kubelet creates nothing for a local volume). Other
// volume types have no node-local path here.
func (v *volumes) claimPath(ctx context.Context, ns, name string) (string, error) {
	claim, err := v.client.CoreV1().PersistentVolumeClaims(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return "", fmt.Errorf("reading PersistentVolumeClaim %s: %w", name, err)
	}
	if claim.Spec.VolumeName == "" || claim.Status.Phase != corev1.ClaimBound {
		return "", fmt.Errorf("PersistentVolumeClaim %s is not bound yet", name)
	}
	pv, err := v.client.CoreV1().PersistentVolumes().Get(ctx, claim.Spec.VolumeName, metav1.GetOptions{})
	if err != nil {
		return "", fmt.Errorf("reading PersistentVolume %s of claim %s: %w", claim.Spec.VolumeName, name, err)
	}
	var path string
	switch {
	case pv.Spec.Local != nil:
		path = pv.Spec.Local.Path
	case pv.Spec.HostPath != nil:
		path = pv.Spec.HostPath.Path
	default:
		return "", fmt.Errorf("PersistentVolume %s is neither local nor hostPath; the process kubelet mounts only those", pv.Name)
	}
	if info, err := os.Stat(path); err != nil || !info.IsDir() {
		return "", fmt.Errorf("path %s of PersistentVolume %s is not a directory on this node", path, pv.Name)
	}
	return path, nil
}
