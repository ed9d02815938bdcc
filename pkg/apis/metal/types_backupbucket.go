package metal

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// BackupBucketStatus is the status the BackupBucket controller reports: where the bucket is.
type BackupBucketStatus struct {
	metav1.TypeMeta

	// BucketName is the name of the bucket in the object store.
	BucketName string
	// Region is the region the bucket was created in.
	Region string
	// Endpoint is the URL of the S3-compatible store; empty for AWS S3.
	Endpoint string
}
