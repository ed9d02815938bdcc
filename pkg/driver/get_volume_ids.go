package driver

import (
	"context"

	mcmdriver "github.com/gardener/machine-controller-manager/pkg/util/provider/driver"
)

// GetVolumeIDs answers with no volume IDs: bare metal has no provider volumes, so no PersistentVolume is one
// that MCM has to wait for when draining a Node.
func (d *Driver) GetVolumeIDs(_ context.Context, _ *mcmdriver.GetVolumeIDsRequest) (*mcmdriver.GetVolumeIDsResponse, error) {
	return &mcmdriver.GetVolumeIDsResponse{VolumeIDs: []string{}}, nil
}
