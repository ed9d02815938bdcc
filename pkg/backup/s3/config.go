// Package s3 is the client of the BackupBucket and BackupEntry controllers for S3-compatible object stores: it
// reads a backup secret (the keys of etcd-backup-restore's S3 snapstore), creates and deletes buckets and deletes
// the objects under a prefix in batches. It uses minio-go, with retries and per-request timeouts.
package s3

import (
	"fmt"
	"net/url"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal/validation"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/metal"
)

// Config is what a backup secret says about the store and the credentials.
type Config struct {
	// AccessKeyID and SecretAccessKey are the static credentials.
	AccessKeyID     string
	SecretAccessKey string
	// Region is the region requests are signed for and buckets are created in.
	Region string
	// Endpoint is the URL of an S3-compatible store; nil means AWS S3.
	Endpoint *url.URL
	// ForcePathStyle addresses buckets in the path instead of the host name.
	ForcePathStyle bool
	// InsecureSkipVerify skips the verification of the store's TLS certificate.
	InsecureSkipVerify bool
	// TrustedCACert holds PEM CA certificates that verify the store's TLS certificate instead of the system's.
	TrustedCACert []byte
}

// ConfigFromSecret validates the backup secret and returns its configuration. The region is the secret's, else
// defaultRegion (the BackupBucket's or BackupEntry's spec.region), else metal.DefaultBackupRegion. Invalid
// secrets yield an error wrapping ErrConfiguration that names the secret and the offending keys, never a value.
func ConfigFromSecret(secret *corev1.Secret, defaultRegion string) (Config, error) {
	path := field.NewPath("secret").Key(secret.Namespace + "/" + secret.Name)
	if errs := validation.ValidateBackupSecret(secret, path); len(errs) > 0 {
		return Config{}, fmt.Errorf("%w: %s", ErrConfiguration, errs.ToAggregate().Error())
	}

	cfg := Config{
		AccessKeyID:     string(secret.Data[metal.BackupAccessKeyIDKey]),
		SecretAccessKey: string(secret.Data[metal.BackupSecretAccessKeyKey]),
		Region:          Region(secret.Data, defaultRegion),
		TrustedCACert:   secret.Data[metal.BackupTrustedCACertKey],
	}
	// Validated above: the values parse.
	cfg.ForcePathStyle, _ = strconv.ParseBool(string(secret.Data[metal.BackupS3ForcePathStyleKey]))
	cfg.InsecureSkipVerify, _ = strconv.ParseBool(string(secret.Data[metal.BackupInsecureSkipVerifyKey]))
	if raw, ok := secret.Data[metal.BackupEndpointKey]; ok {
		cfg.Endpoint, _ = url.Parse(string(raw))
	}
	return cfg, nil
}

// Region is the region of a backup secret's data: its region key, else defaultRegion, else
// metal.DefaultBackupRegion.
func Region(data map[string][]byte, defaultRegion string) string {
	if region := string(data[metal.BackupRegionKey]); region != "" {
		return region
	}
	if defaultRegion != "" {
		return defaultRegion
	}
	return metal.DefaultBackupRegion
}
