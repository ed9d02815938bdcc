//go:build tools

// Package tools pins SeaweedFS (the S3 server of the backup integration tests) for hack/seaweedfs.sh.
package tools

import (
	_ "github.com/seaweedfs/seaweedfs/weed"
)
