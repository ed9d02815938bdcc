// Package metal holds the names this extension shares between its components: the provider and DNS types,
// the keys of the credentials secrets and the Server labels it relies on.
package metal

const (
	// Name is the name of the extension.
	Name = "provider-metal"
	// Type is the provider type of Infrastructure, ControlPlane and Worker resources, Shoots and CloudProfiles.
	Type = "metal"
	// DNSType is the type of DNSRecords the extension serves (RFC 2136 dynamic updates).
	DNSType = "rfc2136"

	// NamespaceKey is the key in the credentials secret that names the shoot's namespace in the metal API.
	NamespaceKey = "namespace"
	// TokenKey is the key in the credentials secret that holds the bearer token for the metal API.
	TokenKey = "token"
	// UsernameKey is an optional key in the credentials secret naming the user the token belongs to.
	UsernameKey = "username"

	// DNSServerKey is the key in a DNS provider secret holding the DNS server as host:port.
	DNSServerKey = "Server"
	// DNSZoneKey is the key in a DNS provider secret holding the zone.
	DNSZoneKey = "Zone"
	// DNSTSIGKeyNameKey is the key in a DNS provider secret holding the TSIG key name.
	DNSTSIGKeyNameKey = "TSIGKeyName"
	// DNSTSIGSecretKey is the key in a DNS provider secret holding the base64 TSIG secret.
	DNSTSIGSecretKey = "TSIGSecret"
	// DNSTSIGSecretAlgorithmKey is the key in a DNS provider secret holding the TSIG algorithm.
	DNSTSIGSecretAlgorithmKey = "TSIGSecretAlgorithm"

	// ShootLabel is the label on every object the extension creates in the metal API (ServerClaims, ignition
	// Secrets, IPAddressClaims); its value is the shoot's technical ID (the control plane namespace in the seed).
	ShootLabel = "metal.provider.extensions.gardener.cloud/shoot"
	// ShootUIDLabel is the second scope label next to ShootLabel; its value is the Shoot's UID in the garden. The
	// technical ID alone repeats across gardens (same project and shoot name), and several gardens may share one
	// metal namespace; the UID does not repeat.
	ShootUIDLabel = "metal.provider.extensions.gardener.cloud/shoot-uid"

	// ServerClaimNameLabel and ServerClaimNamespaceLabel name the ServerClaim an IPAddressClaim belongs to. The
	// metal cloud-controller-manager finds a Node's addresses by these labels (cloud-provider-metal
	// pkg/cloudprovider/metal/instances_v2.go, getNodeAddresses).
	ServerClaimNameLabel = "metal.ironcore.dev/server-claim-name"
	// ServerClaimNamespaceLabel names the namespace of the ServerClaim an IPAddressClaim belongs to.
	ServerClaimNamespaceLabel = "metal.ironcore.dev/server-claim-namespace"

	// ZoneLabel is the Server label that names the zone of a Server.
	ZoneLabel = "topology.kubernetes.io/zone"
	// RegionLabel is the Server label that names the region of a Server.
	RegionLabel = "topology.kubernetes.io/region"
)

// ScopeLabels are the labels that scope the objects of one shoot in a metal namespace: its technical ID and, when
// known, its UID. Every object the extension creates there carries them, and only objects carrying all of them
// are the shoot's.
func ScopeLabels(technicalID, shootUID string) map[string]string {
	labels := map[string]string{ShootLabel: technicalID}
	if shootUID != "" {
		labels[ShootUIDLabel] = shootUID
	}
	return labels
}
