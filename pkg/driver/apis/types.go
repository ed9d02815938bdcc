// Package apis holds the provider spec of the metal machine driver: the JSON document a MachineClass of provider
// "metal" carries in its providerSpec, and its strict decoding.
package apis

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Provider is the MachineClass provider the driver serves.
const Provider = "metal"

// ProviderSpec describes the ServerClaims the driver creates for the Machines of one MachineClass.
type ProviderSpec struct {
	// Image is the operating system image the claimed Server boots.
	Image string `json:"image"`
	// ServerSelector selects the Servers a claim may bind (machine type, zone and extra labels).
	ServerSelector *metav1.LabelSelector `json:"serverSelector,omitempty"`
	// ServerTolerations let claims bind Servers carrying matching taints.
	ServerTolerations []Toleration `json:"serverTolerations,omitempty"`
	// ExtraIgnition is set when the MachineClass secret holds Ignition the user adds to (or replaces) the Ignition
	// the driver generates.
	ExtraIgnition *ExtraIgnition `json:"extraIgnition,omitempty"`
	// IPAMConfig lists the IP addresses to claim per Machine; each lands in the metadata file under its key.
	IPAMConfig []IPAMConfig `json:"ipamConfig,omitempty"`
	// Metadata is written to the metadata file on the Server next to the claimed addresses.
	Metadata map[string]string `json:"metadata,omitempty"`
	// DNSServers are configured as systemd-resolved DNS servers on the Server.
	DNSServers []string `json:"dnsServers,omitempty"`
	// Labels are put on every object the driver creates in the metal API; they scope the objects to one shoot
	// and select them in ListMachines. Required, so that a driver never lists a whole shared namespace.
	Labels map[string]string `json:"labels"`
}

// Toleration tolerates a taint of a Server.
type Toleration struct {
	// Key is the taint key the toleration applies to.
	Key string `json:"key"`
	// Operator is Equal (default) or Exists.
	Operator string `json:"operator,omitempty"`
	// Value is the taint value the toleration matches with operator Equal.
	Value string `json:"value,omitempty"`
	// Effect is the taint effect to tolerate (NoBind or Evict); empty tolerates all effects.
	Effect string `json:"effect,omitempty"`
}

// ExtraIgnition says that the MachineClass secret holds user supplied Ignition (spec version 3.0 to 3.5, JSON) under
// the key metal.ExtraIgnitionSecretKey, and how to apply it. The content is in the secret, not in the providerSpec,
// because it may carry credentials and a MachineClass is a plain resource.
type ExtraIgnition struct {
	// Override replaces the generated config instead of merging into it.
	Override bool `json:"override,omitempty"`
}

// IPAMConfig claims one IP address from a pool for every Machine.
type IPAMConfig struct {
	// MetadataKey names the address in the metadata file and the IPAddressClaim (<machine>-<metadataKey>).
	MetadataKey string `json:"metadataKey"`
	// IPAMRef references the pool to claim the address from.
	IPAMRef IPAMObjectReference `json:"ipamRef"`
}

// IPAMObjectReference references an IP pool.
type IPAMObjectReference struct {
	// APIGroup is the API group of the pool.
	APIGroup string `json:"apiGroup"`
	// Kind is the kind of the pool.
	Kind string `json:"kind"`
	// Name is the name of the pool in the metal namespace.
	Name string `json:"name"`
}

// Decode decodes a provider spec strictly: unknown fields, trailing data and an empty document are errors.
func Decode(raw []byte) (*ProviderSpec, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, fmt.Errorf("providerSpec is empty")
	}
	decoder := json.NewDecoder(bytes.NewReader(raw))
	decoder.DisallowUnknownFields()
	spec := &ProviderSpec{}
	if err := decoder.Decode(spec); err != nil {
		return nil, fmt.Errorf("cannot decode providerSpec: %w", err)
	}
	if _, err := decoder.Token(); err != io.EOF {
		return nil, fmt.Errorf("cannot decode providerSpec: unexpected data after the JSON object")
	}
	return spec, nil
}

// Scope is the part of a provider spec that finding and deleting a Machine's objects needs: the scope labels and
// the metadata keys of the IPAM entries (which name IPAddressClaims). Nothing else of the spec is read for it.
type Scope struct {
	// Labels are the provider spec's labels.
	Labels map[string]string
	// IPAMKeys are the metadata keys of the IPAM entries that could be decoded.
	IPAMKeys []string
}

// DecodeScope decodes the Scope of a provider spec leniently: unknown fields, other fields of any shape and IPAM
// entries that do not decode are ignored, so that the objects of a MachineClass written by an older or newer
// version, or one that no longer validates, can still be found and deleted. Only labels that do not decode are an
// error.
func DecodeScope(raw []byte) (*Scope, error) {
	var doc struct {
		Labels     map[string]string `json:"labels"`
		IPAMConfig json.RawMessage   `json:"ipamConfig"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("cannot decode the labels of providerSpec: %w", err)
	}
	scope := &Scope{Labels: doc.Labels}
	var entries []struct {
		MetadataKey string `json:"metadataKey"`
	}
	if err := json.Unmarshal(doc.IPAMConfig, &entries); err == nil {
		for _, entry := range entries {
			if entry.MetadataKey != "" {
				scope.IPAMKeys = append(scope.IPAMKeys, entry.MetadataKey)
			}
		}
	}
	return scope, nil
}
