package main

import (
	"runtime"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// nodeObject is the Node the process kubelet registers and keeps Ready.
func nodeObject(cfg *config) *corev1.Node {
	labels := map[string]string{
		corev1.LabelHostname:                 cfg.nodeName,
		corev1.LabelOSStable:                 "linux",
		corev1.LabelArchStable:               runtime.GOARCH,
		"node.kubernetes.io/process-kubelet": "true",
	}
	for k, v := range cfg.nodeLabels {
		labels[k] = v
	}
	addresses := []corev1.NodeAddress{{Type: corev1.NodeHostName, Address: cfg.nodeName}}
	if cfg.nodeIP != "" {
		addresses = append([]corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: cfg.nodeIP}}, addresses...)
	}
	now := metav1.Now()
	condition := func(t corev1.NodeConditionType, s corev1.ConditionStatus, reason, message string) corev1.NodeCondition {
		return corev1.NodeCondition{Type: t, Status: s, Reason: reason, Message: message, LastHeartbeatTime: now, LastTransitionTime: now}
	}
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: cfg.nodeName, Labels: labels},
		Spec:       corev1.NodeSpec{Taints: cfg.taints},
		Status: corev1.NodeStatus{
			Capacity:    cfg.capacity(),
			Allocatable: cfg.capacity(),
			Addresses:   addresses,
			Conditions: []corev1.NodeCondition{
				condition(corev1.NodeReady, corev1.ConditionTrue, "KubeletReady", "process kubelet is posting ready status"),
				condition(corev1.NodeMemoryPressure, corev1.ConditionFalse, "KubeletHasSufficientMemory", "no memory pressure"),
				condition(corev1.NodeDiskPressure, corev1.ConditionFalse, "KubeletHasNoDiskPressure", "no disk pressure"),
				condition(corev1.NodePIDPressure, corev1.ConditionFalse, "KubeletHasSufficientPID", "no PID pressure"),
			},
			DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: int32(cfg.kubeletPort)}},
			NodeInfo: corev1.NodeSystemInfo{
				SystemUUID:              cfg.systemUUID,
				MachineID:               cfg.systemUUID,
				KubeletVersion:          cfg.kubeletVersion,
				OperatingSystem:         "linux",
				Architecture:            runtime.GOARCH,
				ContainerRuntimeVersion: "process://",
				OSImage:                 "process kubelet",
			},
		},
	}
}
