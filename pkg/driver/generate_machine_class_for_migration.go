package driver

import (
	"context"

	mcmdriver "github.com/gardener/machine-controller-manager/pkg/util/provider/driver"
	"github.com/gardener/machine-controller-manager/pkg/util/provider/machinecodes/codes"
	"github.com/gardener/machine-controller-manager/pkg/util/provider/machinecodes/status"
)

// GenerateMachineClassForMigration answers Unimplemented: there never was a provider specific machine class for
// metal to migrate from, and Unimplemented is MCM's contract for that.
func (d *Driver) GenerateMachineClassForMigration(_ context.Context, _ *mcmdriver.GenerateMachineClassForMigrationRequest) (*mcmdriver.GenerateMachineClassForMigrationResponse, error) {
	return nil, status.Error(codes.Unimplemented, "metal has no provider specific machine class to migrate from")
}
