package metal

const (
	// DriverName is the name of the machine-controller-manager driver binary and its field owner in the metal API.
	DriverName = "machine-controller-manager-provider-metal"
	// ProviderIDScheme is the scheme of Node provider IDs: metal://<metal namespace>/<ServerClaim name>.
	ProviderIDScheme = "metal"
	// IgnitionSecretKey is the key of the ignition Secret that metal-operator reads the Ignition config from.
	IgnitionSecretKey = "ignition"
	// UserDataSecretKey is the key of the MachineClass secret that holds the operating system's user data.
	UserDataSecretKey = "userData"
	// ExtraIgnitionSecretKey is the key of the MachineClass secret that holds the extra Ignition (JSON) of the
	// class' machines when its providerSpec sets extraIgnition.
	ExtraIgnitionSecretKey = "extraIgnition"
)
