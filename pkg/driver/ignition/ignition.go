// Package ignition builds the typed Ignition (spec 3.5) config a Server boots with: hostname, the operating
// system's user data run once by a systemd unit, DNS servers and a metadata file, merged with user Ignition.
package ignition

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	v35 "github.com/coreos/ignition/v2/config/v3_5"
	"github.com/coreos/ignition/v2/config/v3_5/types"
)

const (
	// HostnamePath is the file holding the hostname (the Node name).
	HostnamePath = "/etc/hostname"
	// UserDataPath is the file holding the operating system's user data, executed once.
	UserDataPath = "/var/lib/metal/user-data"
	// UserDataDonePath marks that the user data ran; the unit does not run it again while it exists.
	UserDataDonePath = "/var/lib/metal/user-data.done"
	// MetadataPath is the JSON file holding the provider spec's metadata and the claimed addresses.
	MetadataPath = "/var/lib/metal/metadata.json"
	// ResolvedDropInPath is the systemd-resolved drop-in configuring the DNS servers.
	ResolvedDropInPath = "/etc/systemd/resolved.conf.d/metal-dns.conf"
	// UserDataUnitName is the systemd unit that runs the user data once.
	UserDataUnitName = "metal-user-data.service"
)

// Address is an IP address claimed from a pool, as written to the metadata file.
type Address struct {
	// IP is the address.
	IP string `json:"ip"`
	// Prefix is the prefix length of the address' network.
	Prefix *int32 `json:"prefix,omitempty"`
	// Gateway is the gateway of the address' network.
	Gateway string `json:"gateway,omitempty"`
}

// Config is what goes into a Server's Ignition.
type Config struct {
	// Hostname is the Node name.
	Hostname string
	// UserData is the operating system's user data (an executable, usually a shell script).
	UserData []byte
	// DNSServers are the DNS servers for systemd-resolved.
	DNSServers []string
	// Metadata is written to the metadata file.
	Metadata map[string]string
	// Addresses are written to the metadata file under their metadata keys.
	Addresses map[string]Address
	// Extra is the user's Ignition (JSON, spec 3.0 to 3.5); empty for none.
	Extra string
	// Override makes Extra replace the generated config instead of being merged into it.
	Override bool
}

// ParseExtra parses user supplied Ignition of spec version 3.0 to 3.5 into a 3.5 config. The error does not
// contain the config's content.
func ParseExtra(raw string) (types.Config, error) {
	cfg, report, err := v35.ParseCompatibleVersion([]byte(raw))
	if err != nil {
		if report.IsFatal() {
			return types.Config{}, fmt.Errorf("invalid Ignition: %w: %s", err, strings.TrimSpace(report.String()))
		}
		return types.Config{}, fmt.Errorf("invalid Ignition: %w", err)
	}
	return cfg, nil
}

// Build renders the Ignition JSON for a Server. User content is only ever copied as data.
func Build(c Config) ([]byte, error) {
	generated, err := generate(c)
	if err != nil {
		return nil, err
	}
	result := generated
	if c.Extra != "" {
		extra, err := ParseExtra(c.Extra)
		if err != nil {
			return nil, err
		}
		if c.Override {
			result = extra
		} else {
			// The user's config is the child, so its entries win over generated ones with the same path/name.
			result = v35.Merge(generated, extra)
		}
	}
	result.Ignition.Version = types.MaxVersion.String()
	out, err := json.Marshal(result)
	if err != nil {
		return nil, fmt.Errorf("cannot marshal Ignition: %w", err)
	}
	return out, nil
}

func generate(c Config) (types.Config, error) {
	metadata, err := metadataJSON(c.Metadata, c.Addresses)
	if err != nil {
		return types.Config{}, err
	}
	cfg := types.Config{Ignition: types.Ignition{Version: types.MaxVersion.String()}}
	cfg.Storage.Files = append(cfg.Storage.Files,
		file(HostnamePath, 0o644, []byte(c.Hostname+"\n")),
		file(MetadataPath, 0o644, metadata),
	)
	if len(c.UserData) > 0 {
		// Root only: the user data carries the bootstrap token of the Node.
		cfg.Storage.Files = append(cfg.Storage.Files, file(UserDataPath, 0o700, c.UserData))
		cfg.Systemd.Units = append(cfg.Systemd.Units, types.Unit{
			Name:     UserDataUnitName,
			Enabled:  new(true),
			Contents: new(userDataUnit),
		})
	}
	if len(c.DNSServers) > 0 {
		dropIn := "[Resolve]\nDNS=" + strings.Join(c.DNSServers, " ") + "\n"
		cfg.Storage.Files = append(cfg.Storage.Files, file(ResolvedDropInPath, 0o644, []byte(dropIn)))
	}
	return cfg, nil
}

// userDataUnit runs the user data once: the marker file survives reboots, so a rebooted Server does not
// bootstrap again.
var userDataUnit = `[Unit]
Description=Run the operating system user data once
Wants=network-online.target
After=network-online.target
ConditionPathExists=!` + UserDataDonePath + `

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=` + UserDataPath + `
ExecStartPost=/usr/bin/touch ` + UserDataDonePath + `

[Install]
WantedBy=multi-user.target
`

func metadataJSON(metadata map[string]string, addresses map[string]Address) ([]byte, error) {
	doc := make(map[string]any, len(metadata)+len(addresses))
	for key, value := range metadata {
		doc[key] = value
	}
	keys := make([]string, 0, len(addresses))
	for key := range addresses {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	for _, key := range keys {
		doc[key] = addresses[key]
	}
	out, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("cannot marshal metadata: %w", err)
	}
	return out, nil
}

func file(path string, mode int, contents []byte) types.File {
	return types.File{
		Node: types.Node{Path: path, Overwrite: new(true)},
		FileEmbedded1: types.FileEmbedded1{
			Mode: new(mode),
			Contents: types.Resource{
				Source: new("data:;base64," + base64.StdEncoding.EncodeToString(contents)),
			},
		},
	}
}
