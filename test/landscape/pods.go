package landscape

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// podState is what the landscape shows of a pod: its phase, ready containers and, for a container that does not
// run, why.
func podState(pod *corev1.Pod) string {
	ready := 0
	var waiting []string
	for _, status := range pod.Status.ContainerStatuses {
		if status.Ready {
			ready++
		}
		switch {
		case status.State.Waiting != nil && status.State.Waiting.Reason != "":
			reason := status.Name + ": " + status.State.Waiting.Reason
			if msg := status.State.Waiting.Message; msg != "" {
				reason += " (" + msg + ")"
			}
			waiting = append(waiting, reason)
		case status.State.Terminated != nil:
			waiting = append(waiting, fmt.Sprintf("%s: terminated %s, exit code %d", status.Name, status.State.Terminated.Reason, status.State.Terminated.ExitCode))
		}
	}
	phase := string(pod.Status.Phase)
	if pod.DeletionTimestamp != nil {
		phase = "Terminating"
	}
	state := fmt.Sprintf("%s %d/%d ready", phase, ready, len(pod.Spec.Containers))
	if pod.Spec.NodeName == "" {
		for _, cond := range pod.Status.Conditions {
			if cond.Type == corev1.PodScheduled && cond.Status == corev1.ConditionFalse {
				state += " unschedulable: " + cond.Message
			}
		}
	}
	if len(waiting) > 0 {
		state += " | " + strings.Join(waiting, "; ")
	}
	return state
}

// watchPods prints a line for every change of a seed pod's state until ctx ends.
func (l *landscape) watchPods(ctx context.Context, c client.Client, cluster string) {
	last := map[string]string{}
	for {
		pods := &corev1.PodList{}
		if err := c.List(ctx, pods); err == nil {
			seen := map[string]bool{}
			for i := range pods.Items {
				pod := &pods.Items[i]
				key := pod.Namespace + "/" + pod.Name
				seen[key] = true
				if state := podState(pod); state != last[key] {
					last[key] = state
					l.step(fmt.Sprintf("%s pod %s: %s%s", cluster, key, state, l.lastExits(pod)))
				}
			}
			for _, key := range slices.Sorted(maps.Keys(last)) {
				if !seen[key] {
					delete(last, key)
					l.step(fmt.Sprintf("%s pod %s: gone", cluster, key))
				}
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// lastExits names, for each container that exited since it last started, its exit code and the last line of its
// log (the process kubelet keeps the logs under <state>/pods/<namespace>/<pod>/<container>.log).
func (l *landscape) lastExits(pod *corev1.Pod) string {
	var exits []string
	for _, status := range pod.Status.ContainerStatuses {
		t := status.LastTerminationState.Terminated
		if t == nil || status.State.Running != nil {
			continue
		}
		exit := fmt.Sprintf("%s exited with %d", status.Name, t.ExitCode)
		if data, err := os.ReadFile(l.path(filepath.Join("pods", pod.Namespace, pod.Name, status.Name+".log"))); err == nil {
			// The last line the container wrote, not the process kubelet's own markers ("==== process-kubelet ...").
			lines := slices.DeleteFunc(strings.Split(strings.TrimSpace(string(data)), "\n"), func(line string) bool {
				return strings.HasPrefix(line, "==== process-kubelet ")
			})
			if len(lines) == 0 {
				exits = append(exits, exit)
				continue
			}
			line := lines[len(lines)-1]
			if len(line) > 300 {
				line = line[:300] + "…"
			}
			exit += ", last log line: " + line
		}
		exits = append(exits, exit)
	}
	if len(exits) == 0 {
		return ""
	}
	return " | " + strings.Join(exits, "; ")
}

// podSummary lists the pods of a cluster with their containers' images, for the landscape's summary.
func podSummary(ctx context.Context, c client.Client) ([]string, error) {
	pods := &corev1.PodList{}
	if err := c.List(ctx, pods); err != nil {
		return nil, err
	}
	var lines []string
	for i := range pods.Items {
		pod := &pods.Items[i]
		var containers []string
		for _, container := range pod.Spec.Containers {
			containers = append(containers, container.Name)
		}
		lines = append(lines, fmt.Sprintf("%-60s %-8s containers %s | %s", pod.Namespace+"/"+pod.Name, pod.Spec.NodeName,
			strings.Join(containers, ","), podState(pod)))
	}
	slices.Sort(lines)
	return lines, nil
}
