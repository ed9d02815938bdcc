package metalapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"path/filepath"
	"strconv"
	"time"

	metalv1alpha1 "github.com/ironcore-dev/metal-operator/api/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
)

// mockUUIDFormat makes each mock's system UUID distinct (all mocks report the same one out of the box); the first
// groups spell "LANDSCAP" in ASCII so that the UUIDs are recognisable, the last one counts.
const mockUUIDFormat = "4c414e44-5343-4150-8000-%012x"

// mockEndpoint is where a mock BMC listens and which system UUID it reports.
type mockEndpoint struct {
	port int
	uuid string
}

// startMocks starts one Redfish mock per Server and gives each a distinct system UUID.
func (m *MetalAPI) startMocks(ctx context.Context, opts Options) ([]mockEndpoint, error) {
	redfish := &redfishClient{http: &http.Client{
		Transport: &http.Transport{DialContext: m.ns.dialContext},
		Timeout:   5 * time.Second,
	}}
	endpoints := make([]mockEndpoint, len(opts.Servers))
	for i := range opts.Servers {
		port, err := m.ns.freePort()
		if err != nil {
			return nil, err
		}
		endpoints[i] = mockEndpoint{port: port, uuid: fmt.Sprintf(mockUUIDFormat, i+1)}
		mock, err := m.startMock(ctx, redfish, i, endpoints[i], bmcName(i)+".log")
		if err != nil {
			return nil, err
		}
		m.mocks = append(m.mocks, mock)
	}
	return endpoints, nil
}

// startMock starts the i-th mock BMC at its endpoint and gives it the endpoint's system UUID.
func (m *MetalAPI) startMock(ctx context.Context, redfish *redfishClient, i int, endpoint mockEndpoint, logName string) (*process, error) {
	name := bmcName(i)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(endpoint.port))
	mock, err := startProcess(m.ns, "redfish-mock "+name, filepath.Join(m.StateDir, logName),
		filepath.Join(m.opts.Assets, "redfish-mock"), []string{"-addr", addr}, nil)
	if err != nil {
		return nil, err
	}
	if err := redfish.setSystemUUID(ctx, mock, "http://"+addr, endpoint.uuid); err != nil {
		return nil, fmt.Errorf("mock BMC %s: %w", name, err)
	}
	return mock, nil
}

// registerBMCs creates a BMCSecret and a BMC per mock. The first create also proves that the kube-apiserver
// reaches metal-operator's webhook server, which validates BMCSecrets.
func (m *MetalAPI) registerBMCs(ctx context.Context, opts Options, endpoints []mockEndpoint) error {
	for i, endpoint := range endpoints {
		name := bmcName(i)
		secret := &metalv1alpha1.BMCSecret{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Data: map[string][]byte{
				// The mocks accept any credentials; metal-operator needs some.
				metalv1alpha1.BMCSecretUsernameKeyName: []byte("admin"),
				metalv1alpha1.BMCSecretPasswordKeyName: []byte("landscape"),
			},
		}
		var lastErr error
		err := wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
			if lastErr = m.client.Create(ctx, secret); lastErr != nil {
				return false, m.operator.running()
			}
			return true, nil
		})
		if err != nil {
			return fmt.Errorf("creating BMCSecret %s (through metal-operator's webhook; log: %s): %w (last error: %w)", name, m.operator.logPath, err, lastErr)
		}
		bmc := &metalv1alpha1.BMC{
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: serverLabels(opts.Servers[i], opts.Region)},
			Spec: metalv1alpha1.BMCSpec{
				Endpoint:     &metalv1alpha1.InlineEndpoint{IP: metalv1alpha1.IP{Addr: netip.MustParseAddr("127.0.0.1")}},
				BMCSecretRef: corev1.LocalObjectReference{Name: name},
				Protocol: metalv1alpha1.Protocol{
					Name:   BMCProtocol,
					Port:   int32(endpoint.port),
					Scheme: metalv1alpha1.HTTPProtocolScheme,
				},
			},
		}
		if err := m.client.Create(ctx, bmc); err != nil {
			return fmt.Errorf("creating BMC %s: %w", name, err)
		}
		m.BMCs = append(m.BMCs, name)
	}
	return nil
}

// bmcName names the BMC (and BMCSecret) of the i-th Server.
func bmcName(i int) string { return fmt.Sprintf("bmc-%d", i) }

// redfishClient talks to a mock BMC.
type redfishClient struct {
	http *http.Client
}

// setSystemUUID waits for the mock to answer, sets its one system's UUID and checks that the mock reports it.
func (r *redfishClient) setSystemUUID(ctx context.Context, mock *process, base, uuid string) error {
	var (
		systemPath string
		lastErr    error
	)
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		if err := mock.running(); err != nil {
			return false, err
		}
		var systems struct {
			Members []struct {
				ID string `json:"@odata.id"`
			} `json:"Members"`
		}
		// Connection refused until the mock listens.
		if lastErr = r.do(ctx, http.MethodGet, base+"/redfish/v1/Systems", nil, &systems); lastErr == nil {
			if len(systems.Members) != 1 {
				return false, fmt.Errorf("the mock reports %d systems, expected one", len(systems.Members))
			}
			systemPath = systems.Members[0].ID
		}
		return lastErr == nil, nil
	})
	if err != nil {
		return fmt.Errorf("waiting for the mock to answer (log: %s): %w (last error: %w)", mock.logPath, err, lastErr)
	}
	if err := r.do(ctx, http.MethodPatch, base+systemPath, map[string]string{"UUID": uuid}, nil); err != nil {
		return fmt.Errorf("setting the system UUID: %w", err)
	}
	var system struct {
		UUID string `json:"UUID"`
	}
	if err := r.do(ctx, http.MethodGet, base+systemPath, nil, &system); err != nil {
		return fmt.Errorf("reading the system back: %w", err)
	}
	if system.UUID != uuid {
		return fmt.Errorf("the mock reports system UUID %q after it was set to %q", system.UUID, uuid)
	}
	return nil
}

// do sends a Redfish request with an optional JSON body and decodes an optional JSON answer.
func (r *redfishClient) do(ctx context.Context, method, url string, body, into any) error {
	var reader io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("encoding %s %s: %w", method, url, err)
		}
		reader = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, reader)
	if err != nil {
		return fmt.Errorf("building %s %s: %w", method, url, err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := r.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, url, err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode/100 != 2 {
		text, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("%s %s: %s: %s", method, url, resp.Status, bytes.TrimSpace(text))
	}
	if into == nil {
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(into); err != nil {
		return fmt.Errorf("decoding the answer of %s %s: %w", method, url, err)
	}
	return nil
}
