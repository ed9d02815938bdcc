package metal

// The keys of a backup secret (the Seed's spec.backup.credentialsRef, the BackupBucket's and BackupEntry's
// secretRef). They are the keys etcd-backup-restore's S3 snapstore reads from its credentials directory
// (gardener/etcd-backup-restore, pkg/snapstore/s3_snapstore.go, readAWSCredentialFromDir), so that the etcd-backup
// secret the BackupEntry controller writes into each shoot's control plane namespace works unchanged.
const (
	// BackupAccessKeyIDKey is the key holding the S3 access key ID.
	BackupAccessKeyIDKey = "accessKeyID"
	// BackupSecretAccessKeyKey is the key holding the S3 secret access key.
	BackupSecretAccessKeyKey = "secretAccessKey"
	// BackupRegionKey is the key holding the S3 region requests are signed for and buckets are created in.
	BackupRegionKey = "region"
	// BackupEndpointKey is the key holding the URL (http or https, with optional port) of an S3-compatible store.
	BackupEndpointKey = "endpoint"
	// BackupS3ForcePathStyleKey is the key holding "true" when buckets are addressed in the path
	// (https://host/bucket) instead of the host name (https://bucket.host).
	BackupS3ForcePathStyleKey = "s3ForcePathStyle"
	// BackupInsecureSkipVerifyKey is the key holding "true" when the store's TLS certificate is not verified.
	BackupInsecureSkipVerifyKey = "insecureSkipVerify"
	// BackupTrustedCACertKey is the key holding the PEM CA certificates the store's TLS certificate is verified with.
	BackupTrustedCACertKey = "trustedCaCert"

	// DefaultBackupRegion is the region used when neither the backup secret nor the BackupBucket names one, the
	// region S3-compatible stores use by default.
	DefaultBackupRegion = "us-east-1"
)
