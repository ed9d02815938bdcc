package s3

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"

	"github.com/minio/minio-go/v7"

	v1beta1helper "github.com/gardener/gardener/pkg/api/core/v1beta1/helper"
	gardencorev1beta1 "github.com/gardener/gardener/pkg/apis/core/v1beta1"
)

var (
	// ErrConfiguration marks an invalid backup secret or bucket name, or a TLS certificate the configured CAs do
	// not verify: retrying does not help until someone changes the configuration.
	ErrConfiguration = errors.New("invalid backup configuration")
	// ErrUnauthenticated marks credentials the store does not know (wrong access key or secret).
	ErrUnauthenticated = errors.New("the S3 store rejected the credentials")
	// ErrUnauthorized marks credentials the store knows but does not permit the request.
	ErrUnauthorized = errors.New("the S3 store denied the request")
	// ErrBucketNotOwned marks a bucket of the requested name that exists and belongs to someone else.
	ErrBucketNotOwned = errors.New("the bucket exists and is owned by someone else")
	// ErrUnreachable marks a store that cannot be reached (connection refused, DNS, timeouts).
	ErrUnreachable = errors.New("the S3 store is unreachable")
)

// S3 error codes (https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html) the client tells apart.
const (
	codeNoSuchBucket            = "NoSuchBucket"
	codeNoSuchKey               = "NoSuchKey"
	codeBucketAlreadyExists     = "BucketAlreadyExists"
	codeBucketAlreadyOwnedByYou = "BucketAlreadyOwnedByYou"
	codeInvalidAccessKeyID      = "InvalidAccessKeyId"
	codeSignatureDoesNotMatch   = "SignatureDoesNotMatch"
	codeAccessDenied            = "AccessDenied"
	codeInvalidBucketName       = "InvalidBucketName"
)

// classify wraps err with the sentinel error of its kind, keeping the store's message and the operation in
// the text; errors of no known kind are returned as they are.
func classify(operation string, err error) error {
	if err == nil {
		return nil
	}
	var kind error
	switch code := minio.ToErrorResponse(err).Code; code {
	case codeInvalidAccessKeyID, codeSignatureDoesNotMatch:
		kind = ErrUnauthenticated
	case codeAccessDenied:
		kind = ErrUnauthorized
	case codeBucketAlreadyExists:
		kind = ErrBucketNotOwned
	case codeInvalidBucketName:
		kind = ErrConfiguration
	default:
		kind = classifyTransportError(err)
	}
	if kind == nil {
		return fmt.Errorf("%s: %w", operation, err)
	}
	return fmt.Errorf("%s: %w: %w", operation, kind, err)
}

// classifyTransportError tells errors below HTTP apart: certificates the configured CAs reject are
// configuration, failed dials and timeouts an unreachable store.
func classifyTransportError(err error) error {
	var (
		unknownAuthority x509.UnknownAuthorityError
		hostname         x509.HostnameError
		invalid          x509.CertificateInvalidError
		netErr           net.Error
	)
	switch {
	case errors.As(err, &unknownAuthority), errors.As(err, &hostname), errors.As(err, &invalid):
		return ErrConfiguration
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr):
		return ErrUnreachable
	}
	return nil
}

// WithErrorCodes adds the Gardener error codes that fit err, so that status.lastError of a BackupBucket or
// BackupEntry tells configuration problems and rejected credentials apart from a store that is down.
func WithErrorCodes(err error) error {
	var codes []gardencorev1beta1.ErrorCode
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrConfiguration), errors.Is(err, ErrBucketNotOwned):
		codes = append(codes, gardencorev1beta1.ErrorConfigurationProblem)
	case errors.Is(err, ErrUnauthenticated):
		codes = append(codes, gardencorev1beta1.ErrorInfraUnauthenticated)
	case errors.Is(err, ErrUnauthorized):
		codes = append(codes, gardencorev1beta1.ErrorInfraUnauthorized)
	case errors.Is(err, ErrUnreachable):
		codes = append(codes, gardencorev1beta1.ErrorRetryableInfraDependencies)
	default:
		return err
	}
	return v1beta1helper.NewErrorWithCodes(err, codes...)
}
