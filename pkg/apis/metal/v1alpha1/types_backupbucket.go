package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// BackupBucketStatus is the status the BackupBucket controller reports: where the bucket is.
type BackupBucketStatus struct {
	metav1.TypeMeta `json:",inline"`

	// BucketName is the name of the bucket in the object store.
	BucketName string `json:"bucketName"`
	// Region is the region the bucket was created in.
	Region string `json:"region"`
	// Endpoint is the URL of the S3-compatible store; empty for AWS S3.
	// +optional
	Endpoint string `json:"endpoint,omitempty"`
}
