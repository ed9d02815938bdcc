package ignition_test

import (
	"encoding/base64"
	"strings"

	v35 "github.com/coreos/ignition/v2/config/v3_5"
	"github.com/coreos/ignition/v2/config/v3_5/types"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/driver/ignition"
)

func parse(raw []byte) types.Config {
	cfg, report, err := v35.Parse(raw)
	ExpectWithOffset(1, err).NotTo(HaveOccurred(), report.String())
	return cfg
}

// content returns a file's content: decoded for the driver's base64 data URLs, the source for others.
func content(cfg types.Config, path string) string {
	for _, f := range cfg.Storage.Files {
		if f.Path != path || f.Contents.Source == nil {
			continue
		}
		if encoded, ok := strings.CutPrefix(*f.Contents.Source, "data:;base64,"); ok {
			decoded, err := base64.StdEncoding.DecodeString(encoded)
			ExpectWithOffset(1, err).NotTo(HaveOccurred())
			return string(decoded)
		}
		return *f.Contents.Source
	}
	Fail("no file " + path)
	return ""
}

func hasFile(cfg types.Config, path string) bool {
	for _, f := range cfg.Storage.Files {
		if f.Path == path {
			return true
		}
	}
	return false
}

var base = ignition.Config{
	Hostname:   "node-1",
	UserData:   []byte("#!/bin/sh\necho {{ .Values }} $(hostname)\n"),
	DNSServers: []string{"10.0.0.53"},
	Metadata:   map[string]string{"cluster": "c"},
	Addresses:  map[string]ignition.Address{"node": {IP: "10.2.0.10", Prefix: new(int32(24)), Gateway: "10.2.0.1"}},
}

var _ = Describe("Build", func() {
	It("renders a valid Ignition 3.5 config with hostname, user data unit, DNS and metadata", func() {
		cfg := parse(must(ignition.Build(base)))
		Expect(cfg.Ignition.Version).To(Equal("3.5.0"))
		Expect(content(cfg, ignition.HostnamePath)).To(Equal("node-1\n"))
		Expect(content(cfg, ignition.UserDataPath)).To(Equal(string(base.UserData)))
		Expect(content(cfg, ignition.ResolvedDropInPath)).To(Equal("[Resolve]\nDNS=10.0.0.53\n"))
		Expect(content(cfg, ignition.MetadataPath)).To(MatchJSON(`{"cluster":"c","node":{"ip":"10.2.0.10","prefix":24,"gateway":"10.2.0.1"}}`))
		Expect(cfg.Systemd.Units).To(HaveLen(1))
		unit := cfg.Systemd.Units[0]
		Expect(unit.Name).To(Equal(ignition.UserDataUnitName))
		Expect(*unit.Enabled).To(BeTrue())
		Expect(*unit.Contents).To(And(ContainSubstring("Type=oneshot"), ContainSubstring("ExecStart="+ignition.UserDataPath), ContainSubstring("ConditionPathExists=!"+ignition.UserDataDonePath)))
		for _, f := range cfg.Storage.Files {
			if f.Path == ignition.UserDataPath {
				Expect(*f.Mode).To(Equal(0o700))
			}
		}
	})

	It("leaves out DNS without servers", func() {
		config := base
		config.DNSServers = nil
		Expect(hasFile(parse(must(ignition.Build(config))), ignition.ResolvedDropInPath)).To(BeFalse())
	})

	It("merges user Ignition, whose files win", func() {
		config := base
		config.Extra = `{"ignition":{"version":"3.1.0"},"storage":{"files":[{"path":"/etc/hostname","overwrite":true,"contents":{"source":"data:,custom"}},{"path":"/etc/motd","contents":{"source":"data:,%7B%7B%20.X%20%7D%7D"}}]}}`
		cfg := parse(must(ignition.Build(config)))
		Expect(content(cfg, "/etc/hostname")).To(Equal("data:,custom"))
		Expect(content(cfg, "/etc/motd")).To(Equal("data:,%7B%7B%20.X%20%7D%7D"))
		Expect(content(cfg, ignition.UserDataPath)).To(Equal(string(base.UserData)))
	})

	It("replaces the generated config with override", func() {
		config := base
		config.Extra, config.Override = `{"ignition":{"version":"3.4.0"},"storage":{"files":[{"path":"/etc/motd","contents":{"source":"data:,hi"}}]}}`, true
		cfg := parse(must(ignition.Build(config)))
		Expect(cfg.Storage.Files).To(HaveLen(1))
		Expect(cfg.Systemd.Units).To(BeEmpty())
		Expect(cfg.Ignition.Version).To(Equal("3.5.0"))
	})

	It("rejects invalid user Ignition without quoting it", func() {
		config := base
		config.Extra = `{"ignition":{"version":"3.4.0"},"passwd":{"users":[{"name":"core","passwordHash":"s3cr3t"}]},"storage":{"files":[{"path":"relative"}]}}`
		_, err := ignition.Build(config)
		Expect(err).To(MatchError(ContainSubstring("invalid Ignition")))
		Expect(err.Error()).NotTo(ContainSubstring("s3cr3t"))
	})
})

func must(out []byte, err error) []byte {
	ExpectWithOffset(1, err).NotTo(HaveOccurred())
	return out
}
