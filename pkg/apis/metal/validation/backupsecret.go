package validation

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	securityv1alpha1constants "github.com/gardener/gardener/pkg/apis/security/v1alpha1/constants"

	providermetal "github.com/openkcm/gardener-extension-provider-metal/pkg/metal"
)

// backupRegionPattern is what S3 region names are made of (AWS and the S3-compatible stores alike).
var backupRegionPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)

// ValidateBackupSecret validates a backup secret: the credentials and the S3-compatible store the BackupBucket and
// BackupEntry controllers and etcd-backup-restore use. The keys and their formats are those etcd-backup-restore's
// S3 snapstore reads (gardener/etcd-backup-restore, pkg/snapstore/s3_snapstore.go): it reads each key's file
// as is, so values must not carry surrounding whitespace, and parses the booleans with strconv.ParseBool.
// accessKeyID and secretAccessKey are required; region, endpoint, s3ForcePathStyle, insecureSkipVerify and
// trustedCaCert are optional. Errors carry the key's field path and never a value of the secret.
func ValidateBackupSecret(secret *corev1.Secret, fldPath *field.Path) field.ErrorList {
	if secret == nil {
		return field.ErrorList{field.Required(fldPath, "must provide a secret")}
	}
	if secret.Labels[securityv1alpha1constants.LabelPurpose] == securityv1alpha1constants.LabelPurposeWorkloadIdentityTokenRequestor {
		return field.ErrorList{field.Forbidden(fldPath.Child("metadata", "labels").Key(securityv1alpha1constants.LabelPurpose),
			"workload identity is not supported for backups on S3-compatible stores; use a secret with static credentials")}
	}
	dataPath := fldPath.Child("data")
	allErrs := field.ErrorList{}

	for _, key := range []string{providermetal.BackupAccessKeyIDKey, providermetal.BackupSecretAccessKeyKey} {
		allErrs = append(allErrs, validateCredential(secret.Data, key, dataPath.Key(key))...)
	}
	if region, ok := secret.Data[providermetal.BackupRegionKey]; ok && !backupRegionPattern.Match(region) {
		allErrs = append(allErrs, field.Invalid(dataPath.Key(providermetal.BackupRegionKey), string(region),
			"must be a region name of letters, digits, '.', '_' and '-' (at most 63 characters)"))
	}

	_, pathStyleErrs := validateBool(secret.Data, providermetal.BackupS3ForcePathStyleKey, dataPath)
	insecure, insecureErrs := validateBool(secret.Data, providermetal.BackupInsecureSkipVerifyKey, dataPath)
	allErrs = append(allErrs, pathStyleErrs...)
	allErrs = append(allErrs, insecureErrs...)

	var endpoint *url.URL
	if raw, ok := secret.Data[providermetal.BackupEndpointKey]; ok {
		var errs field.ErrorList
		endpoint, errs = validateBackupEndpoint(string(raw), dataPath.Key(providermetal.BackupEndpointKey))
		allErrs = append(allErrs, errs...)
	}
	if caCert, ok := secret.Data[providermetal.BackupTrustedCACertKey]; ok {
		caPath := dataPath.Key(providermetal.BackupTrustedCACertKey)
		allErrs = append(allErrs, validateCACert(caCert, caPath)...)
		if insecure {
			allErrs = append(allErrs, field.Forbidden(caPath, "must not be set together with insecureSkipVerify=true"))
		}
		if endpoint != nil && endpoint.Scheme != "https" {
			allErrs = append(allErrs, field.Forbidden(caPath, "requires an https endpoint"))
		}
	}
	return allErrs
}

// validateCredential checks that a credential is present, not empty and free of whitespace (a trailing newline
// from `echo` would be sent as part of the key). The value never appears in an error.
func validateCredential(data map[string][]byte, key string, fldPath *field.Path) field.ErrorList {
	value, ok := data[key]
	if !ok || len(value) == 0 {
		return field.ErrorList{field.Required(fldPath, "must provide "+key)}
	}
	if strings.ContainsFunc(string(value), func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return field.ErrorList{field.Invalid(fldPath, "(hidden)", "must not contain whitespace or control characters")}
	}
	return nil
}

// validateBool checks an optional boolean key as etcd-backup-restore parses it (strconv.ParseBool of the exact
// value) and returns its value, false when absent or invalid.
func validateBool(data map[string][]byte, key string, dataPath *field.Path) (bool, field.ErrorList) {
	raw, ok := data[key]
	if !ok {
		return false, nil
	}
	value, err := strconv.ParseBool(string(raw))
	if err != nil {
		return false, field.ErrorList{field.Invalid(dataPath.Key(key), string(raw), "must be true or false")}
	}
	return value, nil
}

// validateBackupEndpoint checks that the endpoint is an http(s) URL of a host with an optional port and nothing
// else, and returns it parsed.
func validateBackupEndpoint(raw string, fldPath *field.Path) (*url.URL, field.ErrorList) {
	endpoint, err := url.Parse(raw)
	// The unparsable value is not repeated: it might hold credentials.
	if err != nil || raw != strings.TrimSpace(raw) {
		return nil, field.ErrorList{field.Invalid(fldPath, "(not a URL)", "must be a URL such as https://s3.example.org:8443, without surrounding whitespace")}
	}
	allErrs := field.ErrorList{}
	if endpoint.Scheme != "https" && endpoint.Scheme != "http" {
		allErrs = append(allErrs, field.NotSupported(fldPath.Child("scheme"), endpoint.Scheme, []string{"https", "http"}))
	}
	if endpoint.Hostname() == "" {
		allErrs = append(allErrs, field.Required(fldPath.Child("host"), "must name the host of the S3-compatible store"))
	}
	if port := endpoint.Port(); port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			allErrs = append(allErrs, field.Invalid(fldPath.Child("port"), port, "must be a port number between 1 and 65535"))
		}
	}
	if endpoint.User != nil {
		allErrs = append(allErrs, field.Forbidden(fldPath.Child("userinfo"), "credentials belong into accessKeyID and secretAccessKey"))
	}
	if (endpoint.Path != "" && endpoint.Path != "/") || endpoint.RawQuery != "" || endpoint.Fragment != "" {
		allErrs = append(allErrs, field.Invalid(fldPath, endpoint.Redacted(), "must not have a path, query or fragment"))
	}
	if len(allErrs) > 0 {
		return nil, allErrs
	}
	return endpoint, nil
}

// validateCACert checks that the value holds PEM CA certificates and nothing else.
func validateCACert(data []byte, fldPath *field.Path) field.ErrorList {
	certificates := 0
	for rest := data; len(strings.TrimSpace(string(rest))) > 0; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return field.ErrorList{field.Invalid(fldPath, "(PEM)", "must hold PEM encoded certificates only")}
		}
		if block.Type != "CERTIFICATE" {
			return field.ErrorList{field.Invalid(fldPath, "(PEM)", fmt.Sprintf("must hold certificates only, found a PEM block of type %q", block.Type))}
		}
		if _, err := x509.ParseCertificate(block.Bytes); err != nil {
			return field.ErrorList{field.Invalid(fldPath, "(PEM)", fmt.Sprintf("holds a certificate that cannot be parsed: %v", err))}
		}
		certificates++
	}
	if certificates == 0 {
		return field.ErrorList{field.Required(fldPath, "must hold at least one PEM encoded certificate")}
	}
	return nil
}
